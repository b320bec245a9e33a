"""The OpenAPI 3 schema: valid without a single warning, served as JSON, with Swagger UI, every
route of /api/v1/ documented, and every error answer documented with the one Error shape."""

import json
import re

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.api.conftest import ROUTES, Route

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ID_PLACEHOLDER = 4242


def openapi_path(route: Route) -> str:
    """The route as drf-spectacular names it: `{id}` for the primary key."""
    url = route.url(ID_PLACEHOLDER if route.detail else None)
    return url.replace(f"/{ID_PLACEHOLDER}/", "/{id}/")


@pytest.fixture(scope="module")
def schema():
    """Fetched once: answering the schema touches no table (the database stays blocked)."""
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return json.loads(response.content)


def test_spectacular_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi: 3.")


def test_schema_is_openapi_3_json(schema):
    assert re.fullmatch(r"3\.\d+\.\d+", schema["openapi"])
    assert schema["info"]["title"] == "mfapp API"
    assert "Error" in schema["components"]["schemas"]


def test_every_api_route_is_documented(schema):
    documented = {
        (path, method.upper())
        for path, operations in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    }
    routed = {(openapi_path(route), route.method) for route in ROUTES}
    assert routed - documented == set(), "routes missing from the schema"
    assert documented - routed == set(), "schema operations without a route"


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in ("get", "post", "patch", "put", "delete"):
                yield path, method, operation


def test_every_operation_documents_its_errors_with_the_error_schema(schema):
    problems = []
    for path, method, operation in _operations(schema):
        codes = ["400", "401", "403"] + (["404"] if "{" in path else [])
        for code in codes:
            answer = operation["responses"].get(code)
            if answer is None:
                problems.append(f"{method.upper()} {path}: {code} undocumented")
            elif answer.get("content", {}).get("application/json", {}).get("schema") != ERROR_REF:
                problems.append(f"{method.upper()} {path}: {code} is not the Error schema")
    assert not problems, "\n".join(problems)


def test_every_operation_needs_credentials(schema):
    for path, method, operation in _operations(schema):
        if path.startswith("/api/v1/"):
            schemes = {name for requirement in operation["security"] for name in requirement}
            assert "apiKey" in schemes, f"{method.upper()} {path}"
            assert {} not in operation["security"], f"{method.upper()} {path} allows anonymous"


def test_the_error_schema_is_the_shape_every_error_has(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["message", "extra"]
    assert error["properties"]["message"]["type"] == "string"
    assert error["properties"]["extra"]["type"] == "object"


def test_swagger_ui_answers_html(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page.lower()
    assert "/api/schema/" in page
