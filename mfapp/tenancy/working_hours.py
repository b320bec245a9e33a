"""A site's working hours: per weekday, a list of [start, end] clock times ("08:00")."""

import re
from typing import Any

from django.core.exceptions import ValidationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def default_working_hours() -> dict[str, list[list[str]]]:
    weekday_shift = [["08:00", "17:00"]]
    return {day: (weekday_shift if day not in ("sat", "sun") else []) for day in WEEKDAYS}


def validate_working_hours(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Working hours must map weekdays (mon..sun) to lists of shifts.")
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        raise ValidationError(f"Unknown weekday(s): {', '.join(unknown)}. Use mon..sun.")
    for day, shifts in value.items():
        if not isinstance(shifts, list):
            raise ValidationError(f"{day}: give a list of [start, end] shifts.")
        previous_end = ""
        for shift in shifts:
            if not (isinstance(shift, list | tuple) and len(shift) == 2):
                raise ValidationError(
                    f"{day}: each shift is [start, end], e.g. ['08:00', '17:00']."
                )
            start, end = shift
            if not all(isinstance(t, str) and _CLOCK.match(t) for t in (start, end)):
                raise ValidationError(f"{day}: times are HH:MM on a 24-hour clock.")
            if start >= end:
                raise ValidationError(f"{day}: shift {start}-{end} ends before it starts.")
            if start < previous_end:
                raise ValidationError(f"{day}: shifts overlap or are not in order.")
            previous_end = end
