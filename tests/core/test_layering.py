"""Lint-like rules that keep tenancy explicit, checked on the source itself."""

import re
from pathlib import Path

MFAPP = Path(__file__).resolve().parents[2] / "mfapp"

# The only places allowed to read across tenants, and why.
ALL_TENANTS_ALLOWED = {
    "core/admin.py",  # platform staff in the Django admin
    "tenancy/services.py",  # resolving an API key to its tenant
    "integrations/services.py",  # purging expired idempotency records of every tenant
}
INTERFACE_MODULES = ("views.py", "apis.py", "tasks.py")


def _python_files() -> list[Path]:
    return [p for p in MFAPP.rglob("*.py") if "migrations" not in p.parts]


def test_cross_tenant_access_only_where_allowed():
    users = {
        str(path.relative_to(MFAPP))
        for path in _python_files()
        if re.search(r"\.all_tenants\(\)", path.read_text())
        and path.name not in ("models.py", "exceptions.py")
    }

    assert users == ALL_TENANTS_ALLOWED


def test_views_apis_and_tasks_do_not_query_models_directly():
    offenders = [
        f"{path.relative_to(MFAPP)}:{number}"
        for path in _python_files()
        if path.name in INTERFACE_MODULES
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\b[A-Z]\w*\.objects\.", line)
    ]

    assert offenders == [], "go through a selector or service instead"


def test_no_bare_select_related():
    offenders = [
        str(path.relative_to(MFAPP))
        for path in _python_files()
        if "select_related()" in path.read_text()
    ]

    assert offenders == []
