"""Forms of the batches pages. They only clean input; the services decide."""

from collections.abc import Iterable
from decimal import Decimal

from django import forms

from mfapp.catalog.models import Material, Product
from mfapp.production.models import Batch, BatchOperation
from mfapp.tenancy.models import Site

ANY = [("", "All")]


class BatchBoardFilterForm(forms.Form):
    """The board's filters (GET). Unknown ids simply filter nothing out."""

    site = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    product = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    q = forms.CharField(
        label="Lot code",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. L2406"}),
    )

    def __init__(
        self, *args: object, sites: Iterable[Site], products: Iterable[Product], **kwargs: object
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["site"].choices = ANY + [(s.pk, s.name) for s in sites]
        self.fields["product"].choices = ANY + [(p.pk, f"{p.sku} {p.name}") for p in products]

    def values(self) -> dict[str, object]:
        """The valid filters as selector arguments (an invalid one is ignored)."""
        data: dict[str, object] = {}
        if self.is_bound:
            self.is_valid()  # cleaned_data keeps the fields that are valid
            data = self.cleaned_data
        return {
            "site_id": data.get("site"),
            "product_id": data.get("product"),
            "lot_code": data.get("q") or "",
        }


class BatchMoveForm(forms.Form):
    status = forms.ChoiceField(label="Move to", choices=Batch.Status.choices)
    reason = forms.CharField(max_length=500, required=False)


class QualityCheckForm(forms.Form):
    operation = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, help_text="The step that was inspected."
    )
    characteristic = forms.CharField(max_length=200, help_text="e.g. hole diameter")
    unit = forms.CharField(max_length=16, required=False, help_text="e.g. mm, g, N")
    target = forms.DecimalField(max_digits=14, decimal_places=4)
    tolerance = forms.DecimalField(
        max_digits=14, decimal_places=4, min_value=Decimal("0"), help_text="Plus or minus."
    )
    measured = forms.DecimalField(max_digits=14, decimal_places=4)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(
        self, *args: object, operations: Iterable[BatchOperation], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["operation"].choices = [("", "The whole batch")] + [
            (op.pk, f"{op.sequence}. {op.name}") for op in operations
        ]

    def service_arguments(self) -> dict[str, object]:
        data = dict(self.cleaned_data)
        data["operation_id"] = data.pop("operation")
        return data


class MaterialConsumptionForm(forms.Form):
    material = forms.TypedChoiceField(coerce=int)
    quantity = forms.DecimalField(
        max_digits=10,
        decimal_places=3,
        min_value=Decimal("0.001"),
        help_text="In the material's unit.",
    )
    material_lot = forms.CharField(
        label="Material lot",
        max_length=64,
        required=False,
        help_text="The supplier's lot, if known.",
    )

    def __init__(self, *args: object, materials: Iterable[Material], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["material"].choices = [("", "Choose a material")] + [
            (m.pk, f"{m.name} ({m.code}, {m.unit})") for m in materials
        ]

    def service_arguments(self) -> dict[str, object]:
        data = dict(self.cleaned_data)
        data["material_id"] = data.pop("material")
        return data
