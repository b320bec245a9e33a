"""API plumbing shared by every app: API-key authentication, the tenant and actor of a
request, role checks for read-only keys, and one error shape for every 4xx."""

from datetime import UTC
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db.models import ProtectedError
from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from mfapp.core import tenant_cache
from mfapp.core.authentication import ApiKeyAuthentication
from mfapp.core.exceptions import ApplicationError, Conflict, NotFound, PermissionDenied
from mfapp.core.fields import MAX_ID
from mfapp.integrations.models import IdempotencyRecord
from mfapp.integrations.services import (
    IdempotencyKeyReused,
    idempotency_abandon,
    idempotency_begin,
    idempotency_finish,
    request_fingerprint,
)
from mfapp.tenancy.actors import Actor
from mfapp.tenancy.models import ApiKey
from mfapp.tenancy.selectors import actor_for_member
from mfapp.tenancy.services import api_key_cached_read

READ_ONLY_KEY_ROLE = "integration_read"
READ_WRITE_KEY_ROLE = "integration"


def request_actor(request: Request) -> Actor:
    """The actor behind an API request: the key's integration, or the logged-in member acting
    in their active tenant. No tenant: the same 404 as a missing object would give."""
    if isinstance(request.auth, ApiKey):
        role = READ_ONLY_KEY_ROLE if request.auth.read_only else READ_WRITE_KEY_ROLE
        return Actor(tenant=request.auth.tenant, role=role, api_key=request.auth)
    tenant = getattr(request._request, "tenant", None)
    if tenant is None:
        raise PermissionDenied("Your login is not a member of any business.")
    return actor_for_member(tenant=tenant, user=request.user)


class ReadOnlyKeyPermission(BasePermission):
    message = "This API key is read-only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return not (isinstance(request.auth, ApiKey) and request.auth.read_only)


class TenantApiMixin:
    """Every tenant API view: authenticated, `self.actor` and `self.tenant` resolved once, and
    POSTs made idempotent by an `Idempotency-Key` header."""

    authentication_classes = (ApiKeyAuthentication, SessionAuthentication)
    permission_classes = (IsAuthenticated, ReadOnlyKeyPermission)
    idempotency_record: IdempotencyRecord | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.actor = request_actor(request)
        self.tenant = self.actor.tenant
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST" and key is not None:
            self._begin_idempotent_request(request, key)

    def _begin_idempotent_request(self, request: Request, key: str) -> None:
        record, is_new = idempotency_begin(
            tenant=self.tenant,
            key=key,
            method=request.method,
            path=request.path,
            fingerprint=request_fingerprint(
                method=request.method, path=request.path, body=request.body
            ),
        )
        if is_new:
            self.idempotency_record = record
            return

        def replay(*args: Any, **kwargs: Any) -> Response:
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response

        # The handler is looked up after initial(): answer with the first response instead.
        self.post = replay

    def finalize_response(self, request: Request, response: Response, *args: Any, **kw: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kw)  # type: ignore[misc]
        if self.idempotency_record is not None:
            idempotency_finish(
                record=self.idempotency_record,
                status=response.status_code,
                body=getattr(response, "data", None),
            )
            self.idempotency_record = None
        return response

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            if self.idempotency_record is not None:  # an unhandled error: let a retry run again
                idempotency_abandon(record=self.idempotency_record)


def error_body(message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"message": message, "extra": extra or {}}


_STATUS_BY_ERROR = (
    (IdempotencyKeyReused, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (PermissionDenied, status.HTTP_403_FORBIDDEN),
    (Conflict, status.HTTP_409_CONFLICT),
    (ApplicationError, status.HTTP_400_BAD_REQUEST),
)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as {"message", "extra"}; field errors under extra.fields."""
    for error_class, code in _STATUS_BY_ERROR:
        if isinstance(exc, error_class):
            return Response(error_body(exc.message, exc.extra), status=code)
    if isinstance(exc, RequestDataTooBig):  # DATA_UPLOAD_MAX_MEMORY_SIZE, checked unread
        megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        return Response(
            error_body(f"The request body is larger than {megabytes:g} MB; send less per call."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent):  # DATA_UPLOAD_MAX_NUMBER_FIELDS
        return Response(
            error_body(
                f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} parameters."
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ProtectedError):
        return Response(
            error_body("Other records still use this one; remove or reassign them first."),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("Some fields are invalid.", {"fields": fields})
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(str(detail))
    return response


class TenantViewSet(TenantApiMixin, viewsets.GenericViewSet):
    """Lists come from the tenant's list selector (`get_queryset`), objects from its get
    selector (`get_object`, a 404 for another tenant's id), writes from services. Subclasses
    write `create` / `partial_update` / `destroy` and the actions as service calls."""

    output_serializer: type[serializers.Serializer]
    input_serializer: type[serializers.Serializer] | None = None
    update_serializer: type[serializers.Serializer] | None = None  # PATCH, when not the input
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_converter = "int"

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action == "partial_update" and self.update_serializer is not None:
            return self.update_serializer
        if self.action in ("create", "partial_update") and self.input_serializer is not None:
            return self.input_serializer
        return self.output_serializer

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        pk = kwargs.get("pk")
        if pk is not None and not (str(pk).isdigit() and 0 < int(pk) <= MAX_ID):
            raise exceptions.NotFound("Not found.")  # not an id at all: missing, as JSON

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no tenant
            return self.output_serializer.Meta.model.objects.none()
        return self.tenant_queryset()

    def validated(
        self, serializer_class: type[serializers.Serializer] | None = None, *, partial: bool = False
    ) -> dict[str, Any]:
        if serializer_class is None:
            serializer_class = (partial and self.update_serializer) or self.input_serializer
        assert serializer_class is not None
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if isinstance(self.request.data, dict):
            writable = {name for name, field in serializer.fields.items() if not field.read_only}
            unknown = sorted(set(self.request.data) - writable)
            if unknown:  # a silently ignored field is a bug in the caller's integration
                raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})
        return dict(serializer.validated_data)

    def respond(self, instance: Any, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.output_serializer(instance).data, status=code)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._cached_read(self._list_data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._cached_read(lambda: self.output_serializer(self.get_object()).data)

    def _list_data(self) -> Any:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.output_serializer(page, many=True).data).data

    def _cached_read(self, compute: Any) -> HttpResponse:
        """Reads repeat (integrations poll): the JSON answer is cached until the tenant's data
        changes (core.tenant_cache). The full URL is the key: it holds every filter and page,
        and the host the page links are built on. (JSON is the API's one renderer.)"""
        body = tenant_cache.cached(
            tenant_id=self.tenant.pk,
            name=self._cache_name(),
            parts=self.request.build_absolute_uri(),
            compute=lambda: JSONRenderer().render(compute()),
        )
        return HttpResponse(body, content_type="application/json")

    def _cache_name(self) -> str:
        return f"api:{type(self).__name__}"

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        body = self._repeated_read(request)
        if body is not None:
            response = HttpResponse(body, content_type="application/json")
            for header, value in self.default_response_headers.items():
                response[header] = value  # as finalize_response() sets them
            return response
        return super().dispatch(request, *args, **kwargs)

    def _repeated_read(self, request: Any) -> bytes | None:
        """The cached answer to a GET made with an API key remembered in this process, when the
        key and the answer are both current (one cache round trip, no database): polling
        integrations skip the framework's per-request work. Any doubt (not remembered, stale,
        a session, a last-use time to write) returns None and the call takes the full path.
        Serving another key's answer is sound because reads are not role-restricted (the
        default permissions) and the answer was computed for a request of the same tenant."""
        if request.method != "GET" or self.action_map.get("get") not in ("list", "retrieve"):
            return None
        if self.permission_classes != TenantApiMixin.permission_classes:
            return None
        scheme, _, raw_key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != ApiKeyAuthentication.keyword.lower():
            return None
        return api_key_cached_read(
            raw_key=raw_key.strip(), name=self._cache_name(), parts=request.build_absolute_uri()
        )


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A related row's id: a whole number in the id range (else a 400, never a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def related_id(**kwargs: Any) -> serializers.IntegerField:
    """An input field naming a related row by id; services resolve it within the tenant."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time with any valid offset, compared in UTC: PostgreSQL refuses offsets
    beyond +-15:59 that Python accepts, which would otherwise be a 500."""

    def filter(self, qs: Any, value: Any) -> Any:
        return super().filter(qs, value.astimezone(UTC) if value else value)


class TenantFilterSet(django_filters.FilterSet):
    """Every list: `updated_since` for incremental sync. Related ids filter as plain numbers
    (a model-choice filter would query another table without the tenant)."""

    updated_since = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")


def output_serializer_for(model_class: type, exclude: tuple[str, ...] = ()) -> type:
    """A read-only ModelSerializer of every field but the tenant (related rows by id)."""
    meta = type("Meta", (), {"model": model_class, "exclude": ("tenant", *exclude)})
    name = f"{model_class.__name__}Serializer"
    return type(name, (serializers.ModelSerializer,), {"Meta": meta})


def input_serializer_for(model_class: type, fields: tuple[str, ...], **declared: Any) -> type:
    """A ModelSerializer for writes: types, ranges and lengths checked here, business rules in
    the service. No DRF unique validators: they would query without the tenant."""
    meta = type(
        "Meta", (), {"model": model_class, "fields": (*fields, *declared), "validators": []}
    )
    name = f"{model_class.__name__}InputSerializer"
    return type(name, (serializers.ModelSerializer,), {"Meta": meta, **declared})
