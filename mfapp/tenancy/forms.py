"""Forms of the account and settings pages. They check input types and shapes; the services
check the rules (password strength, last owner, unique names) and their refusals are put back
on these forms with `form_errors_from`."""

import re
import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.validators import RegexValidator
from django.utils.functional import lazy

from mfapp.tenancy.models import Membership, Site
from mfapp.tenancy.working_hours import WEEKDAYS, validate_working_hours

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]
WEEKDAY_LABELS = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
_SHIFT = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-\u2013]\s*(\d{1,2}:\d{2})\s*$")  # hyphen or en dash


class CodeField(forms.CharField):
    """A short standard code (country, currency): typed in any case, kept in capitals."""

    def __init__(self, *, length: int, message: str, **kwargs: Any) -> None:
        self.default_validators = [RegexValidator(rf"^[A-Z]{{{length}}}$", message)]
        super().__init__(**kwargs)
        self.widget.attrs.update({"maxlength": length, "size": length + 1})

    def to_python(self, value: Any) -> str:
        return super().to_python(value).upper()


def country_field(**kwargs: Any) -> CodeField:
    field = CodeField(
        length=2,
        message="Use a two-letter ISO 3166 country code, e.g. DE.",
        help_text="Two letters (ISO 3166), e.g. DE, NL, US.",
        **kwargs,
    )
    field.widget.attrs["autocomplete"] = "country"
    return field


class BusinessForm(forms.Form):
    """A new business: its first site and where it works."""

    business_name = forms.CharField(max_length=200, label="Business name")
    site_name = forms.CharField(
        max_length=200,
        required=False,
        label="First site",
        help_text="The workshop's name, e.g. “Berlin workshop”. Default: the business name "
        "and “workshop”.",
    )
    country = country_field()
    timezone = forms.ChoiceField(
        choices=TIMEZONE_CHOICES, initial="Europe/Berlin", label="Time zone"
    )
    currency = CodeField(
        length=3,
        message="Use a three-letter ISO 4217 currency code, e.g. EUR.",
        initial="EUR",
        help_text="Three letters (ISO 4217), e.g. EUR, USD.",
    )


class PasswordTwiceMixin(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=lazy(lambda: " ".join(password_validators_help_texts()), str)(),
    )
    password_confirm = forms.CharField(
        label="Password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, second = data.get("password"), data.get("password_confirm")
        if first and second and first != second:
            self.add_error("password_confirm", "The two passwords differ.")
        return data


class SignupForm(BusinessForm, PasswordTwiceMixin):
    field_order = (
        "business_name",
        "site_name",
        "country",
        "timezone",
        "currency",
        "email",
        "password",
        "password_confirm",
    )

    email = forms.EmailField(
        label="Your e-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class AcceptInvitationForm(PasswordTwiceMixin):
    """A new login for the invited address: only a password is asked for."""


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.OPERATOR)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


# --- sites -----------------------------------------------------------------------------------
def format_shifts(shifts: list[list[str]]) -> str:
    """[["08:00", "12:00"], ["13:00", "17:00"]] -> "08:00-12:00, 13:00-17:00"."""
    return ", ".join(f"{start}-{end}" for start, end in shifts)


def working_hours_summary(hours: dict[str, list[list[str]]]) -> list[tuple[str, str]]:
    """Consecutive weekdays with the same shifts grouped, joined by an en dash:
    [("Mon\u2013Fri", "08:00-17:00"), ("Sat\u2013Sun", "closed")]."""
    groups: list[tuple[list[str], str]] = []
    for day in WEEKDAYS:
        text = format_shifts(hours.get(day, [])) or "closed"
        if groups and groups[-1][1] == text:
            groups[-1][0].append(day)
        else:
            groups.append(([day], text))
    return [
        (
            WEEKDAY_LABELS[days[0]][:3]
            + (f"\u2013{WEEKDAY_LABELS[days[-1]][:3]}" if len(days) > 1 else ""),
            text,
        )
        for days, text in groups
    ]


class SiteForm(forms.Form):
    name = forms.CharField(max_length=200)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    country = country_field()
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, label="Time zone")
    latitude = forms.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False
    )
    longitude = forms.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False
    )

    def __init__(self, *args: Any, site: Site | None = None, **kwargs: Any) -> None:
        if site is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": site.name,
                "address": site.address,
                "country": site.country,
                "timezone": site.timezone,
                "latitude": site.latitude,
                "longitude": site.longitude,
                **{day: format_shifts(site.working_hours.get(day, [])) for day in WEEKDAYS},
            }
        super().__init__(*args, **kwargs)
        for day in WEEKDAYS:
            self.fields[day] = forms.CharField(
                label=WEEKDAY_LABELS[day],
                required=False,
                max_length=200,
                help_text="e.g. 08:00-12:00, 13:00-17:00; empty means closed."
                if day == "mon"
                else "",
            )

    def weekday_fields(self) -> list[forms.BoundField]:
        return [self[day] for day in WEEKDAYS]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in WEEKDAYS]

    def _clean_shifts(self, day: str) -> list[list[str]]:
        text = self.cleaned_data.get(day, "")
        shifts = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            match = _SHIFT.match(part)
            if match is None:
                raise forms.ValidationError(
                    f"“{part}” is not a shift: write start-end, e.g. 08:00-17:00."
                )
            start, end = (value.zfill(5) for value in match.groups())
            shifts.append([start, end])
        try:
            validate_working_hours({day: shifts})
        except forms.ValidationError as exc:
            # The validator names the weekday ("mon: ..."); beside the field it is clear.
            raise forms.ValidationError(
                [message.split(": ", 1)[-1] for message in exc.messages]
            ) from None
        return shifts

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        hours = {}
        for day in WEEKDAYS:
            try:
                hours[day] = self._clean_shifts(day)
            except forms.ValidationError as exc:
                self.add_error(day, exc)
        data["working_hours"] = hours
        return data

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as `site_create` / `site_update` take them."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "address": data["address"],
            "country": data["country"],
            "timezone": data["timezone"],
            "latitude": data["latitude"],
            "longitude": data["longitude"],
            "working_hours": data["working_hours"],
        }
