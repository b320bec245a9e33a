"""Field helpers shared by the domain apps."""

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

country_code_validator = RegexValidator(
    r"^[A-Z]{2}$", "Use a two-letter ISO 3166 country code in capitals, e.g. DE."
)
currency_code_validator = RegexValidator(
    r"^[A-Z]{3}$", "Use a three-letter ISO 4217 currency code in capitals, e.g. EUR."
)
NON_NEGATIVE = MinValueValidator(Decimal("0"))
MAX_ID = 2**63 - 1  # the largest BigAutoField; larger numbers overflow the database drivers


def money_field(**kwargs: Any) -> models.DecimalField:
    kwargs.setdefault("validators", [NON_NEGATIVE])
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


def quantity_field(**kwargs: Any) -> models.DecimalField:
    """Material quantities (kg, m, m2, pieces): up to 9,999,999.999."""
    kwargs.setdefault("validators", [NON_NEGATIVE])
    return models.DecimalField(max_digits=10, decimal_places=3, **kwargs)


def latitude_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal(-90)), MaxValueValidator(Decimal(90))],
        **kwargs,
    )


def longitude_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal(-180)), MaxValueValidator(Decimal(180))],
        **kwargs,
    )
