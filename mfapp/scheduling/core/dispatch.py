"""Fast list-scheduling dispatcher: several priority rules, the best plan kept.

Each rule is one pass of a Giffler-Thompson style schedule generator adapted to the flexible
job shop: at every step, among the operations whose predecessors are planned, take the one that
can finish first (time ``t*`` on machine ``m*``); the conflict set is every ready operation that
could start on ``m*`` before ``t*``; the rule picks one of them, which goes to the eligible
machine where it finishes first. Machine timelines are append-only (plus the fixed operations,
which are obstacles placed in advance), so one placement costs a bisect in the machine's
calendar. A separate "previous plan" pass replays the current plan where it still fits, for
stability. Every pass respects all the rules in ``problem.py``; ``dispatch`` keeps the best plan
by (weighted tardiness, makespan, moved operations).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .problem import Assignment, InfeasibleProblemError, Plan, Problem, check_problem
from .validate import evaluate

__all__ = ["RULES", "dispatch", "dispatch_all"]

RULES: tuple[str, ...] = ("mwkr", "atc", "edd", "slack", "spt", "mor", "earliest")
# Order in which rules are tried (measured: atc/slack/edd win on due-date problems, earliest
# and mor on the makespan benchmarks); without due dates atc/edd/slack order like mwkr.
PREFERENCE_WITH_DUE = ("atc", "slack", "edd", "earliest", "mwkr", "mor", "spt")
PREFERENCE_WITHOUT_DUE = ("earliest", "mor", "mwkr", "spt")


def _fit(ws: list[int] | None, we: list[int] | None, t: int, d: int) -> int | None:
    """Earliest t' >= t with [t', t'+d) inside one window (None: no window left)."""
    if ws is None or we is None:
        return t
    i = bisect_right(ws, t) - 1
    if i >= 0 and t + d <= we[i]:
        return t
    i += 1
    n = len(ws)
    while i < n:
        if ws[i] + d <= we[i]:
            return ws[i]
        i += 1
    return None


class _MachineState:
    __slots__ = ("blocks", "co", "free", "k", "last", "we", "ws")

    def __init__(self, ws, we, co, blocks, now):
        self.ws = ws
        self.we = we
        self.co = co
        self.blocks = blocks  # fixed operations on this machine: (start, end, material), sorted
        self.free = now
        self.last: str | None = None
        self.k = 0  # first fixed block not yet passed

    def place(self, ready: int, d: int, mat: str | None) -> tuple[int, int] | None:
        """Earliest start >= ready after everything already planned here, and the block index
        the timeline would then have reached (None: the operation never fits here)."""
        ws, we = self.ws, self.we
        if d == 0:  # occupies nothing: only the calendar matters
            t = _fit(ws, we, ready, 0)
            return None if t is None else (t, self.k)
        co = self.co
        last = self.last
        t = self.free
        if co and last is not None and mat is not None and last != mat:
            t += co
        if ready > t:
            t = ready
        blocks = self.blocks
        k = self.k
        nb = len(blocks)
        while True:
            t = _fit(ws, we, t, d) if ws is not None else t
            if t is None:
                return None
            if k >= nb:
                return t, k
            bs, be, bm = blocks[k]
            need = t + d
            if co and mat is not None and bm is not None and mat != bm:
                need += co
            if need <= bs:
                return t, k
            x = be + co if (co and mat is not None and bm is not None and mat != bm) else be
            if x > t:
                t = x
            k += 1

    def commit(self, start: int, d: int, mat: str | None, k: int) -> None:
        if d == 0:
            return
        self.free = start + d
        self.last = mat
        self.k = k


@dataclass
class _Ctx:
    problem: Problem
    job_ids: list[int]
    ops: list[list]  # per job: list of (op_id, alts [(machine, d)], material, min_d)
    first: list[int]  # per job: index of the first non-fixed operation
    ready0: list[int]  # per job: earliest start of that operation
    remaining: list[list[int]]  # per job: suffix sums of min durations
    due: list[float]
    weight: list[int]
    release: list[int]
    fixed: dict[int, Assignment]
    machine_data: dict[int, tuple]  # machine -> (ws, we, co, blocks)
    avg_p: float

    def states(self) -> dict[int, _MachineState]:
        now = self.problem.now
        return {
            m: _MachineState(ws, we, co, blocks, now)
            for m, (ws, we, co, blocks) in self.machine_data.items()
        }


def _context(problem: Problem) -> _Ctx:
    check_problem(problem)
    blocks: dict[int, list[tuple[int, int, str | None]]] = {m.id: [] for m in problem.machines}
    fixed: dict[int, Assignment] = {}
    job_ids, ops, first, ready0, remaining, due, weight, release = [], [], [], [], [], [], [], []
    total_p, count_p = 0, 0
    for job in problem.jobs:
        job_ids.append(job.id)
        rows = []
        k0 = 0
        ready = max(job.release, problem.now)
        for k, op in enumerate(job.operations):
            if op.fixed is not None:
                fixed[op.id] = op.fixed
                if op.fixed.end > op.fixed.start:
                    blocks[op.fixed.machine].append((op.fixed.start, op.fixed.end, op.material))
                ready = max(ready, op.fixed.end)
                k0 = k + 1
                rows.append((op.id, [], op.material, 0))
                continue
            alts = sorted(op.durations.items())
            min_d = min(d for _m, d in alts)
            total_p += min_d
            count_p += 1
            rows.append((op.id, alts, op.material, min_d))
        suffix = [0] * (len(rows) + 1)
        for k in range(len(rows) - 1, -1, -1):
            suffix[k] = suffix[k + 1] + rows[k][3]
        ops.append(rows)
        first.append(k0)
        ready0.append(ready)
        remaining.append(suffix)
        due.append(math.inf if job.due is None else job.due)
        weight.append(job.weight)
        release.append(job.release)
    machine_data = {}
    for m in problem.machines:
        if m.available is None:
            ws = we = None
        else:
            ws = [s for s, _e in m.available]
            we = [e for _s, e in m.available]
        machine_data[m.id] = (ws, we, m.changeover, sorted(blocks[m.id]))
    return _Ctx(
        problem=problem,
        job_ids=job_ids,
        ops=ops,
        first=first,
        ready0=ready0,
        remaining=remaining,
        due=due,
        weight=weight,
        release=release,
        fixed=fixed,
        machine_data=machine_data,
        avg_p=(total_p / count_p) if count_p else 1.0,
    )


def _priority(ctx: _Ctx, rule: str) -> Callable[[int, int, int, int], tuple]:
    """key(job index, op index, est on m*, t*) -> smaller is more urgent."""
    remaining, due, weight, ops, release = (
        ctx.remaining,
        ctx.due,
        ctx.weight,
        ctx.ops,
        ctx.release,
    )
    k_atc = 2.0 * max(ctx.avg_p, 1.0)

    if rule == "mwkr":
        return lambda j, k, est, t: (-remaining[j][k], j)
    if rule == "spt":
        return lambda j, k, est, t: (ops[j][k][3], -remaining[j][k], j)
    if rule == "mor":
        return lambda j, k, est, t: (k - len(ops[j]), -remaining[j][k], j)
    if rule == "edd":
        return lambda j, k, est, t: (due[j], -remaining[j][k], j)
    if rule == "earliest":
        return lambda j, k, est, t: (est, release[j], -remaining[j][k], j)
    if rule == "slack":

        def slack(j, k, est, t):
            if due[j] == math.inf:
                return (1, -remaining[j][k], j)
            s = due[j] - t - remaining[j][k]
            w = max(weight[j], 1)
            return (0, s / w if s > 0 else s * w, j)

        return slack
    if rule == "atc":

        def atc(j, k, est, t):
            p = max(ops[j][k][3], 1)
            w = weight[j]
            if due[j] == math.inf:
                return (1, -remaining[j][k], j)
            s = max(0.0, due[j] - t - remaining[j][k])
            return (0, -(w / p) * math.exp(-s / k_atc), j)

        return atc
    raise ValueError(f"unknown dispatch rule {rule!r}")


def _gt_pass(ctx: _Ctx, rule: str) -> Plan:
    key = _priority(ctx, rule)
    states = ctx.states()
    ops = ctx.ops
    assignments: dict[int, Assignment] = dict(ctx.fixed)
    n_jobs = len(ops)
    nxt = list(ctx.first)
    ready = list(ctx.ready0)
    # cand[j]: per alternative [machine, d, est, ect, k] for the job's next operation
    cand: list[list[list]] = [[] for _ in range(n_jobs)]
    best: dict[int, tuple] = {}  # job -> (ect, est, job, alternative)
    watch: dict[int, dict[int, list]] = {m: {} for m in states}  # machine -> job -> alternative
    inf = math.inf

    def evaluate_alt(j: int, alt: list) -> None:
        placed = states[alt[0]].place(ready[j], alt[1], ops[j][nxt[j]][2])
        if placed is None:
            alt[2] = alt[3] = inf
            alt[4] = 0
        else:
            alt[2] = placed[0]
            alt[3] = placed[0] + alt[1]
            alt[4] = placed[1]

    def pick_best(j: int) -> None:
        alts = cand[j]
        top = alts[0]
        for alt in alts:  # sorted by machine: ties keep the lowest machine id
            if alt[3] < top[3] or (alt[3] == top[3] and alt[2] < top[2]):
                top = alt
        if top[3] == inf:
            op_id = ops[j][nxt[j]][0]
            raise InfeasibleProblemError(
                f"operation {op_id} fits in no availability window of its eligible machines"
            )
        best[j] = (top[3], top[2], j, top)

    def activate(j: int) -> None:
        if nxt[j] >= len(ops[j]):
            cand[j] = []
            best.pop(j, None)
            return
        alts = [[m, d, 0, 0, 0] for m, d in ops[j][nxt[j]][1]]
        cand[j] = alts
        for alt in alts:
            evaluate_alt(j, alt)
            watch[alt[0]][j] = alt
        pick_best(j)

    for j in range(n_jobs):
        activate(j)

    while best:
        t_star, _est, j_star, top = min(best.values())
        m_star = top[0]
        chosen, chosen_key = j_star, None
        for j, alt in watch[m_star].items():
            if alt[2] < t_star:
                k = key(j, nxt[j], alt[2], t_star)
                if chosen_key is None or k < chosen_key:
                    chosen, chosen_key = j, k
        alt = best[chosen][3]
        m, d, start, end, k = alt
        op_id, _alts, mat, _min_d = ops[chosen][nxt[chosen]]
        assignments[op_id] = Assignment(m, int(start), int(end))
        states[m].commit(int(start), d, mat, k)
        for other in cand[chosen]:
            del watch[other[0]][chosen]
        ready[chosen] = int(end)
        nxt[chosen] += 1
        activate(chosen)
        if d > 0:
            for j, other in watch[m].items():
                evaluate_alt(j, other)
                pick_best(j)
    return Plan(assignments)


def _previous_pass(ctx: _Ctx) -> Plan:
    """Replay the current plan: operations in order of their previous start, on their previous
    machine when still eligible, not earlier than before; new operations after them (EDD)."""
    states = ctx.states()
    assignments: dict[int, Assignment] = dict(ctx.fixed)
    ready = list(ctx.ready0)
    problem = ctx.problem
    previous = {}
    for job in problem.jobs:
        for op in job.operations:
            if op.previous is not None:
                previous[op.id] = op.previous
    order = []
    for j, rows in enumerate(ctx.ops):
        seen_new = False
        running = -math.inf  # keep routing order even if the previous plan broke it
        for k in range(ctx.first[j], len(rows)):
            prev = previous.get(rows[k][0])
            seen_new = seen_new or prev is None
            if seen_new:  # after a new operation the rest of the job follows it, by due date
                order.append((1, ctx.due[j], j, k))
            else:
                running = max(running, prev.start)
                order.append((0, running, j, k))
    order.sort()
    for _group, _t, j, k in order:
        op_id, alts, mat, _min_d = ctx.ops[j][k]
        prev = previous.get(op_id)
        options = []
        for m, d in alts:
            earliest = ready[j]
            if prev is not None and m == prev.machine:
                earliest = max(earliest, prev.start)
            placed = states[m].place(earliest, d, mat)
            if placed is not None:
                same = prev is not None and m == prev.machine and placed[0] == prev.start
                options.append((0 if same else 1, placed[0] + d, m, d, placed))
        if not options:
            raise InfeasibleProblemError(
                f"operation {op_id} fits in no availability window of its eligible machines"
            )
        _same, end, m, d, (start, kk) = min(options)
        assignments[op_id] = Assignment(m, start, end)
        states[m].commit(start, d, mat, kk)
        ready[j] = end
    return Plan(assignments)


def dispatch_all(
    problem: Problem, rules: Sequence[str] = RULES, *, time_budget: float | None = None
) -> dict[str, Plan]:
    """One plan per rule (plus "previous" when the problem carries a current plan). Rules run
    in a useful order (due-date rules first when there are due dates); with ``time_budget``
    (seconds) the remaining rules are skipped once it is spent, but one rule always runs."""
    t0 = time.perf_counter()
    ctx = _context(problem)
    has_due = any(due != math.inf for due in ctx.due)
    order = PREFERENCE_WITH_DUE if has_due else PREFERENCE_WITHOUT_DUE
    # without due dates the due-date rules order like "mwkr": skip the duplicates
    chosen = [rule for rule in order if rule in rules] or [rules[0] if rules else "mwkr"]
    plans: dict[str, Plan] = {}
    if any(op.previous is not None for _j, _k, op in problem.operations()):
        plans["previous"] = _previous_pass(ctx)
    for rule in chosen:
        if plans and time_budget is not None and time.perf_counter() - t0 > time_budget:
            break
        plans[rule] = _gt_pass(ctx, rule)
    return plans


def dispatch(
    problem: Problem, rules: Sequence[str] = RULES, *, time_budget: float | None = 0.5
) -> Plan:
    """The best plan over the rules by (weighted tardiness, makespan, moved operations).
    ``time_budget``: stop trying further rules after that many seconds (None: run them all)."""
    plans = dispatch_all(problem, rules, time_budget=time_budget)

    def quality(plan: Plan) -> tuple[int, int, int]:
        metrics = evaluate(problem, plan)
        return (metrics.weighted_tardiness, metrics.makespan, metrics.moved_operations)

    return min(plans.values(), key=quality)
