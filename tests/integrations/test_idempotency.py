"""A POST retried with the same Idempotency-Key returns the first answer and creates nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from mfapp.catalog.models import Product
from mfapp.integrations.models import IdempotencyRecord
from mfapp.integrations.services import idempotency_records_purge, request_fingerprint
from mfapp.tenancy.selectors import system_actor
from mfapp.tenancy.services import api_key_create
from tests.factories import IdempotencyRecordFactory

pytestmark = pytest.mark.django_db


def _client(tenant):
    _, raw = api_key_create(actor=system_actor(tenant=tenant), name=f"key-{tenant.slug}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _post(client, body, key="order-123"):
    return client.post("/api/v1/products/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_returns_the_first_answer_without_creating_twice(tenant):
    client = _client(tenant)

    first = _post(client, {"sku": "P-1", "name": "Stand"})
    retry = _post(client, {"sku": "P-1", "name": "Stand"})

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Product.objects.for_tenant(tenant).count() == 1


def test_a_first_error_is_replayed_too(tenant):
    client = _client(tenant)
    _post(client, {"sku": "P-1", "name": "Stand"}, key="a")

    first = _post(client, {"sku": "P-1", "name": "Again"}, key="b")
    retry = _post(client, {"sku": "P-1", "name": "Again"}, key="b")

    assert (first.status_code, retry.status_code) == (400, 400)
    assert retry.json() == first.json()


def test_the_same_key_with_another_body_is_refused(tenant):
    client = _client(tenant)
    _post(client, {"sku": "P-1", "name": "Stand"})

    response = _post(client, {"sku": "P-2", "name": "Other"})

    assert response.status_code == 422
    assert response.json() == {
        "message": "This Idempotency-Key was used for a different request.",
        "extra": {},
    }
    assert list(Product.objects.for_tenant(tenant).values_list("sku", flat=True)) == ["P-1"]


def test_keys_are_scoped_per_tenant(tenant, other_tenant):
    mine, theirs = _client(tenant), _client(other_tenant)

    first = _post(mine, {"sku": "P-1", "name": "Stand"})
    second = _post(theirs, {"sku": "P-1", "name": "Stand"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert Product.objects.for_tenant(other_tenant).count() == 1


def test_a_request_still_in_progress_is_a_conflict(tenant):
    client = _client(tenant)
    IdempotencyRecordFactory(
        tenant=tenant,
        key="busy",
        path="/api/v1/products/",
        request_hash=request_fingerprint(
            method="POST", path="/api/v1/products/", body=b'{"sku":"P-1","name":"Stand"}'
        ),
    )

    response = client.post(
        "/api/v1/products/",
        '{"sku":"P-1","name":"Stand"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="busy",
    )

    assert response.status_code == 409
    assert Product.objects.for_tenant(tenant).count() == 0


def test_an_expired_key_runs_the_request_again(tenant):
    client = _client(tenant)
    _post(client, {"sku": "P-1", "name": "Stand"})
    IdempotencyRecord.objects.for_tenant(tenant).update(expires_at=timezone.now() - timedelta(1))

    response = _post(client, {"sku": "P-1", "name": "Stand"})

    assert response.status_code == 400  # ran again: the SKU exists now
    assert Product.objects.for_tenant(tenant).count() == 1


def test_records_are_kept_at_least_24_hours_and_purged_after_expiry(tenant, other_tenant):
    client = _client(tenant)
    _post(client, {"sku": "P-1", "name": "Stand"})
    record = IdempotencyRecord.objects.for_tenant(tenant).get()
    IdempotencyRecordFactory(tenant=other_tenant, expires_at=timezone.now() - timedelta(seconds=1))

    assert record.expires_at - record.created_at >= timedelta(hours=24)
    assert idempotency_records_purge() == 1
    assert IdempotencyRecord.objects.all_tenants().count() == 1


def test_without_a_key_every_post_is_processed(tenant):
    client = _client(tenant)

    client.post("/api/v1/products/", {"sku": "P-1", "name": "Stand"}, format="json")
    client.post("/api/v1/products/", {"sku": "P-2", "name": "Stand"}, format="json")

    assert Product.objects.for_tenant(tenant).count() == 2
    assert IdempotencyRecord.objects.for_tenant(tenant).count() == 0
