"""API-key authentication: `Authorization: Bearer mfk_…` resolves exactly one tenant."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from mfapp.core import rls
from mfapp.tenancy.models import ApiKey
from mfapp.tenancy.services import api_key_authenticate


class ApiKeyPrincipal:
    """request.user for a call made with an API key: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    pk = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def get_username(self) -> str:
        return f"api-key:{self.api_key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer mfk_…` resolves exactly one tenant."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        api_key = api_key_authenticate(raw_key=raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        rls.set_tenant(api_key.tenant_id)  # the rest of the call runs as the key's tenant
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
