"""The product page's routing steps and bill of materials, edited inline with htmx (and with
plain forms and links when JavaScript is off)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from mfapp.catalog.models import BomLine, RoutingStep
from tests.catalog.test_views_products import form_errors, login, table_rows
from tests.factories import (
    BomLineFactory,
    MaterialFactory,
    ProductFactory,
    RoutingStepFactory,
    audit_count,
    audit_events,
    product_with_routing,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _routing(product):
    return list(
        RoutingStep.objects.for_tenant(product.tenant)
        .filter(product=product)
        .order_by("sequence")
        .values_list("sequence", "name", "capability", "setup_minutes", "run_minutes_per_unit")
    )


def _bom(product):
    return list(
        BomLine.objects.for_tenant(product.tenant)
        .filter(product=product)
        .order_by("id")
        .values_list("material__code", "quantity_per_unit", "scrap_allowance_percent")
    )


def _steps(product):
    return list(product.routing_steps.order_by("sequence"))


def _url(name, product, item=None):
    return reverse(f"catalog:{name}", args=[product.pk] if item is None else [product.pk, item.pk])


def _step_fields(**overrides):
    fields = {
        "name": "Sand",
        "capability": "post-process",
        "setup_minutes": "2",
        "run_minutes_per_unit": "3.5",
        "material": "",
    }
    return {**fields, **overrides}


# --- routing steps ---------------------------------------------------------------------------
def test_adding_a_step_with_htmx_swaps_the_routing_section(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant, steps=[("fdm-print", "12")])
    resin = MaterialFactory(tenant=tenant, name="Resin")

    response = client.post(
        _url("routing-step-create", product),
        _step_fields(material=str(resin.pk)),
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith('<section class="card" id="routing"')
    assert [row[:6] for row in table_rows(html)] == [
        ["10", "FDM printing (1)", "FDM printing", "5", "12", "none"],
        ["20", "Sand", "Post-processing (support removal, curing, sanding)", "2", "3.50", "Resin"],
    ]
    assert _routing(product)[-1] == (20, "Sand", "post-process", Decimal("2"), Decimal("3.5"))
    assert _steps(product)[-1].material_id == resin.pk
    assert 'value="Sand"' not in html  # the add form is blank again


def test_adding_a_step_without_htmx_redirects_to_the_routing(client, tenant):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)

    response = client.post(_url("routing-step-create", product), _step_fields())

    assert response.status_code == 302
    assert response["Location"] == _url("product-detail", product) + "#routing"
    assert _routing(product) == [(10, "Sand", "post-process", Decimal("2"), Decimal("3.5"))]


def test_an_invalid_step_is_a_400_with_errors_and_nothing_is_saved(client, tenant, other_tenant):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)
    foreign_material = MaterialFactory(tenant=other_tenant)

    response = client.post(
        _url("routing-step-create", product),
        _step_fields(
            name="", capability="teleport", run_minutes_per_unit="-1", material=foreign_material.pk
        ),
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert form_errors(html) == {
        "new-step-name": ["This field is required."],
        "new-step-capability": [
            "Select a valid choice. teleport is not one of the available choices."
        ],
        "new-step-run_minutes_per_unit": ["Ensure this value is greater than or equal to 0."],
        "new-step-material": [
            "Select a valid choice. That choice is not one of the available choices."
        ],
    }
    assert "<html" not in html
    assert (
        '<input type="text" name="name" maxlength="200" required aria-invalid="true" '
        'aria-describedby="new-step-name_helptext new-step-name_error" id="new-step-name">'
    ) in html
    assert _routing(product) == []


def test_an_invalid_step_without_htmx_renders_the_page_with_errors(client, tenant):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)

    response = client.post(_url("routing-step-create", product), _step_fields(name=""))

    assert response.status_code == 400
    assert "<html" in response.content.decode()
    assert response.context["step_form"].errors == {"name": ["This field is required."]}
    assert _routing(product) == []


def test_edit_turns_the_row_into_a_form_and_cancel_turns_it_back(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant, steps=[("fdm-print", "12"), ("inspection", "1")])
    first, second = _steps(product)

    editing = client.get(_url("routing-step-edit", product, second), headers=HTMX)
    cancelled = client.get(_url("routing-step-list", product), headers=HTMX)

    html = editing.content.decode()
    assert editing.status_code == 200
    assert "<html" not in html
    assert f'<tr id="step-{second.pk}" class="editing">' in html
    assert f'name="name" value="{second.name}" maxlength="200" required' in html
    assert f'<a class="button small" href="{_url("product-detail", product)}#routing" ' in html
    assert f'hx-get="{_url("routing-step-list", product)}">Cancel</a>' in html
    assert f'<tr id="step-{first.pk}">' in html  # the other rows stay as they are
    assert 'class="editing"' not in cancelled.content.decode()
    assert len(table_rows(cancelled.content.decode())) == 2


def test_without_javascript_edit_and_cancel_are_plain_pages(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant)
    [step] = _steps(product)

    editing = client.get(_url("routing-step-edit", product, step))
    cancelled = client.get(_url("routing-step-list", product))

    assert editing.status_code == 200
    assert "<html" in editing.content.decode()
    assert f'<tr id="step-{step.pk}" class="editing">' in editing.content.decode()
    assert cancelled.status_code == 302
    assert cancelled["Location"] == _url("product-detail", product) + "#routing"


def test_saving_an_edited_step(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant, steps=[("fdm-print", "12"), ("inspection", "1")])
    first, _ = _steps(product)
    resin = MaterialFactory(tenant=tenant, name="Resin")

    response = client.post(
        _url("routing-step-edit", product, first),
        _step_fields(name="Print body", capability="sla-print", material=resin.pk),
        headers=HTMX,
    )

    assert response.status_code == 200
    assert 'class="editing"' not in response.content.decode()
    assert table_rows(response.content.decode())[0][:6] == [
        "10",
        "Print body",
        "SLA/resin printing",
        "2",
        "3.50",
        "Resin",
    ]
    first.refresh_from_db()
    assert (first.name, first.capability, first.material_id, first.sequence) == (
        "Print body",
        "sla-print",
        resin.pk,
        10,
    )
    [event] = audit_events(tenant, verb="routingstep.updated", target=first)
    assert event.after["name"] == "Print body"


def test_an_invalid_edit_is_a_400_with_the_row_still_a_form(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant)
    [step] = _steps(product)
    before = _routing(product)

    response = client.post(
        _url("routing-step-edit", product, step),
        _step_fields(run_minutes_per_unit=""),
        headers=HTMX,
    )

    assert response.status_code == 400
    assert form_errors(response.content.decode()) == {
        f"step-{step.pk}-run_minutes_per_unit": ["This field is required."]
    }
    assert f'<tr id="step-{step.pk}" class="editing">' in response.content.decode()
    assert _routing(product) == before


@pytest.mark.parametrize(
    ("position", "direction", "order"),
    [(1, "up", ["B", "A", "C"]), (1, "down", ["A", "C", "B"]), (0, "down", ["B", "A", "C"])],
)
def test_up_and_down_reorder_the_routing(client, tenant, position, direction, order):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)
    for sequence, name in [(10, "A"), (15, "B"), (40, "C")]:
        RoutingStepFactory(tenant=tenant, product=product, sequence=sequence, name=name)
    step = _steps(product)[position]

    response = client.post(
        _url("routing-step-move", product, step), {"direction": direction}, headers=HTMX
    )

    assert response.status_code == 200
    assert [row[:2] for row in table_rows(response.content.decode())] == [
        ["10", order[0]],
        ["20", order[1]],
        ["30", order[2]],
    ]
    assert [(s, n) for s, n, *_ in _routing(product)] == [
        (10, order[0]),
        (20, order[1]),
        (30, order[2]),
    ]


def test_moving_without_javascript_redirects_back(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant, steps=[("fdm-print", "1"), ("assembly", "2")])
    first, second = _steps(product)

    response = client.post(_url("routing-step-move", product, second), {"direction": "up"})

    assert response["Location"] == _url("product-detail", product) + "#routing"
    assert [step.pk for step in _steps(product)] == [second.pk, first.pk]


def test_an_unknown_direction_is_refused_with_a_reason(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant, steps=[("fdm-print", "1"), ("assembly", "2")])
    first, _ = _steps(product)
    before = _routing(product)

    response = client.post(
        _url("routing-step-move", product, first), {"direction": "left"}, headers=HTMX
    )

    assert response.status_code == 400
    assert '<p class="error" role="alert">Move a step up or down.</p>' in response.content.decode()
    assert _routing(product) == before


def test_removing_a_step(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant, steps=[("fdm-print", "1"), ("assembly", "2")])
    first, second = _steps(product)

    response = client.post(_url("routing-step-delete", product, first), headers=HTMX)

    assert response.status_code == 200
    assert [row[:2] for row in table_rows(response.content.decode())] == [["20", second.name]]
    assert [step.pk for step in _steps(product)] == [second.pk]


def test_the_last_step_removed_shows_what_to_do(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant)
    [step] = _steps(product)

    response = client.post(_url("routing-step-delete", product, step), headers=HTMX)

    assert "No routing steps yet. Add the operations below" in response.content.decode()
    assert _routing(product) == []


# --- BOM lines -------------------------------------------------------------------------------
def test_adding_a_material_to_the_bom(client, tenant):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)
    pla = MaterialFactory(tenant=tenant, code="PLA", name="PLA black")
    MaterialFactory(tenant=tenant, code="PETG", name="PETG clear")

    response = client.post(
        _url("bom-line-create", product),
        {"material": pla.pk, "quantity_per_unit": "0.25", "scrap_allowance_percent": "5"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<section class="card" id="bom"')
    assert [row[:3] for row in table_rows(html)] == [["PLA black PLA", "0.25 kg", "5 %"]]
    assert _bom(product) == [("PLA", Decimal("0.2500"), Decimal("5.00"))]
    # the add form now offers only the materials not on the bill yet
    assert f'<option value="{pla.pk}">' not in html
    assert ">PETG clear (PETG)</option>" in html


def test_a_material_already_on_the_bom_or_of_another_tenant_is_refused(
    client, tenant, other_tenant
):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)
    line = BomLineFactory(tenant=tenant, product=product)
    foreign = MaterialFactory(tenant=other_tenant)
    before = _bom(product)

    responses = [
        client.post(
            _url("bom-line-create", product),
            {"material": material_id, "quantity_per_unit": "1", "scrap_allowance_percent": "0"},
            headers=HTMX,
        )
        for material_id in (line.material_id, foreign.pk)
    ]

    assert [r.status_code for r in responses] == [400, 400]
    assert [form_errors(r.content.decode()) for r in responses] == [
        {
            "new-bom-material": [
                "Select a valid choice. That choice is not one of the available choices."
            ]
        }
    ] * 2
    assert _bom(product) == before


def test_an_invalid_quantity_is_a_400_and_nothing_is_saved(client, tenant):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)
    material = MaterialFactory(tenant=tenant)

    response = client.post(
        _url("bom-line-create", product),
        {"material": material.pk, "quantity_per_unit": "0", "scrap_allowance_percent": "101"},
    )

    assert response.status_code == 400
    assert response.context["bom_form"].errors == {
        "quantity_per_unit": ["Ensure this value is greater than or equal to 0.0001."],
        "scrap_allowance_percent": ["Ensure this value is less than or equal to 100."],
    }
    assert _bom(product) == []


def test_editing_a_bom_line_inline(client, tenant):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)
    line = BomLineFactory(
        tenant=tenant, product=product, material=MaterialFactory(tenant=tenant, code="PLA")
    )

    editing = client.get(_url("bom-line-edit", product, line), headers=HTMX)
    saved = client.post(
        _url("bom-line-edit", product, line),
        {"quantity_per_unit": "0.3", "scrap_allowance_percent": "2.5"},
        headers=HTMX,
    )
    refused = client.post(
        _url("bom-line-edit", product, line),
        {"quantity_per_unit": "", "scrap_allowance_percent": "2.5"},
        headers=HTMX,
    )

    assert f'<tr id="bom-{line.pk}" class="editing">' in editing.content.decode()
    assert 'name="quantity_per_unit" value="0.1500"' in editing.content.decode()
    assert saved.status_code == 200
    assert [row[1:3] for row in table_rows(saved.content.decode())] == [["0.3 kg", "2.50 %"]]
    assert refused.status_code == 400
    assert form_errors(refused.content.decode()) == {
        f"bom-{line.pk}-quantity_per_unit": ["This field is required."]
    }
    assert _bom(product) == [("PLA", Decimal("0.3000"), Decimal("2.50"))]


def test_removing_a_bom_line(client, tenant):
    login(client, tenant)
    product = ProductFactory(tenant=tenant)
    line = BomLineFactory(tenant=tenant, product=product)

    page = client.get(_url("product-detail", product)).content.decode()
    response = client.post(_url("bom-line-delete", product, line))

    assert f'hx-confirm="Remove {line.material.name} from the bill of materials?"' in page
    assert response["Location"] == _url("product-detail", product) + "#bom"
    assert _bom(product) == []


# --- permissions and tenancy -----------------------------------------------------------------
@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_get_403_and_nothing_changes(client, tenant, role):
    login(client, tenant, role)
    product = product_with_routing(tenant, steps=[("fdm-print", "1"), ("assembly", "2")])
    first, _ = _steps(product)
    line = BomLineFactory(tenant=tenant, product=product)
    material = MaterialFactory(tenant=tenant)
    routing, bom, events = _routing(product), _bom(product), audit_count(tenant)

    responses = [
        client.post(_url("routing-step-create", product), _step_fields(), headers=HTMX),
        client.get(_url("routing-step-edit", product, first), headers=HTMX),
        client.post(_url("routing-step-edit", product, first), _step_fields()),
        client.post(_url("routing-step-move", product, first), {"direction": "down"}),
        client.post(_url("routing-step-delete", product, first), headers=HTMX),
        client.post(
            _url("bom-line-create", product),
            {"material": material.pk, "quantity_per_unit": "1", "scrap_allowance_percent": "0"},
        ),
        client.post(
            _url("bom-line-edit", product, line),
            {"quantity_per_unit": "9", "scrap_allowance_percent": "0"},
        ),
        client.post(_url("bom-line-delete", product, line)),
    ]

    assert [r.status_code for r in responses] == [403] * 8
    assert (_routing(product), _bom(product), audit_count(tenant)) == (routing, bom, events)
    # reading the sections is fine
    assert client.get(_url("routing-step-list", product), headers=HTMX).status_code == 200
    assert client.get(_url("bom-line-list", product), headers=HTMX).status_code == 200


def test_another_tenants_recipe_is_a_404_and_unchanged(client, tenant, other_tenant):
    login(client, tenant, "owner")
    foreign = product_with_routing(other_tenant)
    [step] = _steps(foreign)
    line = BomLineFactory(tenant=other_tenant, product=foreign)
    own = ProductFactory(tenant=tenant)
    routing, bom = _routing(foreign), _bom(foreign)

    responses = [
        client.get(_url("routing-step-list", foreign), headers=HTMX),
        client.post(_url("routing-step-create", foreign), _step_fields()),
        client.get(_url("routing-step-edit", foreign, step)),
        client.post(_url("routing-step-edit", foreign, step), _step_fields()),
        client.post(_url("routing-step-move", foreign, step), {"direction": "up"}),
        client.post(_url("routing-step-delete", foreign, step)),
        client.post(
            _url("bom-line-create", foreign),
            {
                "material": line.material_id,
                "quantity_per_unit": "1",
                "scrap_allowance_percent": "0",
            },
        ),
        client.post(
            _url("bom-line-edit", foreign, line),
            {"quantity_per_unit": "9", "scrap_allowance_percent": "0"},
        ),
        client.post(_url("bom-line-delete", foreign, line)),
        # an own product in the URL does not open another tenant's step or line either
        client.post(_url("routing-step-delete", own, step)),
        client.post(_url("bom-line-delete", own, line)),
    ]

    assert [r.status_code for r in responses] == [404] * 11
    assert (_routing(foreign), _bom(foreign)) == (routing, bom)


def test_a_step_is_only_reached_through_its_own_product(client, tenant):
    login(client, tenant)
    product = product_with_routing(tenant)
    [step] = _steps(product)
    line = BomLineFactory(tenant=tenant, product=product)
    other = ProductFactory(tenant=tenant)

    responses = [
        client.post(_url("routing-step-delete", other, step)),
        client.get(_url("bom-line-edit", other, line)),
    ]

    assert [r.status_code for r in responses] == [404, 404]
    assert len(_routing(product)) == 1
    assert len(_bom(product)) == 1
