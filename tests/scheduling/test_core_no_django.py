"""The scheduling core stays pure Python: no Django anywhere under mfapp/scheduling/core/."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "mfapp" / "scheduling" / "core"


def test_core_sources_do_not_import_django():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "django"]

    assert sorted(p.name for p in CORE.glob("*.py")) != []
    assert offenders == []


def test_core_imports_and_solves_without_django_loaded():
    # Load the core as a package on its own (stub parents, so mfapp/__init__ is not run) and
    # use it end to end; Django must never appear in sys.modules.
    script = f"""
import importlib, sys, types
for name, path in (("mfapp", {str(CORE.parents[1])!r}), ("mfapp.scheduling", {str(CORE.parent)!r})):
    module = types.ModuleType(name)
    module.__path__ = [path]
    sys.modules[name] = module
core = importlib.import_module("mfapp.scheduling.core")
for name in ("problem", "dispatch", "cpsat", "validate", "solve", "formats"):
    importlib.import_module("mfapp.scheduling.core." + name)
problem = core.read_jobshop("2 2\\n0 3 1 2\\n1 4 0 1\\n")
result = core.solve(problem, time_limit=1.0, workers=1)
assert core.validate(problem, result.plan) == []
loaded = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
print("DJANGO:", loaded, "MAKESPAN:", result.metrics.makespan)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert "DJANGO: [] MAKESPAN: 6" in done.stdout  # machine 1 carries 2 + 4
