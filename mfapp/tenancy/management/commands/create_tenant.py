from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mfapp.core.exceptions import ApplicationError
from mfapp.tenancy.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant with its first site and its owner login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", help="Required when the owner has no login yet.")
        parser.add_argument("--country", default="DE", help="ISO 3166 code (default DE).")
        parser.add_argument("--timezone", default="Europe/Berlin")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--site-name", help="Default: '<name> workshop'.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                owner_email=options["owner_email"],
                owner_password=options["password"],
                country=options["country"],
                timezone_name=options["timezone"],
                currency=options["currency"],
                site_name=options["site_name"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created tenant {tenant.slug} ({tenant.name}) owned by {options['owner_email']}."
            )
        )
