"""Row-level security on PostgreSQL, proved with raw SQL on connections of our own.

The suite connects as the application role (tests/conftest.py): a role that owns no table, is
not a superuser and cannot bypass RLS. Here separate psycopg connections, as that same role,
show what the database itself allows: nothing without the transaction setting, one tenant's
rows with it, and nothing of another tenant's, whatever the SQL says."""

import psycopg
import pytest
from django.apps import apps
from django.db import connection, transaction
from django.urls import reverse
from psycopg import errors

from mfapp.core import rls
from mfapp.core.models import TenantScopedModel
from mfapp.orders.models import Order
from tests.conftest import APP_ROLE
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    ProductFactory,
    TenantFactory,
    UserFactory,
    hash_api_key,
    order_with_lines,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

# Tables that hold rows of both tenants after `two_tenants` (the rest are checked empty-safe).
POPULATED = ["orders_order", "orders_orderline", "catalog_product", "tenancy_membership"]


def _app_connection() -> psycopg.Connection:
    """A fresh connection as the application role: no Django, no settings made for it."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=APP_ROLE,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


def _as_tenant(raw: psycopg.Connection, tenant, sql: str, params: list) -> None:
    with raw.transaction():
        raw.execute("SELECT set_config('mfapp.tenant_id', %s, true)", [str(tenant.pk)])
        raw.execute(sql, params)


def _tenant_tables() -> list[str]:
    with connection.cursor() as cursor:
        return rls.tenant_tables(cursor)


@pytest.fixture
def two_tenants():
    tenants = []
    for slug in ("rls-a", "rls-b"):
        tenant = TenantFactory(slug=slug)
        order_with_lines(
            tenant, [(ProductFactory(tenant=tenant), 2), (ProductFactory(tenant=tenant), 3)]
        )
        MembershipFactory(tenant=tenant)
        tenants.append(tenant)
    return tenants


def test_every_tenant_table_has_row_level_security_forced_with_the_policy():
    model_tables = {
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, TenantScopedModel) and not model._meta.proxy
    }
    tables = set(_tenant_tables())
    assert model_tables <= tables
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   EXISTS (SELECT 1 FROM pg_policies p
                           WHERE p.tablename = c.relname AND p.policyname = %s)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relname = ANY(%s)
            """,
            [rls.POLICY, sorted(tables)],
        )
        rows = cursor.fetchall()
    assert len(rows) == len(tables)
    assert [row[0] for row in rows if row[1:] != (True, True, True)] == []


@pytest.mark.parametrize("role", [APP_ROLE, rls.platform_role(APP_ROLE)])
def test_the_application_roles_own_nothing_and_cannot_bypass(role):
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_user")
        assert cursor.fetchone() == (APP_ROLE,)
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
        assert cursor.fetchone() == (False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND tableowner = %s",
            [role],
        )
        assert cursor.fetchone() == (0,)


def test_raw_sql_without_the_setting_sees_no_rows(two_tenants):
    tables = _tenant_tables()
    with rls.platform_access(reason="test"), connection.cursor() as cursor:
        for table in POPULATED:
            cursor.execute(f'SELECT count(DISTINCT tenant_id) FROM "{table}"')  # noqa: S608
            assert cursor.fetchone() == (2,), table
    with _app_connection() as raw:
        counts = {
            t: raw.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
            for t in tables
        }
    assert counts == dict.fromkeys(tables, 0)


def test_one_tenants_setting_reads_and_writes_only_its_own_rows(two_tenants):
    a, b = two_tenants
    with _app_connection() as raw, raw.transaction():
        raw.execute("SELECT set_config('mfapp.tenant_id', %s, true)", [str(a.pk)])
        for table in POPULATED:
            seen = raw.execute(f'SELECT DISTINCT tenant_id FROM "{table}"').fetchall()  # noqa: S608
            assert seen == [(a.pk,)], table
        # Naming the other tenant in the SQL changes nothing.
        assert raw.execute(
            "SELECT count(*) FROM orders_order WHERE tenant_id = %s", [b.pk]
        ).fetchone() == (0,)
        updated = raw.execute(
            "UPDATE orders_order SET notes = 'taken' WHERE tenant_id = %s", [b.pk]
        ).rowcount
        deleted = raw.execute("DELETE FROM orders_orderline WHERE tenant_id = %s", [b.pk]).rowcount
        assert (updated, deleted) == (0, 0)
    with _app_connection() as raw:
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            _as_tenant(raw, a, "UPDATE orders_order SET tenant_id = %s", [b.pk])
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            _as_tenant(
                raw,
                a,
                "INSERT INTO orders_customer (tenant_id, name, email, phone, delivery_address,"
                " country, external_ref, created_at, updated_at)"
                " VALUES (%s, 'Intruder', '', '', '', 'DE', '', now(), now())",
                [b.pk],
            )
    with rls.platform_access(reason="test"):
        assert not Order.objects.all_tenants().filter(notes="taken").exists()
        assert Order.objects.all_tenants().filter(tenant=b).count() == 1


def test_the_setting_ends_with_its_transaction_so_a_pooled_connection_carries_nothing(
    two_tenants,
):
    a, _ = two_tenants
    with _app_connection() as raw:
        with raw.transaction():
            raw.execute("SELECT set_config('mfapp.tenant_id', %s, true)", [str(a.pk)])
            assert raw.execute("SELECT count(*) FROM orders_order").fetchone() == (1,)
        # The next client of the same server connection:
        assert raw.execute("SELECT count(*) FROM orders_order").fetchone() == (0,)
        assert raw.execute("SELECT current_setting('mfapp.tenant_id', true)").fetchone()[0] in (
            None,
            "",
        )


def test_the_django_connection_applies_the_context_per_transaction(two_tenants):
    a, b = two_tenants
    with rls.tenant_context(a.pk), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM orders_order")  # autocommit: wrapped
        assert cursor.fetchall() == [(a.pk,)]
    with rls.tenant_context(b.pk), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tenant_id FROM orders_order")
        assert cursor.fetchall() == [(b.pk,)]
        with rls.tenant_context(a.pk):  # a change mid-transaction is applied before the next
            cursor.execute("SELECT DISTINCT tenant_id FROM orders_order")
            assert cursor.fetchall() == [(a.pk,)]
    with rls.user_context(None), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order")
        assert cursor.fetchone() == (0,)
        # Nothing was left on the session either.
        cursor.execute("SELECT current_setting('mfapp.tenant_id', true)")
        assert cursor.fetchone()[0] in (None, "")


def test_a_person_sees_their_own_memberships_everywhere_and_nobody_elses(two_tenants):
    a, b = two_tenants
    person = UserFactory()
    MembershipFactory(tenant=a, user=person)
    MembershipFactory(tenant=b, user=person)
    with rls.user_context(person.pk), connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id, user_id FROM tenancy_membership ORDER BY tenant_id")
        assert cursor.fetchall() == [(a.pk, person.pk), (b.pk, person.pk)]
        cursor.execute("SELECT count(*) FROM orders_order")
        assert cursor.fetchone() == (0,)


def test_an_api_key_is_found_by_its_prefix_alone(two_tenants):
    a, b = two_tenants
    key_a = ApiKeyFactory(tenant=a, prefix="aaaa1111", hashed_key=hash_api_key("x"))
    ApiKeyFactory(tenant=b, prefix="bbbb2222", hashed_key=hash_api_key("y"))
    with rls.user_context(None), rls.api_key_lookup("aaaa1111"), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_apikey")
        assert cursor.fetchall() == [(key_a.pk,)]
        cursor.execute("UPDATE tenancy_apikey SET name = 'renamed'")
        assert cursor.rowcount == 0  # the lookup policy reads; it never writes


def test_requests_run_as_their_tenant_under_the_application_role(client, two_tenants):
    """The whole app path: the member's page and the key's API call see their tenant only."""
    a, b = two_tenants
    owner = UserFactory()
    MembershipFactory(tenant=b, user=owner, role="owner")
    client.force_login(owner)
    response = client.get(reverse("orders:order-list"))
    assert response.status_code == 200
    with rls.platform_access(reason="test"):
        order_b = Order.objects.all_tenants().get(tenant=b)
        order_a = Order.objects.all_tenants().get(tenant=a)
    assert order_b.number in response.content.decode()
    assert order_a.number not in response.content.decode()


@pytest.mark.usefixtures("two_tenants")
def test_platform_access_is_the_platform_role_for_one_transaction():
    with _app_connection() as raw:
        inherits = raw.execute(
            "SELECT pg_has_role(%s, %s, 'USAGE')", [APP_ROLE, rls.platform_role(APP_ROLE)]
        ).fetchone()
        # The platform setting alone opens nothing to the application role itself.
        with raw.transaction():
            raw.execute("SELECT set_config('mfapp.platform', 'on', true)")
            alone = raw.execute("SELECT count(*) FROM orders_order").fetchone()
        with raw.transaction():
            raw.execute("SELECT set_config('mfapp.platform', 'on', true)")
            raw.execute("SELECT set_config('role', %s, true)", [rls.platform_role(APP_ROLE)])
            as_platform = raw.execute("SELECT count(DISTINCT tenant_id) FROM orders_order")
            as_platform = as_platform.fetchone()
        after = raw.execute("SELECT current_user").fetchone()
    assert inherits == (False,)
    assert alone == (0,)
    assert as_platform == (2,)
    assert after == (APP_ROLE,)  # the role ended with its transaction


def test_a_tenant_query_is_planned_on_the_tenant_equality_alone(two_tenants):
    """No OR with the platform branch in an ordinary query: PostgreSQL merges the policy with
    the query's own tenant condition and estimates the tenant's rows, not a handful."""
    a, _ = two_tenants
    sql, params = Order.objects.for_tenant(a).order_by("-created_at")[:50].query.sql_with_params()
    with rls.tenant_context(a.pk), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (APP_ROLE,)
    assert "mfapp.platform" not in plan
    assert "mfapp.tenant_id" in plan  # the policy is there, as a one-time filter
