from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from mfapp.dashboard.selectors import (
    MachineFigures,
    batch_figures,
    latest_co2e_per_unit,
    machine_figures,
    machines_today,
    order_figures,
)
from mfapp.machines.models import Machine
from mfapp.orders.models import Order
from mfapp.production.models import BatchOperation
from tests.dashboard.conftest import EIGHT_HOURS, NOW, berlin, build_noise, operation, order
from tests.factories import MachineFactory, SiteFactory

pytestmark = pytest.mark.django_db


def _utilisation(sites):
    return {
        row.machine.name: (row.busy_minutes, row.available_minutes, row.utilisation_percent)
        for entry in sites
        for row in entry.machines
    }


def test_order_figures_of_the_hand_built_week(scenario, other_tenant):
    build_noise(other_tenant)

    figures = order_figures(tenant=scenario.site.tenant, now=NOW)

    assert (figures.today, figures.week_start, figures.week_end) == (
        date(2025, 6, 11),
        date(2025, 6, 9),
        date(2025, 6, 15),
    )
    assert (figures.due_this_week, figures.late) == (3, 2)
    assert (figures.shipped_recently, figures.shipped_on_time, figures.on_time_percent) == (
        4,
        3,
        75,
    )


def test_on_time_uses_each_sites_own_time_zone(tenant):
    # given two shipments at 03:00 UTC on 6 June, each due on 5 June
    new_york = SiteFactory(tenant=tenant, name="New York", timezone="America/New_York")
    tokyo = SiteFactory(tenant=tenant, name="Tokyo", timezone="Asia/Tokyo")
    shipped_at = datetime(2025, 6, 6, 3, 0, tzinfo=ZoneInfo("UTC"))
    order(new_york, date(2025, 6, 5), Order.Status.SHIPPED, shipped_at=shipped_at)  # 23:00 on 5th
    order(tokyo, date(2025, 6, 5), Order.Status.SHIPPED, shipped_at=shipped_at)  # 12:00 on 6th

    figures = order_figures(tenant=tenant, now=NOW)

    assert (figures.shipped_recently, figures.shipped_on_time, figures.on_time_percent) == (
        2,
        1,
        50,
    )


def test_late_is_by_the_day_at_each_orders_site(tenant):
    # given 23:30 UTC on 10 June: already the 11th in Berlin and Auckland, still the 10th in LA
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    now = datetime(2025, 6, 10, 23, 30, tzinfo=ZoneInfo("UTC"))
    for name, zone in [
        ("Berlin", "Europe/Berlin"),
        ("LA", "America/Los_Angeles"),
        ("Auckland", "Pacific/Auckland"),
    ]:
        site = SiteFactory(tenant=tenant, name=name, timezone=zone)
        order(site, date(2025, 6, 10), Order.Status.CONFIRMED)

    figures = order_figures(tenant=tenant, now=now)

    assert (figures.today, figures.late, figures.due_this_week) == (date(2025, 6, 11), 2, 3)


def test_no_shipments_give_no_percentage(tenant):
    order(SiteFactory(tenant=tenant), date(2025, 6, 12), Order.Status.CONFIRMED)

    figures = order_figures(tenant=tenant, now=NOW)

    assert (figures.shipped_recently, figures.on_time_percent, figures.due_this_week) == (
        0,
        None,
        1,
    )


def test_a_tenant_without_sites_has_zero_figures(tenant):
    figures = order_figures(tenant=tenant, now=NOW)

    assert (figures.due_this_week, figures.late, figures.shipped_recently) == (0, 0, 0)
    assert machines_today(tenant=tenant, now=NOW) == []


def test_batch_figures(scenario, other_tenant):
    build_noise(other_tenant)

    figures = batch_figures(tenant=scenario.site.tenant)

    assert (figures.in_progress, figures.quality_check) == (3, 1)


def test_utilisation_today_per_machine(scenario, other_tenant):
    build_noise(other_tenant)

    sites = machines_today(tenant=scenario.site.tenant, now=NOW)

    assert [entry.site for entry in sites] == [scenario.site]
    assert _utilisation(sites) == {
        "Bambu X": (720, 1440, 50),  # unattended: 00:00 to noon of 24 h
        "Mill": (75, 480, 16),
        "Prusa A": (120, 480, 25),  # 09:00-11:00 of 08:00-16:00
    }
    assert sites[0].status_counts == [
        ("available", "Available", 1),
        ("running", "Running", 1),
        ("down", "Down", 1),
    ]
    assert machine_figures(sites) == MachineFigures(total=3, running=1, down=1, maintenance=0)


def test_utilisation_on_a_closed_day_and_in_the_sites_time_zone(tenant):
    # given a site in New York open Monday to Friday 08:00-16:00 local time, on a Sunday
    site = SiteFactory(tenant=tenant, name="New York", timezone="America/New_York")
    site.working_hours = {"mon": [["08:00", "16:00"]], "sun": []}
    site.save()
    MachineFactory(tenant=tenant, site=site, name="Laser")
    unattended = MachineFactory(tenant=tenant, site=site, name="Printer", runs_unattended=True)
    new_york = ZoneInfo("America/New_York")
    # Sunday 8 June 23:00 in New York is Monday 05:00 in Berlin; Monday in New York is still ahead.
    sunday_night = datetime(2025, 6, 8, 23, 0, tzinfo=new_york)
    operation(
        site,
        unattended,
        planned_start=datetime(2025, 6, 8, 20, 0, tzinfo=new_york),
        planned_end=datetime(2025, 6, 9, 2, 0, tzinfo=new_york),
    )

    sites = machines_today(tenant=tenant, now=sunday_night)

    assert _utilisation(sites) == {"Laser": (0, 0, None), "Printer": (240, 1440, 17)}


def test_utilisation_counts_overlapping_operations_once_and_ignores_cancelled_batches(tenant):
    site = SiteFactory(tenant=tenant, timezone="Europe/Berlin")
    site.working_hours = {"wed": [["08:00", "12:00"], ["13:00", "17:00"]]}
    site.save()
    machine = MachineFactory(tenant=tenant, site=site, name="Router")
    operation(site, machine, planned_start=berlin(11, 9), planned_end=berlin(11, 13, 30))
    operation(  # done, so not a booking (two bookings of one machine can't overlap)
        site,
        machine,
        status=BatchOperation.Status.DONE,
        actual_start=berlin(11, 10),
        actual_end=berlin(11, 11),
    )
    operation(
        site,
        machine,
        batch_status="cancelled",
        planned_start=berlin(11, 14),
        planned_end=berlin(11, 16),
    )
    operation(site, machine, status=BatchOperation.Status.PENDING)  # not planned yet

    sites = machines_today(tenant=tenant, now=NOW)

    # 09:00-13:30 within 08:00-12:00 and 13:00-17:00: 3 h + 30 min of 8 h.
    assert _utilisation(sites) == {"Router": (210, 480, 44)}


def test_utilisation_on_a_daylight_saving_day(tenant):
    site = SiteFactory(tenant=tenant, timezone="Europe/Berlin")
    machine = MachineFactory(
        tenant=tenant,
        site=site,
        name="Printer",
        runs_unattended=True,
        status=Machine.Status.AVAILABLE,
    )
    berlin_tz = ZoneInfo("Europe/Berlin")
    operation(
        site,
        machine,
        planned_start=datetime(2025, 3, 30, 1, 0, tzinfo=berlin_tz),
        planned_end=datetime(2025, 3, 30, 4, 0, tzinfo=berlin_tz),
    )  # 2 real hours

    sites = machines_today(tenant=tenant, now=datetime(2025, 3, 30, 12, 0, tzinfo=berlin_tz))

    assert _utilisation(sites) == {"Printer": (120, 1380, 9)}


def test_co2e_per_unit_is_absent_until_the_sustainability_app_exists(tenant):
    assert latest_co2e_per_unit(tenant=tenant) is None


def test_utilisation_rounds_halves_up(tenant):
    site = SiteFactory(tenant=tenant, timezone="Europe/Berlin", working_hours=EIGHT_HOURS)
    machine = MachineFactory(tenant=tenant, site=site, name="Printer")
    operation(site, machine, planned_start=berlin(11, 8), planned_end=berlin(11, 9))

    sites = machines_today(tenant=tenant, now=NOW)

    assert _utilisation(sites) == {"Printer": (60, 480, 13)}  # 12.5 %
