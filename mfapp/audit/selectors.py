"""Reading the audit trail: one object's history, and the tenant's log page by page.

The log grows without bound, so it is paged by keyset, never by offset: a page is "the next
PAGE_SIZE events older (or newer) than this (created_at, id)". The position is exact even
when many events share a timestamp, and each page costs the same whatever its depth: one
query for the rows and at most one more to learn whether the other direction has any."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

from mfapp.audit.models import AuditEvent
from mfapp.tenancy.models import ApiKey, Tenant
from mfapp.tenancy.selectors import membership_list

PAGE_SIZE = 50
SYSTEM_LABEL = "system"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def audit_event_list(
    *, tenant: Tenant, target_type: str | None = None, target_id: int | None = None
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.for_tenant(tenant).select_related("actor_user")
    if target_type is not None:
        qs = qs.filter(target_type=target_type)
    if target_id is not None:
        qs = qs.filter(target_id=target_id)
    return qs


@dataclass(frozen=True)
class Cursor:
    """A position in the log: an event's (created_at, id). In URLs it is
    "<microseconds since 1970>_<id>", exact on every database."""

    created_at: datetime
    id: int

    @classmethod
    def of(cls, event: AuditEvent) -> "Cursor":
        return cls(created_at=event.created_at, id=event.pk)

    def encode(self) -> str:
        return f"{(self.created_at - _EPOCH) // _MICROSECOND}_{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> "Cursor | None":
        """The cursor, or None for anything that is not one (a hand-edited URL)."""
        if not raw:
            return None
        micros, _, pk = raw.partition("_")
        try:
            created_at = _EPOCH + timedelta(microseconds=int(micros))
            event_id = int(pk)
        except (ValueError, OverflowError):
            return None
        return cls(created_at=created_at, id=event_id) if event_id > 0 else None

    def older(self) -> Q:
        """Events listed after this one (older; the same instant with a smaller id)."""
        # The redundant `lte` bounds the index range scan on (tenant, created_at).
        return Q(created_at__lte=self.created_at) & (
            Q(created_at__lt=self.created_at) | Q(id__lt=self.id)
        )

    def newer(self) -> Q:
        """Events listed before this one (newer; the same instant with a larger id)."""
        return Q(created_at__gte=self.created_at) & (
            Q(created_at__gt=self.created_at) | Q(id__gt=self.id)
        )


@dataclass(frozen=True)
class AuditFilters:
    """What the log page narrows by; empty values filter nothing. `since` is inclusive,
    `until` exclusive (the view turns the tenant's local dates into these instants)."""

    target_type: str = ""
    target_id: int | None = None
    verb: str = ""
    actor: str = ""
    since: datetime | None = None
    until: datetime | None = None
    search: str = ""

    def __bool__(self) -> bool:
        return any(getattr(self, name) not in ("", None) for name in self.__dataclass_fields__)


@dataclass(frozen=True)
class AuditPage:
    """PAGE_SIZE events at most, newest first, and where the neighbouring pages start
    (None: nothing there)."""

    events: list[AuditEvent]
    newer: Cursor | None
    older: Cursor | None


def _filtered(*, tenant: Tenant, filters: AuditFilters) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.for_tenant(tenant)
    if filters.target_type:
        qs = qs.filter(target_type=filters.target_type)
    if filters.target_id is not None:
        qs = qs.filter(target_id=filters.target_id)
    if filters.verb:
        qs = qs.filter(verb__icontains=filters.verb)
    if filters.actor:
        qs = qs.filter(actor_label=filters.actor)
    if filters.since is not None:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(created_at__lt=filters.until)
    if filters.search:
        qs = qs.filter(
            Q(target_repr__icontains=filters.search) | Q(message__icontains=filters.search)
        )
    return qs


def audit_event_page(
    *,
    tenant: Tenant,
    filters: AuditFilters | None = None,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """The tenant's events matching `filters`, newest first: the first page, the page older
    than `before`, or the page newer than `after`. Two queries at most."""
    qs = _filtered(tenant=tenant, filters=filters or AuditFilters())
    if after is not None:
        rows = list(qs.filter(after.newer()).order_by("created_at", "id")[: size + 1])
        more_newer = len(rows) > size
        events = rows[:size][::-1]
        more_older = bool(events) and qs.filter(Cursor.of(events[-1]).older()).exists()
    else:
        older_than = qs.filter(before.older()) if before is not None else qs
        rows = list(older_than.order_by("-created_at", "-id")[: size + 1])
        more_older = len(rows) > size
        events = rows[:size]
        more_newer = (
            before is not None and bool(events) and qs.filter(Cursor.of(events[0]).newer()).exists()
        )
    # An empty page past either end (a stale or edited link) offers only the newest page.
    return AuditPage(
        events=events,
        newer=Cursor.of(events[0]) if more_newer else None,
        older=Cursor.of(events[-1]) if more_older else None,
    )


def audit_actor_choices(*, tenant: Tenant) -> list[tuple[str, str]]:
    """Who can appear as an actor, as (actor_label, what people read): the members, the API
    keys (revoked ones too: their past actions stay in the log) and the system. Two queries.
    People who have left are not listed; the log links their name to its own filter."""
    members = [
        (m.user.get_username(), f"{m.user.get_username()} ({m.get_role_display().lower()})")
        for m in membership_list(tenant=tenant)
    ]
    names = ApiKey.objects.for_tenant(tenant).order_by("name").values_list("name", flat=True)
    keys = [(f"api-key:{name}", f"API key {name}") for name in names]
    return [*members, *keys, (SYSTEM_LABEL, "System (background tasks)")]
