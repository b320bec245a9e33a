from decimal import Decimal

import pytest

from mfapp.core.templatetags.mfapp import trim


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("0.0350"), "0.035"),
        (Decimal("100.000"), "100"),
        (Decimal("12.5"), "12.5"),
        (Decimal("0"), "0"),
        ("not a number", "not a number"),
    ],
)
def test_trim_writes_decimals_as_people_do(value, shown):
    assert trim(value) == shown
