"""Webhook authenticity: the ``Stripe-Signature`` header, checked against the raw body.

Stripe sends ``Stripe-Signature: t=1492774577,v1=5257a869…,v1=…,v0=…``. ``t`` is the Unix time
of signing and each ``v1`` is hex(HMAC-SHA256(endpoint secret ``whsec_…``, "{t}.{raw body}"))
(docs.stripe.com/webhooks, "Verify signatures manually"). While an endpoint secret is being
rolled Stripe signs with both the old and the new secret, so one header carries several ``v1``
values and one of them must match one of ours. ``v0`` is a test-mode scheme signed with a
different key and is ignored, as are schemes we do not know.

The timestamp is part of the signed payload, so a captured delivery cannot be replayed with a
fresh ``t``; deliveries older than ``tolerance`` seconds (300 by default, as in every Stripe
SDK: stripe-python ``Webhook.DEFAULT_TOLERANCE``, stripe-go ``DefaultTolerance``) are refused.
Stripe's SDKs refuse only *old* timestamps; a ``t`` more than ``tolerance`` in the future is
refused here too (a clock that far ahead is itself a reason to look).

Parsing follows stripe-python ``WebhookSignature``: items split on ``,``, each on the first
``=``, no whitespace trimming, items that are not ``key=value`` ignored, and the signed payload
uses the integer value of ``t``. It is stricter on ``t``: exactly one, ASCII digits only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

SCHEME = "v1"
DEFAULT_TOLERANCE = 300

# Reasons for a refusal, worded for the exception queue.
MALFORMED = "malformed Stripe-Signature header"
MISSING = "no Stripe-Signature header"
NO_SECRET = "no webhook signing secret configured"
NO_V1 = "Stripe-Signature header carries no v1 signature"
WRONG = "wrong signature: no v1 value matches any configured signing secret"
STALE = "timestamp outside tolerance"


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The outcome of a check: truthy when valid; ``reason`` says why not."""

    ok: bool
    reason: str = ""
    timestamp: int | None = None

    def __bool__(self) -> bool:
        return self.ok


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """hex(HMAC-SHA256(secret, "{timestamp}.{body}")): one ``v1`` value."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(secrets: str | Sequence[str], body: bytes, timestamp: int) -> str:
    """The header Stripe would send for ``body`` signed at ``timestamp`` with each secret."""
    keys = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    v1 = ",".join(f"{SCHEME}={compute_signature(k, timestamp, body)}" for k in keys)
    return f"t={timestamp},{v1}"


def parse_header(header: str) -> tuple[int, list[str]] | None:
    """``(t, [v1 …])`` from a header value, or None when it is not one Stripe would send."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.partition("=")
        if not sep:  # not key=value: skipped, as stripe-python does
            continue
        if key == "t":
            # One timestamp, ASCII digits only (int() alone would take "+1", " 1" or "1_0").
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                return None
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        return None
    return timestamp, signatures


def verify_stripe_signature(
    secrets: Sequence[str],
    body: bytes,
    header: str | None,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> SignatureCheck:
    """Check ``header`` (the ``Stripe-Signature`` value) for the raw ``body`` at time ``now``.

    Never raises. Valid when any ``v1`` equals the expected signature under any of ``secrets``
    and ``|now - t| <= tolerance``. Every (secret, v1) pair is compared with
    ``hmac.compare_digest`` and without an early exit, so timing does not tell which matched.
    """
    keys = [s for s in secrets if s]
    if not keys:
        return SignatureCheck(False, NO_SECRET)
    if not header:
        return SignatureCheck(False, MISSING)
    parsed = parse_header(header)
    if parsed is None:
        return SignatureCheck(False, MALFORMED)
    timestamp, presented = parsed
    if not presented:
        return SignatureCheck(False, NO_V1, timestamp)
    matched = False
    for key in keys:
        expected = compute_signature(key, timestamp, body).encode("ascii")
        for candidate in presented:
            matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    if not matched:
        return SignatureCheck(False, WRONG, timestamp)
    age = now - timestamp
    if abs(age) > tolerance:
        when = f"{int(age)} s old" if age > 0 else f"{int(-age)} s in the future"
        return SignatureCheck(False, f"{STALE}: signed {when}, tolerance {tolerance} s", timestamp)
    return SignatureCheck(True, "", timestamp)
