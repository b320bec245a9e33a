"""An audit event's before and after as people read them: the changed fields only, each with
its label and both values in words. No queries: labels and choice names come from the target's
model class; related rows stay as their id (#12), as the event recorded them."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import dateformat, timezone
from django.utils.text import capfirst

from mfapp.audit.models import AuditEvent
from mfapp.core.models import TenantScopedModel
from mfapp.tenancy.models import Tenant

NOTHING = "—"  # no value, or none recorded (before a creation, after a deletion)
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
INSTANT_FORMAT = "j M Y H:i:s"


@dataclass(frozen=True)
class Change:
    field: str  # the key in before/after
    label: str
    before: str
    after: str
    before_recorded: bool = True  # False: the event recorded this field after the change only
    after_recorded: bool = True  # False: before the change only (a deletion)


def _model(target_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(target_type)
    except (LookupError, ValueError):
        return None  # a model renamed or removed since: the history stays readable


def _field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def label_for(model: type[models.Model] | None, name: str) -> str:
    field = _field(model, name)
    if field is not None:
        return capfirst(str(field.verbose_name))
    return capfirst(name.replace("_", " "))


def value_text(model: type[models.Model] | None, name: str, value: Any) -> str:
    """One recorded value in words: choices by their label, related rows as #id, yes/no."""
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "Yes" if value else "No"
    field = _field(model, name)
    if field is not None and field.is_relation and isinstance(value, int):
        return f"#{value}"
    if field is not None and field.choices and isinstance(value, str | int):
        choices = dict(field.flatchoices)
        if value in choices:
            return str(choices[value])
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if value == "":
        return "(empty)"
    if isinstance(value, str) and _INSTANT.match(value):
        return _instant_text(value)
    return str(value)


def _instant_text(value: str) -> str:
    """A recorded date and time (ISO, with its offset) in the current time zone (the view
    sets the business's); anything that only looks like one stays as recorded."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(instant):
        return value
    return dateformat.format(timezone.localtime(instant), INSTANT_FORMAT)


def event_changes(event: AuditEvent) -> list[Change]:
    """The fields whose recorded value differs between before and after, in the model's field
    order (PostgreSQL's jsonb does not keep the recorded order), other keys after them by name.
    A field recorded on one side only (a creation, a deletion, a status change that also set
    a timestamp) counts as changed, the missing side shown as NOTHING."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    model = _model(event.target_type)
    changes = []
    for name in _ordered(model, {*before, *after}):
        if name in before and name in after and before[name] == after[name]:
            continue
        changes.append(
            Change(
                field=name,
                label=label_for(model, name),
                before=value_text(model, name, before.get(name)) if name in before else NOTHING,
                after=value_text(model, name, after.get(name)) if name in after else NOTHING,
                before_recorded=name in before,
                after_recorded=name in after,
            )
        )
    return changes


def _ordered(model: type[models.Model] | None, names: set[str]) -> list[str]:
    fields = [f.name for f in model._meta.get_fields()] if model is not None else []
    position = {name: index for index, name in enumerate(fields)}
    return sorted(names, key=lambda name: (position.get(name, len(fields)), name))


def target_type_label(target_type: str) -> str:
    """The name of a kind of object ("orders.order" -> "Order"); an unknown one as recorded."""
    model = _model(target_type)
    return capfirst(str(model._meta.verbose_name)) if model is not None else target_type


def verb_label(verb: str) -> str:
    """The action of a verb ("order.status_changed" -> "Status changed"); the target names
    the thing."""
    action = verb.rpartition(".")[2] or verb
    return capfirst(action.replace("_", " "))


def target_type_choices() -> list[tuple[str, str]]:
    """Every kind of object the log can name (the tenant and its rows), by their name.
    Static: no query, whatever the size of the log."""
    found = {
        model._meta.label_lower: target_type_label(model._meta.label_lower)
        for model in apps.get_models()
        if (issubclass(model, TenantScopedModel) or model is Tenant) and model is not AuditEvent
    }
    return sorted(found.items(), key=lambda item: item[1].lower())
