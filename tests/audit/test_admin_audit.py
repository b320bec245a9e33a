"""The audit trail in the Django admin: platform staff read every tenant's events (filters by
tenant, verb, object type and date; search), and nobody adds, changes or deletes one there."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from mfapp.audit.models import AuditEvent
from tests.audit.conftest import T0, event_at
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:audit_auditevent_changelist")


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def events(tenant, other_tenant):
    return {
        "mine": event_at(
            tenant,
            T0,
            verb="order.cancelled",
            target_type="orders.order",
            target_id=4,
            target_repr="SO-4",
            actor_label="alice",
            before={"status": "confirmed"},
            after={"status": "cancelled"},
            message="Customer called",
        ),
        "theirs": event_at(
            other_tenant,
            T0,
            verb="machine.status_changed",
            target_type="machines.machine",
            target_id=8,
            target_repr="Mill 2",
            actor_label="bob",
        ),
    }


def _listed(response) -> set[int]:
    return {event.pk for event in response.context["cl"].result_list}


def test_staff_list_every_tenants_events_with_tenant_when_actor_verb_and_target(
    staff_client, events
):
    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    assert {events["mine"].pk, events["theirs"].pk} <= _listed(response)
    page = response.content.decode()
    for text in ("Acme Microfactory", "Globex Prints", "alice", "order.cancelled", "Order #4 SO-4"):
        assert text in page, text


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ({"verb": "order.cancelled"}, "mine"),
        ({"target_type": "machines.machine"}, "theirs"),
        ({"q": "Mill"}, "theirs"),
        ({"q": "Customer called"}, "mine"),
    ],
)
def test_staff_filter_and_search(staff_client, events, query, wanted):
    response = staff_client.get(CHANGELIST, query)

    assert response.status_code == 200
    listed = _listed(response) & {e.pk for e in events.values()}
    assert listed == {events[wanted].pk}


def test_staff_filter_by_tenant(staff_client, tenant, events):
    response = staff_client.get(CHANGELIST, {"tenant__id__exact": tenant.pk})

    listed = _listed(response)
    assert events["mine"].pk in listed
    assert events["theirs"].pk not in listed
    assert {e.tenant_id for e in response.context["cl"].result_list} == {tenant.pk}


def test_an_event_opens_read_only_with_its_changes(staff_client, events):
    event = events["mine"]

    response = staff_client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<li>Status: Confirmed → Cancelled</li>" in page
    assert 'name="_save"' not in page  # no form to submit
    assert "deletelink" not in page


def test_nobody_adds_changes_or_deletes_an_event(staff_client, events):
    event = events["mine"]
    change = reverse("admin:audit_auditevent_change", args=[event.pk])

    assert staff_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert staff_client.post(change, {"verb": "order.created"}).status_code == 403
    assert (
        staff_client.post(
            reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    bulk = staff_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )

    assert bulk.status_code in (200, 302)
    stored = AuditEvent.objects.for_tenant(event.tenant_id).get(pk=event.pk)
    assert (stored.verb, stored.message) == ("order.cancelled", "Customer called")


def test_the_admin_class_grants_nothing_but_viewing():
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    request.user = UserFactory.build(is_staff=True, is_superuser=True)

    assert model_admin.has_view_permission(request) is True
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False
    assert not model_admin.get_actions(request)
