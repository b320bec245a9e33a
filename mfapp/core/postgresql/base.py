"""Django's PostgreSQL backend plus row-level security: before a statement runs, the
transaction it runs in gets the current context's settings (`set_config(..., true)`).

Inside `atomic()` that costs one extra statement per transaction (and one more whenever the
context changes mid-transaction); a statement outside `atomic()` is wrapped in a transaction of
its own, since a transaction-local setting would otherwise be gone before it ran. Statements run
without any context are left alone: the policies then match no tenant's rows.
"""

from typing import Any

from django.db import transaction
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

from mfapp.core import rls

# The custom settings, then the role: the application's platform role under
# `platform_access()` (rls module docstring), else the role the connection logged in as.
# And no JIT compilation: it took 2 s to compile a report query that then ran in less, and
# this application's queries are short; set per transaction like the rest, so it needs no
# role setting and works behind a transaction-pooling proxy.
SET_CONFIG = (
    "SELECT "
    + ", ".join(f"set_config('{name}', %s, true)" for name in [*rls.EMPTY.settings(), "role"])
    + ", set_config('jit', 'off', true)"
)
PLATFORM_ROLE = (
    "SELECT rolname FROM pg_roles WHERE rolname = session_user || %s"
    " AND pg_has_role(session_user, oid, 'MEMBER')"
)
_UNKNOWN = object()


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rls_applied: rls.DatabaseContext | None = None
        self.rls_platform_role: Any = _UNKNOWN  # str, or None: this login has none
        self.execute_wrappers.append(self._with_rls_context)

    def init_connection_state(self) -> None:
        super().init_connection_state()
        self.rls_platform_role = _UNKNOWN  # a new login: looked up again when first needed

    def _with_rls_context(
        self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        wanted = rls.current()
        if self.get_autocommit():
            if wanted == rls.EMPTY:
                return execute(sql, params, many, context)
            with transaction.atomic(using=self.alias):
                self._apply(wanted, context["cursor"])
                return execute(sql, params, many, context)
        status = self._transaction_status()
        if status == TransactionStatus.INERROR:
            # A failed transaction takes nothing but its rollback; settings come after it.
            return execute(sql, params, many, context)
        if status == TransactionStatus.IDLE:
            if wanted == rls.EMPTY:
                self.rls_applied = rls.EMPTY  # a new transaction starts with nothing set
            else:
                self._apply(wanted, context["cursor"])
        elif self.rls_applied != wanted:
            self._apply(wanted, context["cursor"])
        return execute(sql, params, many, context)

    def _transaction_status(self) -> TransactionStatus:
        # IDLE: no transaction open yet, the coming statement starts one.
        return self.connection.info.transaction_status

    def _apply(self, wanted: rls.DatabaseContext, cursor_wrapper: Any) -> None:
        # The driver's own cursor: no recursion through the wrappers, not counted as a query.
        cursor = cursor_wrapper.cursor
        role = self._platform_role(cursor) if wanted.platform_reason else None
        cursor.execute(SET_CONFIG, [*wanted.settings().values(), role or "none"])
        self.rls_applied = wanted

    def _platform_role(self, cursor: Any) -> str | None:
        """`<login>_platform` when this login may become it; None for the tables' owner (whom
        the platform policy names directly) or a superuser."""
        if self.rls_platform_role is _UNKNOWN:
            cursor.execute(PLATFORM_ROLE, [rls.PLATFORM_ROLE_SUFFIX])
            row = cursor.fetchone()
            self.rls_platform_role = row[0] if row else None
        return self.rls_platform_role

    # A transaction's end, or a rolled-back savepoint, undoes what was applied.
    def _commit(self) -> None:
        self.rls_applied = None
        super()._commit()

    def _rollback(self) -> None:
        self.rls_applied = None
        super()._rollback()

    def _savepoint_rollback(self, sid: str) -> None:
        super()._savepoint_rollback(sid)
        self.rls_applied = None

    def _close(self) -> None:
        self.rls_applied = None
        super()._close()
