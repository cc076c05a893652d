"""Square as a ``WebhookSource``: signature, dedup id, topic, and the fetch behind order events.

Dedup uses the body's ``event_id``, which Square documents as the idempotency value to skip
repeats (developer.squareup.com/docs/webhooks). The topic is the body's ``type``. Order
notifications carry only a stub, so ``translate`` fetches the order through ``SquareApi``; a
failed or stale fetch is a ``CONNECTOR_ERROR`` problem, kept with the delivery to be retried.
Square publishes ``order.created`` only for orders made through the CreateOrder API ("Creating
an order in the Point of Sale app will not publish this event", webhook reference), and
documents ``order.updated`` for UpdateOrder, Order Manager and the Dashboard. So a register sale
may announce itself only through its payments: a scheduled ``SquareApi.search_orders`` pass
(orders updated since the last run, mapped with ``parse_order`` + ``order_events``) is what
guarantees every sale and return arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from retailhub.adapters.connectors.kit import AuthError, ConnectorError, RetriableError
from retailhub.adapters.connectors.square import inbound
from retailhub.adapters.connectors.square import payloads as p
from retailhub.adapters.connectors.square.api import SquareApi
from retailhub.adapters.connectors.square.errors import PayloadError, UnknownTopic, UnlinkedReturn
from retailhub.adapters.connectors.square.returns import unknown_refund_tenders
from retailhub.adapters.connectors.square.signature import HEADER, verify_signature
from retailhub.adapters.connectors.square.values import SYSTEM
from retailhub.domain.events import InboundEvent
from retailhub.domain.problems import Problem, ProblemType


class SquareWebhooks:
    """Square deliveries to one notification URL. Header names are lower-cased by intake."""

    name = SYSTEM

    def __init__(
        self,
        signature_keys: Sequence[str],
        notification_url: str,
        api: SquareApi | None = None,
        channel: str = "pos",
    ) -> None:
        self.signature_keys = [k for k in signature_keys if k]
        self.notification_url = notification_url
        self.api = api
        self.channel = channel

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        return bool(self.signature_keys) and verify_signature(
            self.signature_keys, self.notification_url, body, headers.get(HEADER)
        )

    def event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        return inbound.event_id(body)

    def topic(self, headers: Mapping[str, str], body: bytes) -> str:
        env = inbound.envelope(body)
        return (env.type or "") if env is not None else ""

    def translate(self, topic: str, body: bytes) -> InboundEvent | Problem:
        try:
            if topic in inbound.ORDER_TOPICS:
                return self._order(topic, inbound.order_stub(topic, body))
            return inbound.translate(topic, body)
        except UnknownTopic as exc:
            return Problem(ProblemType.UNKNOWN_TOPIC, f"square {topic!r}: {exc}")
        except UnlinkedReturn as exc:
            return Problem(ProblemType.UNLINKED_RETURN, f"square {topic}: {exc}")
        except PayloadError as exc:
            return Problem(ProblemType.INVALID_PAYLOAD, f"square {topic}: {exc}")

    def _order(self, topic: str, stub: p.OrderStub) -> InboundEvent | Problem:
        subject = f"order:{SYSTEM}:{stub.order_id}"
        what = f"square {topic} for order {stub.order_id} at location {stub.location_id}"
        if self.api is None:
            return Problem(
                ProblemType.CONNECTOR_ERROR,
                f"{what}: the notification carries only the order id, and no Square API access "
                "token is configured to fetch the order",
                subject=subject,
            )
        try:
            found = [
                raw
                for raw in self.api.retrieve_orders(stub.location_id, [stub.order_id])
                if raw.get("id") == stub.order_id
            ]
            if not found:
                return Problem(
                    ProblemType.CONNECTOR_ERROR,
                    f"{what}: BatchRetrieveOrders did not return the order (not visible yet, "
                    "or another location); retry later",
                    subject=subject,
                )
            order = inbound.parse_order(found[0])
            stale = _stale(stub, order)
            if stale:
                return Problem(ProblemType.CONNECTOR_ERROR, f"{what}: {stale}", subject=subject)
            types: dict[str, str] = {}
            if unknown_refund_tenders(order):  # the refunded tenders are on the original sales
                sales = sorted({r.source_order_id for r in order.returns if r.source_order_id})
                types = inbound.tender_types(self.api.retrieve_orders(None, sales))
        except ConnectorError as exc:
            when = "retry later" if isinstance(exc, RetriableError) else "fix, then retry"
            detail = exc.vendor_message or str(exc)
            return Problem(
                # Refused credentials will not come right by retrying: a person must fix them.
                ProblemType.CONNECTOR_AUTH_FAILURE
                if isinstance(exc, AuthError)
                else ProblemType.CONNECTOR_ERROR,
                f"{what}: fetching the order failed ({when}): {detail}",
                subject=subject,
            )
        return inbound.order_events(order, channel=self.channel, tender_types=types)


def _stale(stub: p.OrderStub, order: p.Order) -> str | None:
    """Why the fetched order is older than the notification, or None if it is not."""
    if stub.version is not None and order.version is not None and order.version < stub.version:
        return (
            f"stale read: fetched version {order.version} but the notification is for version "
            f"{stub.version}; retry later"
        )
    if stub.updated_at is not None and order.updated_at < stub.updated_at:
        return (
            f"stale read: fetched order updated {order.updated_at.isoformat()} but the "
            f"notification is for {stub.updated_at.isoformat()}; retry later"
        )
    return None
