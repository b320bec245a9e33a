"""The CSV import page: upload, a per-row error table when anything is wrong (nothing saved),
and the example file."""

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from mfapp.orders.models import Order, OrderLine
from tests.factories import CustomerFactory, MembershipFactory, ProductFactory, SiteFactory

pytestmark = pytest.mark.django_db
IMPORT = reverse("orders:order-import")
EXAMPLE = reverse("orders:order-import-template")
HEADER = "number,customer,due_date,priority,sku,quantity\n"
GOOD = (
    HEADER + "SO-1,Bike Shop,2030-03-31,high,BRK-1,25\n"
    "SO-1,Bike Shop,2030-03-31,high,HOOK-2,10\n"
    "SO-2,Bike Shop,2030-04-15,,BRK-1,5\n"
)


def _login(client, tenant, role="manager"):
    client.force_login(MembershipFactory(tenant=tenant, role=role).user)


def _upload(text: str) -> dict:
    return {"file": SimpleUploadedFile("orders.csv", text.encode(), content_type="text/csv")}


@pytest.fixture
def shop(tenant):
    SiteFactory(tenant=tenant, name="Berlin")
    CustomerFactory(tenant=tenant, name="Bike Shop")
    ProductFactory(tenant=tenant, sku="BRK-1", unit_price=Decimal("4.20"))
    ProductFactory(tenant=tenant, sku="HOOK-2")


def _saved(tenant):
    return (Order.objects.for_tenant(tenant).count(), OrderLine.objects.for_tenant(tenant).count())


def test_the_page_documents_the_columns_and_offers_the_example(client, tenant):
    _login(client, tenant)

    response = client.get(IMPORT)

    assert response.status_code == 200
    html = response.text
    columns = re.findall(r'<td data-label="Column"><code>(\w+)</code></td>', html)
    assert columns == [
        "number",
        "customer",
        "due_date",
        "priority",
        "sku",
        "quantity",
        "unit_price",
        "site",
        "notes",
    ]
    assert f'href="{EXAMPLE}"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "at most 1 MB and 1,000 rows" in html


def test_a_good_file_creates_its_orders_and_goes_to_the_list(client, tenant, shop):
    _login(client, tenant)

    response = client.post(IMPORT, _upload(GOOD), follow=True)

    assert response.redirect_chain == [(reverse("orders:order-list"), 302)]
    assert _saved(tenant) == (2, 3)
    assert "Imported 2 orders with 3 lines, all drafts: confirm them to plan." in response.text


def test_a_bad_file_shows_every_problem_by_row_and_column_and_saves_nothing(client, tenant, shop):
    # given: row 3 has an unknown SKU and a zero quantity, row 4 a bad date
    _login(client, tenant)
    text = (
        HEADER + "SO-1,Bike Shop,2030-03-31,high,BRK-1,25\n"
        "SO-1,Bike Shop,2030-03-31,high,NOPE,0\n"
        "SO-2,Bike Shop,15/04/2030,,BRK-1,5\n"
    )

    # when
    response = client.post(IMPORT, _upload(text))

    # then
    assert response.status_code == 400
    table = response.text.split('id="import-errors"')[1].split("</table>")[0]
    rows = re.findall(
        r'<td data-label="Row" class="num">([^<]+)</td>\s*'
        r'<td data-label="Column">(?:<code>)?([^<]+)(?:</code>)?</td>\s*'
        r'<td data-label="Problem">([^<]+)</td>',
        table,
    )
    assert rows == [
        ("3", "sku", "Unknown SKU “NOPE”."),
        ("3", "quantity", "The quantity must be at least 1."),
        ("4", "due_date", "“15/04/2030” is not a date; use YYYY-MM-DD, e.g. 2030-03-31."),
    ]
    assert "Nothing was imported: 3 problems" in response.text
    assert _saved(tenant) == (0, 0)


def test_a_file_level_problem_names_the_whole_file(client, tenant, shop):
    _login(client, tenant)
    upload = {"file": SimpleUploadedFile("orders.csv", "customer;Müller\n".encode("latin-1"))}

    response = client.post(IMPORT, upload)

    assert response.status_code == 400
    assert '<td data-label="Row" class="num">whole file</td>' in response.text
    assert "The file is not UTF-8 text" in response.text
    assert _saved(tenant) == (0, 0)


def test_no_file_is_a_400(client, tenant, shop):
    _login(client, tenant)

    response = client.post(IMPORT, {})

    assert response.status_code == 400
    assert response.context["form"].errors == {"file": ["This field is required."]}


def test_the_example_file_uses_the_business_products_and_customer(client, tenant, shop):
    _login(client, tenant)

    response = client.get(EXAMPLE)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders-example.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0] == "number,customer,due_date,priority,sku,quantity,unit_price,site,notes"
    assert [line.split(",")[:2] + line.split(",")[4:6] for line in lines[1:]] == [
        ["EXAMPLE-1", "Bike Shop", "BRK-1", "25"],
        ["EXAMPLE-1", "Bike Shop", "HOOK-2", "10"],
        ["EXAMPLE-2", "Bike Shop", "BRK-1", "5"],
    ]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_other_roles_get_403_and_nothing_is_saved(client, tenant, shop, role):
    _login(client, tenant, role)

    responses = [client.get(IMPORT), client.post(IMPORT, _upload(GOOD)), client.get(EXAMPLE)]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert _saved(tenant) == (0, 0)


def test_anonymous_people_are_sent_to_log_in(client, tenant, shop):
    response = client.post(IMPORT, _upload(GOOD))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={IMPORT}"
    assert _saved(tenant) == (0, 0)


def test_orders_go_to_the_active_tenant_only(client, tenant, other_tenant, shop):
    # given: the other business has the same customer name, SKUs and a site
    SiteFactory(tenant=other_tenant)
    CustomerFactory(tenant=other_tenant, name="Bike Shop")
    ProductFactory(tenant=other_tenant, sku="BRK-1")
    ProductFactory(tenant=other_tenant, sku="HOOK-2")
    _login(client, tenant)

    # when
    client.post(IMPORT, _upload(GOOD))

    # then
    assert _saved(tenant) == (2, 3)
    assert _saved(other_tenant) == (0, 0)


# --- bad files: refused as a whole, with the message in the problems table -----------------------
ROW = "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n"
SAVE_AS = "export it from your spreadsheet as “CSV UTF-8” and upload that."


def _problems(response) -> list[tuple[str, str, str]]:
    table = response.text.split('id="import-errors"')[1].split("</table>")[0]
    return re.findall(
        r'<td data-label="Row" class="num">([^<]+)</td>\s*'
        r'<td data-label="Column">(?:<code>)?([^<]+)(?:</code>)?</td>\s*'
        r'<td data-label="Problem">([^<]+)</td>',
        table,
    )


def _file_problem(message: str) -> list[tuple[str, str, str]]:
    return [("whole file", "—", message)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "orders.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00",
            f"“orders.xlsx” is not a CSV file: the name must end in .csv, .tsv or .txt; {SAVE_AS}",
        ),
        (
            "orders.csv",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
            f"The file is a workbook or zip archive (.xlsx, .ods, .zip), not CSV text; {SAVE_AS}",
        ),
        (
            "orders.csv",
            (HEADER + "SO-1,Müller,2030-03-31,,BRK-1,5\n").encode("latin-1"),
            "The file is not UTF-8 text (unreadable byte at position 54). "
            "Save it as “CSV UTF-8” and upload it again.",
        ),
        (
            "orders.csv",
            (HEADER + ROW).encode("utf-16"),
            f"The file is UTF-16 text (“Unicode Text”), not UTF-8; {SAVE_AS}",
        ),
        (
            "orders.csv",
            (HEADER + ROW * 1001).encode(),
            "The file has more than 1,000 rows; split it into smaller files.",
        ),
        (
            "orders.csv",
            (HEADER + ROW * (1024 * 1024 // len(ROW) + 1)).encode(),
            "The file is larger than 1 MB; split it into smaller files.",
        ),
    ],
    ids=["wrong-type", "workbook-named-csv", "latin-1", "utf-16", "too-many-rows", "over-1-mb"],
)
def test_a_bad_file_is_refused_with_its_message_and_nothing_is_saved(
    client, tenant, shop, name, content, message
):
    _login(client, tenant)

    response = client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})

    assert response.status_code == 400
    assert "Nothing was imported: 1 problem</h2>" in response.text
    problems = _problems(response)
    if "rows" in message:  # the row after the 1,000th: 1,002 with the header
        assert problems == [("1002", "—", message)]
    else:
        assert problems == _file_problem(message)
    assert _saved(tenant) == (0, 0)


def test_a_request_larger_than_any_acceptable_file_is_refused_unread(
    client, tenant, shop, monkeypatch
):
    # given: a body well over the limit; reading it at all would fail the test
    _login(client, tenant)

    def parse(*args, **kwargs):
        raise AssertionError("the upload was read")

    monkeypatch.setattr("django.http.multipartparser.MultiPartParser.parse", parse)
    content = (HEADER + ROW * (3 * 1024 * 1024 // len(ROW))).encode()

    # when
    response = client.post(IMPORT, {"file": SimpleUploadedFile("orders.csv", content)})

    # then
    assert response.status_code == 413
    assert _problems(response) == _file_problem(
        "The file is larger than 1 MB; split it into smaller files."
    )
    assert _saved(tenant) == (0, 0)


def test_a_too_large_request_still_needs_the_role(client, tenant, shop):
    _login(client, tenant, "viewer")
    content = b"x" * (2 * 1024 * 1024)

    response = client.post(IMPORT, {"file": SimpleUploadedFile("orders.csv", content)})

    assert response.status_code == 403


def test_the_csrf_token_is_still_checked(tenant, shop):
    # The view is exempt from the middleware's check (which would read the body before the
    # size is known) and checks the token itself, after the size.
    client = Client(enforce_csrf_checks=True)
    _login(client, tenant)

    refused = client.post(IMPORT, _upload(GOOD))
    page = client.get(IMPORT)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    accepted = client.post(IMPORT, {**_upload(GOOD), "csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert _saved(tenant) == (2, 3)
