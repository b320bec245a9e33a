"""The products pages: list with live search, create, details (edit, delete when allowed)."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from mfapp.catalog.models import Product
from tests.factories import (
    BatchFactory,
    BomLineFactory,
    MaterialFactory,
    MembershipFactory,
    OrderLineFactory,
    ProductFactory,
    audit_count,
    audit_events,
    product_with_routing,
)

pytestmark = pytest.mark.django_db
LIST = reverse("catalog:product-list")
CREATE = reverse("catalog:product-create")
HTMX = {"HX-Request": "true"}


class _Rows(HTMLParser):
    """The text of every cell of every table body row, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._body = 0

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._body += 1
        elif tag == "tr" and self._body:
            self.rows.append([])
        elif tag in ("td", "th") and self._body:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._body -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(html)
    return parser.rows


ERROR_LIST = re.compile(
    r'<ul class="errorlist(?: nonfield)?"(?: id="([^"]+)_error")?>(.*?)</ul>', re.S
)


def form_errors(html: str) -> dict[str, list[str]]:
    """The errors shown in `html`, by the id of their input ("__all__" for the form's own)."""
    return {
        field or "__all__": re.findall(r"<li>(.*?)</li>", items)
        for field, items in ERROR_LIST.findall(html)
    }


def login(client, tenant, role="manager"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _detail(product):
    return reverse("catalog:product-detail", args=[product.pk])


def _product_fields(**overrides):
    fields = {
        "sku": "BRK-1",
        "name": "Wall bracket",
        "design_revision": "B",
        "unit_price": "19.90",
        "unit_mass_kg": "0.150",
        "max_batch_size": "20",
        "description": "Powder-coated.",
        "is_active": "on",
    }
    return {**fields, **overrides}


# --- list ------------------------------------------------------------------------------------
def test_anonymous_visitors_are_sent_to_login(client, tenant):
    product = ProductFactory(tenant=tenant)

    responses = [
        client.get(LIST),
        client.get(_detail(product)),
        client.post(CREATE, _product_fields()),
    ]

    assert [r.status_code for r in responses] == [302, 302, 302]
    assert responses[0]["Location"] == f"{reverse('login')}?next={LIST}"
    assert Product.objects.for_tenant(tenant).count() == 1


def test_the_list_shows_the_tenants_products_with_their_recipe(client, tenant, other_tenant):
    login(client, tenant, "viewer")
    product_with_routing(
        tenant, steps=[("fdm-print", "12"), ("inspection", "1")], sku="A-1", name="Hook"
    )
    bare = ProductFactory(tenant=tenant, sku="B-2", name="Clip", is_active=False)
    BomLineFactory(tenant=tenant, product=bare)
    ProductFactory(tenant=other_tenant, sku="X-9", name="Foreign")

    response = client.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert table_rows(html) == [
        ["A-1", "Hook", "A", "12.50 EUR", "2 steps", "none", "Active"],
        ["B-2", "Clip", "A", "12.50 EUR", "No routing yet", "1 material", "Inactive"],
    ]
    assert "2 products." in html
    assert 'hx-trigger="input changed delay:300ms"' in html
    assert "<h1>Products</h1>" in html
    assert "New product" not in html  # a viewer cannot add products


def test_managers_see_the_new_product_button(client, tenant):
    login(client, tenant, "manager")

    html = client.get(LIST).content.decode()

    assert f'<a class="button primary" href="{CREATE}">New product</a>' in html
    assert "No products yet." in html
    assert "Add your first product</a>" in html


def test_search_by_sku_or_name_and_the_htmx_partial(client, tenant):
    login(client, tenant, "operator")
    ProductFactory(tenant=tenant, sku="BRK-1", name="Bracket")
    ProductFactory(tenant=tenant, sku="HK-2", name="Hook with bracket")
    ProductFactory(tenant=tenant, sku="CLP-3", name="Clip")

    full = client.get(LIST, {"q": "brk"})
    partial = client.get(LIST, {"q": "bracket"}, headers=HTMX)
    nothing = client.get(LIST, {"q": "zzz"}, headers=HTMX)

    assert [row[0] for row in table_rows(full.content.decode())] == ["BRK-1"]
    assert 'value="brk"' in full.content.decode()
    html = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith('<section id="product-table"')
    assert [row[0] for row in table_rows(html)] == ["BRK-1", "HK-2"]
    assert "2 products match “bracket”." in html
    assert "No products match “zzz”." in nothing.content.decode()
    assert partial["Vary"] == "HX-Request, Cookie"


def test_the_list_is_paginated(client, tenant):
    login(client, tenant, "viewer")
    for number in range(30):
        ProductFactory(tenant=tenant, sku=f"P-{number:02}")

    first = client.get(LIST)
    second = client.get(LIST, {"page": 2}, headers=HTMX)

    assert [row[0] for row in table_rows(first.content.decode())] == [
        f"P-{n:02}" for n in range(25)
    ]
    assert [row[0] for row in table_rows(second.content.decode())] == [
        f"P-{n:02}" for n in range(25, 30)
    ]
    assert "Page 2 of 2" in second.content.decode()
    assert 'hx-get="/products/?q=&amp;page=1"' in second.content.decode()


def test_the_list_runs_a_fixed_number_of_queries(client, tenant, django_assert_max_num_queries):
    login(client, tenant, "viewer")
    for _ in range(12):
        product = product_with_routing(tenant, steps=[("fdm-print", "1"), ("assembly", "2")])
        BomLineFactory(tenant=tenant, product=product)

    with django_assert_max_num_queries(6):
        response = client.get(LIST)

    assert len(table_rows(response.content.decode())) == 12


# --- create ----------------------------------------------------------------------------------
def test_a_manager_adds_a_product(client, tenant):
    login(client, tenant, "manager")

    response = client.post(CREATE, _product_fields(), follow=True)

    product = Product.objects.for_tenant(tenant).get()
    assert response.redirect_chain == [(_detail(product), 302)]
    assert (
        product.sku,
        product.name,
        product.design_revision,
        product.unit_price,
        product.unit_mass_kg,
        product.max_batch_size,
        product.description,
        product.is_active,
    ) == (
        "BRK-1",
        "Wall bracket",
        "B",
        Decimal("19.90"),
        Decimal("0.150"),
        20,
        "Powder-coated.",
        True,
    )
    assert "Product BRK-1 added. Now add its routing steps and bill of materials." in (
        response.content.decode()
    )


def test_the_create_page_renders_its_form(client, tenant):
    login(client, tenant, "owner")

    response = client.get(CREATE)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>New product</h1>" in html
    assert '<label for="id_unit_price">Unit price (EUR):</label>' in html


def test_invalid_input_is_a_400_and_nothing_is_saved(client, tenant):
    login(client, tenant, "manager")

    response = client.post(CREATE, _product_fields(sku="", unit_price="-1", max_batch_size="0"))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "sku": ["This field is required."],
        "unit_price": ["Ensure this value is greater than or equal to 0."],
        "max_batch_size": ["Ensure this value is greater than or equal to 1."],
    }
    assert 'aria-invalid="true"' in response.content.decode()
    assert Product.objects.for_tenant(tenant).count() == 0


def test_a_duplicate_sku_is_refused_by_the_service(client, tenant, other_tenant):
    login(client, tenant, "manager")
    ProductFactory(tenant=tenant, sku="BRK-1")
    ProductFactory(tenant=other_tenant, sku="HK-2")

    refused = client.post(CREATE, _product_fields(sku="BRK-1"))
    accepted = client.post(CREATE, _product_fields(sku="HK-2"))  # another tenant's SKU is free

    assert refused.status_code == 400
    assert refused.context["form"].errors == {"sku": ["A product with this SKU exists already."]}
    assert accepted.status_code == 302
    assert sorted(Product.objects.for_tenant(tenant).values_list("sku", flat=True)) == [
        "BRK-1",
        "HK-2",
    ]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_add_products(client, tenant, role):
    login(client, tenant, role)

    responses = [client.get(CREATE), client.post(CREATE, _product_fields())]

    assert [r.status_code for r in responses] == [403, 403]
    assert Product.objects.for_tenant(tenant).count() == 0


# --- detail ----------------------------------------------------------------------------------
def test_the_detail_page_for_a_viewer_has_no_edit_controls(client, tenant):
    login(client, tenant, "viewer")
    product = product_with_routing(
        tenant, steps=[("fdm-print", "12.5"), ("inspection", "1")], sku="A-1", name="Hook"
    )
    BomLineFactory(
        tenant=tenant,
        product=product,
        material=MaterialFactory(tenant=tenant, code="PLA", name="PLA black"),
        quantity_per_unit=Decimal("0.12"),
        scrap_allowance_percent=Decimal("5"),
    )

    response = client.get(_detail(product))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>A-1 · Hook</h1>" in html
    assert table_rows(html) == [
        ["10", "FDM printing (1)", "FDM printing", "5", "12.50", "none"],
        ["20", "Inspection (2)", "Inspection", "5", "1", "none"],
        ["PLA black PLA", "0.12 kg", "5 %"],
    ]
    for control in ("Edit details", "Add a step", "Add a material", "Remove", "Delete A-1"):
        assert control not in html
    assert "<dt>Maximum batch size</dt><dd>no limit</dd>" in html


def test_the_detail_page_for_a_manager_has_inline_controls(client, tenant):
    login(client, tenant, "manager")
    product = product_with_routing(tenant, steps=[("fdm-print", "12"), ("inspection", "1")])
    first, last = product.routing_steps.order_by("sequence")

    response = client.get(_detail(product))

    html = response.content.decode()
    assert [row[-1] for row in table_rows(html)] == [
        f"Down: move {first.name} later Edit {first.name} Remove {first.name}",
        f"Up: move {last.name} earlier Edit {last.name} Remove {last.name}",
    ]
    assert 'hx-confirm="Remove step 20 (Inspection (2)) from the routing?"' in html
    assert "Edit details" in html
    assert f"Delete {product.sku}…" in html
    assert "No materials yet. Add what one unit is made of below" in html


def test_the_detail_page_runs_a_fixed_number_of_queries(
    client, tenant, django_assert_max_num_queries
):
    login(client, tenant, "manager")
    product = product_with_routing(tenant, steps=[("fdm-print", "1")] * 8)
    for _ in range(6):
        BomLineFactory(tenant=tenant, product=product)

    with django_assert_max_num_queries(12):
        response = client.get(_detail(product))

    assert len(table_rows(response.content.decode())) == 14


def test_a_manager_edits_the_details(client, tenant):
    login(client, tenant, "manager")
    product = ProductFactory(tenant=tenant, sku="OLD", name="Old")

    response = client.post(
        reverse("catalog:product-update", args=[product.pk]),
        _product_fields(sku="NEW", is_active=""),
        follow=True,
    )

    product.refresh_from_db()
    assert response.redirect_chain == [(_detail(product), 302)]
    assert (product.sku, product.name, product.is_active) == ("NEW", "Wall bracket", False)
    assert "Product details saved." in response.content.decode()


def test_only_changed_details_are_saved_and_audited(client, tenant):
    login(client, tenant, "manager")
    product = ProductFactory(tenant=tenant, sku="OLD", name="Same", unit_price=Decimal("12.50"))
    unchanged = {
        "sku": "OLD",
        "name": "Same",
        "design_revision": "A",
        "unit_price": "12.5",
        "unit_mass_kg": "0.120",
        "max_batch_size": "",
        "description": "",
        "is_active": "on",
    }

    client.post(reverse("catalog:product-update", args=[product.pk]), {**unchanged, "sku": "NEW"})

    [event] = audit_events(tenant, verb="product.updated", target=product)
    assert (event.before, event.after) == ({"sku": "OLD"}, {"sku": "NEW"})


def test_invalid_details_are_a_400_on_the_page_and_nothing_changes(client, tenant):
    login(client, tenant, "manager")
    product = ProductFactory(tenant=tenant, sku="OLD", name="Old")

    response = client.post(
        reverse("catalog:product-update", args=[product.pk]), _product_fields(name="")
    )

    assert response.status_code == 400
    assert response.context["product_form"].errors == {"name": ["This field is required."]}
    assert '<details class="disclosure" open>' in response.content.decode()
    product.refresh_from_db()
    assert (product.sku, product.name) == ("OLD", "Old")


def test_an_unused_product_is_deleted(client, tenant):
    login(client, tenant, "owner")
    product = product_with_routing(tenant, sku="GONE")
    BomLineFactory(tenant=tenant, product=product)

    response = client.post(reverse("catalog:product-delete", args=[product.pk]), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Product GONE deleted." in response.content.decode()
    assert Product.objects.for_tenant(tenant).count() == 0


@pytest.mark.parametrize("used_by", ["order", "batch"])
def test_a_product_ordered_or_made_cannot_be_deleted(client, tenant, used_by):
    login(client, tenant, "manager")
    product = ProductFactory(tenant=tenant, sku="KEEP")
    if used_by == "order":
        OrderLineFactory(tenant=tenant, product=product)
    else:
        BatchFactory(tenant=tenant, product=product)

    page = client.get(_detail(product)).content.decode()
    response = client.post(reverse("catalog:product-delete", args=[product.pk]), follow=True)

    assert "KEEP has been ordered or made, so it stays for traceability" in page
    assert "Delete KEEP permanently" not in page
    assert response.redirect_chain == [(_detail(product), 302)]
    assert (
        "This product is still used by other records; remove or reassign them first. "
        "Mark the product inactive instead."
    ) in response.content.decode()
    assert Product.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_change_or_delete(client, tenant, role):
    login(client, tenant, role)
    product = ProductFactory(tenant=tenant, sku="SAME", name="Same")
    events = audit_count(tenant)

    responses = [
        client.post(reverse("catalog:product-update", args=[product.pk]), _product_fields()),
        client.post(reverse("catalog:product-delete", args=[product.pk])),
    ]

    assert [r.status_code for r in responses] == [403, 403]
    product.refresh_from_db()
    assert (product.sku, product.name) == ("SAME", "Same")
    assert audit_count(tenant) == events


def test_another_tenants_product_is_a_404_and_unchanged(client, tenant, other_tenant):
    login(client, tenant, "owner")
    foreign = ProductFactory(tenant=other_tenant, sku="THEIRS", name="Theirs")

    responses = [
        client.get(_detail(foreign)),
        client.post(reverse("catalog:product-update", args=[foreign.pk]), _product_fields()),
        client.post(reverse("catalog:product-delete", args=[foreign.pk])),
        client.get(reverse("catalog:product-detail", args=[999999])),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    foreign.refresh_from_db()
    assert (foreign.sku, foreign.name) == ("THEIRS", "Theirs")
