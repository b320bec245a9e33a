"""Hypothesis: small flexible problems with calendars, maintenance, changeovers, fixed
operations, releases, due dates and a previous plan always get valid plans from the dispatcher
and from ``solve`` (both modes), and ``solve`` is never worse than the dispatcher."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfapp.scheduling.core import (
    Assignment,
    Job,
    Machine,
    Operation,
    Problem,
    dispatch,
    evaluate,
    solve,
    validate,
)

OPEN_END = 10**6  # the last window stays open, so every problem is feasible


@st.composite
def calendars(draw):
    kind = draw(st.sampled_from(["always", "hours", "maintenance"]))
    if kind == "always":
        return None
    if kind == "hours":  # open `length` of every `period`, then open for good
        period = draw(st.integers(8, 30))
        length = draw(st.integers(3, period - 1))
        windows = [(k * period, k * period + length) for k in range(draw(st.integers(1, 6)))]
        return (*windows, (windows[-1][1] + draw(st.integers(1, 10)), OPEN_END))
    start = draw(st.integers(0, 40))  # one maintenance window
    return (
        ((0, start), (start + draw(st.integers(1, 20)), OPEN_END))
        if start
        else ((draw(st.integers(1, 20)), OPEN_END),)
    )


@st.composite
def problems(draw):
    n_machines = draw(st.integers(1, 4))
    machines = tuple(
        Machine(
            id=m,
            changeover=draw(st.sampled_from([0, 0, 2, 5])),
            available=draw(calendars()),
        )
        for m in range(n_machines)
    )
    now = draw(st.integers(0, 10))
    jobs, op_id, busy_fixed = [], 0, set()
    for j in range(draw(st.integers(1, 5))):
        ops = []
        for k in range(draw(st.integers(1, 4))):
            eligible = draw(
                st.lists(st.integers(0, n_machines - 1), min_size=1, max_size=3, unique=True)
            )
            durations = {m: draw(st.integers(0, 9)) for m in eligible}
            material = draw(st.sampled_from([None, "A", "B", "C"]))
            fixed = previous = None
            if k == 0 and eligible[0] not in busy_fixed and draw(st.integers(0, 3)) == 0:
                m = eligible[0]  # in progress since before now, one per machine
                started = now - draw(st.integers(0, 5))
                fixed = Assignment(m, started, started + durations[m])
                busy_fixed.add(m)
            elif draw(st.booleans()):
                m = draw(st.sampled_from(eligible))
                start = draw(st.integers(0, 60))
                previous = Assignment(m, start, start + durations[m])
            ops.append(
                Operation(
                    id=op_id, durations=durations, material=material, fixed=fixed, previous=previous
                )
            )
            op_id += 1
        jobs.append(
            Job(
                id=j,
                operations=tuple(ops),
                release=draw(st.integers(0, 30)),
                due=draw(st.one_of(st.none(), st.integers(0, 120))),
                weight=draw(st.integers(0, 5)),
            )
        )
    return Problem(machines=machines, jobs=tuple(jobs), now=now)


COMMON = {
    "max_examples": int(os.environ.get("SCHEDULING_HYPOTHESIS_EXAMPLES", "25")),
    "deadline": None,
    "database": None,  # no .hypothesis/ directory in the repository
    "suppress_health_check": [HealthCheck.too_slow],
}


@settings(**COMMON)
@given(problems())
def test_dispatch_and_full_model_give_valid_plans_never_worse(problem):
    plan = dispatch(problem)
    assert validate(problem, plan) == []

    result = solve(problem, time_limit=1.0, workers=2, mode="full")

    assert validate(problem, result.plan) == []
    # e.g. "FEASIBLE then OPTIMAL", or "UNKNOWN then LNS 2/9" (our LNS on flexible problems)
    phases = {p for p in result.cpsat_status.split(" then ") if not p.startswith("LNS ")}
    assert phases <= {"OPTIMAL", "FEASIBLE", "UNKNOWN"}, result.cpsat_status
    assert result.metrics.key() <= result.dispatch_metrics.key()
    assert result.metrics == evaluate(problem, result.plan)
    for _job, _k, op in problem.operations():
        if op.fixed is not None:
            assert result.plan.assignments[op.id] == op.fixed


@settings(**COMMON)
@given(problems())
def test_large_neighbourhood_mode_gives_valid_plans_never_worse(problem):
    result = solve(problem, time_limit=0.5, workers=1, mode="lns", seed=3)

    assert validate(problem, result.plan) == []
    assert result.metrics.key() <= result.dispatch_metrics.key()


@settings(**COMMON)
@given(problems(), st.integers(1, 20))
def test_soft_stability_is_never_worse_on_its_own_measure(problem, weight):
    result = solve(problem, time_limit=0.5, workers=2, stability_weight=weight)

    def combined(m):
        return (m.weighted_tardiness, m.makespan + weight * m.moved_operations)

    assert validate(problem, result.plan) == []
    assert combined(result.metrics) <= combined(result.dispatch_metrics)


@settings(**COMMON)
@given(problems(), st.randoms(use_true_random=False))
def test_precedence_neighbourhoods_give_valid_plans_never_worse(problem, rng):
    from mfapp.scheduling.core.cpsat import build_full_model, solve_full_neighbourhood

    plan = dispatch(problem)
    full = build_full_model(problem, plan, None)
    before = full.weights.value(evaluate(problem, plan))
    movable = [op.id for _j, _k, op in problem.operations() if op.fixed is None]
    relaxed = set(rng.sample(movable, k=rng.randint(0, len(movable))))

    outcome = solve_full_neighbourhood(full, plan, relaxed, time_limit=1.0)

    assert outcome.plan is not None  # the plan itself is a solution of the sub-model
    assert validate(problem, outcome.plan) == []
    assert full.weights.value(evaluate(problem, outcome.plan)) <= before
