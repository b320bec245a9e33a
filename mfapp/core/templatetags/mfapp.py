from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def trim(value: object) -> str:
    """A decimal as people write it: 0.0350 -> "0.035", 100.000 -> "100"."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return format(number.normalize(), "f")
