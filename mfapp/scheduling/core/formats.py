"""Readers for the standard benchmark formats, producing a ``Problem``.

* Job shop (OR-Library / JSPLIB "n m" format): first line ``n m``; then one line per job with
  ``m`` pairs ``machine duration`` (machines counted from 0), in routing order.
* Flexible job shop (Brandimarte ``.fjs``): first line ``jobs machines [average]``; then one line
  per job: number of operations, then per operation ``k`` followed by ``k`` pairs
  ``machine duration`` (machines counted from 1; converted to 0-based ids here).

Blank lines and lines starting with ``#`` are skipped. Job ``j`` gets id ``j``; operation ids
are consecutive over the whole file in reading order, so (job, position in job) identifies an
operation as in the file.
"""

from __future__ import annotations

from pathlib import Path

from .problem import Job, Machine, Operation, Problem

__all__ = ["FORMATS", "FormatError", "load", "read_fjs", "read_jobshop"]

FORMATS = ("jsp", "fjs")


class FormatError(ValueError):
    """The text is not a valid instance of the expected format."""


def _lines(text: str) -> list[tuple[int, list[str]]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        rows.append((number, stripped.split()))
    return rows


def _ints(number: int, tokens: list[str]) -> list[int]:
    try:
        return [int(token) for token in tokens]
    except ValueError:
        raise FormatError(f"line {number}: expected integers, got {' '.join(tokens)!r}") from None


def _header(rows: list[tuple[int, list[str]]], name: str) -> tuple[int, int]:
    if not rows:
        raise FormatError(f"empty {name} file")
    number, tokens = rows[0]
    if len(tokens) < 2:
        raise FormatError(f"line {number}: header must start with the numbers of jobs and machines")
    n_jobs, n_machines = _ints(number, tokens[:2])
    if n_jobs <= 0 or n_machines <= 0:
        raise FormatError(f"line {number}: jobs and machines must be positive")
    if len(rows) - 1 < n_jobs:
        raise FormatError(f"header announces {n_jobs} jobs but the file has {len(rows) - 1}")
    if len(rows) - 1 > n_jobs:
        raise FormatError(
            f"line {rows[n_jobs + 1][0]}: header announces {n_jobs} jobs, unexpected extra line"
        )
    return n_jobs, n_machines


def read_jobshop(text: str) -> Problem:
    rows = _lines(text)
    _n_jobs, n_machines = _header(rows, "job-shop")
    if len(rows[0][1]) != 2:
        raise FormatError(f"line {rows[0][0]}: job-shop header must be exactly 'jobs machines'")
    jobs = []
    op_id = 0
    for j, (number, tokens) in enumerate(rows[1:]):
        values = _ints(number, tokens)
        if len(values) != 2 * n_machines:
            raise FormatError(
                f"line {number}: job {j} needs {n_machines} machine/duration pairs "
                f"({2 * n_machines} numbers), got {len(values)} numbers"
            )
        operations = []
        for k in range(n_machines):
            machine, duration = values[2 * k], values[2 * k + 1]
            if not 0 <= machine < n_machines:
                raise FormatError(
                    f"line {number}: machine {machine} out of range 0..{n_machines - 1}"
                )
            if duration < 0:
                raise FormatError(f"line {number}: negative duration {duration}")
            operations.append(Operation(id=op_id, durations={machine: duration}))
            op_id += 1
        jobs.append(Job(id=j, operations=tuple(operations)))
    machines = tuple(Machine(id=m) for m in range(n_machines))
    return Problem(machines=machines, jobs=tuple(jobs))


def read_fjs(text: str) -> Problem:
    rows = _lines(text)
    _n_jobs, n_machines = _header(rows, "flexible job-shop")
    number, tokens = rows[0]
    if len(tokens) > 3:
        raise FormatError(f"line {number}: header must be 'jobs machines [average]'")
    jobs = []
    op_id = 0
    for j, (number, tokens) in enumerate(rows[1:]):
        values = _ints(number, tokens)
        pos = 0

        def take(what: str, values=values, number=number, j=j) -> int:
            nonlocal pos
            if pos >= len(values):
                raise FormatError(f"line {number}: job {j} ends early, missing {what}")
            pos += 1
            return values[pos - 1]

        n_ops = take("the number of operations")
        if n_ops <= 0:
            raise FormatError(f"line {number}: job {j} must have at least one operation")
        operations = []
        for k in range(n_ops):
            n_alt = take(f"the number of machines of operation {k}")
            if n_alt <= 0:
                raise FormatError(f"line {number}: operation {k} of job {j} has no machine")
            durations: dict[int, int] = {}
            for _ in range(n_alt):
                machine = take(f"a machine of operation {k}")
                duration = take(f"a duration of operation {k}")
                if not 1 <= machine <= n_machines:
                    raise FormatError(
                        f"line {number}: machine {machine} out of range 1..{n_machines}"
                    )
                if duration < 0:
                    raise FormatError(f"line {number}: negative duration {duration}")
                m = machine - 1
                durations[m] = min(duration, durations.get(m, duration))
            operations.append(Operation(id=op_id, durations=durations))
            op_id += 1
        if pos != len(values):
            raise FormatError(
                f"line {number}: job {j} has {len(values) - pos} numbers after its "
                f"{n_ops} operations"
            )
        jobs.append(Job(id=j, operations=tuple(operations)))
    machines = tuple(Machine(id=m) for m in range(n_machines))
    return Problem(machines=machines, jobs=tuple(jobs))


def load(path: str | Path, fmt: str) -> Problem:
    """Read ``path`` in format ``fmt`` ("jsp" or "fjs"). Raises OSError or FormatError."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
    text = Path(path).read_text(encoding="utf-8")
    return read_jobshop(text) if fmt == "jsp" else read_fjs(text)
