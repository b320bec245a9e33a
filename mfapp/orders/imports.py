"""Orders from a CSV file: every row is checked first, and orders are created (in one
transaction, through `order_create`) only when every row is valid. Otherwise the answer lists
each problem with its row and column, and nothing is saved.

The file: UTF-8 (a byte-order mark is fine), comma-, semicolon- or tab-separated, a header row
naming the columns (any order, any case), at most 1 MB and 1,000 rows, named .csv, .tsv or
.txt. Rows with the same order number form one order with one line per row (at most 100); a
row without a number is an order of its own with the next automatic number. Row numbers are
those a spreadsheet shows: the header is row 1.

A file that is not CSV text (a workbook, a PDF, an image, UTF-16 or another encoding, control
characters) is refused as a whole, before any row is read.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import IO, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mfapp.catalog.models import Product
from mfapp.catalog.selectors import product_list
from mfapp.core.exceptions import ApplicationError
from mfapp.orders.models import Order
from mfapp.orders.selectors import customer_list, order_list
from mfapp.orders.services import MAX_LINES_PER_ORDER, order_create
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import Tenant
from mfapp.tenancy.permissions import require_permission
from mfapp.tenancy.selectors import site_list

MAX_BYTES = 1024 * 1024
MAX_ROWS = 1_000  # created inside the request: about 5 s for 1,000 one-line orders
EXTENSIONS = (".csv", ".tsv", ".txt")
TOO_LARGE = "The file is larger than 1 MB; split it into smaller files."
SAVE_AS_CSV = "export it from your spreadsheet as “CSV UTF-8” and upload that"
# What a file starts with when it is something else than text (a sniff, not a parse).
BINARY_SIGNATURES = (
    (b"PK\x03\x04", "a workbook or zip archive (.xlsx, .ods, .zip)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
)
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_UNITS = 2_147_483_647  # a PositiveIntegerField, whatever the database
NUMBER_MAX_LENGTH = Order._meta.get_field("number").max_length
PRIORITIES = {label.lower(): value for value, label in Order.Priority.choices}


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    description: str
    example: str


COLUMNS = (
    Column(
        "number",
        False,
        "Order number. Rows with the same number form one order; empty: the next number.",
        "SO-1001",
    ),
    Column(
        "customer",
        True,
        "An existing customer's name (any case) or external reference.",
        "Bike Shop Berlin",
    ),
    Column("due_date", True, "Due date as YYYY-MM-DD.", "2030-03-31"),
    Column("priority", False, "1-4 or low, normal, high, urgent; empty: normal.", "normal"),
    Column("sku", True, "The SKU of an active product.", "BRK-001"),
    Column("quantity", True, "Units of that product, a whole number of at least 1.", "25"),
    Column(
        "unit_price", False, "Price per unit, e.g. 12.50 or 12,50; empty: the product's price.", ""
    ),
    Column("site", False, "Site name; may be empty when the business has one site.", ""),
    Column("notes", False, "Notes on the order.", ""),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)
REQUIRED = tuple(column.name for column in COLUMNS if column.required)
# What every row of one order must agree on.
ORDER_COLUMNS = ("customer", "due_date", "priority", "site", "notes")


@dataclass(frozen=True)
class RowError:
    """One problem. `row` is the spreadsheet row (header = 1), None for the whole file;
    `column` is None when the problem is not about one column."""

    row: int | None
    column: str | None
    message: str


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    row_count: int = 0
    line_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    row: int
    number: str
    order: dict[str, Any]  # customer_id, due_date, priority, site_id, notes (when valid)
    line: dict[str, Any]  # product_id, quantity, unit_price (when valid)


def orders_import_csv(*, actor: Actor, file: IO[bytes]) -> ImportResult:
    """Check every row of the CSV `file`; create its orders only if every row is valid."""
    require_permission(actor, "orders.manage")
    try:
        records, errors = _read(file)
    except _FileRefused as exc:
        return ImportResult(errors=[exc.error])
    if any(error.row in (None, 1) for error in errors):  # the header is wrong: stop here
        return ImportResult(errors=errors, row_count=len(records))
    rows, row_errors = _validate(actor, records)
    errors = sorted([*errors, *row_errors], key=_position)
    if errors:
        return ImportResult(errors=errors, row_count=len(records))
    return _create(actor, rows)


# --- reading the file --------------------------------------------------------------------------
class _FileRefused(Exception):
    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.error = RowError(row, None, message)


def _read(file: IO[bytes]) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The data rows as (row number, {column: stripped value}) and the problems of the header
    and of rows with too many values; a file that cannot be read raises _FileRefused."""
    text = _text(file)
    records: list[tuple[int, dict[str, str]]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
        header = [name.strip().lower() for name in next(reader)]
        errors = _header_errors(header)
        if errors:
            return [], errors
        for row, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue  # blank lines, e.g. at the end of the file
            if len(records) == MAX_ROWS:
                raise _FileRefused(
                    f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.",
                    row=row,
                )
            if any(value.strip() for value in values[len(header) :]):
                errors.append(
                    RowError(
                        row,
                        None,
                        f"This row has {len(values)} values but the header names "
                        f"{len(header)} columns.",
                    )
                )
            values = values + [""] * (len(header) - len(values))
            records.append((row, {n: v.strip() for n, v in zip(header, values, strict=False)}))
    except csv.Error as exc:
        raise _FileRefused(f"The file is not valid CSV: {exc}.") from None
    if not records:
        raise _FileRefused("The file has a header but no rows.")
    return records, errors


def _text(file: IO[bytes]) -> str:
    """The file's text, once its name, size and first bytes say it is CSV text."""
    name = getattr(file, "name", None) or ""
    if name and not name.lower().endswith(EXTENSIONS):
        raise _FileRefused(
            f"“{name}” is not a CSV file: the name must end in .csv, .tsv or .txt; {SAVE_AS_CSV}."
        )
    size = getattr(file, "size", None)
    if size is not None and size > MAX_BYTES:
        raise _FileRefused(TOO_LARGE)
    data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _FileRefused(TOO_LARGE)
    for signature, kind in BINARY_SIGNATURES:
        if data.startswith(signature):
            raise _FileRefused(f"The file is {kind}, not CSV text; {SAVE_AS_CSV}.")
    if data.startswith(UTF16_BOMS):
        raise _FileRefused(f"The file is UTF-16 text (“Unicode Text”), not UTF-8; {SAVE_AS_CSV}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileRefused(
            f"The file is not UTF-8 text (unreadable byte at position {exc.start + 1}). "
            "Save it as “CSV UTF-8” and upload it again."
        ) from None
    if not text.strip():
        raise _FileRefused("The file is empty.")
    if "\x00" in text:
        raise _FileRefused(
            "The file is not CSV text (it contains NUL characters); export it from your "
            "spreadsheet as “CSV UTF-8”."
        )
    control = CONTROL_CHARACTERS.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise _FileRefused(
            f"The file is not CSV text (a control character, U+{ord(control.group()):04X}, "
            f"on line {line}); {SAVE_AS_CSV}."
        )
    return text


def _delimiter(text: str) -> str:
    """Comma, semicolon (spreadsheets in many European locales) or tab: whichever the header
    row uses most."""
    header = text.split("\n", 1)[0]
    return max(",;\t", key=header.count) if any(c in header for c in ",;\t") else ","


def _header_errors(header: list[str]) -> list[RowError]:
    errors = []
    seen = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, f"The column “{name}” appears twice."))
        elif name not in COLUMN_NAMES:
            errors.append(
                RowError(
                    1,
                    name or None,
                    f"Unknown column “{name}”. The columns are: {', '.join(COLUMN_NAMES)}.",
                )
            )
        seen.add(name)
    for name in REQUIRED:
        if name not in header:
            errors.append(RowError(1, name, f"The column “{name}” is missing."))
    return errors


def _position(error: RowError) -> tuple[int, int]:
    column = COLUMN_NAMES.index(error.column) if error.column in COLUMN_NAMES else -1
    return (error.row or 0, column)


# --- checking the rows ---------------------------------------------------------------------------
class _Lookups:
    """Everything the rows refer to, read in a fixed number of queries."""

    def __init__(self, actor: Actor, records: list[tuple[int, dict[str, str]]]) -> None:
        tenant = actor.tenant
        skus = {values.get("sku", "") for _, values in records} - {""}
        self.products: dict[str, Product] = {
            p.sku: p for p in product_list(tenant=tenant).filter(sku__in=skus)
        }
        self.customers_by_ref: dict[str, int] = {}
        self.customers_by_name: dict[str, list[int]] = {}
        for pk, name, ref in customer_list(tenant=tenant).values_list("pk", "name", "external_ref"):
            if ref:
                self.customers_by_ref[ref] = pk
            self.customers_by_name.setdefault(name.strip().casefold(), []).append(pk)
        self.sites = {
            name.strip().casefold(): (pk, name)
            for pk, name in site_list(tenant=tenant).values_list("pk", "name")
        }
        numbers = {values.get("number", "") for _, values in records} - {""}
        self.taken_numbers = set(
            order_list(tenant=tenant).filter(number__in=numbers).values_list("number", flat=True)
        )


def _validate(
    actor: Actor, records: list[tuple[int, dict[str, str]]]
) -> tuple[list[_Row], list[RowError]]:
    lookups = _Lookups(actor, records)
    rows: list[_Row] = []
    errors: list[RowError] = []
    if not lookups.sites:
        return [], [RowError(None, None, "This business has no site yet; add a site first.")]
    for row, values in records:
        problems: list[tuple[str, str]] = []
        order = _order_fields(values, lookups, problems)
        line = _line_fields(values, lookups, problems)
        number = values.get("number", "")
        if len(number) > NUMBER_MAX_LENGTH:
            problems.append(("number", f"At most {NUMBER_MAX_LENGTH} characters."))
        errors.extend(RowError(row, column, message) for column, message in problems)
        rows.append(_Row(row=row, number=number, order=order, line=line))
    errors.extend(_order_errors(rows, lookups))
    return rows, errors


def _order_fields(
    values: dict[str, str], lookups: _Lookups, problems: list[tuple[str, str]]
) -> dict[str, Any]:
    fields: dict[str, Any] = {"notes": values.get("notes", "")}
    customer = values.get("customer", "")
    if not customer:
        problems.append(("customer", "Enter the customer."))
    elif customer in lookups.customers_by_ref:
        fields["customer_id"] = lookups.customers_by_ref[customer]
    else:
        matches = lookups.customers_by_name.get(customer.casefold(), [])
        if len(matches) == 1:
            fields["customer_id"] = matches[0]
        elif matches:
            problems.append(
                (
                    "customer",
                    f"{len(matches)} customers are called “{customer}”; "
                    "use the customer's external reference instead.",
                )
            )
        else:
            problems.append(("customer", f"Unknown customer “{customer}”; add the customer first."))
    due = values.get("due_date", "")
    if not due:
        problems.append(("due_date", "Enter the due date."))
    else:
        try:
            fields["due_date"] = date.fromisoformat(due)
        except ValueError:
            problems.append(
                ("due_date", f"“{due}” is not a date; use YYYY-MM-DD, e.g. 2030-03-31.")
            )
    priority = values.get("priority", "").casefold()
    if not priority:
        fields["priority"] = Order.Priority.NORMAL
    elif priority in PRIORITIES:
        fields["priority"] = PRIORITIES[priority]
    elif priority in {str(value) for value in Order.Priority.values}:
        fields["priority"] = int(priority)
    else:
        problems.append(
            (
                "priority",
                f"“{values['priority']}” is not a priority; use 1-4 or low, normal, high, urgent.",
            )
        )
    site = values.get("site", "")
    if site:
        if site.casefold() in lookups.sites:
            fields["site_id"] = lookups.sites[site.casefold()][0]
        else:
            problems.append(("site", f"Unknown site “{site}”."))
    elif len(lookups.sites) == 1:
        fields["site_id"] = next(iter(lookups.sites.values()))[0]
    else:
        names = ", ".join(name for _, name in sorted(lookups.sites.values(), key=lambda s: s[1]))
        problems.append(("site", f"Name the site; this business has several: {names}."))
    return fields


def _line_fields(
    values: dict[str, str], lookups: _Lookups, problems: list[tuple[str, str]]
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    sku = values.get("sku", "")
    product = lookups.products.get(sku)
    if not sku:
        problems.append(("sku", "Enter the SKU."))
    elif product is None:
        problems.append(("sku", f"Unknown SKU “{sku}”."))
    elif not product.is_active:
        problems.append(("sku", f"Product {sku} is discontinued; it cannot be ordered."))
    else:
        fields["product_id"] = product.pk
    quantity = values.get("quantity", "")
    if not quantity:
        problems.append(("quantity", "Enter the quantity."))
    else:
        try:
            units = int(quantity)
        except ValueError:
            problems.append(("quantity", f"“{quantity}” is not a whole number."))
        else:
            if units < 1:
                problems.append(("quantity", "The quantity must be at least 1."))
            elif units > MAX_UNITS:
                problems.append(("quantity", f"The quantity must be at most {MAX_UNITS:,}."))
            else:
                fields["quantity"] = units
    price = values.get("unit_price", "")
    if price:
        if "," in price and "." not in price:
            price = price.replace(",", ".")  # a decimal comma, as many locales write it
        try:
            fields["unit_price"] = _PRICE.clean(price)
        except ValidationError as exc:
            problems.append(("unit_price", " ".join(exc.messages)))
    return fields


_PRICE = forms.DecimalField(min_value=Decimal("0"), max_digits=12, decimal_places=2)


def _order_errors(rows: list[_Row], lookups: _Lookups) -> Iterable[RowError]:
    """Numbers already used, orders with too many lines, and rows of one order that disagree
    on the order's facts."""
    first_of: dict[str, _Row] = {}
    lines: dict[str, int] = {}
    for row in rows:
        if not row.number:
            continue
        first = first_of.setdefault(row.number, row)
        lines[row.number] = lines.get(row.number, 0) + 1
        if lines[row.number] == MAX_LINES_PER_ORDER + 1:
            yield RowError(
                row.row,
                "number",
                f"Order {row.number} has more than {MAX_LINES_PER_ORDER} lines (one per row); "
                "split it into several orders.",
            )
        if first is row:
            if row.number in lookups.taken_numbers:
                yield RowError(row.row, "number", f"Order {row.number} exists already.")
            continue
        for column in ORDER_COLUMNS:
            key = {"customer": "customer_id", "site": "site_id"}.get(column, column)
            mine, theirs = row.order.get(key), first.order.get(key)
            if mine is not None and theirs is not None and mine != theirs:
                yield RowError(
                    row.row,
                    column,
                    f"Differs from row {first.row}, the first row of order {row.number}.",
                )


# --- creating the orders -------------------------------------------------------------------------
class _Refused(Exception):
    pass


def _create(actor: Actor, rows: list[_Row]) -> ImportResult:
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.number or f"\0{row.row}", []).append(row)
    # Explicit numbers first, so an automatic number never takes one the file names.
    ordered = sorted(groups.values(), key=lambda group: not group[0].number)
    result = ImportResult(row_count=len(rows), line_count=len(rows))
    try:
        with transaction.atomic():
            for group in ordered:
                first = group[0]
                try:
                    order = order_create(
                        actor=actor,
                        number=first.number or None,
                        lines=[row.line for row in group],
                        **first.order,
                    )
                except ApplicationError as exc:
                    result.errors.append(RowError(first.row, None, exc.message))
                    raise _Refused from None
                except IntegrityError:
                    result.errors.append(
                        RowError(
                            first.row,
                            "number",
                            "Another order with this number was saved at the same time; "
                            "upload the file again.",
                        )
                    )
                    raise _Refused from None
                result.orders.append(order)
    except _Refused:
        result.orders = []
        result.line_count = 0
    return result


# --- the example file ----------------------------------------------------------------------------
def orders_import_example_csv(*, tenant: Tenant) -> str:
    """A file to start from: two orders with three lines, using the business's own customer,
    products and site where it has them (else placeholders)."""
    products = list(product_list(tenant=tenant, active=True)[:2])
    skus = [p.sku for p in products] or ["BRK-001", "HOOK-002"]
    customer = customer_list(tenant=tenant).first()
    sites = list(site_list(tenant=tenant)[:2])
    due = timezone.localdate() + timedelta(days=14)
    common = {
        "customer": customer.name if customer else "Bike Shop Berlin",
        "due_date": due.isoformat(),
        "site": sites[0].name if len(sites) > 1 else "",
    }
    rows = [
        {
            **common,
            "number": "EXAMPLE-1",
            "priority": "high",
            "sku": skus[0],
            "quantity": "25",
            "notes": "Two lines of one order",
        },
        {
            **common,
            "number": "EXAMPLE-1",
            "priority": "high",
            "sku": skus[-1],
            "quantity": "10",
            "notes": "Two lines of one order",
        },
        {
            **common,
            "number": "EXAMPLE-2",
            "priority": "normal",
            "sku": skus[0],
            "quantity": "5",
            "unit_price": "11.90",
        },
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMN_NAMES, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
