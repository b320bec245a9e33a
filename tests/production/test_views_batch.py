"""A batch's page (facts, operations, quality checks, material used, moves) and its printable
traveller: rendering, htmx partials, recording checks and consumption, permissions, tenant
isolation, invalid input and a bounded number of queries."""

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mfapp.catalog.models import Material
from mfapp.production.models import Batch, BatchOperation, MaterialConsumption, QualityCheck
from tests.browser_helpers import log_in
from tests.factories import (
    BatchOperationFactory,
    BomLineFactory,
    CustomerFactory,
    MachineFactory,
    MaterialConsumptionFactory,
    MaterialFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    QualityCheckFactory,
    SiteFactory,
    batch_with_operations,
)

pytestmark = pytest.mark.django_db

B = Batch.Status
O = BatchOperation.Status  # noqa: E741
HTMX = {"HX-Request": "true"}


def _login(client, tenant, role="manager"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _url(name, batch):
    return reverse(f"production:{name}", args=[batch.pk])


def _detail(batch):
    return _url("batch-detail", batch)


def _check_url(batch):
    return _url("batch-quality-check-create", batch)


def _use_url(batch):
    return _url("batch-consumption-create", batch)


def _batch(tenant, status=B.IN_PROGRESS, lot_code="LOT-A", product=None, site_name="Kiel Hafen"):
    """A batch of 4 brackets for order SO-1 (due Fri 17 May 2030) at a Berlin site; its first
    operation ran on Printer Ada from 08:00 to 09:30 UTC on 10 May 2030."""
    site = SiteFactory(tenant=tenant, name=site_name, timezone="Europe/Berlin")
    product = product or ProductFactory(
        tenant=tenant, sku="BR-1", name="Bracket", design_revision="C"
    )
    customer = CustomerFactory(tenant=tenant, name="Nordlicht GmbH")
    order = OrderFactory(
        tenant=tenant,
        site=site,
        customer=customer,
        number=f"SO-{lot_code}",
        due_date=date(2030, 5, 17),
    )
    line = OrderLineFactory(tenant=tenant, order=order, product=product, quantity=4)
    batch = batch_with_operations(
        tenant,
        lot_code=lot_code,
        status=status,
        product=product,
        site=site,
        order_line=line,
        quantity_planned=4,
    )
    machine = MachineFactory(tenant=tenant, site=site, name="Printer Ada")
    batch.operations.filter(sequence=10).update(
        machine=machine,
        status=O.DONE if status != B.PLANNED else O.PENDING,
        planned_start=datetime(2030, 5, 10, 7, 30, tzinfo=UTC),
        planned_end=datetime(2030, 5, 10, 9, 0, tzinfo=UTC),
        actual_start=datetime(2030, 5, 10, 8, 0, tzinfo=UTC),
        actual_end=datetime(2030, 5, 10, 9, 30, tzinfo=UTC),
        quantity_good=3,
        quantity_scrap=1,
    )
    batch.operations.filter(sequence=20).update(
        planned_start=datetime(2030, 5, 11, 6, 0, tzinfo=UTC),
        planned_end=datetime(2030, 5, 11, 10, 15, tzinfo=UTC),
    )
    return batch


def _check_data(**overrides):
    data = {
        "operation": "",
        "characteristic": "wall thickness",
        "unit": "mm",
        "target": "2",
        "tolerance": "0.2",
        "measured": "2.15",
        "notes": "",
    }
    return {**data, **overrides}


def _checks(tenant):
    return list(QualityCheck.objects.for_tenant(tenant).order_by("id"))


def _consumptions(tenant):
    return list(MaterialConsumption.objects.for_tenant(tenant).order_by("id"))


def _stock(material):
    return Material.objects.for_tenant(material.tenant).get(pk=material.pk).stock_on_hand


def _status(batch):
    batch.refresh_from_db()
    return batch.status


def _errors(html):
    """{field name or "__all__": [messages]} as the form shows them next to the inputs."""
    found = {}
    for field, items in re.findall(
        r'<ul class="errorlist(?: nonfield"|" id="id_(\w+)_error")>(.*?)</ul>', html, re.S
    ):
        found[field or "__all__"] = re.findall(r"<li>(.*?)</li>", items)
    return found


# --- the batch page --------------------------------------------------------------------------
def test_the_batch_page_shows_facts_operations_checks_and_material(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant)
    first = batch.operations.get(sequence=10)
    QualityCheckFactory(
        tenant=tenant,
        batch=batch,
        operation=first,
        measured=Decimal("5.05"),
        checked_at=datetime(2030, 5, 10, 10, 0, tzinfo=UTC),
        notes="Caliper 3",
    )
    QualityCheckFactory(
        tenant=tenant,
        batch=batch,
        characteristic="mass",
        unit="g",
        target=Decimal("120"),
        tolerance=Decimal("5"),
        measured=Decimal("128.5"),
        checked_at=datetime(2030, 5, 10, 11, 0, tzinfo=UTC),
    )
    pla = MaterialFactory(tenant=tenant, code="PLA-BLK", name="PLA black")
    MaterialConsumptionFactory(
        tenant=tenant,
        batch=batch,
        material=pla,
        quantity=Decimal("0.450"),
        material_lot="ML-77",
        recorded_at=datetime(2030, 5, 10, 9, 45, tzinfo=UTC),
    )

    response = client.get(_detail(batch))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1>Batch LOT-A <span class="chip status-in_progress">In progress</span></h1>' in html
    for fact in (
        "<dt>Lot code</dt><dd><strong>LOT-A</strong></dd>",
        '<dt>Product</dt><dd>BR-1 Bracket <span class="muted">(revision C)</span></dd>',
        "<dt>Quantity</dt><dd>4</dd>",
        "<dd>Fri 17 May 2030</dd>",
        "<dt>Site</dt><dd>Kiel Hafen</dd>",
        "<dt>Planned start</dt><dd>Fri 10 May 2030, 09:30</dd>",  # Berlin time (UTC+2)
        "<dt>Planned end</dt><dd>Sat 11 May 2030, 12:15</dd>",
    ):
        assert fact in html
    assert re.search(r"SO-LOT-A(</a>)? · Nordlicht GmbH", html)
    # operations
    assert '<td data-label="Machine">Printer Ada</td>' in html
    assert '<td data-label="Status"><span class="chip status-done">Done</span></td>' in html
    assert '<td data-label="Good" class="num">3</td>' in html
    assert '<td data-label="Scrap" class="num">1</td>' in html
    assert '<td data-label="Started">10 May, 10:00</td>' in html
    assert '<td data-label="Finished">10 May, 11:30</td>' in html
    assert '<td data-label="Started"><span class="muted">planned 11 May, 08:00</span></td>' in html
    # quality checks, pass and fail as text
    assert '<td data-label="Target">5 ± 0.1 mm</td>' in html
    assert '<td data-label="Measured">5.05 mm</td>' in html
    assert '<td data-label="Operation">10. FDM printing (1)</td>' in html
    assert '<td data-label="Target">120 ± 5 g</td>' in html
    assert re.findall(r'<span class="chip status-(pass|fail)">(Pass|Fail)</span>', html) == [
        ("pass", "Pass"),
        ("fail", "Fail"),
    ]
    assert "Caliper 3" in html
    # material used
    assert '<td data-label="Material">PLA black <span class="muted">(PLA-BLK)</span></td>' in html
    assert '<td data-label="Quantity" class="num">0.450 kg</td>' in html
    assert '<td data-label="Material lot">ML-77</td>' in html
    # actions
    assert re.findall(r'name="status" value="(\w+)"', html) == ["quality_check", "cancelled"]
    assert f'href="{_url("batch-traveller", batch)}"' in html
    assert f'action="{_check_url(batch)}"' in html
    assert f'action="{_use_url(batch)}"' in html


def test_a_batch_in_quality_check_with_a_failed_check_says_what_to_do(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, B.QUALITY_CHECK)
    QualityCheckFactory(tenant=tenant, batch=batch, measured=Decimal("5.4"))

    html = client.get(_detail(batch)).content.decode()

    assert (
        "The latest check of hole diameter failed. Record a passing re-check after rework, "
        "or cancel the batch." in html
    )


def test_a_planned_batch_has_no_recording_forms(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, B.PLANNED)

    html = client.get(_detail(batch)).content.decode()

    assert "Checks are recorded while the batch is in progress or in quality check." in html
    assert "Material is recorded while the batch is in progress or in quality check." in html
    assert f'action="{_check_url(batch)}"' not in html
    assert f'action="{_use_url(batch)}"' not in html
    assert re.findall(r'name="status" value="(\w+)"', html) == [
        "scheduled",
        "in_progress",
        "cancelled",
    ]


def test_htmx_gets_only_the_batch(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant)

    response = client.get(_detail(batch), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="batch-detail">')
    assert "<h1>Batch LOT-A" in html


def test_the_batch_page_runs_the_same_queries_for_more_rows(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant)
    material = MaterialFactory(tenant=tenant)
    QualityCheckFactory(tenant=tenant, batch=batch)
    MaterialConsumptionFactory(tenant=tenant, batch=batch, material=material)
    with CaptureQueriesContext(connection) as few:
        client.get(_detail(batch))
    for n in range(4):
        BatchOperationFactory(tenant=tenant, batch=batch, sequence=100 + n)
        QualityCheckFactory(tenant=tenant, batch=batch, operation=batch.operations.first())
        MaterialConsumptionFactory(
            tenant=tenant, batch=batch, material=MaterialFactory(tenant=tenant)
        )

    with CaptureQueriesContext(connection) as many:
        response = client.get(_detail(batch))

    assert response.content.decode().count('<td data-label="Seq.">') == 6
    assert len(many) == len(few) == 8


# --- moves from the batch page ---------------------------------------------------------------
def test_a_move_from_the_batch_page_with_htmx_answers_the_batch(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, B.PLANNED)

    response = client.post(
        _url("batch-move", batch),
        {"status": "in_progress"},
        headers={**HTMX, "HX-Target": "batch-detail"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="batch-detail">')
    assert '<h1>Batch LOT-A <span class="chip status-in_progress">In progress</span></h1>' in html
    assert "Batch LOT-A moved to in progress." in html
    assert f'action="{_check_url(batch)}"' in html  # recording opens with the batch
    assert json.loads(response["HX-Trigger"]) == {
        "batchChanged": {"id": batch.pk, "status": "in_progress"}
    }
    assert _status(batch) == B.IN_PROGRESS


def test_a_refused_move_from_the_batch_page_shows_why(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant)

    response = client.post(
        _url("batch-move", batch),
        {"status": "quality_check"},
        headers={**HTMX, "HX-Target": "batch-detail"},
    )

    assert (
        '<p class="message error" role="alert">Batch LOT-A still has 1 unfinished operation(s).</p>'
        in response.content.decode()
    )
    assert _status(batch) == B.IN_PROGRESS


def test_a_move_from_the_batch_page_without_javascript_comes_back_to_it(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, B.SCHEDULED)

    response = client.post(
        _url("batch-move", batch), {"status": "cancelled", "next": _detail(batch)}
    )
    invalid = client.post(_url("batch-move", batch), {"status": "nope", "next": _detail(batch)})

    assert response["Location"] == _detail(batch)
    assert _status(batch) == B.CANCELLED
    assert invalid.status_code == 400
    assert "<h1>Batch LOT-A" in invalid.content.decode()
    assert "Choose a valid status to move the batch to." in invalid.content.decode()


# --- quality checks --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("measured", "passed", "chip"), [("2.15", True, "Pass"), ("2.25", False, "Fail")]
)
def test_recording_a_check_with_htmx_answers_the_checks(client, tenant, measured, passed, chip):
    user = _login(client, tenant, "operator")
    batch = _batch(tenant)
    operation = batch.operations.get(sequence=10)

    response = client.post(
        _check_url(batch), _check_data(operation=operation.pk, measured=measured), headers=HTMX
    )

    html = response.content.decode()
    result = "passed" if passed else "failed"
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="quality"')
    assert f"Check of wall thickness recorded: {result}." in html
    assert f'<span class="chip status-{chip.lower()}">{chip}</span>' in html
    [check] = _checks(tenant)
    assert (check.batch_id, check.operation_id, check.characteristic, check.unit) == (
        batch.pk,
        operation.pk,
        "wall thickness",
        "mm",
    )
    assert (check.target, check.tolerance, check.measured, check.passed, check.checked_by) == (
        Decimal("2"),
        Decimal("0.2"),
        Decimal(measured),
        passed,
        user,
    )


def test_recording_a_check_without_javascript_comes_back_to_the_page(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, B.QUALITY_CHECK)

    response = client.post(_check_url(batch), _check_data())
    page = client.get(response["Location"])

    assert response["Location"] == f"{_detail(batch)}#quality"
    assert "Check of wall thickness recorded: passed." in page.content.decode()
    assert len(_checks(tenant)) == 1


@pytest.mark.parametrize("headers", [HTMX, {}])
def test_an_invalid_check_is_a_400_with_the_errors_and_saves_nothing(client, tenant, headers):
    _login(client, tenant, "operator")
    batch = _batch(tenant)
    foreign_operation = batch_with_operations(tenant).operations.first()

    response = client.post(
        _check_url(batch),
        _check_data(
            characteristic="", tolerance="-0.1", measured="abc", operation=foreign_operation.pk
        ),
        headers=headers,
    )

    assert response.status_code == 400
    assert _errors(response.content.decode()) == {
        "operation": [
            f"Select a valid choice. {foreign_operation.pk} is not one of the available choices."
        ],
        "characteristic": ["This field is required."],
        "tolerance": ["Ensure this value is greater than or equal to 0."],
        "measured": ["Enter a number."],
    }
    assert 'aria-invalid="true"' in response.content.decode()
    assert ("<html" in response.content.decode()) is (not headers)
    assert _checks(tenant) == []


def test_a_check_on_a_planned_batch_is_refused_by_the_service(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, B.PLANNED)

    response = client.post(_check_url(batch), _check_data(), headers=HTMX)

    assert response.status_code == 400
    assert _errors(response.content.decode()) == {
        "__all__": [
            "Batch LOT-A is planned; checks are recorded while it is in progress or in "
            "quality check."
        ]
    }
    assert _checks(tenant) == []


# --- material consumption --------------------------------------------------------------------
def test_recording_material_with_htmx_takes_it_from_stock(client, tenant):
    user = _login(client, tenant, "operator")
    batch = _batch(tenant)
    pla = MaterialFactory(tenant=tenant, name="PLA black", stock_on_hand=Decimal("10.000"))

    response = client.post(
        _use_url(batch),
        {"material": pla.pk, "quantity": "2.5", "material_lot": "ML-77"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="consumption"')
    assert "Used 2.5 kg of PLA black." in html
    assert '<td data-label="Material lot">ML-77</td>' in html
    [used] = _consumptions(tenant)
    assert (
        used.batch_id,
        used.material_id,
        used.quantity,
        used.material_lot,
        used.recorded_by,
    ) == (
        batch.pk,
        pla.pk,
        Decimal("2.500"),
        "ML-77",
        user,
    )
    assert _stock(pla) == Decimal("7.500")


def test_recording_material_without_javascript_comes_back_to_the_page(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant)
    pla = MaterialFactory(tenant=tenant)

    response = client.post(_use_url(batch), {"material": pla.pk, "quantity": "1"})

    assert response["Location"] == f"{_detail(batch)}#consumption"
    assert len(_consumptions(tenant)) == 1


def test_using_more_than_the_stock_is_refused_and_changes_nothing(client, tenant):
    _login(client, tenant, "operator")
    batch = _batch(tenant)
    pla = MaterialFactory(tenant=tenant, stock_on_hand=Decimal("3.000"))

    response = client.post(_use_url(batch), {"material": pla.pk, "quantity": "3.5"}, headers=HTMX)

    assert response.status_code == 400
    assert _errors(response.content.decode()) == {"quantity": ["At most 3.000."]}
    assert _consumptions(tenant) == []
    assert _stock(pla) == Decimal("3.000")


def test_invalid_material_input_is_a_400_and_saves_nothing(client, tenant, other_tenant):
    _login(client, tenant)
    batch = _batch(tenant)
    foreign = MaterialFactory(tenant=other_tenant)

    response = client.post(_use_url(batch), {"material": foreign.pk, "quantity": "0"})

    assert response.status_code == 400
    assert response.context["consumption_form"].errors == {
        "material": [f"Select a valid choice. {foreign.pk} is not one of the available choices."],
        "quantity": ["Ensure this value is greater than or equal to 0.001."],
    }
    assert _consumptions(tenant) == []
    assert _stock(foreign) == Decimal("100.000")


# --- who may do what -------------------------------------------------------------------------
def test_anonymous_people_are_sent_to_log_in(client, tenant):
    batch = _batch(tenant)

    responses = [
        client.get(_detail(batch)),
        client.get(_url("batch-traveller", batch)),
        client.post(_check_url(batch), _check_data()),
        client.post(
            _use_url(batch), {"material": MaterialFactory(tenant=tenant).pk, "quantity": "1"}
        ),
    ]

    assert [r.status_code for r in responses] == [302] * 4
    assert responses[0]["Location"] == f"{reverse('login')}?next={_detail(batch)}"
    assert (_checks(tenant), _consumptions(tenant)) == ([], [])


def test_viewers_read_but_record_nothing(client, tenant):
    _login(client, tenant, "viewer")
    batch = _batch(tenant)
    pla = MaterialFactory(tenant=tenant)

    page = client.get(_detail(batch))
    traveller = client.get(_url("batch-traveller", batch))
    writes = [
        client.post(_check_url(batch), _check_data(), headers=HTMX),
        client.post(_use_url(batch), {"material": pla.pk, "quantity": "1"}),
        client.post(_url("batch-move", batch), {"status": "cancelled"}),
    ]

    html = page.content.decode()
    assert (page.status_code, traveller.status_code) == (200, 200)
    assert '<form method="post" action="/batches/' not in html
    assert 'name="status"' not in html
    assert [r.status_code for r in writes] == [403, 403, 403]
    assert (_checks(tenant), _consumptions(tenant), _status(batch)) == ([], [], B.IN_PROGRESS)
    assert _stock(pla) == Decimal("100.000")


def test_operators_record_checks_and_material_but_do_not_move_batches(client, tenant):
    _login(client, tenant, "operator")
    batch = _batch(tenant)

    html = client.get(_detail(batch)).content.decode()
    move = client.post(_url("batch-move", batch), {"status": "cancelled"}, headers=HTMX)

    assert f'action="{_check_url(batch)}"' in html
    assert f'action="{_use_url(batch)}"' in html
    assert 'name="status"' not in html
    assert move.status_code == 403
    assert _status(batch) == B.IN_PROGRESS


def test_another_tenants_batch_is_a_404_and_unchanged(client, tenant, other_tenant):
    _login(client, tenant, "owner")
    foreign = _batch(other_tenant)
    mine = MaterialFactory(tenant=tenant)

    responses = [
        client.get(_detail(foreign)),
        client.get(_detail(foreign), headers=HTMX),
        client.get(_url("batch-traveller", foreign)),
        client.post(_check_url(foreign), _check_data()),
        client.post(_use_url(foreign), {"material": mine.pk, "quantity": "1"}),
        client.get(reverse("production:batch-detail", args=[999999])),
    ]

    assert [r.status_code for r in responses] == [404] * 6
    assert (_checks(other_tenant), _consumptions(other_tenant)) == ([], [])
    assert _stock(mine) == Decimal("100.000")
    assert _status(foreign) == B.IN_PROGRESS


# --- the traveller ---------------------------------------------------------------------------
def test_the_traveller_is_a_print_ready_page(client, tenant):
    _login(client, tenant)
    product = ProductFactory(tenant=tenant, sku="BR-1", name="Bracket", design_revision="C")
    BomLineFactory(
        tenant=tenant,
        product=product,
        material=MaterialFactory(tenant=tenant, code="PLA-BLK", name="PLA black"),
        quantity_per_unit=Decimal("0.1500"),
        scrap_allowance_percent=Decimal("10"),
    )
    earlier = _batch(tenant, B.COMPLETED, lot_code="LOT-0", product=product, site_name="Old")
    QualityCheckFactory(tenant=tenant, batch=earlier, checked_at=datetime(2030, 1, 1, tzinfo=UTC))
    QualityCheckFactory(  # the latest target and tolerance of a characteristic count
        tenant=tenant,
        batch=earlier,
        tolerance=Decimal("0.05"),
        checked_at=datetime(2030, 2, 1, tzinfo=UTC),
    )
    QualityCheckFactory(
        tenant=tenant,
        batch=earlier,
        characteristic="Flatness",
        unit="mm",
        target=Decimal("0"),
        tolerance=Decimal("0.3"),
        measured=Decimal("0.1"),
    )
    batch = _batch(tenant, B.SCHEDULED, product=product)

    response = client.get(_url("batch-traveller", batch))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<body class="traveller"' in html
    assert '<h1 class="lot-code">LOT-A</h1>' in html
    assert "<dt>Product</dt><dd><strong>BR-1</strong> Bracket (revision C)</dd>" in html
    assert "<dt>Quantity</dt><dd><strong>4</strong> units</dd>" in html
    assert "<dt>Order</dt><dd>SO-LOT-A · Nordlicht GmbH</dd>" in html
    assert "<dt>Due date</dt><dd><strong>Fri 17 May 2030</strong></dd>" in html
    # every operation with blank cells to sign off
    assert re.findall(r"<td>(\d+)</td>\s*<td>([^<]+)<br>", html) == [
        ("10", "FDM printing (1)"),
        ("20", "FDM printing (2)"),
    ]
    assert html.count('<td class="blank"></td>' * 4) == 2
    # the checks to perform: the latest target of each characteristic, then blank rows
    assert re.findall(r"<td>([^<]+)</td>\s*<td>([^<]+ ± [^<]+)</td>", html) == [
        ("Flatness", "0 ± 0.3 mm"),
        ("hole diameter", "5 ± 0.05 mm"),
    ]
    assert html.count("☐ Pass ☐ Fail") == 5
    # the material to pick: 0.15 kg x 4 units + 10 % scrap allowance
    assert "<td>PLA black (PLA-BLK)</td>" in html
    assert "<td>0.15 kg</td>" in html
    assert "<td>10 %</td>" in html
    assert "<td><strong>0.66 kg</strong></td>" in html
    # printing: a button wired from static JS, print CSS, no inline script
    assert '<button type="button" class="primary" data-print>Print</button>' in html
    assert '<script src="/static/js/traveller.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/css/production.css">' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []


def test_a_traveller_without_checks_or_bill_of_materials_says_to_write_them_down(client, tenant):
    _login(client, tenant, "viewer")
    batch = batch_with_operations(tenant, lot_code="LOT-S")

    html = client.get(_url("batch-traveller", batch)).content.decode()

    assert "<dt>Order</dt><dd>To stock (no order)</dd>" in html
    assert "No characteristics have been checked on this product yet" in html
    assert "The product has no bill of materials: write down what you use." in html
    assert html.count("☐ Pass ☐ Fail") == 3


def test_no_production_page_has_an_inline_script(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant)

    pages = [
        client.get(reverse("production:batch-board")),
        client.get(_detail(batch)),
        client.get(_url("batch-traveller", batch)),
    ]

    for page in pages:
        html = page.content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
        assert " onclick=" not in html


# --- in a real browser -----------------------------------------------------------------------
@pytest.fixture
def browser_page(chromium_browser):
    return chromium_browser.new_page()


def _log_in_browser(page, live_server, tenant, role="manager"):
    log_in(page, live_server, MembershipFactory(tenant=tenant, role=role).user)


@pytest.mark.chromium
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_checks_are_recorded_in_place_and_errors_show(
    live_server, browser_page, tenant
):
    from playwright.sync_api import expect

    page = browser_page
    batch = _batch(tenant)
    _log_in_browser(page, live_server, tenant, "operator")
    page.goto(f"{live_server.url}{_detail(batch)}")

    page.get_by_label("Characteristic").fill("")
    page.get_by_role("button", name="Record check").click()
    expect(page.locator("#quality .errorlist").first).to_have_text("This field is required.")
    page.get_by_label("Characteristic").fill("wall thickness")
    page.get_by_label("Target").fill("2")
    page.get_by_label("Tolerance").fill("0.2")
    page.get_by_label("Measured").fill("2.5")
    page.get_by_role("button", name="Record check").click()

    expect(page.get_by_role("status")).to_have_text("Check of wall thickness recorded: failed.")
    expect(page.locator("#quality .chip.status-fail")).to_have_text("Fail")
    assert [c.passed for c in _checks(tenant)] == [False]


@pytest.mark.chromium
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_the_traveller_prints_without_its_buttons(live_server, browser_page, tenant):
    from playwright.sync_api import expect

    page = browser_page
    batch = _batch(tenant)
    _log_in_browser(page, live_server, tenant)
    page.goto(f"{live_server.url}{_url('batch-traveller', batch)}")
    page.evaluate("window.print = () => { window.__printed = true; }")

    page.get_by_role("button", name="Print").click()
    printed = page.evaluate("window.__printed === true")
    page.emulate_media(media="print")

    assert printed is True
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("h1.lot-code")).to_be_visible()
