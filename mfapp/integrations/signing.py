"""Webhook signatures: `X-Mfapp-Signature: t=<unix time>,v1=<hex HMAC-SHA256>` over
"<t>.<raw body>" with the endpoint's secret (the scheme Stripe popularised)."""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Mfapp-Signature"
TOLERANCE_SECONDS = 300


def sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(*, secret: str, body: bytes, header: str, now: int | None = None) -> bool:
    """What a receiver runs (see docs/api.md): right secret, untouched body, recent time."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    now = int(time.time()) if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
