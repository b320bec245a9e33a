"""Row-level security on PostgreSQL: the database's own tenant isolation, under the app's.

Every table with a `tenant_id` column has RLS enabled and forced, with two policies: a row is
visible and writable when its `tenant_id` equals the transaction's `mfapp.tenant_id` setting
(every role), or, for the platform roles only, when the transaction runs under
`platform_access()`. Three narrow read-only policies let a request find what names its tenant:
a person's own memberships, and the one API key or invitation whose secret it holds.

Why platform access is a role and not an OR in the tenant policy: PostgreSQL cannot estimate
`tenant_id = X OR <setting>` and planned tenant lists as if they held a handful of rows
(a 5,000-order tenant's orders page sorted all its rows, 100 ms instead of 1). With the tenant
policy a plain equality, the planner merges it with the query's own `tenant_id = X` and
estimates exactly. Under `platform_access()` the application role switches, for that
transaction only, to `<app role>_platform` (`set_config('role', ...)`), which the platform
policy names; it grants nothing the application role could not already reach by setting
`mfapp.platform` itself, so the isolation guarantee is the same as before.

The settings are per transaction (`set_config(name, value, true)`), never per session, so a
pooled connection cannot carry them to the next client. What they should be comes from context
variables set here (by the request middleware, every Celery task and the commands); the
PostgreSQL backend (`mfapp.core.postgresql`) writes them into each transaction before its
first statement. Without a context the policies match nothing: raw SQL sees no tenant's rows.
On SQLite none of this exists; the fail-closed querysets are the only guard there.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseContext:
    tenant_id: int | None = None
    user_id: int | None = None
    platform_reason: str = ""  # non-empty inside platform_access()
    api_key_prefix: str = ""
    invitation_token_hash: str = ""

    def settings(self) -> dict[str, str]:
        """The transaction settings, every one always written so none outlives its context."""
        return {
            "mfapp.tenant_id": "" if self.tenant_id is None else str(int(self.tenant_id)),
            "mfapp.user_id": "" if self.user_id is None else str(int(self.user_id)),
            "mfapp.platform": "on" if self.platform_reason else "",
            "mfapp.api_key_prefix": self.api_key_prefix,
            "mfapp.invitation_token_hash": self.invitation_token_hash,
        }


EMPTY = DatabaseContext()
_context: ContextVar[DatabaseContext] = ContextVar("mfapp_database_context", default=EMPTY)


def current() -> DatabaseContext:
    return _context.get()


@contextmanager
def _using(context: DatabaseContext) -> Iterator[DatabaseContext]:
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def tenant_context(tenant_id: int, *, user_id: int | None = None) -> Iterator[DatabaseContext]:
    """Work as one tenant (a request, a task, a command): that tenant's rows only."""
    return _using(DatabaseContext(tenant_id=int(tenant_id), user_id=user_id))


def user_context(user_id: int | None) -> Iterator[DatabaseContext]:
    """A signed-in person before a tenant is chosen: their own memberships, nothing else."""
    return _using(DatabaseContext(user_id=user_id))


def api_key_lookup(prefix: str) -> Iterator[DatabaseContext]:
    """Reading the API key(s) with this public prefix, to check a presented secret."""
    return _using(replace(current(), api_key_prefix=prefix))


def invitation_lookup(token_hash: str) -> Iterator[DatabaseContext]:
    """Reading the invitation whose link carries this token."""
    return _using(replace(current(), invitation_token_hash=token_hash))


@contextmanager
def platform_access(*, reason: str, actor: str = "system") -> Iterator[DatabaseContext]:
    """The one path across tenants: platform jobs and staff in the admin. Logged every time;
    staff access is also written to each touched tenant's audit log (core.admin)."""
    if not reason:
        raise ValueError("platform_access() needs a reason.")
    logger.info("platform access by %s: %s", actor, reason)
    with _using(DatabaseContext(platform_reason=reason)) as context:
        yield context


def set_tenant(tenant_id: int) -> None:
    """Narrow the current request to its tenant once authentication has named it. The
    middleware's own context restores what was there before when the request ends."""
    _context.set(DatabaseContext(tenant_id=int(tenant_id), user_id=current().user_id))


# --- policies ----------------------------------------------------------------------------
POLICY = "mfapp_tenant_isolation"
PLATFORM_POLICY = "mfapp_platform_access"
_TENANT_MATCH = "(tenant_id = NULLIF(current_setting('mfapp.tenant_id', true), '')::bigint)"
_PLATFORM_MATCH = "(current_setting('mfapp.platform', true) = 'on')"
PLATFORM_ROLE_SUFFIX = "_platform"


def platform_role(app_role: str) -> str:
    """The role an application role becomes under `platform_access()`."""
    return app_role + PLATFORM_ROLE_SUFFIX


# Extra read-only policies (permissive: OR-ed with the tenant policy for SELECT only).
LOOKUP_POLICIES: dict[str, tuple[str, str]] = {
    "tenancy_membership": (
        "mfapp_own_memberships",
        "user_id = NULLIF(current_setting('mfapp.user_id', true), '')::bigint",
    ),
    "tenancy_apikey": (
        "mfapp_api_key_lookup",
        "prefix = NULLIF(current_setting('mfapp.api_key_prefix', true), '')",
    ),
    "tenancy_invitation": (
        "mfapp_invitation_lookup",
        "token_hash = NULLIF(current_setting('mfapp.invitation_token_hash', true), '')",
    ),
}


def tenant_tables(cursor, *, owned: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    """Every table of the current schema with a `tenant_id` column (`owned`: only those the
    current role may alter: its own, or all for a superuser)."""
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
          AND (NOT %s OR pg_has_role(current_user, c.relowner, 'USAGE'))
        ORDER BY c.relname
        """,
        [owned],
    )
    return [row[0] for row in cursor.fetchall()]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def policy_statements(table: str, *, platform_roles: list[str]) -> list[str]:
    """RLS on `table`: the tenant policy for every role, the platform policy for
    `platform_roles` only (the tables' owner, and the application's platform role)."""
    quoted = _quoted(table)
    roles = ", ".join(_quoted(role) for role in platform_roles)
    statements = [
        f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {quoted}",
        f"CREATE POLICY {POLICY} ON {quoted} USING {_TENANT_MATCH} WITH CHECK {_TENANT_MATCH}",
        f"DROP POLICY IF EXISTS {PLATFORM_POLICY} ON {quoted}",
        f"CREATE POLICY {PLATFORM_POLICY} ON {quoted} TO {roles}"
        f" USING {_PLATFORM_MATCH} WITH CHECK {_PLATFORM_MATCH}",
    ]
    if table in LOOKUP_POLICIES:
        name, condition = LOOKUP_POLICIES[table]
        statements += [
            f"DROP POLICY IF EXISTS {name} ON {quoted}",
            f"CREATE POLICY {name} ON {quoted} FOR SELECT USING ({condition})",
        ]
    return statements


def grant_statements(role: str) -> list[str]:
    """What the application role (and its platform role) may do: data, never the schema."""
    quoted = _quoted(role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]


def apply(cursor, *, app_role: str) -> None:  # type: ignore[no-untyped-def]
    """Policies on every table the current role owns, and data grants for `app_role` and its
    platform role (which must exist: docker/postgres-init creates both)."""
    tables = tenant_tables(cursor, owned=True)
    if not tables:
        return
    cursor.execute("SELECT current_user")
    platform_roles = [cursor.fetchone()[0]]
    statements: list[str] = []
    if app_role:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [platform_role(app_role)])
        if cursor.fetchone() is None:
            raise RuntimeError(
                f"The role {platform_role(app_role)} is missing. As a superuser: CREATE ROLE "
                f"{platform_role(app_role)} NOLOGIN; GRANT {platform_role(app_role)} TO {app_role};"
                " (docs/security.md, 'Row-level security')."
            )
        # Inheriting it would put the platform policy, OR-ed, on every query again.
        cursor.execute("SELECT pg_has_role(%s, %s, 'USAGE')", [app_role, platform_role(app_role)])
        if cursor.fetchone()[0]:
            raise RuntimeError(
                f"The role {app_role} must not inherit: ALTER ROLE {app_role} NOINHERIT;"
            )
        platform_roles.append(platform_role(app_role))
        statements += grant_statements(app_role) + grant_statements(platform_role(app_role))
    for table in tables:
        statements += policy_statements(table, platform_roles=platform_roles)
    for statement in statements:
        cursor.execute(statement)
