from typing import Any

from django.core.management.base import BaseCommand

from mfapp.core.demo_data import DEMO_PASSWORD, demo_logins, seed_demo


class Command(BaseCommand):
    help = "Create the demo tenants with months of history. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo()
        for slug in result.created:
            self.stdout.write(self.style.SUCCESS(f"Seeded demo tenant {slug}."))
        for slug in result.skipped:
            self.stdout.write(f"Demo tenant {slug} exists already; left unchanged.")
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for email, what in demo_logins():
            self.stdout.write(f"  {email:<28} {what}")
