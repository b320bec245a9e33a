"""The order list: filters (htmx swaps the table, a plain GET works too), pages, late marker."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mfapp.orders import forms as order_forms
from mfapp.orders.models import Order
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory, SiteFactory

pytestmark = pytest.mark.django_db
LIST = reverse("orders:order-list")
TODAY = timezone.localdate()


def _login(client, tenant, role="manager"):
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)


def _numbers(response) -> list[str]:
    """The order numbers in the table, top to bottom."""
    return re.findall(r'<td data-label="Order"><a href="/orders/\d+/">([^<]+)</a>', response.text)


@pytest.fixture
def orders(tenant):
    """Four orders of `tenant`, oldest first: a late draft, a shipped one past due (not late),
    a confirmed one due soon, and a cancelled one past due (not late)."""
    site = SiteFactory(tenant=tenant, timezone="UTC")
    bikes = CustomerFactory(tenant=tenant, name="Bike Shop")
    cafe = CustomerFactory(tenant=tenant, name="Café Nord")
    return [
        OrderFactory(
            tenant=tenant, site=site, customer=bikes, number="SO-1", due_date=TODAY - timedelta(1)
        ),
        OrderFactory(
            tenant=tenant,
            site=site,
            customer=bikes,
            number="SO-2",
            status=Order.Status.SHIPPED,
            due_date=TODAY - timedelta(5),
        ),
        OrderFactory(
            tenant=tenant,
            site=site,
            customer=cafe,
            number="SO-3",
            status=Order.Status.CONFIRMED,
            due_date=TODAY + timedelta(3),
        ),
        OrderFactory(
            tenant=tenant,
            site=site,
            customer=cafe,
            number="SO-4",
            status=Order.Status.CANCELLED,
            due_date=TODAY - timedelta(2),
        ),
    ]


def test_the_list_shows_every_order_newest_first_with_the_late_marker(
    client, tenant, other_tenant, orders
):
    # given
    _login(client, tenant)
    OrderFactory(tenant=other_tenant, number="SO-FOREIGN")

    # when
    response = client.get(LIST)

    # then
    assert response.status_code == 200
    assert _numbers(response) == ["SO-4", "SO-3", "SO-2", "SO-1"]
    late = re.findall(
        r'<tr>\s*<td data-label="Order"><a[^>]*>([^<]+)</a>(?:(?!</tr>).)*status-late">Late<',
        response.text,
        re.S,
    )
    assert late == ["SO-1"]  # past due and open; shipped and cancelled ones are never late
    assert '<span class="chip status-confirmed">Confirmed</span>' in response.text
    assert "<html" in response.text
    assert 'href="/orders/new/"' in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "confirmed"}, ["SO-3"]),
        ({"customer": "bikes"}, ["SO-2", "SO-1"]),
        ({"due_from": str(TODAY - timedelta(2)), "due_to": str(TODAY)}, ["SO-4", "SO-1"]),
        ({"due_from": str(TODAY)}, ["SO-3"]),
        ({"q": "so-3"}, ["SO-3"]),
        ({"q": "café"}, ["SO-4", "SO-3"]),
        ({"q": "nothing like it"}, []),
        ({"status": "draft", "customer": "bikes", "q": "SO"}, ["SO-1"]),
        ({"late": "1"}, ["SO-1"]),  # open and past due; shipped and cancelled ones are not late
        ({"late": "", "q": "SO"}, ["SO-4", "SO-3", "SO-2", "SO-1"]),
    ],
)
def test_filters_narrow_the_list_by_plain_get(client, tenant, orders, query, expected):
    _login(client, tenant)
    if query.get("customer") == "bikes":
        query = {**query, "customer": orders[0].customer_id}

    response = client.get(LIST, query)

    assert response.status_code == 200
    assert _numbers(response) == expected


def test_htmx_gets_only_the_table(client, tenant, orders):
    _login(client, tenant)

    response = client.get(LIST, {"status": "draft"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<section id="orders"')
    assert _numbers(response) == ["SO-1"]
    assert "Matching orders <small>1</small>" in response.text


def test_no_match_says_so_and_offers_to_clear_the_filters(client, tenant, orders):
    _login(client, tenant)

    response = client.get(LIST, {"q": "zzz"})

    assert "No orders match these filters." in response.text
    assert "Clear the filters" in response.text


def test_an_invalid_filter_is_a_400_shown_and_not_applied(client, tenant, orders):
    _login(client, tenant)

    response = client.get(LIST, {"due_from": "yesterday", "status": "draft"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"due_from": ["Enter a valid date."]}
    assert _numbers(response) == ["SO-1"]  # the valid status filter still applies


def test_another_tenants_customer_is_not_a_filter_choice(client, tenant, other_tenant, orders):
    _login(client, tenant)
    foreign = CustomerFactory(tenant=other_tenant)

    response = client.get(LIST, {"customer": foreign.pk})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "customer": [f"Select a valid choice. {foreign.pk} is not one of the available choices."]
    }


def test_pages_of_25_keep_the_filters(client, tenant):
    _login(client, tenant)
    site = SiteFactory(tenant=tenant)
    for n in range(30):
        OrderFactory(tenant=tenant, site=site, number=f"SO-{n:02}")

    first = client.get(LIST, {"status": "draft"})
    second = client.get(LIST, {"status": "draft", "page": 2})

    assert len(_numbers(first)) == 25
    assert _numbers(second) == [f"SO-{n:02}" for n in range(4, -1, -1)]
    assert 'href="?status=draft&amp;page=2"' in first.text
    assert "Page 2 of 2" in second.text


def test_the_list_takes_a_fixed_number_of_queries(client, tenant, django_assert_max_num_queries):
    _login(client, tenant)
    site = SiteFactory(tenant=tenant)
    for _ in range(20):
        OrderFactory(tenant=tenant, site=site, customer=CustomerFactory(tenant=tenant))

    with django_assert_max_num_queries(10):
        response = client.get(LIST, {"status": "draft"})

    assert len(_numbers(response)) == 20


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_other_roles_read_the_list_without_the_manager_buttons(client, tenant, orders, role):
    _login(client, tenant, role)

    response = client.get(LIST)

    assert response.status_code == 200
    assert len(_numbers(response)) == 4
    assert 'href="/orders/new/"' not in response.text
    assert 'href="/orders/import/"' not in response.text


def test_empty_state_tells_a_manager_what_to_do(client, tenant):
    _login(client, tenant)

    response = client.get(LIST)

    assert "No orders yet." in response.text
    assert '<a href="/orders/new/">Create your first order</a>' in response.text


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={LIST}"


def test_with_many_customers_the_filter_is_the_search_box_and_links_still_filter(
    client, tenant, orders, monkeypatch
):
    _login(client, tenant)
    bikes = orders[0].customer
    page = client.get(LIST).content.decode()
    assert '<select name="customer"' in page  # two customers: a list to pick from

    monkeypatch.setattr(order_forms, "CUSTOMER_SELECT_MAX", 1)
    response = client.get(LIST, {"customer": bikes.pk})

    page = response.content.decode()
    assert '<select name="customer"' not in page
    assert f'<input type="hidden" name="customer" value="{bikes.pk}"' in page
    assert _numbers(response) == ["SO-2", "SO-1"]
