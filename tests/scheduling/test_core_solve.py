"""Dispatcher + CP-SAT on hand-made situations: calendars, maintenance, fixed operations,
changeovers, tardiness, a machine going down, the large-neighbourhood mode, ft06."""

import random

import pytest

from mfapp.scheduling.core import (
    Assignment,
    InfeasibleProblemError,
    Job,
    Machine,
    Operation,
    Problem,
    choose_mode,
    dispatch,
    dispatch_all,
    evaluate,
    read_jobshop,
    solve,
    solve_plain_cpsat,
    validate,
)

FT06 = """6 6
2  1  0  3  1  6  3  7  5  3  4  6
1  8  2  5  4 10  5 10  0 10  3  4
2  5  3  4  5  8  0  9  1  1  4  7
1  5  0  5  2  5  3  3  4  8  5  9
2  9  1  3  4  5  5  4  0  3  3  1
1  3  3  3  5  9  0 10  4  4  2  1
"""


def single_ops(machines, specs, **job_kw):
    """One job per (durations, material) spec."""
    jobs = tuple(
        Job(id=i, operations=(Operation(id=i, durations=d, material=mat),), **job_kw)
        for i, (d, mat) in enumerate(specs)
    )
    return Problem(machines=tuple(machines), jobs=jobs)


def random_problem(seed: int, n_jobs: int, n_machines: int) -> Problem:
    rng = random.Random(seed)
    machines = []
    for m in range(n_machines):
        windows = None
        if m % 3 == 0:  # working hours: 8 of every 24 units... open at the end
            windows = (*((24 * d, 24 * d + 16) for d in range(30)), (720, 10**6))
        machines.append(Machine(id=m, changeover=rng.choice([0, 0, 3]), available=windows))
    jobs, op_id = [], 0
    for j in range(n_jobs):
        ops = []
        for _k in range(rng.randint(2, 5)):
            eligible = rng.sample(range(n_machines), rng.randint(1, 3))
            ops.append(
                Operation(
                    id=op_id,
                    durations={m: rng.randint(1, 12) for m in eligible},
                    material=rng.choice([None, "A", "B"]),
                )
            )
            op_id += 1
        jobs.append(
            Job(
                id=j,
                operations=tuple(ops),
                release=rng.randint(0, 40),
                due=rng.randint(30, 200),
                weight=rng.randint(1, 4),
            )
        )
    return Problem(machines=tuple(machines), jobs=tuple(jobs))


def test_ft06_is_solved_to_its_optimum_55():
    problem = read_jobshop(FT06)

    result = solve(problem, time_limit=5, workers=2)

    assert result.metrics.makespan == 55
    assert result.status == "optimal"
    assert result.lower_bound == 55
    assert result.source == "cpsat"
    assert result.dispatch_metrics.makespan >= 55
    assert validate(problem, result.plan) == []
    assert result.wall_s < 5


def test_every_dispatch_rule_gives_a_valid_plan():
    problem = random_problem(1, n_jobs=30, n_machines=6)

    plans = dispatch_all(problem)

    assert {"mwkr", "atc", "edd", "slack", "spt", "mor", "earliest"} <= set(plans)
    for rule, plan in plans.items():
        assert validate(problem, plan) == [], rule
    best = dispatch(problem, time_budget=None)
    assert evaluate(problem, best).key() == min(evaluate(problem, p).key() for p in plans.values())


def test_calendar_and_maintenance_are_honoured():
    # Attended machine 0: open [0, 10) and [20, 30) (closed or maintenance in between);
    # machine 1 is always available but slower.
    machines = (Machine(0, available=((0, 10), (20, 30), (40, 100))), Machine(1))
    problem = single_ops(machines, [({0: 6, 1: 20}, None)] * 3)

    result = solve(problem, time_limit=2)

    assert validate(problem, result.plan) == []
    on_zero = sorted(a.start for a in result.plan.assignments.values() if a.machine == 0)
    # one 6-unit operation per window (a second one would cross the closed period), the third
    # operation is better off on the slow machine: [0, 20) beats [40, 46)
    assert on_zero == [0, 20]
    assert result.metrics.makespan == 26
    assert result.status == "optimal"


def test_fixed_operation_in_progress_stays_and_blocks_its_machine():
    fixed = Assignment(0, -4, 6)  # started before now, ends at 6
    jobs = (
        Job(
            id=0,
            operations=(
                Operation(id=0, durations={0: 10}, fixed=fixed),
                Operation(id=1, durations={1: 3}),
            ),
        ),
        Job(id=1, operations=(Operation(id=2, durations={0: 5, 1: 9}),)),
    )
    problem = Problem((Machine(0), Machine(1)), jobs, now=0)

    result = solve(problem, time_limit=2)

    assert validate(problem, result.plan) == []
    assert result.plan.assignments[0] == fixed
    assert result.plan.assignments[1].start >= 6
    assert result.plan.assignments[2] == Assignment(0, 6, 11)  # waits for the fixed operation


def test_changeovers_make_the_solver_batch_materials():
    machines = (Machine(0, changeover=10),)
    problem = single_ops(machines, [({0: 5}, mat) for mat in ("PLA", "PETG", "PLA", "PETG")])

    result = solve(problem, time_limit=2)

    assert validate(problem, result.plan) == []
    assert result.metrics.makespan == 4 * 5 + 10  # one filament change
    assert result.status == "optimal"


def test_weighted_tardiness_comes_before_makespan():
    # Makespan alone would run the long job first (makespan 20) and make the urgent one late;
    # weighted tardiness first runs the urgent one first (makespan 22, nobody late).
    jobs = (
        Job(
            id=0,
            operations=(Operation(id=0, durations={0: 10}), Operation(id=1, durations={1: 10})),
            due=100,
        ),
        Job(id=1, operations=(Operation(id=2, durations={0: 2}),), due=2, weight=10),
    )
    problem = Problem((Machine(0), Machine(1)), jobs)

    result = solve(problem, time_limit=2)

    assert result.metrics.weighted_tardiness == 0
    assert result.metrics.makespan == 22
    assert result.plan.assignments[2] == Assignment(0, 0, 2)
    assert result.status == "optimal"


def test_jobs_without_due_date_are_never_tardy():
    problem = single_ops((Machine(0),), [({0: 50}, None)] * 3)

    result = solve(problem, time_limit=1)

    assert result.metrics.weighted_tardiness == 0
    assert result.metrics.tardy_jobs == 0
    assert result.metrics.makespan == 150


def test_zero_duration_operations_are_allowed():
    jobs = (
        Job(
            id=0,
            operations=(
                Operation(id=0, durations={0: 5}),
                Operation(id=1, durations={1: 0}),  # sign-off
                Operation(id=2, durations={0: 5}),
            ),
        ),
    )
    problem = Problem((Machine(0), Machine(1, available=((7, 8),))), jobs)

    result = solve(problem, time_limit=1)

    assert validate(problem, result.plan) == []
    assert result.plan.assignments[1] == Assignment(1, 7, 7)
    assert result.metrics.makespan == 12


def test_a_machine_going_down_moves_work_off_it_and_keeps_the_rest():
    problem = random_problem(3, n_jobs=12, n_machines=4)
    first = solve(problem, time_limit=2)
    assert validate(problem, first.plan) == []

    # Machine 1 breaks down at time 20 for good; re-plan from now = 20 with the current plan
    # as "previous", operations already started before 20 stay where they are.
    now = 20
    machines = tuple(
        Machine(m.id, m.changeover, ((0, now),)) if m.id == 1 else m for m in problem.machines
    )
    jobs = []
    for job in problem.jobs:
        ops, started = [], True
        for op in job.operations:
            a = first.plan.assignments[op.id]
            started = started and a.start < now
            durations = {m: d for m, d in op.durations.items() if m != 1 or started}
            ops.append(
                Operation(
                    id=op.id,
                    durations=durations or {0: op.durations[1]},  # only 1 could: use 0 instead
                    material=op.material,
                    fixed=a if started else None,
                    previous=a,
                )
            )
        jobs.append(Job(job.id, tuple(ops), job.release, job.due, job.weight))
    down = Problem(machines, tuple(jobs), now=now)

    second = solve(down, time_limit=2)

    assert validate(down, second.plan) == []
    after_down = [
        op_id
        for op_id, a in second.plan.assignments.items()
        if a.machine == 1 and a.end > now and a != first.plan.assignments[op_id]
    ]
    assert after_down == []
    moved = second.metrics.moved_operations
    assert moved < sum(1 for _j, _k, op in down.operations() if op.fixed is None)


def test_large_neighbourhood_mode_improves_and_stays_valid():
    problem = random_problem(5, n_jobs=60, n_machines=8)

    result = solve(problem, time_limit=2, mode="lns", seed=1)

    assert validate(problem, result.plan) == []
    assert result.metrics.key() <= result.dispatch_metrics.key()
    assert result.cpsat_status.startswith("LNS ")
    assert result.wall_s < 3


def test_choose_mode():
    assert choose_mode(read_jobshop(FT06)) == "full"
    assert choose_mode(random_problem(2, n_jobs=150, n_machines=8)) == "lns"


def test_an_operation_that_fits_no_window_is_infeasible():
    machines = (Machine(0, available=((0, 5), (10, 14))),)
    problem = single_ops(machines, [({0: 6}, None)])

    with pytest.raises(InfeasibleProblemError, match="operation 0 fits in no availability window"):
        solve(problem, time_limit=1)


def test_plain_cpsat_baseline():
    problem = read_jobshop(FT06)

    result = solve_plain_cpsat(problem, time_limit=5, workers=2)

    assert result.metrics.makespan == 55
    assert result.status == "optimal"
    assert validate(problem, result.plan) == []


def test_cpsat_takes_repeated_parameters_such_as_ignored_subsolvers():
    from mfapp.scheduling.core.cpsat import solve_cpsat

    problem = read_jobshop(FT06)

    outcome = solve_cpsat(
        problem, hint=None, time_limit=5, params={"ignore_subsolvers": ["ls", "fj"]}
    )

    assert outcome.status == "OPTIMAL"
    assert evaluate(problem, outcome.plan).makespan == 55


def test_plain_cpsat_refuses_app_features():
    problem = single_ops((Machine(0, changeover=3),), [({0: 5}, "PLA")])

    with pytest.raises(ValueError, match="only handles plain"):
        solve_plain_cpsat(problem, time_limit=1)


def test_precedence_neighbourhood_keeps_order_outside_and_never_gets_worse():
    from mfapp.scheduling.core.cpsat import build_full_model, solve_full_neighbourhood

    problem = random_problem(7, n_jobs=25, n_machines=6)  # calendars, changeovers, due dates
    plan = dispatch(problem)
    full = build_full_model(problem, plan, None)
    relaxed = {op.id for job in problem.jobs[:5] for op in job.operations}
    before = full.weights.value(evaluate(problem, plan))

    outcome = solve_full_neighbourhood(full, plan, relaxed, time_limit=2)

    assert outcome.plan is not None
    assert validate(problem, outcome.plan) == []
    assert full.weights.value(evaluate(problem, outcome.plan)) <= before
    new = outcome.plan.assignments
    for op_id, old in plan.assignments.items():
        if op_id not in relaxed:
            assert new[op_id].machine == old.machine
    for m in {a.machine for a in plan.assignments.values()}:
        kept = [o for o, a in plan.assignments.items() if a.machine == m and o not in relaxed]
        kept = [o for o in kept if plan.assignments[o].end > plan.assignments[o].start]
        old_order = sorted(kept, key=lambda o: plan.assignments[o].start)
        assert sorted(kept, key=lambda o: new[o].start) == old_order

    strict = solve_full_neighbourhood(full, outcome.plan, set(), time_limit=1, below=0)
    assert strict.plan is None
    assert strict.status == "INFEASIBLE"


def test_flexible_problems_end_with_our_precedence_lns():
    problem = random_problem(11, n_jobs=40, n_machines=6)
    assert choose_mode(problem) == "full"

    result = solve(problem, time_limit=3, workers=2)

    assert validate(problem, result.plan) == []
    assert result.metrics.key() <= result.dispatch_metrics.key()
    assert "LNS " in result.cpsat_status or result.status == "optimal"
    assert result.wall_s < 4
