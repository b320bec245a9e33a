"""Forms of the shop-floor machine page: big numeric inputs and a reason picker."""

from django import forms

# What operators pick when they pause; the label is what the audit log records.
PAUSE_REASONS = [
    ("material", "Material change or refill"),
    ("break", "Break or end of shift"),
    ("machine", "Machine problem"),
    ("quality", "Quality problem"),
    ("waiting", "Waiting for parts or material"),
    ("other", "Other"),
]

_NUMERIC = {"inputmode": "numeric", "autocomplete": "off", "class": "big-number"}


class FinishForm(forms.Form):
    quantity_good = forms.IntegerField(
        label="Good units",
        min_value=0,
        widget=forms.NumberInput(attrs=_NUMERIC),
    )
    quantity_scrap = forms.IntegerField(
        label="Scrap units",
        min_value=0,
        required=False,
        help_text="Units thrown away at this step; leave 0 when none.",
        widget=forms.NumberInput(attrs=_NUMERIC),
    )

    def clean_quantity_scrap(self) -> int:
        return self.cleaned_data.get("quantity_scrap") or 0


class PauseForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why are you pausing?", choices=PAUSE_REASONS, widget=forms.RadioSelect
    )
    note = forms.CharField(label="Note", required=False, max_length=200)

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if cleaned.get("reason") == "other" and not cleaned.get("note", "").strip():
            self.add_error("note", "Say why when you choose Other.")
        return cleaned

    def reason_text(self) -> str:
        """The reason as people read it in the audit log: the choice, then the note."""
        label = dict(PAUSE_REASONS)[self.cleaned_data["reason"]]
        note = self.cleaned_data.get("note", "").strip()
        return f"{label}: {note}" if note else label
