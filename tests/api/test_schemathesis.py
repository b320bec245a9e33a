"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis), in-process
against the WSGI application, with data in two tenants, as three callers: tenant A's and tenant
B's read-write API keys (every operation) and tenant A's read-only key (every read).

Every generated request (the coverage phase's schema-valid boundary values, then random valid
and invalid requests) must answer without a server error, with a status code and content type
the schema documents and a body that matches the documented schema, and nothing of the other
tenant: none of its rows' names, codes, numbers or secrets, and none of its rows' ids where an
id of that model stands (an object's `id`, a foreign key, a nested object).

The data is seeded once for the module inside a transaction that is rolled back afterwards; each
operation runs inside a savepoint of it (pytest-django's `db`) and each example inside one more,
rolled back after the call, so no example's writes reach another.

The sweep's past findings (non-integer ids, invalid pages, unknown ids in creates, far UTC
offsets on PostgreSQL) each keep a direct regression test below."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.exceptions import FieldDoesNotExist
from django.db import close_old_connections, models, transaction
from django.urls import resolve
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mfapp.tenancy.models import Tenant
from mfapp.wsgi import application
from tests.api.conftest import (
    BASENAME_MODEL,
    MISSING_ID,
    ROUTES,
    build_target,
    call,
    key_client,
    tenant_models,
)
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
# values. Each read-write key sweeps the ~90 operations; the read-only key sweeps the ~35 reads
# (its writes are refused before any code of theirs runs; tests/api/test_roles.py walks them).
# The module takes about 1.8 times as long as one key with 10 examples did (38 s against 21 s
# on 2 cores, schema and collection included).
MAX_EXAMPLES = 6
READ_ONLY_MAX_EXAMPLES = 3
# The coverage phase sends schema-valid boundary values only: its invalid-input variant sends
# ~35 requests per operation (x90 operations: minutes), while the random phase below still
# sends invalid input (wrong types, out-of-range numbers, bad ids) to every operation.
CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {"coverage": {"generation": {"mode": "positive"}}},
        "generation": {"with-security-parameters": False},  # we send our own Bearer key
    }
)
HYPOTHESIS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}

FAR_OFFSET = timedelta(hours=16)
# A seeded string shorter than this (units, country codes) says nothing about whose row it is.
MIN_LENGTH = 4
# Strings at least this long (hashes, webhook secrets, URLs) are looked for inside any string
# of an answer too (a message quoting them); shorter ones must equal a whole string value.
SUBSTRING_LENGTH = 24


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


# --- what one tenant's rows look like from outside --------------------------------------------
@dataclass(frozen=True)
class Footprint:
    strings: frozenset[str]  # names, codes, numbers, e-mails, URLs, secrets and hashes
    ids: dict[type[models.Model], frozenset[int]]  # primary keys per model

    def without(self, other: "Footprint") -> "Footprint":
        """Only what is this tenant's alone: a string both tenants have (a reason, a unit, an
        event type) is no sign of whose row an answer shows."""
        return Footprint(self.strings - other.strings, self.ids)


def _footprint(tenant: Tenant) -> Footprint:
    strings = {tenant.name, tenant.slug}
    ids = {}
    for model in tenant_models():
        rows = model.objects.for_tenant(tenant)
        ids[model] = frozenset(rows.values_list("pk", flat=True))
        names = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField) and not field.choices
        ]
        for values in rows.values_list(*names) if names else []:
            strings.update(v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH)
    return Footprint(frozenset(strings), ids)


@dataclass(frozen=True)
class Caller:
    key: str  # the raw API key
    foreign: Footprint  # the other tenant's: nothing of it may appear in this caller's answers


@pytest.fixture(scope="module")
def callers(django_db_setup, django_db_blocker) -> Iterator[dict[str, Caller]]:
    """Both tenants' data and keys, once for the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        tenant_a, tenant_b = TenantFactory(), TenantFactory()  # not the `tenant` fixture's slugs
        _seed(tenant_a)
        _seed(tenant_b)
        keys = {
            "a": key_client(tenant_a)[1].raw_key,
            "b": key_client(tenant_b)[1].raw_key,
            "a-read-only": key_client(tenant_a, read_only=True)[1].raw_key,
        }
        a, b = _footprint(tenant_a), _footprint(tenant_b)  # the keys' hashes included
        yield {
            "a": Caller(keys["a"], b.without(a)),
            "b": Caller(keys["b"], a.without(b)),
            "a-read-only": Caller(keys["a-read-only"], b.without(a)),
        }
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


# --- nothing of the other tenant in an answer ----------------------------------------------------
@cache
def _model_of(path: str) -> type[models.Model]:
    """The model an operation's answer is about, from its URL pattern's router basename."""
    match = resolve(path.replace("{id}", "1"))
    return BASENAME_MODEL[match.func.initkwargs["basename"]]


def _related(model: type[models.Model], key: str) -> type[models.Model] | None:
    """The model whose ids a key of `model`'s answer holds: a foreign key (`site`, `site_id`)
    or a nested list (`lines`); None for anything else."""
    for name in (key, key.removesuffix("_id")):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        return field.related_model if field.is_relation else None
    return None


def _foreign_ids(value: Any, model: type[models.Model] | None, foreign: Footprint) -> list[str]:
    if model is None:
        return []
    if isinstance(value, list):
        return [found for item in value for found in _foreign_ids(item, model, foreign)]
    if not isinstance(value, dict):
        return []
    if "results" in value and "count" in value:  # a page of a list
        return _foreign_ids(value["results"], model, foreign)
    found = []
    for key, item in value.items():
        related = model if key == "id" else _related(model, key)
        if isinstance(item, int) and not isinstance(item, bool):
            if related is not None and item in foreign.ids.get(related, ()):
                found.append(f"{key}={item}: the other tenant's {related.__name__}")
        else:
            found.extend(_foreign_ids(item, related, foreign))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def _leaks(case: Any, body: Any, foreign: Footprint) -> list[str]:
    long_ones = [string for string in foreign.strings if len(string) >= SUBSTRING_LENGTH]
    found = [
        f"{string!r}: the other tenant's"
        for string in _strings(body)
        if string in foreign.strings or any(secret in string for secret in long_ones)
    ]
    return found + _foreign_ids(body, _model_of(case.path), foreign)


def _sweep(case: Any, caller: Caller) -> None:
    headers = {"Authorization": f"Bearer {caller.key}"}
    # Every example starts from the seeded data: its writes are undone, and so is the aborted
    # transaction a database error leaves behind on PostgreSQL (a real server would have ended
    # that request's transaction; here all examples share the test's).
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=headers)
    finally:
        transaction.savepoint_rollback(savepoint)
    case.validate_response(response, checks=CHECKS, headers=headers)
    leaks = _leaks(case, _body(response), caller.foreign)
    assert not leaks, f"{case.method} {case.formatted_path} answered {leaks}"


@pytest.mark.usefixtures("keep_connections")
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, **HYPOTHESIS)
def test_api_conforms_to_its_schema_as_tenant_a(case, callers, db):
    _sweep(case, callers["a"])


@pytest.mark.usefixtures("keep_connections")
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, **HYPOTHESIS)
def test_api_conforms_to_its_schema_as_tenant_b(case, callers, db):
    _sweep(case, callers["b"])


@pytest.mark.usefixtures("keep_connections")
@schema.include(method="GET").parametrize()
@settings(max_examples=READ_ONLY_MAX_EXAMPLES, **HYPOTHESIS)
def test_api_conforms_to_its_schema_as_a_read_only_key(case, callers, db):
    _sweep(case, callers["a-read-only"])


def test_the_leak_check_sees_the_other_tenants_rows(callers, db):
    """The check above is only as good as what it looks for: an answer made of the other
    tenant's rows must be caught."""
    b = callers["a"].foreign  # tenant B's, as tenant A's caller sees them
    customers = sorted(b.ids[BASENAME_MODEL["customer"]])
    case = SimpleNamespace(path="/api/v1/customers/{id}/")  # all _leaks reads of a case
    name = next(string for string in b.strings if string.startswith("Customer "))
    secret = next(string for string in b.strings if string.startswith("whsec_"))

    assert _leaks(case, {"id": customers[0], "name": "Mine", "email": ""}, b) == [
        f"id={customers[0]}: the other tenant's Customer"
    ]
    assert _leaks(case, {"id": MISSING_ID, "name": name}, b) == [f"{name!r}: the other tenant's"]
    assert _leaks(case, {"message": f"see {secret}."}, b) == [
        f"'see {secret}.': the other tenant's"
    ]
    assert _leaks(case, {"id": MISSING_ID, "name": "Mine"}, b) == []


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
