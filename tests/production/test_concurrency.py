"""Concurrent status changes of one batch: exactly one wins.

Two guards: every batch service row-locks the batch (SELECT ... FOR UPDATE) and checks the
transition against the locked, current row; and change_status raises Batch.version with a
conditional UPDATE (WHERE version = the version read), so a change made meanwhile is a
Conflict ("changed meanwhile, reload"). Services also take the version the caller acted on
(`expected_version`), which makes "start" and "cancel" of the same screen mutually exclusive.
"""

import contextvars
import threading

import pytest
from django.db import connection

from mfapp.core.exceptions import Conflict
from mfapp.core.transitions import change_status
from mfapp.production.models import Batch
from mfapp.production.services import batch_cancel, batch_start
from tests.factories import BatchFactory, audit_events

B = Batch.Status


def batch_audit(tenant, batch):
    return [e for e in audit_events(tenant, target=batch) if e.verb.startswith("batch.")]


# --- both databases: the version check itself ------------------------------------------------
def test_every_status_change_raises_the_version(tenant, system):
    batch = BatchFactory(tenant=tenant, status=B.SCHEDULED)
    assert batch.version == 0

    batch = batch_start(actor=system, batch=batch, expected_version=0)
    assert batch.version == 1
    batch = batch_cancel(actor=system, batch=batch)

    batch.refresh_from_db()
    assert (batch.status, batch.version) == (B.CANCELLED, 2)


def test_a_caller_acting_on_an_old_version_gets_a_conflict(tenant, system):
    batch = BatchFactory(tenant=tenant, status=B.SCHEDULED)
    seen = batch.version
    batch_start(actor=system, batch=batch, expected_version=seen)

    with pytest.raises(Conflict, match="changed meanwhile by someone else; reload"):
        batch_cancel(actor=system, batch=batch, expected_version=seen)

    batch.refresh_from_db()
    assert (batch.status, batch.version) == (B.IN_PROGRESS, 1)
    assert [e.verb for e in batch_audit(tenant, batch)] == ["batch.started"]


def test_a_stale_copy_cannot_overwrite_a_newer_status(tenant, system):
    """Without the row lock (a code path that forgets it): the conditional UPDATE still
    refuses to act on a copy read before someone else's change."""
    batch = BatchFactory(tenant=tenant, status=B.SCHEDULED)
    stale = Batch.objects.for_tenant(tenant).get(pk=batch.pk)
    batch_start(actor=system, batch=batch)

    with pytest.raises(Conflict, match="changed meanwhile"):
        change_status(
            actor=system,
            instance=stale,
            to=B.CANCELLED,
            allowed_from={B.SCHEDULED},
            verb="batch.cancelled",
        )

    batch.refresh_from_db()
    assert (batch.status, batch.version) == (B.IN_PROGRESS, 1)


# --- PostgreSQL: two threads at the same moment ----------------------------------------------
def race(*calls):
    """Run `calls` in threads released together; [(result or None, exception or None)]."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call, context):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = (context.run(call), None)
        except Exception as exc:  # reported to the test
            outcomes[index] = (None, exc)
        finally:
            connection.close()  # each thread has its own connection

    # Each thread runs in a copy of the test's context (its database context included).
    threads = [
        threading.Thread(target=run, args=(i, c, contextvars.copy_context()))
        for i, c in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(not thread.is_alive() for thread in threads)
    return outcomes


def _one_winner(outcomes):
    winners = [result for result, error in outcomes if error is None]
    errors = [error for _, error in outcomes if error is not None]
    assert len(winners) == 1, outcomes
    assert len(errors) == 1, errors
    assert isinstance(errors[0], Conflict), errors
    return winners[0], errors[0]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_start_and_cancel_at_the_same_moment_one_wins(tenant, system, attempt):
    batch = BatchFactory(tenant=tenant, status=B.SCHEDULED)
    seen = batch.version  # both people look at the same page

    winner, error = _one_winner(
        race(
            lambda: batch_start(actor=system, batch=batch, expected_version=seen),
            lambda: batch_cancel(actor=system, batch=batch, expected_version=seen),
        )
    )

    batch.refresh_from_db()
    assert batch.status == winner.status in (B.IN_PROGRESS, B.CANCELLED)
    assert batch.version == 1
    assert "changed meanwhile" in str(error)
    assert len(batch_audit(tenant, batch)) == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["start", "cancel"])
def test_the_same_change_twice_at_the_same_moment_happens_once(tenant, system, action):
    """No version from the caller: the row lock serialises, the second sees the new status."""
    batch = BatchFactory(tenant=tenant, status=B.SCHEDULED)
    service = batch_start if action == "start" else batch_cancel

    _one_winner(race(*[lambda: service(actor=system, batch=batch)] * 2))

    batch.refresh_from_db()
    assert batch.version == 1
    assert len(batch_audit(tenant, batch)) == 1
