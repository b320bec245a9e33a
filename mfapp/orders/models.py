from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from mfapp.core.fields import country_code_validator, latitude_field, longitude_field, money_field
from mfapp.core.models import TenantScopedModel


class Customer(TenantScopedModel):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    delivery_address = models.TextField(blank=True)
    country = models.CharField(max_length=2, validators=[country_code_validator])
    latitude = latitude_field(null=True, blank=True)
    longitude = longitude_field(null=True, blank=True)
    external_ref = models.CharField(
        max_length=100, blank=True, help_text="The customer's id in your shop or ERP."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="customer_unique_external_ref",
                violation_error_message="A customer with this external reference exists already.",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "name"], name="customer_name_idx"),
            models.Index(fields=["tenant", "updated_at"], name="customer_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Order(TenantScopedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        CONFIRMED = "confirmed", "Confirmed"
        IN_PRODUCTION = "in_production", "In production"
        READY = "ready", "Ready"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    number = models.CharField(max_length=40)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    site = models.ForeignKey(
        "tenancy.Site",
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="The microfactory that makes and ships this order.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices,
        default=Priority.NORMAL,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    due_date = models.DateField()
    notes = models.TextField(blank=True)
    external_ref = models.CharField(
        max_length=100, blank=True, help_text="The order's id in the shop that sent it."
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"],
                name="order_unique_number",
                violation_error_message="An order with this number exists already.",
            ),
            models.UniqueConstraint(
                fields=["tenant", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="order_unique_external_ref",
                violation_error_message="An order with this external reference exists already.",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "due_date"], name="order_status_due_idx"),
            models.Index(fields=["tenant", "-created_at"], name="order_recent_idx"),
            models.Index(fields=["tenant", "updated_at"], name="order_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.SHIPPED, self.Status.CANCELLED)


class OrderLine(TenantScopedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = money_field(default=Decimal("0"))

    class Meta:
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
