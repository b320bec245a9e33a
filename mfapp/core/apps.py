from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "mfapp.core"
    label = "core"

    def ready(self) -> None:
        # After every `migrate` (run as the tables' owner): row-level security on every table
        # with a tenant_id, the new ones included, and data grants for the application role.
        post_migrate.connect(row_level_security_apply, sender=self)
        from mfapp.core import tenant_cache  # noqa: F401 - connects its write tracking


def row_level_security_apply(using: str, **kwargs: Any) -> None:
    from django.conf import settings
    from django.db import connections

    from mfapp.core import rls

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with rls.platform_access(reason="migrate"), connection.cursor() as cursor:
        # Only the owner can: the application role (a test's flush, say) has nothing to alter.
        rls.apply(cursor, app_role=settings.MFAPP_DATABASE_APP_ROLE)
