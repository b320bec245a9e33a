"""Webhook targets must be public: a tenant must not make our servers call into our own
network (SSRF). Checked when an endpoint is saved and again before every delivery, because
DNS answers can change."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from mfapp.core.exceptions import ApplicationError


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def check_webhook_target(url: str) -> None:
    """Raise ApplicationError unless `url` may receive webhooks."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError(
            "Use an http(s) URL with a host name.", {"fields": {"url": ["Invalid URL."]}}
        )
    if parts.username or parts.password:
        raise ApplicationError(
            "Put no credentials in the URL; verify our signature instead.",
            {"fields": {"url": ["Credentials in the URL are not allowed."]}},
        )
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    if parts.scheme != "https":
        raise ApplicationError("Webhook URLs must use https.", {"fields": {"url": ["Use https."]}})
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise ApplicationError(
            f"The host {parts.hostname} does not resolve.", {"fields": {"url": ["Unknown host."]}}
        ) from None
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(_is_public(address) for address in addresses):
        raise ApplicationError(
            f"The host {parts.hostname} is not a public address; webhooks only go to the "
            "internet, never to private, loopback or link-local networks.",
            {"fields": {"url": ["Not a public address."]}},
        )
