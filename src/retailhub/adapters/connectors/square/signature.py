"""Webhook authenticity: ``x-square-hmacsha256-signature`` is
base64(HMAC-SHA256(signature key, notification URL + raw body)).

Square signs the notification URL exactly as configured on the subscription, followed by the raw
request body (developer.squareup.com/docs/webhooks/step3validate; the official SDK's
``square.utils.webhooks_helper.verify_signature`` does the same). A proxy that rewrites the URL
(http → https, a different host or path) breaks every signature, so the URL is configuration,
never taken from the incoming request. Each subscription has its own signature key, and a key can
be replaced in the Developer Console; during that rotation both keys are accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

HEADER = "x-square-hmacsha256-signature"


def sign(signature_key: str, notification_url: str, body: bytes) -> str:
    """The header value Square would send for ``body`` delivered to ``notification_url``."""
    return base64.b64encode(_digest(signature_key, notification_url, body)).decode("ascii")


def verify_signature(
    signature_keys: str | Sequence[str],
    notification_url: str,
    body: bytes,
    header_value: str | None,
) -> bool:
    """True when ``header_value`` signs ``notification_url`` + ``body`` under any of the keys.

    Never raises: a missing, empty or non-base64 header is simply not valid. Decoded digests are
    compared with ``hmac.compare_digest``, and every key is tried, so timing leaks nothing.
    """
    if not header_value or not notification_url:
        return False
    try:
        presented = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(presented) != hashlib.sha256().digest_size:
        return False
    keys = (signature_keys,) if isinstance(signature_keys, str) else tuple(signature_keys)
    valid = False
    for key in keys:
        if key:
            valid |= hmac.compare_digest(_digest(key, notification_url, body), presented)
    return valid


def _digest(signature_key: str, notification_url: str, body: bytes) -> bytes:
    message = notification_url.encode("utf-8") + body
    return hmac.new(signature_key.encode("utf-8"), message, hashlib.sha256).digest()
