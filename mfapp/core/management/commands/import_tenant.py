from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mfapp.core.tenant_archive import ArchiveError, tenant_import_summary


class Command(BaseCommand):
    help = (
        "Restore a tenant archive written by export_tenant into this database, under new ids. "
        "Refused if the tenant's slug exists here; all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The archive (.zip) to restore.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, summary = tenant_import_summary(path=options["path"])
        except ArchiveError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"Imported tenant {tenant.slug}: {summary.describe()}.")
        )
