"""orders_import_csv: every row is checked first; orders are created only when all are valid."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from mfapp.core.exceptions import PermissionDenied
from mfapp.orders.imports import (
    MAX_BYTES,
    MAX_ROWS,
    RowError,
    orders_import_csv,
    orders_import_example_csv,
)
from mfapp.orders.models import Customer, Order, OrderLine
from mfapp.orders.services import MAX_LINES_PER_ORDER
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    ProductFactory,
    SiteFactory,
    audit_events,
    member_actor,
)

HEADER = "number,customer,due_date,priority,sku,quantity\n"


@pytest.fixture
def shop(tenant):
    """One site, two customers and three products (one discontinued) of `tenant`."""
    return {
        "site": SiteFactory(tenant=tenant, name="Berlin"),
        "bikes": CustomerFactory(tenant=tenant, name="Bike Shop", external_ref="C-7"),
        "cafe": CustomerFactory(tenant=tenant, name="Café Nord"),
        "bracket": ProductFactory(tenant=tenant, sku="BRK-1", unit_price=Decimal("4.20")),
        "hook": ProductFactory(tenant=tenant, sku="HOOK-2", unit_price=Decimal("1.10")),
        "old": ProductFactory(tenant=tenant, sku="OLD-9", is_active=False),
    }


def _file(text: str, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def _import(tenant, text: str, role: str = "manager"):
    return orders_import_csv(actor=member_actor(tenant, role), file=_file(text))


def _nothing_saved(tenant) -> bool:
    return (
        Order.objects.for_tenant(tenant).count() == 0
        and OrderLine.objects.for_tenant(tenant).count() == 0
    )


def test_a_good_file_creates_exactly_its_two_orders_and_three_lines(tenant, shop):
    # given
    text = (
        HEADER + "SO-1,Bike Shop,2030-03-31,high,BRK-1,25\n"
        "SO-1,Bike Shop,2030-03-31,high,HOOK-2,10\n"
        "SO-2,café nord,2030-04-15,,BRK-1,5\n"
    )

    # when
    result = _import(tenant, text)

    # then
    assert result.ok
    assert (result.row_count, result.line_count, len(result.orders)) == (3, 3, 2)
    orders = list(Order.objects.for_tenant(tenant).order_by("number"))
    assert [
        (o.number, o.customer_id, o.site_id, o.due_date, o.priority, o.status) for o in orders
    ] == [
        ("SO-1", shop["bikes"].pk, shop["site"].pk, date(2030, 3, 31), 3, "draft"),
        ("SO-2", shop["cafe"].pk, shop["site"].pk, date(2030, 4, 15), 2, "draft"),
    ]
    lines = OrderLine.objects.for_tenant(tenant).order_by("id")
    assert [
        (line.order.number, line.product.sku, line.quantity, line.unit_price) for line in lines
    ] == [
        ("SO-1", "BRK-1", 25, Decimal("4.20")),
        ("SO-1", "HOOK-2", 10, Decimal("1.10")),
        ("SO-2", "BRK-1", 5, Decimal("4.20")),
    ]
    assert {o.pk for o in result.orders} == {o.pk for o in orders}
    assert len(audit_events(tenant, verb="order.created")) == 2


def test_a_single_bad_row_saves_nothing(tenant, shop):
    # given: three good rows and one with an unknown SKU
    text = (
        HEADER + "SO-1,Bike Shop,2030-03-31,high,BRK-1,25\n"
        "SO-1,Bike Shop,2030-03-31,high,HOOK-2,10\n"
        "SO-2,Bike Shop,2030-04-15,,NOPE,5\n"
        "SO-3,Bike Shop,2030-04-15,,BRK-1,5\n"
    )

    # when
    result = _import(tenant, text)

    # then
    assert not result.ok
    assert result.errors == [RowError(4, "sku", "Unknown SKU “NOPE”.")]
    assert (result.orders, result.row_count) == ([], 4)
    assert _nothing_saved(tenant)
    assert audit_events(tenant, verb="order.created") == []


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (
            "SO-1,Bike Shop,31.03.2030,,BRK-1,5",
            "due_date",
            "“31.03.2030” is not a date; use YYYY-MM-DD, e.g. 2030-03-31.",
        ),
        (
            "SO-1,Bike Shop,2030-02-30,,BRK-1,5",
            "due_date",
            "“2030-02-30” is not a date; use YYYY-MM-DD, e.g. 2030-03-31.",
        ),
        ("SO-1,Bike Shop,,,BRK-1,5", "due_date", "Enter the due date."),
        ("SO-1,Bike Shop,2030-03-31,,BRK-1,0", "quantity", "The quantity must be at least 1."),
        ("SO-1,Bike Shop,2030-03-31,,BRK-1,-3", "quantity", "The quantity must be at least 1."),
        ("SO-1,Bike Shop,2030-03-31,,BRK-1,2.5", "quantity", "“2.5” is not a whole number."),
        ("SO-1,Bike Shop,2030-03-31,,BRK-1,", "quantity", "Enter the quantity."),
        (
            "SO-1,Bike Shop,2030-03-31,,BRK-1,9999999999",
            "quantity",
            "The quantity must be at most 2,147,483,647.",
        ),
        (
            "SO-1,Nobody,2030-03-31,,BRK-1,5",
            "customer",
            "Unknown customer “Nobody”; add the customer first.",
        ),
        ("SO-1,,2030-03-31,,BRK-1,5", "customer", "Enter the customer."),
        (
            "SO-1,Bike Shop,2030-03-31,asap,BRK-1,5",
            "priority",
            "“asap” is not a priority; use 1-4 or low, normal, high, urgent.",
        ),
        (
            "SO-1,Bike Shop,2030-03-31,5,BRK-1,5",
            "priority",
            "“5” is not a priority; use 1-4 or low, normal, high, urgent.",
        ),
        (
            "SO-1,Bike Shop,2030-03-31,,OLD-9,5",
            "sku",
            "Product OLD-9 is discontinued; it cannot be ordered.",
        ),
        ("SO-1,Bike Shop,2030-03-31,,,5", "sku", "Enter the SKU."),
        (f"{'N' * 41},Bike Shop,2030-03-31,,BRK-1,5", "number", "At most 40 characters."),
    ],
)
def test_each_invalid_value_is_reported_with_its_row_and_column(tenant, shop, row, column, message):
    result = _import(tenant, HEADER + "SO-9,Bike Shop,2030-03-31,,BRK-1,1\n" + row + "\n")

    assert result.errors == [RowError(3, column, message)]
    assert _nothing_saved(tenant)


def test_every_problem_is_reported_in_one_pass_in_row_and_column_order(tenant, shop):
    text = HEADER + "SO-1,Nobody,2030-13-01,,BRK-1,0\nSO-2,Bike Shop,2030-03-31,,NOPE,x\n"

    result = _import(tenant, text)

    assert [(e.row, e.column) for e in result.errors] == [
        (2, "customer"),
        (2, "due_date"),
        (2, "quantity"),
        (3, "sku"),
        (3, "quantity"),
    ]
    assert _nothing_saved(tenant)


def test_an_order_number_that_exists_already_is_refused(tenant, shop):
    OrderFactory(tenant=tenant, number="SO-1", site=shop["site"])

    result = _import(tenant, HEADER + "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n")

    assert result.errors == [RowError(2, "number", "Order SO-1 exists already.")]
    assert Order.objects.for_tenant(tenant).count() == 1
    assert OrderLine.objects.for_tenant(tenant).count() == 0


def test_another_tenants_order_number_customer_and_sku_are_not_seen(tenant, other_tenant, shop):
    # given: the other tenant has the number SO-1, a customer "Globex" and a SKU "GX-1"
    OrderFactory(tenant=other_tenant, number="SO-1")
    CustomerFactory(tenant=other_tenant, name="Globex")
    ProductFactory(tenant=other_tenant, sku="GX-1")

    # when
    result = _import(
        tenant,
        HEADER + "SO-1,Globex,2030-03-31,,BRK-1,5\nSO-2,Bike Shop,2030-03-31,,GX-1,5\n",
    )

    # then: SO-1 is free here; the other tenant's customer and product are unknown
    assert result.errors == [
        RowError(2, "customer", "Unknown customer “Globex”; add the customer first."),
        RowError(3, "sku", "Unknown SKU “GX-1”."),
    ]
    assert _nothing_saved(tenant)


def test_rows_of_one_order_must_agree_on_the_order(tenant, shop):
    text = (
        HEADER + "SO-1,Bike Shop,2030-03-31,high,BRK-1,25\n"
        "SO-1,Café Nord,2030-04-01,high,HOOK-2,10\n"
    )

    result = _import(tenant, text)

    assert result.errors == [
        RowError(3, "customer", "Differs from row 2, the first row of order SO-1."),
        RowError(3, "due_date", "Differs from row 2, the first row of order SO-1."),
    ]
    assert _nothing_saved(tenant)


@pytest.mark.parametrize(
    ("header", "errors"),
    [
        (
            "number,customer,due_date,sku\n",
            [RowError(1, "quantity", "The column “quantity” is missing.")],
        ),
        (
            "customer,due_date,sku,qty\n",
            [
                RowError(
                    1,
                    "qty",
                    "Unknown column “qty”. The columns are: number, customer, due_date, "
                    "priority, sku, quantity, unit_price, site, notes.",
                ),
                RowError(1, "quantity", "The column “quantity” is missing."),
            ],
        ),
        (
            "customer,due_date,sku,quantity,sku\n",
            [RowError(1, "sku", "The column “sku” appears twice.")],
        ),
    ],
)
def test_missing_unknown_and_repeated_columns_are_reported(tenant, shop, header, errors):
    result = _import(tenant, header + "Bike Shop,2030-03-31,BRK-1,5\n")

    assert result.errors == errors
    assert _nothing_saved(tenant)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            (HEADER + "SO-1,Müller,2030-03-31,,BRK-1,5\n").encode("latin-1"),
            "The file is not UTF-8 text (unreadable byte at position 54). "
            "Save it as “CSV UTF-8” and upload it again.",
        ),
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        (HEADER.encode(), "The file has a header but no rows."),
        (
            HEADER.encode() + b"SO-1,Bike Shop,2030-03-31,,BRK-1,5\x00\n",
            "The file is not CSV text (it contains NUL characters); export it from your "
            "spreadsheet as “CSV UTF-8”.",
        ),
    ],
)
def test_an_unreadable_file_is_refused_as_a_whole(tenant, shop, content, message):
    result = orders_import_csv(
        actor=member_actor(tenant), file=SimpleUploadedFile("orders.csv", content)
    )

    assert result.errors == [RowError(None, None, message)]
    assert _nothing_saved(tenant)


def test_a_file_over_1_mb_is_refused_without_reading_it_all(tenant, shop):
    row = "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n"
    content = (HEADER + row * (MAX_BYTES // len(row) + 1)).encode()
    stream = io.BytesIO(content)  # no .size: the service reads at most 1 MB + 1 byte

    result = orders_import_csv(actor=member_actor(tenant), file=stream)

    assert result.errors == [
        RowError(None, None, "The file is larger than 1 MB; split it into smaller files.")
    ]
    assert stream.tell() == MAX_BYTES + 1
    assert _nothing_saved(tenant)


def test_more_than_1000_rows_are_refused(tenant, shop):
    text = HEADER + "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n" * (MAX_ROWS + 1)

    result = _import(tenant, text)

    assert result.errors == [
        RowError(
            MAX_ROWS + 2, None, "The file has more than 1,000 rows; split it into smaller files."
        )
    ]
    assert _nothing_saved(tenant)


def test_1000_rows_are_within_the_limit(tenant, shop):
    # given: 1,000 rows (ten orders of 100 lines), the last one invalid (so the check runs but
    # nothing is created)
    text = HEADER + "".join(
        f"SO-{n // 100},Bike Shop,2030-03-31,,BRK-1,5\n" for n in range(MAX_ROWS - 1)
    )
    text += "SO-9,Bike Shop,2030-03-31,,BRK-1,0\n"

    # when
    result = _import(tenant, text)

    # then: the only problem is that row's quantity, not the number of rows
    assert result.errors == [RowError(MAX_ROWS + 1, "quantity", "The quantity must be at least 1.")]
    assert result.row_count == MAX_ROWS


def test_a_row_with_more_values_than_columns_is_reported(tenant, shop):
    result = _import(tenant, HEADER + "SO-1,Bike Shop,2030-03-31,,BRK-1,5,oops\n")

    assert result.errors == [
        RowError(2, None, "This row has 7 values but the header names 6 columns.")
    ]
    assert _nothing_saved(tenant)


def test_semicolons_a_byte_order_mark_blank_lines_and_any_column_order_are_fine(tenant, shop):
    text = (
        "\ufeffSKU;Quantity;Customer;Due_Date;Unit_Price;Notes\n"
        "BRK-1;3;C-7;2030-03-31;3,50;x\n"  # the customer by its external reference
        "\n"
        "HOOK-2;4;Bike Shop;2030-03-31;;\n"
    )

    assert _import(tenant, text.replace("3,50", "3.5x")).errors == [
        RowError(2, "unit_price", "Enter a number.")
    ]
    result = _import(tenant, text)

    assert result.ok
    lines = OrderLine.objects.for_tenant(tenant).order_by("id")
    assert [
        (line.product.sku, line.quantity, line.unit_price, line.order.notes) for line in lines
    ] == [
        ("BRK-1", 3, Decimal("3.50"), "x"),
        ("HOOK-2", 4, Decimal("1.10"), ""),
    ]


def test_rows_without_a_number_are_orders_of_their_own_after_the_named_ones(tenant, shop):
    # given: the next automatic number would be ...-00001, which the file names explicitly
    year = timezone.now().year
    text = (
        HEADER + f",Bike Shop,2030-03-31,,BRK-1,1\n"
        f",Bike Shop,2030-03-31,,HOOK-2,2\n"
        f"SO-{year}-00001,Bike Shop,2030-03-31,,BRK-1,3\n"
    )

    # when
    result = _import(tenant, text)

    # then
    assert result.ok
    numbers = dict(OrderLine.objects.for_tenant(tenant).values_list("quantity", "order__number"))
    assert numbers == {
        3: f"SO-{year}-00001",
        1: f"SO-{year}-00002",
        2: f"SO-{year}-00003",
    }


def test_with_several_sites_the_site_column_is_needed(tenant, shop):
    SiteFactory(tenant=tenant, name="Lyon")
    header = "customer,due_date,sku,quantity,site\n"

    result = _import(
        tenant,
        header + "Bike Shop,2030-03-31,BRK-1,1,\nBike Shop,2030-03-31,BRK-1,1,Paris\n"
        "Bike Shop,2030-03-31,BRK-1,1,lyon\n",
    )

    assert result.errors == [
        RowError(2, "site", "Name the site; this business has several: Berlin, Lyon."),
        RowError(3, "site", "Unknown site “Paris”."),
    ]
    assert _nothing_saved(tenant)


def test_two_customers_with_the_same_name_are_ambiguous(tenant, shop):
    CustomerFactory(tenant=tenant, name="bike shop")

    result = _import(tenant, HEADER + "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n")

    assert result.errors == [
        RowError(
            2,
            "customer",
            "2 customers are called “Bike Shop”; use the customer's external reference instead.",
        )
    ]


def test_a_business_without_a_site_cannot_import(tenant):
    CustomerFactory(tenant=tenant, name="Bike Shop")
    ProductFactory(tenant=tenant, sku="BRK-1")

    result = _import(tenant, HEADER + "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n")

    assert result.errors == [
        RowError(None, None, "This business has no site yet; add a site first.")
    ]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_owners_and_managers_import(tenant, shop, role):
    with pytest.raises(PermissionDenied):
        _import(tenant, HEADER + "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n", role=role)

    assert _nothing_saved(tenant)


def test_checking_a_large_file_takes_a_fixed_number_of_queries(
    tenant, shop, django_assert_max_num_queries
):
    rows = "".join(f"SO-{n},Bike Shop,2030-03-31,,NOPE-{n},5\n" for n in range(300))
    actor = member_actor(tenant)

    with django_assert_max_num_queries(4):
        result = orders_import_csv(actor=actor, file=_file(HEADER + rows))

    assert len(result.errors) == 300


def test_the_example_file_imports_as_two_orders_with_three_lines(tenant, shop):
    # given: the example uses the business's own customer, products and (single) site
    text = orders_import_example_csv(tenant=tenant)

    # when
    result = _import(tenant, text)

    # then
    assert (
        text.splitlines()[0]
        == "number,customer,due_date,priority,sku,quantity,unit_price,site,notes"
    )
    assert result.ok
    assert sorted(
        OrderLine.objects.for_tenant(tenant).values_list(
            "order__number", "product__sku", "quantity"
        )
    ) == [("EXAMPLE-1", "BRK-1", 25), ("EXAMPLE-1", "HOOK-2", 10), ("EXAMPLE-2", "BRK-1", 5)]
    assert Customer.objects.for_tenant(tenant).count() == 2  # no customer was created


GOOD_ROW = "SO-1,Bike Shop,2030-03-31,,BRK-1,5\n"
SAVE_AS = "export it from your spreadsheet as “CSV UTF-8” and upload that."


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "orders.xlsx",
            (HEADER + GOOD_ROW).encode(),
            f"“orders.xlsx” is not a CSV file: the name must end in .csv, .tsv or .txt; {SAVE_AS}",
        ),
        (
            "orders",
            (HEADER + GOOD_ROW).encode(),
            f"“orders” is not a CSV file: the name must end in .csv, .tsv or .txt; {SAVE_AS}",
        ),
        (
            "orders.csv",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
            f"The file is a workbook or zip archive (.xlsx, .ods, .zip), not CSV text; {SAVE_AS}",
        ),
        (
            "orders.csv",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            f"The file is an old Excel workbook (.xls), not CSV text; {SAVE_AS}",
        ),
        (
            "orders.csv",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
            f"The file is a PDF document, not CSV text; {SAVE_AS}",
        ),
        (
            "orders.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            f"The file is a PNG image, not CSV text; {SAVE_AS}",
        ),
        (
            "orders.txt",
            (HEADER + GOOD_ROW).encode("utf-16"),
            f"The file is UTF-16 text (“Unicode Text”), not UTF-8; {SAVE_AS}",
        ),
        (
            "orders.csv",
            (HEADER + "SO-1,Bike Shop,2030-03-31,,BRK-1,5\x1b[0m\n").encode(),
            f"The file is not CSV text (a control character, U+001B, on line 2); {SAVE_AS}",
        ),
    ],
    ids=["xlsx-name", "no-extension", "xlsx", "xls", "pdf", "png", "utf-16", "control"],
)
def test_a_file_that_is_not_csv_text_is_refused_before_any_row(
    tenant, shop, name, content, message
):
    result = orders_import_csv(actor=member_actor(tenant), file=SimpleUploadedFile(name, content))

    assert result.errors == [RowError(None, None, message)]
    assert result.row_count == 0
    assert _nothing_saved(tenant)


@pytest.mark.parametrize("name", ["orders.csv", "ORDERS.CSV", "orders.tsv", "orders.txt"])
def test_csv_tsv_and_txt_names_are_read(tenant, shop, name):
    text = HEADER.replace(",", "\t") + GOOD_ROW.replace(",", "\t")

    result = orders_import_csv(
        actor=member_actor(tenant), file=SimpleUploadedFile(name, text.encode())
    )

    assert result.ok, result.errors
    assert Order.objects.for_tenant(tenant).count() == 1


def test_an_order_of_more_than_100_rows_is_refused_at_its_101st_row(tenant, shop):
    # given: SO-1 has 101 rows (lines), SO-2 has one
    text = HEADER + GOOD_ROW * (MAX_LINES_PER_ORDER + 1) + GOOD_ROW.replace("SO-1", "SO-2")

    # when
    result = _import(tenant, text)

    # then: one problem, on the row that is one too many (the header is row 1)
    assert result.errors == [
        RowError(
            MAX_LINES_PER_ORDER + 2,
            "number",
            "Order SO-1 has more than 100 lines (one per row); split it into several orders.",
        )
    ]
    assert _nothing_saved(tenant)
