"""Tenant data versions, and the cache of reads keyed on them (issue 8).

Every committed write bumps a version: its tenant's, or the platform-wide one for a write made
across tenants or outside any tenant (the admin, platform jobs, migrations). Writes are seen at
the database layer, by an execute wrapper on every connection, so no code path (an ORM
`update()`, `bulk_create`, raw SQL, a service not written yet) can forget to invalidate.

`cached()` stores a value with the two versions read *before* it was computed, and serves it
only while they are still the current ones: a write that commits after that read moves the
versions on, so the entry is never served again, and a write that committed before it is in
the value. Entries also expire after `CACHE_SECONDS`, which
bounds staleness should a bump be lost (cache down for a moment). Without a working cache,
values are computed every time: slower, never wrong.

Use it for reads made before the request wrote anything (GET pages and API reads): a value
computed from a transaction's own uncommitted writes would outlive a rollback.
"""

import hashlib
import logging
import pickle
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.db import transaction
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from mfapp.core import rls

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300
PLATFORM_SCOPE = "platform"
# Written on most requests and read by nothing cached: they would only churn the versions.
UNTRACKED_TABLES = frozenset({"django_session", "axes_accessattempt", "axes_accesslog"})
_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
T = TypeVar("T")


def _version_key(scope: int | str) -> str:
    return f"data-version:{scope}"


def _version_keys(tenant_id: int) -> list[str]:
    return [_version_key(PLATFORM_SCOPE), _version_key(tenant_id)]


def _versions_from(found: dict[str, Any], tenant_id: int) -> tuple[int, int] | None:
    """The platform's and the tenant's versions out of a `get_many` that asked for them,
    starting any that is missing; None from a cache that keeps nothing (the dummy cache of
    `MFAPP_CACHE_URL=off` and of the tests)."""
    keys = _version_keys(tenant_id)
    for key in keys:
        if found.get(key) is None:
            # A clock reading, not 0: entries written under an evicted version stay unreachable.
            cache.add(key, time.time_ns(), timeout=None)
            found[key] = cache.get(key)
    platform, tenant = found[keys[0]], found[keys[1]]
    return None if platform is None or tenant is None else (platform, tenant)


def _versions(tenant_id: int) -> tuple[int, int] | None:
    return _versions_from(cache.get_many(_version_keys(tenant_id)), tenant_id)


def _entry_key(tenant_id: int, name: str, parts: Hashable) -> str:
    digest = hashlib.sha256(repr((tenant_id, name, parts)).encode()).hexdigest()
    return f"tenant-cache:{tenant_id}:{name}:{digest}"


def cached(*, tenant_id: int, name: str, parts: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`'s value for this tenant, from the cache while no write has committed since
    it was stored. `parts` name everything else the value depends on (path, filters, day).

    One round trip on a hit: the entry (stored with the versions it was computed under) and
    the current versions come in one `get_many`."""
    key = _entry_key(tenant_id, name, parts)
    try:
        found = cache.get_many([key, *_version_keys(tenant_id)])
        versions = _versions_from(found, tenant_id)
    except Exception:  # the cache is an accelerator: without it, compute
        logger.warning("cache unavailable; computing %s", name, exc_info=True)
        return compute()
    if versions is None:
        return compute()
    entry = found.get(key)
    if entry is not None and entry[0] == versions:
        return entry[1]
    value = compute()
    try:
        cache.set(key, (versions, value), CACHE_SECONDS)
    except Exception:
        logger.warning("cache unavailable; %s not stored", name, exc_info=True)
    return value


def current_versions(tenant_id: int) -> tuple[int, int] | None:
    """The tenant's versions now (None without a working cache), for `remember()`."""
    try:
        return _versions(tenant_id)
    except Exception:
        logger.warning("cache unavailable", exc_info=True)
        return None


# remember()/recall(): this process's memory, each entry checked against the shared versions.
_remembered: dict[str, tuple[float, int, tuple[int, int], bytes]] = {}
REMEMBERED_MAX = 1000


def remember(key: str, *, tenant_id: int, versions: tuple[int, int], value: Any, seconds: int):
    """Keep `value`, read from the database *after* `versions` were taken, in this process for
    `seconds`, under a key that does not name its tenant (`cached()` needs the tenant first).
    `recall()` returns a copy of it while the tenant's data is unchanged. In memory rather
    than in Redis: a recall then costs one round trip (the versions), not two."""
    if len(_remembered) >= REMEMBERED_MAX:
        _remembered.clear()
    _remembered[key] = (time.monotonic() + seconds, tenant_id, versions, pickle.dumps(value))


def recall(key: str) -> Any:
    """A fresh copy of what `remember()` kept under `key` (so no request sees another's
    changes to it), or None: never kept, expired, or its tenant's data changed since."""
    entry = _remembered.get(key)
    if entry is None:
        return None
    expires, tenant_id, versions, value = entry
    try:
        current = _versions(tenant_id) if time.monotonic() < expires else None
    except Exception:
        logger.warning("cache unavailable; reading %s from the database", key, exc_info=True)
        current = None
    if current != versions:
        _remembered.pop(key, None)
        return None
    return pickle.loads(value)  # noqa: S301 - our own bytes, pickled above in this process


def cached_for_remembered(remembered: str, *, name: str, parts: Hashable) -> tuple[Any, Any] | None:
    """(a copy of the value remembered under `remembered`, the value `cached()` holds for its
    tenant under `name` and `parts`) when both are current, checked in one round trip: the
    entry and the versions come together, so the remembered value (an API key) is confirmed
    by the same read that confirms the entry. None when either is missing or stale: the caller
    then takes its ordinary path (`recall()`, then `cached()`), which also repairs both."""
    remembered_entry = _remembered.get(remembered)
    if remembered_entry is None:
        return None
    expires, tenant_id, versions, value = remembered_entry
    if time.monotonic() >= expires:
        return None
    key = _entry_key(tenant_id, name, parts)
    platform_key, tenant_key = _version_keys(tenant_id)
    try:
        found = cache.get_many([key, platform_key, tenant_key])
    except Exception:
        logger.warning("cache unavailable; %s read the ordinary way", name, exc_info=True)
        return None
    entry = found.get(key)
    current = (found.get(platform_key), found.get(tenant_key))
    if current != versions or entry is None or entry[0] != versions:
        return None
    return pickle.loads(value), entry[1]  # noqa: S301 - our own bytes, pickled in remember()


@dataclass(frozen=True)
class _Bump:
    """After a commit: move one scope's version on (equal by scope, so registered once)."""

    scope: int | str

    def __call__(self) -> None:
        key = _version_key(self.scope)
        try:
            try:
                cache.incr(key)
            except ValueError:  # never read yet, or evicted: any fresh value will do
                cache.add(key, time.time_ns(), timeout=None)
        except Exception:  # entries still expire after CACHE_SECONDS
            logger.error("could not move the data version of %s on", self.scope, exc_info=True)


def mark_changed(tenant_id: int) -> None:
    """Move the tenant's data version on now, as a committed write to its data does: its next
    reads are computed afresh (the web benchmark's first view after a change)."""
    _Bump(tenant_id)()


def _written_table(sql: str) -> str | None:
    """The table an INSERT/UPDATE/DELETE/TRUNCATE writes (Django quotes table names), else
    None for a read."""
    head = sql[:64].lstrip()[:8].upper()  # not the whole statement: bulk INSERTs are large
    if not head.startswith(_WRITES):
        return None
    _, quote, rest = sql.partition('"')
    return rest.partition('"')[0] if quote else ""


def _caching() -> bool:
    """False with the dummy cache (`MFAPP_CACHE_URL=off`, the tests): nothing to invalidate."""
    return not isinstance(caches["default"], DummyCache)


def _track_writes(execute: Any, sql: str, params: Any, many: bool, context: dict) -> Any:
    result = execute(sql, params, many, context)
    table = _written_table(sql)
    if table is not None and table not in UNTRACKED_TABLES and _caching():
        database = rls.current()
        tenant_id = None if database.platform_reason else database.tenant_id
        bump = _Bump(PLATFORM_SCOPE if tenant_id is None else tenant_id)
        connection = context["connection"]
        if not connection.in_atomic_block:
            bump()  # the statement has committed already
        elif not any(callback == bump for _, callback, _ in connection.run_on_commit):
            transaction.on_commit(bump, using=connection.alias)
    return result


@receiver(connection_created)
def track_writes_on(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _track_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_track_writes)
