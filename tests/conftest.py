"""Shared fixtures. Tests that need PostgreSQL, Redis, Chromium or the dev-extra binaries skip
with a reason when those are missing, unless MFAPP_REQUIRE_SERVICES=1 turns the skip into a
failure (CI sets it, so nothing is silently skipped there)."""

import os
import shutil
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + Playwright

REQUIRE_SERVICES = os.environ.get("MFAPP_REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
QUEUES = ["default", "scheduling", "reports", "webhooks"]
REDIS_URL = settings.CELERY_BROKER_URL or os.environ.get(
    "MFAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"
)


def venv_binary(name: str) -> str | None:
    """A binary installed by the dev extra, next to this interpreter (or on PATH)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (MFAPP_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        # Not a missing service: this run uses SQLite on purpose; CI's PostgreSQL run covers it.
        pytest.skip("PostgreSQL-only test; this run's database is SQLite")
    if item.get_closest_marker("redis") and not _reachable(REDIS_URL):
        _missing(f"needs Redis at {REDIS_URL}")
    if item.get_closest_marker("chromium") and not Path(CHROMIUM).exists():
        _missing(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    if item.get_closest_marker("tools"):
        for name in ("docker-compose", "hadolint"):
            if venv_binary(name) is None:
                _missing(f"needs {name} (pip install -e '.[dev]')")


@pytest.fixture
def tenant(db):
    from tests.factories import TenantFactory

    return TenantFactory(slug="acme", name="Acme Microfactory")


@pytest.fixture
def other_tenant(db):
    from tests.factories import TenantFactory

    return TenantFactory(slug="globex", name="Globex Prints")


@pytest.fixture
def system(tenant):
    from mfapp.tenancy.selectors import system_actor

    return system_actor(tenant=tenant)


@pytest.fixture
def chromium_browser():
    """Debian's Chromium, headless, through Playwright; closed (with its pages) after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --- PostgreSQL: the suite runs as the application role, under row-level security ----------
# The test database is created and migrated by the owner (the URL's user); the tests then
# connect as APP_ROLE, which owns nothing and cannot bypass RLS, as the app does in production.
# Every request, task and command therefore runs under its own tenant's setting. Test code
# itself (factories, assertions on the database) works through `platform_access`.
APP_ROLE = "mfapp_test_app"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql":
        yield
        return
    from mfapp.core import rls

    platform_role = rls.platform_role(APP_ROLE)
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for role, options in ((APP_ROLE, "LOGIN NOINHERIT"), (platform_role, "NOLOGIN")):
            cursor.execute(
                f"DO $$ BEGIN CREATE ROLE {role} {options}; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
            cursor.execute(f"ALTER ROLE {role} {options}")
        cursor.execute(f"GRANT {platform_role} TO {APP_ROLE}")
        rls.apply(cursor, app_role=APP_ROLE)
        # TransactionTestCase empties the tables with TRUNCATE between tests; the app can't.
        for role in (APP_ROLE, platform_role):
            cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
    owner = connection.settings_dict["USER"]
    with django_db_blocker.unblock():
        connection.close()
    connection.settings_dict["USER"] = APP_ROLE
    try:
        with rls.platform_access(reason="test code"):
            yield
    finally:
        with django_db_blocker.unblock():
            connection.close()
        connection.settings_dict["USER"] = owner


@pytest.fixture(autouse=True)
def _database_context_restored():
    """Whatever a test runs (requests, tasks, commands), the database context it started with
    is back when it ends: a context that leaks would run later code as the wrong tenant."""
    from mfapp.core import rls

    before = rls.current()
    yield
    assert rls.current() == before, f"database context leaked: {rls.current()}"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real worker on the real broker: a subprocess on PostgreSQL, a thread on SQLite."""
    from mfapp.celery import app

    with _celery_conf(app, broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False):
        if connection.vendor == "postgresql":
            with _worker_process(app):
                yield app
        else:
            from celery.contrib.testing.worker import start_worker

            with start_worker(
                app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=QUEUES
            ):
                yield app


@pytest.fixture
def eager_tasks():
    """Tasks run in-process at once, as in the embedded `make run` mode, whatever the broker."""
    from mfapp.celery import app

    with _celery_conf(app, task_always_eager=True):
        yield app


@contextmanager
def _celery_conf(app, **values):
    """Override Celery settings for one test, then fall back to the Django settings again."""
    app.conf.update(values)
    _reset_broker_pool(app)
    try:
        yield
    finally:
        for key in values:
            app.conf.changes.pop(key, None)
        _reset_broker_pool(app)


def _reset_broker_pool(app):
    # Pools are cached per app and keyed by broker URL in kombu: drop the app's references so
    # the next send picks the pool of the broker configured now (never close shared ones).
    app._pool = None
    app.amqp._producer_pool = None
    vars(app._local).pop("backend", None)  # the result backend is cached per thread too


@contextmanager
def _worker_process(app, **extra_env: str):
    """A `celery worker` subprocess (solo pool: the process itself runs the task); `extra_env`
    adds to its environment (e.g. a short MFAPP_BROKER_VISIBILITY_TIMEOUT)."""
    import subprocess
    import time

    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )
    name = f"test-{os.getpid()}@%h"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mfapp.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "MFAPP_TEST_BROKER_KEYPREFIX": settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"],
        **extra_env,
    }
    process = subprocess.Popen(
        [
            venv_binary("celery") or "celery",
            "-A",
            "mfapp",
            "worker",
            "-P",
            "solo",
            "-c",
            "1",
            "-Q",
            ",".join(QUEUES),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            name,
            "-l",
            "WARNING",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
    )
    try:
        hostname = name.replace("%h", socket.gethostname())
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5, destination=[hostname]):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start (exit code {process.poll()})")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=20)
