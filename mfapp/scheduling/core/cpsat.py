"""OR-Tools CP-SAT models: the full scheduling model (``solve_cpsat``) and a plain job-shop
baseline (``solve_plain_cpsat``) used only by the benchmarks.

Full model, per non-fixed operation: one start variable shared by one (optional) fixed-size
interval per eligible machine, exactly one of them present. Calendars: on a machine with
windows, the start of the operation is restricted to the union of ``[window.start, window.end -
d]``, which is exactly "completely inside one window" (no blocking intervals needed). Fixed
operations are constant intervals. One ``NoOverlap`` per machine. Changeovers: for a machine
with ``changeover > 0`` whose candidate operations carry at least two different materials, an
``AddCircuit`` over those operations (arc i -> j: j starts at least ``changeover`` after i ends
when their materials differ; no gap is imposed between two fixed operations, they are facts);
absent operations take their self-loop. Other machines get no sequencing variables at all.
Horizon: without due dates no better plan can end after the hint's makespan, so that is the
horizon (tight domains); with due dates a lower tardiness may need a later end, so the horizon
is twice the hint's span from the origin.

``solve_neighbourhood`` is the sub-model of the large neighbourhood search (see its docstring).

Objective (one weighted sum, lexicographic by construction):
``BIG * weighted_tardiness + K * makespan + w * moved`` where, with ``stability_weight=None``
(strict), ``K = moved candidates + 1`` and ``w = 1``; with an integer ``stability_weight``
(soft), ``K = 1`` and ``w = stability_weight`` (one moved operation is worth that many units of
makespan); ``BIG`` exceeds the largest possible value of the rest.
"""

from __future__ import annotations

import itertools
import time
from bisect import bisect_right
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from .problem import (
    Assignment,
    InfeasibleProblemError,
    Metrics,
    Plan,
    Problem,
    changeover_between,
)
from .validate import evaluate

__all__ = [
    "CpsatOutcome",
    "FullModel",
    "ObjectiveWeights",
    "build_full_model",
    "consistent_free_set",
    "objective_weights",
    "solve_cpsat",
    "solve_full_neighbourhood",
    "solve_neighbourhood",
    "solve_plain_cpsat_model",
]

ALWAYS = True  # presence of the only eligible machine


@dataclass
class CpsatOutcome:
    plan: Plan | None
    status: str  # CP-SAT status name: OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN, MODEL_INVALID
    objective: int | None
    bound: int | None  # objective bound
    makespan_bound: int | None  # lower bound on the makespan, when the objective allows one
    wall_s: float
    trace: list[tuple[float, int]] = field(default_factory=list)  # (seconds, objective)
    stats: dict[str, int] = field(default_factory=dict)


class _Trace(cp_model.CpSolverSolutionCallback):
    def __init__(self, t0: float) -> None:
        super().__init__()
        self.t0 = t0
        self.points: list[tuple[float, int]] = []

    def on_solution_callback(self) -> None:
        self.points.append((time.perf_counter() - self.t0, int(self.ObjectiveValue())))


def _domain_from_windows(
    windows: tuple[tuple[int, int], ...] | None, d: int, lo: int, hi: int
) -> list[tuple[int, int]]:
    """Start values s in [lo, hi] with [s, s+d) inside one window, as sorted closed ranges."""
    if hi < lo:
        return []
    if windows is None:
        return [(lo, hi)]
    ranges = []
    for w_start, w_end in windows:
        a, b = max(w_start, lo), min(w_end - d, hi)
        if a <= b:
            ranges.append((a, b))
    return ranges


def _flatten(ranges: list[tuple[int, int]]) -> list[int]:
    return [x for pair in ranges for x in pair]


# CP-SAT parameters of the LNS steps (on top of time limit and workers). Measured on this
# 2-core machine: presolve probing costs far more wall-clock time than its deterministic-time
# accounting says, and every step re-runs presolve.
LNS_STEP_PARAMS: dict[str, object] = {"cp_model_probing_level": 0}


def _params(
    solver: cp_model.CpSolver,
    time_limit: float,
    workers: int,
    log: bool,
    extra: dict[str, object] | None = None,
) -> None:
    solver.parameters.max_time_in_seconds = max(0.05, float(time_limit))
    solver.parameters.num_workers = max(1, int(workers))
    solver.parameters.log_search_progress = log
    for name, value in (extra or {}).items():
        field_value = getattr(solver.parameters, name)
        if hasattr(field_value, "extend"):  # repeated field
            field_value.clear()
            field_value.extend(value)
        else:
            setattr(solver.parameters, name, value)


@dataclass(frozen=True)
class ObjectiveWeights:
    """``objective = big * weighted_tardiness + k_mk * makespan + w_moved * moved``."""

    horizon: int
    k_mk: int
    w_moved: int
    big: int

    def value(self, metrics: Metrics) -> int:
        return (
            self.big * metrics.weighted_tardiness
            + self.k_mk * metrics.makespan
            + self.w_moved * metrics.moved_operations
        )


def objective_weights(
    problem: Problem, hint_metrics: Metrics | None, stability_weight: int | None
) -> ObjectiveWeights:
    jobs = problem.jobs
    has_due = any(job.due is not None for job in jobs)
    n_prev = sum(
        1 for job in jobs for op in job.operations if op.previous is not None and op.fixed is None
    )
    if stability_weight is None:
        k_mk, w_moved = n_prev + 1, 1
    else:
        k_mk, w_moved = 1, max(0, int(stability_weight))
    # Horizon: no plan better than the hint can end later than this.
    origin = min([problem.now] + [job.release for job in jobs])
    fixed_end = max(
        [op.fixed.end for job in jobs for op in job.operations if op.fixed is not None],
        default=origin,
    )
    if hint_metrics is not None:
        horizon = hint_metrics.makespan
        if stability_weight is not None and w_moved:
            horizon += (w_moved * hint_metrics.moved_operations) // max(k_mk, 1)
        if has_due:  # a smaller tardiness may need a later makespan
            horizon += max(0, hint_metrics.makespan - origin)
    else:
        machines = problem.machine_map()
        base = max([problem.now, fixed_end] + [job.release for job in jobs])
        horizon = base + sum(
            max(op.durations.values()) + max(machines[m].changeover for m in op.durations)
            for job in jobs
            for op in job.operations
            if op.fixed is None
        )
        horizon += max((m.available[-1][1] for m in problem.machines if m.available), default=0)
    horizon = max(horizon, fixed_end, problem.now)
    big = k_mk * horizon + w_moved * n_prev + 1
    return ObjectiveWeights(horizon=horizon, k_mk=k_mk, w_moved=w_moved, big=big)


@dataclass
class FullModel:
    """The one-model formulation of a whole problem and the handles to read and hint it."""

    problem: Problem
    model: cp_model.CpModel
    weights: ObjectiveWeights
    start: dict
    end: dict
    presence: dict
    durations: dict
    candidates: dict
    arcs_by_machine: dict
    makespan: cp_model.IntVar
    tardiness: dict
    stays: dict
    n_prev: int
    n_arcs: int
    objective: cp_model.LinearExprT = 0

    def hint(self, model: cp_model.CpModel, plan: Plan) -> None:
        """A complete hint from ``plan`` (on ``model``, this model or a clone of it)."""
        _add_hint(
            model,
            self.problem,
            plan,
            self.start,
            self.presence,
            self.candidates,
            self.arcs_by_machine,
            self.makespan,
            self.tardiness,
            self.stays,
            evaluate(self.problem, plan),
            self.end,
        )

    def plan(self, solver: cp_model.CpSolver) -> Plan:
        assignments: dict[int, Assignment] = {}
        for job in self.problem.jobs:
            for op in job.operations:
                if op.fixed is not None:
                    assignments[op.id] = op.fixed
                    continue
                s_val = solver.value(self.start[op.id])
                for m, _d in sorted(op.durations.items()):
                    lit = self.presence.get((op.id, m))
                    if lit is None:
                        continue
                    if lit is ALWAYS or solver.boolean_value(lit):
                        d = self.durations[(op.id, m)]
                        assignments[op.id] = Assignment(m, s_val, s_val + d)
                        break
        return Plan(assignments)


def solve_cpsat(
    problem: Problem,
    *,
    hint: Plan | None,
    time_limit: float,
    workers: int = 2,
    stability_weight: int | None = None,
    log: bool = False,
    params: dict[str, object] | None = None,
) -> CpsatOutcome:
    t0 = time.perf_counter()
    full = build_full_model(problem, hint, stability_weight)
    model = full.model
    if hint is not None:  # complete hint from the dispatcher's (or the best) plan
        full.hint(model, hint)
    solver = cp_model.CpSolver()
    build_s = time.perf_counter() - t0
    _params(solver, time_limit - build_s, workers, log, params)
    trace = _Trace(t0)
    status_code = solver.solve(model, trace)
    status = solver.status_name(status_code)
    wall = time.perf_counter() - t0
    stats = {
        "variables": len(model.proto.variables),
        "constraints": len(model.proto.constraints),
        "circuit_arcs": full.n_arcs,
        "horizon": full.weights.horizon,
    }
    if status_code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpsatOutcome(None, status, None, None, None, wall, trace.points, stats)
    obj = round(solver.objective_value)
    bound = round(solver.best_objective_bound)
    makespan_bound = None
    if not full.tardiness:
        # bound <= K*mk_min + w*moved(opt) <= K*mk_min + w*n_prev
        w = full.weights
        makespan_bound = max(0, -(-(bound - w.w_moved * full.n_prev) // w.k_mk))
    return CpsatOutcome(
        full.plan(solver), status, obj, bound, makespan_bound, wall, trace.points, stats
    )


def build_full_model(
    problem: Problem, hint: Plan | None, stability_weight: int | None
) -> FullModel:
    """The whole problem as one CP-SAT model (no hint added); the horizon comes from ``hint``."""
    machines = problem.machine_map()
    model = cp_model.CpModel()

    jobs = problem.jobs
    hint_metrics = evaluate(problem, hint) if hint is not None else None
    weights = objective_weights(problem, hint_metrics, stability_weight)
    horizon, k_mk, w_moved, big = weights.horizon, weights.k_mk, weights.w_moved, weights.big
    prev_ops = [
        op for job in jobs for op in job.operations if op.previous is not None and op.fixed is None
    ]
    n_prev = len(prev_ops)

    # Per operation variables.
    start: dict[int, cp_model.IntVar] = {}
    end: dict[int, cp_model.LinearExprT] = {}
    presence: dict[tuple[int, int], cp_model.LinearExprT] = {}  # (op, machine) -> literal/True
    durations: dict[tuple[int, int], int] = {}
    intervals: dict[int, list] = {m.id: [] for m in problem.machines}
    # circuit candidates per machine: (op id, start expr, end expr, literal or None, material)
    candidates: dict[int, list] = {m.id: [] for m in problem.machines}
    fixed_ids: set[int] = set()
    job_of: dict[int, int] = {}
    rank: dict[int, int] = {}

    for job in jobs:
        lb = max(job.release, problem.now)
        ops = job.operations
        tails = [0] * (len(ops) + 1)
        for k in range(len(ops) - 1, -1, -1):
            op = ops[k]
            tails[k] = tails[k + 1] + (0 if op.fixed else min(op.durations.values()))
        head = lb
        for k, op in enumerate(ops):
            job_of[op.id] = job.id
            rank[op.id] = k
            if op.fixed is not None:
                fixed_ids.add(op.id)
                f = op.fixed
                start[op.id] = model.new_constant(f.start)
                end[op.id] = f.end
                if f.end > f.start:
                    intervals[f.machine].append(
                        model.new_fixed_size_interval_var(f.start, f.end - f.start, f"fx{op.id}")
                    )
                    candidates[f.machine].append((op.id, f.start, f.end, None, op.material))
                head = max(head, f.end)
                continue
            lo, hi = head, horizon - tails[k]
            alts = sorted(op.durations.items())
            shortest = min(d for _m, d in alts)
            domains = {
                m: _domain_from_windows(machines[m].available, d, lo, hi + shortest - d)
                for m, d in alts
            }
            usable = [(m, d) for m, d in alts if domains[m]]
            if not usable:
                raise InfeasibleProblemError(
                    f"operation {op.id} fits in no availability window before the horizon"
                )
            union = sorted({r for m, _d in usable for r in domains[m]})
            s = model.new_int_var_from_domain(cp_model.Domain.from_intervals(union), f"s{op.id}")
            start[op.id] = s
            if len(usable) == 1:
                m, d = usable[0]
                presence[(op.id, m)] = ALWAYS
                durations[(op.id, m)] = d
                end[op.id] = s + d
                if d > 0:
                    intervals[m].append(model.new_fixed_size_interval_var(s, d, f"i{op.id}_{m}"))
                    candidates[m].append((op.id, s, s + d, None, op.material))
                head = max(head, lo) + d
                continue
            lits = []
            for m, d in usable:
                p = model.new_bool_var(f"p{op.id}_{m}")
                lits.append(p)
                presence[(op.id, m)] = p
                durations[(op.id, m)] = d
                if domains[m] != union:
                    model.add_linear_expression_in_domain(
                        s, cp_model.Domain.from_intervals(domains[m])
                    ).only_enforce_if(p)
                if d > 0:
                    intervals[m].append(
                        model.new_optional_fixed_size_interval_var(s, d, p, f"i{op.id}_{m}")
                    )
                    candidates[m].append((op.id, s, s + d, p, op.material))
            model.add_exactly_one(lits)
            ds = {d for _m, d in usable}
            if len(ds) == 1:
                end[op.id] = s + ds.pop()
            else:
                e = model.new_int_var(lo, horizon, f"e{op.id}")
                model.add(e == s + sum(d * presence[(op.id, m)] for m, d in usable))
                end[op.id] = e
            head = max(head, lo) + min(d for _m, d in usable)
        for before, after in itertools.pairwise(ops):
            if after.fixed is None:
                model.add(start[after.id] >= end[before.id])

    for items in intervals.values():
        if len(items) > 1:
            model.add_no_overlap(items)

    # Sequence-dependent changeovers.
    arcs_by_machine: dict[int, list[tuple[int, int, cp_model.IntVar]]] = {}
    n_arcs = 0
    for m_id, cands in candidates.items():
        machine = machines[m_id]
        materials = {c[4] for c in cands if c[4] is not None}
        if machine.changeover <= 0 or len(materials) < 2 or len(cands) < 2:
            continue
        arcs: list[tuple[int, int, cp_model.IntVar]] = []
        literal_arcs = []
        for i, (op_i, _s_i, e_i, p_i, mat_i) in enumerate(cands, start=1):
            first = model.new_bool_var("")
            last = model.new_bool_var("")
            literal_arcs += [(0, i, first), (i, 0, last)]
            arcs += [(0, i, first), (i, 0, last)]
            if p_i is not None:
                literal_arcs.append((i, i, p_i.Not()))
            for j, (op_j, s_j, _e_j, _p_j, mat_j) in enumerate(cands, start=1):
                if i == j:
                    continue
                if job_of[op_i] == job_of[op_j] and rank[op_j] < rank[op_i]:
                    continue  # routing order forbids j right after i
                if op_i in fixed_ids and op_j in fixed_ids:
                    if e_i > s_j:
                        continue
                    gap = 0
                else:
                    gap = changeover_between(machine, mat_i, mat_j)
                lit = model.new_bool_var("")
                literal_arcs.append((i, j, lit))
                arcs.append((i, j, lit))
                model.add(s_j >= e_i + gap).only_enforce_if(lit)
        empty = model.new_bool_var("")
        literal_arcs.append((0, 0, empty))
        arcs.append((0, 0, empty))
        model.add_circuit(literal_arcs)
        arcs_by_machine[m_id] = arcs
        n_arcs += len(arcs)

    # Objective terms.
    makespan = model.new_int_var(0, horizon, "makespan")
    tardiness: dict[int, cp_model.IntVar] = {}
    for job in jobs:
        if not job.operations:
            continue
        last = end[job.operations[-1].id]
        model.add(makespan >= last)
        if job.due is not None and job.weight > 0:
            t = model.new_int_var(0, max(0, horizon - job.due), f"T{job.id}")
            model.add(t >= last - job.due)
            tardiness[job.id] = t
    stays: dict[int, cp_model.LinearExprT] = {}
    for op in prev_ops:
        prev = op.previous
        p = presence.get((op.id, prev.machine))
        s = start[op.id]
        if p is None or not _in_domain(s, prev.start):
            continue
        stay = model.new_bool_var(f"stay{op.id}")
        if p is not ALWAYS:
            model.add_implication(stay, p)
        model.add(s == prev.start).only_enforce_if(stay)
        stays[op.id] = stay
    job_weight = {job.id: job.weight for job in jobs}
    weighted_tardiness = sum(job_weight[j] * t for j, t in tardiness.items())
    second = k_mk * makespan + w_moved * (n_prev - sum(stays.values()))
    objective = (big * weighted_tardiness if tardiness else 0) + second
    model.minimize(objective)

    return FullModel(
        problem=problem,
        model=model,
        weights=weights,
        start=start,
        end=end,
        presence=presence,
        durations=durations,
        candidates=candidates,
        arcs_by_machine=arcs_by_machine,
        makespan=makespan,
        tardiness=tardiness,
        stays=stays,
        n_prev=n_prev,
        n_arcs=n_arcs,
        objective=objective,
    )


def solve_full_neighbourhood(
    full: FullModel,
    plan: Plan,
    relaxed: set[int],
    *,
    time_limit: float,
    workers: int = 1,
    params: dict[str, object] | None = None,
    below: int | None = None,
) -> CpsatOutcome:
    """One step of a precedence-keeping neighbourhood search on the whole model: operations
    outside ``relaxed`` keep their machine and their order on it (as in ``plan``) but not their
    times, so the whole plan can still shift left or right; the relaxed ones may go anywhere.
    ``plan`` is a complete hint of this sub-model, so the answer is never worse."""
    t0 = time.perf_counter()
    model = full.model.clone()
    model.clear_hints()
    a = plan.assignments
    proto_vars = model.proto.variables
    rows: dict[int, list[tuple[int, int]]] = {}
    for job in full.problem.jobs:
        for op in job.operations:
            if op.fixed is not None or op.id in relaxed:
                continue
            x = a[op.id]
            lit = full.presence.get((op.id, x.machine))
            if lit is not None and lit is not ALWAYS:
                domain = proto_vars[lit.index].domain
                domain[0] = domain[1] = 1
            if x.end > x.start:
                rows.setdefault(x.machine, []).append((x.start, op.id))
    start, end = full.start, full.end
    for items in rows.values():
        items.sort()
        for (_s1, before), (_s2, after) in itertools.pairwise(items):
            model.add(start[after] >= end[before])
    if below is not None:  # only strictly better plans
        model.add(full.objective < below)
    full.hint(model, plan)
    solver = cp_model.CpSolver()
    _params(solver, time_limit - (time.perf_counter() - t0), workers, False, params)
    status_code = solver.solve(model)
    status = solver.status_name(status_code)
    wall = time.perf_counter() - t0
    if status_code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpsatOutcome(None, status, None, None, None, wall)
    return CpsatOutcome(
        full.plan(solver),
        status,
        round(solver.objective_value),
        round(solver.best_objective_bound),
        None,
        wall,
    )


class _Hints:
    """Adds each variable's hint once (``s + 0`` is ``s`` itself; CP-SAT refuses duplicates)."""

    def __init__(self, model: cp_model.CpModel) -> None:
        self.model = model
        self.seen: set[int] = set()

    def add(self, var, value) -> None:
        if isinstance(var, int | bool) or var.index in self.seen:
            return
        self.seen.add(var.index)
        self.model.add_hint(var, value)


def _in_domain(var: cp_model.IntVar, value: int) -> bool:
    proto = var.proto.domain
    return any(proto[i] <= value <= proto[i + 1] for i in range(0, len(proto), 2))


def _add_hint(
    model,
    problem,
    plan,
    start,
    presence,
    candidates,
    arcs_by_machine,
    makespan,
    tardiness,
    stays,
    metrics,
    end,
) -> None:
    a = plan.assignments
    hints = _Hints(model)
    for job in problem.jobs:
        for op in job.operations:
            if op.fixed is not None:
                continue
            x = a[op.id]
            hints.add(start[op.id], x.start)
            for m in op.durations:
                lit = presence.get((op.id, m))
                if lit is not None and lit is not ALWAYS:
                    hints.add(lit, m == x.machine)
            e = end[op.id]
            if isinstance(e, cp_model.IntVar):
                hints.add(e, x.end)
    for m_id, arcs in arcs_by_machine.items():
        cands = candidates[m_id]
        present = []
        for i, (op_id, *_rest) in enumerate(cands, start=1):
            x = a[op_id]
            if x.machine == m_id:
                present.append((x.start, x.end, i))
        present.sort()
        chosen = set()
        if present:
            order = [0] + [i for _s, _e, i in present] + [0]
            chosen = set(itertools.pairwise(order))
        else:
            chosen = {(0, 0)}
        for i, j, lit in arcs:
            hints.add(lit, (i, j) in chosen)
    hints.add(makespan, metrics.makespan)
    ends = {job.id: a[job.operations[-1].id].end for job in problem.jobs if job.operations}
    dues = {job.id: job.due for job in problem.jobs}
    for j, t in tardiness.items():
        hints.add(t, max(0, ends[j] - dues[j]))
    prev = {op.id: op.previous for job in problem.jobs for op in job.operations}
    for op_id, stay in stays.items():
        x, p = a[op_id], prev[op_id]
        hints.add(stay, x.machine == p.machine and x.start == p.start)


def solve_plain_cpsat_model(
    problem: Problem, *, time_limit: float, workers: int = 2, log: bool = False
) -> CpsatOutcome:
    """Textbook model: (optional) intervals, no-overlap per machine, precedence, makespan. No
    calendars, changeovers, releases, due dates or hints (benchmarks only)."""
    t0 = time.perf_counter()
    model = cp_model.CpModel()
    horizon = sum(max(op.durations.values()) for job in problem.jobs for op in job.operations)
    intervals: dict[int, list] = {m.id: [] for m in problem.machines}
    start, end, presence = {}, {}, {}
    makespan = model.new_int_var(0, horizon, "makespan")
    for job in problem.jobs:
        for op in job.operations:
            s = model.new_int_var(0, horizon, f"s{op.id}")
            e = model.new_int_var(0, horizon, f"e{op.id}")
            start[op.id], end[op.id] = s, e
            alts = sorted(op.durations.items())
            if len(alts) == 1:
                m, d = alts[0]
                intervals[m].append(model.new_interval_var(s, d, e, f"i{op.id}"))
                presence[op.id] = [(m, d, ALWAYS)]
                continue
            lits = []
            for m, d in alts:
                p = model.new_bool_var(f"p{op.id}_{m}")
                intervals[m].append(model.new_optional_interval_var(s, d, e, p, f"i{op.id}_{m}"))
                lits.append((m, d, p))
            model.add_exactly_one(p for _m, _d, p in lits)
            presence[op.id] = lits
        for before, after in zip(job.operations, job.operations[1:], strict=False):
            model.add(start[after.id] >= end[before.id])
        if job.operations:
            model.add(makespan >= end[job.operations[-1].id])
    for items in intervals.values():
        if len(items) > 1:
            model.add_no_overlap(items)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    _params(solver, time_limit - (time.perf_counter() - t0), workers, log)
    trace = _Trace(t0)
    status_code = solver.solve(model, trace)
    status = solver.status_name(status_code)
    wall = time.perf_counter() - t0
    if status_code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpsatOutcome(None, status, None, None, None, wall, trace.points)
    assignments = {}
    for op_id, lits in presence.items():
        s_val = solver.value(start[op_id])
        for m, d, p in lits:
            if p is ALWAYS or solver.boolean_value(p):
                assignments[op_id] = Assignment(m, s_val, s_val + d)
                break
    bound = round(solver.best_objective_bound)
    return CpsatOutcome(
        Plan(assignments),
        status,
        round(solver.objective_value),
        bound,
        bound,
        wall,
        trace.points,
    )


# --------------------------------------------------------------------------------------------
# Large neighbourhood search sub-model: a few operations free, everything else frozen.
# --------------------------------------------------------------------------------------------


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Intersection of two sorted lists of disjoint closed ranges."""
    result, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            result.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


@dataclass
class _Frozen:
    """The frozen operations of one machine, sorted: starts, ends, materials."""

    starts: list[int]
    ends: list[int]
    materials: list[str | None]


def _frozen_by_machine(problem, plan, free, materials) -> dict[int, _Frozen]:
    rows: dict[int, list[tuple[int, int, str | None]]] = {m.id: [] for m in problem.machines}
    for op_id, a in plan.assignments.items():
        if op_id not in free and a.end > a.start:
            rows[a.machine].append((a.start, a.end, materials[op_id]))
    frozen = {}
    for m_id, items in rows.items():
        items.sort()
        frozen[m_id] = _Frozen([x[0] for x in items], [x[1] for x in items], [x[2] for x in items])
    return frozen


def consistent_free_set(problem: Problem, plan: Plan, free: set[int]) -> set[int]:
    """Shrink ``free`` until the sub-model below is exact enough to contain the current plan:
    frozen neighbours that become consecutive must respect their changeover, and every free
    operation must fit its frozen neighbours' changeovers directly (operations without a
    material in between are the only way either can fail)."""
    machines = problem.machine_map()
    materials = {op.id: op.material for _j, _k, op in problem.operations()}
    fixed = {op.id for _j, _k, op in problem.operations() if op.fixed is not None}
    free = {op_id for op_id in free if op_id not in fixed}
    a = plan.assignments
    while True:
        frozen = _frozen_by_machine(problem, plan, free, materials)
        offenders: set[int] = set()
        for m_id, fr in frozen.items():
            co = machines[m_id].changeover
            if not co:
                continue
            for k in range(1, len(fr.starts)):
                need = changeover_between(machines[m_id], fr.materials[k - 1], fr.materials[k])
                if need and fr.starts[k] - fr.ends[k - 1] < need:
                    lo, hi = fr.ends[k - 1], fr.starts[k]
                    offenders |= {o for o in free if a[o].machine == m_id and lo <= a[o].start < hi}
        for op_id in free:
            x = a[op_id]
            if x.end <= x.start or not machines[x.machine].changeover:
                continue
            fr = frozen[x.machine]
            k = bisect_right(fr.starts, x.start)
            mat = materials[op_id]
            if k > 0:
                gap = changeover_between(machines[x.machine], fr.materials[k - 1], mat)
                if x.start < fr.ends[k - 1] + gap:
                    offenders.add(op_id)
            if k < len(fr.starts):
                gap = changeover_between(machines[x.machine], mat, fr.materials[k])
                if x.end + gap > fr.starts[k]:
                    offenders.add(op_id)
        # free pairs on one machine with different materials must be ordered with a gap
        by_machine: dict[int, list[int]] = {}
        for op_id in free:
            if a[op_id].end > a[op_id].start and materials[op_id] is not None:
                by_machine.setdefault(a[op_id].machine, []).append(op_id)
        for m_id, ids in by_machine.items():
            co = machines[m_id].changeover
            if not co:
                continue
            ids.sort(key=lambda o: a[o].start)
            for i, o1 in enumerate(ids):
                for o2 in ids[i + 1 :]:
                    if materials[o1] != materials[o2] and a[o2].start < a[o1].end + co:
                        offenders.add(o2)
        if not offenders:
            return free
        free -= offenders


def solve_neighbourhood(
    problem: Problem,
    plan: Plan,
    free: set[int],
    weights: ObjectiveWeights,
    *,
    time_limit: float,
    workers: int = 2,
    log: bool = False,
) -> CpsatOutcome:
    """Re-plan the operations in ``free`` (made consistent by ``consistent_free_set``) with
    every other operation frozen where ``plan`` has it. The frozen operations become gaps in
    each machine's start domains (with the changeovers to the frozen neighbours), so the model
    needs no circuit: changeovers between two free operations are pairwise disjunctions, which
    is exact except that an operation without material between them does not waive the gap
    (safe: it only forbids plans). Returns the full plan (frozen + new) or None."""
    t0 = time.perf_counter()
    machines = problem.machine_map()
    materials = {op.id: op.material for _j, _k, op in problem.operations()}
    a = plan.assignments
    frozen = _frozen_by_machine(problem, plan, free, materials)
    horizon, k_mk, w_moved, big = weights.horizon, weights.k_mk, weights.w_moved, weights.big
    model = cp_model.CpModel()
    start: dict[int, cp_model.IntVar] = {}
    end: dict[int, cp_model.LinearExprT] = {}
    presence: dict[tuple[int, int], object] = {}
    durations: dict[tuple[int, int], int] = {}
    intervals: dict[int, list] = {}
    on_machine: dict[int, list[tuple[int, cp_model.IntVar, int, object]]] = {}
    ops_by_id = {}
    for job in problem.jobs:
        ops = job.operations
        for k, op in enumerate(ops):
            if op.id not in free:
                continue
            ops_by_id[op.id] = op
            lo = max(job.release, problem.now)
            if k > 0 and ops[k - 1].id not in free:
                lo = max(lo, a[ops[k - 1].id].end)
            end_hi = horizon
            if k + 1 < len(ops) and ops[k + 1].id not in free:
                end_hi = min(end_hi, a[ops[k + 1].id].start)
            mat = op.material
            domains = {}
            for m, d in sorted(op.durations.items()):
                machine = machines[m]
                calendar = _domain_from_windows(machine.available, d, lo, end_hi - d)
                if d == 0 or not calendar:
                    domains[m] = calendar
                    continue
                fr = frozen[m]
                gaps = []
                n = len(fr.starts)
                for g in range(n + 1):
                    g_lo = lo
                    if g > 0:
                        g_lo = max(
                            g_lo,
                            fr.ends[g - 1] + changeover_between(machine, fr.materials[g - 1], mat),
                        )
                    g_hi = end_hi - d
                    if g < n:
                        g_hi = min(
                            g_hi,
                            fr.starts[g] - d - changeover_between(machine, mat, fr.materials[g]),
                        )
                    if g_lo <= g_hi:
                        gaps.append((g_lo, g_hi))
                domains[m] = _intersect(calendar, gaps)
            usable = [(m, d) for m, d in sorted(op.durations.items()) if domains[m]]
            current = a[op.id]
            if not any(
                m == current.machine and any(x <= current.start <= y for x, y in domains[m])
                for m, _d in usable
            ):  # pragma: no cover - consistent_free_set guarantees it
                raise AssertionError(f"operation {op.id}: current position outside sub-model")
            union = sorted({r for m, _d in usable for r in domains[m]})
            merged: list[tuple[int, int]] = []
            for x, y in union:
                if merged and x <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], y))
                else:
                    merged.append((x, y))
            s = model.new_int_var_from_domain(cp_model.Domain.from_intervals(merged), f"s{op.id}")
            start[op.id] = s
            lits = []
            for m, d in usable:
                if len(usable) == 1:
                    p = ALWAYS
                else:
                    p = model.new_bool_var(f"p{op.id}_{m}")
                    lits.append(p)
                presence[(op.id, m)] = p
                durations[(op.id, m)] = d
                if domains[m] != merged:
                    c = model.add_linear_expression_in_domain(
                        s, cp_model.Domain.from_intervals(domains[m])
                    )
                    if p is not ALWAYS:
                        c.only_enforce_if(p)
                if d > 0:
                    if p is ALWAYS:
                        iv = model.new_fixed_size_interval_var(s, d, f"i{op.id}_{m}")
                    else:
                        iv = model.new_optional_fixed_size_interval_var(s, d, p, f"i{op.id}_{m}")
                    intervals.setdefault(m, []).append(iv)
                    on_machine.setdefault(m, []).append((op.id, s, d, p))
            if lits:
                model.add_exactly_one(lits)
            ds = {d for _m, d in usable}
            if len(ds) == 1:
                end[op.id] = s + ds.pop()
            else:
                e = model.new_int_var(lo, horizon, f"e{op.id}")
                model.add(e == s + sum(d * presence[(op.id, m)] for m, d in usable))
                end[op.id] = e
        for before, after in itertools.pairwise(ops):
            if before.id in free and after.id in free:
                model.add(start[after.id] >= end[before.id])

    for items in intervals.values():
        if len(items) > 1:
            model.add_no_overlap(items)

    # Changeovers between two free operations: pairwise disjunctions.
    pair_lits = []
    for m_id, items in on_machine.items():
        machine = machines[m_id]
        if not machine.changeover:
            continue
        for i, (o1, s1, d1, p1) in enumerate(items):
            for o2, s2, d2, p2 in items[i + 1 :]:
                gap = changeover_between(machine, materials[o1], materials[o2])
                if not gap:
                    continue
                first = model.new_bool_var("")
                both = [lit for lit in (p1, p2) if lit is not ALWAYS]
                model.add(s2 >= s1 + d1 + gap).only_enforce_if([first, *both])
                model.add(s1 >= s2 + d2 + gap).only_enforce_if([first.Not(), *both])
                pair_lits.append((first, o1, o2, m_id))

    # Objective: the terms the free operations can change (the rest is constant).
    frozen_end = max((x.end for op_id, x in a.items() if op_id not in free), default=problem.now)
    makespan = model.new_int_var(min(frozen_end, horizon), horizon, "makespan")
    tardiness = {}
    for job in problem.jobs:
        if not job.operations or job.operations[-1].id not in free:
            continue
        last = end[job.operations[-1].id]
        model.add(makespan >= last)
        if job.due is not None and job.weight > 0:
            t = model.new_int_var(0, max(0, horizon - job.due), f"T{job.id}")
            model.add(t >= last - job.due)
            tardiness[job.id] = (t, job.weight, job.due)
    stays = {}
    for op_id in free:
        prev = ops_by_id[op_id].previous
        if prev is None:
            continue
        p = presence.get((op_id, prev.machine))
        if p is None or not _in_domain(start[op_id], prev.start):
            continue
        stay = model.new_bool_var("")
        if p is not ALWAYS:
            model.add_implication(stay, p)
        model.add(start[op_id] == prev.start).only_enforce_if(stay)
        stays[op_id] = stay
    n_prev_free = sum(1 for op_id in free if ops_by_id[op_id].previous is not None)
    objective = (
        big * sum(w * t for t, w, _d in tardiness.values())
        + k_mk * makespan
        + w_moved * (n_prev_free - sum(stays.values()))
    )
    model.minimize(objective)

    # Complete hint: the current plan.
    hints = _Hints(model)
    for op_id in free:
        x = a[op_id]
        hints.add(start[op_id], x.start)
        for m in ops_by_id[op_id].durations:
            p = presence.get((op_id, m))
            if p is not None and p is not ALWAYS:
                hints.add(p, m == x.machine)
        if isinstance(end[op_id], cp_model.IntVar):
            hints.add(end[op_id], x.end)
    for first, o1, o2, _m in pair_lits:
        hints.add(first, a[o1].start <= a[o2].start)
    current_makespan = max((x.end for x in a.values()), default=problem.now)
    hints.add(makespan, current_makespan)
    for job_id, (t, _w, due) in tardiness.items():
        job_last = next(j for j in problem.jobs if j.id == job_id).operations[-1].id
        hints.add(t, max(0, a[job_last].end - due))
    for op_id, stay in stays.items():
        prev = ops_by_id[op_id].previous
        hints.add(stay, a[op_id].machine == prev.machine and a[op_id].start == prev.start)

    solver = cp_model.CpSolver()
    # Small models solved many times: probing in presolve costs more than it saves (measured
    # on the realistic tenant: 14 vs 7 improving steps in 10 s).
    _params(solver, time_limit - (time.perf_counter() - t0), workers, log, LNS_STEP_PARAMS)
    status_code = solver.solve(model)
    status = solver.status_name(status_code)
    wall = time.perf_counter() - t0
    stats = {"free": len(free), "variables": len(model.proto.variables), "pairs": len(pair_lits)}
    if status_code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpsatOutcome(None, status, None, None, None, wall, [], stats)
    assignments = dict(a)
    for op_id in free:
        s_val = solver.value(start[op_id])
        for m in sorted(ops_by_id[op_id].durations):
            p = presence.get((op_id, m))
            if p is None:
                continue
            if p is ALWAYS or solver.boolean_value(p):
                assignments[op_id] = Assignment(m, s_val, s_val + durations[(op_id, m)])
                break
    return CpsatOutcome(
        Plan(assignments),
        status,
        round(solver.objective_value),
        round(solver.best_objective_bound),
        None,
        wall,
        [],
        stats,
    )
