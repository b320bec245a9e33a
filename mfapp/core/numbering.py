import re

from django.db.models import QuerySet


def next_code(queryset: QuerySet, *, field: str, prefix: str, width: int = 5) -> str:
    """`prefix` + one more than the highest zero-padded number already used with that prefix.
    Zero-padding keeps text order equal to numeric order, so the database finds the highest."""
    highest = (
        queryset.filter(**{f"{field}__regex": rf"^{re.escape(prefix)}\d{{{width}}}$"})
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
    )
    number = int(highest.removeprefix(prefix)) + 1 if highest else 1
    return f"{prefix}{number:0{width}d}"
