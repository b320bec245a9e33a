"""Sign-up: a new login owning a new business with its first site; a logged-in person adds
another business without a new login."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from mfapp.tenancy.middleware import SESSION_KEY
from mfapp.tenancy.models import Membership, Site, Tenant
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
SIGNUP = reverse("signup")
NEW_BUSINESS = reverse("tenancy:tenant-create")
STRONG = "fr3sh-Filament-spool"


def _form(**overrides):
    data = {
        "business_name": "Kiel Fab",
        "site_name": "Harbour workshop",
        "country": "de",
        "timezone": "Europe/Berlin",
        "currency": "eur",
        "email": "Founder@KielFab.example",
        "password": STRONG,
        "password_confirm": STRONG,
    }
    data.update(overrides)
    return data


def _counts():
    return (
        Tenant.objects.count(),
        User.objects.count(),
        Site.objects.all_tenants().count(),
        Membership.objects.all_tenants().count(),
    )


def test_the_signup_page_asks_for_the_business_and_the_login(client):
    response = client.get(SIGNUP)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="signup-h">Create your business account</h1>' in html
    assert list(response.context["form"].fields) == [
        "business_name",
        "site_name",
        "country",
        "timezone",
        "currency",
        "email",
        "password",
        "password_confirm",
    ]
    assert '<label for="id_password_confirm">Password again:</label>' in html


def test_signing_up_creates_the_business_logs_in_and_welcomes(client):
    response = client.post(SIGNUP, _form(), follow=True)

    assert response.redirect_chain == [(reverse("home"), 302)]
    tenant = Tenant.objects.get(slug="kiel-fab")
    assert (tenant.name, tenant.country, tenant.timezone, tenant.currency) == (
        "Kiel Fab",
        "DE",
        "Europe/Berlin",
        "EUR",
    )
    user = User.objects.get(username="founder@kielfab.example")
    assert user.check_password(STRONG)
    assert list(Site.objects.for_tenant(tenant).values_list("name", "country")) == [
        ("Harbour workshop", "DE")
    ]
    assert list(Membership.objects.for_tenant(tenant).values_list("user", "role")) == [
        (user.pk, "owner")
    ]
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.session[SESSION_KEY] == tenant.pk
    html = response.content.decode()
    assert "Welcome to mfapp! Kiel Fab and its first site are ready. Next steps:" in html
    assert f'<a href="{reverse("tenancy:member-list")}">invite your team</a>' in html
    assert "<h1>Kiel Fab</h1>" in html


def test_the_site_name_defaults_and_the_slug_stays_unique(client, tenant):
    # The fixture tenant has the slug "acme".
    client.post(SIGNUP, _form(business_name="Acme", site_name="", email="a@b.example"))

    created = Tenant.objects.exclude(pk=tenant.pk).get()
    assert created.slug == "acme-2"
    assert list(Site.objects.for_tenant(created).values_list("name", flat=True)) == [
        "Acme workshop"
    ]


def test_an_e_mail_with_a_login_is_refused_with_what_to_do(client, tenant):
    person = UserFactory(email="founder@kielfab.example")
    before = _counts()

    response = client.post(SIGNUP, _form(), follow=True)

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "email": ["An account with this e-mail exists already."]
    }
    assert _counts() == before
    assert "_auth_user_id" not in client.session
    person.refresh_from_db()
    assert person.check_password(STRONG) is False


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"password_confirm": "something-else-1"},
            {"password_confirm": ["The two passwords differ."]},
        ),
        (
            {"password": "kielfab123", "password_confirm": "kielfab123"},
            {
                "password": [
                    "The password is too similar to the email address.",
                    "This password is too short. It must contain at least 12 characters.",
                ]
            },
        ),
        (
            {"password": "1234567890", "password_confirm": "1234567890"},
            {
                "password": [
                    "This password is too short. It must contain at least 12 characters.",
                    "This password is too common.",
                    "This password is entirely numeric.",
                ]
            },
        ),
        (
            {"country": "Deutschland", "timezone": "Mars/Olympus", "business_name": ""},
            {
                "business_name": ["This field is required."],
                "country": ["Use a two-letter ISO 3166 country code, e.g. DE."],
                "timezone": [
                    "Select a valid choice. Mars/Olympus is not one of the available choices."
                ],
            },
        ),
        ({"email": "founder"}, {"email": ["Enter a valid email address."]}),
    ],
    ids=["mismatch", "similar", "weak", "business", "email"],
)
def test_invalid_sign_ups_are_a_400_and_create_nothing(client, overrides, errors):
    before = _counts()

    response = client.post(SIGNUP, _form(**overrides))

    assert response.status_code == 400
    assert response.context["form"].errors == errors
    assert _counts() == before
    assert "_auth_user_id" not in client.session


def test_a_logged_in_person_is_sent_to_new_business(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant).user)

    response = client.get(SIGNUP)

    assert (response.status_code, response["Location"]) == (302, NEW_BUSINESS)


def test_the_login_page_links_to_signup_and_password_reset(client):
    html = client.get(reverse("login")).content.decode()

    assert f'<a href="{SIGNUP}">Create an account for your business</a>' in html
    assert f'<a href="{reverse("password_reset")}">Forgot your password?</a>' in html


# --- another business for a logged-in person ---------------------------------------------------
def test_a_member_adds_a_business_and_switches_to_it(client, tenant):
    membership = MembershipFactory(tenant=tenant, role="viewer")
    client.force_login(membership.user)
    users = User.objects.count()

    response = client.post(
        NEW_BUSINESS,
        {
            "business_name": "Second Shop",
            "site_name": "",
            "country": "NL",
            "timezone": "Europe/Amsterdam",
            "currency": "EUR",
        },
        follow=True,
    )

    assert response.redirect_chain == [(reverse("home"), 302)]
    created = Tenant.objects.get(slug="second-shop")
    assert list(Membership.objects.for_user(membership.user).values_list("tenant", "role")) == [
        (tenant.pk, "viewer"),
        (created.pk, "owner"),
    ]
    assert User.objects.count() == users
    assert client.session[SESSION_KEY] == created.pk
    assert "<h1>Second Shop</h1>" in response.content.decode()


def test_a_login_without_business_may_create_one(client):
    client.force_login(UserFactory())

    response = client.get(NEW_BUSINESS)

    assert response.status_code == 200
    assert '<h1 id="business-h">Add a business</h1>' in response.content.decode()


def test_an_invalid_new_business_is_a_400(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant).user)
    before = _counts()

    response = client.post(NEW_BUSINESS, {"business_name": "X", "country": "D", "currency": "EUR"})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "country": ["Use a two-letter ISO 3166 country code, e.g. DE."],
        "timezone": ["This field is required."],
    }
    assert _counts() == before


def test_new_business_needs_a_login(client):
    response = client.get(NEW_BUSINESS)

    assert (response.status_code, response["Location"]) == (
        302,
        f"{reverse('login')}?next={NEW_BUSINESS}",
    )
