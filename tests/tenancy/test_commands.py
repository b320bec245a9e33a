import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from mfapp.audit.models import AuditEvent
from mfapp.tenancy.models import ApiKey, Membership, Site, Tenant
from mfapp.tenancy.services import api_key_authenticate

pytestmark = pytest.mark.django_db


def test_create_tenant_creates_tenant_site_and_owner_login(capsys):
    call_command(
        "create_tenant",
        "acme",
        "--name",
        "Acme Prints",
        "--owner-email",
        "Ana@Acme.test",
        "--password",
        "printing-is-fun-42",
        "--country",
        "AT",
        "--timezone",
        "Europe/Vienna",
    )

    tenant = Tenant.objects.get(slug="acme")
    assert (tenant.name, tenant.country, tenant.timezone) == ("Acme Prints", "AT", "Europe/Vienna")
    site = Site.objects.for_tenant(tenant).get()
    assert (site.name, site.country) == ("Acme Prints workshop", "AT")
    owner = get_user_model().objects.get(username="ana@acme.test")
    assert owner.check_password("printing-is-fun-42")
    membership = Membership.objects.for_tenant(tenant).get()
    assert (membership.user, membership.role) == (owner, "owner")
    assert "Created tenant acme (Acme Prints) owned by Ana@Acme.test." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--password", "123"], "The password is too weak"),
        ([], "A new owner needs a password."),
        (["--password", "printing-is-fun-42", "--country", "Germany"], "country: Use a two-letter"),
    ],
)
def test_create_tenant_refuses_bad_input_and_creates_nothing(extra, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "create_tenant", "acme", "--name", "Acme", "--owner-email", "a@acme.test", *extra
        )

    assert Tenant.objects.count() == 0
    assert Site.objects.all_tenants().count() == 0
    assert get_user_model().objects.count() == 0


def test_create_tenant_refuses_a_taken_slug(tenant):
    with pytest.raises(CommandError, match="The slug 'acme' is taken"):
        call_command(
            "create_tenant",
            "acme",
            "--name",
            "Other",
            "--owner-email",
            "b@other.test",
            "--password",
            "printing-is-fun-42",
        )

    assert Tenant.objects.count() == 1
    assert get_user_model().objects.filter(username="b@other.test").count() == 0


def test_create_api_key_prints_the_key_alone_on_the_last_line(tenant, capsys):
    call_command("create_api_key", "--tenant", "acme", "--name", "Shop", "--read-only")

    lines = capsys.readouterr().out.strip().splitlines()
    raw_key = lines[-1]
    assert raw_key.startswith("mfk_")
    assert " " not in raw_key
    api_key = ApiKey.objects.for_tenant(tenant).get()
    assert (api_key.name, api_key.read_only) == ("Shop", True)
    assert raw_key not in api_key.hashed_key
    assert api_key_authenticate(raw_key=raw_key) == api_key
    assert AuditEvent.objects.for_tenant(tenant).filter(verb="api_key.created").count() == 1


def test_create_api_key_for_an_unknown_tenant_fails_clearly():
    with pytest.raises(CommandError, match=r"No tenant with the slug 'nope'\."):
        call_command("create_api_key", "--tenant", "nope", "--name", "Shop")

    assert ApiKey.objects.all_tenants().count() == 0


def test_create_api_key_refuses_a_duplicate_name(tenant):
    call_command("create_api_key", "--tenant", "acme", "--name", "Shop")

    with pytest.raises(CommandError, match=r"An API key with this name exists already\."):
        call_command("create_api_key", "--tenant", "acme", "--name", "Shop")

    assert ApiKey.objects.for_tenant(tenant).count() == 1
