"""Readers for the job-shop ("n m") and Brandimarte (.fjs) formats."""

from pathlib import Path

import pytest

from mfapp.scheduling.core import FormatError, load, read_fjs, read_jobshop

BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"
FT06_TEXT = """# ft06 (Fisher and Thompson 1963), as in OR-Library
6 6
2  1  0  3  1  6  3  7  5  3  4  6
1  8  2  5  4 10  5 10  0 10  3  4
2  5  3  4  5  8  0  9  1  1  4  7
1  5  0  5  2  5  3  3  4  8  5  9
2  9  1  3  4  5  5  4  0  3  3  1
1  3  3  3  5  9  0 10  4  4  2  1
"""
MK01_TEXT = """10\t6\t2
 6  2 1 5 3 4 3 5 3 3 5 2 1 2 3 4 6 2 3 6 5 2 6 1 1 1 3 1 3 6 6 3 6 4 3
 5  1 2 6 1 3 1 1 1 2 2 2 6 4 6 3 6 5 2 6 1 1
 5  1 2 6 2 3 4 6 2 3 6 5 2 6 1 1 3 3 4 2 6 6 6 2 1 1 5 5
 5  3 6 5 2 6 1 1 1 2 6 1 3 1 3 5 3 3 5 2 1 2 3 4 6 2
 6  3 5 3 3 5 2 1 3 6 5 2 6 1 1 1 2 6 2 1 5 3 4 2 2 6 4 6 3 3 4 2 6 6 6
 6  2 3 4 6 2 1 1 2 3 3 4 2 6 6 6 1 2 6 3 6 5 2 6 1 1 2 1 3 4 2
 5  1 6 1 2 1 3 4 2 3 3 4 2 6 6 6 3 2 6 5 1 1 6 1 3 1
 5  2 3 4 6 2 3 3 4 2 6 6 6 3 6 5 2 6 1 1 1 2 6 2 2 6 4 6
 6  1 6 1 2 1 1 5 5 3 6 6 3 6 4 3 1 1 2 3 3 4 2 6 6 6 2 2 6 4 6
 6  2 3 4 6 2 3 3 4 2 6 6 6 3 5 3 3 5 2 1 1 6 1 2 2 6 4 6 2 1 3 4 2
"""


@pytest.fixture
def ft06_path(tmp_path: Path) -> Path:
    """ft06 from the shared benchmark set when present, else the same data inline."""
    shared = BENCH / "jobshop" / "ft06.txt"
    if shared.is_file():
        return shared
    path = tmp_path / "ft06.txt"
    path.write_text(FT06_TEXT)
    return path


@pytest.fixture
def mk01_path(tmp_path: Path) -> Path:
    shared = BENCH / "fjsp" / "mk01.fjs"
    if shared.is_file():
        return shared
    path = tmp_path / "mk01.fjs"
    path.write_text(MK01_TEXT)
    return path


def test_ft06_is_read_exactly(ft06_path):
    problem = load(ft06_path, "jsp")

    assert len(problem.jobs) == 6
    assert [m.id for m in problem.machines] == [0, 1, 2, 3, 4, 5]
    assert problem.n_operations == 36
    assert all(len(job.operations) == 6 for job in problem.jobs)
    assert [dict(op.durations) for op in problem.jobs[0].operations] == [
        {2: 1},
        {0: 3},
        {1: 6},
        {3: 7},
        {5: 3},
        {4: 6},
    ]
    assert sum(d for _j, _k, op in problem.operations() for d in op.durations.values()) == 197
    assert len({op.id for _j, _k, op in problem.operations()}) == 36


def test_comment_lines_are_skipped():
    problem = read_jobshop(FT06_TEXT)

    assert problem.n_operations == 36


def test_mk01_is_read_exactly(mk01_path):
    problem = load(mk01_path, "fjs")

    assert len(problem.jobs) == 10
    assert len(problem.machines) == 6
    assert [len(job.operations) for job in problem.jobs] == [6, 5, 5, 5, 6, 6, 5, 5, 6, 6]
    assert problem.n_operations == 55
    assert sum(len(op.durations) for _j, _k, op in problem.operations()) == 115
    # "2 1 5 3 4": two machines, 1-based -> 0-based
    assert dict(problem.jobs[0].operations[0].durations) == {0: 5, 2: 4}
    assert dict(problem.jobs[0].operations[-1].durations) == {5: 6, 2: 6, 3: 3}


def test_fjs_machines_are_converted_to_zero_based():
    text = "1 2\n2 1 2 7 2 1 3 2 4\n"
    problem = read_fjs(text)

    assert [dict(op.durations) for op in problem.jobs[0].operations] == [{1: 7}, {0: 3, 1: 4}]


@pytest.mark.parametrize(
    ("reader", "text", "message"),
    [
        (read_jobshop, "", "empty job-shop file"),
        (read_jobshop, "2 2\n0 1 1 2\n", "header announces 2 jobs but the file has 1"),
        (
            read_jobshop,
            "1 2\n0 1 1\n",
            "line 2: job 0 needs 2 machine/duration pairs (4 numbers), got 3 numbers",
        ),
        (read_jobshop, "1 2\n0 1 2 5\n", "line 2: machine 2 out of range 0..1"),
        (read_jobshop, "1 2\n0 x 1 5\n", "line 2: expected integers, got '0 x 1 5'"),
        (
            read_jobshop,
            "1 2\n0 1 1 5\n0 1 1 5\n",
            "line 3: header announces 1 jobs, unexpected extra line",
        ),
        (
            read_fjs,
            "1 2\n2 1 1 5\n",
            "line 2: job 0 ends early, missing the number of machines of operation 1",
        ),
        (read_fjs, "1 2\n1 1 3 5\n", "line 2: machine 3 out of range 1..2"),
        (read_fjs, "1 2\n1 1 1 5 9\n", "line 2: job 0 has 1 numbers after its 1 operations"),
        (read_fjs, "1 2\n1 0\n", "line 2: operation 0 of job 0 has no machine"),
    ],
)
def test_malformed_files_are_refused_with_the_line(reader, text, message):
    with pytest.raises(FormatError) as excinfo:
        reader(text)

    assert str(excinfo.value) == message


def test_inline_copies_match_the_shared_files(ft06_path, mk01_path):
    assert read_jobshop(FT06_TEXT) == load(ft06_path, "jsp")
    assert read_fjs(MK01_TEXT) == load(mk01_path, "fjs")


def test_truncated_fjs_is_refused():
    truncated = "\n".join(MK01_TEXT.splitlines()[:4])
    with pytest.raises(FormatError, match="header announces 10 jobs but the file has 3"):
        read_fjs(truncated)


def test_unknown_format(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("1 1\n0 1\n")

    with pytest.raises(FormatError, match="unknown format 'xml'"):
        load(path, "xml")
