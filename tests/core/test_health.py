import pytest


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: pytest-django makes any database access in this test raise.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_unconfigured_broker(client, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "not configured (tasks run in-process)"},
    }


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"] == "OperationalError"


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_checks_a_reachable_broker(client, settings):
    from tests.conftest import REDIS_URL

    settings.CELERY_BROKER_URL = REDIS_URL

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_health_endpoints_refuse_writes(client):
    assert client.post("/healthz").status_code == 405
