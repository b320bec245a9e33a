from typing import TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from mfapp.core.exceptions import ApplicationError

M = TypeVar("M", bound=models.Model)


def _unique_field_by_message(model: type[models.Model]) -> dict[str, str]:
    """Each unique constraint's message -> the field a person typed (the one after tenant)."""
    mapping = {}
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            typed = [name for name in constraint.fields if name != "tenant"]
            if len(typed) == 1:
                mapping[str(constraint.violation_error_message)] = typed[0]
    return mapping


def application_error_from(
    exc: ValidationError, model: type[models.Model] | None = None
) -> ApplicationError:
    """A model ValidationError as an ApplicationError: one readable message, errors per field."""
    if hasattr(exc, "error_dict"):
        fields: dict[str, list[str]] = {}
        by_message = _unique_field_by_message(model) if model is not None else {}
        for name, messages in exc.message_dict.items():
            for text in messages:
                field = name
                if name == NON_FIELD_ERRORS:
                    field = by_message.get(text, "non_field_errors")
                fields.setdefault(field, []).append(text)
        message = " ".join(
            f"{'' if name == 'non_field_errors' else name + ': '}{' '.join(messages)}"
            for name, messages in fields.items()
        )
        return ApplicationError(message, {"fields": fields})
    return ApplicationError(" ".join(exc.messages))


def clean_and_save(instance: M, *, update_fields: list[str] | None = None) -> M:
    """Validate every field and constraint, then save; invalid input raises ApplicationError
    and writes nothing."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise application_error_from(exc, type(instance)) from None
    instance.save(update_fields=update_fields)
    return instance
