"""Password reset by e-mail and password change, with Django's views and our templates."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
NEW = "fr3sh-Filament-spool"


def test_the_reset_page_is_ours(client):
    response = client.get(reverse("password_reset"))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="reset-h">Reset your password</h1>' in html
    assert '<label for="id_email">Email:</label>' in html
    assert "mfapp.css" in html  # our base template, not the admin's


def test_a_person_resets_a_forgotten_password(client):
    # given
    person = UserFactory(email="ada@example.com")
    # when: asking for the link
    response = client.post(reverse("password_reset"), {"email": "ADA@example.com"}, follow=True)
    # then
    assert response.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert "<h1>Check your e-mail</h1>" in response.content.decode()
    [message] = mail.outbox
    assert (message.to, message.subject) == (["ada@example.com"], "Reset your mfapp password")
    assert "your mfapp login ada@example.com" in message.body
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)

    # when: following the link and choosing a new password
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW, "new_password2": NEW},
        follow=True,
    )
    # then
    assert done.redirect_chain == [(reverse("password_reset_complete"), 302)]
    assert "<h1>Password saved</h1>" in done.content.decode()
    person.refresh_from_db()
    assert person.check_password(NEW) is True


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert (response.status_code, response["Location"]) == (302, reverse("password_reset_done"))
    assert mail.outbox == []


def test_a_used_or_broken_link_says_so(client):
    UserFactory(email="ada@example.com")

    response = client.get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "This link does not work any more" in html
    assert f'<a href="{reverse("password_reset")}">Ask for a new link</a>' in html


def test_a_logged_in_person_changes_their_password(client, tenant):
    person = MembershipFactory(tenant=tenant).user
    client.force_login(person)

    response = client.post(
        reverse("password_change"),
        {"old_password": DEFAULT_PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("password_change_done"), 302)]
    assert "<h1>Password changed</h1>" in response.content.decode()
    person.refresh_from_db()
    assert person.check_password(NEW) is True


def test_a_wrong_old_password_changes_nothing(client, tenant):
    person = MembershipFactory(tenant=tenant).user
    client.force_login(person)

    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 200  # Django's view answers 200 with the errors
    assert response.context["form"].errors == {
        "old_password": ["Your old password was entered incorrectly. Please enter it again."]
    }
    person.refresh_from_db()
    assert person.check_password(DEFAULT_PASSWORD) is True


def test_password_change_needs_a_login(client):
    url = reverse("password_change")

    response = client.get(url)

    assert (response.status_code, response["Location"]) == (302, f"{reverse('login')}?next={url}")


def test_the_settings_pages_link_to_password_change(client, tenant):
    client.force_login(MembershipFactory(tenant=tenant, role="viewer").user)

    html = client.get(reverse("tenancy:site-list")).content.decode()

    assert f'href="{reverse("password_change")}">Your password</a>' in html
