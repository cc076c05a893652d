"""Webhook authenticity: ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(app secret, raw body)).

Shopify signs the raw request body with the app's client secret and sends the base64 digest in
the ``X-Shopify-Hmac-Sha256`` header; there is no timestamp in the signature
(shopify.dev/docs/apps/build/webhooks/verify-deliveries). The body must be verified byte for
byte as received, before any JSON parsing. During a secret rotation both the old and the new
secret are valid, so several secrets may be given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence


def sign_body(secret: str, body: bytes) -> str:
    """The header value Shopify would send for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_webhook(secret: str | Sequence[str], body: bytes, header_value: str | None) -> bool:
    """True when ``header_value`` is a valid signature of ``body`` under any of the secrets.

    Never raises: a missing, empty or non-base64 header is simply not valid. The comparison is
    on the decoded digests with ``hmac.compare_digest`` so timing leaks nothing.
    """
    if not header_value:
        return False
    try:
        presented = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(presented) != hashlib.sha256().digest_size:
        return False
    secrets = (secret,) if isinstance(secret, str) else tuple(secret)
    valid = False
    for candidate in secrets:
        expected = hmac.new(candidate.encode("utf-8"), body, hashlib.sha256).digest()
        # No early exit: every configured secret costs the same, whichever matches.
        valid |= hmac.compare_digest(expected, presented)
    return valid
