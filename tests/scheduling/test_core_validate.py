"""The independent validator: one test per kind of violation, with the exact message."""

import pytest

from mfapp.scheduling.core import (
    Assignment,
    InfeasibleProblemError,
    Job,
    Machine,
    Operation,
    Plan,
    Problem,
    check_problem,
    evaluate,
    validate,
)

# Machine 0: printer, changeover 5, open [0, 100) and [120, 1000) (maintenance in between).
# Machine 1: always available, no changeover.
MACHINES = (
    Machine(id=0, changeover=5, available=((0, 100), (120, 1000))),
    Machine(id=1),
)


def problem(now: int = 0, fixed: Assignment | None = None) -> Problem:
    return Problem(
        machines=MACHINES,
        jobs=(
            Job(
                id=10,
                operations=(
                    Operation(id=1, durations={0: 10, 1: 12}, material="PLA", fixed=fixed),
                    Operation(id=2, durations={1: 5}),
                ),
                due=20,
                weight=3,
            ),
            Job(
                id=11,
                operations=(Operation(id=3, durations={0: 10}, material="PETG"),),
                release=30,
                due=100,
            ),
        ),
        now=now,
    )


def good_plan() -> Plan:
    return Plan(
        {
            1: Assignment(0, 0, 10),
            2: Assignment(1, 10, 15),
            3: Assignment(0, 30, 40),  # 20 after op 1: more than the changeover of 5
        }
    )


def with_(plan: Plan, **changes: Assignment) -> Plan:
    assignments = dict(plan.assignments)
    for key, value in changes.items():
        assignments[int(key.removeprefix("op"))] = value
    return Plan(assignments)


def test_valid_plan_has_no_violation():
    assert validate(problem(), good_plan()) == []


def test_unassigned_operation():
    plan = good_plan()
    del plan.assignments[2]

    assert validate(problem(), plan) == ["operation 2 is not assigned"]


def test_unknown_operation_in_plan():
    plan = with_(good_plan(), op99=Assignment(1, 50, 60))

    assert validate(problem(), plan) == ["plan assigns unknown operation 99"]


def test_unknown_machine():
    plan = with_(good_plan(), op2=Assignment(7, 10, 15))

    assert validate(problem(), plan) == ["operation 2 is on unknown machine 7"]


def test_machine_not_eligible():
    plan = with_(good_plan(), op3=Assignment(1, 30, 40))

    assert validate(problem(), plan) == [
        "operation 3 is on machine 1, which is not eligible (eligible: [0])"
    ]


def test_duration_must_match_the_machine():
    plan = with_(good_plan(), op1=Assignment(1, 0, 10))  # machine 1 needs 12

    assert validate(problem(), plan) == ["operation 1 on machine 1 lasts 10, expected 12"]


def test_precedence_within_job():
    plan = with_(good_plan(), op2=Assignment(1, 8, 13))

    assert validate(problem(), plan) == [
        "operation 2 of job 10 starts at 8 before operation 1 ends at 10"
    ]


def test_release_time():
    plan = with_(good_plan(), op3=Assignment(0, 25, 35))

    assert validate(problem(), plan) == ["operation 3 of job 11 starts at 25 before its release 30"]


def test_nothing_starts_before_now():
    assert validate(problem(now=5), good_plan()) == ["operation 1 starts at 0 before now (5)"]


def test_overlap_on_a_machine():
    plan = with_(good_plan(), op3=Assignment(0, 35, 45), op1=Assignment(0, 30, 40))
    plan = with_(plan, op2=Assignment(1, 40, 45))

    assert validate(problem(), plan) == [
        "operations 1 and 3 overlap on machine 0: [30, 40) and [35, 45)"
    ]


def test_overlap_with_a_long_operation_is_found_past_its_neighbour():
    machines = (Machine(id=0),)
    jobs = tuple(
        Job(id=j, operations=(Operation(id=j, durations={0: d}),))
        for j, d in ((0, 50), (1, 5), (2, 5))
    )
    plan = Plan({0: Assignment(0, 0, 50), 1: Assignment(0, 10, 15), 2: Assignment(0, 20, 25)})

    assert validate(Problem(machines, jobs), plan) == [
        "operations 0 and 1 overlap on machine 0: [0, 50) and [10, 15)",
        "operations 0 and 2 overlap on machine 0: [0, 50) and [20, 25)",
    ]


def test_changeover_between_different_materials():
    plan = with_(
        good_plan(), op1=Assignment(0, 20, 30), op2=Assignment(1, 30, 35), op3=Assignment(0, 33, 43)
    )

    assert validate(problem(), plan) == [
        "operations 1 (PLA) and 3 (PETG) on machine 0 need a changeover of 5, gap is 3"
    ]


def test_no_changeover_when_a_material_is_missing_or_equal():
    machines = (Machine(id=0, changeover=30),)
    jobs = (
        Job(id=0, operations=(Operation(id=0, durations={0: 10}, material="PLA"),)),
        Job(id=1, operations=(Operation(id=1, durations={0: 10}),)),
        Job(id=2, operations=(Operation(id=2, durations={0: 10}, material="PETG"),)),
        Job(id=3, operations=(Operation(id=3, durations={0: 10}, material="PETG"),)),
    )
    plan = Plan({i: Assignment(0, 10 * i, 10 * i + 10) for i in range(4)})

    assert validate(Problem(machines, jobs), plan) == []


def test_operation_must_fit_inside_one_window():
    plan = with_(good_plan(), op3=Assignment(0, 95, 105))  # runs into the maintenance

    assert validate(problem(), plan) == [
        "operation 3 on machine 0 at [95, 105) is not inside one availability window"
    ]


def test_zero_duration_operation_may_sit_on_a_window_end_but_not_in_a_gap():
    machines = (Machine(id=0, available=((0, 10), (20, 30))),)
    jobs = (Job(id=0, operations=(Operation(id=0, durations={0: 0}),)),)
    p = Problem(machines, jobs)

    assert validate(p, Plan({0: Assignment(0, 10, 10)})) == []
    assert validate(p, Plan({0: Assignment(0, 15, 15)})) == [
        "operation 0 on machine 0 at [15, 15) is not inside one availability window"
    ]


def test_fixed_operation_must_stay_exactly():
    fixed = Assignment(0, -5, 5)  # in progress since before now
    plan = with_(good_plan(), op1=Assignment(0, 0, 10))

    assert validate(problem(now=0, fixed=fixed), plan) == [
        "operation 1 is fixed at machine 0 [-5, 5) but planned at machine 0 [0, 10)"
    ]


def test_fixed_operation_is_exempt_from_now_duration_and_window():
    fixed = Assignment(0, 95, 110)  # started before now, runs into maintenance, 15 long
    plan = with_(good_plan(), op1=fixed, op2=Assignment(1, 110, 115), op3=Assignment(0, 125, 135))

    assert validate(problem(now=100, fixed=fixed), plan) == []


def test_several_violations_are_all_reported():
    plan = with_(good_plan(), op2=Assignment(1, 5, 10), op3=Assignment(1, 0, 10))

    assert validate(problem(), plan) == [
        "operation 3 is on machine 1, which is not eligible (eligible: [0])",
        "operation 2 of job 10 starts at 5 before operation 1 ends at 10",
        "operations 3 and 2 overlap on machine 1: [0, 10) and [5, 10)",
    ]


def test_metrics():
    plan = with_(good_plan(), op2=Assignment(1, 20, 25), op3=Assignment(0, 120, 130))
    metrics = evaluate(problem(), plan)

    assert (metrics.weighted_tardiness, metrics.tardy_jobs, metrics.total_tardiness) == (
        3 * 5 + 30,
        2,
        5 + 30,
    )
    assert metrics.makespan == 130


def test_moved_operations_count_machine_or_start_changes():
    ops = (
        Operation(id=0, durations={0: 5, 1: 5}, previous=Assignment(0, 0, 5)),
        Operation(id=1, durations={0: 5, 1: 5}, previous=Assignment(1, 5, 10)),
        Operation(id=2, durations={0: 5, 1: 5}, previous=Assignment(0, 10, 15)),
    )
    p = Problem((Machine(0), Machine(1)), (Job(id=0, operations=ops),))
    plan = Plan({0: Assignment(0, 0, 5), 1: Assignment(0, 5, 10), 2: Assignment(0, 11, 16)})

    assert evaluate(p, plan).moved_operations == 2


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        (
            (Job(id=0, operations=(Operation(id=0, durations={}),)),),
            "operation 0: no eligible machine",
        ),
        (
            (Job(id=0, operations=(Operation(id=0, durations={5: 1}),)),),
            "operation 0: unknown machine 5",
        ),
        (
            (
                Job(
                    id=0,
                    operations=(
                        Operation(id=0, durations={0: 1}),
                        Operation(id=1, durations={0: 1}, fixed=Assignment(0, 0, 1)),
                    ),
                ),
            ),
            "operation 1 of job 0 is fixed but follows a non-fixed operation; "
            "fixed operations must come first in their job",
        ),
        (
            (
                Job(
                    id=0, operations=(Operation(id=0, durations={0: 5}, fixed=Assignment(0, 0, 5)),)
                ),
                Job(
                    id=1, operations=(Operation(id=1, durations={0: 5}, fixed=Assignment(0, 3, 8)),)
                ),
            ),
            "fixed operations 0 and 1 overlap on machine 0",
        ),
    ],
)
def test_malformed_problems_are_refused(jobs, message):
    with pytest.raises(InfeasibleProblemError) as excinfo:
        check_problem(Problem((Machine(0),), jobs))

    assert str(excinfo.value) == message
