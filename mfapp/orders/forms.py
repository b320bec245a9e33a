"""Forms of the order pages. They check what a person typed; the services check the rules."""

from decimal import Decimal
from typing import Any

from django import forms

from mfapp.core.fields import country_code_validator
from mfapp.orders.models import Order
from mfapp.orders.services import MAX_LINES_PER_ORDER

MAX_UNITS = 2_147_483_647  # a PositiveIntegerField, whatever the database
MAX_LINES = MAX_LINES_PER_ORDER
Choices = list[tuple[Any, str]]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


CUSTOMER_SELECT_MAX = 200


class OrderFilterForm(forms.Form):
    """The list's filters (GET). Every field is optional; an invalid one is shown, not used."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Number or customer"}),
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "All statuses"), *Order.Status.choices]
    )
    customer = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    due_from = forms.DateField(label="Due from", required=False, widget=DateInput())
    due_to = forms.DateField(label="Due to", required=False, widget=DateInput())
    late = forms.BooleanField(label="Late only", required=False)

    def __init__(self, *args: Any, customer_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "All customers"), *customer_choices]
        if len(customer_choices) > CUSTOMER_SELECT_MAX:
            # A list of thousands is no way to pick one (and took 60 ms to render): the search
            # box finds customers by name, and a link with ?customer=<id> still filters.
            self.fields["customer"].widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        due_from, due_to = cleaned.get("due_from"), cleaned.get("due_to")
        if due_from and due_to and due_from > due_to:
            self.add_error("due_to", "Due to must be on or after due from.")
        return cleaned


class OrderForm(forms.Form):
    """A new order's facts. The customer is an existing one, or a new one typed in below
    (the service creates it together with the order)."""

    customer = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        help_text="Or leave this on “New customer” and fill in the customer below.",
    )
    new_customer_name = forms.CharField(label="New customer's name", required=False, max_length=200)
    new_customer_email = forms.EmailField(label="New customer's email", required=False)
    new_customer_country = forms.CharField(
        label="New customer's country",
        required=False,
        max_length=2,
        help_text="Two-letter code, e.g. DE.",
    )
    site = forms.TypedChoiceField(
        coerce=int, help_text="The microfactory that makes and ships this order."
    )
    due_date = forms.DateField(widget=DateInput())
    priority = forms.TypedChoiceField(
        coerce=int, choices=Order.Priority.choices, initial=Order.Priority.NORMAL
    )
    number = forms.CharField(
        label="Order number",
        required=False,
        max_length=40,
        help_text="Leave empty for the next number in the SO-YYYY-NNNNN series.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(
        self, *args: Any, customer_choices: Choices, site_choices: Choices, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "New customer"), *customer_choices]
        self.fields["site"].choices = site_choices
        if len(site_choices) == 1:
            self.fields["site"].initial = site_choices[0][0]

    def new_customer_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in ("new_customer_name", "new_customer_email", "new_customer_country")
        ]

    def order_facts_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("site", "due_date", "priority", "number")]

    def clean_new_customer_country(self) -> str:
        country = self.cleaned_data["new_customer_country"].strip().upper()
        if country:
            country_code_validator(country)
        return country

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        name = cleaned.get("new_customer_name", "").strip()
        if cleaned.get("customer") and name:
            self.add_error(
                "new_customer_name", "Choose an existing customer or enter a new one, not both."
            )
        elif not cleaned.get("customer") and "customer" not in self.errors:
            if not name:
                self.add_error("customer", "Choose a customer or enter a new customer's name.")
            elif not cleaned.get("new_customer_country") and "new_customer_country" not in (
                self.errors
            ):
                self.add_error("new_customer_country", "Enter the new customer's country.")
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        """The keyword arguments of `order_create_with_lines`, except the lines."""
        data = self.cleaned_data
        arguments: dict[str, Any] = {
            "site_id": data["site"],
            "due_date": data["due_date"],
            "priority": data["priority"],
            "number": data["number"].strip() or None,
            "notes": data["notes"],
        }
        if data["customer"]:
            arguments["customer_id"] = data["customer"]
        else:
            arguments["new_customer"] = {
                "name": data["new_customer_name"].strip(),
                "email": data["new_customer_email"],
                "country": data["new_customer_country"],
            }
        return arguments


class OrderLineForm(forms.Form):
    """One line: an active product and how many. An untouched row is skipped."""

    product = forms.TypedChoiceField(coerce=int)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_UNITS)
    unit_price = forms.DecimalField(
        label="Unit price",
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text="Empty: the product's price.",
    )

    def __init__(self, *args: Any, product_choices: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "Choose a product"), *product_choices]

    def line(self) -> dict[str, Any]:
        """The line as `order_line_add` takes it."""
        line = {
            "product_id": self.cleaned_data["product"],
            "quantity": self.cleaned_data["quantity"],
        }
        if self.cleaned_data.get("unit_price") is not None:
            line["unit_price"] = self.cleaned_data["unit_price"]
        return line


class BaseOrderLineFormSet(forms.BaseFormSet):
    """Rows a person left empty are skipped; at least one row must be filled in."""

    def initial_form_count(self) -> int:
        # Every row counts as an extra one, even one shown pre-filled again, so that a row
        # emptied later is skipped rather than required.
        return super().initial_form_count() if self.is_bound else 0

    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.filled_forms():
            raise forms.ValidationError("Add at least one line: a product and a quantity.")

    def filled_forms(self) -> list[OrderLineForm]:
        return [form for form in self.forms if form.has_changed()]

    def lines(self) -> list[dict[str, Any]]:
        """The filled rows as `order_line_add` takes them (after `is_valid()`)."""
        return [form.line() for form in self.filled_forms()]


OrderLineFormSet = forms.formset_factory(
    OrderLineForm,
    formset=BaseOrderLineFormSet,
    extra=3,
    max_num=MAX_LINES,
    validate_max=True,
)
LINES_PREFIX = "lines"


class OrderCancelForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=500,
        help_text="Shown in the order's history and on its cancelled batches.",
    )


class OrderImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A .csv file in UTF-8, at most 1 MB and 1,000 rows; the columns are described "
        "below.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".csv,.tsv,.txt,text/csv,text/tab-separated-values,text/plain"}
        ),
    )
