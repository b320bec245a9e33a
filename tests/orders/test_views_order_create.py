"""A new order with its lines: an existing or a new customer, lines added inline, all or
nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from mfapp.core.exceptions import ApplicationError
from mfapp.orders import services
from mfapp.orders.models import Customer, Order, OrderLine
from tests.factories import CustomerFactory, MembershipFactory, ProductFactory, SiteFactory

pytestmark = pytest.mark.django_db
CREATE = reverse("orders:order-create")


def _login(client, tenant, role="manager"):
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)


@pytest.fixture
def shop(tenant):
    return {
        "site": SiteFactory(tenant=tenant, name="Berlin"),
        "customer": CustomerFactory(tenant=tenant, name="Bike Shop"),
        "bracket": ProductFactory(tenant=tenant, sku="BRK-1", unit_price=Decimal("4.20")),
        "hook": ProductFactory(tenant=tenant, sku="HOOK-2", unit_price=Decimal("1.10")),
    }


def _data(shop, lines=(), total=3, **fields):
    """The posted form: the order's facts, then `lines` as (product, quantity[, price])."""
    data = {
        "customer": shop["customer"].pk,
        "site": shop["site"].pk,
        "due_date": "2030-03-31",
        "priority": "3",
        "number": "",
        "notes": "Deliver to the back door",
        "lines-TOTAL_FORMS": str(total),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100",
    }
    for index, line in enumerate(lines):
        product, quantity, *price = line
        data[f"lines-{index}-product"] = product.pk if product else ""
        data[f"lines-{index}-quantity"] = quantity
        data[f"lines-{index}-unit_price"] = price[0] if price else ""
    data.update(fields)
    return data


def _nothing_saved(tenant, customers=1):
    return (
        Order.objects.for_tenant(tenant).count(),
        OrderLine.objects.for_tenant(tenant).count(),
        Customer.objects.for_tenant(tenant).count(),
    ) == (0, 0, customers)


def test_the_page_offers_customers_sites_and_three_empty_lines(client, tenant, shop):
    _login(client, tenant)

    response = client.get(CREATE)

    assert response.status_code == 200
    html = response.text
    assert f'<option value="{shop["customer"].pk}">Bike Shop</option>' in html
    assert f'<option value="{shop["site"].pk}" selected>Berlin</option>' in html  # the only site
    assert f'<option value="{shop["bracket"].pk}">BRK-1 · ' in html
    assert [f"lines-{i}-product" in html for i in range(4)] == [True, True, True, False]
    assert 'name="lines-TOTAL_FORMS" value="3"' in html


def test_create_an_order_for_an_existing_customer_with_two_lines(client, tenant, shop):
    # given
    _login(client, tenant)
    lines = [(shop["bracket"], "25"), (None, ""), (shop["hook"], "10", "0.95")]

    # when
    response = client.post(CREATE, _data(shop, lines, number="SO-77"), follow=True)

    # then
    order = Order.objects.for_tenant(tenant).get()
    assert response.redirect_chain == [(reverse("orders:order-detail", args=[order.pk]), 302)]
    assert (
        order.number,
        order.customer_id,
        order.site_id,
        order.due_date,
        order.priority,
        order.notes,
        order.status,
    ) == (
        "SO-77",
        shop["customer"].pk,
        shop["site"].pk,
        date(2030, 3, 31),
        3,
        "Deliver to the back door",
        "draft",
    )
    assert list(
        order.lines.order_by("id").values_list("product__sku", "quantity", "unit_price")
    ) == [("BRK-1", 25, Decimal("4.20")), ("HOOK-2", 10, Decimal("0.95"))]
    assert "Order SO-77 created as a draft. Confirm it to plan." in response.text


def test_create_an_order_for_a_new_customer(client, tenant, shop):
    _login(client, tenant)
    data = _data(
        shop,
        [(shop["bracket"], "5")],
        customer="",
        new_customer_name="Café Nord",
        new_customer_email="cafe@example.com",
        new_customer_country="fr",
    )

    response = client.post(CREATE, data)

    order = Order.objects.for_tenant(tenant).get()
    assert response.status_code == 302
    customer = order.customer
    assert (customer.name, customer.email, customer.country) == (
        "Café Nord",
        "cafe@example.com",
        "FR",
    )
    assert order.number.startswith("SO-")


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"customer": ""},
            {"customer": ["Choose a customer or enter a new customer's name."]},
        ),
        (
            {"customer": "", "new_customer_name": "Café Nord"},
            {"new_customer_country": ["Enter the new customer's country."]},
        ),
        (
            {"new_customer_name": "Café Nord", "new_customer_country": "FR"},
            {"new_customer_name": ["Choose an existing customer or enter a new one, not both."]},
        ),
        (
            {"customer": "", "new_customer_name": "Café Nord", "new_customer_country": "France"},
            {"new_customer_country": ["Ensure this value has at most 2 characters (it has 6)."]},
        ),
        ({"due_date": ""}, {"due_date": ["This field is required."]}),
        (
            {"priority": "9"},
            {"priority": ["Select a valid choice. 9 is not one of the available choices."]},
        ),
    ],
)
def test_invalid_order_facts_are_a_400_and_nothing_is_saved(client, tenant, shop, fields, errors):
    _login(client, tenant)

    response = client.post(CREATE, _data(shop, [(shop["bracket"], "5")], **fields))

    assert response.status_code == 400
    assert response.context["form"].errors == errors
    assert _nothing_saved(tenant)


def test_invalid_lines_show_their_errors_per_line_and_nothing_is_saved(client, tenant, shop):
    # given: line 1 fine, line 2 without a product, line 3 with quantity 0
    _login(client, tenant)
    lines = [(shop["bracket"], "5"), (None, "3"), (shop["hook"], "0")]

    # when
    response = client.post(CREATE, _data(shop, lines))

    # then
    assert response.status_code == 400
    assert response.context["lines"].errors == [
        {},
        {"product": ["This field is required."]},
        {"quantity": ["Ensure this value is greater than or equal to 1."]},
    ]
    assert 'id="lines-2"' in response.text
    assert _nothing_saved(tenant)


def test_an_order_without_lines_is_refused(client, tenant, shop):
    _login(client, tenant)

    response = client.post(CREATE, _data(shop, []))

    assert response.status_code == 400
    assert response.context["lines"].non_form_errors() == [
        "Add at least one line: a product and a quantity."
    ]
    assert "Add at least one line: a product and a quantity." in response.text
    assert _nothing_saved(tenant)


def test_a_discontinued_or_foreign_product_is_not_a_choice(client, tenant, other_tenant, shop):
    _login(client, tenant)
    old = ProductFactory(tenant=tenant, is_active=False)
    foreign = ProductFactory(tenant=other_tenant)

    response = client.post(CREATE, _data(shop, [(old, "1"), (foreign, "1")]))

    assert response.status_code == 400
    assert response.context["lines"].errors == [
        {"product": [f"Select a valid choice. {old.pk} is not one of the available choices."]},
        {"product": [f"Select a valid choice. {foreign.pk} is not one of the available choices."]},
        {},
    ]
    assert _nothing_saved(tenant)


def test_another_tenants_customer_or_site_is_not_a_choice(client, tenant, other_tenant, shop):
    _login(client, tenant)
    customer = CustomerFactory(tenant=other_tenant)
    site = SiteFactory(tenant=other_tenant)

    response = client.post(
        CREATE, _data(shop, [(shop["bracket"], "1")], customer=customer.pk, site=site.pk)
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "customer": [f"Select a valid choice. {customer.pk} is not one of the available choices."],
        "site": [f"Select a valid choice. {site.pk} is not one of the available choices."],
    }
    assert _nothing_saved(tenant)
    assert Order.objects.for_tenant(other_tenant).count() == 0


def test_a_taken_number_is_refused_by_the_service_and_the_new_customer_is_not_kept(
    client, tenant, shop
):
    # given: SO-1 exists; the form asks for SO-1 again, for a new customer
    _login(client, tenant)
    client.post(CREATE, _data(shop, [(shop["bracket"], "1")], number="SO-1"))
    data = _data(
        shop,
        [(shop["bracket"], "5")],
        number="SO-1",
        customer="",
        new_customer_name="Café Nord",
        new_customer_country="FR",
    )

    # when
    response = client.post(CREATE, data)

    # then
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "number": ["An order with this number exists already."]
    }
    assert list(Order.objects.for_tenant(tenant).values_list("number", flat=True)) == ["SO-1"]
    assert list(Customer.objects.for_tenant(tenant).values_list("name", flat=True)) == ["Bike Shop"]


def test_a_line_the_service_refuses_shows_on_that_line_and_nothing_is_saved(
    client, tenant, shop, monkeypatch
):
    # given: the service refuses the second line (e.g. the product was discontinued meanwhile)
    _login(client, tenant)
    real_line_add = services.order_line_add

    def refuse_hooks(*, actor, order, product_id, **kwargs):
        if product_id == shop["hook"].pk:
            raise ApplicationError("Product HOOK-2 is discontinued; it cannot be ordered.")
        return real_line_add(actor=actor, order=order, product_id=product_id, **kwargs)

    monkeypatch.setattr(services, "order_line_add", refuse_hooks)
    lines = [(shop["bracket"], "5"), (None, ""), (shop["hook"], "2")]

    # when
    response = client.post(CREATE, _data(shop, lines))

    # then
    assert response.status_code == 400
    assert [form.non_field_errors() for form in response.context["lines"]] == [
        [],
        [],
        ["Product HOOK-2 is discontinued; it cannot be ordered."],
    ]
    assert _nothing_saved(tenant)


def test_add_line_with_htmx_returns_one_more_row_and_the_new_total(client, tenant, shop):
    _login(client, tenant)

    response = client.get(
        CREATE, {"add_line": "1", "lines-TOTAL_FORMS": "3"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    html = response.text
    assert "<html" not in html
    assert '<fieldset class="order-line" id="lines-3">' in html
    assert "<legend>Line 4</legend>" in html
    assert 'name="lines-3-product"' in html
    assert (
        '<input type="hidden" name="lines-TOTAL_FORMS" value="4" id="id_lines-TOTAL_FORMS" '
        'hx-swap-oob="true">' in html
    )


def test_add_line_stops_at_100_lines(client, tenant, shop):
    _login(client, tenant)

    response = client.get(
        CREATE, {"add_line": "1", "lines-TOTAL_FORMS": "100"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 204


def test_add_line_without_javascript_keeps_what_was_typed_and_saves_nothing(client, tenant, shop):
    _login(client, tenant)
    data = _data(shop, [(shop["bracket"], "7")], add_line="1", due_date="")

    response = client.post(CREATE, data)

    assert response.status_code == 200
    html = response.text
    assert 'name="lines-TOTAL_FORMS" value="4"' in html
    assert 'name="lines-3-product"' in html
    assert f'<option value="{shop["bracket"].pk}" selected>BRK-1 · ' in html
    assert 'name="lines-0-quantity" value="7"' in html
    assert "This field is required." not in html  # not checked until the order is saved
    assert _nothing_saved(tenant)


def test_without_sites_the_page_says_what_to_do(client, tenant):
    _login(client, tenant)

    response = client.get(CREATE)

    assert response.status_code == 200
    assert "Orders are made and shipped by a site, and this business has none yet." in (
        response.text
    )
    assert 'name="lines-TOTAL_FORMS"' not in response.text


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_other_roles_get_403_and_nothing_is_saved(client, tenant, shop, role):
    _login(client, tenant, role)

    responses = [client.get(CREATE), client.post(CREATE, _data(shop, [(shop["bracket"], "5")]))]

    assert [r.status_code for r in responses] == [403, 403]
    assert _nothing_saved(tenant)


def test_anonymous_people_are_sent_to_log_in(client, tenant, shop):
    response = client.post(CREATE, _data(shop, [(shop["bracket"], "5")]))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={CREATE}"
    assert _nothing_saved(tenant)
