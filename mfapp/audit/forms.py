"""The audit log's filters (GET). Every field is optional; an invalid one is shown, not used."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from mfapp.audit.changes import target_type_choices
from mfapp.audit.selectors import AuditFilters

Choices = list[tuple[str, str]]
# Dates whose midnight converts to UTC anywhere, the day after `date_to` included.
DATE_LIMITS = [MinValueValidator(date(1970, 1, 1)), MaxValueValidator(date(9999, 12, 30))]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ActorSelect(forms.Select):
    """The known actors, plus the one asked for when it is not among them (someone who has
    left, platform staff): a link from a row of the log can filter by any actor."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known: Choices = []

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        wanted = value[0] if isinstance(value, list | tuple) and value else value
        choices = [("", "Anyone"), *self.known]
        if wanted and wanted not in {key for key, _ in choices}:
            choices.append((wanted, wanted))
        self.choices = choices
        return super().get_context(name, value, attrs)


class AuditFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Object or note"}),
    )
    target_type = forms.ChoiceField(label="Object type", required=False)
    verb = forms.CharField(
        label="Action",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "e.g. cancelled, order.created"}),
    )
    actor = forms.CharField(label="Who", required=False, max_length=200, widget=ActorSelect())
    date_from = forms.DateField(
        label="From", required=False, widget=DateInput(), validators=DATE_LIMITS
    )
    date_to = forms.DateField(
        label="To", required=False, widget=DateInput(), validators=DATE_LIMITS
    )
    # Set by "History" links from an object's page; kept across filtering as a hidden field.
    target_id = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput()
    )

    def __init__(self, *args: Any, actor_choices: Choices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_type"].choices = [("", "Any object"), *target_type_choices()]
        self.fields["actor"].widget.known = actor_choices or []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "To must be on or after From.")
        return cleaned

    def filters(self, *, timezone_name: str) -> AuditFilters:
        """The valid filters; dates are whole days in the business's time zone."""
        if not self.is_bound:
            return AuditFilters()
        self.is_valid()
        data = self.cleaned_data
        tz = ZoneInfo(timezone_name)
        date_from, date_to = data.get("date_from"), data.get("date_to")
        return AuditFilters(
            target_type=data.get("target_type") or "",
            target_id=data.get("target_id"),
            verb=(data.get("verb") or "").strip(),
            actor=(data.get("actor") or "").strip(),
            since=_midnight(date_from, tz) if date_from else None,
            until=_midnight(date_to + timedelta(days=1), tz) if date_to else None,
            search=(data.get("q") or "").strip(),
        )


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)
