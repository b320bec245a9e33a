"""The batches board: columns by status, cards, moves by button (htmx and plain POST) and by
drag and drop, filters, permissions, tenant isolation and a bounded number of queries."""

import json
import re
from datetime import date
from decimal import Decimal
from html import escape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mfapp.production.models import Batch, BatchOperation
from tests.browser_helpers import log_in
from tests.factories import (
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    QualityCheckFactory,
    SiteFactory,
    audit_count,
    batch_with_operations,
    machine_for,
)

pytestmark = pytest.mark.django_db

B = Batch.Status
O = BatchOperation.Status  # noqa: E741
BOARD = reverse("production:batch-board")
HTMX = {"HX-Request": "true", "HX-Target": "board"}


def _login(client, tenant, role="manager"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _move(batch):
    return reverse("production:batch-move", args=[batch.pk])


def _batch(tenant, lot_code, status=B.PLANNED, *, due=date(2030, 5, 17), site=None, product=None):
    """A batch of 4 units for an order line, with two pending operations."""
    site = site or SiteFactory(tenant=tenant)
    product = product or ProductFactory(tenant=tenant, sku=f"SKU-{lot_code}", name="Bracket")
    order = OrderFactory(tenant=tenant, site=site, number=f"SO-{lot_code}", due_date=due)
    line = OrderLineFactory(tenant=tenant, order=order, product=product, quantity=4)
    return batch_with_operations(
        tenant,
        lot_code=lot_code,
        status=status,
        product=product,
        site=site,
        order_line=line,
        quantity_planned=4,
    )


def _with_machines(batch):
    machine = machine_for(batch.site)
    batch.operations.update(machine=machine)
    return batch


def _columns(html):
    """{status: [lot codes of its cards, top to bottom]} as the board shows them."""
    sections = re.findall(
        r'<section class="board-column"[^>]*data-status="(\w+)"[^>]*>(.*?)</section>', html, re.S
    )
    return {
        status: re.findall(r'class="lot"><a href="[^"]+">([^<]+)</a>', body)
        for status, body in sections
    }


def _all_cards(html):
    return [lot for lots in _columns(html).values() for lot in lots]


def _card(html, batch):
    match = re.search(
        rf'<article class="board-card" id="batch-{batch.pk}"(.*?)</article>', html, re.S
    )
    assert match, f"no card for {batch.lot_code}"
    return match.group(1)


def _moves_on(card_html):
    return re.findall(r'name="status" value="(\w+)"', card_html)


def _status(batch):
    batch.refresh_from_db()
    return batch.status


# --- the page --------------------------------------------------------------------------------
def test_board_shows_a_column_per_status_with_cards(client, tenant):
    _login(client, tenant)
    planned = _batch(tenant, "LOT-P")
    BatchOperation.objects.for_tenant(tenant).filter(batch=planned, sequence=10).update(
        status=O.DONE
    )
    _batch(tenant, "LOT-S", B.SCHEDULED, due=date(2030, 5, 20))
    _batch(tenant, "LOT-S0", B.SCHEDULED, due=date(2030, 5, 18))
    _batch(tenant, "LOT-Q", B.QUALITY_CHECK)
    _batch(tenant, "LOT-C", B.COMPLETED)

    response = client.get(BOARD)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Batches</h1>" in html
    assert _columns(html) == {
        "planned": ["LOT-P"],
        "scheduled": ["LOT-S0", "LOT-S"],  # earliest due date first
        "in_progress": [],
        "quality_check": ["LOT-Q"],
        "completed": ["LOT-C"],
        "cancelled": [],
    }
    assert re.findall(
        r'<h2 id="column-\w+"><span>([^<]+)</span> <span class="count">(\d+)', html
    ) == [
        ("Planned", "1"),
        ("Scheduled", "2"),
        ("In progress", "0"),
        ("Quality check", "1"),
        ("Completed", "1"),
        ("Cancelled", "0"),
    ]
    card = _card(html, planned)
    assert "<dt>Product</dt><dd>SKU-LOT-P Bracket</dd>" in card
    assert "<dt>Quantity</dt><dd>4</dd>" in card
    assert "<dt>Order</dt><dd>SO-LOT-P</dd>" in card
    assert '<time datetime="2030-05-17">Fri 17 May 2030</time>' in card
    assert "<span>1/2 operations done</span>" in card
    assert f'href="{reverse("production:batch-detail", args=[planned.pk])}"' in card


def test_each_card_offers_the_moves_its_status_allows(client, tenant):
    _login(client, tenant)
    batches = {status: _batch(tenant, f"LOT-{status}", status) for status in B.values}

    html = client.get(BOARD).content.decode()

    assert {status: _moves_on(_card(html, batch)) for status, batch in batches.items()} == {
        "planned": ["scheduled", "in_progress", "cancelled"],
        "scheduled": ["in_progress", "cancelled"],
        "in_progress": ["quality_check", "cancelled"],
        "quality_check": ["completed", "cancelled"],
        "completed": [],
        "cancelled": [],
    }
    assert 'draggable="true"' in _card(html, batches["planned"])
    assert 'draggable="true"' not in _card(html, batches["completed"])
    assert ">Send to quality check<" in _card(html, batches["in_progress"])


def test_a_late_batch_says_so_and_a_stock_batch_has_no_order(client, tenant):
    _login(client, tenant)
    late = _batch(tenant, "LOT-LATE", due=date(2020, 1, 6))
    stock = batch_with_operations(tenant, lot_code="LOT-STOCK")

    html = client.get(BOARD).content.decode()

    assert (
        '<time datetime="2020-01-06">Mon 6 Jan 2020</time> '
        '<span class="chip status-late">Late</span>' in _card(html, late)
    )
    assert "<dt>Order</dt><dd>To stock</dd>" in _card(html, stock)
    assert "<dt>Due</dt><dd>—</dd>" in _card(html, stock)


def test_an_empty_board_says_how_batches_come(client, tenant):
    _login(client, tenant)

    html = client.get(BOARD).content.decode()

    assert "No batches yet. Batches are created when you confirm an order" in html
    assert 'class="board"' not in html


def test_htmx_gets_only_the_board(client, tenant):
    _login(client, tenant)
    _batch(tenant, "LOT-A")

    response = client.get(BOARD, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="board"')
    assert 'id="board-filters"' not in html
    assert _columns(html)["planned"] == ["LOT-A"]


def test_restoring_the_history_gets_the_whole_page(client, tenant):
    _login(client, tenant)

    response = client.get(
        BOARD, {"q": "L"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()
    assert 'id="board-filters"' in response.content.decode()


def test_filters_by_site_product_and_lot_code(client, tenant):
    _login(client, tenant)
    kiel, hamburg = SiteFactory(tenant=tenant, name="Kiel"), SiteFactory(tenant=tenant, name="HH")
    bracket = ProductFactory(tenant=tenant, sku="BR-1", name="Bracket")
    _batch(tenant, "L-KIEL-1", site=kiel, product=bracket)
    _batch(tenant, "L-KIEL-2", B.SCHEDULED, site=kiel)
    _batch(tenant, "L-HH-1", site=hamburg, product=bracket)

    by_site = client.get(BOARD, {"site": kiel.pk}).content.decode()
    by_product = client.get(BOARD, {"product": bracket.pk}).content.decode()
    by_lot = client.get(BOARD, {"q": "hh"}).content.decode()
    nothing = client.get(BOARD, {"q": "nope"}).content.decode()

    assert _columns(by_site)["planned"] + _columns(by_site)["scheduled"] == ["L-KIEL-1", "L-KIEL-2"]
    assert _columns(by_product)["planned"] == ["L-KIEL-1", "L-HH-1"]
    assert _all_cards(by_product) == ["L-KIEL-1", "L-HH-1"]
    assert _all_cards(by_lot) == ["L-HH-1"]
    assert f'<option value="{kiel.pk}" selected>Kiel</option>' in by_site
    assert "No batches match these filters." in nothing
    # the moves keep the filters when they come back without JavaScript
    assert f'name="next" value="/batches/?site={kiel.pk}"' in by_site


def test_an_unknown_filter_value_is_ignored(client, tenant):
    _login(client, tenant)
    _batch(tenant, "LOT-A")

    response = client.get(BOARD, {"site": "999999", "product": "x", "q": "lot"})

    assert response.status_code == 200
    assert _columns(response.content.decode())["planned"] == ["LOT-A"]


def test_the_board_runs_the_same_queries_for_many_batches(client, tenant):
    _login(client, tenant)
    site = SiteFactory(tenant=tenant)
    for status in B.values:
        _batch(tenant, f"ONE-{status}", status, site=site)
    with CaptureQueriesContext(connection) as few:
        client.get(BOARD)
    for status in B.values:
        for n in range(3):
            _batch(tenant, f"MORE-{status}-{n}", status, site=site)

    with CaptureQueriesContext(connection) as many:
        response = client.get(BOARD)

    assert sum(len(lots) for lots in _columns(response.content.decode()).values()) == 24
    assert len(many) == len(few) == 12


def test_a_long_column_shows_the_first_cards_and_says_how_many_more(client, tenant, monkeypatch):
    monkeypatch.setattr("mfapp.production.views.COLUMN_LIMIT", 2)
    _login(client, tenant)
    for n in range(3):
        _batch(tenant, f"LOT-{n}", due=date(2030, 5, 10 + n))

    html = client.get(BOARD).content.decode()

    assert _columns(html)["planned"] == ["LOT-0", "LOT-1"]
    more = reverse("production:batch-board-column", args=["planned"]) + "?offset=2"
    assert (
        f'<a class="button small" href="{more}" hx-get="{more}" hx-include="this" '
        'hx-target="closest .more-cards" hx-swap="outerHTML">Show 1 more</a>\n'
        '  <span class="muted">1 not shown; the filters find any batch.</span>'
    ) in html


def test_another_tenants_batches_are_not_on_the_board(client, tenant, other_tenant):
    _login(client, tenant)
    _batch(other_tenant, "FOREIGN")

    html = client.get(BOARD).content.decode()

    assert "FOREIGN" not in html
    assert "No batches yet." in html


# --- moves -----------------------------------------------------------------------------------
def test_a_move_with_htmx_answers_the_board_and_triggers_batch_changed(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, "LOT-A")

    response = client.post(_move(batch), {"status": "in_progress"}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert _columns(html)["in_progress"] == ["LOT-A"]
    assert _columns(html)["planned"] == []
    assert '<p class="message success" role="status">Batch LOT-A moved to in progress.</p>' in html
    assert json.loads(response["HX-Trigger"]) == {
        "batchChanged": {"id": batch.pk, "status": "in_progress"}
    }
    assert _status(batch) == B.IN_PROGRESS
    assert batch.started_at is not None


def test_a_move_with_htmx_keeps_the_filters(client, tenant):
    _login(client, tenant)
    kiel = SiteFactory(tenant=tenant)
    batch = _with_machines(_batch(tenant, "L-KIEL", site=kiel))
    _batch(tenant, "L-ELSEWHERE")

    response = client.post(_move(batch), {"status": "scheduled", "site": kiel.pk}, headers=HTMX)

    assert _all_cards(response.content.decode()) == ["L-KIEL"]
    assert _status(batch) == B.SCHEDULED


def test_a_move_without_javascript_redirects_back_with_a_message(client, tenant):
    _login(client, tenant)
    batch = _with_machines(_batch(tenant, "LOT-A"))
    back = f"{BOARD}?q=LOT"

    response = client.post(_move(batch), {"status": "scheduled", "next": back})
    page = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == back
    assert "Batch LOT-A moved to scheduled." in page.content.decode()
    assert _status(batch) == B.SCHEDULED


def test_a_move_never_redirects_to_another_site(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, "LOT-A")

    response = client.post(_move(batch), {"status": "cancelled", "next": "https://evil.test/"})

    assert response["Location"] == BOARD
    assert _status(batch) == B.CANCELLED


def test_the_whole_way_through_the_board(client, tenant):
    user = _login(client, tenant)
    batch = _with_machines(_batch(tenant, "LOT-A"))
    steps = []

    for to in ("scheduled", "in_progress"):
        steps.append(client.post(_move(batch), {"status": to}, headers=HTMX).status_code)
    batch.operations.update(status=O.DONE, quantity_good=4, quantity_scrap=0)
    QualityCheckFactory(tenant=tenant, batch=batch, checked_by=user)  # passes
    for to in ("quality_check", "completed"):
        steps.append(client.post(_move(batch), {"status": to}, headers=HTMX).status_code)

    assert steps == [200, 200, 200, 200]
    assert _status(batch) == B.COMPLETED
    assert batch.quantity_good == 4


def test_cancel_cancels_the_open_operations(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, "LOT-A", B.SCHEDULED)

    client.post(_move(batch), {"status": "cancelled", "reason": "Customer withdrew"}, headers=HTMX)

    assert _status(batch) == B.CANCELLED
    assert set(batch.operations.values_list("status", flat=True)) == {O.CANCELLED}


@pytest.mark.parametrize(
    ("status", "to", "message"),
    [
        (B.PLANNED, "scheduled", "Batch LOT-A has 2 operation(s) without a machine yet."),
        (B.IN_PROGRESS, "quality_check", "Batch LOT-A still has 2 unfinished operation(s)."),
        (B.COMPLETED, "in_progress", "Cannot move batch LOT-A to in progress: it is completed."),
        (B.SCHEDULED, "planned", "Cannot move batch LOT-A to planned: it is scheduled."),
    ],
)
def test_an_illegal_move_shows_the_services_message_and_changes_nothing(
    client, tenant, status, to, message
):
    _login(client, tenant)
    batch = _batch(tenant, "LOT-A", status)
    events = audit_count(tenant)

    response = client.post(_move(batch), {"status": to}, headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<p class="message error" role="alert">{message}</p>' in html
    assert "HX-Trigger" not in response
    assert _columns(html)[status] == ["LOT-A"]
    assert _status(batch) == status
    assert audit_count(tenant) == events


def test_a_failed_check_blocks_completion_with_the_services_message(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, "LOT-A", B.QUALITY_CHECK)
    QualityCheckFactory(tenant=tenant, batch=batch, measured=Decimal("5.5"))  # fails: 5 ± 0.1

    response = client.post(_move(batch), {"status": "completed"})
    page = client.get(response["Location"])

    assert response["Location"] == BOARD
    assert (
        "Batch LOT-A failed its check of hole diameter; record a passing re-check (after rework) "
        "or cancel the batch." in page.content.decode()
    )
    assert _status(batch) == B.QUALITY_CHECK


@pytest.mark.parametrize("headers", [HTMX, {}])
def test_an_unknown_status_is_a_400_and_changes_nothing(client, tenant, headers):
    _login(client, tenant)
    batch = _batch(tenant, "LOT-A")

    response = client.post(_move(batch), {"status": "shipped"}, headers=headers)

    assert response.status_code == 400
    assert "Choose a valid status to move the batch to." in response.content.decode()
    assert _status(batch) == B.PLANNED


# --- who may do what -------------------------------------------------------------------------
def test_anonymous_people_are_sent_to_log_in(client, tenant):
    batch = _batch(tenant, "LOT-A")

    responses = [client.get(BOARD), client.post(_move(batch), {"status": "cancelled"})]

    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0]["Location"] == f"{reverse('login')}?next={BOARD}"
    assert _status(batch) == B.PLANNED


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_read_the_board_but_cannot_move(client, tenant, role):
    _login(client, tenant, role)
    batch = _batch(tenant, "LOT-A")
    events = audit_count(tenant)

    page = client.get(BOARD)
    moves = [
        client.post(_move(batch), {"status": to}, headers=headers)
        for to in ("in_progress", "cancelled")
        for headers in (HTMX, {})
    ]

    card = _card(page.content.decode(), batch)
    assert page.status_code == 200
    assert _moves_on(card) == []
    assert "draggable" not in card
    assert 'data-dnd="on"' not in page.content.decode()
    assert [r.status_code for r in moves] == [403] * 4
    assert _status(batch) == B.PLANNED
    assert audit_count(tenant) == events


def test_another_tenants_batch_cannot_be_moved(client, tenant, other_tenant):
    _login(client, tenant, "owner")
    foreign = _batch(other_tenant, "FOREIGN")

    responses = [
        client.post(_move(foreign), {"status": "cancelled"}),
        client.post(_move(foreign), {"status": "in_progress"}, headers=HTMX),
        client.post(reverse("production:batch-move", args=[999999]), {"status": "cancelled"}),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert _status(foreign) == B.PLANNED


def test_moves_are_post_only(client, tenant):
    _login(client, tenant)
    batch = _batch(tenant, "LOT-A")

    assert client.get(_move(batch), {"status": "cancelled"}).status_code == 405
    assert _status(batch) == B.PLANNED


# --- in a real browser -----------------------------------------------------------------------
@pytest.fixture
def browser_page(chromium_browser):
    return chromium_browser.new_page()


@pytest.mark.chromium
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_drag_and_drop_and_buttons_move_batches(live_server, browser_page, tenant):
    from playwright.sync_api import expect

    page = browser_page
    dragged = _with_machines(_batch(tenant, "LOT-DRAG"))
    clicked = _batch(tenant, "LOT-CLICK")
    refused = _batch(tenant, "LOT-NOPE")
    log_in(page, live_server, MembershipFactory(tenant=tenant, role="manager").user)
    page.goto(f"{live_server.url}{BOARD}")
    events = []
    page.evaluate("document.body.addEventListener('batchChanged', e => window.__moved = e.detail)")

    page.drag_and_drop(f"#batch-{dragged.pk}", "#column-scheduled")
    expect(page.locator("section[data-status=scheduled] .board-card")).to_have_count(1)
    expect(page.get_by_role("status")).to_have_text("Batch LOT-DRAG moved to scheduled.")
    events.append(page.evaluate("window.__moved.status"))
    page.locator(f"#batch-{clicked.pk}").get_by_role("button", name="Start").click()
    expect(page.locator("section[data-status=in_progress] .lot")).to_have_text(["LOT-CLICK"])
    page.drag_and_drop(f"#batch-{refused.pk}", "#column-scheduled")
    expect(page.get_by_role("alert")).to_have_text(
        "Batch LOT-NOPE has 2 operation(s) without a machine yet."
    )

    page.get_by_label("Lot code").fill("drag")
    expect(page.locator("#board .lot")).to_have_text(["LOT-DRAG"])
    expect(page).to_have_url(re.compile(r"/batches/\?.*q=drag"))

    assert events == ["scheduled"]
    assert (_status(dragged), _status(clicked), _status(refused)) == (
        B.SCHEDULED,
        B.IN_PROGRESS,
        B.PLANNED,
    )


def test_finished_columns_show_only_the_latest_ten(client, tenant):
    _login(client, tenant, "viewer")
    site = SiteFactory(tenant=tenant)
    finished = [_batch(tenant, f"DONE-{i:02}", B.COMPLETED, site=site) for i in range(12)]
    open_ones = [_batch(tenant, f"OPEN-{i:02}", B.PLANNED, site=site) for i in range(12)]

    html = client.get(BOARD).content.decode()

    columns = _columns(html)
    assert columns["completed"] == [b.lot_code for b in reversed(finished)][:10]
    assert len(columns["planned"]) == len(open_ones)
    assert ">Show 2 more</a>" in html
    assert "2 not shown; the filters find any batch." in html


# --- "Show more": a column's next cards ----------------------------------------------------
def _column(status, **query):
    url = reverse("production:batch-board-column", args=[status])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def _lots(html):
    return re.findall(r'class="lot"><a href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def two_per_column(monkeypatch):
    monkeypatch.setattr("mfapp.production.views.COLUMN_LIMIT", 2)


def test_show_more_appends_the_next_cards_in_board_order(client, tenant, two_per_column):
    _login(client, tenant)
    for n in range(5):
        _batch(tenant, f"LOT-{n}", due=date(2030, 5, 10 + n))

    board = client.get(BOARD).content.decode()
    second = client.get(_column("planned", offset=2), headers=HTMX)
    third = client.get(_column("planned", offset=4), headers=HTMX)

    assert _columns(board)["planned"] == ["LOT-0", "LOT-1"]
    assert f'href="{_column("planned", offset=2)}"' in board
    assert second.status_code == 200
    html = second.content.decode()
    assert "<html" not in html
    assert _lots(html) == ["LOT-2", "LOT-3"]
    assert f'hx-get="{_column("planned", offset=4)}"' in html
    assert ">Show 1 more</a>" in html
    assert _moves_on(html) == ["scheduled", "in_progress", "cancelled"] * 2
    assert _lots(third.content.decode()) == ["LOT-4"]
    assert "more-cards" not in third.content.decode()


def test_show_more_keeps_the_boards_filters(client, tenant, two_per_column):
    _login(client, tenant, "viewer")
    bracket, clip = ProductFactory(tenant=tenant), ProductFactory(tenant=tenant)
    for n in range(3):
        _batch(tenant, f"BR-{n}", due=date(2030, 5, 10 + n), product=bracket)
        _batch(tenant, f"CL-{n}", due=date(2030, 5, 10 + n), product=clip)

    board = client.get(BOARD, {"product": clip.pk}).content.decode()
    more = _column("planned", product=clip.pk, offset=2)
    response = client.get(more, headers=HTMX)

    assert _columns(board)["planned"] == ["CL-0", "CL-1"]
    assert f'href="{escape(more)}"' in board  # product=...&amp;offset=2
    assert _lots(response.content.decode()) == ["CL-2"]
    assert _moves_on(response.content.decode()) == []  # a viewer moves nothing


def test_show_more_never_shows_another_tenants_batches(client, tenant, other_tenant):
    _login(client, tenant)
    for n in range(3):
        _batch(other_tenant, f"FOREIGN-{n}")

    response = client.get(_column("planned", offset=0), headers=HTMX)

    assert response.status_code == 200
    assert _lots(response.content.decode()) == []
    assert "FOREIGN" not in response.content.decode()


@pytest.mark.parametrize(
    ("status", "offset", "code", "message"),
    [
        ("nope", "0", 404, None),
        ("planned", "-1", 400, "offset must be a whole number of cards from 0 to 1000000."),
        ("planned", "two", 400, "offset must be a whole number of cards from 0 to 1000000."),
        (
            "planned",
            "1" + "0" * 30,
            400,
            "offset must be a whole number of cards from 0 to 1000000.",
        ),
    ],
)
def test_show_more_refuses_a_bad_column_or_offset(client, tenant, status, offset, code, message):
    _login(client, tenant)
    _batch(tenant, "LOT-A")

    response = client.get(_column(status, offset=offset), headers=HTMX)

    assert response.status_code == code
    if message:
        assert response.content.decode() == message


def test_without_javascript_show_more_opens_a_page_of_the_column(client, tenant, two_per_column):
    _login(client, tenant)
    for n in range(5):
        _batch(tenant, f"LOT-{n}", due=date(2030, 5, 10 + n))

    response = client.get(_column("planned", offset=2))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Planned <small>5</small></h1>" in html
    assert "Batches 3 to 4 of 5 in this column." in html
    assert _lots(html) == ["LOT-2", "LOT-3"]
    assert f'href="{_column("planned", offset=4)}"' in html


def test_show_more_runs_the_same_queries_for_many_batches(client, tenant, two_per_column):
    _login(client, tenant)
    site = SiteFactory(tenant=tenant)
    for n in range(3):
        _batch(tenant, f"ONE-{n}", site=site)
    with CaptureQueriesContext(connection) as few:
        client.get(_column("planned", offset=2), headers=HTMX)
    for n in range(10):
        _batch(tenant, f"MORE-{n}", site=site)

    with CaptureQueriesContext(connection) as many:
        response = client.get(_column("planned", offset=2), headers=HTMX)

    assert len(_lots(response.content.decode())) == 2
    assert len(many) == len(few)


def test_in_the_browser_show_more_appends_cards_that_move(
    live_server, browser_page, tenant, two_per_column
):
    from playwright.sync_api import expect

    page = browser_page
    batches = [
        _with_machines(_batch(tenant, f"LOT-{n}", due=date(2030, 5, 10 + n))) for n in range(3)
    ]
    log_in(page, live_server, MembershipFactory(tenant=tenant, role="manager").user)
    page.goto(f"{live_server.url}{BOARD}")
    planned = page.locator("section[data-status=planned]")
    expect(planned.locator(".lot")).to_have_text(["LOT-0", "LOT-1"])

    planned.get_by_role("link", name="Show 1 more").click()

    expect(planned.locator(".lot")).to_have_text(["LOT-0", "LOT-1", "LOT-2"])
    expect(planned.get_by_role("link", name="Show 1 more")).to_have_count(0)
    expect(page).to_have_url(f"{live_server.url}{BOARD}")  # the board stays the page
    planned.locator(f"#batch-{batches[2].pk}").get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_have_text("Batch LOT-2 moved to scheduled.")
    assert _status(batches[2]) == B.SCHEDULED
