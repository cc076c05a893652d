"""``ShopifyGraphqlInventoryPush``: the availability push target for Shopify's GraphQL Admin API.

Why GraphQL: the REST target (``inventory_push.py``) is one ``inventory_levels/set`` call per level
at 2 calls a second, so correcting 100 SKUs after a flash sale takes about 50 s. GraphQL's
``inventorySetQuantities`` mutation sets up to 250 levels in one call ("Input arguments that accept
an array have a maximum size of 250", shopify.dev/docs/api/usage/limits, "Maximum input array
size limit"), and it costs about 10 points of a bucket that restores 50 to 100 points a second.
So a whole flash sale's levels fit in one call a second with room to spare.

The mutation (shopify.dev/docs/api/admin-graphql/2025-10/mutations/inventorySetQuantities)::

    inventorySetQuantities(input: {name: "available", reason: "correction",
        referenceDocumentUri: "gid://retailhub/AvailabilityPush/…", ignoreCompareQuantity: true,
        quantities: [{inventoryItemId: "gid://shopify/InventoryItem/…",
                      locationId: "gid://shopify/Location/…", quantity: 7}]})
      { inventoryAdjustmentGroup { createdAt reason } userErrors { code field message } }

* Levels are absolute, so a resend is harmless. ``ignoreCompareQuantity: true`` opts out of
  compare-and-set: the hub is the source of truth for availability, and the mutation's note says
  to set quantities only "on behalf of a system that acts as the source of truth".
  Version notes: ``@idempotent`` becomes optional in 2026-01 and required in 2026-04, and in
  2026-04 ``changeFromQuantity`` replaces ``ignoreCompareQuantity``. So moving the pinned version
  past 2026-01 needs changes here.
* ``userErrors[].field`` is the input path, e.g. ``["input", "quantities", "3", "locationId"]``
  (InventorySetQuantitiesUserError). Such an error fails item 3 only. An error with no quantity
  index (``INVALID_REASON``) fails the whole call. Shopify does not document whether the other
  quantities were applied when some failed. So the rest are sent again without the failed ones.
  That is harmless, because levels are absolute.
* A negative level is sent as 0. ``INVALID_QUANTITY_NEGATIVE`` ("The quantity can't be
  negative", InventorySetQuantitiesUserErrorCode) would refuse it, and 0 already means "do not
  sell".

Rate limits (shopify.dev/docs/api/usage/limits, "GraphQL Admin API rate limits"): a leaky bucket of
points per app and store. A call needs its *requested* cost available before it runs, and the
difference to the actual cost is refunded afterwards. Every response carries
``extensions.cost {requestedQueryCost, actualQueryCost, throttleStatus {maximumAvailable,
currentlyAvailable, restoreRate}}``. Figures differ by source. The 2023 page's example shows
1000 points restoring 50/s. The current table says 100 points/s on standard plans (200 Advanced,
1000 Plus), and live responses in public code show ``maximumAvailable: 2000, restoreRate: 100``.
``CostBucket`` therefore starts from the smallest figures (1000, 50/s) and takes the shop's real
ones from the first response. Over the limit, Shopify answers HTTP 200 with ``errors:
[{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]`` and does not run the mutation.
The client then waits ``(requestedQueryCost − currentlyAvailable) / restoreRate`` and sends it
again.

The cost estimate: "Mutation: 10" in the cost table (same page, "Cost calculation"), and scalars
and enums cost 0. The input array is not part of the cost model, and public captures of mutation
responses show ``requestedQueryCost: 10``. So a call is estimated at 10 points until Shopify
reports the real ``requestedQueryCost``, which then becomes the estimate. If Shopify costs it
higher (it "reserves the right to set manual costs"), a THROTTLED answer corrects the estimate.

An unknown or revoked token is HTTP 401 ``{"errors": "[API] Invalid API key or access token …"}``,
the same as REST. A missing ``write_inventory`` scope is HTTP 200 with ``ACCESS_DENIED``. Neither
is retried, and each fails every level of the call with Shopify's own words.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from retailhub.adapters.connectors.kit import (
    ApiClient,
    AuthError,
    ConnectorError,
    RetriableError,
    RetryPolicy,
)
from retailhub.adapters.connectors.shopify.inventory_push import shopify_id
from retailhub.services.availability_push import LevelUpdate, PushResult

API_VERSION = "2025-10"
MAX_QUANTITIES = 250  # "Maximum input array size limit" (shopify.dev/docs/api/usage/limits)
MUTATION_COST = 10.0  # cost table, "Mutation: 10" (same page, "Cost calculation")
# Before the shop's first answer: the smallest published bucket (1000 points, 50/s restore).
DEFAULT_BUCKET_POINTS = 1000.0
DEFAULT_RESTORE_RATE = 50.0
# "The recommended backoff time is one second" (same page, "Avoiding rate limit errors"): used
# when a THROTTLED answer comes without throttleStatus to compute the wait from.
FALLBACK_BACKOFF = 1.0
REASON = "correction"  # "Used to correct an inventory error" (inventory quantities, reasons)
_EXCERPT = 300

SET_AVAILABLE = """\
mutation RetailhubSetAvailable($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { createdAt reason }
    userErrors { code field message }
  }
}"""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def shopify_gid(value: str, kind: str) -> str:
    """``gid://shopify/{kind}/123`` from ``"123"`` or the gid itself; ValueError otherwise."""
    return f"gid://shopify/{kind}/{shopify_id(value, kind)}"


@dataclass(frozen=True, slots=True)
class QueryCost:
    """``extensions.cost`` of one answer; ``None`` where Shopify left a figure out."""

    requested: float | None
    actual: float | None
    maximum: float | None
    available: float | None
    restore_rate: float | None

    @classmethod
    def of(cls, payload: Any) -> QueryCost | None:
        extensions = payload.get("extensions") if isinstance(payload, dict) else None
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return None
        throttle = cost.get("throttleStatus")
        status = throttle if isinstance(throttle, dict) else {}
        return cls(
            requested=_number(cost.get("requestedQueryCost")),
            actual=_number(cost.get("actualQueryCost")),
            maximum=_number(status.get("maximumAvailable")),
            available=_number(status.get("currentlyAvailable")),
            restore_rate=_number(status.get("restoreRate")),
        )

    def describe(self) -> str:
        spent = self.actual if self.actual is not None else self.requested
        left = "?" if self.available is None else f"{self.available:g}"
        of = "?" if self.maximum is None else f"{self.maximum:g}"
        return f"cost {'?' if spent is None else f'{spent:g}'}, {left}/{of} points left"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class CostBucket:
    """The shop's GraphQL point bucket as this client sees it: waits before a call that would
    overdraw it, and takes Shopify's figures from every answer.

    Share one instance between every GraphQL client of the same app on the same shop, as the
    bucket is per app and store. ``headroom`` points are kept in reserve against the shop's
    restore clock running slightly behind ours.
    """

    def __init__(
        self,
        maximum: float = DEFAULT_BUCKET_POINTS,
        restore_rate: float = DEFAULT_RESTORE_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        headroom: float = 1.0,
    ) -> None:
        if maximum <= 0 or restore_rate <= 0:
            raise ValueError("maximum and restore_rate must be positive")
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.headroom = headroom
        self._available = maximum
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._in_flight = 0
        # Held while sleeping on purpose, as the kit's RateLimiter: waiters queue up in order.
        self._lock = threading.Lock()

    @property
    def available(self) -> float:
        with self._lock:
            self._restore()
            return self._available

    def reserve(self, cost: float) -> float:
        """Take ``cost`` points, sleeping first until the bucket holds them; seconds slept."""
        with self._lock:
            cost = min(cost, self.maximum - self.headroom)
            self._restore()
            waited = 0.0
            short = cost + self.headroom - self._available
            if short > 0:
                waited = short / self.restore_rate
                self._sleep(waited)
                self._restore()
            self._available -= cost
            self._in_flight += 1
            return waited

    def settle(self, cost: QueryCost | None) -> None:
        """A reserved call was answered; ``cost`` is its ``extensions.cost`` (None: no answer)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if cost is None:
                return
            if cost.maximum is not None and cost.maximum > 0:
                self.maximum = cost.maximum
            if cost.restore_rate is not None and cost.restore_rate > 0:
                self.restore_rate = cost.restore_rate
            if cost.available is not None:
                self._restore()
                if self._in_flight:
                    # Another call's reservation is not in Shopify's figure yet: keep the lower.
                    self._available = min(self._available, cost.available)
                else:
                    self._available = cost.available
                self._available = min(self._available, self.maximum)

    def _restore(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._available = min(self.maximum, self._available + elapsed * self.restore_rate)
        self._updated = now


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one mutation call came to."""

    status: int | None
    cost: QueryCost | None
    item_errors: dict[int, str]  # index in the call's quantities -> Shopify's words
    call_error: str | None = None  # the whole call failed
    retriable: bool = False
    throttled: bool = False


class ShopifyGraphqlInventoryPush:
    """Sets Shopify ``available`` levels with ``inventorySetQuantities``, up to 250 per call."""

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        max_batch: int = MAX_QUANTITIES,
        bucket: CostBucket | None = None,
        retry: RetryPolicy | None = None,
        max_throttled: int = 5,
        reason: str = REASON,
        timeout: float = 30.0,
    ) -> None:
        if not 1 <= max_batch <= MAX_QUANTITIES:
            raise ValueError(f"max_batch must be between 1 and {MAX_QUANTITIES}, got {max_batch}")
        self._max_batch = max_batch
        self._clock = clock
        self._sleep = sleep
        self._reason = reason
        self._max_throttled = max_throttled
        self.bucket = bucket or CostBucket(clock=monotonic, sleep=sleep)
        self.estimate = MUTATION_COST  # points one call is expected to cost (see module doc)
        self.client = ApiClient(
            f"{shop_url.rstrip('/')}/admin/api/{api_version}/",
            headers={"X-Shopify-Access-Token": access_token, "Accept": "application/json"},
            retry=retry or RetryPolicy(max_attempts=5, base=0.5, cap=60.0),
            transport=transport,
            timeout=timeout,
            sleep=sleep,
        )

    def close(self) -> None:
        self.client.close()

    @property
    def max_batch(self) -> int:
        """Levels per call: the mutation's cost does not grow with them, so always the most."""
        return self._max_batch

    def push(self, updates: Sequence[LevelUpdate]) -> list[PushResult]:
        results: list[PushResult | None] = [None] * len(updates)
        sendable: list[tuple[int, dict[str, Any]]] = []
        for index, update in enumerate(updates):
            try:
                quantity = {
                    "inventoryItemId": shopify_gid(update.item_id, "InventoryItem"),
                    "locationId": shopify_gid(update.location_id, "Location"),
                    "quantity": max(0, update.quantity),
                }
            except ValueError as exc:
                results[index] = PushResult(update, False, None, str(exc))
            else:
                sendable.append((index, quantity))
        refused: str | None = None
        for start in range(0, len(sendable), self._max_batch):
            chunk = sendable[start : start + self._max_batch]
            if refused is not None:  # credentials refused: the same token would be refused again
                for index, _ in chunk:
                    results[index] = PushResult(updates[index], False, None, refused)
                continue
            answered = self._set(updates, chunk)
            for index, result in answered.items():
                results[index] = result
            if any(r.status in (401, 403) for r in answered.values()):
                refused = "not sent: credentials refused earlier in this batch"
        return [r for r in results if r is not None]

    def _set(
        self, updates: Sequence[LevelUpdate], chunk: list[tuple[int, dict[str, Any]]]
    ) -> dict[int, PushResult]:
        """One mutation for ``chunk``; a quantity Shopify refused is dropped and the rest sent
        again, since Shopify does not say whether it applied them (module doc)."""
        done: dict[int, PushResult] = {}
        waiting = list(chunk)
        while waiting:
            answer = self._call([updates[i] for i, _ in waiting], [q for _, q in waiting])
            if answer.call_error is not None:
                for index, _ in waiting:
                    done[index] = PushResult(
                        updates[index], False, answer.status, answer.call_error[:_EXCERPT],
                        retriable=answer.retriable,
                    )  # fmt: skip
                break
            if not answer.item_errors:
                acked = self._clock()
                spent = answer.cost.describe() if answer.cost else "cost not reported"
                for index, quantity in waiting:
                    text = _accepted(updates[index], quantity, spent)
                    done[index] = PushResult(
                        updates[index], True, answer.status, text, acked_at=acked
                    )
                break
            still: list[tuple[int, dict[str, Any]]] = []
            for position, (index, quantity) in enumerate(waiting):
                error = answer.item_errors.get(position)
                if error is None:
                    still.append((index, quantity))
                    continue
                where = f"{quantity['inventoryItemId']} at {quantity['locationId']}"
                text = f"Shopify refused {where}: {error}"
                done[index] = PushResult(updates[index], False, answer.status, text[:_EXCERPT])
            waiting = still
        return done

    def _call(self, updates: Sequence[LevelUpdate], quantities: list[dict[str, Any]]) -> _Answer:
        """Send one mutation, waiting out THROTTLED answers up to ``max_throttled`` times."""
        variables = {
            "input": {
                "name": "available",
                "reason": self._reason,
                "referenceDocumentUri": _reference(updates),
                "ignoreCompareQuantity": True,
                "quantities": quantities,
            }
        }
        body = {"query": SET_AVAILABLE, "variables": variables}
        answer = _Answer(None, None, {}, "not sent", retriable=True)
        for _ in range(self._max_throttled + 1):
            self.bucket.reserve(self.estimate)
            answer = self._send(body)
            self.bucket.settle(answer.cost)
            if answer.cost is not None and answer.cost.requested is not None:
                self.estimate = answer.cost.requested
            if not answer.throttled:
                return answer
            if answer.cost is None or answer.cost.available is None:
                self._sleep(FALLBACK_BACKOFF)
            # Otherwise the bucket now holds Shopify's figure, and the next reserve() waits
            # (requestedQueryCost - currentlyAvailable) / restoreRate before sending again.
        return answer

    def _send(self, body: dict[str, Any]) -> _Answer:
        try:
            # read_only: the kit replays it after a timeout or 5xx; setting absolute levels twice
            # leaves the same levels, so the replay is safe though the call is a write.
            response = self.client.send("POST", "graphql.json", json=body, read_only=True)
        except AuthError as exc:
            return _Answer(
                exc.status, None, {}, _error_text("Shopify refused the credentials", exc)
            )
        except RetriableError as exc:
            return _Answer(exc.status, None, {}, _error_text("Shopify did not answer", exc), True)
        except ConnectorError as exc:
            return _Answer(exc.status, None, {}, _error_text("Shopify refused the call", exc))
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            text = f"Shopify answered {status} with a body that is not JSON: {response.text}"
            return _Answer(status, None, {}, text, retriable=True)
        return _read(status, payload)


def _read(status: int, payload: Any) -> _Answer:
    """The answer in a GraphQL body: throttled, a call error, per-item errors, or success."""
    cost = QueryCost.of(payload)
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        codes = _error_codes(errors)
        message = _errors_text(errors)
        if "THROTTLED" in codes:
            return _Answer(status, cost, {}, f"Shopify throttled the call: {message}", True, True)
        # INTERNAL_SERVER_ERROR may succeed next time; ACCESS_DENIED (missing write_inventory
        # scope), MAX_COST_EXCEEDED, MAX_INPUT_SIZE_EXCEEDED or a schema error never will.
        retriable = "INTERNAL_SERVER_ERROR" in codes
        return _Answer(status, cost, {}, f"Shopify refused the call: {message}", retriable)
    data = payload.get("data") if isinstance(payload, dict) else None
    result = data.get("inventorySetQuantities") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        text = f"Shopify answered without inventorySetQuantities: {json.dumps(payload)}"
        return _Answer(status, cost, {}, text)
    item_errors: dict[int, str] = {}
    for error in result.get("userErrors") or []:
        if not isinstance(error, dict):
            continue
        raw_field = error.get("field")
        field: list[Any] = raw_field if isinstance(raw_field, list) else []
        words = f"{error.get('code') or 'ERROR'}: {error.get('message', '')}"
        if field:
            words += f" (input path {'.'.join(str(part) for part in field)})"
        index = _quantity_index(field)
        if index is None:  # not about one quantity (INVALID_REASON …): the whole call failed
            return _Answer(status, cost, {}, f"Shopify refused the call: {words}")
        item_errors[index] = f"{item_errors[index]}; {words}" if index in item_errors else words
    return _Answer(status, cost, item_errors)


def _quantity_index(field: Sequence[Any]) -> int | None:
    """3 for ``["input", "quantities", "3", "locationId"]``; None if no quantity is named."""
    parts = [str(part) for part in field]
    for position, part in enumerate(parts[:-1]):
        if part == "quantities" and parts[position + 1].isdigit():
            return int(parts[position + 1])
    return None


def _error_codes(errors: Any) -> set[str]:
    if not isinstance(errors, list):
        return set()
    codes = set()
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, Mapping) and isinstance(extensions.get("code"), str):
            codes.add(extensions["code"])
    return codes


def _errors_text(errors: Any) -> str:
    if not isinstance(errors, list):
        return str(errors)
    parts = []
    for error in errors:
        if not isinstance(error, dict):
            parts.append(str(error))
            continue
        extensions = error.get("extensions")
        code = extensions.get("code") if isinstance(extensions, dict) else None
        message = str(error.get("message", error))
        parts.append(f"{code}: {message}" if code else message)
    return "; ".join(parts)


def _error_text(what: str, error: ConnectorError) -> str:
    text = f"{what}: {error}"
    if error.body and error.body not in text:
        text = f"{text} | {error.body}"
    return text


def _accepted(update: LevelUpdate, quantity: Mapping[str, Any], spent: str) -> str:
    sent = quantity["quantity"]
    note = f" (hub level {update.quantity} sent as 0)" if sent != update.quantity else ""
    where = f"{quantity['inventoryItemId']} at {quantity['locationId']}"
    return f'{{"available": {sent}}} set for {where}{note}; {spent}'


def _reference(updates: Sequence[LevelUpdate]) -> str:
    """``referenceDocumentUri``: shown in the shop's inventory history as the change's source.

    The preferred form is ``gid://[app]/[entity]/[id]`` (InventorySetQuantitiesInput); the id is
    when the hub read the oldest level in the call, so the audit's ``as_of`` finds it.
    """
    as_of = min((u.as_of for u in updates), default=None)
    stamp = "unknown" if as_of is None else as_of.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"gid://retailhub/AvailabilityPush/{stamp}"


__all__ = [
    "API_VERSION",
    "MAX_QUANTITIES",
    "MUTATION_COST",
    "SET_AVAILABLE",
    "CostBucket",
    "QueryCost",
    "ShopifyGraphqlInventoryPush",
    "shopify_gid",
]
