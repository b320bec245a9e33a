"""``manage.py solve_jobshop``: JSON shape, a valid optimal schedule for ft06, clear errors."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mfapp.scheduling.core import Assignment, Plan, load, validate

SHARED_FT06 = Path(__file__).resolve().parents[3] / "shared" / "bench" / "jobshop" / "ft06.txt"
FT06_TEXT = """6 6
2  1  0  3  1  6  3  7  5  3  4  6
1  8  2  5  4 10  5 10  0 10  3  4
2  5  3  4  5  8  0  9  1  1  4  7
1  5  0  5  2  5  3  3  4  8  5  9
2  9  1  3  4  5  5  4  0  3  3  1
1  3  3  3  5  9  0 10  4  4  2  1
"""


@pytest.fixture
def ft06(tmp_path: Path) -> Path:
    if SHARED_FT06.is_file():
        return SHARED_FT06
    path = tmp_path / "ft06.txt"
    path.write_text(FT06_TEXT)
    return path


def run(*args: str, **options) -> str:
    out = StringIO()
    call_command("solve_jobshop", *args, stdout=out, **options)
    return out.getvalue()


def test_json_output_for_ft06(ft06):
    payload = json.loads(run(str(ft06), "--format", "jsp", "--time-limit", "5", "--json"))

    assert set(payload) == {"instance", "makespan", "status", "lower_bound", "wall_s", "schedule"}
    assert payload["instance"] == "ft06"
    assert payload["makespan"] == 55
    assert payload["status"] == "optimal"
    assert payload["lower_bound"] == 55
    assert 0 < payload["wall_s"] < 5
    assert len(payload["schedule"]) == 36
    assert all(
        set(row) == {"job", "op", "machine", "start", "duration"} for row in payload["schedule"]
    )
    assert {(row["job"], row["op"]) for row in payload["schedule"]} == {
        (j, k) for j in range(6) for k in range(6)
    }


def test_json_schedule_is_valid(ft06):
    payload = json.loads(run(str(ft06), "--format", "jsp", "--time-limit", "5", "--json"))
    problem = load(ft06, "jsp")
    plan = Plan(
        {
            problem.jobs[row["job"]].operations[row["op"]].id: Assignment(
                row["machine"], row["start"], row["start"] + row["duration"]
            )
            for row in payload["schedule"]
        }
    )

    assert validate(problem, plan) == []
    assert max(row["start"] + row["duration"] for row in payload["schedule"]) == 55
    assert min(row["start"] for row in payload["schedule"]) == 0


def test_human_summary(ft06):
    text = run(str(ft06), "--time-limit", "5", "--workers", "1")

    assert text.startswith("ft06: makespan 55 (optimal, lower bound 55)")
    assert "36 operations, 6 jobs, 6 machines" in text


def test_fjs_format(tmp_path):
    path = tmp_path / "tiny.fjs"
    path.write_text("2 2 1.5\n2 2 1 3 2 5 1 2 2\n1 2 1 4 2 4\n")

    payload = json.loads(run(str(path), "--format", "fjs", "--time-limit", "2", "--json"))

    assert payload["instance"] == "tiny"
    assert payload["makespan"] == 6  # job 1 on machine 1 first, then job 0 finishes there
    assert payload["status"] == "optimal"
    assert sorted((r["job"], r["op"]) for r in payload["schedule"]) == [(0, 0), (0, 1), (1, 0)]


def test_missing_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.txt"

    with pytest.raises(CommandError, match=f"no such file: {missing}"):
        run(str(missing), "--format", "jsp")


def test_malformed_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("2 2\n0 5 1 4\n0 5 1\n")

    with pytest.raises(CommandError) as excinfo:
        run(str(path), "--format", "jsp")

    assert str(excinfo.value) == (
        f"{path} is not a valid jsp instance: line 3: job 1 needs 2 machine/duration pairs "
        "(4 numbers), got 3 numbers"
    )


def test_wrong_format_for_the_file_is_a_clear_error(ft06):
    with pytest.raises(CommandError, match="is not a valid fjs instance"):
        run(str(ft06), "--format", "fjs")


def test_bad_time_limit():
    with pytest.raises(CommandError, match="--time-limit must be positive"):
        run("whatever.txt", "--time-limit", "0")
