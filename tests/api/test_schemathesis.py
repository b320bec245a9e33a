"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis), in-process
against the WSGI application, as tenant A's read-write API key, with data in two tenants.

Every generated request (the coverage phase's schema-valid boundary values, then random valid
and invalid requests) must answer without a server error, with a status code and content type
the schema documents and a body that matches the documented schema.

The data is seeded once for the module inside a transaction that is rolled back afterwards; each
operation runs inside a savepoint of it (pytest-django's `db`) and each example inside one more,
rolled back after the call, so no example's writes reach another.

The sweep's past findings (non-integer ids, invalid pages, unknown ids in creates, far UTC
offsets on PostgreSQL) each keep a direct regression test below."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mfapp.wsgi import application
from tests.api.conftest import MISSING_ID, ROUTES, build_target, call, key_client
from tests.factories import (
    BatchOperationFactory,
    MaterialConsumptionFactory,
    QualityCheckFactory,
    ScheduleRunFactory,
    TenantFactory,
    WebhookAttemptFactory,
    batch_with_operations,
    factory_for_model,
    machine_for,
    order_with_lines,
    product_with_routing,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Random examples per operation (valid and invalid ones) after the coverage phase's boundary
# values: about 60 s for the ~90 operations on 2 cores, schema and collection included.
MAX_EXAMPLES = 10
# The coverage phase sends schema-valid boundary values only: its invalid-input variant sends
# ~35 requests per operation (x90 operations: minutes), while the random phase below still
# sends invalid input (wrong types, out-of-range numbers, bad ids) to every operation.
CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {"coverage": {"generation": {"mode": "positive"}}},
        "generation": {"with-security-parameters": False},  # we send our own Bearer key
    }
)

FAR_OFFSET = timedelta(hours=16)


@contextmanager
def connections_kept_open() -> Iterator[None]:
    """Calling the WSGI app sends request_started/finished, whose close_old_connections would
    close the connection that holds the test's transaction (PostgreSQL: "the connection is
    closed"). Django's own test client disconnects them the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


with connections_kept_open():  # the schema view touches no table
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


def _seed(tenant: Any) -> None:
    """One row of every tenant-owned model, plus rows in the states the actions act on."""
    from mfapp.core.models import TenantScopedModel
    from mfapp.machines.models import Machine
    from mfapp.orders.models import Order
    from mfapp.production.models import Batch, BatchOperation

    for model, factory in factory_for_model().items():
        if issubclass(model, TenantScopedModel):
            factory(tenant=tenant)
    product = product_with_routing(tenant)
    order_with_lines(tenant, [(product, 4)])
    order_with_lines(tenant, [(product, 2)], status=Order.Status.READY)
    batch = batch_with_operations(tenant, status=Batch.Status.IN_PROGRESS)
    machine_for(batch.site, status=Machine.Status.RUNNING)
    BatchOperationFactory(tenant=tenant, batch=batch, status=BatchOperation.Status.PAUSED)
    QualityCheckFactory(tenant=tenant, batch=batch)
    MaterialConsumptionFactory(tenant=tenant, batch=batch)
    WebhookAttemptFactory(tenant=tenant)
    ScheduleRunFactory(tenant=tenant, site=batch.site)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[str]:
    """Both tenants' data, once for the module; yields tenant A's read-write key."""
    with django_db_blocker.unblock(), transaction.atomic():
        tenant, other_tenant = TenantFactory(), TenantFactory()  # not the `tenant` fixture's slugs
        _seed(tenant)
        _seed(other_tenant)
        _, api_key = key_client(tenant)
        yield api_key.raw_key
        transaction.set_rollback(True)


@pytest.fixture
def keep_connections():
    with connections_kept_open():
        yield


@pytest.fixture(scope="module", autouse=True)
def _quiet_client_errors():
    """Thousands of expected 4xx answers would each log a warning; server errors still log."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def _far_offset(value: Any) -> bool:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    offset = moment.utcoffset()
    return offset is not None and abs(offset) >= FAR_OFFSET


def _body(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


@pytest.mark.usefixtures("keep_connections")
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, seeded, db):
    headers = {"Authorization": f"Bearer {seeded}"}
    # Every example starts from the seeded data: its writes are undone, and so is the aborted
    # transaction a database error leaves behind on PostgreSQL (a real server would have ended
    # that request's transaction; here all examples share the test's).
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=headers)
    finally:
        transaction.savepoint_rollback(savepoint)
    case.validate_response(response, checks=CHECKS, headers=headers)


# --- regression tests for what the sweep found ---------------------------------------
DETAIL_ROUTES = [route for route in ROUTES if route.detail]
LIST_ROUTES = [route for route in ROUTES if route.action == "list"]
CREATE_ROUTES = [
    route for route in ROUTES if route.method == "POST" and not route.detail and route.action
]


@pytest.fixture(scope="module")
def documented() -> dict[str, Any]:
    return json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)["paths"]


def _schema_path(url: str, pk: int | None = None) -> str:
    return url if pk is None else url.replace(f"/{pk}/", "/{id}/")


@pytest.mark.parametrize("bad_id", ["abc", "null", "0.5"])
def test_a_non_integer_id_answers_a_json_404(bad_id, tenant):
    client, _ = key_client(tenant)
    client.raise_request_exception = False  # a 500 is an answer to check, not an error here
    wrong = []
    for route in DETAIL_ROUTES:
        url = route.url(4242).replace("/4242/", f"/{bad_id}/")
        response = getattr(client, route.method.lower())(url, {}, format="json")
        if response.status_code != 404 or _body(response) is None:
            wrong.append(f"{route.method} {url}: {response.status_code} {response['Content-Type']}")
    assert not wrong, wrong


def test_lists_document_the_404_of_an_invalid_page(tenant, documented):
    client, _ = key_client(tenant)
    undocumented = []
    for route in LIST_ROUTES:
        response = client.get(route.url(), {"page": 2})
        assert response.status_code == 404, route.id
        assert _body(response) == {"message": "Invalid page.", "extra": {}}
        if "404" not in documented[route.url()]["get"]["responses"]:
            undocumented.append(route.id)
    assert not undocumented, undocumented


def test_creates_document_the_404_of_an_unknown_id(tenant, documented):
    client, _ = key_client(tenant)
    undocumented = []
    for route in CREATE_ROUTES:
        body = build_target(route, tenant).body or {}
        ids = [name for name in body if name.endswith("_id")]
        if not ids:
            continue
        response = call(client, route, None, {**body, ids[0]: MISSING_ID})
        assert response.status_code == 404, (route.id, _body(response))
        if "404" not in documented[route.url()]["post"]["responses"]:
            undocumented.append(route.id)
    assert not undocumented, undocumented


@pytest.mark.parametrize("offset", ["+16:00", "-18:57"])
def test_a_date_time_filter_takes_any_utc_offset(offset, tenant):
    client, _ = key_client(tenant)
    client.raise_request_exception = False
    since = f"2020-01-01T00:00:00{offset}"
    wrong = []
    for route in LIST_ROUTES:
        response = client.get(route.url(), {"updated_since": since})
        if response.status_code != 200:
            wrong.append(f"{route.id}: {response.status_code}")
    assert not wrong, wrong
