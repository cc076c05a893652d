"""Stripe as a ``WebhookSource``: the signature check, the dedup id, and errors as problems.

Stripe names the event in the body, not a header: ``type`` is the topic and ``id`` (``evt_…``)
is the same on every delivery of one event, so it is the dedup key (docs.stripe.com/webhooks,
"Handle duplicate events"). Deliveries may arrive out of order and are retried for up to three
days; the event's ``created`` orders successive reports of one payment.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence

import msgspec

from retailhub.adapters.connectors.kit import AuthError, FatalError, RetriableError
from retailhub.adapters.connectors.stripe import payloads as p
from retailhub.adapters.connectors.stripe.errors import (
    ApiRequired,
    ManualPayout,
    PayloadError,
    PayoutNotReconciled,
    SettlementError,
    UnknownTopic,
)
from retailhub.adapters.connectors.stripe.inbound import StripeReader, translate
from retailhub.adapters.connectors.stripe.signature import (
    DEFAULT_TOLERANCE,
    SignatureCheck,
    verify_stripe_signature,
)
from retailhub.domain.events import InboundEvent
from retailhub.domain.problems import Problem, ProblemType

SIGNATURE_HEADER = "stripe-signature"  # intake lower-cases header names

_HEAD = msgspec.json.Decoder(p.Head)


class StripeWebhooks:
    """Stripe deliveries to one endpoint.

    ``secrets`` are the endpoint's signing secrets (``whsec_…``; two while one is rolled).
    ``api`` fetches what events only point at (a payout's balance transactions, a charge's
    refunds); without it those events become exceptions that say so.
    """

    name = "stripe"

    def __init__(
        self,
        secrets: Sequence[str],
        api: StripeReader | None = None,
        tolerance: int = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secrets = [s for s in secrets if s]
        self.api = api
        self.tolerance = tolerance
        self.clock = clock

    def check(self, headers: Mapping[str, str], body: bytes) -> SignatureCheck:
        """The signature check with the reason for a refusal (for the exception queue)."""
        return verify_stripe_signature(
            self.secrets, body, headers.get(SIGNATURE_HEADER), self.clock(), self.tolerance
        )

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        return self.check(headers, body).ok

    def event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        event_id = self._head(body).id
        if event_id:
            return event_id
        return f"sha256:{hashlib.sha256(body).hexdigest()}"

    def topic(self, headers: Mapping[str, str], body: bytes) -> str:
        return self._head(body).type or ""

    def translate(self, topic: str, body: bytes) -> InboundEvent | Problem:
        where = f"stripe {topic}"
        try:
            return translate(topic, body, self.api)
        except UnknownTopic as exc:
            return Problem(ProblemType.UNKNOWN_TOPIC, f"{where}: {exc}")
        except PayloadError as exc:
            return Problem(ProblemType.INVALID_PAYLOAD, f"{where}: {exc}")
        except ApiRequired as exc:
            return Problem(ProblemType.CONNECTOR_ERROR, f"{where}: {exc}")
        except ManualPayout as exc:
            return Problem(ProblemType.UNMATCHED_DEPOSIT, f"{where}: {exc}", subject=_payout(exc))
        except PayoutNotReconciled as exc:
            return Problem(ProblemType.CONNECTOR_ERROR, f"{where}: {exc}", subject=_payout(exc))
        except SettlementError as exc:
            return Problem(
                ProblemType.INCONSISTENT_DOCUMENT, f"{where}: {exc}", subject=_payout(exc)
            )
        except RetriableError as exc:
            return Problem(
                ProblemType.CONNECTOR_ERROR,
                f"{where}: Stripe could not be read just now, retry later: "
                f"{exc.vendor_message or exc}",
            )
        except AuthError as exc:  # retrying will not help: a person must fix the key
            return Problem(
                ProblemType.CONNECTOR_AUTH_FAILURE,
                f"{where}: Stripe refused the configured API key ({exc.status}): check the "
                f"stripe connector's key and its permissions: {exc.vendor_message or exc}",
            )
        except FatalError as exc:
            return Problem(
                ProblemType.CONNECTOR_ERROR,
                f"{where}: Stripe rejected the request: {exc.vendor_message or exc}",
            )

    @staticmethod
    def _head(body: bytes) -> p.Head:
        try:
            return _HEAD.decode(body)
        except msgspec.MsgspecError:  # not JSON, or not an object: translate will say why
            return p.Head()


def _payout(exc: SettlementError) -> str:
    return f"payout:stripe:{exc.payout_id}"
