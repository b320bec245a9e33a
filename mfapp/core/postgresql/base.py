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

SET_CONFIG = "SELECT " + ", ".join(
    f"set_config('{name}', %s, true)" for name in rls.EMPTY.settings()
)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rls_applied: rls.DatabaseContext | None = None
        self.execute_wrappers.append(self._with_rls_context)

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
        cursor_wrapper.cursor.execute(SET_CONFIG, list(wanted.settings().values()))
        self.rls_applied = wanted

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
