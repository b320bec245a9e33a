from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from mfapp.core.tenant_archive import ArchiveError, tenant_export
from mfapp.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Write all of one tenant's data (and its members' accounts) to a zip archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant to export.")
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            help="Where to write the archive (default: ./tenant-SLUG-YYYYmmdd-HHMMSS.zip).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the slug {options['slug']!r}.")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = options["output"] or Path(f"tenant-{tenant.slug}-{stamp}.zip")
        try:
            summary = tenant_export(tenant=tenant, path=path)
        except ArchiveError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported tenant {tenant.slug} to {summary.path}: {summary.describe()}."
            )
        )
