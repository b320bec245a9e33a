"""Pure-Python scheduling core (no Django): problem in, plan out.

    from mfapp.scheduling.core import Problem, Machine, Job, Operation, solve, validate

See ``problem.py`` for the rules every plan obeys, ``dispatch.py`` for the fast priority-rule
planner, ``cpsat.py`` for the OR-Tools CP-SAT models, ``solve.py`` for how they are combined,
``validate.py`` for the independent checker and ``formats.py`` for the benchmark readers.
"""

from .dispatch import RULES, dispatch, dispatch_all
from .formats import FormatError, load, read_fjs, read_jobshop
from .problem import (
    Assignment,
    InfeasibleProblemError,
    Job,
    Machine,
    Metrics,
    Operation,
    Plan,
    Problem,
    SolveResult,
    check_problem,
)
from .solve import PlanValidationError, choose_mode, solve, solve_plain_cpsat
from .validate import evaluate, validate

__all__ = [
    "RULES",
    "Assignment",
    "FormatError",
    "InfeasibleProblemError",
    "Job",
    "Machine",
    "Metrics",
    "Operation",
    "Plan",
    "PlanValidationError",
    "Problem",
    "SolveResult",
    "check_problem",
    "choose_mode",
    "dispatch",
    "dispatch_all",
    "evaluate",
    "load",
    "read_fjs",
    "read_jobshop",
    "solve",
    "solve_plain_cpsat",
    "validate",
]
