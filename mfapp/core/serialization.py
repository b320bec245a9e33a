from typing import Any

from django.db import models


def jsonable(value: Any) -> Any:
    """A field value as JSON for the audit trail (related rows by id, the rest as text)."""
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return str(value)
