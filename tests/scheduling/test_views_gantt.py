"""The plan pages: the Gantt chart per site and the Re-plan button with its progress."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone

from mfapp.machines.models import Machine
from mfapp.machines.services import machine_change_status
from mfapp.production.models import BatchOperation
from mfapp.scheduling.gantt import CHART_WIDTH, LABEL_WIDTH, PALETTE, build_chart, svg_number
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.selectors import plan_operations
from tests.factories import (
    BatchFactory,
    BatchOperationFactory,
    MaintenanceWindowFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ScheduleRunFactory,
    SiteFactory,
    machine_for,
    member_actor,
    product_with_routing,
)

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)


def _login(client, tenant, role="manager"):
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)


def _planned(site, machine, *, start, minutes, due, lot, order_number):
    """A pending operation of an order's batch planned on `machine` from `start`."""
    order = OrderFactory(tenant=site.tenant, site=site, number=order_number, due_date=due)
    line = OrderLineFactory(tenant=site.tenant, order=order)
    batch = BatchFactory(
        tenant=site.tenant, site=site, order_line=line, product=line.product, lot_code=lot
    )
    return BatchOperationFactory(
        tenant=site.tenant,
        batch=batch,
        sequence=10,
        name="Print",
        machine=machine,
        planned_start=start,
        planned_end=start + timedelta(minutes=minutes),
    )


@pytest.fixture
def site(tenant):
    return SiteFactory(tenant=tenant, name="Kreuzberg", timezone="Europe/Berlin")


# --- the chart as positioned shapes --------------------------------------------------------
def test_bars_sit_at_their_times_and_late_ones_are_flagged(site):
    printer = machine_for(site, name="Prusa", runs_unattended=True)
    mill = machine_for(site, "cnc_mill", name="Mill")
    start = datetime(2026, 11, 30, tzinfo=BERLIN)
    _planned(
        site, printer, start=start + timedelta(hours=1), minutes=180, due=MONDAY,
        lot="LOT-A", order_number="SO-1",
    )  # fmt: skip
    _planned(
        site, mill, start=start + timedelta(hours=23), minutes=120, due=MONDAY,
        lot="LOT-B", order_number="SO-2",
    )  # fmt: skip
    window = MaintenanceWindowFactory(
        tenant=site.tenant,
        machine=mill,
        starts_at=start + timedelta(hours=12),
        ends_at=start + timedelta(hours=14),
        reason="Spindle service",
    )

    chart = build_chart(
        site=site,
        machines=[mill, printer],
        operations=plan_operations(site=site, start=start, end=start + timedelta(days=1)),
        maintenance=[window],
        start=start,
        days=1,
        now=start + timedelta(hours=6),
    )

    scale = CHART_WIDTH / 1440
    mill_row, printer_row = chart.rows
    assert [row.machine for row in chart.rows] == [mill, printer]
    (bar,) = printer_row.bars
    assert (bar.x, bar.width, bar.late) == pytest.approx(
        (LABEL_WIDTH + 60 * scale, 180 * scale, False)
    )
    assert bar.label == "SO-1 · LOT-A"
    (late_bar,) = mill_row.bars
    # Due by the end of Monday: 23:00 + 2 h ends after midnight; clipped at the window's end.
    assert late_bar.late is True
    assert (late_bar.x, late_bar.width) == pytest.approx((LABEL_WIDTH + 1380 * scale, 60 * scale))
    assert late_bar.title.endswith("· due Mon 30 Nov · LATE")
    assert [(s.x, s.width) for s in mill_row.maintenance] == [
        pytest.approx((LABEL_WIDTH + 720 * scale, 120 * scale))
    ]
    assert mill_row.maintenance[0].title == (
        "Maintenance Mon 30 Nov 12:00 to Mon 30 Nov 14:00: Spindle service"
    )
    # Closed outside 08:00-17:00 for the attended mill; the unattended printer never closes.
    assert [(s.x, s.width) for s in mill_row.closed] == [
        pytest.approx((LABEL_WIDTH, 480 * scale)),
        pytest.approx((LABEL_WIDTH + 1020 * scale, 420 * scale)),
    ]
    assert printer_row.closed == []
    assert chart.now_x == pytest.approx(LABEL_WIDTH + 360 * scale)
    assert chart.late_operations == 1
    assert [(k.label, k.late) for k in chart.legend] == [("SO-1", False), ("SO-2", True)]
    assert [t.label for t in chart.ticks] == ["Mon 30 Nov"] + [
        f"{h:02}:00" for h in range(2, 24, 2)
    ]


def test_running_operations_reach_the_present_and_outside_ones_are_left_out(site):
    printer = machine_for(site, name="Prusa")
    start = datetime(2026, 11, 30, tzinfo=BERLIN)
    running = _planned(
        site, printer, start=start, minutes=30, due=MONDAY, lot="LOT-R", order_number="SO-R"
    )
    running.status = BatchOperation.Status.RUNNING
    running.actual_start = start + timedelta(hours=1)
    running.planned_end = None
    running.save()
    _planned(  # on day 3, outside the chart's day
        site, printer, start=start + timedelta(days=2), minutes=30, due=MONDAY,
        lot="LOT-X", order_number="SO-X",
    )  # fmt: skip

    chart = build_chart(
        site=site,
        machines=[printer],
        # The selector's window is wider than the chart's: the chart leaves `later` out itself.
        operations=plan_operations(site=site, start=start, end=start + timedelta(days=3)),
        maintenance=[],
        start=start,
        days=1,
        now=start + timedelta(hours=3),
    )

    scale = CHART_WIDTH / 1440
    (bar,) = chart.rows[0].bars
    assert (bar.x, bar.width, bar.state) == pytest.approx(
        (LABEL_WIDTH + 60 * scale, 120 * scale, "running")
    )


# --- the page ------------------------------------------------------------------------------
def test_the_page_draws_the_sites_machines_and_planned_operations(client, tenant, site):
    _login(client, tenant, "viewer")
    printer = machine_for(site, name="Prusa MK4", runs_unattended=True)
    machine_for(site, name="Idle mill")
    _planned(
        site, printer, start=timezone.now() + timedelta(hours=1), minutes=60,
        due=timezone.localdate() + timedelta(days=5), lot="LOT-77", order_number="SO-77",
    )  # fmt: skip

    response = client.get(reverse("scheduling:gantt", args=[site.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Plan of Kreuzberg <small>Europe/Berlin</small></h1>" in html
    assert html.count('<rect class="bar') == 1
    assert "SO-77 · LOT-77" in html
    assert ">Prusa MK4</text>" in html
    assert ">Idle mill</text>" in html
    assert 'class="today"' in html
    assert "no late operations" in html
    assert 'id="run"' in html
    assert "This site has not been planned yet." in html
    assert "Re-plan</button>" not in html  # a viewer may not ask for a re-plan


def test_bars_and_table_rows_escape_what_people_typed(client, tenant, site):
    """The bars and the plan table are written in Python (for speed): every text is escaped."""
    _login(client, tenant, "viewer")
    printer = machine_for(site, name="Prusa <MK4>", runs_unattended=True)
    start = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    operation = _planned(
        site, printer, start=start, minutes=90, due=MONDAY + timedelta(days=3),
        lot='L<1>&"', order_number="SO-<7>",
    )  # fmt: skip
    operation.name = "Print & <i>cure</i>"
    operation.save()
    product = operation.batch.product
    product.name = 'Clip "<b>"'
    product.save()

    response = client.get(
        reverse("scheduling:gantt", args=[site.pk]), {"from": "2026-11-30", "days": 1, "table": 1}
    )

    html = response.content.decode()
    assert response.status_code == 200
    for typed in ("<i>", "<b>", "<MK4>", 'L<1>&"', "SO-<7>"):
        assert typed not in html
    batch_url = reverse("production:batch-detail", args=[operation.batch_id])
    x, width = (
        svg_number(LABEL_WIDTH + 540 * CHART_WIDTH / 1440),
        svg_number(90 * CHART_WIDTH / 1440),
    )
    colour = PALETTE[operation.batch.order_line.order_id % len(PALETTE)]
    assert (
        '<g class="op op-pending"><title>SO-&lt;7&gt; · L&lt;1&gt;&amp;&quot; · '
        "Clip &quot;&lt;b&gt;&quot; · 10. Print &amp; &lt;i&gt;cure&lt;/i&gt; · "
        "Mon 30 Nov 09:00 to Mon 30 Nov 10:30 · Pending · due Thu 03 Dec</title>"
        f'<a href="{batch_url}"><rect class="bar" x="{x}" y="50.0" width="{width}" '
        f'height="24" rx="3" fill="{colour}"></rect><text x="{x}" dx="4" y="50.0" dy="16" '
        'fill="#fff" font-weight="600">SO-&lt;7&gt; · …</text></a></g>'
    ) in html
    assert (
        '<tr><td data-label="Machine">Prusa &lt;MK4&gt;</td>'
        '<td data-label="Order">SO-&lt;7&gt;</td><td data-label="Lot">L&lt;1&gt;&amp;&quot;</td>'
        '<td data-label="Operation">10. Print &amp; &lt;i&gt;cure&lt;/i&gt;</td>'
        '<td data-label="Start">Mon 30 Nov 09:00</td><td data-label="End">Mon 30 Nov 10:30</td>'
        '<td data-label="Status"><span class="chip status-pending">Pending</span></td></tr>'
    ) in html


def _gantt_with_one_operation(client, tenant, site):
    _login(client, tenant, "viewer")
    printer = machine_for(site, name="Prusa", runs_unattended=True)
    _planned(
        site, printer, start=timezone.now() + timedelta(hours=1), minutes=60,
        due=timezone.localdate() + timedelta(days=5), lot="LOT-T", order_number="SO-T",
    )  # fmt: skip
    return reverse("scheduling:gantt", args=[site.pk])


def test_the_plan_table_is_sent_when_its_disclosure_opens(client, tenant, site):
    url = _gantt_with_one_operation(client, tenant, site)

    page = client.get(url, {"days": 3}).content.decode()
    table = client.get(url, {"days": 3, "table": 1}, headers={"HX-Request": "true"})

    assert "<table" not in page
    assert (
        '<details hx-get="?days=3&amp;table=1" hx-trigger="toggle once" '
        'hx-target="find .table-wrap" hx-swap="innerHTML">'
    ) in page
    assert '<a href="?days=3&amp;table=1">Show the 1 operation as a table</a>' in page
    html = table.content.decode()
    assert html.lstrip().startswith('<table class="responsive">')
    assert html.count("<tr><td") == 1
    assert '<td data-label="Lot">LOT-T</td>' in html
    assert "<svg" not in html


def test_without_javascript_the_plan_table_comes_inline(client, tenant, site):
    url = _gantt_with_one_operation(client, tenant, site)

    html = client.get(url, {"table": 1}).content.decode()

    assert "<details open>" in html
    assert '<td data-label="Lot">LOT-T</td>' in html
    assert "<svg" in html


def test_the_charts_own_refresh_is_the_chart_even_with_the_table_open(client, tenant, site):
    url = _gantt_with_one_operation(client, tenant, site)

    response = client.get(url, {"table": 1}, headers={"HX-Request": "true", "HX-Target": "chart"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="chart"')
    assert "<details open>" in html


def test_the_htmx_refresh_returns_only_the_chart(client, tenant, site):
    _login(client, tenant)
    machine_for(site, name="Prusa")

    response = client.get(
        reverse("scheduling:gantt", args=[site.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="chart"')
    assert 'hx-trigger="planChanged from:body"' in html


def test_the_plan_menu_opens_the_first_site_or_explains_what_to_do(client, tenant, other_tenant):
    _login(client, tenant)
    assert client.get(reverse("scheduling:plan")).content.decode().count("Add a site") == 1

    site = SiteFactory(tenant=tenant, name="Aachen")
    SiteFactory(tenant=tenant, name="Zwickau")
    SiteFactory(tenant=other_tenant, name="Aaa other")

    response = client.get(reverse("scheduling:plan"))

    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:gantt", args=[site.pk])


def test_another_tenants_site_is_not_found(client, tenant, other_tenant):
    _login(client, tenant)
    foreign = SiteFactory(tenant=other_tenant)

    assert client.get(reverse("scheduling:gantt", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("scheduling:replan", args=[foreign.pk])).status_code == 404
    assert ScheduleRun.objects.for_tenant(other_tenant).count() == 0


def test_anonymous_people_are_sent_to_the_login(client, site):
    response = client.get(reverse("scheduling:gantt", args=[site.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_window_can_move_and_widen(client, tenant, site):
    _login(client, tenant)
    machine_for(site)

    response = client.get(
        reverse("scheduling:gantt", args=[site.pk]), {"from": "2026-11-30", "days": "14"}
    )

    page = response.content.decode()
    assert f"Plan of {site.name}, Mon 30 Nov to Mon 14 Dec 2026</title>" in page
    assert 'href="?from=2026-11-16&amp;days=14">← Earlier</a>' in page
    # Nonsense falls back to today and three days instead of failing.
    response = client.get(
        reverse("scheduling:gantt", args=[site.pk]), {"from": "yesterday", "days": "999"}
    )
    assert response.status_code == 200
    assert re.search(r'days=3" aria-current="true">3 days</a>', response.content.decode())


def test_the_page_reads_a_fixed_number_of_queries(
    client, tenant, site, django_assert_max_num_queries
):
    _login(client, tenant)
    printer = machine_for(site, runs_unattended=True)
    url = reverse("scheduling:gantt", args=[site.pk])

    def add(n):
        for i in range(n):
            _planned(
                site, printer, start=timezone.now() + timedelta(hours=n + i), minutes=30,
                due=timezone.localdate(), lot=f"LOT-{n}-{i}", order_number=f"SO-{n}-{i}",
            )  # fmt: skip

    add(2)
    with django_assert_max_num_queries(14) as few:
        client.get(url)
    add(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


# --- re-plan -------------------------------------------------------------------------------
def _open_batch(site):
    product = product_with_routing(site.tenant)
    order = OrderFactory(tenant=site.tenant, site=site, status="confirmed")
    line = OrderLineFactory(tenant=site.tenant, order=order, product=product)
    batch = BatchFactory(tenant=site.tenant, site=site, order_line=line, product=product)
    return BatchOperationFactory(tenant=site.tenant, batch=batch, sequence=10, name="Print")


def test_a_manager_replans_and_sees_the_new_figures(
    client, tenant, site, eager_tasks, django_capture_on_commit_callbacks
):
    _login(client, tenant, "manager")
    printer = machine_for(site, runs_unattended=True)
    operation = _open_batch(site)
    previous = ScheduleRunFactory(
        tenant=tenant, site=site, status="succeeded", tardy_orders=2, makespan_minutes=500
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("scheduling:replan", args=[site.pk]), headers={"HX-Request": "true"}
        )

    run = ScheduleRun.objects.for_tenant(tenant).get(pk__gt=previous.pk)
    status_url = reverse("scheduling:run-status", args=[site.pk, run.pk])
    assert response.status_code == 200
    assert f'hx-get="{status_url}" hx-trigger="every 1s"' in response.content.decode()
    run.refresh_from_db()
    assert run.status == "succeeded"  # the task ran (in-process here) after the commit

    response = client.get(status_url, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response["HX-Trigger"] == '{"planChanged": {}}'
    latest_url = reverse("scheduling:run-latest", args=[site.pk])
    assert f'hx-get="{latest_url}?shown={run.pk}" hx-trigger="every 10s"' in html  # idle again
    assert run.previous_run == previous
    assert '<span class="chip status-succeeded">Succeeded</span>' in html
    assert "This plan against the one before it" in html
    assert '<td class="better">Better</td>' in html  # 2 tardy orders -> 0
    operation.refresh_from_db()
    assert operation.machine == printer
    assert operation.planned_start is not None


def test_without_javascript_the_replan_redirects_back_with_the_run(client, tenant, site):
    _login(client, tenant, "owner")

    response = client.post(reverse("scheduling:replan", args=[site.pk]))

    run = ScheduleRun.objects.for_tenant(tenant).get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('scheduling:gantt', args=[site.pk])}?run={run.pk}"


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_replan(client, tenant, site, role):
    _login(client, tenant, role)

    response = client.post(reverse("scheduling:replan", args=[site.pk]))

    assert response.status_code == 403
    assert ScheduleRun.objects.for_tenant(tenant).count() == 0


def test_a_queued_run_is_polled_until_it_finishes(client, tenant, site):
    _login(client, tenant)
    run = ScheduleRunFactory(tenant=tenant, site=site, status="queued")
    url = reverse("scheduling:run-status", args=[site.pk, run.pk])

    response = client.get(url, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert f'hx-get="{url}" hx-trigger="every 1s"' in html
    assert "Waiting for a scheduling worker" in html
    assert "HX-Trigger" not in response

    ScheduleRun.objects.for_tenant(tenant).filter(pk=run.pk).update(
        status="failed", error="solver exploded"
    )
    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' not in html
    assert "The run failed: solver exploded." in html


def test_a_run_of_another_site_or_tenant_is_not_found(client, tenant, other_tenant, site):
    _login(client, tenant)
    other_site_run = ScheduleRunFactory(tenant=tenant, site=SiteFactory(tenant=tenant))
    foreign_run = ScheduleRunFactory(tenant=other_tenant)

    for run in (other_site_run, foreign_run):
        url = reverse("scheduling:run-status", args=[site.pk, run.pk])
        assert client.get(url).status_code == 404


def test_a_machine_going_down_moves_its_operations(
    client, tenant, site, eager_tasks, django_capture_on_commit_callbacks
):
    """What a user sees after `make run`: mark a machine down and the plan moves off it."""
    _login(client, tenant, "manager")
    first = machine_for(site, name="First", runs_unattended=True)
    second = machine_for(site, name="Second", runs_unattended=True)
    operation = _open_batch(site)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("scheduling:replan", args=[site.pk]), headers={"HX-Request": "true"})
    operation.refresh_from_db()
    busy, spare = (first, second) if operation.machine == first else (second, first)

    with django_capture_on_commit_callbacks(execute=True):
        machine_change_status(
            actor=member_actor(tenant), machine=busy, status=Machine.Status.DOWN, reason="Broken"
        )

    operation.refresh_from_db()
    assert operation.machine == spare
    html = client.get(reverse("scheduling:gantt", args=[site.pk])).content.decode()
    assert "Machine status changed" in html


def test_an_idle_page_learns_of_a_plan_made_elsewhere(client, tenant, site):
    _login(client, tenant, "viewer")
    shown = ScheduleRunFactory(tenant=tenant, site=site, status="succeeded")
    url = reverse("scheduling:run-latest", args=[site.pk])

    unchanged = client.get(url, {"shown": shown.pk}, headers={"HX-Request": "true"})
    newer = ScheduleRunFactory(tenant=tenant, site=site, status="succeeded", tardy_orders=0)
    changed = client.get(url, {"shown": shown.pk}, headers={"HX-Request": "true"})

    assert (unchanged.status_code, unchanged.content) == (204, b"")
    assert changed.status_code == 200
    assert changed["HX-Trigger"] == '{"planChanged": {}}'
    assert f"?shown={newer.pk}" in changed.content.decode()


# --- coordinates written in Python, as the template filter wrote them -------------------------
@pytest.mark.parametrize(
    "value",
    [0.0, -0.0, -0.04, -0.05, 0.05, 0.15, 0.25, 1.45, 2.0, 12.349999, 12.35, 180.0, 1119.95]
    + [i / 7 for i in range(-30, 3000, 13)],
)
def test_svg_numbers_match_floatformat(value):
    assert svg_number(value) == floatformat(value, "1u")
