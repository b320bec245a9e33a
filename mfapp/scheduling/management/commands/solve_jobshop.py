"""``manage.py solve_jobshop PATH --format jsp|fjs [--time-limit S] [--workers N] [--json]``:
solve a standard job-shop or Brandimarte flexible job-shop instance with the scheduling core
(the same code the app uses) and print the makespan and schedule."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mfapp.scheduling.core.formats import FORMATS, FormatError, load
from mfapp.scheduling.core.problem import InfeasibleProblemError
from mfapp.scheduling.core.solve import solve


class Command(BaseCommand):
    help = "Solve a job-shop (.txt, 'n m' format) or flexible job-shop (.fjs) instance."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="instance file")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="jsp: 'n m' job-shop, machines from 0; fjs: Brandimarte, machines from 1 "
            "(default: fjs for *.fjs files, jsp otherwise)",
        )
        parser.add_argument("--time-limit", type=float, default=10.0, help="seconds (default 10)")
        parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        fmt = options["format"] or ("fjs" if path.suffix.lower() == ".fjs" else "jsp")
        if options["time_limit"] <= 0:
            raise CommandError("--time-limit must be positive")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            problem = load(path, fmt)
        except FormatError as exc:
            raise CommandError(f"{path} is not a valid {fmt} instance: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        try:
            result = solve(problem, time_limit=options["time_limit"], workers=options["workers"])
        except InfeasibleProblemError as exc:
            raise CommandError(f"{path}: {exc}") from None

        makespan = result.metrics.makespan
        proven = result.status == "optimal" or result.lower_bound == makespan
        status = "optimal" if proven else "feasible"
        schedule = []
        for j, job in enumerate(problem.jobs):
            for k, op in enumerate(job.operations):
                a = result.plan.assignments[op.id]
                schedule.append(
                    {
                        "job": j,
                        "op": k,
                        "machine": a.machine,
                        "start": a.start,
                        "duration": a.end - a.start,
                    }
                )
        if options["json"]:
            payload = {
                "instance": path.stem,
                "makespan": makespan,
                "status": status,
                "lower_bound": result.lower_bound,
                "wall_s": round(result.wall_s, 3),
                "schedule": schedule,
            }
            self.stdout.write(json.dumps(payload))
            return
        bound = "" if result.lower_bound is None else f", lower bound {result.lower_bound}"
        self.stdout.write(
            f"{path.stem}: makespan {makespan} ({status}{bound}) in {result.wall_s:.1f} s; "
            f"dispatcher {result.dispatch_metrics.makespan}; {len(schedule)} operations, "
            f"{len(problem.jobs)} jobs, {len(problem.machines)} machines"
        )
