"""The materials page: stock on hand against the planned need, materials added and stock
adjusted inline."""

from decimal import Decimal

import pytest
from django.urls import reverse

from mfapp.catalog.models import Material
from tests.catalog.test_views_products import form_errors, login, table_rows
from tests.factories import (
    BatchFactory,
    BomLineFactory,
    MaterialFactory,
    ProductFactory,
    audit_count,
    audit_events,
)

pytestmark = pytest.mark.django_db
LIST = reverse("catalog:material-list")
CREATE = reverse("catalog:material-create")
HTMX = {"HX-Request": "true"}


def _adjust(material):
    return reverse("catalog:material-adjust", args=[material.pk])


def _stock(tenant):
    return dict(Material.objects.for_tenant(tenant).values_list("code", "stock_on_hand"))


def _material_fields(**overrides):
    fields = {
        "code": "PLA-BLK",
        "name": "PLA black",
        "unit": "kg",
        "stock_on_hand": "12.5",
        "unit_cost": "21.00",
        "mass_per_unit_kg": "1",
        "emission_factor_key": "pla",
    }
    return {**fields, **overrides}


def test_stock_is_marked_against_the_planned_need(client, tenant, other_tenant):
    login(client, tenant, "viewer")
    pla = MaterialFactory(tenant=tenant, code="PLA", name="A PLA", stock_on_hand=Decimal("100"))
    resin = MaterialFactory(
        tenant=tenant, code="RES", name="B Resin", unit="l", stock_on_hand=Decimal("2")
    )
    MaterialFactory(tenant=tenant, code="STL", name="C Steel", unit="m2", stock_on_hand=0)
    MaterialFactory(tenant=tenant, code="BAD", name="D Broken", stock_on_hand=Decimal("-1"))
    MaterialFactory(tenant=other_tenant, code="FOREIGN", name="A Foreign")
    bracket = ProductFactory(tenant=tenant)
    BomLineFactory(
        tenant=tenant,
        product=bracket,
        material=pla,
        quantity_per_unit=Decimal("0.15"),
        scrap_allowance_percent=Decimal("5"),
    )
    BatchFactory(tenant=tenant, product=bracket, quantity_planned=10, status="planned")
    lamp = ProductFactory(tenant=tenant)
    BomLineFactory(
        tenant=tenant,
        product=lamp,
        material=resin,
        quantity_per_unit=Decimal("1"),
        scrap_allowance_percent=Decimal("5"),
    )
    BatchFactory(tenant=tenant, product=lamp, quantity_planned=4, status="planned")
    BatchFactory(tenant=tenant, product=lamp, quantity_planned=2, status="scheduled")
    for started in ("in_progress", "quality_check", "completed", "cancelled"):
        BatchFactory(tenant=tenant, product=lamp, quantity_planned=100, status=started)

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Materials</h1>" in html
    assert table_rows(html) == [
        ["PLA", "A PLA", "kilogram", "100 kg", "1.575 kg", "Enough"],
        ["RES", "B Resin", "litre", "2 l", "6.300 l", "Low"],
        ["STL", "C Steel", "square metre", "0 m2", "none", "Out of stock"],
        ["BAD", "D Broken", "kilogram", "-1 kg", "none", "Negative"],
    ]
    assert '<span class="chip stock-low">Low</span>' in html
    assert "Adjust stock" not in html
    assert "Add a material" not in html


def test_the_htmx_partial_and_a_fixed_number_of_queries(
    client, tenant, django_assert_max_num_queries
):
    login(client, tenant, "manager")
    for _ in range(8):
        line = BomLineFactory(tenant=tenant)
        BatchFactory(tenant=tenant, product=line.product)

    with django_assert_max_num_queries(6):
        response = client.get(LIST, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith('<section class="card" id="materials"')
    assert len(table_rows(html)) == 8
    assert response["Vary"] == "HX-Request, Cookie"


def test_the_list_is_paginated(client, tenant):
    login(client, tenant, "viewer")
    for number in range(55):
        MaterialFactory(tenant=tenant, code=f"M{number:02}", name=f"Material {number:02}")

    response = client.get(LIST, {"page": 2}, headers=HTMX)

    assert [row[0] for row in table_rows(response.content.decode())] == [
        f"M{n:02}" for n in range(50, 55)
    ]
    assert "Page 2 of 2" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "text"),
    [
        ("manager", "No materials yet. Add the filaments, resins, sheets and parts"),
        ("viewer", "No materials yet. An owner or manager adds them."),
    ],
)
def test_empty_states(client, tenant, role, text):
    login(client, tenant, role)

    response = client.get(LIST)

    assert text in response.content.decode()


def test_adding_a_material_with_htmx(client, tenant):
    login(client, tenant, "manager")

    response = client.post(CREATE, _material_fields(), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<p class="message success" role="status">Material PLA-BLK added.</p>' in html
    assert table_rows(html) == [
        [
            "PLA-BLK",
            "PLA black",
            "kilogram",
            "12.500 kg",
            "none",
            "Enough",
            "Adjust stock of PLA black",
        ]
    ]
    material = Material.objects.for_tenant(tenant).get()
    assert (
        material.code,
        material.unit,
        material.stock_on_hand,
        material.unit_cost,
        material.emission_factor_key,
    ) == ("PLA-BLK", "kg", Decimal("12.500"), Decimal("21.00"), "pla")
    assert len(audit_events(tenant, verb="material.created", target=material)) == 1


def test_adding_a_material_without_htmx_redirects(client, tenant):
    login(client, tenant, "owner")

    response = client.post(CREATE, _material_fields(), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "Material PLA-BLK added." in response.content.decode()
    assert _stock(tenant) == {"PLA-BLK": Decimal("12.500")}


def test_invalid_or_duplicate_materials_are_a_400_and_nothing_is_saved(client, tenant):
    login(client, tenant, "manager")
    MaterialFactory(tenant=tenant, code="PLA-BLK", stock_on_hand=Decimal("1"))

    invalid = client.post(CREATE, _material_fields(code="", unit="barrel"), headers=HTMX)
    duplicate = client.post(CREATE, _material_fields())

    assert (invalid.status_code, duplicate.status_code) == (400, 400)
    assert form_errors(invalid.content.decode()) == {
        "new-material-code": ["This field is required."],
        "new-material-unit": ["Select a valid choice. barrel is not one of the available choices."],
    }
    assert duplicate.context["material_form"].errors == {
        "code": ["A material with this code exists already."]
    }
    assert _stock(tenant) == {"PLA-BLK": Decimal("1.000")}


def test_adjust_stock_inline(client, tenant):
    login(client, tenant, "manager")
    material = MaterialFactory(tenant=tenant, code="PLA", name="PLA", stock_on_hand=Decimal("100"))

    editing = client.get(_adjust(material), headers=HTMX)
    saved = client.post(
        _adjust(material), {"delta": "5.5", "reason": "Delivery 4711"}, headers=HTMX
    )
    cancelled = client.get(reverse("catalog:material-row", args=[material.pk]), headers=HTMX)

    assert editing.status_code == 200
    assert (
        editing.content.decode()
        .strip()
        .startswith(f'<tr id="material-{material.pk}" class="editing">')
    )
    assert f'<label for="adjust-{material.pk}-delta">Change:</label>' in editing.content.decode()
    assert saved.status_code == 200
    assert table_rows(f"<table><tbody>{saved.content.decode()}</tbody></table>") == [
        [
            "PLA",
            "PLA",
            "kilogram",
            "105.500 kg+5.5 kg booked (Delivery 4711).",
            "none",
            "Enough",
            "Adjust stock of PLA",
        ]
    ]
    assert _stock(tenant) == {"PLA": Decimal("105.500")}
    [event] = audit_events(tenant, verb="material.stock_adjusted", target=material)
    assert (event.before, event.after, event.message) == (
        {"stock_on_hand": "100.000"},
        {"stock_on_hand": "105.500"},
        "Delivery 4711",
    )
    assert cancelled.content.decode().strip().startswith(f'<tr id="material-{material.pk}">')


def test_adjust_stock_without_javascript(client, tenant):
    login(client, tenant, "manager")
    material = MaterialFactory(tenant=tenant, name="Resin", unit="l", stock_on_hand=Decimal("5"))

    editing = client.get(_adjust(material))
    response = client.post(_adjust(material), {"delta": "-2", "reason": "Spilled"}, follow=True)

    assert "<html" in editing.content.decode()
    assert f'<tr id="material-{material.pk}" class="editing">' in editing.content.decode()
    assert response.redirect_chain == [(LIST, 302)]
    assert "Resin: -2 l booked (Spilled)." in response.content.decode()
    assert _stock(tenant) == {material.code: Decimal("3.000")}


def test_adjust_stock_without_javascript_on_a_later_page(client, tenant):
    login(client, tenant, "manager")
    for number in range(50):
        MaterialFactory(tenant=tenant, code=f"A{number:02}", name=f"A {number:02}")
    late = MaterialFactory(tenant=tenant, code="Z", name="Zinc", stock_on_hand=Decimal("1"))
    url = f"{_adjust(late)}?page=2"

    editing = client.get(url)
    refused = client.post(url, {"delta": "-2", "reason": "Scrapped"})
    booked = client.post(url, {"delta": "2", "reason": "Found"})

    assert f'<form method="post" action="{url}"' in editing.content.decode()
    assert refused.status_code == 400
    assert form_errors(refused.content.decode()) == {
        "__all__": ["Only 1.000 kg of Zinc in stock; cannot remove 2."]
    }
    assert booked["Location"] == f"{LIST}?page=2"
    assert _stock(tenant)["Z"] == Decimal("3.000")


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"delta": "-6", "reason": "Stocktake"},
            {"__all__": ["Only 5.000 l of Resin in stock; cannot remove 6."]},
        ),
        ({"delta": "0", "reason": "x"}, {"adjust-{pk}-delta": ["Enter a change other than zero."]}),
        (
            {"delta": "abc", "reason": ""},
            {
                "adjust-{pk}-delta": ["Enter a number."],
                "adjust-{pk}-reason": ["This field is required."],
            },
        ),
    ],
)
def test_a_refused_adjustment_is_a_400_and_stock_is_unchanged(client, tenant, data, errors):
    login(client, tenant, "manager")
    material = MaterialFactory(tenant=tenant, name="Resin", unit="l", stock_on_hand=Decimal("5"))
    events = audit_count(tenant)

    response = client.post(_adjust(material), data, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 400
    assert html.strip().startswith(f'<tr id="material-{material.pk}" class="editing">')
    assert form_errors(html) == {
        field.format(pk=material.pk): messages for field, messages in errors.items()
    }
    assert _stock(tenant) == {material.code: Decimal("5.000")}
    assert audit_count(tenant) == events


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_get_403_and_nothing_changes(client, tenant, role):
    login(client, tenant, role)
    material = MaterialFactory(tenant=tenant, code="PLA", stock_on_hand=Decimal("5"))
    events = audit_count(tenant)

    page = client.get(LIST)
    responses = [
        client.post(CREATE, _material_fields(), headers=HTMX),
        client.get(_adjust(material), headers=HTMX),
        client.post(_adjust(material), {"delta": "1", "reason": "x"}, headers=HTMX),
        client.post(_adjust(material), {"delta": "1", "reason": "x"}),
    ]

    assert page.status_code == 200
    assert "Adjust stock" not in page.content.decode()
    assert [r.status_code for r in responses] == [403] * 4
    assert _stock(tenant) == {"PLA": Decimal("5.000")}
    assert audit_count(tenant) == events


def test_another_tenants_material_is_a_404_and_unchanged(client, tenant, other_tenant):
    login(client, tenant, "owner")
    foreign = MaterialFactory(tenant=other_tenant, stock_on_hand=Decimal("5"))

    responses = [
        client.get(_adjust(foreign), headers=HTMX),
        client.post(_adjust(foreign), {"delta": "1", "reason": "x"}, headers=HTMX),
        client.get(reverse("catalog:material-row", args=[foreign.pk]), headers=HTMX),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert _stock(other_tenant) == {foreign.code: Decimal("5.000")}


def test_anonymous_visitors_are_sent_to_login(client, tenant):
    material = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("5"))

    responses = [
        client.get(LIST),
        client.post(CREATE, _material_fields()),
        client.post(_adjust(material), {"delta": "1", "reason": "x"}),
    ]

    assert [r.status_code for r in responses] == [302, 302, 302]
    assert responses[0]["Location"] == f"{reverse('login')}?next={LIST}"
    assert _stock(tenant) == {material.code: Decimal("5.000")}
