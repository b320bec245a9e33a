from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from mfapp.tenancy.models import Site
from mfapp.tenancy.services import api_key_create
from mfapp.tenancy.working_hours import default_working_hours
from tests.factories import (
    MachineFactory,
    MembershipFactory,
    OrderFactory,
    SiteFactory,
    UserFactory,
    audit_count,
    audit_events,
)

LIST = reverse("api:site-list")
INVALID = "Some fields are invalid."


def _detail(site_or_id):
    return reverse("api:site-detail", args=[getattr(site_or_id, "pk", site_or_id)])


def _iso(value):
    return value.isoformat().replace("+00:00", "Z")


def _decimal(value, places=6):
    return None if value is None else f"{value:.{places}f}"


def _json(site):
    site.refresh_from_db()
    return {
        "id": site.pk,
        "name": site.name,
        "address": site.address,
        "country": site.country,
        "latitude": _decimal(site.latitude),
        "longitude": _decimal(site.longitude),
        "timezone": site.timezone,
        "working_hours": site.working_hours,
        "created_at": _iso(site.created_at),
        "updated_at": _iso(site.updated_at),
    }


def _key_client(system, read_only=False):
    _, raw = api_key_create(
        actor=system, name="read" if read_only else "write", read_only=read_only
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(system):
    return _key_client(system)


def _member(tenant, role):
    client = APIClient()
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    return client


@pytest.fixture
def manager(tenant):
    return _member(tenant, "manager")


def _state(tenant):
    sites = Site.objects.for_tenant(tenant).order_by("pk").values()
    return [dict(row) for row in sites], audit_count(tenant)


NEW = {
    "name": "Lyon workshop",
    "country": "FR",
    "address": "12 rue de la Soie, 69001 Lyon",
    "latitude": "45.767000",
    "longitude": 4.834,
    "timezone": "Europe/Paris",
    "working_hours": {"mon": [["07:00", "12:00"], ["13:00", "16:00"]], "sat": []},
}


# --- reads ---------------------------------------------------------------------------------------
def test_list_and_retrieve(api, tenant):
    site = SiteFactory(
        tenant=tenant,
        name="Berlin",
        latitude=Decimal("52.520008"),
        longitude=Decimal("13.404954"),
    )

    listed = api.get(LIST)
    retrieved = api.get(_detail(site))

    assert listed.status_code == retrieved.status_code == 200
    assert listed.json() == {"count": 1, "next": None, "previous": None, "results": [_json(site)]}
    assert retrieved.json() == _json(site)
    assert (retrieved.json()["latitude"], retrieved.json()["working_hours"]) == (
        "52.520008",
        default_working_hours(),
    )


def test_a_session_member_reads_their_own_tenants_sites(tenant, other_tenant):
    mine = SiteFactory(tenant=tenant)
    SiteFactory(tenant=other_tenant)

    response = _member(tenant, "viewer").get(LIST)

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_a_login_without_membership_is_403(tenant):
    client = APIClient()
    client.force_login(UserFactory())

    response = client.get(LIST)

    assert response.status_code == 403
    assert response.json() == {
        "message": "Your login is not a member of any business.",
        "extra": {},
    }


# --- create --------------------------------------------------------------------------------------
def test_a_manager_creates_a_site(manager, tenant):
    response = manager.post(LIST, NEW, format="json")

    assert response.status_code == 201
    site = Site.objects.for_tenant(tenant).get(name="Lyon workshop")
    assert response.json() == _json(site)
    assert (site.country, site.latitude, site.longitude, site.timezone) == (
        "FR",
        Decimal("45.767000"),
        Decimal("4.834000"),
        "Europe/Paris",
    )
    assert site.working_hours == {"mon": [["07:00", "12:00"], ["13:00", "16:00"]], "sat": []}
    assert len(audit_events(tenant, verb="site.created", target=site)) == 1


def test_the_tenants_time_zone_and_default_hours_apply(manager, tenant):
    response = manager.post(LIST, {"name": "Annex", "country": "DE"}, format="json")

    assert response.status_code == 201
    assert (response.json()["timezone"], response.json()["working_hours"]) == (
        tenant.timezone,
        default_working_hours(),
    )
    assert (response.json()["latitude"], response.json()["address"]) == (None, "")


BAD_INPUT = {
    "missing": ({"name": None, "country": None}, None),
    "country": (
        {"country": "France"},
        {
            "country": [
                "Use a two-letter ISO 3166 country code in capitals, e.g. DE.",
                "Ensure this field has no more than 2 characters.",
            ]
        },
    ),
    "country-lowercase": (
        {"country": "fr"},
        {"country": ["Use a two-letter ISO 3166 country code in capitals, e.g. DE."]},
    ),
    "latitude": (
        {"latitude": 91},
        {"latitude": ["Ensure this value is less than or equal to 90."]},
    ),
    "longitude-huge": (
        {"longitude": 1e30},
        {"longitude": ["Ensure that there are no more than 9 digits in total."]},
    ),
    "latitude-text": ({"latitude": "north"}, {"latitude": ["A valid number is required."]}),
    "timezone": (
        {"timezone": "Mars/Olympus"},
        {"timezone": ["Unknown time zone 'Mars/Olympus'; use an IANA name like Europe/Berlin."]},
    ),
    "hours-shape": (
        {"working_hours": ["08:00", "17:00"]},
        {"working_hours": ["Working hours must map weekdays (mon..sun) to lists of shifts."]},
    ),
    "hours-backwards": (
        {"working_hours": {"tue": [["17:00", "08:00"]]}},
        {"working_hours": ["tue: shift 17:00-08:00 ends before it starts."]},
    ),
    "name-long": (
        {"name": "x" * 201},
        {"name": ["Ensure this field has no more than 200 characters."]},
    ),
}


@pytest.mark.parametrize(("changes", "fields"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_create_refuses_bad_input(manager, tenant, changes, fields):
    data = {k: v for k, v in {**NEW, **changes}.items() if v is not None}
    before = _state(tenant)

    response = manager.post(LIST, data, format="json")

    fields = fields or {"name": ["This field is required."], "country": ["This field is required."]}
    assert response.status_code == 400
    assert response.json() == {"message": INVALID, "extra": {"fields": fields}}
    assert _state(tenant) == before


def test_site_names_are_unique_per_tenant(manager, tenant, other_tenant):
    SiteFactory(tenant=tenant, name="Lyon workshop")
    SiteFactory(tenant=other_tenant, name="Lyon workshop")
    before = _state(tenant)

    response = manager.post(LIST, NEW, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "name: A site with this name exists already.",
        "extra": {"fields": {"name": ["A site with this name exists already."]}},
    }
    assert _state(tenant) == before


# --- update and delete ---------------------------------------------------------------------------
def test_patch_a_site(manager, tenant):
    site = SiteFactory(tenant=tenant, name="Old", timezone="Europe/Berlin")

    response = manager.patch(
        _detail(site), {"name": "Main", "timezone": "Europe/Vienna", "latitude": "48.2"}, "json"
    )

    assert response.status_code == 200
    assert response.json() == _json(site)
    assert (site.name, site.timezone, site.latitude) == ("Main", "Europe/Vienna", Decimal("48.2"))
    [event] = audit_events(tenant, verb="site.updated", target=site)
    assert (event.before, event.after) == (
        {"name": "Old", "timezone": "Europe/Berlin", "latitude": None},
        {"name": "Main", "timezone": "Europe/Vienna", "latitude": "48.200000"},
    )


def test_patch_refuses_bad_values(manager, tenant):
    site = SiteFactory(tenant=tenant)
    before = _state(tenant)

    response = manager.patch(_detail(site), {"working_hours": {"someday": []}}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": INVALID,
        "extra": {"fields": {"working_hours": ["Unknown weekday(s): someday. Use mon..sun."]}},
    }
    assert _state(tenant) == before


def test_delete_an_unused_site(manager, tenant):
    site, kept = SiteFactory(tenant=tenant), SiteFactory(tenant=tenant)

    response = manager.delete(_detail(site))

    assert response.status_code == 204
    assert [s.pk for s in Site.objects.for_tenant(tenant)] == [kept.pk]
    assert [e.target_id for e in audit_events(tenant, verb="site.deleted")] == [site.pk]


@pytest.mark.parametrize("user", ["machine", "order"])
def test_a_site_in_use_cannot_be_deleted(manager, tenant, user):
    site = SiteFactory(tenant=tenant)
    if user == "machine":
        MachineFactory(tenant=tenant, site=site)
    else:
        OrderFactory(tenant=tenant, site=site)
    before = _state(tenant)

    response = manager.delete(_detail(site))

    assert response.status_code == 409
    assert response.json() == {
        "message": "This site is still used by other records; remove or reassign them first.",
        "extra": {},
    }
    assert _state(tenant) == before


# --- who may do what -----------------------------------------------------------------------------
def _writes(tenant):
    site = SiteFactory(tenant=tenant)
    return {
        "create": lambda c: c.post(LIST, NEW, format="json"),
        "patch": lambda c: c.patch(_detail(site), {"name": "Renamed"}, format="json"),
        "delete": lambda c: c.delete(_detail(site)),
    }


@pytest.mark.parametrize("write", ["create", "patch", "delete"])
@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("read-only-key", "This API key is read-only."),
        ("key", "Your role (integration) does not allow this action (sites.manage)."),
        ("viewer", "Your role (viewer) does not allow this action (sites.manage)."),
        ("operator", "Your role (operator) does not allow this action (sites.manage)."),
    ],
)
def test_who_may_not_manage_sites(tenant, system, write, who, message):
    call = _writes(tenant)[write]
    if who.endswith("key"):
        client = _key_client(system, read_only=who == "read-only-key")
    else:
        client = _member(tenant, who)
    before = _state(tenant)

    response = call(client)

    assert response.status_code == 403
    assert response.json() == {"message": message, "extra": {}}
    assert _state(tenant) == before
    assert client.get(LIST).json()["count"] == 1


@pytest.mark.parametrize("write", ["create", "patch", "delete"])
def test_an_owner_may_manage_sites(tenant, write):
    call = _writes(tenant)[write]

    response = call(_member(tenant, "owner"))

    assert response.status_code == {"create": 201, "patch": 200, "delete": 204}[write]


@pytest.mark.parametrize("call", ["get", "patch", "delete"])
def test_another_tenants_site_is_404(manager, tenant, other_tenant, call):
    foreign = SiteFactory(tenant=other_tenant)
    before, theirs = _state(tenant), _state(other_tenant)
    requests = {
        "get": lambda: manager.get(_detail(foreign)),
        "patch": lambda: manager.patch(_detail(foreign), {"name": "Hijacked"}, format="json"),
        "delete": lambda: manager.delete(_detail(foreign)),
    }

    response = requests[call]()
    missing = manager.get(_detail(foreign.pk + 1000))

    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json() == {"message": "Site not found.", "extra": {}}
    assert (_state(tenant), _state(other_tenant)) == (before, theirs)


# --- filters -------------------------------------------------------------------------------------
def _ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def sites(tenant, other_tenant):
    made = {
        "berlin": SiteFactory(tenant=tenant, name="Berlin", country="DE"),
        "lyon": SiteFactory(tenant=tenant, name="Lyon", country="FR"),
        "aachen": SiteFactory(tenant=tenant, name="Aachen", country="DE"),
    }
    SiteFactory(tenant=other_tenant, name="Theirs", country="DE")
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["aachen", "berlin", "lyon"]),
        ({"country": "DE"}, ["aachen", "berlin"]),
        ({"country": "IT"}, []),
        ({"ordering": "-name"}, ["lyon", "berlin", "aachen"]),
        ({"ordering": "country,-name"}, ["berlin", "aachen", "lyon"]),
    ],
)
def test_filter_sites(api, sites, query, expected):
    assert _ids(api.get(LIST, query)) == [sites[name].pk for name in expected]


def test_updated_since(api, tenant, sites):
    for name, day in (("berlin", 1), ("lyon", 3), ("aachen", 2)):
        Site.objects.for_tenant(tenant).filter(pk=sites[name].pk).update(
            updated_at=datetime(2026, 1, day, 12, 0, tzinfo=UTC)
        )

    response = api.get(LIST, {"updated_since": "2026-01-02T12:00:00Z"})
    later = api.get(LIST, {"updated_since": "2026-01-03T12:00:00.000001Z"})

    assert _ids(response) == [sites["aachen"].pk, sites["lyon"].pk]
    assert _ids(later) == []


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_does_not_grow(api, tenant, rows, django_assert_num_queries):
    for i in range(rows):
        SiteFactory(tenant=tenant, name=f"S{i:02}")
    api.get(LIST)  # the key's last_used_at is written on its first use

    # the API key (with its tenant), the count, the page
    with django_assert_num_queries(3):
        response = api.get(LIST, {"page_size": 100})

    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_query_count_does_not_grow_for_a_member(tenant, rows, django_assert_num_queries):
    for i in range(rows):
        SiteFactory(tenant=tenant, name=f"S{i:02}")
    client = _member(tenant, "viewer")

    # session, user, the user's memberships (middleware), the membership (actor), count, page
    with django_assert_num_queries(6):
        response = client.get(LIST, {"page_size": 100})

    assert response.json()["count"] == rows
