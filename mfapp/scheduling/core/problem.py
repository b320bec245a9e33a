"""The scheduling problem and its answer, as plain data (no Django, no OR-Tools).

All times are integers: minutes from an origin chosen by the caller for the app, plain time
units for the benchmark instances. Intervals are half-open, ``[start, end)``.

Semantics that every part of the core (dispatcher, CP-SAT model, validator) shares:

* An operation runs on exactly one of its eligible machines (``durations`` keys) for exactly
  ``durations[machine]`` units, without interruption, completely inside one availability window
  of that machine (``Machine.available``; ``None`` means always available). A zero-duration
  operation needs a window with ``window.start <= start <= window.end``.
* Operations of a job run in routing order: an operation starts no earlier than the end of the
  previous one. Non-fixed operations start no earlier than ``max(job.release, problem.now)``.
* One operation at a time per machine. Between two consecutive operations on a machine whose
  materials are both set and differ, the machine needs ``changeover`` idle units. An operation
  without a material never causes a changeover; a zero-duration operation occupies nothing.
  The changeover gap is elapsed time: it may fall outside the availability windows.
* A fixed operation (in progress, or pinned) keeps exactly its ``fixed`` assignment. Fixed
  assignments are facts, so they are exempt from the duration, window, release and eligibility
  rules, and two fixed operations are never checked against each other; everything else must fit
  around them (including changeovers next to them). Fixed operations must come first in their
  job (``check_problem`` refuses a non-fixed operation followed by a fixed one).
* Tardiness of a job with a due date = ``max(0, end of its last operation - due)``; jobs without
  a due date are never tardy. Makespan = the latest end of any operation (absolute time).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Assignment",
    "InfeasibleProblemError",
    "Job",
    "Machine",
    "Metrics",
    "Operation",
    "Plan",
    "Problem",
    "SolveResult",
    "changeover_between",
    "check_problem",
]


class InfeasibleProblemError(ValueError):
    """The problem admits no schedule (or is malformed)."""


@dataclass(frozen=True)
class Machine:
    id: int
    changeover: int = 0
    # None = always available; else sorted, disjoint [start, end) windows.
    available: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class Assignment:
    machine: int
    start: int
    end: int


@dataclass(frozen=True)
class Operation:
    id: int
    durations: Mapping[int, int]  # eligible machine id -> duration (>= 0)
    material: str | None = None
    fixed: Assignment | None = None  # in progress / pinned: must stay exactly
    previous: Assignment | None = None  # current plan, for stability


@dataclass(frozen=True)
class Job:
    id: int
    operations: tuple[Operation, ...]  # routing order
    release: int = 0
    due: int | None = None
    weight: int = 1


@dataclass(frozen=True)
class Problem:
    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    now: int = 0  # nothing non-fixed starts before now

    def machine_map(self) -> dict[int, Machine]:
        return {m.id: m for m in self.machines}

    def operations(self) -> list[tuple[Job, int, Operation]]:
        """Every operation with its job and its index in the routing."""
        return [(job, k, op) for job in self.jobs for k, op in enumerate(job.operations)]

    @property
    def n_operations(self) -> int:
        return sum(len(job.operations) for job in self.jobs)


@dataclass
class Plan:
    assignments: dict[int, Assignment] = field(default_factory=dict)  # operation id -> where/when


@dataclass
class Metrics:
    weighted_tardiness: int
    tardy_jobs: int
    total_tardiness: int
    makespan: int
    moved_operations: int  # operations off their previous machine or start

    def key(self) -> tuple[int, int]:
        """Lexicographic quality: weighted tardiness, then makespan (smaller is better)."""
        return (self.weighted_tardiness, self.makespan)


@dataclass
class SolveResult:
    plan: Plan
    metrics: Metrics | None  # None only when a baseline run found no plan at all
    status: str  # "optimal" | "feasible" | "dispatch" (| "unknown" for a baseline without plan)
    lower_bound: int | None  # makespan bound, where meaningful
    wall_s: float
    source: str  # "cpsat" | "dispatch"
    dispatch_metrics: Metrics | None = None
    dispatch_s: float | None = None  # time to the dispatcher's valid plan
    cpsat_status: str | None = None  # raw CP-SAT status name, for diagnostics
    objective: int | None = None  # CP-SAT objective value of the returned plan, if from CP-SAT


def changeover_between(machine: Machine, first: str | None, second: str | None) -> int:
    """Idle time needed on ``machine`` between an operation of material ``first`` and the next
    one of material ``second``."""
    if machine.changeover and first is not None and second is not None and first != second:
        return machine.changeover
    return 0


def check_problem(problem: Problem) -> None:
    """Refuse malformed problems with a clear message (InfeasibleProblemError)."""
    machines = problem.machine_map()
    errors: list[str] = []
    if len(machines) != len(problem.machines):
        errors.append("duplicate machine ids")
    for machine in problem.machines:
        if machine.changeover < 0:
            errors.append(f"machine {machine.id}: negative changeover")
        if machine.available is not None:
            previous_end = None
            for start, end in machine.available:
                if end <= start:
                    errors.append(f"machine {machine.id}: empty window [{start}, {end})")
                if previous_end is not None and start < previous_end:
                    errors.append(f"machine {machine.id}: windows not sorted and disjoint")
                previous_end = end
    seen_ops: set[int] = set()
    seen_jobs: set[int] = set()
    for job in problem.jobs:
        if job.id in seen_jobs:
            errors.append(f"duplicate job id {job.id}")
        seen_jobs.add(job.id)
        if job.weight < 0:
            errors.append(f"job {job.id}: negative weight")
        seen_unfixed = False
        for op in job.operations:
            if op.id in seen_ops:
                errors.append(f"duplicate operation id {op.id}")
            seen_ops.add(op.id)
            if op.fixed is None:
                seen_unfixed = True
                if not op.durations:
                    errors.append(f"operation {op.id}: no eligible machine")
            elif seen_unfixed:
                errors.append(
                    f"operation {op.id} of job {job.id} is fixed but follows a non-fixed "
                    "operation; fixed operations must come first in their job"
                )
            for machine_id, duration in op.durations.items():
                if machine_id not in machines:
                    errors.append(f"operation {op.id}: unknown machine {machine_id}")
                if duration < 0:
                    errors.append(f"operation {op.id}: negative duration on {machine_id}")
            if op.fixed is not None:
                if op.fixed.machine not in machines:
                    errors.append(f"operation {op.id}: fixed on unknown machine")
                if op.fixed.end < op.fixed.start:
                    errors.append(f"operation {op.id}: fixed end before start")
    # Fixed operations may not overlap each other on one machine.
    by_machine: dict[int, list[tuple[int, int, int]]] = {}
    for _job, _k, op in problem.operations():
        if op.fixed is not None and op.fixed.end > op.fixed.start:
            by_machine.setdefault(op.fixed.machine, []).append(
                (op.fixed.start, op.fixed.end, op.id)
            )
    for machine_id, spans in by_machine.items():
        spans.sort()
        for (_s1, e1, o1), (s2, _e2, o2) in itertools.pairwise(spans):
            if s2 < e1:
                errors.append(f"fixed operations {o1} and {o2} overlap on machine {machine_id}")
    if errors:
        raise InfeasibleProblemError("; ".join(errors))
