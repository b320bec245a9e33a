"""The shop floor: machine tiles by site, and the touch page per machine where operators start,
pause, resume and finish operations; both refresh themselves by polling with a fingerprint."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from mfapp.catalog.capabilities import Capability
from mfapp.machines.models import Machine
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.services import operation_finish, operation_pause, operation_start
from tests.browser_helpers import log_in
from tests.factories import (
    MembershipFactory,
    ProductFactory,
    SiteFactory,
    audit_events,
    batch_with_operations,
    machine_for,
)

pytestmark = pytest.mark.django_db

O = BatchOperation.Status  # noqa: E741
LIST = reverse("shopfloor:machine-list")
HTMX = {"HX-Request": "true"}
FDM = Capability.FDM_PRINT
MONDAY_8_BERLIN = datetime(2030, 1, 7, 7, 0, tzinfo=UTC)


def _login(client, tenant, role="operator"):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _page(machine):
    return reverse("shopfloor:machine", args=[machine.pk])


def _action(machine, operation, action):
    return reverse("shopfloor:operation-action", args=[machine.pk, operation.pk, action])


def _version(response):
    """The fingerprint a rendered page or partial polls with."""
    return re.search(r'\?version=([0-9a-f]+)"', response.content.decode()).group(1)


def _plan(operation, machine, start):
    """What a schedule run writes: the machine and the planned times of a pending operation."""
    operation.machine, operation.planned_start = machine, start
    operation.planned_end = start + timedelta(hours=1)
    operation.save(update_fields=["machine", "planned_start", "planned_end", "updated_at"])


def _floor(tenant, **batch_fields):
    """Site Berlin with printer "Prusa 1" and a planned batch LOT-A of 10 (two FDM steps)
    whose first step is planned on the printer."""
    site = SiteFactory(tenant=tenant, name="Berlin", timezone="Europe/Berlin")
    printer = machine_for(site, name="Prusa 1")
    product = ProductFactory(tenant=tenant, name="Hinge", sku="HNG-1")
    batch = batch_with_operations(
        tenant, site=site, product=product, lot_code="LOT-A", quantity_planned=10, **batch_fields
    )
    first, second = batch.operations.order_by("sequence")
    _plan(first, printer, MONDAY_8_BERLIN)
    return printer, batch, first, second


def _running(tenant, system):
    printer, batch, first, second = _floor(tenant)
    operation_start(actor=system, operation=first, machine_id=printer.pk)
    return printer, batch, first, second


def _state(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return tuple(obj.status for obj in objects)


# --- machine list ----------------------------------------------------------------------------
def test_machine_list_shows_tiles_by_site_with_what_runs_now(client, tenant, system):
    # given: a running printer at Berlin, an idle mill at Aachen (sorted first)
    printer, _, first, _ = _running(tenant, system)
    aachen = SiteFactory(tenant=tenant, name="Aachen")
    mill = machine_for(aachen, Capability.CNC_MILL_3AXIS, name="Mill", kind="cnc-mill")
    _login(client, tenant, "viewer")

    # when
    response = client.get(LIST)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert html.index(">Aachen</h2>") < html.index(">Berlin</h2>")
    assert [[tile.machine.pk for tile in s.tiles] for s in response.context["overview"].sites] == [
        [mill.pk],
        [printer.pk],
    ]
    assertContains(response, f'<a class="tile" href="{_page(printer)}">')
    assertContains(response, '<span class="chip status-running">Running</span>', html=True)
    assertContains(response, f"<strong>LOT-A</strong> · Hinge · {first.name}")
    assertContains(response, '<span class="chip status-available">Available</span>', html=True)
    assertContains(response, '<span class="tile-now muted">Nothing running</span>', html=True)


def test_machine_list_counts_what_is_planned_on_each_machine(client, tenant):
    printer, _, _, second = _floor(tenant)
    _plan(second, printer, MONDAY_8_BERLIN + timedelta(hours=2))
    _login(client, tenant)

    response = client.get(LIST)

    assertContains(
        response,
        '<span class="tile-next muted">2 planned · next Mon 08:00</span>',
        html=True,
    )


def test_machine_list_has_an_empty_state(client, tenant):
    _login(client, tenant)

    response = client.get(LIST)

    assert response.status_code == 200
    assertContains(response, "No machines yet.")


def test_machine_list_partial_and_polling(client, tenant, system):
    printer, _, first, _ = _floor(tenant)
    _login(client, tenant)
    version = client.get(LIST).context["overview"].fingerprint

    partial = client.get(LIST, headers=HTMX)
    unchanged = client.get(LIST, {"version": version}, headers=HTMX)
    operation_start(actor=system, operation=first, machine_id=printer.pk)
    changed = client.get(LIST, {"version": version}, headers=HTMX)

    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert partial.content.decode().lstrip().startswith('<div id="machine-tiles"')
    assert (unchanged.status_code, unchanged.content) == (204, b"")
    assert changed.status_code == 200
    assert _version(partial) == version
    assert _version(changed) != version


def test_machine_list_queries_do_not_grow_with_machines(
    client, tenant, system, django_assert_max_num_queries
):
    for index in range(4):
        site = SiteFactory(tenant=tenant, name=f"Site {index}")
        for number in range(3):
            machine = machine_for(site, name=f"Printer {number}")
            batch = batch_with_operations(tenant, capabilities=[FDM], site=site)
            operation_start(actor=system, operation=batch.operations.get(), machine_id=machine.pk)
    _login(client, tenant)

    with django_assert_max_num_queries(6):  # session, user, memberships x2, machines, operations
        response = client.get(LIST)

    assert sum(len(s.tiles) for s in response.context["overview"].sites) == 12
    assert response.content.decode().count("Now:") == 12


# --- machine page: what it shows -------------------------------------------------------------
def test_machine_page_shows_the_current_operation(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    BatchOperation.objects.for_tenant(tenant).filter(pk=first.pk).update(
        actual_start=MONDAY_8_BERLIN
    )
    _login(client, tenant)

    response = client.get(_page(printer))

    assert response.status_code == 200
    assert [op.pk for op in response.context["board"].current] == [first.pk]
    assertContains(response, "<h1>Prusa 1</h1>", html=True)
    assertContains(response, '<span class="chip status-running">Running</span>', html=True)
    assertContains(
        response,
        f"""<dl class="facts">
          <dt>Batch</dt><dd><a href="/batches/{first.batch_id}/">LOT-A</a></dd>
          <dt>Product</dt><dd>Hinge <span class="muted">HNG-1</span></dd>
          <dt>Step</dt><dd>10 · {first.name}</dd>
          <dt>Quantity</dt><dd>10 of 10 planned</dd>
          <dt>Good so far</dt><dd>none yet (first step)</dd>
          <dt>Scrap so far</dt><dd>0</dd>
          <dt>Started at</dt>
          <dd><time datetime="2030-01-07T08:00:00+01:00">Mon 7 Jan, 08:00</time></dd>
        </dl>""",
        html=True,
    )
    # the finish form offers the units that reached the step, big numeric inputs
    assertContains(
        response,
        '<input type="number" name="quantity_good" value="10" inputmode="numeric" '
        'autocomplete="off" class="big-number" min="0" required id="id_quantity_good">',
        html=True,
    )
    assertContains(response, 'hx-trigger="every 5s"')
    assertContains(response, f"?version={response.context['board'].fingerprint}")


def test_good_and_scrap_so_far_come_from_earlier_steps(client, tenant, system):
    printer, _, first, second = _running(tenant, system)
    operation_finish(actor=system, operation=first, quantity_good=8, quantity_scrap=2)
    operation_start(actor=system, operation=second, machine_id=printer.pk)
    _login(client, tenant)

    response = client.get(_page(printer))

    assertContains(response, "<dt>Quantity</dt><dd>8 of 10 planned</dd>", html=True)
    assertContains(response, "<dt>Good so far</dt><dd>8 from earlier steps</dd>", html=True)
    assertContains(response, "<dt>Scrap so far</dt><dd>2</dd>", html=True)
    assert response.context["finish_form"]["quantity_good"].value() == 8


def test_next_operations_follow_the_plan_by_planned_start(client, tenant):
    # given: a later batch planned earlier on the printer, and one planned on another machine
    printer, _, first, _ = _floor(tenant)
    early = batch_with_operations(
        tenant, capabilities=[FDM], site=printer.site, lot_code="LOT-EARLY"
    )
    _plan(early.operations.get(), printer, MONDAY_8_BERLIN - timedelta(hours=3))
    elsewhere = batch_with_operations(tenant, capabilities=[FDM], site=printer.site)
    _plan(elsewhere.operations.get(), machine_for(printer.site), MONDAY_8_BERLIN)
    _login(client, tenant)

    response = client.get(_page(printer))

    board = response.context["board"]
    assert board.planned is True
    assert [op.pk for op in board.upcoming] == [early.operations.get().pk, first.pk]
    assertContains(response, "Next <small>as planned</small>", html=True)
    assertContains(
        response,
        'Planned <time datetime="2030-01-07T08:00:00+01:00">Mon 7 Jan, 08:00</time>'
        "\N{EN DASH}09:00",
    )
    assertContains(response, '<button type="submit" class="big primary">Start', count=1)


def test_without_a_plan_ready_operations_this_machine_can_do_are_next(client, tenant):
    # given: unplanned work at the printer's site
    site = SiteFactory(tenant=tenant, name="Berlin")
    printer = machine_for(site, name="Prusa 1")
    ready = batch_with_operations(tenant, capabilities=[FDM, FDM], site=site)
    first, _waiting = ready.operations.order_by("sequence")
    batch_with_operations(tenant, capabilities=[Capability.LASER_CUT], site=site)  # cannot do
    batch_with_operations(tenant, capabilities=[FDM])  # another site
    other = batch_with_operations(tenant, capabilities=[FDM], site=site)
    _plan(other.operations.get(), machine_for(site), MONDAY_8_BERLIN)  # someone else's plan
    later = batch_with_operations(
        tenant, capabilities=[FDM], site=site, release_at=timezone.now() + timedelta(days=2)
    )
    _login(client, tenant)

    response = client.get(_page(printer))

    board = response.context["board"]
    assert board.planned is False
    assert [op.pk for op in board.upcoming] == [first.pk, later.operations.get().pk]
    assertContains(response, "Next <small>ready work this machine can do</small>", html=True)
    assertContains(response, '<span class="blocked">Released', count=1)
    assertContains(response, '<button type="submit" class="big primary">Start', count=1)


def test_machine_page_empty_state(client, tenant):
    printer = machine_for(SiteFactory(tenant=tenant, name="Berlin"), name="Prusa 1")
    _login(client, tenant)

    response = client.get(_page(printer))

    assertContains(response, "Nothing is running on this machine.</p>")
    assertContains(response, "Nothing planned or ready for this machine.")


def test_no_start_while_the_machine_is_running(client, tenant, system):
    printer, _, _, second = _running(tenant, system)
    _plan(second, printer, MONDAY_8_BERLIN + timedelta(hours=2))
    _login(client, tenant)

    response = client.get(_page(printer))

    assert [op.pk for op in response.context["board"].upcoming] == [second.pk]
    assertNotContains(response, "/start/")
    assertContains(response, "Finish or pause the running operation to start the next one.")


def test_machine_page_partial(client, tenant):
    printer, *_ = _floor(tenant)
    _login(client, tenant)

    response = client.get(_page(printer), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="machine-live"')
    assert "LOT-A" in html


def test_machine_page_queries_do_not_grow_with_operations(
    client, tenant, system, django_assert_max_num_queries
):
    printer, *_ = _running(tenant, system)
    for hours in range(1, 6):  # after the running operation's hour (no double booking)
        batch = batch_with_operations(tenant, capabilities=[FDM], site=printer.site)
        _plan(batch.operations.get(), printer, MONDAY_8_BERLIN + timedelta(hours=hours))
    _login(client, tenant)

    with django_assert_max_num_queries(7):  # 4 for the member, machine, current, planned
        response = client.get(_page(printer))

    assert len(response.context["board"].upcoming) == 5


# --- polling ---------------------------------------------------------------------------------
def test_polling_answers_204_until_something_changes(client, tenant, system):
    printer, _, first, second = _floor(tenant)
    _login(client, tenant)
    version = client.get(_page(printer)).context["board"].fingerprint

    same = client.get(_page(printer), {"version": version}, headers=HTMX)
    _plan(second, printer, MONDAY_8_BERLIN + timedelta(hours=1))  # a re-plan
    replanned = client.get(_page(printer), {"version": version}, headers=HTMX)
    new_version = _version(replanned)
    operation_start(actor=system, operation=first, machine_id=printer.pk)
    started = client.get(_page(printer), {"version": new_version}, headers=HTMX)
    stale_without_htmx = client.get(_page(printer), {"version": "0"})

    assert (same.status_code, same.content) == (204, b"")
    assert replanned.status_code == 200
    assert replanned.content.decode().index(first.name) < replanned.content.decode().index(
        second.name
    )
    assertContains(replanned, f'hx-get="{_page(printer)}?version={new_version}"')
    assert new_version != version
    assert started.status_code == 200
    assert _version(started) not in (version, new_version)
    assert stale_without_htmx.status_code == 200


# --- actions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["owner", "manager", "operator"])
def test_start_the_next_operation_with_htmx(client, tenant, role):
    printer, batch, first, _ = _floor(tenant)
    _login(client, tenant, role)

    response = client.post(_action(printer, first, "start"), headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="machine-live"')
    assertContains(
        response,
        f'<div class="notice" role="status">Started {first.name} of batch LOT-A.</div>',
        html=True,
    )
    assert json.loads(response["HX-Trigger"]) == {
        "operationChanged": {"operation": first.pk, "machine": printer.pk, "action": "start"}
    }
    assert _state(first, printer, batch) == (O.RUNNING, "running", Batch.Status.IN_PROGRESS)
    assert first.machine_id == printer.pk
    assertContains(
        response,
        f'<h3 id="op-{first.pk}-h"><span class="chip status-running">Running</span> '
        f"LOT-A · {first.name}</h3>",
        html=True,
    )


def test_start_a_ready_operation_takes_it_onto_this_machine(client, tenant):
    site = SiteFactory(tenant=tenant)
    printer = machine_for(site)
    operation = batch_with_operations(tenant, capabilities=[FDM], site=site).operations.get()
    _login(client, tenant)

    response = client.post(_action(printer, operation, "start"))

    assert response.status_code == 302
    assert response["Location"] == _page(printer)
    operation.refresh_from_db()
    assert (operation.status, operation.machine_id) == (O.RUNNING, printer.pk)


def test_without_javascript_an_action_redirects_back_with_a_message(client, tenant):
    printer, _, first, _ = _floor(tenant)
    _login(client, tenant)

    response = client.post(_action(printer, first, "start"), follow=True)

    assert response.redirect_chain == [(_page(printer), 302)]
    assertContains(response, f"Started {first.name} of batch LOT-A.")
    assert _state(first) == (O.RUNNING,)


def test_pause_with_a_reason(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    _login(client, tenant)

    response = client.post(
        _action(printer, first, "pause"),
        {"reason": "waiting", "note": "PLA spool empty"},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert _state(first, printer) == (O.PAUSED, "available")
    [event] = audit_events(tenant, verb="operation.paused", target=first)
    assert event.message == "Waiting for parts or material: PLA spool empty"
    assertContains(response, '<span class="chip status-paused">Paused</span>', html=True)
    assertContains(response, '<button type="submit" class="big primary">Resume')


def test_pause_for_another_reason_needs_a_note(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    _login(client, tenant)

    response = client.post(_action(printer, first, "pause"), {"reason": "other", "note": " "})

    assert response.status_code == 400
    assert response.context["pause_form"].errors == {"note": ["Say why when you choose Other."]}
    assertContains(response, '<details class="pause" open>', status_code=400)
    assert _state(first, printer) == (O.RUNNING, "running")
    assert audit_events(tenant, verb="operation.paused") == []


def test_resume_a_paused_operation(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    operation_pause(actor=system, operation=first, reason="Break")
    _login(client, tenant)

    response = client.post(_action(printer, first, "resume"), headers=HTMX)

    assert response.status_code == 200
    assert _state(first, printer) == (O.RUNNING, "running")
    assert json.loads(response["HX-Trigger"])["operationChanged"]["action"] == "resume"


def test_finish_with_good_and_scrap(client, tenant, system):
    printer, batch, first, second = _running(tenant, system)
    _login(client, tenant)

    response = client.post(
        _action(printer, first, "finish"),
        {"quantity_good": "9", "quantity_scrap": "1"},
        headers=HTMX,
    )

    assert response.status_code == 200
    first.refresh_from_db()
    batch.refresh_from_db()
    assert (first.status, first.quantity_good, first.quantity_scrap) == (O.DONE, 9, 1)
    assert (batch.quantity_scrap, _state(printer)) == (1, ("available",))
    assertContains(
        response,
        f'<div class="notice" role="status">Finished {first.name} of batch LOT-A: '
        "9 good, 1 scrap.</div>",
        html=True,
    )
    # the second step is ready now and this printer can take it
    assertContains(response, f'action="{_action(printer, second, "start")}"', count=1)
    assertContains(response, "/start/", count=2)  # action and hx-post of that one form


def test_finish_with_blank_scrap_counts_none(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    _login(client, tenant)

    client.post(_action(printer, first, "finish"), {"quantity_good": "10", "quantity_scrap": ""})

    first.refresh_from_db()
    assert (first.status, first.quantity_good, first.quantity_scrap) == (O.DONE, 10, 0)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"quantity_good": "-1", "quantity_scrap": "0"},
            {"quantity_good": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            {"quantity_good": "", "quantity_scrap": "x"},
            {
                "quantity_good": ["This field is required."],
                "quantity_scrap": ["Enter a whole number."],
            },
        ),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_quantities_are_refused_and_nothing_changes(
    client, tenant, system, data, errors, htmx
):
    printer, batch, first, _ = _running(tenant, system)
    _login(client, tenant)

    response = client.post(_action(printer, first, "finish"), data, headers=HTMX if htmx else {})

    assert response.status_code == 400
    html = response.content.decode()
    for field, messages in errors.items():
        items = "".join(f"<li>{message}</li>" for message in messages)
        assertContains(
            response,
            f'<ul class="errorlist" id="id_{field}_error">{items}</ul>',
            html=True,
            status_code=400,
        )
    assert html.count('<ul class="errorlist"') == len(errors)
    assert ("<html" in html) is not htmx
    assert _state(first, batch) == (O.RUNNING, Batch.Status.IN_PROGRESS)
    assert audit_events(tenant, verb="operation.finished") == []


def test_more_units_than_reached_the_step_are_refused(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    _login(client, tenant)

    response = client.post(
        _action(printer, first, "finish"),
        {"quantity_good": "10", "quantity_scrap": "2"},
        headers=HTMX,
    )

    assert response.status_code == 400
    assertContains(
        response,
        '<ul class="errorlist" id="id_quantity_good_error">'
        "<li>At most 10 with the scrap.</li></ul>",
        html=True,
        status_code=400,
    )
    assertContains(
        response,
        '<div class="refusal" role="alert">Only 10 unit(s) reached this operation; '
        "good + scrap (12) cannot be more.</div>",
        html=True,
        status_code=400,
    )
    assert _state(first) == (O.RUNNING,)


def test_a_refusal_is_shown_in_large_text(client, tenant):
    printer, _, first, _ = _floor(tenant)
    Machine.objects.for_tenant(tenant).filter(pk=printer.pk).update(
        status=Machine.Status.DOWN, status_reason="Hot end clogged"
    )
    _login(client, tenant)

    with_htmx = client.post(_action(printer, first, "start"), headers=HTMX)
    without = client.post(_action(printer, first, "start"), follow=True)

    assertContains(
        with_htmx,
        '<div class="refusal" role="alert">Machine Prusa 1 is down.</div>',
        html=True,
        status_code=409,
    )
    assert "HX-Trigger" not in with_htmx
    assert without.redirect_chain == [(_page(printer), 302)]
    assertContains(without, '<li class="message error">Machine Prusa 1 is down.</li>', html=True)
    assert _state(first) == (O.PENDING,)
    assertContains(without, "The machine is down: set it back to available to start work.")


def test_finishing_a_paused_operation_is_refused(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    operation_pause(actor=system, operation=first, reason="Break")
    _login(client, tenant)

    response = client.post(
        _action(printer, first, "finish"),
        {"quantity_good": "10", "quantity_scrap": "0"},
        headers=HTMX,
    )

    assertContains(
        response,
        f'<div class="refusal" role="alert">Operation {first.name} is paused; only a running '
        "operation can finish.</div>",
        html=True,
        status_code=409,
    )
    assert _state(first) == (O.PAUSED,)


# --- permissions and tenancy -----------------------------------------------------------------
def test_viewers_see_the_page_without_buttons_and_cannot_act(client, tenant, system):
    # given: one operation running on a printer, a ready one planned on an idle printer
    printer, _, first, _ = _running(tenant, system)
    idle = machine_for(printer.site, name="Prusa 2")
    ready = batch_with_operations(tenant, capabilities=[FDM], site=printer.site).operations.get()
    _plan(ready, idle, MONDAY_8_BERLIN)
    _login(client, tenant, "viewer")

    pages = [client.get(_page(printer)), client.get(_page(idle))]
    responses = [
        client.post(_action(printer, first, "finish"), {"quantity_good": "10"}),
        client.post(_action(printer, first, "pause"), {"reason": "break"}),
        client.post(_action(idle, ready, "start"), headers=HTMX),
    ]

    assert [p.status_code for p in pages] == [200, 200]
    assertContains(pages[0], "LOT-A")
    assertContains(pages[1], ready.batch.lot_code)
    for page in pages:
        main = page.content.decode().split('<main id="main">', 1)[1]
        assert ("<form" in main, "<button" in main) == (False, False)
        assertContains(page, "You can follow this machine here.")
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert _state(first, ready, printer, idle) == (O.RUNNING, O.PENDING, "running", "available")


def test_anonymous_people_are_sent_to_log_in(client, tenant):
    printer, _, first, _ = _floor(tenant)
    login = reverse("login")

    responses = [
        client.get(LIST),
        client.get(_page(printer)),
        client.post(_action(printer, first, "start")),
    ]

    assert [r.status_code for r in responses] == [302, 302, 302]
    assert all(r["Location"].startswith(f"{login}?next=") for r in responses)
    assert _state(first) == (O.PENDING,)


def test_another_tenants_machine_and_operations_are_404_and_unchanged(client, tenant, other_tenant):
    mine, _, my_operation, _ = _floor(tenant)
    foreign_printer, _, foreign_operation, _ = _floor(other_tenant)
    _login(client, tenant, "owner")

    responses = [
        client.get(_page(foreign_printer)),
        client.get(_page(foreign_printer), headers=HTMX),
        client.post(_action(foreign_printer, foreign_operation, "start")),
        client.post(_action(mine, foreign_operation, "start")),
        client.post(_action(foreign_printer, my_operation, "start")),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert _state(foreign_operation, foreign_printer, my_operation) == (
        O.PENDING,
        "available",
        O.PENDING,
    )
    assert audit_events(other_tenant, verb="operation.started") == []


def test_an_operation_on_another_machine_is_404_here(client, tenant, system):
    printer, _, first, _ = _running(tenant, system)
    other_printer = machine_for(printer.site)
    _login(client, tenant)

    responses = [
        client.post(_action(other_printer, first, "pause"), {"reason": "break"}),
        client.post(_action(other_printer, first, "finish"), {"quantity_good": "10"}),
    ]

    assert [r.status_code for r in responses] == [404, 404]
    first.refresh_from_db()
    assert (first.status, first.machine_id) == (O.RUNNING, printer.pk)


def test_unknown_actions_and_get_requests_are_refused(client, tenant):
    printer, _, first, _ = _floor(tenant)
    _login(client, tenant)

    unknown = client.post(_action(printer, first, "explode"))
    as_get = client.get(_action(printer, first, "start"))

    assert (unknown.status_code, as_get.status_code) == (404, 405)
    assert _state(first) == (O.PENDING,)


# --- in a real browser -----------------------------------------------------------------------
@pytest.fixture
def browser_page(chromium_browser):
    return chromium_browser.new_page()


@pytest.mark.chromium
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_an_operator_runs_an_operation(live_server, browser_page, tenant):
    from playwright.sync_api import expect

    # given: an operator at the printer page, the first step of LOT-A planned on it
    page = browser_page
    printer, _, first, _ = _floor(tenant)
    log_in(page, live_server, MembershipFactory(tenant=tenant, role="operator").user)
    page.goto(f"{live_server.url}{_page(printer)}")
    polls = []
    page.on("response", lambda r: polls.append(r.status) if "version=" in r.url else None)

    # a refusal (409) is swapped in and said in large text
    Machine.objects.for_tenant(tenant).filter(pk=printer.pk).update(status="down")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("alert")).to_have_text("Machine Prusa 1 is down.")
    Machine.objects.for_tenant(tenant).filter(pk=printer.pk).update(status="available")
    # the poll notices the change and brings the Start button back
    start = page.get_by_role("button", name="Start")
    expect(start).to_be_visible(timeout=8000)
    assert 200 in polls

    # start: the live region is swapped with the running operation and its finish form
    start.click()
    expect(page.get_by_role("status")).to_have_text(f"Started {first.name} of batch LOT-A.")
    good = page.get_by_label("Good units")
    expect(good).to_have_value("10")

    # unchanged state: polls answer 204 and leave what the operator types alone
    polls.clear()
    page.wait_for_timeout(5500)
    assert polls
    assert set(polls) == {204}
    good.fill("12")
    polls.clear()
    page.wait_for_timeout(5500)
    expect(good).to_have_value("12")
    assert polls == []  # shopfloor.js holds the poll back while the operator is typing

    # too many units: refused beside the input and in large text, nothing finished
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("alert")).to_contain_text("Only 10 unit(s) reached this operation")
    expect(page.locator("#id_quantity_good_error")).to_have_text("At most 10 with the scrap.")
    assert _state(first) == (O.RUNNING,)

    # finish with good and scrap
    page.get_by_label("Good units").fill("9")
    page.get_by_label("Scrap units").fill("1")
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Finished {first.name} of batch LOT-A: 9 good, 1 scrap."
    )
    first.refresh_from_db()
    assert (first.status, first.quantity_good, first.quantity_scrap) == (O.DONE, 9, 1)
