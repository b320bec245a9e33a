"""Forms of the machines pages. They only parse what a person typed; the services validate the
machine and the window again and have the last word (their refusals land on these forms)."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import forms

from mfapp.catalog.capabilities import Capability
from mfapp.machines.models import Machine
from mfapp.machines.services import MANUAL_TRANSITIONS
from mfapp.tenancy.models import Site

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class MachineForm(forms.Form):
    """A machine's specifications; with `sites`, also the site a new machine stands at (a
    machine never moves to another site, so the edit form has no site)."""

    site = forms.TypedChoiceField(coerce=int, label="Site")
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Machine.Kind.choices)
    capabilities = forms.MultipleChoiceField(
        choices=Capability.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkboxes"}),
        help_text="What it can do: routing steps that need one of these can be planned on it.",
    )
    rated_power_running_kw = forms.DecimalField(
        label="Power while running (kW)",
        max_digits=8,
        decimal_places=3,
        min_value=0,
        initial=Decimal("0"),
    )
    rated_power_idle_kw = forms.DecimalField(
        label="Power while idle (kW)",
        max_digits=8,
        decimal_places=3,
        min_value=0,
        initial=Decimal("0"),
    )
    hourly_cost = forms.DecimalField(
        label="Hourly cost", max_digits=12, decimal_places=2, min_value=0, initial=Decimal("0")
    )
    speed_factor = forms.DecimalField(
        max_digits=4,
        decimal_places=2,
        min_value=Decimal("0.1"),
        initial=Decimal("1"),
        help_text=Machine._meta.get_field("speed_factor").help_text,
    )
    changeover_minutes = forms.IntegerField(
        label="Changeover (minutes)",
        min_value=0,
        initial=0,
        help_text=Machine._meta.get_field("changeover_minutes").help_text,
    )
    runs_unattended = forms.BooleanField(
        required=False, help_text=Machine._meta.get_field("runs_unattended").help_text
    )

    def __init__(self, *args: Any, sites: Iterable[Site] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sites is None:
            del self.fields["site"]
        else:
            self.fields["site"].choices = [(site.pk, site.name) for site in sites]

    @staticmethod
    def initial_from(machine: Machine) -> dict[str, Any]:
        return {
            name: getattr(machine, name)
            for name in (
                "name",
                "kind",
                "capabilities",
                "rated_power_running_kw",
                "rated_power_idle_kw",
                "hourly_cost",
                "speed_factor",
                "changeover_minutes",
                "runs_unattended",
            )
        }


class MachineStatusForm(forms.Form):
    """The inline status change. The list offers only the statuses the machine may move to
    now; any other value still reaches the service, which explains why it is refused (the
    machine may have changed meanwhile)."""

    status = forms.CharField(label="New status", widget=forms.Select)
    reason = forms.CharField(
        max_length=300,
        required=False,
        help_text="Required for maintenance and down.",
    )

    def __init__(self, *args: Any, machine: Machine, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"machine-{machine.pk}-%s")
        super().__init__(*args, **kwargs)
        allowed = MANUAL_TRANSITIONS.get(machine.status, set())
        self.fields["status"].widget.choices = [
            (value, label) for value, label in Machine.Status.choices if value in allowed
        ]


class MaintenanceWindowForm(forms.Form):
    """Times are typed in the site's time zone (the view activates it)."""

    starts_at = forms.DateTimeField(
        label="Start",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    ends_at = forms.DateTimeField(
        label="End",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    reason = forms.CharField(max_length=300, help_text="For example: nozzle replacement.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
        if starts_at is not None and ends_at is not None and ends_at <= starts_at:
            self.add_error("ends_at", "The end must be after the start.")
        return data
