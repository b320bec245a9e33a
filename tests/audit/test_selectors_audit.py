"""The log's keyset pages: exact positions, ties on the timestamp, and a fixed query count."""

from datetime import UTC, datetime, timedelta

import pytest

from mfapp.audit.selectors import AuditFilters, Cursor, audit_event_page
from tests.audit.conftest import T0, event_at, newest_first

pytestmark = pytest.mark.django_db


def test_a_cursor_survives_the_url_to_the_microsecond():
    cursor = Cursor(created_at=datetime(2026, 3, 29, 1, 2, 3, 456789, tzinfo=UTC), id=42)

    assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "raw", [None, "", "abc", "12", "12_", "_5", "1_0", "1_-3", "9" * 30 + "_1", "1.5_2"]
)
def test_anything_else_is_no_cursor(raw):
    assert Cursor.decode(raw) is None


def _walk_older(tenant, size, filters=None):
    pages, page = [], audit_event_page(tenant=tenant, filters=filters, size=size)
    pages.append(page)
    while page.older is not None:
        page = audit_event_page(tenant=tenant, filters=filters, before=page.older, size=size)
        pages.append(page)
    return pages


def test_pages_have_no_gap_and_no_duplicate_when_timestamps_tie(tenant):
    # Seven events at three instants: pages of three cut through the ties.
    for offset in (0, 0, 0, 1, 1, 2, 2):
        event_at(tenant, T0 + timedelta(seconds=offset))

    pages = _walk_older(tenant, size=3)

    assert [len(page.events) for page in pages] == [3, 3, 1]
    walked = [event.pk for page in pages for event in page.events]
    assert walked == newest_first(tenant)
    assert pages[0].newer is None  # the first page has nothing newer
    assert [page.older is None for page in pages] == [False, False, True]


def test_newer_pages_walk_back_to_the_first(tenant):
    for offset in (0, 0, 0, 0, 1, 1, 1):
        event_at(tenant, T0 + timedelta(seconds=offset))
    pages = _walk_older(tenant, size=3)

    back, page = [], pages[-1]
    while page.newer is not None:
        page = audit_event_page(tenant=tenant, after=page.newer, size=3)
        back.append([event.pk for event in page.events])

    assert back == [[e.pk for e in p.events] for p in reversed(pages[:-1])]
    assert page.newer is None


def test_pages_respect_the_filters_and_the_tenant(tenant, other_tenant):
    wanted = [event_at(tenant, T0 + timedelta(seconds=n), verb="order.cancelled") for n in range(4)]
    event_at(tenant, T0, verb="order.created")
    event_at(other_tenant, T0, verb="order.cancelled")

    pages = _walk_older(tenant, size=3, filters=AuditFilters(verb="cancelled"))

    assert [e.pk for p in pages for e in p.events] == [e.pk for e in reversed(wanted)]


def test_a_page_costs_two_queries_at_most_whatever_its_depth(tenant, django_assert_max_num_queries):
    for n in range(30):
        event_at(tenant, T0 + timedelta(seconds=n // 3))
    first = audit_event_page(tenant=tenant, size=5)

    with django_assert_max_num_queries(1):
        audit_event_page(tenant=tenant, size=5)
    with django_assert_max_num_queries(2):
        deeper = audit_event_page(tenant=tenant, before=first.older, size=5)
    with django_assert_max_num_queries(2):
        audit_event_page(tenant=tenant, after=deeper.newer, size=5)


def test_a_stale_cursor_past_the_end_gives_an_empty_page(tenant):
    event_at(tenant, T0)

    page = audit_event_page(tenant=tenant, before=Cursor(created_at=T0 - timedelta(days=1), id=1))

    assert (page.events, page.newer, page.older) == ([], None, None)
