"""Settings > Sites: every member sees the sites; owners and managers add, edit and delete."""

from decimal import Decimal

import pytest
from django.urls import reverse

from mfapp.tenancy.models import Site
from mfapp.tenancy.working_hours import default_working_hours
from tests.factories import MachineFactory, MembershipFactory, SiteFactory

pytestmark = pytest.mark.django_db
LIST = reverse("tenancy:site-list")
CREATE = reverse("tenancy:site-create")
HOURS = {"mon": "08:00-12:00, 13:00-17:00", "tue": "8:00-17:00", "sat": "09:00-13:00"}


def _login(client, tenant, role):
    membership = MembershipFactory(tenant=tenant, role=role)
    client.force_login(membership.user)
    return membership.user


def _names(tenant):
    return list(Site.objects.for_tenant(tenant).order_by("name").values_list("name", flat=True))


def _form(**overrides):
    data = {
        "name": "Kiel harbour",
        "address": "Kai 1\nKiel",
        "country": "de",
        "timezone": "Europe/Berlin",
        "latitude": "54.323300",
        "longitude": "10.122800",
        **HOURS,
    }
    data.update(overrides)
    return data


# --- list --------------------------------------------------------------------------------------
def test_the_list_shows_each_site_with_its_working_hours(client, tenant, other_tenant):
    _login(client, tenant, "viewer")
    SiteFactory(tenant=tenant, name="Berlin", country="DE", timezone="Europe/Berlin")
    SiteFactory(
        tenant=tenant,
        name="Lisbon",
        country="PT",
        timezone="Europe/Lisbon",
        working_hours={**default_working_hours(), "fri": [], "sat": [["10:00", "14:00"]]},
    )
    SiteFactory(tenant=other_tenant, name="Lyon")

    response = client.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Sites</h1>" in html
    assert [site.name for site, _ in response.context["sites"]] == ["Berlin", "Lisbon"]
    assert [hours for _, hours in response.context["sites"]] == [
        [("Mon\u2013Fri", "08:00-17:00"), ("Sat\u2013Sun", "closed")],
        [
            ("Mon\u2013Thu", "08:00-17:00"),
            ("Fri", "closed"),
            ("Sat", "10:00-14:00"),
            ("Sun", "closed"),
        ],
    ]
    assert "Mon\u2013Thu 08:00-17:00<br>Fri closed<br>Sat 10:00-14:00<br>Sun closed" in html
    assert '<td data-label="Time zone">Europe/Lisbon</td>' in html
    assert "Lyon" not in html
    # A viewer reads, but is offered no changes.
    assert "Add site" not in html
    assert "Delete" not in html


def test_managers_are_offered_the_changes(client, tenant):
    _login(client, tenant, "manager")
    site = SiteFactory(tenant=tenant, name="Berlin")

    html = client.get(LIST).content.decode()

    assert f'href="{CREATE}">Add site</a>' in html
    assert reverse("tenancy:site-update", args=[site.pk]) in html
    assert f'hx-post="{reverse("tenancy:site-delete", args=[site.pk])}"' in html
    assert f'href="{reverse("webhook-endpoint-list")}">Webhooks</a>' in html


def test_the_htmx_partial_is_the_table_alone(client, tenant):
    _login(client, tenant, "viewer")
    SiteFactory(tenant=tenant, name="Berlin")

    response = client.get(LIST, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="sites"')
    assert "Berlin" in html


def test_no_sites_tells_what_to_do(client, tenant):
    _login(client, tenant, "owner")

    html = client.get(LIST).content.decode()

    assert "No sites yet." in html
    assert "Add your first site</a>: machines and orders belong to a site." in html


def test_anonymous_visitors_are_sent_to_login(client):
    for url in (LIST, CREATE):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (
            302,
            f"{reverse('login')}?next={url}",
        )


def test_the_list_runs_a_bounded_number_of_queries(client, tenant, django_assert_max_num_queries):
    _login(client, tenant, "manager")
    for number in range(8):
        SiteFactory(tenant=tenant, name=f"Site {number}")

    with django_assert_max_num_queries(8):
        response = client.get(LIST)

    assert len(response.context["sites"]) == 8


# --- create ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_add_a_site(client, tenant, role):
    _login(client, tenant, role)

    response = client.post(CREATE, _form(), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    site = Site.objects.for_tenant(tenant).get()
    assert (site.name, site.address, site.country, site.timezone) == (
        "Kiel harbour",
        "Kai 1\nKiel",
        "DE",
        "Europe/Berlin",
    )
    assert (site.latitude, site.longitude) == (Decimal("54.323300"), Decimal("10.122800"))
    assert site.working_hours == {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
        "tue": [["08:00", "17:00"]],
        "wed": [],
        "thu": [],
        "fri": [],
        "sat": [["09:00", "13:00"]],
        "sun": [],
    }
    assert "Site Kiel harbour added." in response.content.decode()


def test_the_new_site_form_starts_from_the_tenants_country_and_zone(client, tenant):
    _login(client, tenant, "manager")

    response = client.get(CREATE)

    assert response.status_code == 200
    form = response.context["form"]
    assert (form["country"].value(), form["timezone"].value()) == ("DE", "Europe/Berlin")
    html = response.content.decode()
    assert '<label for="id_mon">Monday:</label>' in html
    assert "<h1>Add a site</h1>" in html


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {"mon": "8-17"},
            {"mon": ["“8-17” is not a shift: write start-end, e.g. 08:00-17:00."]},
        ),
        ({"tue": "17:00-08:00"}, {"tue": ["shift 17:00-08:00 ends before it starts."]}),
        (
            {"wed": "08:00-12:00, 11:00-15:00"},
            {"wed": ["shifts overlap or are not in order."]},
        ),
        ({"thu": "25:00-26:00"}, {"thu": ["times are HH:MM on a 24-hour clock."]}),
        (
            {"country": "Germany", "name": ""},
            {
                "name": ["This field is required."],
                "country": ["Use a two-letter ISO 3166 country code, e.g. DE."],
            },
        ),
        (
            {"latitude": "91"},
            {"latitude": ["Ensure this value is less than or equal to 90."]},
        ),
    ],
    ids=["shape", "reversed", "overlap", "clock", "required-and-country", "latitude"],
)
def test_invalid_input_is_a_400_and_nothing_is_saved(client, tenant, overrides, errors):
    _login(client, tenant, "manager")

    response = client.post(CREATE, _form(**overrides))

    assert response.status_code == 400
    assert response.context["form"].errors == errors
    assert _names(tenant) == []


def test_a_duplicate_name_is_refused_by_the_service(client, tenant):
    _login(client, tenant, "manager")
    SiteFactory(tenant=tenant, name="Kiel harbour")

    response = client.post(CREATE, _form())

    assert response.status_code == 400
    assert response.context["form"].errors == {"name": ["A site with this name exists already."]}
    assert _names(tenant) == ["Kiel harbour"]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_change_nothing(client, tenant, role):
    _login(client, tenant, role)
    site = SiteFactory(tenant=tenant, name="Berlin")
    update = reverse("tenancy:site-update", args=[site.pk])

    responses = [
        client.get(CREATE),
        client.post(CREATE, _form()),
        client.get(update),
        client.post(update, _form(name="Renamed")),
        client.post(reverse("tenancy:site-delete", args=[site.pk])),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert _names(tenant) == ["Berlin"]


# --- edit and delete ---------------------------------------------------------------------------
def test_the_edit_form_shows_the_current_values(client, tenant):
    _login(client, tenant, "manager")
    site = SiteFactory(
        tenant=tenant,
        name="Berlin",
        working_hours={**default_working_hours(), "mon": [["06:00", "14:00"], ["14:00", "22:00"]]},
    )

    response = client.get(reverse("tenancy:site-update", args=[site.pk]))

    form = response.context["form"]
    assert (
        form["name"].value(),
        form["mon"].value(),
        form["tue"].value(),
        form["sun"].value(),
    ) == (
        "Berlin",
        "06:00-14:00, 14:00-22:00",
        "08:00-17:00",
        "",
    )
    assert "<h1>Edit Berlin</h1>" in response.content.decode()


def test_a_manager_edits_a_site(client, tenant):
    _login(client, tenant, "manager")
    site = SiteFactory(tenant=tenant, name="Berlin")

    response = client.post(
        reverse("tenancy:site-update", args=[site.pk]),
        _form(name="Berlin Mitte", timezone="Europe/Lisbon", sat="", mon="07:00-15:00"),
    )

    assert (response.status_code, response["Location"]) == (302, LIST)
    site.refresh_from_db()
    assert (site.name, site.timezone, site.working_hours["mon"], site.working_hours["sat"]) == (
        "Berlin Mitte",
        "Europe/Lisbon",
        [["07:00", "15:00"]],
        [],
    )


def test_another_tenants_site_is_a_404_and_unchanged(client, tenant, other_tenant):
    _login(client, tenant, "owner")
    foreign = SiteFactory(tenant=other_tenant, name="Lyon")
    update = reverse("tenancy:site-update", args=[foreign.pk])

    responses = [
        client.get(update),
        client.post(update, _form(name="Hijacked")),
        client.post(reverse("tenancy:site-delete", args=[foreign.pk])),
    ]

    assert [r.status_code for r in responses] == [404] * 3
    assert _names(other_tenant) == ["Lyon"]


def test_a_manager_deletes_an_unused_site(client, tenant):
    _login(client, tenant, "manager")
    keep = SiteFactory(tenant=tenant, name="Berlin")
    gone = SiteFactory(tenant=tenant, name="Old barn")

    response = client.post(reverse("tenancy:site-delete", args=[gone.pk]), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert _names(tenant) == [keep.name]
    assert "Site Old barn deleted." in response.content.decode()


def test_a_site_with_machines_is_not_deleted_and_the_reason_is_shown(client, tenant):
    _login(client, tenant, "manager")
    site = SiteFactory(tenant=tenant, name="Berlin")
    MachineFactory(tenant=tenant, site=site)

    response = client.post(
        reverse("tenancy:site-delete", args=[site.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert (
        "Berlin was not deleted: This site is still used by other records; remove or reassign "
        "them first."
    ) in html
    assert _names(tenant) == ["Berlin"]
