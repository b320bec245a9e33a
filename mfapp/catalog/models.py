from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from mfapp.catalog.capabilities import Capability
from mfapp.core.fields import NON_NEGATIVE, money_field, quantity_field
from mfapp.core.models import TenantScopedModel


class Material(TenantScopedModel):
    class Unit(models.TextChoices):
        KG = "kg", "kilogram"
        M = "m", "metre"
        M2 = "m2", "square metre"
        L = "l", "litre"
        PIECE = "piece", "piece"

    code = models.CharField(max_length=64, help_text="Your material code, unique in your business.")
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.KG)
    mass_per_unit_kg = quantity_field(
        default=Decimal("1"), help_text="Mass of one unit in kg (1 for materials counted in kg)."
    )
    emission_factor_key = models.CharField(
        max_length=64,
        blank=True,
        help_text="Key of the material emission factor (e.g. pla, pa12, aluminium-6061).",
    )
    embodied_co2e_kg_per_kg = models.DecimalField(
        max_digits=8,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[NON_NEGATIVE],
        help_text="Supplier-specific embodied carbon; overrides the factor table when set.",
    )
    unit_cost = money_field(default=Decimal("0"))
    stock_on_hand = quantity_field(default=Decimal("0"))

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "code"],
                name="material_unique_code",
                violation_error_message="A material with this code exists already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Product(TenantScopedModel):
    sku = models.CharField(max_length=64, verbose_name="SKU")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    design_revision = models.CharField(max_length=32, default="A")
    unit_price = money_field(default=Decimal("0"))
    unit_mass_kg = quantity_field(default=Decimal("0"))
    max_batch_size = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Orders are split into batches of at most this many units.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "sku"],
                name="product_unique_sku",
                violation_error_message="A product with this SKU exists already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class BomLine(TenantScopedModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="bom_lines")
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="bom_lines")
    quantity_per_unit = models.DecimalField(
        max_digits=10, decimal_places=4, validators=[MinValueValidator(Decimal("0.0001"))]
    )
    scrap_allowance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[NON_NEGATIVE, MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        ordering = ["product_id", "id"]
        verbose_name = "BOM line"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "product", "material"], name="bomline_unique_material"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity_per_unit} x {self.material_id} for product {self.product_id}"


class RoutingStep(TenantScopedModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="routing_steps")
    sequence = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    name = models.CharField(max_length=200)
    capability = models.CharField(max_length=32, choices=Capability.choices)
    setup_minutes = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0"), validators=[NON_NEGATIVE]
    )
    run_minutes_per_unit = models.DecimalField(
        max_digits=8, decimal_places=2, validators=[NON_NEGATIVE]
    )
    material = models.ForeignKey(
        Material,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Material processed in this step (drives filament/resin changeovers).",
    )

    class Meta:
        ordering = ["product_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "product", "sequence"], name="routingstep_unique_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.name}"
