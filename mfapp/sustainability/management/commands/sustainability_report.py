"""Print a tenant's sustainability report: the JSON document (--json), or a short summary."""

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mfapp.core import rls
from mfapp.core.exceptions import ApplicationError
from mfapp.sustainability.services import report_document
from mfapp.tenancy.selectors import site_get, tenant_get_by_slug


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name} must be a date as YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Compute a tenant's sustainability report for a period (end inclusive). --json prints "
        "the document the API and the downloads serve."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--end", required=True, help="Last day (inclusive), YYYY-MM-DD.")
        parser.add_argument("--site", type=int, help="Only this site (its id).")
        parser.add_argument("--json", action="store_true", help="Print the JSON document.")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = _date(options["start"], "start"), _date(options["end"], "end")
        if end < start:
            raise CommandError("--end is before --start.")
        try:
            tenant = tenant_get_by_slug(slug=options["tenant"])
            with rls.tenant_context(tenant.pk):
                site = None
                if options["site"] is not None:
                    site = site_get(tenant=tenant, site_id=options["site"])
                document = report_document(tenant=tenant, start=start, end=end, site=site)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        self._summary(document)

    def _summary(self, document: dict[str, Any]) -> None:
        t = document["totals"]
        where = document["site"]["name"] if document["site"] else "all sites"
        period = document["period"]
        per_unit = t["kgco2e_per_unit"]
        lines = [
            f"{document['tenant']['name']} ({where}), {period['start']} to {period['end']}",
            f"  Energy          {t['energy_kwh']:>14,.3f} kWh "
            f"({document['data_quality']['energy_measured_share']:.0%} measured)",
            f"  Scope 2 (loc.)  {t['scope2_location_kgco2e']:>14,.3f} kgCO2e",
            f"  Scope 2 (mkt.)  {t['scope2_market_kgco2e']:>14,.3f} kgCO2e",
            f"  Materials       {t['materials_kgco2e']:>14,.3f} kgCO2e",
            f"  Transport       {t['transport_kgco2e']:>14,.3f} kgCO2e",
            f"  Total           {t['total_kgco2e']:>14,.3f} kgCO2e",
            f"  Avoided (sep.)  {t['avoided_transport_kgco2e']:>14,.3f} kgCO2e",
            f"  Units           {t['units_good']:>14,} good, {t['units_scrap']:,} scrapped",
            "  Per unit        "
            + (f"{per_unit:>14,.3f} kgCO2e" if per_unit is not None else "             -"),
        ]
        self.stdout.write("\n".join(lines))
