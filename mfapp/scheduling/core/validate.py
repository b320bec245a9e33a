"""Independent plan checker and metrics.

Deliberately shares no code with the dispatcher or the CP-SAT model (only the data classes), so
a bug there cannot hide itself here. The rules are the ones documented in ``problem.py``.
"""

from __future__ import annotations

from .problem import Metrics, Plan, Problem

__all__ = ["evaluate", "validate"]


def _span(start: int, end: int) -> str:
    return f"[{start}, {end})"


def validate(problem: Problem, plan: Plan) -> list[str]:
    """Every rule a plan breaks, as human-readable strings; ``[]`` means the plan is valid."""
    errors: list[str] = []
    machines = {m.id: m for m in problem.machines}
    assignments = plan.assignments
    known_ops: set[int] = set()

    # Per operation: assigned, fixed unchanged, eligible, duration, window, release/now.
    for job in problem.jobs:
        for op in job.operations:
            known_ops.add(op.id)
            a = assignments.get(op.id)
            if a is None:
                errors.append(f"operation {op.id} is not assigned")
                continue
            if op.fixed is not None:
                if a != op.fixed:
                    errors.append(
                        f"operation {op.id} is fixed at machine {op.fixed.machine} "
                        f"{_span(op.fixed.start, op.fixed.end)} but planned at machine "
                        f"{a.machine} {_span(a.start, a.end)}"
                    )
                continue
            machine = machines.get(a.machine)
            if machine is None:
                errors.append(f"operation {op.id} is on unknown machine {a.machine}")
                continue
            if a.machine not in op.durations:
                eligible = sorted(op.durations)
                errors.append(
                    f"operation {op.id} is on machine {a.machine}, which is not eligible "
                    f"(eligible: {eligible})"
                )
                continue
            expected = op.durations[a.machine]
            if a.end - a.start != expected:
                errors.append(
                    f"operation {op.id} on machine {a.machine} lasts {a.end - a.start}, "
                    f"expected {expected}"
                )
            if a.start < job.release:
                errors.append(
                    f"operation {op.id} of job {job.id} starts at {a.start} before its "
                    f"release {job.release}"
                )
            if a.start < problem.now:
                errors.append(f"operation {op.id} starts at {a.start} before now ({problem.now})")
            if machine.available is not None:
                inside = any(
                    w_start <= a.start and a.end <= w_end for w_start, w_end in machine.available
                )
                if not inside:
                    errors.append(
                        f"operation {op.id} on machine {a.machine} at {_span(a.start, a.end)} "
                        "is not inside one availability window"
                    )

    for op_id in sorted(set(assignments) - known_ops):
        errors.append(f"plan assigns unknown operation {op_id}")

    # Precedence within each job.
    for job in problem.jobs:
        for before, after in zip(job.operations, job.operations[1:], strict=False):
            a, b = assignments.get(before.id), assignments.get(after.id)
            if a is None or b is None or (before.fixed is not None and after.fixed is not None):
                continue
            if b.start < a.end:
                errors.append(
                    f"operation {after.id} of job {job.id} starts at {b.start} before "
                    f"operation {before.id} ends at {a.end}"
                )

    # One operation at a time per machine, with changeovers between consecutive operations.
    materials = {op.id: op.material for job in problem.jobs for op in job.operations}
    fixed = {op.id for job in problem.jobs for op in job.operations if op.fixed is not None}
    per_machine: dict[int, list[tuple[int, int, int]]] = {}
    for op_id, a in assignments.items():
        if op_id in known_ops and a.end > a.start:
            per_machine.setdefault(a.machine, []).append((a.start, a.end, op_id))
    for machine_id in sorted(per_machine):
        busy = sorted(per_machine[machine_id])
        changeover = machines[machine_id].changeover if machine_id in machines else 0
        latest: tuple[int, int, int] | None = None  # the busy block ending last so far
        for current in busy:
            start, end, op_id = current
            if latest is not None:
                l_start, l_end, l_op = latest
                both_fixed = l_op in fixed and op_id in fixed
                if start < l_end and not both_fixed:
                    errors.append(
                        f"operations {l_op} and {op_id} overlap on machine {machine_id}: "
                        f"{_span(l_start, l_end)} and {_span(start, end)}"
                    )
                elif not both_fixed:
                    m1, m2 = materials[l_op], materials[op_id]
                    if changeover and m1 is not None and m2 is not None and m1 != m2:
                        gap = start - l_end
                        if gap < changeover:
                            errors.append(
                                f"operations {l_op} ({m1}) and {op_id} ({m2}) on machine "
                                f"{machine_id} need a changeover of {changeover}, "
                                f"gap is {gap}"
                            )
            if latest is None or end > latest[1]:
                latest = current
    return errors


def evaluate(problem: Problem, plan: Plan) -> Metrics:
    """Weighted tardiness, tardy jobs, total tardiness, makespan, moved operations."""
    assignments = plan.assignments
    weighted = tardy = total = 0
    makespan = 0
    moved = 0
    for job in problem.jobs:
        ends = [assignments[op.id].end for op in job.operations if op.id in assignments]
        if ends:
            finish = max(ends)
            makespan = max(makespan, finish)
            if job.due is not None and finish > job.due:
                lateness = finish - job.due
                tardy += 1
                total += lateness
                weighted += job.weight * lateness
        for op in job.operations:
            a = assignments.get(op.id)
            if (
                a is not None
                and op.previous is not None
                and op.fixed is None
                and (a.machine != op.previous.machine or a.start != op.previous.start)
            ):
                moved += 1
    return Metrics(
        weighted_tardiness=weighted,
        tardy_jobs=tardy,
        total_tardiness=total,
        makespan=makespan,
        moved_operations=moved,
    )
