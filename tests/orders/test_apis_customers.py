"""/api/v1/customers/: list, retrieve, create, update, delete through the customer services."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from mfapp.orders.models import Customer
from mfapp.tenancy.models import Membership
from mfapp.tenancy.services import api_key_create
from tests.factories import CustomerFactory, MembershipFactory, OrderFactory, audit_events

LIST = "/api/v1/customers/"


def detail(pk):
    return f"/api/v1/customers/{pk}/"


def iso(value):
    return DateTimeField().to_representation(value)


def key_client(actor, *, read_only=False):
    _, raw = api_key_create(actor=actor, name="shop", read_only=read_only)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def member_client(tenant, role):
    client = APIClient()
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)
    return client


@pytest.fixture
def api(system):
    return key_client(system)


def rows(tenant):
    return list(Customer.objects.for_tenant(tenant).order_by("id").values())


def as_json(customer):
    return {
        "id": customer.id,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "delivery_address": customer.delivery_address,
        "country": customer.country,
        "latitude": None if customer.latitude is None else f"{customer.latitude:.6f}",
        "longitude": None if customer.longitude is None else f"{customer.longitude:.6f}",
        "external_ref": customer.external_ref,
    }


# --- create ----------------------------------------------------------------------------------
def test_create_customer(api, tenant):
    body = {
        "name": "Fahrradladen Nord",
        "email": "einkauf@fahrrad-nord.de",
        "phone": "+49 40 123456",
        "delivery_address": "Hafenstr. 1\n20095 Hamburg",
        "country": "DE",
        "latitude": "53.545000",
        "longitude": "9.966000",
        "external_ref": "shop-42",
    }

    response = api.post(LIST, body, format="json")

    assert response.status_code == 201
    customer = Customer.objects.for_tenant(tenant).get()
    assert response.json() == as_json(customer)
    assert response.json() == {
        **body,
        "id": customer.id,
        "created_at": iso(customer.created_at),
        "updated_at": iso(customer.updated_at),
    }
    [event] = audit_events(tenant, verb="customer.created")
    assert (event.target_id, event.actor_label) == (customer.id, "api-key:shop")


def test_create_customer_with_only_the_required_fields(api, tenant):
    response = api.post(LIST, {"name": "Walk-in", "country": "AT"}, format="json")

    assert response.status_code == 201
    customer = Customer.objects.for_tenant(tenant).get()
    assert response.json() == as_json(customer)
    assert (customer.name, customer.country, customer.email) == ("Walk-in", "AT", "")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name": ["This field is required."], "country": ["This field is required."]}),
        (
            {"name": "X", "country": "de"},
            {"country": ["Use a two-letter ISO 3166 country code in capitals, e.g. DE."]},
        ),
        (
            {"name": "X", "country": "DE", "email": "not-an-email"},
            {"email": ["Enter a valid email address."]},
        ),
        (
            {"name": "X", "country": "DE", "latitude": "91"},
            {"latitude": ["Ensure this value is less than or equal to 90."]},
        ),
        (
            {"name": "X", "country": "DE", "latitude": "1e400"},
            {"latitude": ["Ensure that there are no more than 9 digits in total."]},
        ),
        (
            {"name": ["X"], "country": "DE"},
            {"name": ["Not a valid string."]},
        ),
        (
            {"name": "x" * 201, "country": "DE"},
            {"name": ["Ensure this field has no more than 200 characters."]},
        ),
    ],
    ids=["missing", "country", "email", "latitude-range", "huge", "wrong-type", "too-long"],
)
def test_create_customer_refuses_bad_input(api, tenant, body, fields):
    response = api.post(LIST, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"message": "Some fields are invalid.", "extra": {"fields": fields}}
    assert rows(tenant) == []


def test_create_customer_refuses_a_duplicate_external_ref(api, tenant):
    existing = CustomerFactory(tenant=tenant, external_ref="shop-1")
    before = rows(tenant)

    response = api.post(
        LIST, {"name": "Again", "country": "DE", "external_ref": "shop-1"}, format="json"
    )

    assert response.status_code == 400
    message = "A customer with this external reference exists already."
    assert response.json() == {
        "message": f"external_ref: {message}",
        "extra": {"fields": {"external_ref": [message]}},
    }
    assert rows(tenant) == before
    assert [row["id"] for row in before] == [existing.id]


def test_malformed_json_and_wrong_content_type_are_refused(api, tenant):
    malformed = api.post(LIST, "{not json", content_type="application/json")
    text = api.post(LIST, "name=X&country=DE", content_type="text/plain")

    assert malformed.status_code == 400
    assert malformed.json()["message"].startswith("JSON parse error")
    assert malformed.json()["extra"] == {}
    assert text.status_code == 415
    assert text.json() == {
        "message": 'Unsupported media type "text/plain" in request.',
        "extra": {},
    }
    assert rows(tenant) == []


# --- list and retrieve -----------------------------------------------------------------------
def test_list_customers_paginated_by_name(api, tenant, other_tenant):
    b = CustomerFactory(tenant=tenant, name="Beta")
    a = CustomerFactory(tenant=tenant, name="Alpha")
    c = CustomerFactory(tenant=tenant, name="Gamma")
    CustomerFactory(tenant=other_tenant, name="Aardvark")

    first = api.get(LIST, {"page_size": 2})
    second = api.get(LIST, {"page_size": 2, "page": 2})

    assert first.status_code == 200
    assert first.json() == {
        "count": 3,
        "next": "http://testserver/api/v1/customers/?page=2&page_size=2",
        "previous": None,
        "results": [as_json(a), as_json(b)],
    }
    assert second.json()["results"] == [as_json(c)]


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_list_customers_filters(api, tenant):
    de = CustomerFactory(tenant=tenant, name="Anna Schmidt", email="anna@example.de", country="DE")
    at = CustomerFactory(tenant=tenant, name="Bernd", email="b@schmidt.at", country="AT")
    fr = CustomerFactory(tenant=tenant, name="Claire", email="claire@example.fr", country="FR")
    Customer.objects.for_tenant(tenant).filter(pk=fr.pk).update(
        updated_at=timezone.now() + timedelta(hours=1)
    )
    since = (timezone.now() + timedelta(minutes=30)).isoformat()

    assert ids(api.get(LIST, {"country": "AT"})) == [at.id]
    assert ids(api.get(LIST, {"search": "schmidt"})) == [de.id, at.id]
    assert ids(api.get(LIST, {"search": "SCHMIDT", "country": "DE"})) == [de.id]
    assert ids(api.get(LIST, {"updated_since": since})) == [fr.id]
    assert ids(api.get(LIST, {"ordering": "-name"})) == [fr.id, at.id, de.id]
    assert ids(api.get(LIST, {"ordering": "country"})) == [at.id, de.id, fr.id]


def test_list_refuses_a_bad_updated_since(api, tenant):
    response = api.get(LIST, {"updated_since": "yesterday"})

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {"fields": {"updated_since": ["Enter a valid date/time."]}},
    }


def _list_queries(api, django_assert_num_queries, count):
    with django_assert_num_queries(count):
        response = api.get(LIST, {"page_size": 100})
    return response


def test_list_runs_the_same_queries_for_3_and_30_rows(api, tenant, django_assert_num_queries):
    # the api key, the count and the page (the key's last use was written by the first call)
    api.get(LIST)
    CustomerFactory.create_batch(3, tenant=tenant)
    assert len(_list_queries(api, django_assert_num_queries, 3).json()["results"]) == 3

    CustomerFactory.create_batch(27, tenant=tenant)
    assert len(_list_queries(api, django_assert_num_queries, 3).json()["results"]) == 30


def test_retrieve_customer(api, tenant):
    customer = CustomerFactory(tenant=tenant, latitude="48.137154", longitude="11.576124")
    customer.refresh_from_db()

    response = api.get(detail(customer.id))

    assert response.status_code == 200
    assert response.json() == as_json(customer)
    assert response.json()["latitude"] == "48.137154"


def test_retrieve_a_missing_customer(api, tenant):
    response = api.get(detail(999999))

    assert response.status_code == 404
    assert response.json() == {"message": "Customer not found.", "extra": {}}


# --- update and delete -----------------------------------------------------------------------
def test_update_customer(api, tenant):
    customer = CustomerFactory(tenant=tenant, name="Old", phone="1")

    response = api.patch(detail(customer.id), {"name": "New", "country": "CH"}, format="json")

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.country, customer.phone) == ("New", "CH", "1")
    assert response.json() == as_json(customer)
    [event] = audit_events(tenant, verb="customer.updated")
    assert (event.before, event.after) == (
        {"name": "Old", "country": "DE"},
        {"name": "New", "country": "CH"},
    )


def test_update_customer_refuses_bad_input(api, tenant):
    customer = CustomerFactory(tenant=tenant)
    before = rows(tenant)

    response = api.patch(detail(customer.id), {"country": "Germany"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "message": "Some fields are invalid.",
        "extra": {
            "fields": {
                "country": [
                    "Use a two-letter ISO 3166 country code in capitals, e.g. DE.",
                    "Ensure this field has no more than 2 characters.",
                ]
            }
        },
    }
    assert rows(tenant) == before


def test_put_is_not_allowed(api, tenant):
    customer = CustomerFactory(tenant=tenant)

    response = api.put(detail(customer.id), {"name": "X", "country": "DE"}, format="json")

    assert response.status_code == 405
    assert response.json() == {"message": 'Method "PUT" not allowed.', "extra": {}}


def test_delete_customer(api, tenant):
    customer = CustomerFactory(tenant=tenant, name="Lumen GmbH", country="DE", email="a@lumen.test")

    response = api.delete(detail(customer.id))

    assert response.status_code == 204
    assert rows(tenant) == []
    events = audit_events(tenant, verb="customer.deleted")
    assert [e.target_id for e in events] == [customer.id]
    # The row's last state is kept in the log: the only trace a deletion leaves.
    assert events[0].before == {
        "name": "Lumen GmbH",
        "email": "a@lumen.test",
        "phone": customer.phone,
        "delivery_address": customer.delivery_address,
        "country": "DE",
        "latitude": None if customer.latitude is None else str(customer.latitude),
        "longitude": None if customer.longitude is None else str(customer.longitude),
        "external_ref": customer.external_ref,
    }


def test_delete_customer_with_orders_is_a_conflict(api, tenant):
    order = OrderFactory(tenant=tenant)
    before = rows(tenant)

    response = api.delete(detail(order.customer_id))

    assert response.status_code == 409
    assert response.json() == {
        "message": "This customer is still used by other records; remove or reassign them first.",
        "extra": {},
    }
    assert rows(tenant) == before
    assert audit_events(tenant, verb="customer.deleted") == []


# --- who may do what -------------------------------------------------------------------------
def test_no_credentials_is_401(tenant):
    customer = CustomerFactory(tenant=tenant)
    before = rows(tenant)

    responses = [APIClient().get(LIST), APIClient().delete(detail(customer.id))]

    assert [r.status_code for r in responses] == [401, 401]
    assert responses[0].json() == {
        "message": "Authentication credentials were not provided.",
        "extra": {},
    }
    assert rows(tenant) == before


def test_a_revoked_or_wrong_key_is_401(tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer mfk_nope_nope")

    response = client.get(LIST)

    assert response.status_code == 401
    assert response.json() == {"message": "Invalid or revoked API key.", "extra": {}}


WRITES = [
    ("post", lambda c: LIST, {"name": "X", "country": "DE"}),
    ("patch", lambda c: detail(c.id), {"name": "Changed"}),
    ("delete", lambda c: detail(c.id), None),
]


@pytest.mark.parametrize(("method", "url", "body"), WRITES, ids=["create", "update", "delete"])
def test_a_read_only_key_may_read_but_not_write(system, tenant, method, url, body):
    customer = CustomerFactory(tenant=tenant)
    client = key_client(system, read_only=True)
    before = rows(tenant)

    read = client.get(detail(customer.id))
    response = getattr(client, method)(url(customer), body, format="json")

    assert read.status_code == 200
    assert response.status_code == 403
    assert response.json() == {"message": "This API key is read-only.", "extra": {}}
    assert rows(tenant) == before


@pytest.mark.parametrize(("method", "url", "body"), WRITES, ids=["create", "update", "delete"])
@pytest.mark.parametrize(
    ("role", "code"),
    [
        (Membership.Role.VIEWER, 403),
        (Membership.Role.OPERATOR, 403),
        (Membership.Role.MANAGER, None),
        (Membership.Role.OWNER, None),
    ],
)
def test_members_by_role(tenant, method, url, body, role, code):
    customer = CustomerFactory(tenant=tenant)
    client = member_client(tenant, role)
    before = rows(tenant)

    read = client.get(detail(customer.id))
    response = getattr(client, method)(url(customer), body, format="json")

    assert read.status_code == 200
    if code is None:
        assert response.status_code == {"post": 201, "patch": 200, "delete": 204}[method]
        assert rows(tenant) != before
    else:
        assert response.status_code == 403
        assert response.json() == {
            "message": f"Your role ({role}) does not allow this action (orders.manage).",
            "extra": {},
        }
        assert rows(tenant) == before


def test_a_login_without_membership_is_refused(tenant):
    from tests.factories import UserFactory

    client = APIClient()
    client.force_login(UserFactory())

    response = client.get(LIST)

    assert response.status_code == 403
    assert response.json() == {
        "message": "Your login is not a member of any business.",
        "extra": {},
    }


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("patch", {"name": "Hijacked"}), ("delete", None)],
)
def test_another_tenants_customer_is_not_found(api, tenant, other_tenant, method, body):
    foreign = CustomerFactory(tenant=other_tenant, name="Theirs")
    before = rows(other_tenant)

    response = getattr(api, method)(detail(foreign.id), body, format="json")

    assert response.status_code == 404
    assert response.json() == {"message": "Customer not found.", "extra": {}}
    assert rows(other_tenant) == before


def test_session_member_sees_only_their_active_tenant(tenant, other_tenant):
    mine = CustomerFactory(tenant=tenant)
    CustomerFactory(tenant=other_tenant)
    client = member_client(tenant, Membership.Role.VIEWER)

    assert ids(client.get(LIST)) == [mine.id]
