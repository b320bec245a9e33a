"""Sustainability settings and factor overrides: what they store, and the audit trail of every
change (who, before and after)."""

from decimal import Decimal

import pytest

from mfapp.core.exceptions import ApplicationError, PermissionDenied
from mfapp.sustainability.models import FactorOverride, SustainabilitySettings
from mfapp.sustainability.services import factor_override_set, sustainability_settings_update
from mfapp.tenancy.models import Membership
from tests.factories import SiteFactory, audit_count, audit_events, member_actor

pytestmark = pytest.mark.django_db


def test_the_first_change_creates_the_settings_and_records_every_value(tenant):
    owner = member_actor(tenant, Membership.Role.OWNER)

    row = sustainability_settings_update(actor=owner, road_factor="1.45")

    assert SustainabilitySettings.objects.for_tenant(tenant).get() == row
    [event] = audit_events(tenant, verb="sustainability_settings.created", target=row)
    assert (event.actor_label, event.before) == (owner.label, {})
    assert event.after == {
        "baseline_description": "",
        "baseline_legs": [],
        "default_product_mass_kg": "0.500",
        "delivery_mode": "van_diesel",
        "road_factor": "1.45",
    }


def test_a_change_records_the_given_settings_before_and_after(tenant):
    owner = member_actor(tenant, Membership.Role.OWNER)
    row = sustainability_settings_update(actor=owner, road_factor=Decimal("1.30"))

    sustainability_settings_update(
        actor=owner,
        road_factor=Decimal("1.50"),
        baseline_legs=[{"mode": "sea_container", "km": 19000}],
    )

    [event] = audit_events(tenant, verb="sustainability_settings.updated", target=row)
    assert event.before == {"road_factor": "1.30", "baseline_legs": []}
    assert event.after == {
        "road_factor": "1.50",
        "baseline_legs": [{"mode": "sea_container", "km": 19000}],
    }
    row.refresh_from_db()
    assert row.road_factor == Decimal("1.50")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"colour": "green"}, ApplicationError),
        ({"road_factor": Decimal("9")}, Exception),  # full_clean: at most 3
        ({"baseline_legs": "far"}, Exception),
    ],
)
def test_a_refused_change_stores_and_records_nothing(tenant, fields, error):
    owner = member_actor(tenant, Membership.Role.OWNER)
    events = audit_count(tenant)

    with pytest.raises(error):
        sustainability_settings_update(actor=owner, **fields)

    assert audit_count(tenant) == events
    assert not SustainabilitySettings.objects.for_tenant(tenant).exists()


def test_only_owners_change_the_settings(tenant):
    with pytest.raises(PermissionDenied):
        sustainability_settings_update(
            actor=member_actor(tenant, Membership.Role.MANAGER), road_factor="1.4"
        )
    assert audit_count(tenant) == 0


def test_a_new_override_is_recorded_with_its_values(tenant):
    owner = member_actor(tenant, Membership.Role.OWNER)
    site = SiteFactory(tenant=tenant, country="FR")

    override = factor_override_set(
        actor=owner,
        kind=FactorOverride.Kind.GRID_ELECTRICITY,
        value=Decimal("52"),
        unit="gCO2e/kWh",
        source="RTE 2025",
        site=site,
        year=2025,
    )

    [event] = audit_events(tenant, verb="factor_override.created", target=override)
    assert (event.actor_label, event.before) == (owner.label, {})
    assert event.after == {
        "site": site.pk,
        "kind": "grid_electricity",
        "key": "FR",  # filled from the site
        "value": "52",
        "unit": "gCO2e/kWh",
        "year": 2025,
        "source": "RTE 2025",
    }


def test_replacing_an_override_records_before_and_after(tenant):
    owner = member_actor(tenant, Membership.Role.OWNER)
    first = factor_override_set(
        actor=owner,
        kind="material",
        key="pla",
        value=Decimal("2.1"),
        unit="kgCO2e/kg",
        source="Generic",
    )

    second = factor_override_set(
        actor=owner,
        kind="material",
        key="pla",
        value=Decimal("1.8"),
        unit="kgCO2e/kg",
        source="Supplier EPD",
        year=2026,
    )

    assert second.pk == first.pk
    assert FactorOverride.objects.for_tenant(tenant).count() == 1
    [event] = audit_events(tenant, verb="factor_override.updated", target=second)
    changed = {k for k in event.after if event.before.get(k) != event.after[k]}
    assert changed == {"value", "source", "year"}
    assert (event.before["value"], event.after["value"]) == ("2.100000", "1.8")
