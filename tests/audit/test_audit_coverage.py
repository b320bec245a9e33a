"""Every service that changes state writes an audit event.

Statically: every public function of a `services.py` / `imports.py` module under mfapp/ must
reach an audit write — `audit_record`, or the shared helpers that call it (`instance_update`,
`instance_delete`, `change_status`) — directly, through a helper of its module, or through
another service it imports (followed across modules, found by reading the source with ast).
A function that changes nothing worth auditing is listed in NOT_AUDITED with the reason, so
a new service without an audit record fails here until someone decides.

Reaching an audit write on some path is what the source can prove; the tests of each service
check the event itself (verb, actor, before and after). The gaps this test found are checked
at the bottom and in tests/sustainability/test_services_settings.py."""

import ast
from functools import cache
from pathlib import Path

import pytest

from mfapp.scheduling.models import ScheduleRun
from mfapp.scheduling.services import schedule_run_execute, schedule_run_request
from tests.factories import audit_events, machine_for, member_actor
from tests.scheduling.test_adapter import berlin_site, planned_batch

MFAPP = Path(__file__).resolve().parents[2] / "mfapp"
SERVICE_MODULES = ("services.py", "imports.py")
AUDIT_WRITERS = {"audit_record", "instance_update", "instance_delete", "change_status"}

# "module.function" -> why it writes no audit event.
NOT_AUDITED = {
    "audit.services.audit_record": "writes the audit event itself",
    "integrations.services.webhook_retry_delay": "a computation",
    "integrations.services.webhook_delivery_attempt": "a delivery's attempt is its own log "
    "(WebhookAttempt rows, shown on the webhook page); one event per HTTP attempt would drown "
    "the audit log",
    "integrations.services.webhook_deliveries_resume": "re-queues overdue deliveries; changes "
    "no row",
    "integrations.services.request_fingerprint": "a computation",
    "integrations.services.idempotency_begin": "the API's replay cache for Idempotency-Key "
    "requests; the request's own service audits the change",
    "integrations.services.idempotency_finish": "the API's replay cache (see idempotency_begin)",
    "integrations.services.idempotency_abandon": "the API's replay cache (see idempotency_begin)",
    "integrations.services.idempotency_records_purge": "drops expired replay-cache rows",
    "orders.services.order_number_next": "hands out the next number inside order_create, which "
    "audits the order",
    "orders.imports.orders_import_example_csv": "reads only",
    "production.services.lot_code_next": "hands out the next lot code inside batch creation, "
    "which audits the batch",
    "sustainability.services.period_check": "a validation",
    "sustainability.services.report_document": "reads only",
    "sustainability.services.report_generate": "fills the report row a person requested "
    "(report_request audits that); progress and result are the row's own status",
    "sustainability.services.report_generate_for_period": "the monthly job and the demo: the "
    "report row records when it was made; a person's request is audited by report_request",
    "tenancy.services.api_key_cached_read": "a read: the key is not touched on this path",
    "tenancy.services.api_key_authenticate": "reads the key; its last-used time is bookkeeping "
    "(one event per request would drown the log)",
    "tenancy.services.invitation_get_by_token": "reads only",
    "tenancy.services.invitation_problem": "a validation",
}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(MFAPP.rglob("*.py")):
        if path.name in SERVICE_MODULES and "migrations" not in path.parts:
            name = ".".join(path.relative_to(MFAPP).with_suffix("").parts)
            found[name] = ast.parse(path.read_text(), filename=str(path))
    return found


MODULES = _modules()


def _functions(module: str) -> dict[str, ast.FunctionDef]:
    return {
        node.name: node
        for node in MODULES[module].body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _imports(module: str) -> dict[str, str]:
    """Names imported from other service modules (at the top or inside a function), mapped to
    "module.function"."""
    names = {}
    for node in ast.walk(MODULES[module]):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mfapp."):
            source = node.module.removeprefix("mfapp.")
            if source in MODULES:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{source}.{alias.name}"
    return names


def _called(function: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name:
                names.add(name)
    return names


@cache
def reaches_audit(qualified: str, seen: frozenset[str] = frozenset()) -> bool:
    module, _, name = qualified.rpartition(".")
    function = _functions(module).get(name)
    if function is None or qualified in seen:
        return False
    called = _called(function)
    if called & AUDIT_WRITERS:
        return True
    local, imported = _functions(module), _imports(module)
    for callee in called:
        target = f"{module}.{callee}" if callee in local else imported.get(callee)
        if target and reaches_audit(target, seen | {qualified}):
            return True
    return False


def public_services() -> list[str]:
    return [
        f"{module}.{name}"
        for module in MODULES
        for name in _functions(module)
        if not name.startswith("_")
    ]


def test_the_walk_finds_the_services():
    services = public_services()
    assert len(services) > 60
    assert "orders.services.order_confirm" in services
    assert reaches_audit("orders.services.order_confirm")  # through change_status
    assert reaches_audit("orders.imports.orders_import_csv")  # through order_create, imported
    assert reaches_audit("tenancy.services.tenant_signup")  # through tenant_create


def test_every_state_changing_service_writes_an_audit_event():
    missing = [
        name for name in public_services() if name not in NOT_AUDITED and not reaches_audit(name)
    ]
    assert missing == [], (
        "these services write no audit event: call audit_record (with before and after), or "
        "add them to NOT_AUDITED with the reason they change nothing worth auditing"
    )


def test_the_exemptions_are_current():
    services = set(public_services())
    assert sorted(set(NOT_AUDITED) - services) == [], "exempted services that no longer exist"
    audited = sorted(name for name in NOT_AUDITED if reaches_audit(name))
    assert audited == [], "these audit now: drop them from NOT_AUDITED"


# --- the gaps found: schedule runs -----------------------------------------------------------
@pytest.fixture(autouse=True)
def _short_solves(settings):
    settings.SCHEDULING_TIME_LIMIT_SECONDS = 1


@pytest.mark.django_db
def test_a_manual_replan_is_recorded_and_an_automatic_one_is_not(tenant):
    manager = member_actor(tenant)
    site = berlin_site(tenant, name="Kiel")

    run = schedule_run_request(actor=manager, site=site)
    ScheduleRun.objects.for_tenant(tenant).filter(pk=run.pk).update(status="succeeded")
    schedule_run_request(actor=manager, site=site, trigger=ScheduleRun.Trigger.MACHINE_STATUS)

    [event] = audit_events(tenant, verb="schedule_run.requested")
    assert (event.target_id, event.actor_label) == (run.pk, manager.label)
    assert event.after == {"site": site.pk, "trigger": "manual"}
    assert event.message == "Re-plan of Kiel requested."


@pytest.mark.django_db
def test_a_saved_plan_is_recorded_once_with_what_it_moved(tenant, system):
    site = berlin_site(tenant, name="Kiel")
    machine_for(site)
    planned_batch(tenant, site, ops=2)
    planned_batch(tenant, site, ops=1)

    run = schedule_run_execute(run=schedule_run_request(actor=system, site=site))
    again = schedule_run_execute(run=schedule_run_request(actor=system, site=site))

    assert (run.status, again.status) == ("succeeded", "succeeded")
    [event] = audit_events(tenant, verb="schedule_run.plan_saved")  # the second moved nothing
    assert (event.target_id, event.actor_label) == (run.pk, "system")
    assert event.before == {"status": "running"}
    assert event.after["status"] == "succeeded"
    assert (event.after["operations_moved"], event.after["operations_unplanned"]) == (3, 0)
    assert len(audit_events(tenant, verb="batch.scheduled")) == 2  # each batch, as before
