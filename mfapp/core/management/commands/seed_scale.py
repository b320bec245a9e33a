from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mfapp.core.scale_data import (
    SCALE_PASSWORD,
    ScaleError,
    TenantResult,
    seed_scale,
    statistics_refresh,
)


class Command(BaseCommand):
    help = (
        "Fill the database quickly for performance work: N tenants with skewed sizes and months "
        "of history (bulk inserts, one transaction per tenant). See mfapp/core/scale_data.py."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenants", type=int, default=20, help="How many tenants (20).")
        parser.add_argument(
            "--orders-per-tenant",
            type=int,
            default=5000,
            help="Mean orders per tenant (5000); sizes are Zipf-skewed, the total is N x M.",
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (1).")
        parser.add_argument("--months", type=int, default=12, help="Months of history (12).")
        parser.add_argument(
            "--prefix", default="scale", help='Tenant slugs are <prefix>-01, ... ("scale").'
        )
        parser.add_argument(
            "--energy",
            action="store_true",
            help="Also hourly meter readings of one machine per site (8,766 a site a year).",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="Tenants written in parallel by this many processes (PostgreSQL only; 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: TenantResult) -> None:
            self.stdout.write(f"  {done.slug}: {done.orders:,} orders in {done.seconds:.1f} s")

        try:
            result = seed_scale(
                tenants=options["tenants"],
                orders_per_tenant=options["orders_per_tenant"],
                seed=options["seed"],
                months=options["months"],
                prefix=options["prefix"],
                energy=options["energy"],
                jobs=options["jobs"],
                progress=progress if options["verbosity"] > 0 else None,
            )
        except ScaleError as error:
            raise CommandError(str(error)) from error
        analyzed = statistics_refresh()
        if options["verbosity"] == 0:
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Made {len(result.tenants)} tenants in {result.seconds:.1f} s "
                f"({sum(t.orders for t in result.tenants):,} orders)."
            )
        )
        for label, count in sorted(result.counts.items()):
            self.stdout.write(f"  {label:<36} {count:>10,}")
        self.stdout.write(
            f"Log in as {' or '.join(result.logins)} (password {SCALE_PASSWORD}); "
            "every tenant has owner@, manager@, operator1@ and viewer@<slug>.test."
        )
        if not analyzed:
            self.stdout.write(
                self.style.WARNING(
                    "Planner statistics are stale until autovacuum's next pass: run ANALYZE "
                    "as the tables' owner now (this role owns none of them)."
                )
            )
