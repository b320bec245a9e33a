"""Background jobs at scale (issue 8): schedule runs per minute through a real Celery worker,
and the sustainability report of the largest tenant.

1. Scheduling: starts `celery -A mfapp worker -Q scheduling --concurrency 2 --pool prefork`
   with the production settings, requests a re-plan of every site of the database (or of the
   --sites smallest, by open operations) through `schedule_run_request` as each tenant's
   owner, and waits until every run succeeded or failed. Runs per minute = runs / (first
   request to last `finished_at`). Exits non-zero when a run failed or did not finish.
2. Reports: `report_document` and `report_generate_for_period` (what the `reports` task runs:
   it also stores the document) for the whole business of the tenant with most orders, over
   the last 12 months of its data, --report-runs times each, timed, queries counted.

    # once: the roles and the scaled database `mfapp_scale`, as bench/web_bench.py's
    # docstring shows (migrate as the owner, seed_scale as the app role, VACUUM ANALYZE); then
    DATABASE_URL=postgres://mfapp_app@127.0.0.1:5432/mfapp_scale \\
        .venv/bin/python bench/jobs_bench.py --out docs/benchmarks/jobs.md
    # a quick check: the 5 smallest sites, the report once
    DATABASE_URL=... .venv/bin/python bench/jobs_bench.py --sites 5 --report-runs 1

Needs Redis: the broker (flushed at the start and the end: give the benchmark a database of
its own) and the tenant cache. The benchmark changes what the app's services change: each
selected site gets a new schedule run (its plan saved, audited), the report of the period is
stored (refreshed when it exists). The worker, its CP-SAT threads and PostgreSQL share the
machine's cores: keep the load average printed in the report in mind.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETTINGS = "mfapp.settings.production"
POLL_SECONDS = 0.5
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _environment(args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "MFAPP_CACHE_URL": args.cache_url,
        "CELERY_BROKER_URL": args.broker_url,
        "CELERY_RESULT_BACKEND": args.broker_url,
        "DJANGO_SECRET_KEY": "jobs-bench-not-a-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MFAPP_SCHEDULING_TIME_LIMIT_SECONDS": str(args.time_limit),
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def _spread(values: list[float]) -> dict[str, float]:
    """min, median, p90, max, sum (p90 by the exclusive method, the max for one value)."""
    ordered = sorted(values)
    p90 = statistics.quantiles(ordered, n=10)[-1] if len(ordered) > 1 else ordered[0]
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p90": min(p90, ordered[-1]),
        "max": ordered[-1],
        "sum": sum(ordered),
    }


# --- scheduling ----------------------------------------------------------------------------
@dataclass
class SiteRow:
    site: Any
    owner: Any
    open_operations: int
    machines: int


@dataclass
class RunRow:
    tenant: str
    site: str
    open_operations: int
    status: str
    solver_status: str
    source: str
    operations: int
    machines: int  # the site's, plannable or not
    wait_s: float  # requested -> started (includes the 2 s debounce countdown)
    run_s: float  # started -> finished: load, solve, validate, save
    solver_s: float  # ScheduleRun.wall_seconds: dispatcher + CP-SAT
    error: str = ""


@dataclass
class Scheduling:
    sites: list[SiteRow]
    runs: list[RunRow] = field(default_factory=list)
    requested_s: float = 0.0  # issuing every request
    wall_s: float = 0.0  # first request -> last finished_at
    unfinished: int = 0
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    worker_errors: list[str] = field(default_factory=list)


def _sites(limit: int | None) -> list[SiteRow]:
    """Every site with its open operations (what the scheduler plans), smallest first."""
    from mfapp.core import rls
    from mfapp.machines.models import Machine
    from mfapp.scheduling.adapter import open_operations
    from mfapp.tenancy.models import Membership, Site

    with rls.platform_access(reason="jobs benchmark: list the sites"):
        sites = list(Site.objects.all_tenants().select_related("tenant").order_by("pk"))
    rows = []
    for site in sites:
        with rls.tenant_context(site.tenant_id):
            owner = (
                Membership.objects.for_tenant(site.tenant)
                .filter(role=Membership.Role.OWNER)
                .select_related("user")
                .order_by("pk")
                .first()
            )
            if owner is None:
                raise SystemExit(f"{site.tenant.slug} has no owner to request its re-plan.")
            rows.append(
                SiteRow(
                    site=site,
                    owner=owner.user,
                    open_operations=open_operations(site=site).count(),
                    machines=Machine.objects.for_tenant(site.tenant).filter(site=site).count(),
                )
            )
    rows.sort(key=lambda r: (r.open_operations, r.site.pk))
    return rows[:limit] if limit else rows


def _refuse_pending_runs(sites: list[SiteRow]) -> None:
    """A run already queued would be returned by the debounce, and its message may be gone."""
    from mfapp.core import rls
    from mfapp.scheduling.models import ScheduleRun

    with rls.platform_access(reason="jobs benchmark: runs still pending"):
        pending = list(
            ScheduleRun.objects.all_tenants()
            .filter(
                site_id__in=[r.site.pk for r in sites],
                status__in=[ScheduleRun.Status.QUEUED, ScheduleRun.Status.RUNNING],
            )
            .values_list("pk", "site_id", "status")
        )
    if pending:
        raise SystemExit(
            f"Schedule runs still queued or running for the selected sites: {pending}. "
            "Let a scheduling worker finish them (or wait for a running one) first."
        )


def _worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "mfapp",
        "worker",
        "-Q",
        "scheduling",
        "--concurrency",
        "2",
        "--pool",
        "prefork",
        "-n",
        name,
        "--loglevel",
        "INFO",
    ]
    handle = log.open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603


def _wait_for_worker(worker: subprocess.Popen, name: str, log: Path) -> None:
    from mfapp.celery import app

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited ({worker.returncode}):\n{log.read_text()[-3000:]}")
        if app.control.ping(destination=[name], timeout=1.0):
            return
    raise SystemExit(f"the worker did not answer a ping within 90 s; its log: {log}")


def _stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)  # warm shutdown: the prefork children end with it
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=30)


def _request_runs(sites: list[SiteRow]) -> list[int]:
    from mfapp.core import rls
    from mfapp.scheduling.services import schedule_run_request
    from mfapp.tenancy.actors import Actor

    ids = []
    for row in sites:
        with rls.tenant_context(row.site.tenant_id):
            actor = Actor(tenant=row.site.tenant, role="owner", user=row.owner)
            run = schedule_run_request(actor=actor, site=row.site)
        ids.append(run.pk)
    if len(set(ids)) != len(ids):
        raise SystemExit("schedule_run_request returned one run for two sites")
    return ids


def _wait_for_runs(ids: list[int], timeout: float, worker: subprocess.Popen) -> None:
    from mfapp.core import rls
    from mfapp.scheduling.models import ScheduleRun

    final = [ScheduleRun.Status.SUCCEEDED, ScheduleRun.Status.FAILED]
    deadline, last = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        with rls.platform_access(reason="jobs benchmark: wait for the runs"):
            done = ScheduleRun.objects.all_tenants().filter(pk__in=ids, status__in=final).count()
        if done != last:
            _say(f"  {done}/{len(ids)} runs finished")
            last = done
        if done == len(ids):
            return
        if worker.poll() is not None:
            _say(f"  the worker exited ({worker.returncode}) with runs unfinished")
            return
        time.sleep(POLL_SECONDS)
    _say(f"  timed out after {timeout:.0f} s")


def _collect(ids: list[int], sites: list[SiteRow], began: datetime, result: Scheduling) -> None:
    from mfapp.core import rls
    from mfapp.scheduling.models import ScheduleRun

    by_site = {r.site.pk: r for r in sites}
    with rls.platform_access(reason="jobs benchmark: read the runs"):
        runs = list(
            ScheduleRun.objects.all_tenants()
            .filter(pk__in=ids)
            .select_related("site", "tenant")
            .order_by("pk")
        )
    finished = [r.finished_at for r in runs if r.finished_at is not None]
    result.wall_s = (max(finished) - began).total_seconds() if finished else 0.0
    for run in runs:
        if run.status not in (ScheduleRun.Status.SUCCEEDED, ScheduleRun.Status.FAILED):
            result.unfinished += 1
        started, ended = run.started_at, run.finished_at
        result.runs.append(
            RunRow(
                tenant=run.tenant.slug,
                site=run.site.name,
                open_operations=by_site[run.site_id].open_operations,
                status=run.status,
                solver_status=run.solver_status,
                source=run.source,
                operations=run.operation_count,
                machines=by_site[run.site_id].machines,
                wait_s=(started - run.created_at).total_seconds() if started else 0.0,
                run_s=(ended - started).total_seconds() if started and ended else 0.0,
                solver_s=float(run.wall_seconds or 0),
                error=run.error,
            )
        )


def _worker_errors(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if " ERROR " in line or "Traceback" in line or "WARNING" in line]


def measure_scheduling(args: argparse.Namespace, env: dict[str, str]) -> Scheduling:
    import redis
    from django.utils import timezone

    sites = _sites(args.sites)
    _refuse_pending_runs(sites)
    sizes = [r.open_operations for r in sites]
    _say(
        f"{len(sites)} sites, open operations min {min(sizes)}, median "
        f"{statistics.median(sizes):g}, max {max(sizes)}; solver limit {args.time_limit:g} s"
    )
    broker = redis.Redis.from_url(args.broker_url)
    broker.flushdb()  # no message of an earlier, interrupted run
    name = f"jobs-bench-{os.getpid()}@{socket.gethostname()}"
    log = Path(args.worker_log or tempfile.mkstemp(prefix="jobs-bench-worker-", suffix=".log")[1])
    worker = _worker(env, name, log)
    result = Scheduling(sites=sites)
    try:
        _wait_for_worker(worker, name, log)
        _say(f"worker {name} up (log: {log}); requesting ...")
        began = timezone.now()
        clock = time.perf_counter()
        ids = _request_runs(sites)
        result.requested_s = time.perf_counter() - clock
        timeout = args.timeout or 120 + len(sites) * (args.time_limit + 60)
        _wait_for_runs(ids, timeout, worker)
        result.load_after = os.getloadavg()
    finally:
        _stop_worker(worker)
        broker.flushdb()  # messages for other queues (webhooks) nobody here consumes
    _collect(ids, sites, began, result)
    result.worker_errors = _worker_errors(log)
    return result


# --- report --------------------------------------------------------------------------------
@dataclass
class Timing:
    label: str
    times: list[float]
    queries: list[int]  # every statement CaptureQueriesContext saw
    statements: list[int]  # without BEGIN, COMMIT and savepoints


@dataclass
class Report:
    tenant: str
    orders: int
    start: date
    end: date
    rows: dict[str, int]
    previous_rows: dict[str, int]
    timings: list[Timing]
    totals: dict[str, Any]


def _largest_tenant() -> tuple[Any, int]:
    from django.db.models import Count

    from mfapp.core import rls
    from mfapp.orders.models import Order
    from mfapp.tenancy.models import Tenant

    with rls.platform_access(reason="jobs benchmark: the tenant with most orders"):
        top = (
            Order.objects.all_tenants()
            .values("tenant")
            .annotate(n=Count("id"))
            .order_by("-n", "tenant")
            .first()
        )
        return Tenant.objects.get(pk=top["tenant"]), top["n"]


def _rows(tenant: Any, start: date, end: date) -> dict[str, int]:
    """What a report of [start, end] reads: finished operations, output batches, meter
    readings, shipped orders (by the report's own rules, in the tenant's time zone)."""
    import zoneinfo

    from mfapp.machines.models import EnergyReading
    from mfapp.production.models import BatchOperation
    from mfapp.sustainability.activity import Period, batch_outputs, shipments

    period = Period(start=start, end=end, tz=zoneinfo.ZoneInfo(tenant.timezone))
    within = {"gte": period.start_at, "lt": period.end_at}
    return {
        "operations": BatchOperation.objects.for_tenant(tenant)
        .filter(
            status=BatchOperation.Status.DONE,
            actual_end__gte=within["gte"],
            actual_end__lt=within["lt"],
        )
        .count(),
        "batches": sum(g["batches"] for g in batch_outputs(tenant, period, None)),
        "energy readings": EnergyReading.objects.for_tenant(tenant)
        .filter(recorded_at__gte=within["gte"], recorded_at__lt=within["lt"])
        .count(),
        "shipped orders": sum(g["count"] for g in shipments(tenant, period, None)),
    }


def _timed(label: str, runs: int, call: Any) -> tuple[Timing, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timing, value = Timing(label=label, times=[], queries=[], statements=[]), None
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            value = call()
            timing.times.append(time.perf_counter() - began)
        timing.queries.append(len(captured))
        timing.statements.append(
            sum(1 for q in captured if q["sql"].split()[0].upper() not in TRANSACTION_CONTROL)
        )
        _say(
            f"  {label}: {timing.times[-1]:.2f} s, {timing.queries[-1]} queries "
            f"({timing.statements[-1]} without transaction control)"
        )
    return timing, value


def measure_report(args: argparse.Namespace) -> Report:
    from django.db.models import Max

    from mfapp.core import rls
    from mfapp.production.models import BatchOperation
    from mfapp.sustainability.models import SustainabilityReport
    from mfapp.sustainability.services import report_document, report_generate_for_period

    tenant, orders = _largest_tenant()
    with rls.tenant_context(tenant.pk):
        last = (
            BatchOperation.objects.for_tenant(tenant)
            .filter(status=BatchOperation.Status.DONE)
            .aggregate(last=Max("actual_end"))["last"]
        )
        if last is None:
            raise SystemExit(f"{tenant.slug} has no finished operation to report on.")
        end = tenant.today(last)
        start = end - timedelta(days=364)  # 365 days, the last one included
        _say(f"report: {tenant.slug} ({orders:,} orders), {start} to {end}")
        rows = _rows(tenant, start, end)
        previous_rows = _rows(tenant, start - timedelta(days=365), start - timedelta(days=1))
        document_timing, document = _timed(
            "report_document",
            args.report_runs,
            lambda: report_document(tenant=tenant, start=start, end=end),
        )
        generate_timing, report = _timed(
            "report_generate_for_period",
            args.report_runs,
            lambda: report_generate_for_period(tenant=tenant, start=start, end=end),
        )
        if report.status != SustainabilityReport.Status.SUCCEEDED:
            raise SystemExit(f"the report failed: {report.error}")
    return Report(
        tenant=tenant.slug,
        orders=orders,
        start=start,
        end=end,
        rows=rows,
        previous_rows=previous_rows,
        timings=[document_timing, generate_timing],
        totals=document["totals"],
    )


# --- markdown ------------------------------------------------------------------------------
def _seconds(spread: dict[str, float]) -> str:
    return " | ".join(f"{spread[k]:.1f}" for k in ("min", "median", "p90", "max"))


def _scheduling_markdown(s: Scheduling, args: argparse.Namespace, load: tuple) -> list[str]:
    sizes = _spread([float(r.open_operations) for r in s.sites])
    machines = _spread([float(r.machines) for r in s.sites])
    n = len(s.runs)
    succeeded = [r for r in s.runs if r.status == "succeeded"]
    per_minute = n / (s.wall_s / 60) if s.wall_s else 0.0
    statuses: dict[str, int] = {}
    for r in succeeded:
        statuses[r.solver_status] = statuses.get(r.solver_status, 0) + 1
    over = [r for r in succeeded if r.run_s > args.time_limit + 5]
    outcome = ", ".join(f"{k or 'none'}: {v}" for k, v in sorted(statuses.items()))
    which = f"the {len(s.sites)} smallest" if args.sites else f"all {len(s.sites)}"
    lines = [
        "## Scheduling: runs per minute with two workers",
        "",
        f"One Celery worker (`celery -A mfapp worker -Q scheduling --concurrency 2 --pool "
        f"prefork`, settings `{SETTINGS}`, broker `{args.broker_url}`, cache "
        f"`{args.cache_url}`) planned {which} sites of the database, each requested through "
        "`schedule_run_request` as the tenant's owner (one transaction each; the task is "
        "queued on commit with the service's 2 s debounce countdown). Solver time limit "
        f"`MFAPP_SCHEDULING_TIME_LIMIT_SECONDS={args.time_limit:g}`"
        f"{' (the production default)' if args.time_limit == 10 else ''}: "
        "the dispatcher's plan first, then CP-SAT with 2 threads for the rest of the limit, "
        "unless it proves the plan optimal sooner. Two runs at a time, 2 CP-SAT threads each, "
        "on 2 cores shared with PostgreSQL.",
        "",
        f"Site size (open operations, what the scheduler plans): min {sizes['min']:.0f}, "
        f"median {sizes['median']:.0f}, max {sizes['max']:.0f} ({sizes['sum']:.0f} in all); "
        f"machines per site: min {machines['min']:.0f}, median {machines['median']:.0f}, "
        f"max {machines['max']:.0f}.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| runs | {n} ({len(succeeded)} succeeded, {n - len(succeeded) - s.unfinished} failed, "
        f"{s.unfinished} unfinished) |",
        f"| requesting them all | {s.requested_s:.2f} s |",
        f"| first request to last finish | {s.wall_s:.1f} s |",
        f"| **runs per minute** | **{per_minute:.1f}** |",
        f"| solver outcome (succeeded runs) | {outcome} |",
        f"| load average at the start / after the last run | {load[0]:.2f} / "
        f"{s.load_after[0]:.2f} |",
        "",
    ]
    if succeeded:
        lines += [
            "Per run, seconds (wait: requested to started, including the 2 s countdown; run: "
            "started to finished, i.e. load the site, solve, validate, save the plan; solver: "
            "the run's `wall_seconds`, dispatcher + CP-SAT):",
            "",
            "| | min | median | p90 | max |",
            "|---|---:|---:|---:|---:|",
            f"| wait | {_seconds(_spread([r.wait_s for r in succeeded]))} |",
            f"| run | {_seconds(_spread([r.run_s for r in succeeded]))} |",
            f"| solver | {_seconds(_spread([r.solver_s for r in succeeded]))} |",
            f"| run - solver (load, validate, save) | "
            f"{_seconds(_spread([r.run_s - r.solver_s for r in succeeded]))} |",
            "",
            f"Runs longer than the limit + 5 s: {len(over)}"
            + (
                " (" + ", ".join(f"{r.tenant} {r.site} {r.run_s:.1f} s" for r in over) + ")."
                if over
                else "."
            ),
            "",
        ]
    lines += [
        "<details><summary>Every run, smallest site first</summary>",
        "",
        "| tenant | site | open ops | machines | status | solver | wait s | run s | solver s |",
        "|---|---|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in sorted(s.runs, key=lambda r: (r.open_operations, r.tenant, r.site)):
        lines.append(
            f"| {r.tenant} | {r.site} | {r.open_operations} | {r.machines} | {r.status} | "
            f"{r.solver_status or '-'} ({r.source or '-'}) | {r.wait_s:.1f} | {r.run_s:.1f} | "
            f"{r.solver_s:.1f} |"
        )
    lines += ["", "</details>", ""]
    failed = [r for r in s.runs if r.status == "failed"]
    if failed:
        lines += ["**Failed runs:**", ""]
        lines += [f"* {r.tenant} {r.site}: {r.error[:300]}" for r in failed]
        lines.append("")
    if s.worker_errors:
        lines += [
            f"Worker log: {len(s.worker_errors)} warning/error line(s), the first ones:",
            "",
            "```",
            *s.worker_errors[:10],
            "```",
            "",
        ]
    return lines


def _report_markdown(r: Report) -> list[str]:
    rows = ", ".join(f"{v:,} {k}" for k, v in r.rows.items())
    previous = ", ".join(f"{v:,} {k}" for k, v in r.previous_rows.items())
    t = r.totals
    lines = [
        "## Report: the largest tenant, last 12 months",
        "",
        f"Tenant `{r.tenant}` ({r.orders:,} orders, the most), whole business (all sites), "
        f"{r.start} to {r.end} (365 days ending on the day of its last finished operation). "
        f"The period covers {rows}; the report also computes the 365 days before, for its "
        f"comparison ({previous}).",
        "",
        "`report_document` computes the document (what `reports_bench.py` measures); "
        "`report_generate_for_period` is what the `reports` task runs: it also marks the "
        "report running, saves progress five times and stores the document in the row. "
        "PostgreSQL's JIT is off, as the application sets it in every transaction.",
        "",
        "| call | runs | median s | best s | queries | without BEGIN/COMMIT |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for timing in r.timings:
        queries = ", ".join(str(q) for q in sorted(set(timing.queries)))
        statements = ", ".join(str(q) for q in sorted(set(timing.statements)))
        lines.append(
            f"| `{timing.label}` | {len(timing.times)} | {statistics.median(timing.times):.2f} | "
            f"{min(timing.times):.2f} | {queries} | {statements} |"
        )
    lines += [
        "",
        f"Totals (sanity check): {t['energy_kwh']:,.3f} kWh, {t['total_kgco2e']:,.3f} kgCO2e, "
        f"{t['units_good']:,} good units.",
        "",
    ]
    return lines


def _markdown(
    args: argparse.Namespace,
    started: datetime,
    load: tuple,
    scheduling: Scheduling | None,
    report: Report | None,
    command: str,
) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    lines = [
        "# Background jobs at scale: scheduling and reports",
        "",
        "Generated by `bench/jobs_bench.py` (issue 8). Reproduce with (see the script's "
        "docstring for creating the scaled database):",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL "
        f"{server.split()[0]} as the application role (row-level security on). Load average "
        f"at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other work may have been "
        "running: compare within one run).",
        "",
    ]
    if scheduling is not None:
        lines += _scheduling_markdown(scheduling, args, load)
    if report is not None:
        lines += _report_markdown(report)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sites", type=int, help="only the N sites with the fewest open operations (default all)"
    )
    parser.add_argument(
        "--time-limit", type=float, default=10.0, help="solver seconds per run (default 10)"
    )
    parser.add_argument("--timeout", type=float, help="seconds to wait for the runs")
    parser.add_argument("--report-runs", type=int, default=3)
    parser.add_argument("--skip-scheduling", action="store_true")
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/12", help="flushed!")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/11", help="or off")
    parser.add_argument("--worker-log", help="the worker's output (default: a file in /tmp)")
    parser.add_argument("--out", help="write the markdown here")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL to the scaled PostgreSQL database (the app role).")
    started, load = datetime.now(UTC), os.getloadavg()
    env = _environment(args)
    os.environ.update(env)
    import django

    django.setup()
    scheduling = None if args.skip_scheduling else measure_scheduling(args, env)
    report = None if args.skip_report else measure_report(args)
    command = "DATABASE_URL=... .venv/bin/python bench/jobs_bench.py " + " ".join(sys.argv[1:])
    text = _markdown(args, started, load, scheduling, report, command.strip())
    _say(text)
    if args.out:
        Path(args.out).write_text(text)
    if scheduling is not None:
        bad = [r for r in scheduling.runs if r.status != "succeeded"]
        if bad or len(scheduling.runs) != len(scheduling.sites):
            raise SystemExit(f"{len(bad)} schedule run(s) did not succeed: see above.")


if __name__ == "__main__":
    main()
