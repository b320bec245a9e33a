"""Schedule runs: queue one (debounced, per site), execute it (one running run per site), and
save its plan all-or-nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from mfapp.audit.services import audit_record
from mfapp.core.transitions import ensure_same_tenant
from mfapp.integrations.events import webhook_event_publish
from mfapp.integrations.models import EventType
from mfapp.production.models import Batch, BatchOperation
from mfapp.production.overlaps import operations_overlap_check
from mfapp.production.services import batch_schedule
from mfapp.scheduling.adapter import SiteProblem, build_problem
from mfapp.scheduling.core import PlanValidationError, SolveResult, solve, validate
from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.selectors import schedule_run_latest_for_site
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Site
from mfapp.tenancy.permissions import require_permission
from mfapp.tenancy.selectors import system_actor

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_SECONDS = 10  # settings.SCHEDULING_TIME_LIMIT_SECONDS overrides
SOLVER_WORKERS = 2
ENQUEUE_COUNTDOWN_SECONDS = 2  # debounce: changes made meanwhile join the queued run
# A run "running" for longer than the task's hard limit died with its worker: ignore it.
STALE_RUNNING_AFTER = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)

R = ScheduleRun.Status
STARTED = (BatchOperation.Status.RUNNING, BatchOperation.Status.PAUSED)


def _site_locked(site: Site) -> Site:
    return Site.objects.for_tenant(site.tenant).select_for_update(of=("self",)).get(pk=site.pk)


def schedule_run_request(
    *,
    actor: Actor,
    site: Site,
    trigger: str = ScheduleRun.Trigger.MANUAL,
    requested_by: AbstractBaseUser | None = None,
) -> ScheduleRun:
    """Queue a re-plan of `site`, or return the run already queued for it (debounce)."""
    if trigger == ScheduleRun.Trigger.MANUAL:
        # Automatic triggers follow an action the actor was allowed to take (an operator
        # marking a machine down): the re-plan is its consequence, not a separate request.
        require_permission(actor, "batches.manage")
    ensure_same_tenant(actor, site)
    with transaction.atomic():
        site = _site_locked(site)  # serialises concurrent requests for one site
        queued = schedule_run_latest_for_site(site=site, status=R.QUEUED)
        if queued is not None:
            return queued
        run = ScheduleRun.objects.create(
            tenant=actor.tenant,
            site=site,
            trigger=trigger,
            requested_by=requested_by or actor.user,
        )
        if trigger == ScheduleRun.Trigger.MANUAL:
            # An automatic run is the consequence of a change audited already; what it changes
            # is audited when its plan is saved ("schedule_run.plan_saved").
            audit_record(
                actor=actor,
                verb="schedule_run.requested",
                target=run,
                after={"site": site.pk, "trigger": trigger},
                message=f"Re-plan of {site.name} requested.",
            )
        transaction.on_commit(lambda: _enqueue(run))
    return run


def _enqueue(run: ScheduleRun) -> None:
    from mfapp.scheduling.tasks import run_schedule  # tasks import this module

    run_schedule.apply_async(
        kwargs={"tenant_id": run.tenant_id, "run_id": run.pk},
        countdown=ENQUEUE_COUNTDOWN_SECONDS,
    )


def _time_limit() -> float:
    return float(getattr(settings, "SCHEDULING_TIME_LIMIT_SECONDS", DEFAULT_TIME_LIMIT_SECONDS))


def _start(run: ScheduleRun, *, resume: bool = False) -> ScheduleRun:
    """queued -> running, unless another run of the site is running (then it stays queued).
    `resume`: the task's message was delivered again because the worker running it died, so a
    run left "running" is this task's own and is started over (its plan was never saved: the
    save is one transaction that also marks the run finished)."""
    with transaction.atomic():
        _site_locked(run.site)
        run = ScheduleRun.objects.for_tenant(run.tenant).select_related("site").get(pk=run.pk)
        if resume and run.status == R.RUNNING:
            logger.warning("schedule run %s: its worker died, running it again", run.pk)
            run.started_at = timezone.now()
            run.save(update_fields=["started_at", "updated_at"])
            return run
        if run.status != R.QUEUED:
            return run
        now = timezone.now()
        running = ScheduleRun.objects.for_tenant(run.tenant).filter(
            site_id=run.site_id, status=R.RUNNING
        )
        running.filter(started_at__lte=now - STALE_RUNNING_AFTER).update(
            status=R.FAILED,
            finished_at=now,
            updated_at=now,
            error="The worker stopped before the run finished.",
        )
        if running.filter(started_at__gt=now - STALE_RUNNING_AFTER).exists():
            return run
        run.status, run.started_at = R.RUNNING, timezone.now()
        run.save(update_fields=["status", "started_at", "updated_at"])
    return run


def schedule_run_execute(
    *, run: ScheduleRun, time_limit: float | None = None, resume: bool = False
) -> ScheduleRun:
    """Plan the run's site and save the plan all-or-nothing. Returns the run: succeeded or
    failed, or still queued when another run of the site is running (try again later), or
    unchanged when it is not queued any more (already done). `resume` also takes over a run
    left running by a dead worker (see `_start`)."""
    run = _start(run, resume=resume)
    if run.status != R.RUNNING:
        return run
    try:
        site_problem = build_problem(site=run.site)
        result = solve(
            site_problem.problem,
            time_limit=time_limit if time_limit is not None else _time_limit(),
            workers=SOLVER_WORKERS,
        )
        errors = validate(site_problem.problem, result.plan)
        if errors:
            raise PlanValidationError("The plan is invalid: " + "; ".join(errors[:5]))
        with transaction.atomic():
            _plan_save(run=run, site_problem=site_problem, result=result)
    except Exception as exc:
        logger.exception("schedule run %s of site %s failed", run.pk, run.site_id)
        run.refresh_from_db()  # drop figures set in memory by a save that was rolled back
        run.status, run.finished_at = R.FAILED, timezone.now()
        run.error = f"{type(exc).__name__}: {exc}"[:5000]
        run.save(update_fields=["status", "finished_at", "error", "updated_at"])
    return run


def _plan_save(*, run: ScheduleRun, site_problem: SiteProblem, result: SolveResult) -> None:
    """Every operation's machine and times, planned batches -> scheduled, the run's figures
    and the webhook: one transaction (the caller's)."""
    tenant = run.tenant
    actor = system_actor(tenant=tenant)
    _site_locked(run.site)
    plan = result.plan.assignments
    ids = list(plan) + site_problem.unplannable
    current = {
        op.pk: op
        for op in BatchOperation.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .filter(pk__in=ids)
    }
    previous = {pk: (op.machine_id, op.planned_start, op.planned_end) for pk, op in current.items()}
    fixed = {
        op.id for job in site_problem.problem.jobs for op in job.operations if op.fixed is not None
    }
    changed: list[BatchOperation] = []
    now = timezone.now()
    for op_id, assignment in plan.items():
        operation = current.get(op_id)
        if operation is None:
            continue
        if op_id in fixed:
            # A started operation: book the interval the plan was validated against (actual
            # start + its length), so its stored times never overlap the new plan.
            if operation.status not in STARTED or operation.machine_id != assignment.machine:
                continue
        elif operation.status != BatchOperation.Status.PENDING:
            continue  # started or finished meanwhile
        operation.machine_id = assignment.machine
        operation.planned_start = site_problem.to_datetime(assignment.start)
        operation.planned_end = site_problem.to_datetime(assignment.end)
        operation.updated_at = now
        changed.append(operation)
    for op_id in site_problem.unplannable:  # no machine can do it now: not planned
        operation = current.get(op_id)
        if operation is None or operation.status != BatchOperation.Status.PENDING:
            continue
        operation.machine_id = operation.planned_start = operation.planned_end = None
        operation.updated_at = now
        changed.append(operation)
    BatchOperation.objects.for_tenant(tenant).bulk_update(
        changed, ["machine", "planned_start", "planned_end", "updated_at"], batch_size=500
    )
    # No double booking: the committed plan must not overlap (PostgreSQL's deferred exclusion
    # constraint checks again at COMMIT; on SQLite this check is the rule).
    operations_overlap_check(
        tenant=tenant, machine_ids={op.machine_id for op in changed} | set(site_problem.machines)
    )
    unplannable_batches = {current[i].batch_id for i in site_problem.unplannable if i in current}
    for batch in site_problem.batches.values():
        if batch.status == Batch.Status.PLANNED and batch.pk not in unplannable_batches:
            batch_schedule(actor=actor, batch=batch)
    _figures_save(run=run, site_problem=site_problem, result=result)
    moved = [
        op for op in changed if previous[op.pk] != (op.machine_id, op.planned_start, op.planned_end)
    ]
    if moved:  # a plan that moves nothing changes no business data: nothing to audit
        unplanned = sum(1 for op in moved if op.machine_id is None)
        _plan_audit(actor=actor, run=run, moved=len(moved) - unplanned, unplanned=unplanned)
    webhook_event_publish(
        tenant=tenant,
        event_type=EventType.SCHEDULE_COMPLETED,
        data={
            "id": run.pk,
            "site": run.site_id,
            "status": run.status,
            "trigger": run.trigger,
            "operation_count": run.operation_count,
            "tardy_orders": run.tardy_orders,
            "total_tardiness_minutes": run.total_tardiness_minutes,
            "makespan_minutes": run.makespan_minutes,
            "utilisation_percent": (
                None if run.utilisation_percent is None else str(run.utilisation_percent)
            ),
        },
    )


def _plan_audit(*, actor: Actor, run: ScheduleRun, moved: int, unplanned: int) -> None:
    """One event per plan that changed something, not one per operation (a plan moves
    hundreds): how many operations got a new machine or times, how many lost theirs, and the
    run's figures. The operations' previous times are not kept."""
    audit_record(
        actor=actor,
        verb="schedule_run.plan_saved",
        target=run,
        before={"status": R.RUNNING},
        after={
            "status": run.status,
            "operations_moved": moved,
            "operations_unplanned": unplanned,
            "tardy_orders": run.tardy_orders,
            "makespan_minutes": run.makespan_minutes,
        },
        message=f"Plan of {run.site.name} saved: {moved} operation(s) got a new machine or "
        f"times, {unplanned} lost theirs (no machine can do them now).",
    )


def _figures_save(*, run: ScheduleRun, site_problem: SiteProblem, result: SolveResult) -> None:
    problem = site_problem.problem
    plan = result.plan.assignments
    metrics = result.metrics
    tardy_orders: set[int] = set()
    for job in problem.jobs:
        if job.due is None or not job.operations:
            continue
        end = max(plan[op.id].end for op in job.operations)
        batch = site_problem.batches[job.id]
        if end > job.due and batch.order_line_id is not None:
            tardy_orders.add(batch.order_line.order_id)
    makespan = metrics.makespan if metrics is not None else 0
    busy = sum(
        max(0, min(a.end, makespan) - max(a.start, 0)) for a in plan.values() if a.end > a.start
    )
    open_minutes = 0
    for machine in problem.machines:
        windows = machine.available if machine.available is not None else ((0, makespan),)
        open_minutes += sum(max(0, min(end, makespan) - max(start, 0)) for start, end in windows)
    utilisation = min(Decimal(100), Decimal(100 * busy) / open_minutes) if open_minutes else None

    run.previous_run = (
        schedule_run_latest_for_site(site=run.site, status=R.SUCCEEDED)
        if run.previous_run_id is None
        else run.previous_run
    )
    run.status, run.finished_at = R.SUCCEEDED, timezone.now()
    run.solver_status, run.source = result.status, result.source
    run.operation_count, run.machine_count = problem.n_operations, len(problem.machines)
    run.weighted_tardiness = metrics.weighted_tardiness if metrics else None
    run.tardy_orders = len(tardy_orders)
    run.total_tardiness_minutes = metrics.total_tardiness if metrics else None
    run.makespan_minutes = makespan
    run.lower_bound_minutes = result.lower_bound
    run.utilisation_percent = (
        utilisation.quantize(Decimal("0.1")) if utilisation is not None else None
    )
    run.moved_operations = metrics.moved_operations if metrics else None
    run.wall_seconds = Decimal(str(round(result.wall_s, 3)))
    run.error = ""
    run.save()
