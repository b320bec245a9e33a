"""The audit log page: owners only, their tenant only, filters (htmx swaps the table, a plain
GET works too), keyset pages, the changes as "was → now", and a fixed number of queries."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mfapp.tenancy.models import Membership
from tests.audit.conftest import T0, event_at, newest_first
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    OrderFactory,
    SiteFactory,
    TenantFactory,
    batch_with_operations,
    machine_for,
    product_with_routing,
)

pytestmark = pytest.mark.django_db
LIST = reverse("audit:event-list")
Role = Membership.Role


def _login(client, tenant, role=Role.OWNER):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _ids(response) -> list[int]:
    """The event ids in the table, top to bottom."""
    return [int(pk) for pk in re.findall(r'<tr id="event-(\d+)">', response.content.decode())]


def _link(response, rel: str) -> str | None:
    """The page link's URL (the page's links are relative: "?before=…")."""
    found = re.search(rf'rel="{rel}" href="([^"]+)"', response.content.decode())
    return LIST + html.unescape(found.group(1)) if found else None


# --- who may read it --------------------------------------------------------------------------
def test_an_owner_sees_their_tenants_events_newest_first(client, tenant, other_tenant):
    _login(client, tenant)
    old = event_at(tenant, T0, target_repr="SO-OLD")
    new = event_at(tenant, T0 + timedelta(hours=1), target_repr="SO-NEW")
    event_at(other_tenant, T0 + timedelta(minutes=30), target_repr="SO-FOREIGN")

    response = client.get(LIST)

    assert response.status_code == 200
    assert _ids(response) == [new.pk, old.pk]
    assert "SO-FOREIGN" not in response.content.decode()
    assert "<html" in response.content.decode()
    assert 'aria-current="page">Audit log</a>' in response.content.decode()


def test_another_tenants_events_never_appear_whatever_the_filters(client, tenant, other_tenant):
    _login(client, tenant)
    foreign = event_at(other_tenant, T0, target_repr="Globex order", verb="order.created")

    queries = [
        {"q": "Globex"},
        {"verb": "order.created"},
        {"target_type": "tenancy.tenant", "target_id": foreign.target_id},
        {"actor": "system"},
        {"before": f"{10**17}_{10**9}"},
        {"after": "0_1"},
    ]
    for query in queries:
        response = client.get(LIST, query)
        assert response.status_code == 200, query
        assert _ids(response) == [], query


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.VIEWER])
def test_other_roles_are_refused(client, tenant, role):
    _login(client, tenant, role)
    event_at(tenant, T0)

    assert client.get(LIST).status_code == 403
    assert client.get(LIST, headers={"HX-Request": "true"}).status_code == 403


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.VIEWER])
def test_only_owners_find_the_link(client, tenant, role):
    _login(client, tenant, role)

    response = client.get(reverse("tenancy:member-list"))

    assert LIST not in response.content.decode()


def test_an_owner_finds_the_link_in_the_settings(client, tenant):
    _login(client, tenant)

    response = client.get(reverse("tenancy:member-list"))

    assert f'href="{LIST}"' in response.content.decode()


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_owner_of_two_businesses_sees_the_active_one_only(client, tenant):
    owner = _login(client, tenant)
    second = TenantFactory()
    MembershipFactory(tenant=second, user=owner, role=Role.OWNER)
    mine = event_at(tenant, T0)
    event_at(second, T0)

    assert _ids(client.get(LIST)) == [mine.pk]


# --- what a row says ----------------------------------------------------------------------------
def test_a_row_shows_when_in_the_tenants_time_zone_who_what_and_the_changes(client):
    tenant = TenantFactory(timezone="America/New_York")
    _login(client, tenant)
    order = OrderFactory(tenant=tenant, number="SO-7")
    event_at(
        tenant,
        T0,  # 12:00 UTC = 07:00 in New York
        actor_label="alice@example.com",
        verb="order.status_changed",
        target_type="orders.order",
        target_id=order.pk,
        target_repr="SO-7",
        before={"status": "draft", "priority": 2},
        after={"status": "confirmed", "priority": 2, "confirmed_at": "2026-01-10T12:00:00+00:00"},
        message="Confirmed by phone",
    )

    page = client.get(LIST).content.decode()

    assert "10 Jan 2026 07:00:00" in page
    assert "times in America/New_York" in page
    assert "alice@example.com" in page
    assert '<span class="verb">Status changed</span>' in page
    assert f'<a href="{reverse("orders:order-detail", args=[order.pk])}">SO-7</a>' in page
    assert "Confirmed by phone" in page
    changes = re.search(r'<ul class="changes">(.*?)</ul>', page, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", changes, re.S)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip() for item in items]
    # Choices by their label; the unchanged priority is left out; a value recorded after the
    # change only has no "was"; a recorded instant reads in the tenant's time zone.
    assert text == ["Status was Draft → now Confirmed", "Confirmed at now 10 Jan 2026 07:00:00"]


def test_a_creation_and_a_deletion_read_as_from_and_to_nothing(client, tenant):
    _login(client, tenant)
    event_at(
        tenant,
        T0,
        verb="membership.deleted",
        target_type="tenancy.membership",
        target_id=9,
        before={"user": "bob", "role": "operator"},
    )
    event_at(
        tenant,
        T0 + timedelta(1),
        verb="api_key.created",
        target_type="tenancy.apikey",
        target_id=3,
        after={"read_only": True},
    )
    event_at(tenant, T0 + timedelta(2), verb="api_key.revoked", target_id=3)

    page = client.get(LIST).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    assert "Read only now Yes" in text
    assert "User was bob Role was Operator" in text  # in the model's field order
    assert "No field values recorded" in text


def test_platform_staff_access_shows_like_any_other_actor(client, tenant):
    _login(client, tenant)
    event_at(tenant, T0, actor_label="platform staff: root", verb="platform.viewed")

    response = client.get(LIST, {"actor": "platform staff: root"})

    assert len(_ids(response)) == 1
    assert '<option value="platform staff: root" selected>' in response.content.decode()


# --- filters ----------------------------------------------------------------------------------
@pytest.fixture
def events(tenant):
    """Five events of `tenant` over two days (Europe/Berlin), oldest first."""
    order = OrderFactory(tenant=tenant, number="SO-42")
    return [
        event_at(
            tenant,
            T0,
            verb="order.created",
            target_type="orders.order",
            target_id=order.pk,
            target_repr="SO-42",
            actor_label="alice@example.com",
        ),
        event_at(
            tenant,
            T0 + timedelta(hours=1),
            verb="order.cancelled",
            target_type="orders.order",
            target_id=order.pk,
            target_repr="SO-42",
            actor_label="bob@example.com",
            message="Customer changed their mind",
        ),
        event_at(
            tenant,
            T0 + timedelta(hours=2),
            verb="machine.status_changed",
            target_type="machines.machine",
            target_id=7,
            target_repr="Prusa 1",
            actor_label="bob@example.com",
        ),
        # 23:30 UTC on the 10th is 00:30 on the 11th in Berlin.
        event_at(
            tenant,
            T0 + timedelta(hours=11, minutes=30),
            verb="site.created",
            target_type="tenancy.site",
            target_id=3,
            target_repr="Kiel",
            actor_label="system",
        ),
        event_at(
            tenant,
            T0 + timedelta(days=1),
            verb="api_key.created",
            target_type="tenancy.apikey",
            target_id=5,
            target_repr="ERP (ab12…)",
            actor_label="api-key:ERP",
        ),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, [4, 3, 2, 1, 0]),
        ({"target_type": "orders.order"}, [1, 0]),
        ({"verb": "cancelled"}, [1]),
        ({"verb": "CREATED"}, [4, 3, 0]),
        ({"actor": "bob@example.com"}, [2, 1]),
        ({"actor": "api-key:ERP"}, [4]),
        ({"q": "prusa"}, [2]),
        ({"q": "changed their mind"}, [1]),  # the note counts too
        ({"date_from": "2026-01-11"}, [4, 3]),  # in the tenant's time zone
        ({"date_to": "2026-01-10"}, [2, 1, 0]),
        ({"date_from": "2026-01-11", "date_to": "2026-01-11"}, [4, 3]),
        ({"target_type": "orders.order", "verb": "created", "actor": "alice@example.com"}, [0]),
        ({"q": "nothing like it"}, []),
    ],
)
def test_filters_narrow_the_log_by_plain_get(client, tenant, events, query, expected):
    _login(client, tenant)

    response = client.get(LIST, query)

    assert response.status_code == 200
    assert _ids(response) == [events[i].pk for i in expected]


def test_an_objects_history(client, tenant, events):
    _login(client, tenant)
    order_id = events[0].target_id

    response = client.get(LIST, {"target_type": "orders.order", "target_id": order_id})

    assert _ids(response) == [events[1].pk, events[0].pk]
    assert "History of Order SO-42" in response.content.decode()
    assert f'name="target_id" value="{order_id}"' in response.content.decode()


def test_an_owner_reaches_the_history_from_the_order_page(client, tenant, events):
    _login(client, tenant)
    order_id = events[0].target_id

    page = client.get(reverse("orders:order-detail", args=[order_id])).content.decode()

    assert f'href="{LIST}?target_type=orders.order&amp;target_id={order_id}">History</a>' in page


@pytest.mark.parametrize(
    ("target_type", "build", "url_name"),
    [
        ("production.batch", lambda t: batch_with_operations(t), "production:batch-detail"),
        (
            "machines.machine",
            lambda t: machine_for(SiteFactory(tenant=t)),
            "machines:machine-detail",
        ),
        ("catalog.product", lambda t: product_with_routing(t), "catalog:product-detail"),
    ],
)
def test_batch_machine_and_product_pages_link_to_their_history(
    client, tenant, target_type, build, url_name
):
    _login(client, tenant)
    obj = build(tenant)

    page = client.get(reverse(url_name, args=[obj.pk])).content.decode()

    assert f'href="{LIST}?target_type={target_type}&amp;target_id={obj.pk}">History</a>' in page


def test_a_manager_finds_no_history_link_on_the_order_page(client, tenant, events):
    _login(client, tenant, Role.MANAGER)

    page = client.get(reverse("orders:order-detail", args=[events[0].target_id])).content.decode()

    assert LIST not in page


def test_htmx_gets_only_the_table(client, tenant, events):
    _login(client, tenant)

    response = client.get(LIST, {"verb": "cancelled"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="audit-events"')
    assert "<html" not in body
    assert _ids(response) == [events[1].pk]


def test_the_filter_form_asks_htmx_to_swap_the_table(client, tenant):
    _login(client, tenant)

    page = client.get(LIST).content.decode()

    assert 'hx-get="/settings/audit/"' in page
    assert 'hx-target="#audit-events"' in page
    assert 'hx-push-url="true"' in page


def test_the_actor_menu_lists_members_keys_and_the_system(client, tenant):
    owner = _login(client, tenant)
    ApiKeyFactory(tenant=tenant, name="ERP")

    page = client.get(LIST).content.decode()

    assert f'<option value="{owner.username}">' in page
    assert '<option value="api-key:ERP">API key ERP</option>' in page
    assert '<option value="system">' in page


def test_an_invalid_filter_is_shown_and_left_out(client, tenant, events):
    _login(client, tenant)

    response = client.get(LIST, {"date_from": "yesterday", "verb": "cancelled"})

    assert response.status_code == 400
    assert "From (Enter a valid date.)" in response.content.decode()
    assert _ids(response) == [events[1].pk]  # the valid filters still apply


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_dates_out_of_range_are_refused_not_crashed_on(client, tenant, events, day):
    _login(client, tenant)

    response = client.get(LIST, {"date_from": day, "date_to": day})

    assert response.status_code == 400
    assert len(_ids(response)) == 5


def test_a_range_that_ends_before_it_starts_is_refused(client, tenant, events):
    _login(client, tenant)

    response = client.get(LIST, {"date_from": "2026-01-11", "date_to": "2026-01-01"})

    assert response.status_code == 400
    assert "To must be on or after From." in response.content.decode()
    assert _ids(response) == [events[4].pk, events[3].pk]  # From alone still applies


# --- pages ------------------------------------------------------------------------------------
def test_pages_by_keyset_have_no_gap_and_no_duplicate(client, tenant):
    _login(client, tenant)
    for n in range(120):  # 24 instants of 5 events each: page edges fall inside ties
        event_at(tenant, T0 + timedelta(seconds=n // 5))
    event_at(TenantFactory(), T0)

    seen, response, url = [], client.get(LIST), LIST
    pages = 0
    while True:
        pages += 1
        assert response.status_code == 200
        seen += _ids(response)
        url = _link(response, "next")
        if url is None:
            break
        response = client.get(url, headers={"HX-Request": "true"})

    assert pages == 3
    assert seen == newest_first(tenant)
    assert len(set(seen)) == 120

    back = []
    while (url := _link(response, "prev")) is not None:
        response = client.get(url)
        back = _ids(response) + back
    assert back == seen[:100]


def test_pages_keep_the_filters(client, tenant):
    _login(client, tenant)
    for n in range(60):
        event_at(tenant, T0 + timedelta(seconds=n), verb="order.created")
    for n in range(5):
        event_at(tenant, T0 + timedelta(seconds=n), verb="site.created")

    first = client.get(LIST, {"verb": "order"})
    older = _link(first, "next")
    second = client.get(older)

    assert "verb=order" in older
    assert len(_ids(first)) == 50
    assert len(_ids(second)) == 10
    assert 'href="?verb=order" hx-get="?verb=order"' in second.content.decode()  # Newest


def test_the_list_runs_a_fixed_number_of_queries(client, tenant, django_assert_max_num_queries):
    _login(client, tenant)
    event_at(tenant, T0)

    def queries(url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = queries(LIST)
    for n in range(80):
        event_at(tenant, T0 + timedelta(seconds=n), target_type="orders.order", before={"a": 1})
    ApiKeyFactory(tenant=tenant)
    MembershipFactory(tenant=tenant)

    with django_assert_max_num_queries(small):
        response = client.get(LIST)
    with django_assert_max_num_queries(small + 1):  # + whether newer pages exist
        client.get(_link(response, "next"))
    assert small <= 10
