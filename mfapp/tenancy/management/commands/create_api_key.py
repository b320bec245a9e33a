from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mfapp.core.exceptions import ApplicationError
from mfapp.tenancy.selectors import system_actor, tenant_get_by_slug
from mfapp.tenancy.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a tenant. The key is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'Shopify'.")
        parser.add_argument("--read-only", action="store_true", help="The key cannot write.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_get_by_slug(slug=options["tenant"])
            api_key, raw_key = api_key_create(
                actor=system_actor(tenant=tenant),
                name=options["name"],
                read_only=options["read_only"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        access = "read-only" if api_key.read_only else "read-write"
        self.stdout.write(f"Created {access} API key {api_key.name!r} for {tenant.slug}.")
        self.stdout.write("Store it now; it is not shown again:")
        self.stdout.write(raw_key)
