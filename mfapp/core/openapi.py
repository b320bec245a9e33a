"""Documents the error answers every operation can give, in the one shape they all share."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from mfapp.core.authentication import ApiKeyAuthentication

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every 4xx answer. Field errors, when any, are under extra.fields.",
    "properties": {
        "message": {"type": "string", "description": "What went wrong, for a person."},
        "extra": {
            "type": "object",
            "additionalProperties": True,
            "properties": {
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Per field, the list of problems with it.",
                }
            },
        },
    },
    "required": ["message", "extra"],
}
_DESCRIPTIONS = {
    "400": "Invalid input: malformed JSON, wrong types or values (see extra.fields).",
    "401": "No or invalid credentials.",
    "403": "The role or API key may not do this (read-only key, viewer ...).",
    "404": "No such object in your tenant (another tenant's object looks the same), an unknown "
    "related id, or a page past the end.",
    "405": "Method not allowed.",
    "409": "Not allowed in the object's current state, or still in use.",
    "413": "The request body is larger than 2 MB.",
    "415": "Send application/json.",
    "422": "The Idempotency-Key was used before for a different request.",
}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            # 404 everywhere: a missing object, an unknown related id, or a page past the end.
            codes = ["400", "401", "403", "404", "405"]
            if method in ("post", "put", "patch", "delete"):
                codes.append("409")
            if method in ("post", "put", "patch"):
                codes.extend(["413", "415"])
            if method == "post":
                codes.append("422")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": _DESCRIPTIONS[code], "content": ref})
    return result


class TenantAutoSchema(AutoSchema):
    """Our viewsets name their serializers explicitly: `input_serializer` for create and
    partial update (or `update_serializer` for the latter), `action_serializers[action]` for
    POST actions, and `output_serializer` for every answer (none for a delete) unless
    `output_serializers_by_action` names another."""

    def _view_action(self) -> str | None:
        return getattr(self.view, "action", None)

    def get_request_serializer(self) -> Any:
        action = self._view_action()
        if action == "partial_update" and getattr(self.view, "update_serializer", None):
            return self.view.update_serializer
        if action in ("create", "partial_update") and getattr(self.view, "input_serializer", None):
            return self.view.input_serializer
        serializers_by_action = getattr(self.view, "action_serializers", {})
        if action in serializers_by_action:
            return serializers_by_action[action]
        if self.method in ("POST", "PUT", "PATCH") and hasattr(self.view, "output_serializer"):
            return None  # an action without a body
        return super().get_request_serializer()

    def get_response_serializers(self) -> Any:
        if self._view_action() == "destroy":
            return None
        by_action = getattr(self.view, "output_serializers_by_action", {})
        if self._view_action() in by_action:
            return by_action[self._view_action()]
        if hasattr(self.view, "output_serializer"):
            return self.view.output_serializer
        return super().get_response_serializers()


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant's API key: `Authorization: Bearer mfk_…`.",
        }
