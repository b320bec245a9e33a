"""Forms of the catalog pages. They only parse input; the services validate it against the
model and the business rules, and their refusals come back onto the form."""

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django import forms

from mfapp.catalog.capabilities import Capability
from mfapp.catalog.models import BomLine, Material, Product, RoutingStep
from mfapp.catalog.selectors import material_list
from mfapp.tenancy.models import Tenant

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}
QUANTITY = {"max_digits": 10, "decimal_places": 3, "min_value": Decimal("0")}
MINUTES = {"max_digits": 8, "decimal_places": 2, "min_value": Decimal("0")}


class ProductForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    name = forms.CharField(max_length=200)
    design_revision = forms.CharField(
        max_length=32, initial="A", help_text="Raise it when the design changes."
    )
    unit_price = forms.DecimalField(label="Unit price", initial=Decimal("0"), **MONEY)
    unit_mass_kg = forms.DecimalField(label="Unit mass (kg)", initial=Decimal("0"), **QUANTITY)
    max_batch_size = forms.IntegerField(
        label="Maximum batch size",
        min_value=1,
        required=False,
        help_text="Orders are split into batches of at most this many units. Empty: no limit.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="Inactive products stay in past orders but cannot be ordered again.",
    )

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if currency:
            self.fields["unit_price"].label = f"Unit price ({currency})"

    def changes(self, product: Product) -> dict[str, Any]:
        """The cleaned fields whose value differs from `product`'s (what the audit records)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if getattr(product, name) != value
        }


def _material_field(
    tenant: Tenant, *, required: bool, exclude: Collection[int] = ()
) -> forms.ModelChoiceField:
    """A choice of the tenant's materials (another tenant's id is not a valid choice)."""
    queryset = material_list(tenant=tenant).exclude(pk__in=exclude)
    return forms.ModelChoiceField(
        queryset=queryset,
        required=required,
        empty_label="— none —" if not required else "Choose a material",
    )


class RoutingStepForm(forms.Form):
    """Add or edit a routing step. The position comes from the Up/Down buttons (a new step goes
    last), so there is no sequence field."""

    name = forms.CharField(max_length=200, help_text="e.g. Print housing")
    capability = forms.ChoiceField(
        choices=Capability.choices, help_text="What the machine must do."
    )
    setup_minutes = forms.DecimalField(label="Setup (min)", initial=Decimal("0"), **MINUTES)
    run_minutes_per_unit = forms.DecimalField(label="Run (min per unit)", **MINUTES)

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["material"] = _material_field(tenant, required=False)
        self.fields["material"].help_text = "Material processed (filament, resin ...), if any."

    @classmethod
    def for_step(cls, step: RoutingStep, **kwargs: Any) -> "RoutingStepForm":
        initial = {
            "name": step.name,
            "capability": step.capability,
            "setup_minutes": step.setup_minutes,
            "run_minutes_per_unit": step.run_minutes_per_unit,
            "material": step.material_id,
        }
        return cls(initial=initial, auto_id=f"step-{step.pk}-%s", **kwargs)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        material = data.pop("material")
        return {**data, "material_id": material.pk if material else None}


class BomLineForm(forms.Form):
    """Add a BOM line: only materials that are not on the bill yet are offered."""

    quantity_per_unit = forms.DecimalField(
        label="Quantity per unit",
        max_digits=10,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        help_text="In the material's unit.",
    )
    scrap_allowance_percent = forms.DecimalField(
        label="Scrap allowance (%)",
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        initial=Decimal("0"),
    )

    field_order = ["material", "quantity_per_unit", "scrap_allowance_percent"]

    def __init__(
        self, *args: Any, tenant: Tenant, used: Collection[int] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["material"] = _material_field(tenant, required=True, exclude=used)
        self.order_fields(self.field_order)

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        material = data.pop("material")
        return {**data, "material_id": material.pk}


class BomLineEditForm(forms.Form):
    """Change a BOM line's quantities; to use another material, remove the line and add one."""

    quantity_per_unit = BomLineForm.base_fields["quantity_per_unit"]
    scrap_allowance_percent = BomLineForm.base_fields["scrap_allowance_percent"]

    @classmethod
    def for_line(cls, line: BomLine, data: Any = None) -> "BomLineEditForm":
        initial = {
            "quantity_per_unit": line.quantity_per_unit,
            "scrap_allowance_percent": line.scrap_allowance_percent,
        }
        return cls(data, initial=initial, auto_id=f"bom-{line.pk}-%s")


class MaterialForm(forms.Form):
    code = forms.CharField(max_length=64, help_text="Your material code, e.g. PLA-BLK.")
    name = forms.CharField(max_length=200)
    unit = forms.ChoiceField(choices=Material.Unit.choices, initial=Material.Unit.KG)
    stock_on_hand = forms.DecimalField(
        label="Stock on hand", initial=Decimal("0"), help_text="What you have today.", **QUANTITY
    )
    unit_cost = forms.DecimalField(label="Unit cost", initial=Decimal("0"), **MONEY)
    mass_per_unit_kg = forms.DecimalField(
        label="Mass per unit (kg)",
        initial=Decimal("1"),
        help_text="1 for materials counted in kg.",
        **QUANTITY,
    )
    emission_factor_key = forms.CharField(
        label="Emission factor key",
        max_length=64,
        required=False,
        help_text="e.g. pla, pa12, aluminium-6061.",
    )

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "new-material-%s")
        super().__init__(*args, **kwargs)
        if currency:
            self.fields["unit_cost"].label = f"Unit cost ({currency})"


class StockAdjustForm(forms.Form):
    delta = forms.DecimalField(
        label="Change",
        max_digits=10,
        decimal_places=3,
        help_text="+ for a receipt, - for a correction or loss.",
    )
    reason = forms.CharField(max_length=300, help_text="e.g. Delivery 4711, stocktake.")

    def clean_delta(self) -> Decimal:
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("Enter a change other than zero.")
        return delta
