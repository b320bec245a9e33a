"""How numbers are written for people."""

from decimal import Decimal, InvalidOperation


def plain_decimal(value: object) -> str:
    """A decimal as people write it: 0.0350 -> "0.035", 100.000 -> "100"; anything that is not
    a number comes back as its text."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return format(number.normalize(), "f")
