import pytest
from django.contrib.auth import get_user_model

from mfapp.audit.models import AuditEvent
from mfapp.core.exceptions import ApplicationError
from mfapp.tenancy.models import Membership, Site, Tenant
from mfapp.tenancy.services import tenant_create
from mfapp.tenancy.working_hours import default_working_hours
from tests.factories import DEFAULT_PASSWORD, UserFactory, audit_events

User = get_user_model()
STRONG = "fr3sh-Filament-spool"


def _counts():
    return (
        Tenant.objects.count(),
        Site.objects.all_tenants().count(),
        Membership.objects.all_tenants().count(),
        AuditEvent.objects.all_tenants().count(),
        User.objects.count(),
    )


@pytest.mark.django_db
def test_tenant_create_makes_the_tenant_its_site_and_owner():
    tenant = tenant_create(
        slug="makerhub",
        name="Makerhub",
        owner_email="Founder@Makerhub.Example",
        owner_password=STRONG,
        country="NL",
        timezone_name="Europe/Amsterdam",
        currency="EUR",
    )

    tenant.refresh_from_db()
    assert (tenant.slug, tenant.name, tenant.country, tenant.timezone, tenant.currency) == (
        "makerhub",
        "Makerhub",
        "NL",
        "Europe/Amsterdam",
        "EUR",
    )
    [site] = Site.objects.for_tenant(tenant)
    assert (site.name, site.country, site.timezone) == (
        "Makerhub workshop",
        "NL",
        "Europe/Amsterdam",
    )
    assert site.working_hours == default_working_hours()
    [membership] = Membership.objects.for_tenant(tenant).select_related("user")
    assert membership.role == Membership.Role.OWNER
    owner = membership.user
    assert (owner.username, owner.email) == ("founder@makerhub.example",) * 2
    assert owner.check_password(STRONG) is True
    events = audit_events(tenant)
    assert [(e.verb, e.target_id, e.actor_label) for e in events] == [
        ("tenant.created", tenant.id, "system"),
        ("site.created", site.id, "system"),
        ("membership.created", membership.id, "system"),
    ]
    assert [e.after for e in events] == [
        {"slug": "makerhub"},
        {"name": "Makerhub workshop"},
        {"user": "founder@makerhub.example", "role": "owner"},
    ]


@pytest.mark.django_db
def test_an_existing_login_becomes_owner_without_a_password():
    person = UserFactory(email="ada@example.com")
    users = User.objects.count()

    tenant = tenant_create(
        slug="second-shop",
        name="Second shop",
        owner_email="ADA@example.com",
        owner_password=None,
        country="DE",
        site_name="Berlin",
    )

    assert User.objects.count() == users
    membership = Membership.objects.for_tenant(tenant).get()
    assert (membership.user_id, membership.role) == (person.id, "owner")
    assert Site.objects.for_tenant(tenant).get().name == "Berlin"
    person.refresh_from_db()
    assert person.check_password(DEFAULT_PASSWORD) is True


def test_duplicate_slug_is_refused_and_nothing_is_created(tenant):
    before = _counts()

    with pytest.raises(ApplicationError) as exc_info:
        tenant_create(
            slug=tenant.slug,
            name="Copycat",
            owner_email="copy@example.com",
            owner_password=STRONG,
            country="DE",
        )

    assert exc_info.value.message == "The slug 'acme' is taken; choose another."
    assert exc_info.value.extra == {"fields": {"slug": ["Taken."]}}
    assert _counts() == before
    assert User.objects.filter(username="copy@example.com").exists() is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password", ["short1", "1234567890123", "password123", "newshop@example.com"]
)
def test_weak_password_is_refused_and_nothing_is_created(password):
    before = _counts()

    with pytest.raises(ApplicationError) as exc_info:
        tenant_create(
            slug="newshop",
            name="New shop",
            owner_email="newshop@example.com",
            owner_password=password,
            country="DE",
        )

    assert exc_info.value.message.startswith("The password is too weak: ")
    assert list(exc_info.value.extra["fields"]) == ["password"]
    assert _counts() == before
    assert Tenant.objects.filter(slug="newshop").exists() is False


@pytest.mark.django_db
def test_a_new_owner_needs_a_password():
    before = _counts()

    with pytest.raises(ApplicationError) as exc_info:
        tenant_create(
            slug="newshop",
            name="New shop",
            owner_email="nobody@example.com",
            owner_password="",
            country="DE",
        )

    assert exc_info.value.message == "A new owner needs a password."
    assert exc_info.value.extra == {"fields": {"password": ["Required."]}}
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("country", {"country": "de"}),
        ("timezone", {"timezone_name": "Mars/Olympus"}),
        ("currency", {"currency": "euro"}),
        ("slug", {"slug": "not a slug"}),
    ],
)
def test_invalid_tenant_fields_are_refused(field, kwargs):
    before = _counts()
    arguments = {
        "slug": "newshop",
        "name": "New shop",
        "owner_email": "owner@example.com",
        "owner_password": STRONG,
        "country": "DE",
        **kwargs,
    }

    with pytest.raises(ApplicationError) as exc_info:
        tenant_create(**arguments)

    assert list(exc_info.value.extra["fields"]) == [field]
    assert _counts() == before
