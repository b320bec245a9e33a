"""Entry points: ``solve`` (dispatcher, then CP-SAT hinted with its plan, best kept) and the
``solve_plain_cpsat`` benchmark baseline."""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from .cpsat import (
    FullModel,
    ObjectiveWeights,
    build_full_model,
    consistent_free_set,
    objective_weights,
    solve_cpsat,
    solve_full_neighbourhood,
    solve_neighbourhood,
    solve_plain_cpsat_model,
)
from .dispatch import dispatch
from .problem import Metrics, Plan, Problem, SolveResult
from .validate import evaluate, validate

__all__ = ["PlanValidationError", "solve", "solve_plain_cpsat"]

logger = logging.getLogger(__name__)


class PlanValidationError(AssertionError):
    """A solver produced a plan the validator rejects: a bug in the solver, never the input."""


def _key(metrics: Metrics, stability_weight: int | None) -> tuple[int, ...]:
    """What "better" means, matching the CP-SAT objective."""
    if stability_weight is None:
        return (metrics.weighted_tardiness, metrics.makespan, metrics.moved_operations)
    return (
        metrics.weighted_tardiness,
        metrics.makespan + stability_weight * metrics.moved_operations,
    )


def _check(problem: Problem, plan: Plan, who: str) -> None:
    errors = validate(problem, plan)
    if errors:
        shown = "; ".join(errors[:5])
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        raise PlanValidationError(f"{who} produced an invalid plan: {shown}{more}")


def _trivial_makespan_bound(problem: Problem) -> int:
    bound = 0
    for job in problem.jobs:
        t = max(job.release, problem.now)
        for op in job.operations:
            if op.fixed is not None:
                t = max(t, op.fixed.end)
            else:
                t += min(op.durations.values())
        bound = max(bound, t)
    return bound


FULL_MODEL_MAX_OPERATIONS = 400
# CP-SAT's local-search subsolvers (feasibility jump, violation LS) take turns with the LNS
# subsolvers on the one helper thread that 2 workers leave; on these no-overlap models they
# found no improving plan in our logs, so both phases drop them and the LNS get their time.
# Measured at 10 s, alternating in one run, 4-7 runs per instance: mean gap lower on each of
# orb01/orb03/swv01/ta01/ft10/mk06/mk07/mk10 (docs/decisions.md).
NO_LOCAL_SEARCH: dict[str, object] = {"ignore_subsolvers": ["ls", "fj"]}
# No-overlap propagation at its strongest: detectable precedences and the dynamic precedence
# reasoning CP-SAT leaves off by default. On job shops the tree search then proves ft10, abz5,
# orb03 and ta01 optimal within 10 s and finds better plans on swv01, ta02 and ta03; measured
# against the earlier two phases (default portfolio, then LNS only) and the plain model, two
# runs each on 8 instances (docs/decisions.md). No gain measured on flexible instances.
STRONG_NO_OVERLAP: dict[str, object] = {
    "use_strong_propagation_in_disjunctive": True,
    "use_dynamic_precedence_in_disjunctive": True,
}
# (share of the remaining time or None for the rest, CP-SAT parameters) per phase
FULL_PHASES: list[tuple[float | None, dict[str, object]]] = [
    (None, {**STRONG_NO_OVERLAP, **NO_LOCAL_SEARCH}),
]
# Problems where some operation has a choice of machines: CP-SAT's own LNS steps were slow on
# them (mk10: 12 steps in 4 s, one 0.1 deterministic-second step taking 2-3.5 s of wall-clock
# time, against 22-61 faster steps on swv01/ta01), so after a default phase our own
# precedence-keeping LNS (``_PrecedenceLns``) takes over: one thread per worker, each step a
# single-worker CP-SAT solve that must beat the best plan (measured, docs/decisions.md; a
# shorter first phase, 30 %, was no better on mk02-mk10 and left mid-size tenants unproven).
FLEXIBLE_PHASES: list[tuple[float | None, dict[str, object]]] = [
    (0.6, {**NO_LOCAL_SEARCH}),
    (None, {"precedence_lns": True}),
]
# CP-SAT parameters of one precedence-LNS step: small models solved many times, where LP
# relaxation and presolve probing cost more wall-clock time than they save.
PRECEDENCE_LNS_STEP_PARAMS: dict[str, object] = {
    "linearization_level": 0,
    "cp_model_probing_level": 0,
}
FULL_MODEL_MAX_ARCS = 20_000


def choose_mode(problem: Problem) -> str:
    """ "full" while the one-model formulation stays small enough for CP-SAT to presolve and
    search within seconds on two cores; "lns" beyond (measured: a 1,000-operation tenant with
    75k circuit arcs spends over 10 s in presolve alone)."""
    if problem.n_operations > FULL_MODEL_MAX_OPERATIONS:
        return "lns"
    candidates: dict[int, int] = {}
    changeover = {m.id for m in problem.machines if m.changeover > 0}
    for _job, _k, op in problem.operations():
        for m in op.durations:
            if m in changeover:
                candidates[m] = candidates.get(m, 0) + 1
    arcs = sum(n * n for n in candidates.values())
    return "full" if arcs <= FULL_MODEL_MAX_ARCS else "lns"


def _tardy_jobs(problem: Problem, assignments: dict) -> list[tuple]:
    """(job, lateness) of every weighted job whose last, movable operation ends past its due."""
    return [
        (job, assignments[job.operations[-1].id].end - job.due)
        for job in problem.jobs
        if job.due is not None
        and job.weight > 0
        and job.operations
        and job.operations[-1].fixed is None
        and assignments[job.operations[-1].id].end > job.due
    ]


def _random_jobs(problem: Problem, rng: random.Random, n: int) -> set[int]:
    """The movable operations of whole jobs taken at random, until there are ``n``."""
    jobs = [job for job in problem.jobs if any(op.fixed is None for op in job.operations)]
    rng.shuffle(jobs)
    free: set[int] = set()
    for job in jobs:
        free |= {op.id for op in job.operations if op.fixed is None}
        if len(free) >= n:
            break
    return free


@dataclass
class _Lns:
    """Large neighbourhood search driven from Python: each step frees ~``size`` operations
    chosen around a time, a tardy job, a machine group or the end of the plan, freezes the rest
    and lets CP-SAT re-plan them from the current plan (a complete hint). Steps only ever
    accept a better objective, so the plan never gets worse."""

    problem: Problem
    plan: Plan
    weights: ObjectiveWeights
    workers: int
    rng: random.Random
    log: bool = False
    size: float = 60.0
    min_size: int = 10
    max_size: int = 300
    step_limit: float = 0.6
    iterations: int = 0
    improvements: int = 0
    trace: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        problem = self.problem
        self.movable = [op.id for _j, _k, op in problem.operations() if op.fixed is None]
        self.eligible: dict[int, list[int]] = {}
        for _job, _k, op in problem.operations():
            if op.fixed is None:
                for m in op.durations:
                    self.eligible.setdefault(m, []).append(op.id)
        self.value = self.weights.value(evaluate(problem, self.plan))

    # -- neighbourhoods: each returns op ids, closest first ------------------------------
    def _around(self, pool: list[int], times: list[int], n: int) -> set[int]:
        a = self.plan.assignments
        ranked = sorted(pool, key=lambda o: min(abs(a[o].start - t) for t in times))
        return set(ranked[:n])

    def _neighbourhood(self, n: int) -> tuple[str, set[int]]:
        a = self.plan.assignments
        problem = self.problem
        rng = self.rng
        lo = problem.now
        hi = max([lo] + [a[o].end for o in self.movable])
        tardy = _tardy_jobs(problem, a)
        kinds = ["window", "machine", "end", "jobs"] + (["tardy"] * 3 if tardy else [])
        kind = rng.choice(kinds)
        if kind == "tardy":
            job, _late = rng.choices(tardy, weights=[j.weight * t for j, t in tardy])[0]
            own = [op for op in job.operations if op.fixed is None]
            # the operations that compete for the same machines, around the same time
            pool = sorted({o for op in own for m in op.durations for o in self.eligible[m]})
            times = [a[op.id].start for op in own]
            return kind, {op.id for op in own} | self._around(pool, times, n - len(own))
        if kind == "machine":
            m = rng.choice(list(self.eligible))
            t = rng.randint(lo, hi)
            return kind, self._around(self.eligible[m], [t], n)
        if kind == "end":
            return kind, set(sorted(self.movable, key=lambda o: -a[o].end)[:n])
        if kind == "jobs":
            return kind, _random_jobs(problem, rng, n)
        return kind, self._around(self.movable, [rng.randint(lo, hi)], n)

    def run(self, deadline: float) -> None:
        problem = self.problem
        while self.movable:
            remaining = deadline - time.perf_counter()
            if remaining < 0.15:
                return
            kind, free = self._neighbourhood(int(self.size))
            free = consistent_free_set(problem, self.plan, free)
            if not free:
                continue
            self.iterations += 1
            outcome = solve_neighbourhood(
                problem,
                self.plan,
                free,
                self.weights,
                time_limit=min(self.step_limit, remaining - 0.05),
                workers=self.workers,
            )
            value = self.value
            if outcome.plan is not None:
                value = self.weights.value(evaluate(problem, outcome.plan))
            if outcome.status == "OPTIMAL" and len(free) == len(self.movable):
                if outcome.plan is not None and value < self.value:
                    self.plan, self.value = outcome.plan, value
                    self.improvements += 1
                return  # everything was free and solved outright: nothing left to gain
            if outcome.status == "OPTIMAL":  # solved outright: look wider next time
                self.size = min(self.size * 1.25, self.max_size)
            elif value >= self.value:  # timed out without progress: look narrower
                self.size = max(self.size * 0.8, self.min_size)
            if outcome.plan is None:
                continue
            if self.log:
                logger.info(
                    "LNS %s free=%d status=%s value=%d (was %d)",
                    kind,
                    len(free),
                    outcome.status,
                    value,
                    self.value,
                )
            if value < self.value:
                self.plan, self.value = outcome.plan, value
                self.improvements += 1
                self.trace.append((time.perf_counter(), value))


@dataclass
class _PrecedenceLns:
    """Large neighbourhood search on the whole model: each step relaxes ~``size`` operations
    (around a time, a machine, a critical path, some jobs or a tardy job) and keeps every other
    operation on its machine and in its order there, but free in time, so the plan can
    compress around the relaxed ones (``solve_full_neighbourhood``). ``strict`` steps must
    beat the best plan (a bound on the objective: a neighbourhood without a better plan is
    closed quickly, measured better than accepting equal plans); the plan never gets worse."""

    full: FullModel
    plan: Plan
    rng: random.Random
    workers: int = 1
    size: float = 30.0
    min_size: int = 5
    step_limit: float = 0.3
    strict: bool = True
    params: dict[str, object] = field(default_factory=dict)
    iterations: int = 0
    improvements: int = 0

    def __post_init__(self) -> None:
        problem = self.full.problem
        self.movable = [op.id for _j, _k, op in problem.operations() if op.fixed is None]
        self.previous = {op.id: op.previous for _j, _k, op in problem.operations()}
        self.prev_in_job: dict[int, int] = {}
        for job in problem.jobs:
            for before, after in zip(job.operations, job.operations[1:], strict=False):
                self.prev_in_job[after.id] = before.id
        self.value = self.full.weights.value(evaluate(problem, self.plan))

    def _critical(self) -> list[int]:
        """One critical chain of the current plan, last operation first: each operation's
        predecessor is the job or machine predecessor it starts right after."""
        a = self.plan.assignments
        movable = [o for o in self.movable if a[o].end > a[o].start] or self.movable
        by_end: dict[tuple[int, int], int] = {}
        for o in movable:
            by_end[(a[o].machine, a[o].end)] = o
        movable_set = set(self.movable)
        current = max(movable, key=lambda o: (a[o].end, self.rng.random()))
        chain = [current]
        while len(chain) < len(movable):
            x = a[current]
            options = []
            before = self.prev_in_job.get(current)
            if before is not None and before in movable_set and a[before].end == x.start:
                options.append(before)
            on_machine = by_end.get((x.machine, x.start))
            if on_machine is not None:
                options.append(on_machine)
            if not options:
                break
            current = self.rng.choice(options)
            chain.append(current)
        return chain

    def _around(self, pool: list[int], times: list[int], n: int) -> set[int]:
        a = self.plan.assignments
        ranked = sorted(
            pool, key=lambda o: (min(abs(a[o].start - t) for t in times), self.rng.random())
        )
        return set(ranked[: max(0, n)])

    def _neighbourhood(self, n: int) -> set[int]:
        a = self.plan.assignments
        rng = self.rng
        problem = self.full.problem
        lo = problem.now
        hi = max([lo] + [a[o].end for o in self.movable])
        tardy = _tardy_jobs(problem, a)
        moved = [
            o
            for o in self.movable
            if self.previous.get(o) is not None
            and (a[o].machine, a[o].start) != (self.previous[o].machine, self.previous[o].start)
        ]
        kinds = ["window", "machine", "critical", "critical", "jobs"]
        kinds += ["tardy"] * 3 * bool(tardy) + ["moved"] * bool(moved)
        kind = rng.choice(kinds)
        if kind == "moved":  # operations off their previous place, and what is there now
            seeds = rng.sample(moved, k=min(len(moved), max(1, n // 3)))
            times = [t for o in seeds for t in (a[o].start, self.previous[o].start)]
            return set(seeds) | self._around(self.movable, times, n - len(seeds))
        if kind == "tardy":  # a late job and what competes with it around the same time
            job, _late = rng.choices(tardy, weights=[j.weight * t for j, t in tardy])[0]
            own = [op.id for op in job.operations if op.fixed is None]
            times = [a[o].start for o in own]
            return set(own) | self._around(self.movable, times, n - len(own))
        if kind == "critical":
            chain = self._critical()
            k = min(len(chain), max(1, n // 2))
            first = rng.randint(0, len(chain) - k)
            segment = chain[first : first + k]
            times = [a[o].start for o in segment]
            return set(segment) | self._around(self.movable, times, n - len(segment))
        if kind == "machine":
            machines = sorted({a[o].machine for o in self.movable})
            chosen = set(rng.sample(machines, k=min(len(machines), rng.randint(1, 3))))
            pool = [o for o in self.movable if a[o].machine in chosen]
            return self._around(pool, [rng.randint(lo, hi)], n)
        if kind == "jobs":
            return _random_jobs(problem, rng, n)
        return self._around(self.movable, [rng.randint(lo, hi)], n)

    def run(self, deadline: float, threads: int = 1) -> None:
        """Steps until ``deadline``; ``threads`` steps at a time (CP-SAT releases the GIL while
        it solves), each from the best plan when it starts."""
        if not self.movable:
            return
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            running: dict[Future, int] = {}
            done = False
            while True:
                while not done and len(running) < max(1, threads):
                    remaining = deadline - time.perf_counter()
                    if remaining < 0.1:
                        break
                    n = min(len(self.movable), int(self.size))
                    free = self._neighbourhood(n)
                    self.iterations += 1
                    future = pool.submit(
                        solve_full_neighbourhood,
                        self.full,
                        self.plan,
                        free,
                        time_limit=min(self.step_limit, remaining - 0.05),
                        workers=self.workers,
                        params=self.params,
                        below=self.value if self.strict else None,
                    )
                    running[future] = len(free)
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    n_free = running.pop(future)
                    done = self._accept(future.result(), n_free) or done

    def _accept(self, outcome, n_free: int) -> bool:
        """Take the step's plan if not worse; adapt the size. True: nothing left to gain."""
        if outcome.plan is None:
            if outcome.status == "INFEASIBLE":  # proven: no better plan there, look wider
                self.size = min(self.size * 1.1, len(self.movable))
            else:
                self.size = max(self.size * 0.9, self.min_size)
            return False
        value = self.full.weights.value(evaluate(self.full.problem, outcome.plan))
        if outcome.status == "OPTIMAL":
            if n_free == len(self.movable):
                if value < self.value:
                    self.plan, self.value = outcome.plan, value
                    self.improvements += 1
                return True  # everything was free and solved outright
            self.size = min(self.size * 1.1, len(self.movable))
        elif value >= self.value:
            self.size = max(self.size * 0.9, self.min_size)
        if value < self.value:
            self.improvements += 1
        if value <= self.value:
            self.plan, self.value = outcome.plan, value
        return False


def solve(
    problem: Problem,
    *,
    time_limit: float = 10.0,
    workers: int = 2,
    hint: bool = True,
    stability_weight: int | None = None,
    mode: str = "auto",
    seed: int = 0,
    log: bool = False,
) -> SolveResult:
    """Plan ``problem``: dispatcher first (a valid plan at once), then CP-SAT for the rest of
    ``time_limit`` seconds starting from that plan.

    Quality is lexicographic: weighted tardiness, then makespan, then moved operations
    (``stability_weight=None``). An integer ``stability_weight`` makes stability soft: one moved
    operation then costs as much as that many units of makespan. The returned plan is never
    worse than the dispatcher's by that measure, and it always passes ``validate``
    (``PlanValidationError`` otherwise: a bug).

    ``mode``: "full" solves one CP-SAT model of the whole problem (exact, with a bound);
    "lns" keeps the dispatcher's plan and repeatedly re-plans a neighbourhood of about a
    hundred operations with CP-SAT, everything else frozen (scales to thousands of
    operations); "auto" picks "full" for small models (see ``choose_mode``).
    """
    t0 = time.perf_counter()
    dispatch_plan = dispatch(problem)
    dispatch_s = time.perf_counter() - t0
    _check(problem, dispatch_plan, "the dispatcher")
    dispatch_metrics = evaluate(problem, dispatch_plan)
    trivial = _trivial_makespan_bound(problem)
    has_due = any(job.due is not None and job.weight > 0 for job in problem.jobs)

    best_plan, best_metrics, status, source = (
        dispatch_plan,
        dispatch_metrics,
        "dispatch",
        "dispatch",
    )
    lower_bound: int | None = None if has_due else trivial
    cpsat_status = objective = None
    remaining = time_limit - (time.perf_counter() - t0)
    chosen = choose_mode(problem) if mode == "auto" else mode
    if chosen not in ("full", "lns"):
        raise ValueError(f"unknown mode {mode!r}")
    if remaining > 0.05 and problem.n_operations and chosen == "full":
        # CP-SAT's portfolio (tree search with LP, plus LNS) with strong no-overlap
        # propagation, hinted with the dispatcher's plan and a horizon tightened to it: proves
        # small problems optimal and gives the lower bound. Flexible problems hand over to our
        # precedence LNS after 60 % of the time (FLEXIBLE_PHASES).
        flexible = any(
            len(op.durations) > 1 for _j, _k, op in problem.operations() if op.fixed is None
        )
        chosen_phases = FLEXIBLE_PHASES if flexible and hint else FULL_PHASES
        phases = [
            (None if share is None else share * remaining, params)
            for share, params in chosen_phases
        ]
        current_hint = dispatch_plan if hint else None
        statuses = []
        for share, params in phases:
            left = t0 + time_limit - time.perf_counter()
            budget = left if share is None else min(share, left)
            if budget < 0.05:
                break
            if params.get("precedence_lns"):
                full = build_full_model(problem, best_plan, stability_weight)
                search = _PrecedenceLns(
                    full,
                    best_plan,
                    random.Random(seed),  # noqa: S311 - search randomness, not security
                    params=PRECEDENCE_LNS_STEP_PARAMS,
                )
                search.run(time.perf_counter() + budget, threads=workers)
                statuses.append(f"LNS {search.improvements}/{search.iterations}")
                if search.improvements:
                    _check(problem, search.plan, "CP-SAT (LNS)")
                    metrics = evaluate(problem, search.plan)
                    if _key(metrics, stability_weight) < _key(best_metrics, stability_weight):
                        best_plan, best_metrics, source = search.plan, metrics, "cpsat"
                        status = "feasible"
                        objective = full.weights.value(metrics)
                continue
            outcome = solve_cpsat(
                problem,
                hint=current_hint,
                time_limit=budget,
                workers=workers,
                stability_weight=stability_weight,
                log=log,
                params=params,
            )
            statuses.append(outcome.status)
            if outcome.plan is not None:
                _check(problem, outcome.plan, "CP-SAT")
                metrics = evaluate(problem, outcome.plan)
                if _key(metrics, stability_weight) <= _key(best_metrics, stability_weight):
                    best_plan, best_metrics, source = outcome.plan, metrics, "cpsat"
                    status = "optimal" if outcome.status == "OPTIMAL" else "feasible"
                    objective = outcome.objective
                if outcome.makespan_bound is not None and lower_bound is not None:
                    lower_bound = max(lower_bound, outcome.makespan_bound)
                current_hint = best_plan
            elif outcome.status in ("INFEASIBLE", "MODEL_INVALID"):
                logger.error("CP-SAT said %s on a problem the dispatcher solved", outcome.status)
            if outcome.status in ("OPTIMAL", "INFEASIBLE", "MODEL_INVALID"):
                break
        cpsat_status = statuses[0] if len(statuses) == 1 else " then ".join(statuses)
    elif remaining > 0.2 and problem.n_operations and chosen == "lns":
        weights = objective_weights(problem, dispatch_metrics, stability_weight)
        search = _Lns(problem, dispatch_plan, weights, workers, random.Random(seed), log)  # noqa: S311
        search.run(t0 + time_limit)
        cpsat_status = f"LNS {search.improvements}/{search.iterations}"
        if search.improvements:
            _check(problem, search.plan, "CP-SAT (LNS)")
            metrics = evaluate(problem, search.plan)
            if _key(metrics, stability_weight) <= _key(dispatch_metrics, stability_weight):
                best_plan, best_metrics, source = search.plan, metrics, "cpsat"
                status = "feasible"
                objective = weights.value(metrics)
    has_previous = any(op.previous is not None for _j, _k, op in problem.operations())
    if source == "cpsat" and lower_bound == best_metrics.makespan and not has_previous:
        status = "optimal"  # makespan is the whole objective and it meets its bound
    return SolveResult(
        plan=best_plan,
        metrics=best_metrics,
        status=status,
        lower_bound=lower_bound,
        wall_s=time.perf_counter() - t0,
        source=source,
        dispatch_metrics=dispatch_metrics,
        dispatch_s=dispatch_s,
        cpsat_status=cpsat_status,
        objective=objective,
    )


def solve_plain_cpsat(
    problem: Problem, *, time_limit: float = 10.0, workers: int = 2, log: bool = False
) -> SolveResult:
    """Baseline for the benchmarks: textbook CP-SAT model, makespan only, no hint. Refuses
    problems with calendars, changeovers, releases, due dates, fixed or previous operations."""
    uses_features = any(m.available is not None or m.changeover for m in problem.machines) or any(
        job.release or job.due is not None or op.fixed or op.previous
        for job in problem.jobs
        for op in job.operations
    )
    if uses_features or problem.now:
        raise ValueError("solve_plain_cpsat only handles plain (flexible) job-shop instances")
    outcome = solve_plain_cpsat_model(problem, time_limit=time_limit, workers=workers, log=log)
    if outcome.plan is None:
        return SolveResult(
            plan=Plan(),
            metrics=None,
            status="unknown",
            lower_bound=outcome.makespan_bound,
            wall_s=outcome.wall_s,
            source="cpsat",
            cpsat_status=outcome.status,
        )
    _check(problem, outcome.plan, "plain CP-SAT")
    return SolveResult(
        plan=outcome.plan,
        metrics=evaluate(problem, outcome.plan),
        status="optimal" if outcome.status == "OPTIMAL" else "feasible",
        lower_bound=max(outcome.makespan_bound or 0, _trivial_makespan_bound(problem)),
        wall_s=outcome.wall_s,
        source="cpsat",
        cpsat_status=outcome.status,
        objective=outcome.objective,
    )
