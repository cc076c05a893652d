"""Local fake Shopify and Square inventory servers that enforce the vendors' documented rules.

Real HTTP servers (``ThreadingHTTPServer`` on 127.0.0.1, a free port) for the availability push
tests and ``bench/flash_sale.py``. Each records every level it holds (``writes``) and every request
with the time it arrived (``calls``), so a test or the benchmark can say when a level became right.

Rules enforced, with where each comes from:

Shopify REST Admin (shopify.dev/docs/api/admin-rest/usage/rate-limits; vendor-formats.md §1)
  * ``X-Shopify-Access-Token`` must match, else 401 ``{"errors": "[API] Invalid API key or access
    token (unrecognized login or wrong password)"}``;
  * a leaky bucket of ``bucket`` (40) requests leaking ``leak_per_second`` (2) a second: a request
    that would overflow it is answered 429 with ``Retry-After`` in seconds (``"2.0"`` form) and
    ``{"errors": "Exceeded 2 calls per second for api client. ..."}``, and is not counted;
  * every response carries ``X-Shopify-Shop-Api-Call-Limit: n/40``;
  * ``POST /admin/api/{version}/inventory_levels/set.json`` with integer ``location_id``,
    ``inventory_item_id`` and ``available``, answered with the InventoryLevel (the shape of
    Shopify/shopify_python_api ``test/fixtures/inventory_level.json``); missing or non-integer
    parameters are 400 ``{"errors": {"field": "Required parameter missing or invalid"}}``;
    ``GET /admin/api/{version}/inventory_levels.json?inventory_item_ids=…&location_ids=…`` reads.

Shopify GraphQL Admin, on the same fake shop and levels (shopify.dev/docs/api/usage/limits,
"GraphQL Admin API rate limits"; admin-graphql/2025-10/mutations/inventorySetQuantities)
  * ``POST /admin/api/{version}/graphql.json`` with ``{"query", "variables"}``; the same token
    check and 401 body as REST; the REST request bucket does not count GraphQL calls (separate
    limits);
  * the fake runs one operation, ``inventorySetQuantities(input: $input)`` (it matches the query
    text, it does not parse GraphQL), and checks the variables: ``name`` is ``available`` or
    ``on_hand``, ``reason`` one of the documented reasons, ``quantities`` at most 250 (top-level
    ``MAX_INPUT_SIZE_EXCEEDED``, "The input array size of 251 is greater than the maximum allowed
    of 250."), gids ``gid://shopify/InventoryItem/<n>`` and ``gid://shopify/Location/<n>``, an
    integer ``quantity`` (a wrong type is a top-level ``INVALID_VARIABLE``);
  * ``userErrors`` per quantity with the documented codes and input paths (``field: ["input",
    "quantities", "3", "inventoryItemId"]``): ``INVALID_INVENTORY_ITEM`` / ``INVALID_LOCATION``
    (malformed, or not in ``known_items`` / ``known_locations``), ``INVALID_QUANTITY_NEGATIVE``,
    ``INVALID_QUANTITY_TOO_HIGH``, ``COMPARE_QUANTITY_REQUIRED`` / ``COMPARE_QUANTITY_STALE``
    unless ``ignoreCompareQuantity``, ``NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR``; whole-call
    ``INVALID_NAME``, ``INVALID_REASON``, ``INVALID_REFERENCE_DOCUMENT``. Whether Shopify applies
    the other quantities when one fails is not documented: by default nothing is applied
    (``inventoryAdjustmentGroup: null``); ``partial_apply=True`` applies the valid ones;
  * cost: ``mutation_cost`` (10: the cost table's "Mutation: 10") plus ``cost_per_quantity``
    (0 by default: the input array is not in the documented cost model; set it to test a client
    against a costlier shop). A call over 1,000 points is refused (``MAX_COST_EXCEEDED``, "Single
    query limit");
  * a leaky point bucket of ``graphql_points`` (1000) restoring ``graphql_restore_rate`` (50) a
    second, the older and stricter published figures (current pages say 100/s on standard
    plans). A call needs its requested cost available before it runs; if not, HTTP 200
    ``{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}`` and nothing is
    applied or charged;
  * every GraphQL answer carries ``extensions.cost`` with ``requestedQueryCost``,
    ``actualQueryCost`` (null when throttled) and ``throttleStatus {maximumAvailable,
    currentlyAvailable, restoreRate}``.

Square Inventory API (developer.squareup.com reference; vendor-formats.md §2)
  * ``Authorization: Bearer <token>``, else 401 AUTHENTICATION_ERROR / UNAUTHORIZED;
  * ``idempotency_key`` required (400 MISSING_REQUIRED_PARAMETER); the same key with the same body
    returns the first answer without applying anything again, with another body 400
    IDEMPOTENCY_KEY_REUSED (docs/working-with-apis/idempotency);
  * at most 100 changes (400 ARRAY_LENGTH_TOO_LONG); PHYSICAL_COUNT changes need
    ``catalog_object_id``, ``location_id``, a decimal-string ``quantity``, ``state`` and an
    ``occurred_at`` neither in the future nor older than 24 hours (InventoryPhysicalCount);
  * counts are ordered by ``occurred_at``: a count older than the one held does not replace it
    ("changes are applied based on the client-supplied timestamp and may be sent out of order");
  * ``requests_per_second`` as a token bucket; over it, 429 RATE_LIMIT_ERROR / RATE_LIMITED with no
    ``Retry-After`` (Square does not document its limits; vendor-formats.md §2).

The clock is injectable (``FakeClock``), so tests can share one simulated time between the
server's bucket and the client's limiter and run 80 simulated seconds in milliseconds.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_http import LocalServer

Answer = tuple[int, dict[str, str], Any]

SHOPIFY_TOKEN = "shpat_00000000000000000000000000000000"
SQUARE_TOKEN = "EAAAl-fake-square-access-token"
SHOPIFY_THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted "
    "service."
)


class FakeClock:
    """Simulated time: ``monotonic`` seconds and a matching UTC ``now``; ``sleep`` advances it."""

    def __init__(self, start: datetime = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)) -> None:
        self._lock = threading.Lock()
        self._seconds = 1000.0
        self._start = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._seconds

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._seconds - 1000.0)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._seconds += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._seconds += seconds


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it."""

    at: float
    method: str
    path: str
    status: int
    body: Any
    idempotency_key: str | None = None
    error_code: str | None = None  # GraphQL: the first ``errors[].extensions.code`` (THROTTLED)


@dataclass(frozen=True)
class LevelWrite:
    """A level the fake started holding at ``at``: key is (item, location) in vendor ids."""

    at: float
    item: str
    location: str
    quantity: int


class _FakeServer(LocalServer):
    """A ThreadingHTTPServer whose requests are answered by ``answer`` under one lock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""
        self.calls: list[Call] = []
        self.writes: list[LevelWrite] = []



    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            status, extra, payload = self.answer(method, handler.path, headers, raw)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        raise NotImplementedError


class FakeShopify(_FakeServer):
    """Shopify REST Admin inventory levels behind a 40-request bucket leaking 2 a second."""

    def __init__(
        self,
        *,
        token: str = SHOPIFY_TOKEN,
        api_version: str = "2025-10",
        bucket: int = 40,
        leak_per_second: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        graphql_points: float = 1000.0,
        graphql_restore_rate: float = 50.0,
        mutation_cost: float = 10.0,
        cost_per_quantity: float = 0.0,
        known_items: set[int] | None = None,
        known_locations: set[int] | None = None,
        partial_apply: bool = False,
    ) -> None:
        super().__init__(clock)
        self.token = token
        self.api_version = api_version
        self.bucket = bucket
        self.leak_per_second = leak_per_second
        self.levels: dict[tuple[int, int], int] = {}
        self.on_hand: dict[tuple[int, int], int] = {}
        self.max_fill = 0.0
        self._fill = 0.0
        self._leaked_at = clock()
        self.graphql_points = graphql_points
        self.graphql_restore_rate = graphql_restore_rate
        self.mutation_cost = mutation_cost
        self.cost_per_quantity = cost_per_quantity
        self.known_items = known_items
        self.known_locations = known_locations
        self.partial_apply = partial_apply
        self.points_low = graphql_points  # the least the point bucket ever held after a call
        self._points = graphql_points
        self._restored_at = clock()

    def __enter__(self) -> FakeShopify:
        self.start()
        return self

    @property
    def throttled(self) -> int:
        """How many requests were answered 429."""
        return sum(1 for c in self.calls if c.status == 429)

    def level(self, inventory_item_id: int | str, location_id: int | str) -> int | None:
        with self._lock:
            return self.levels.get((int(inventory_item_id), int(location_id)))

    def seed(self, inventory_item_id: int, location_id: int, available: int) -> None:
        """A level the shop already holds, without a request."""
        with self._lock:
            self.levels[(inventory_item_id, location_id)] = available

    def bucket_used(self) -> float:
        """How full the shop's bucket is now."""
        with self._lock:
            self._leak()
            return self._fill

    def fill_bucket(self, used: float) -> None:
        """Another worker of the same app spent ``used`` of the shop's bucket."""
        with self._lock:
            self._leak()
            self._fill = min(float(self.bucket), self._fill + used)

    @property
    def graphql_throttled(self) -> int:
        """How many GraphQL calls were answered THROTTLED."""
        return sum(1 for c in self.calls if c.error_code == "THROTTLED")

    @property
    def mutations(self) -> list[Call]:
        """The GraphQL calls that ran (not throttled, not refused before execution)."""
        return [c for c in self.calls if c.path.endswith("/graphql.json") and c.status == 200
                and c.error_code is None]  # fmt: skip

    def points_available(self) -> float:
        """What the app's GraphQL point bucket holds now."""
        with self._lock:
            self._restore()
            return self._points

    def spend_points(self, points: float) -> None:
        """Another worker of the same app spent ``points`` of the shop's GraphQL bucket."""
        with self._lock:
            self._restore()
            self._points = max(0.0, self._points - points)

    def _leak(self) -> float:
        now = self._clock()
        self._fill = max(0.0, self._fill - (now - self._leaked_at) * self.leak_per_second)
        self._leaked_at = now
        return now

    def _restore(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._restored_at)
        self._points = min(self.graphql_points, self._points + elapsed * self.graphql_restore_rate)
        self._restored_at = now

    def _call_limit(self) -> dict[str, str]:
        used = min(self.bucket, math.ceil(self._fill - 1e-9))
        return {"X-Shopify-Shop-Api-Call-Limit": f"{used}/{self.bucket}"}

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        now = self._leak()
        body = _json_or_text(raw)
        if urlsplit(path).path == f"/admin/api/{self.api_version}/graphql.json":
            status, extra, payload = self._graphql(method, headers, body, now)
            code = _graphql_code(payload)
            self.calls.append(Call(now, method, path, status, body, error_code=code))
            return status, extra, payload
        status, extra, payload = self._answer(method, path, headers, raw, now)
        self.calls.append(Call(now, method, path, status, body))
        return status, {**extra, **self._call_limit()}, payload

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, now: float
    ) -> Answer:
        if headers.get("x-shopify-access-token") != self.token:
            message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            return 401, {}, {"errors": message}
        if self._fill + 1 > self.bucket:
            wait = (self._fill + 1 - self.bucket) / self.leak_per_second
            retry_after = math.ceil(wait * 10) / 10
            return 429, {"Retry-After": f"{retry_after:.1f}"}, {"errors": SHOPIFY_THROTTLED}
        self._fill += 1
        self.max_fill = max(self.max_fill, self._fill)
        url = urlsplit(path)
        prefix = f"/admin/api/{self.api_version}/"
        if method == "POST" and url.path == prefix + "inventory_levels/set.json":
            return self._set(_json_or_text(raw), now)
        if method == "GET" and url.path == prefix + "inventory_levels.json":
            return self._list(parse_qs(url.query))
        return 404, {}, {"errors": "Not Found"}

    def _set(self, body: Any, now: float) -> Answer:
        if not isinstance(body, dict):
            return 400, {}, {"errors": {"inventory_level": "Required parameter missing or invalid"}}
        for name in ("location_id", "inventory_item_id", "available"):
            value = body.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                return 400, {}, {"errors": {name: "Required parameter missing or invalid"}}
        item, location, available = (
            body["inventory_item_id"],
            body["location_id"],
            body["available"],
        )
        self.levels[(item, location)] = available
        self.writes.append(LevelWrite(now, str(item), str(location), available))
        return 200, {}, {"inventory_level": _shopify_level(item, location, available, now)}

    def _list(self, query: dict[str, list[str]]) -> Answer:
        items = {int(i) for v in query.get("inventory_item_ids", []) for i in v.split(",") if i}
        places = {int(i) for v in query.get("location_ids", []) for i in v.split(",") if i}
        found = [
            _shopify_level(item, location, available, self._clock())
            for (item, location), available in sorted(self.levels.items())
            if (not items or item in items) and (not places or location in places)
        ]
        return 200, {}, {"inventory_levels": found}

    # -- GraphQL Admin --------------------------------------------------------------------------

    def _graphql(self, method: str, headers: dict[str, str], body: Any, now: float) -> Answer:
        if headers.get("x-shopify-access-token") != self.token:
            message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
            return 401, {}, {"errors": message}
        if method != "POST" or not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 400, {}, {"errors": {"query": "Required parameter missing or invalid"}}
        if not _SET_QUANTITIES.search(body["query"]):
            detail = "this fake runs `mutation … { inventorySetQuantities(input: $input) … }` only"
            return 200, {}, {"errors": [_gql_error(detail, "NOT_SUPPORTED_BY_FAKE")]}
        variables = body.get("variables")
        given = variables.get("input") if isinstance(variables, dict) else None
        problem = _set_quantities_input_problem(given)
        if problem is not None:
            return 200, {}, {"errors": [_gql_error(problem, "INVALID_VARIABLE")]}
        assert isinstance(given, dict)
        quantities: list[dict[str, Any]] = given["quantities"]
        if len(quantities) > 250:
            message = (
                f"The input array size of {len(quantities)} is greater than the maximum allowed "
                "of 250."
            )
            error = _gql_error(message, "MAX_INPUT_SIZE_EXCEEDED")
            error["path"] = ["inventorySetQuantities", "input", "quantities"]
            return 200, {}, {"errors": [error]}
        requested = self.mutation_cost + self.cost_per_quantity * len(quantities)
        if requested > 1000:
            message = (
                f"Query cost is {requested:g}, which exceeds the single query max cost limit "
                "(1000)."
            )
            error = _gql_error(message, "MAX_COST_EXCEEDED")
            error["extensions"].update({"cost": requested, "maxCost": 1000})
            return 200, {}, {"errors": [error], "extensions": self._cost(requested, None)}
        self._restore()
        if self._points < requested:
            error = _gql_error("Throttled", "THROTTLED")
            error["extensions"]["documentation"] = "https://shopify.dev/api/usage/rate-limits"
            return 200, {}, {"errors": [error], "extensions": self._cost(requested, None)}
        self._points -= requested
        self.points_low = min(self.points_low, self._points)
        result = self._set_quantities(given, now)
        return 200, {}, {"data": {"inventorySetQuantities": result},
                         "extensions": self._cost(requested, requested)}  # fmt: skip

    def _cost(self, requested: float, actual: float | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": {
                    "maximumAvailable": self.graphql_points,
                    "currentlyAvailable": round(self._points, 3),
                    "restoreRate": self.graphql_restore_rate,
                },
            }
        }

    def _set_quantities(self, given: dict[str, Any], now: float) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        if given["name"] not in ("available", "on_hand"):
            message = "The quantity name must be either 'available' or 'on_hand'."
            errors.append(_user_error("INVALID_NAME", ["input", "name"], message))
        if given["reason"] not in SHOPIFY_REASONS:
            errors.append(
                _user_error(
                    "INVALID_REASON", ["input", "reason"], "The specified reason is invalid."
                )
            )
        uri = given.get("referenceDocumentUri")
        if uri is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", uri):
            message = "The specified reference document is invalid."
            errors.append(
                _user_error(
                    "INVALID_REFERENCE_DOCUMENT", ["input", "referenceDocumentUri"], message
                )
            )
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        store = self.levels if given["name"] == "available" else self.on_hand
        ignore = given.get("ignoreCompareQuantity") is True
        valid: list[tuple[int, int, int]] = []
        seen: set[tuple[int, int]] = set()
        for i, quantity in enumerate(given["quantities"]):
            path = ["input", "quantities", str(i)]
            problem = self._quantity_problem(quantity, store, ignore, seen)
            if problem is not None:
                code, field, message = problem
                errors.append(_user_error(code, [*path, field], message))
                continue
            item, location = (
                _gid_number(quantity["inventoryItemId"], "InventoryItem"),
                _gid_number(quantity["locationId"], "Location"),
            )
            assert item is not None and location is not None
            seen.add((item, location))
            valid.append((item, location, quantity["quantity"]))
        if errors and not self.partial_apply:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        for item, location, value in valid:
            store[(item, location)] = value
            if store is self.levels:
                self.writes.append(LevelWrite(now, str(item), str(location), value))
        group = {
            "createdAt": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
            "reason": given["reason"],
            "referenceDocumentUri": uri,
        }
        return {"inventoryAdjustmentGroup": group if valid else None, "userErrors": errors}

    def _quantity_problem(
        self,
        quantity: dict[str, Any],
        store: dict[tuple[int, int], int],
        ignore_compare: bool,
        seen: set[tuple[int, int]],
    ) -> tuple[str, str, str] | None:
        item = _gid_number(quantity["inventoryItemId"], "InventoryItem")
        if item is None or (self.known_items is not None and item not in self.known_items):
            message = "The specified inventory item could not be found."
            return "INVALID_INVENTORY_ITEM", "inventoryItemId", message
        location = _gid_number(quantity["locationId"], "Location")
        if location is None or (
            self.known_locations is not None and location not in self.known_locations
        ):
            return "INVALID_LOCATION", "locationId", "The specified location could not be found."
        value = quantity["quantity"]
        if value < 0:
            return "INVALID_QUANTITY_NEGATIVE", "quantity", "The quantity can't be negative."
        if value > 1_000_000_000:
            message = "The total quantity can't be higher than 1,000,000,000."
            return "INVALID_QUANTITY_TOO_HIGH", "quantity", message
        if not ignore_compare:
            if "compareQuantity" not in quantity:
                message = (
                    "The compareQuantity argument must be given to each quantity or ignored "
                    "using ignoreCompareQuantity."
                )
                return "COMPARE_QUANTITY_REQUIRED", "compareQuantity", message
            if quantity["compareQuantity"] != store.get((item, location), 0):
                message = "The compareQuantity value does not match persisted value."
                return "COMPARE_QUANTITY_STALE", "compareQuantity", message
        if (item, location) in seen:
            message = "The combination of inventoryItemId and locationId must be unique."
            return "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", "locationId", message
        return None


# "possible reasons" for inventory quantity changes (shopify.dev, inventory quantities and states)
SHOPIFY_REASONS = frozenset(
    {
        "correction", "cycle_count_available", "damaged", "movement_created",
        "movement_updated", "movement_received", "movement_canceled", "other", "promotion",
        "quality_control", "received", "reservation_created", "reservation_deleted",
        "reservation_updated", "restock", "safety_stock", "shrinkage",
    }
)  # fmt: skip
_SET_QUANTITIES = re.compile(
    r"\bmutation\b.*\binventorySetQuantities\s*\(\s*input\s*:\s*\$input\s*\)", re.DOTALL
)


def _gql_error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def _user_error(code: str, field: list[str], message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def _graphql_code(payload: Any) -> str | None:
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = (errors[0].get("extensions") or {}).get("code")
        return code if isinstance(code, str) else None
    return None


def _gid_number(value: str, kind: str) -> int | None:
    match = re.fullmatch(rf"gid://shopify/{kind}/(\d+)", value)
    return int(match.group(1)) if match else None


def _set_quantities_input_problem(given: Any) -> str | None:
    """What is wrong with ``$input`` by the schema's types, as GraphQL reports it; None if fine."""
    prefix = "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"
    if not isinstance(given, dict):
        return f"{prefix} (Expected value to not be null)"
    for name in ("name", "reason"):
        if not isinstance(given.get(name), str):
            return f"{prefix} for {name} (Expected value to not be null)"
    if given.get("referenceDocumentUri") is not None and not isinstance(
        given["referenceDocumentUri"], str
    ):
        return f"{prefix} for referenceDocumentUri (Could not coerce value to String)"
    if "ignoreCompareQuantity" in given and not isinstance(given["ignoreCompareQuantity"], bool):
        return f"{prefix} for ignoreCompareQuantity (Could not coerce value to Boolean)"
    quantities = given.get("quantities")
    if not isinstance(quantities, list):
        return f"{prefix} for quantities (Expected value to not be null)"
    for i, quantity in enumerate(quantities):
        where = f"{prefix} for quantities.{i}"
        if not isinstance(quantity, dict):
            return f"{where} (Expected value to be an object)"
        for name in ("inventoryItemId", "locationId"):
            if not isinstance(quantity.get(name), str):
                return f"{where}.{name} (Expected value to not be null)"
        for name in ("quantity", "compareQuantity"):
            value = quantity.get(name)
            if name == "compareQuantity" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                return f"{where}.{name} (Could not coerce value to Int)"
    return None


def _shopify_level(item: int, location: int, available: int, at: float) -> dict[str, Any]:
    return {
        "inventory_item_id": item,
        "location_id": location,
        "available": available,
        "updated_at": datetime.fromtimestamp(at, UTC).isoformat(),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location}?inventory_item_id={item}",
    }


class FakeSquare(_FakeServer):
    """Square BatchChangeInventory with idempotency keys and a requests-per-second limit."""

    def __init__(
        self,
        *,
        token: str = SQUARE_TOKEN,
        requests_per_second: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        known_objects: set[str] | None = None,
    ) -> None:
        super().__init__(clock)
        self.token = token
        self.requests_per_second = requests_per_second
        self.wall_clock = wall_clock
        self.known_objects = known_objects
        # (catalog_object_id, location_id) -> (occurred_at, quantity)
        self.counts: dict[tuple[str, str], tuple[datetime, Decimal]] = {}
        self.applied_requests = 0
        self._tokens = max(1.0, requests_per_second)
        self._refilled_at = clock()
        self._answers: dict[str, tuple[str, Answer]] = {}
        self._failures: list[tuple[int, bool]] = []

    def __enter__(self) -> FakeSquare:
        self.start()
        return self

    @property
    def rate_limited(self) -> int:
        return sum(1 for c in self.calls if c.status == 429)

    def level(self, catalog_object_id: str, location_id: str) -> int | None:
        with self._lock:
            held = self.counts.get((catalog_object_id, location_id))
        return None if held is None else int(held[1])

    def seed(self, catalog_object_id: str, location_id: str, quantity: int) -> None:
        with self._lock:
            self.counts[(catalog_object_id, location_id)] = (
                self.wall_clock() - timedelta(hours=1),
                Decimal(quantity),
            )

    def fail_next(self, times: int = 1, *, status: int = 500, after_apply: bool = True) -> None:
        """Answer the next ``times`` accepted requests with ``status``; ``after_apply`` applies
        the changes first, as when Square succeeded but the answer was lost on the way back."""
        with self._lock:
            self._failures.extend([(status, after_apply)] * times)

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        now = self._clock()
        body = _json_or_text(raw)
        key = body.get("idempotency_key") if isinstance(body, dict) else None
        status, extra, payload = self._answer(method, path, headers, body, now)
        self.calls.append(
            Call(now, method, path, status, body, key if isinstance(key, str) else None)
        )
        return status, extra, payload

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: Any, now: float
    ) -> Answer:
        if headers.get("authorization") != f"Bearer {self.token}":
            return _square_error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "bad access token")
        if not self._admit(now):
            return _square_error(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limited.")
        if (method, urlsplit(path).path) != ("POST", "/v2/inventory/changes/batch-create"):
            return _square_error(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"{method} {path}")
        if not isinstance(body, dict):
            return _square_error(400, "INVALID_REQUEST_ERROR", "BAD_REQUEST", "body is not JSON")
        key = body.get("idempotency_key")
        if not isinstance(key, str) or not key:
            return _square_error(
                400,
                "INVALID_REQUEST_ERROR",
                "MISSING_REQUIRED_PARAMETER",
                "Field must be set",
                field="idempotency_key",
            )
        fingerprint = json.dumps(
            {k: v for k, v in body.items() if k != "idempotency_key"}, sort_keys=True
        )
        if key in self._answers:
            first_fingerprint, first_answer = self._answers[key]
            if first_fingerprint != fingerprint:
                return _square_error(
                    400,
                    "INVALID_REQUEST_ERROR",
                    "IDEMPOTENCY_KEY_REUSED",
                    "The idempotency key can only be retried with the same request data.",
                    field="idempotency_key",
                )
            return first_answer
        failure = self._failures.pop(0) if self._failures else None
        if failure is not None and not failure[1]:
            return _square_error(failure[0], "API_ERROR", "INTERNAL_SERVER_ERROR", "try again")
        result = self._batch_change(body, now)
        self._answers[key] = (fingerprint, result)
        if failure is not None:
            return _square_error(failure[0], "API_ERROR", "INTERNAL_SERVER_ERROR", "try again")
        return result

    def _admit(self, now: float) -> bool:
        capacity = max(1.0, self.requests_per_second)
        elapsed = max(0.0, now - self._refilled_at)
        self._tokens = min(capacity, self._tokens + elapsed * self.requests_per_second)
        self._refilled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _batch_change(self, body: dict[str, Any], now: float) -> Answer:
        changes = body.get("changes")
        if not isinstance(changes, list) or not changes:
            return _square_error(
                400, "INVALID_REQUEST_ERROR", "ARRAY_EMPTY", "changes is empty", field="changes"
            )
        if len(changes) > 100:
            return _square_error(
                400,
                "INVALID_REQUEST_ERROR",
                "ARRAY_LENGTH_TOO_LONG",
                f"changes has {len(changes)} elements; max 100",
                field="changes",
            )
        parsed: list[tuple[str, str, Decimal, datetime, str]] = []
        wall = self.wall_clock()
        for i, change in enumerate(changes):
            count = change.get("physical_count") if isinstance(change, dict) else None
            if not isinstance(count, dict) or change.get("type") != "PHYSICAL_COUNT":
                return _square_error(
                    400,
                    "INVALID_REQUEST_ERROR",
                    "INVALID_VALUE",
                    "this fake implements PHYSICAL_COUNT changes only",
                    field=f"changes[{i}]",
                )
            problem = _physical_count_problem(count, wall, self.known_objects)
            if problem is not None:
                code, detail, name = problem
                return _square_error(
                    400,
                    "INVALID_REQUEST_ERROR",
                    code,
                    detail,
                    field=f"changes[{i}].physical_count.{name}",
                )
            parsed.append(
                (
                    count["catalog_object_id"],
                    count["location_id"],
                    Decimal(count["quantity"]),
                    _rfc3339(count["occurred_at"]),
                    count["state"],
                )
            )
        self.applied_requests += 1
        held: list[dict[str, Any]] = []
        for object_id, location_id, quantity, occurred_at, state in parsed:
            current = self.counts.get((object_id, location_id))
            if current is None or occurred_at >= current[0]:
                self.counts[(object_id, location_id)] = (occurred_at, quantity)
                self.writes.append(LevelWrite(now, object_id, location_id, int(quantity)))
            held_quantity = self.counts[(object_id, location_id)][1]
            held.append(
                {
                    "catalog_object_id": object_id,
                    "catalog_object_type": "ITEM_VARIATION",
                    "state": state,
                    "location_id": location_id,
                    "quantity": str(held_quantity),
                    "calculated_at": wall.isoformat().replace("+00:00", "Z"),
                }
            )
        return 200, {}, {"counts": held, "changes": changes}


def _physical_count_problem(
    count: dict[str, Any], wall: datetime, known: set[str] | None
) -> tuple[str, str, str] | None:
    for name in ("catalog_object_id", "location_id", "quantity", "state", "occurred_at"):
        if not isinstance(count.get(name), str) or not count[name]:
            return "MISSING_REQUIRED_PARAMETER", "Field must be set", name
    try:
        Decimal(count["quantity"])
    except InvalidOperation:
        return "INVALID_VALUE", f"quantity {count['quantity']!r} is not a decimal", "quantity"
    try:
        occurred_at = _rfc3339(count["occurred_at"])
    except ValueError:
        return "INVALID_VALUE", "occurred_at is not an RFC 3339 timestamp", "occurred_at"
    if occurred_at > wall or occurred_at < wall - timedelta(hours=24):
        detail = "occurred_at cannot be older than 24 hours or in the future"
        return "INVALID_VALUE", detail, "occurred_at"
    if known is not None and count["catalog_object_id"] not in known:
        return (
            "NOT_FOUND",
            f"catalog object {count['catalog_object_id']} not found",
            ("catalog_object_id"),
        )
    return None


def _rfc3339(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return moment


def _square_error(status: int, category: str, code: str, detail: str, **extra: str) -> Answer:
    return status, {}, {"errors": [{"category": category, "code": code, "detail": detail, **extra}]}


def _json_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
