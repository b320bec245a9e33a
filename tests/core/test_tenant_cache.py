"""The tenant cache (mfapp.core.tenant_cache) against a real Redis: a repeated read is answered
without querying its data, and any committed write of the tenant (through a service, an ORM
`update()`, a task, the admin) makes the next read fresh. Writes must commit for that, so these
tests use `transactional_db` (the rest of the suite runs with the cache off)."""

import os
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mfapp.core import rls, tenant_cache
from mfapp.orders.models import Order
from mfapp.production.models import Batch
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.services import api_key_revoke
from tests.api.conftest import key_client
from tests.factories import (
    BatchFactory,
    CustomerFactory,
    MembershipFactory,
    OrderFactory,
    SiteFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)
REDIS_URL = os.environ.get("MFAPP_TEST_CACHE_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True)
def real_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "mfapp.core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"mfapp-test-{os.getpid()}",
        }
    }
    cache.clear()
    tenant_cache._remembered.clear()
    yield
    cache.clear()
    tenant_cache._remembered.clear()


def _orders(client) -> tuple[list[str], bool]:
    """The numbers the orders list shows, and whether it read the orders table for them."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/orders/")
    assert response.status_code == 200
    queried = any('"orders_order"' in query["sql"] for query in captured)
    return sorted(row["number"] for row in response.json()["results"]), queried


def _csrf_secret(token: str) -> str:
    return _unmask_cipher_token(token) if len(token) == 64 else token


def _touched(client) -> None:
    client.get("/api/v1/sites/")  # the key's last-used time is written once a minute: now


def _two_tenants():
    """Tenants a and b with one order each (SO-A, SO-B) and an API client of each, touched."""
    a, b = TenantFactory(), TenantFactory()
    OrderFactory(tenant=a, number="SO-A")
    OrderFactory(tenant=b, number="SO-B")
    client_a, _ = key_client(a)
    client_b, _ = key_client(b)
    for client in (client_a, client_b):
        _touched(client)
    return a, b, client_a, client_b


def test_a_repeated_read_is_answered_from_the_cache_until_a_write_commits():
    tenant = TenantFactory()
    OrderFactory(tenant=tenant, number="SO-1")
    client, _ = key_client(tenant)
    _touched(client)

    assert _orders(client) == (["SO-1"], True)
    assert _orders(client) == (["SO-1"], False)  # the cached answer

    response = client.post(
        "/api/v1/orders/",
        {
            "customer_id": CustomerFactory(tenant=tenant).pk,
            "site_id": SiteFactory(tenant=tenant).pk,
            "due_date": "2030-01-31",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert _orders(client) == (sorted(["SO-1", response.json()["number"]]), True)


def test_an_orm_update_in_a_task_context_invalidates_its_tenant():
    tenant = TenantFactory()
    order = OrderFactory(tenant=tenant, number="SO-1")
    client, _ = key_client(tenant)
    _touched(client)
    assert _orders(client)[0] == ["SO-1"]

    with rls.tenant_context(tenant.pk):  # as a Celery task of this tenant runs
        Order.objects.for_tenant(tenant).filter(pk=order.pk).update(number="SO-1-RENAMED")

    assert _orders(client)[0] == ["SO-1-RENAMED"]


def test_marking_a_tenant_changed_recomputes_its_reads_only():
    a, _, client_a, client_b = _two_tenants()
    assert _orders(client_a) == (["SO-A"], True)
    assert _orders(client_b) == (["SO-B"], True)

    tenant_cache.mark_changed(a.pk)

    assert _orders(client_a) == (["SO-A"], True)  # computed afresh
    assert _orders(client_b) == (["SO-B"], False)  # still the cached answer


def test_another_tenants_write_keeps_this_tenants_entry_and_never_shares_it():
    _, b, client_a, client_b = _two_tenants()
    assert _orders(client_a)[0] == ["SO-A"]

    with rls.tenant_context(b.pk):
        Order.objects.for_tenant(b).update(notes="changed")

    assert _orders(client_a) == (["SO-A"], False)  # still the cached answer
    assert _orders(client_b)[0] == ["SO-B"]  # same URL, other tenant: its own answer


def test_a_platform_write_invalidates_every_tenant():
    tenant = TenantFactory()
    order = OrderFactory(tenant=tenant, number="SO-1")
    client, _ = key_client(tenant)
    _touched(client)
    assert _orders(client)[0] == ["SO-1"]

    with rls.platform_access(reason="test: a staff change in the admin"):
        Order.objects.all_tenants().filter(pk=order.pk).update(number="SO-1-STAFF")

    assert _orders(client)[0] == ["SO-1-STAFF"]


def test_a_rolled_back_write_moves_nothing_on():
    tenant = TenantFactory()
    order = OrderFactory(tenant=tenant, number="SO-1")
    client, _ = key_client(tenant)
    _touched(client)
    _orders(client)
    before = tenant_cache._versions(tenant.pk)

    with rls.tenant_context(tenant.pk), transaction.atomic():
        Order.objects.for_tenant(tenant).filter(pk=order.pk).update(number="SO-GONE")
        transaction.set_rollback(True)

    assert tenant_cache._versions(tenant.pk) == before
    assert _orders(client) == (["SO-1"], False)


def test_one_transaction_moves_its_tenant_on_once():
    tenant = TenantFactory()
    before = tenant_cache._versions(tenant.pk)
    with rls.tenant_context(tenant.pk), transaction.atomic():
        for number in range(3):
            OrderFactory(tenant=tenant, number=f"SO-{number}")
    platform, own = tenant_cache._versions(tenant.pk)
    assert (platform, own) == (before[0], before[1] + 1)


def test_without_a_cache_server_reads_are_computed():
    tenant = TenantFactory()
    OrderFactory(tenant=tenant, number="SO-1")
    client, _ = key_client(tenant)
    nothing_listens = {
        "default": {
            "BACKEND": "mfapp.core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=nothing_listens):
        assert _orders(client) == (["SO-1"], True)
        with rls.tenant_context(tenant.pk):
            Order.objects.for_tenant(tenant).update(number="SO-2")  # the bump fails, logged
        assert _orders(client) == (["SO-2"], True)


def test_the_dashboard_and_board_show_a_committed_change_at_once(client):
    tenant = TenantFactory()
    owner = MembershipFactory(tenant=tenant, role="owner").user
    batch = BatchFactory(tenant=tenant, status=Batch.Status.IN_PROGRESS, lot_code="LOT-CACHE")
    client.force_login(owner)

    def in_progress() -> str:
        response = client.get(reverse("home"))
        assert response.status_code == 200
        figure = re.search(r'id="figure-wip"[^>]*>\s*<span class="value">(\d+)<', response.text)
        return figure.group(1)

    def column_of_the_batch() -> str:
        response = client.get(reverse("production:batch-board"))
        assert response.status_code == 200
        columns = response.text.split('<section class="board-column"')[1:]
        (column,) = [column for column in columns if "LOT-CACHE" in column]
        return re.search(r'data-status="(\w+)"', column).group(1)

    assert (in_progress(), column_of_the_batch()) == ("1", "in_progress")
    assert (in_progress(), column_of_the_batch()) == ("1", "in_progress")  # hits

    with rls.tenant_context(tenant.pk):
        Batch.objects.for_tenant(tenant).filter(pk=batch.pk).update(
            status=Batch.Status.QUALITY_CHECK, updated_at=timezone.now() + timedelta(seconds=1)
        )

    assert (in_progress(), column_of_the_batch()) == ("0", "quality_check")


def test_a_cached_board_carries_each_persons_own_csrf_token(client):
    tenant = TenantFactory()
    BatchFactory(tenant=tenant, status=Batch.Status.PLANNED, lot_code="LOT-CSRF")
    secrets = []
    for _ in range(2):
        person = Client()
        person.force_login(MembershipFactory(tenant=tenant, role="manager").user)
        response = person.get(reverse("production:batch-board"))
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
        assert len(tokens) >= 2, "the board shows move forms"  # and the log-out form
        secret = _csrf_secret(person.cookies["csrftoken"].value)
        assert {_csrf_secret(token) for token in tokens} == {secret}  # no placeholder left
        secrets.append(secret)
    assert secrets[0] != secrets[1]


def test_a_revoked_key_is_refused_at_once_though_it_was_remembered():
    tenant = TenantFactory()
    client, api_key = key_client(tenant)
    assert client.get("/api/v1/sites/").status_code == 200
    assert client.get("/api/v1/sites/").status_code == 200  # the key, from memory
    assert len(tenant_cache._remembered) == 1

    with rls.tenant_context(tenant.pk):
        api_key_revoke(actor=Actor(tenant=tenant, role="owner"), api_key=api_key)

    response = client.get("/api/v1/sites/")
    assert response.status_code == 401
    assert tenant_cache._remembered == {}


# --- a repeated API read: key and answer confirmed in one round trip, no database ----------------
def _read(client, path: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response, len(captured)


class _CountingCache:
    """The real cache, counting the reads made through it (each one round trip to Redis)."""

    def __init__(self, real):
        self.real, self.reads = real, 0

    def get_many(self, keys):
        self.reads += 1
        return self.real.get_many(keys)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_repeated_api_read_costs_one_cache_round_trip_and_answers_the_same(monkeypatch):
    tenant = TenantFactory()
    order = OrderFactory(tenant=tenant, number="SO-1")
    client, _ = key_client(tenant)
    _touched(client)
    path = f"/api/v1/orders/{order.pk}/"
    first, first_queries = _read(client, path)
    counting = _CountingCache(tenant_cache.cache)
    monkeypatch.setattr(tenant_cache, "cache", counting)
    again, again_queries = _read(client, path)

    assert first.status_code == again.status_code == 200
    assert first_queries > 0
    assert (again_queries, counting.reads) == (0, 1)  # the key and the answer, read together
    assert again.content == first.content
    assert again.json()["number"] == "SO-1"
    assert {name: again[name] for name in ("Content-Type", "Allow")} == {
        name: first[name] for name in ("Content-Type", "Allow")
    }


def test_a_repeated_api_read_with_a_revoked_key_is_refused_and_shows_nothing():
    tenant = TenantFactory()
    OrderFactory(tenant=tenant, number="SO-SECRET")
    client, api_key = key_client(tenant)
    _touched(client)
    assert _orders(client) == (["SO-SECRET"], True)
    assert _read(client, "/api/v1/orders/")[1] == 0  # answered from the cache

    with rls.tenant_context(tenant.pk):
        api_key_revoke(actor=Actor(tenant=tenant, role="owner"), api_key=api_key)

    response, _ = _read(client, "/api/v1/orders/")
    assert response.status_code == 401
    assert b"SO-SECRET" not in response.content


def test_a_repeated_api_read_never_serves_another_tenants_answer():
    _, _, client_a, client_b = _two_tenants()
    assert _orders(client_a) == (["SO-A"], True)
    assert _read(client_a, "/api/v1/orders/")[1] == 0

    assert _orders(client_b) == (["SO-B"], True)  # same URL: computed for its own tenant
    assert _orders(client_b) == (["SO-B"], False)
    assert _orders(client_a) == (["SO-A"], False)


def test_a_repeated_api_read_still_records_the_keys_last_use(monkeypatch):
    from mfapp.tenancy import services

    tenant = TenantFactory()
    client, api_key = key_client(tenant)
    _touched(client)
    _read(client, "/api/v1/sites/")  # the key remembered, the answer cached
    assert _read(client, "/api/v1/sites/")[1] == 0
    monkeypatch.setattr(services, "LAST_USED_RESOLUTION", timedelta(0))  # every use is written
    with rls.tenant_context(tenant.pk):
        before = type(api_key).objects.for_tenant(tenant).get(pk=api_key.pk).last_used_at

    response, queries = _read(client, "/api/v1/sites/")

    assert response.status_code == 200
    assert queries > 0  # the full path, which writes the use
    with rls.tenant_context(tenant.pk):
        after = type(api_key).objects.for_tenant(tenant).get(pk=api_key.pk).last_used_at
    assert after > before


def test_a_session_read_of_the_api_gets_its_tenants_answer(client):
    tenant = TenantFactory()
    OrderFactory(tenant=tenant, number="SO-1")
    client.force_login(MembershipFactory(tenant=tenant, role="viewer").user)
    key, _ = key_client(tenant)
    _touched(key)
    assert _orders(key) == (["SO-1"], True)  # cached for the tenant

    response = client.get("/api/v1/orders/")

    assert response.status_code == 200
    assert [row["number"] for row in response.json()["results"]] == ["SO-1"]


# --- sessions as production keeps them: cached, written through to the table ------------------
def test_ending_a_persons_sessions_logs_out_a_session_read_from_the_cache(settings):
    from mfapp.tenancy.sessions import user_sessions_end

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    tenant = TenantFactory()
    member = MembershipFactory(tenant=tenant, role="operator").user
    browser = Client()
    browser.force_login(member)
    assert browser.get(reverse("home")).status_code == 200  # the session, now in the cache too
    assert cache.get(f"django.contrib.sessions.cached_db{browser.session.session_key}")

    assert user_sessions_end(user=member) == 1

    response = browser.get(reverse("home"))
    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next=/")
