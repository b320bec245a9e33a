"""The audit log in the browser: the tenant's recorded changes, newest first, for owners.

Filters narrow it (object type, action, who, dates in the business's time zone, a search on
the object); htmx swaps only the table. Pages go by keyset ("Newer" / "Older" from an event's
(created_at, id)), so the hundredth page costs what the first does."""

from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from mfapp.audit.changes import Change, event_changes, target_type_label, verb_label
from mfapp.audit.forms import AuditFilterForm
from mfapp.audit.models import AuditEvent
from mfapp.audit.selectors import Cursor, audit_actor_choices, audit_event_page
from mfapp.core.web import TenantHtmxRequest, htmx_partial, member_view

LIST = "audit/event_list.html"
PARTIAL = "events"

# The pages showing one object, by the target type the log records: the object's name links
# there. Reversing a URL costs no query.
OBJECT_PAGES = {
    "orders.order": "orders:order-detail",
    "production.batch": "production:batch-detail",
    "machines.machine": "machines:machine-detail",
    "catalog.product": "catalog:product-detail",
    "integrations.webhookendpoint": "webhook-endpoint-detail",
    "sustainability.sustainabilityreport": "sustainability:report-detail",
}


def history_url(target_type: str, target_id: int) -> str:
    """The log filtered to one object: what an object's page links to."""
    query = urlencode({"target_type": target_type, "target_id": target_id})
    return f"{reverse('audit:event-list')}?{query}"


def _object_url(event: AuditEvent) -> str | None:
    name = OBJECT_PAGES.get(event.target_type)
    if name is None or event.verb.endswith(".deleted"):
        return None
    try:
        return reverse(name, args=[event.target_id])
    except NoReverseMatch:  # an app without pages
        return None


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    action: str
    target_label: str
    changes: list[Change]
    object_url: str | None
    history_url: str
    actor_url: str


def _row(event: AuditEvent, list_url: str) -> EventRow:
    return EventRow(
        event=event,
        action=verb_label(event.verb),
        target_label=target_type_label(event.target_type),
        changes=event_changes(event),
        object_url=_object_url(event),
        history_url=history_url(event.target_type, event.target_id),
        actor_url=f"{list_url}?{urlencode({'actor': event.actor_label})}",
    )


@require_GET
@member_view("audit.view")
def audit_event_list_view(request: TenantHtmxRequest) -> HttpResponse:
    tenant = request.tenant
    template = htmx_partial(request, LIST, PARTIAL)
    # The actor menu is only in the filter form, which an htmx swap of the table leaves alone.
    actor_choices = audit_actor_choices(tenant=tenant) if template == LIST else []
    form = AuditFilterForm(request.GET or None, actor_choices=actor_choices)
    filters = form.filters(timezone_name=tenant.timezone)
    before = Cursor.decode(request.GET.get("before"))
    after = None if before is not None else Cursor.decode(request.GET.get("after"))
    page = audit_event_page(tenant=tenant, filters=filters, before=before, after=after)
    list_url = reverse("audit:event-list")
    with timezone.override(ZoneInfo(tenant.timezone)):  # times as the business reads them
        rows = [_row(event, list_url) for event in page.events]
        context = {
            "form": form,
            "page": page,
            "rows": rows,
            "filtered": bool(filters),
            "paged": before is not None or after is not None,
            "scope": _scope(filters.target_type, filters.target_id, rows),
            "newer": page.newer.encode() if page.newer else None,
            "older": page.older.encode() if page.older else None,
        }
        return render(request, template, context, status=400 if form.errors else 200)


def _scope(target_type: str, target_id: int | None, rows: list[EventRow]) -> str:
    """The one object the log is narrowed to ("Order SO-2026-00012"), named from its events."""
    if not target_type or target_id is None:
        return ""
    name = rows[0].event.target_repr if rows else f"#{target_id}"
    return f"{target_type_label(target_type)} {name}"
