"""The shared connector kit: retries, auth refresh, error translation, pagination, rate limits.

Every vendor is faked with ``httpx.MockTransport`` and time with a fake clock, so nothing sleeps
and nothing leaves the process.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retailhub.adapters.connectors.kit import (
    ApiClient,
    AuthError,
    BearerToken,
    ConflictError,
    CursorInBody,
    FatalError,
    Idempotency,
    IdempotencyStyle,
    LinkHeader,
    NextLink,
    NotFoundError,
    OffsetLimit,
    PageRequest,
    Paginator,
    RateLimiter,
    RetriableError,
    RetryPolicy,
    StartingAfter,
    graphql_errors,
    qbo_fault,
    translate_response,
    translate_transport_error,
)

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "https://vendor.example.test/"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client_for(handler: Handler, clock: FakeClock, **options: Any) -> ApiClient:
    options.setdefault("retry", RetryPolicy(rng=random.Random(7)))
    return ApiClient(BASE, transport=httpx.MockTransport(handler), sleep=clock.sleep, **options)


def scripted(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    """A vendor that answers with ``responses`` in turn (repeating the last) and logs requests."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return handler, seen


# --- retries and idempotency -------------------------------------------------------------------


def test_a_throttled_stripe_refund_waits_retry_after_and_resends_the_same_key(
    clock: FakeClock,
) -> None:
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"message": "slow"}}),
        httpx.Response(200, json={"id": "re_1", "amount": 1299}),
    )
    client = client_for(handler, clock)

    refund = client.request(
        "POST", "v1/refunds", json={"charge": "ch_1"}, idempotency_key="refund-order-1071"
    )

    assert refund == {"id": "re_1", "amount": 1299}
    assert clock.sleeps == [2.0]
    assert [r.headers["Idempotency-Key"] for r in seen] == ["refund-order-1071"] * 2


@pytest.mark.parametrize(
    ("idempotency", "read_key"),
    [
        (Idempotency(IdempotencyStyle.BODY, "idempotency_key"), lambda r: json.loads(r.content)),
        (Idempotency(IdempotencyStyle.QUERY, "requestid"), lambda r: dict(r.url.params)),
        (
            Idempotency(IdempotencyStyle.HEADER, "X-NetSuite-idempotency-key"),
            lambda r: {"X-NetSuite-idempotency-key": r.headers["X-NetSuite-idempotency-key"]},
        ),
    ],
    ids=["square-body", "qbo-query", "netsuite-header"],
)
def test_every_vendor_style_of_idempotency_key_survives_a_retry(
    clock: FakeClock, idempotency: Idempotency, read_key: Callable[[httpx.Request], Any]
) -> None:
    handler, seen = scripted(httpx.Response(503), httpx.Response(200, json={"ok": True}))
    client = client_for(handler, clock, idempotency=idempotency)

    client.request("POST", "orders", json={"location_id": "L1"}, idempotency_key="k-1")

    assert [read_key(r)[idempotency.name] for r in seen] == ["k-1", "k-1"]


def test_an_overlong_idempotency_key_is_a_bug_caught_before_sending(clock: FakeClock) -> None:
    handler, seen = scripted(httpx.Response(200, json={}))
    client = client_for(handler, clock, idempotency=Idempotency(max_length=128))

    with pytest.raises(ValueError):
        client.request("PUT", "Invoices", json={}, idempotency_key="x" * 129)
    assert seen == []


def test_a_vendor_outage_is_retried_up_to_the_limit_then_surfaces_as_retriable(
    clock: FakeClock,
) -> None:
    handler, seen = scripted(httpx.Response(503, text="upstream unavailable"))
    client = client_for(handler, clock, retry=RetryPolicy(max_attempts=3, rng=random.Random(1)))

    with pytest.raises(RetriableError) as caught:
        client.request("GET", "v2/locations")

    assert len(seen) == 3
    assert len(clock.sleeps) == 2
    assert caught.value.status == 503


def test_a_timed_out_post_without_a_key_is_not_replayed_because_it_may_have_posted(
    clock: FakeClock,
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("read timed out", request=request)

    client = client_for(handler, clock)

    with pytest.raises(RetriableError):
        client.request("POST", "JournalEntry", json={"Line": []})
    assert len(calls) == 1


def test_a_refused_connection_is_retried_even_for_an_unkeyed_post(clock: FakeClock) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(201, json={"id": "42"})

    client = client_for(handler, clock)

    assert client.request("POST", "journalEntry", json={}) == {"id": "42"}
    assert len(calls) == 2


def test_quickbooks_throttling_without_retry_after_waits_the_documented_minute(
    clock: FakeClock,
) -> None:
    handler, _ = scripted(httpx.Response(429), httpx.Response(200, json={"QueryResponse": {}}))
    policy = RetryPolicy(min_delay_after_429=60.0, rng=random.Random(3))
    client = client_for(handler, clock, retry=policy)

    client.request("GET", "query", params={"query": "select * from Account"})

    assert clock.sleeps == [60.0]


def test_a_retry_after_beyond_the_cap_is_handed_back_to_the_worker_not_undercut(
    clock: FakeClock,
) -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    client = client_for(handler, clock)

    with pytest.raises(RetriableError) as caught:
        client.request("GET", "Invoices")

    assert caught.value.retry_after == 3600.0
    assert len(seen) == 1
    assert clock.sleeps == []


def test_retry_after_as_an_http_date_is_measured_from_the_servers_date_header() -> None:
    response = httpx.Response(
        503,
        headers={
            "Date": "Fri, 27 Nov 2026 10:00:00 GMT",
            "Retry-After": "Fri, 27 Nov 2026 10:00:05 GMT",
        },
        request=httpx.Request("GET", BASE),
    )

    with pytest.raises(RetriableError) as caught:
        translate_response(response)

    assert caught.value.retry_after == 5.0


# --- fatal errors ------------------------------------------------------------------------------


def test_a_rejected_refund_is_fatal_with_the_vendor_message_and_not_retried(
    clock: FakeClock,
) -> None:
    body = {"error": {"type": "invalid_request_error", "message": "Amount must be positive"}}
    handler, seen = scripted(httpx.Response(400, json=body))
    client = client_for(handler, clock)

    with pytest.raises(FatalError) as caught:
        client.request("POST", "v1/refunds", json={"amount": -1}, idempotency_key="r-2")

    assert caught.value.vendor_message == "Amount must be positive"
    assert caught.value.status == 400
    assert json.loads(caught.value.body) == body
    assert len(seen) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("status", "body", "error", "msg"),
    [
        (404, {"errors": [{"code": "NOT_FOUND", "detail": "Order not found"}]}, NotFoundError,
         "Order not found"),
        (409, {"error": {"message": "Keys for idempotent requests can only be used once"}},
         ConflictError, "Keys for idempotent requests can only be used once"),
        (403, {"errors": "[API] This action requires merchant approval"}, AuthError,
         "[API] This action requires merchant approval"),
        (400, {"title": "Bad Request", "o:errorDetails": [
            {"detail": "Invalid account reference", "o:errorCode": "INVALID_KEY_OR_REF"}]},
         FatalError, "Invalid account reference (INVALID_KEY_OR_REF)"),
        (400, {"Message": "A validation exception occurred", "Elements": [
            {"ValidationErrors": [{"Message": "Journal lines must balance"}]}]},
         FatalError, "A validation exception occurred; Journal lines must balance"),
    ],
    ids=["square-404", "stripe-409", "shopify-403", "netsuite-400", "xero-400"],
)  # fmt: skip
def test_vendor_errors_are_sorted_by_recovery_with_their_message(
    clock: FakeClock, status: int, body: dict[str, Any], error: type[FatalError], msg: str
) -> None:
    handler, seen = scripted(httpx.Response(status, json=body))
    client = client_for(handler, clock)

    with pytest.raises(error) as caught:
        client.request("GET", "thing")

    assert type(caught.value) is error
    assert caught.value.vendor_message == msg
    assert len(seen) == 1


def test_an_expired_token_is_refreshed_once_and_the_request_replayed(clock: FakeClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != "Bearer fresh":
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json={"Invoices": []})

    client = client_for(handler, clock, auth=BearerToken("stale", renew=lambda: "fresh"))

    assert client.request("GET", "Invoices") == {"Invoices": []}


def test_a_token_still_rejected_after_refresh_is_an_auth_error(clock: FakeClock) -> None:
    refreshes: list[str] = []

    def renew() -> str:
        refreshes.append("called")
        return "also-revoked"

    handler, seen = scripted(httpx.Response(401, json={"error": "invalid_grant"}))
    client = client_for(handler, clock, auth=BearerToken("revoked", renew=renew))

    with pytest.raises(AuthError):
        client.request("GET", "Invoices")
    assert len(refreshes) == 1
    assert len(seen) == 2


def test_a_quickbooks_fault_inside_a_200_is_fatal(clock: FakeClock) -> None:
    fault = {
        "Fault": {
            "Error": [{"Message": "Duplicate Document Number Error", "Detail": "DocNumber 1071",
                       "code": "6140"}],
            "type": "ValidationFault",
        },
        "time": "2026-11-27T10:00:00.000-08:00",
    }  # fmt: skip
    handler, seen = scripted(httpx.Response(200, json=fault))
    client = client_for(handler, clock, error_in_body=qbo_fault)

    with pytest.raises(FatalError) as caught:
        client.request("POST", "salesreceipt", json={}, idempotency_key="sr-1071")

    assert caught.value.vendor_message == (
        "Duplicate Document Number Error: DocNumber 1071 (code 6140)"
    )
    assert len(seen) == 1


def test_shopify_graphql_errors_inside_a_200_are_fatal(clock: FakeClock) -> None:
    body = {"errors": [{"message": "Field 'inventoryAdjust' doesn't exist"}]}
    handler, _ = scripted(httpx.Response(200, json=body))
    client = client_for(handler, clock, error_in_body=graphql_errors)

    with pytest.raises(FatalError, match="inventoryAdjust"):
        client.request("POST", "graphql.json", json={"query": "mutation { inventoryAdjust }"})


def test_transport_failures_translate_to_retriable_or_fatal() -> None:
    request = httpx.Request("GET", BASE)
    refused = translate_transport_error(httpx.ConnectError("refused", request=request))
    bad_url = translate_transport_error(httpx.UnsupportedProtocol("ftp://", request=request))

    assert isinstance(refused, RetriableError)
    assert refused.request_sent is False
    assert type(bad_url) is FatalError


# --- pagination --------------------------------------------------------------------------------

PAGES = [[{"id": "it_1"}, {"id": "it_2"}], [{"id": "it_3"}, {"id": "it_4"}], [{"id": "it_5"}]]


def square_api(request: httpx.Request) -> httpx.Response:
    index = ["", "c2", "c3"].index(request.url.params.get("cursor", ""))
    body: dict[str, Any] = {"orders": PAGES[index]}
    if index < 2:
        body["cursor"] = f"c{index + 2}"
    return httpx.Response(200, json=body)


def square_search_api(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)
    assert sent["location_ids"] == ["L1"]
    index = ["", "c2", "c3"].index(sent.get("cursor", ""))
    body: dict[str, Any] = {"orders": PAGES[index]}
    if index < 2:
        body["cursor"] = f"c{index + 2}"
    return httpx.Response(200, json=body)


def shopify_api(request: httpx.Request) -> httpx.Response:
    query = parse_qs(urlsplit(str(request.url)).query)
    index = ["", "p2", "p3"].index(query.get("page_info", [""])[0])
    headers = {}
    if index < 2:
        url = f"{BASE}admin/api/2025-01/products.json?limit=2&page_info=p{index + 2}"
        headers["Link"] = f'<{url}>; rel="next"'
    return httpx.Response(200, json={"products": PAGES[index]}, headers=headers)


def stripe_api(request: httpx.Request) -> httpx.Response:
    index = ["", "it_2", "it_4"].index(request.url.params.get("starting_after", ""))
    return httpx.Response(200, json={"object": "list", "data": PAGES[index], "has_more": index < 2})


def netsuite_api(request: httpx.Request) -> httpx.Response:
    assert request.url.params["limit"] == "2"
    index = ["0", "2", "4"].index(request.url.params["offset"])
    body = {"items": PAGES[index], "hasMore": index < 2, "count": len(PAGES[index])}
    return httpx.Response(200, json=body)


def business_central_api(request: httpx.Request) -> httpx.Response:
    index = ["", "s2", "s3"].index(request.url.params.get("$skiptoken", ""))
    body: dict[str, Any] = {"value": PAGES[index]}
    if index < 2:
        body["@odata.nextLink"] = f"{BASE}api/v2.0/journalLines?$skiptoken=s{index + 2}"
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(
    ("api", "paginator", "method", "body"),
    [
        (square_api, CursorInBody(items_field="orders"), "GET", None),
        (square_search_api, CursorInBody(items_field="orders", send_in="body"), "POST",
         {"location_ids": ["L1"]}),
        (shopify_api, LinkHeader(items_field="products"), "GET", None),
        (stripe_api, StartingAfter(), "GET", None),
        (netsuite_api, OffsetLimit(limit=2), "GET", None),
        (business_central_api, NextLink(), "GET", None),
    ],
    ids=["square", "square-search", "shopify", "stripe", "netsuite", "business-central"],
)  # fmt: skip
def test_each_paginator_walks_three_pages_in_order(
    clock: FakeClock, api: Handler, paginator: Paginator, method: str, body: Any
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return api(request)

    client = client_for(handler, clock)

    items = list(client.paginate("list", paginator, {"limit": 2}, method=method, json=body))

    assert [item["id"] for item in items] == ["it_1", "it_2", "it_3", "it_4", "it_5"]
    assert len(seen) == 3


def test_a_search_post_failing_mid_walk_is_replayed_because_paging_only_reads(
    clock: FakeClock,
) -> None:
    failed: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("cursor") == "c2" and not failed:
            failed.append("once")
            return httpx.Response(503)
        return square_search_api(request)

    client = client_for(handler, clock)
    paginator = CursorInBody(items_field="orders", send_in="body")

    body = {"location_ids": ["L1"]}
    items = list(client.paginate("v2/orders/search", paginator, method="POST", json=body))

    assert len(items) == 5
    assert len(clock.sleeps) == 1


def test_a_paginator_that_does_not_advance_is_stopped_rather_than_looping(clock: FakeClock) -> None:
    class Stuck:
        def first(self, page: PageRequest) -> PageRequest:
            return page

        def items(self, payload: Any) -> list[dict[str, Any]]:
            return list(payload["data"])

        def next_page(
            self, page: PageRequest, response: httpx.Response, payload: Any
        ) -> PageRequest | None:
            return page

    handler, _ = scripted(httpx.Response(200, json={"data": [{"id": "1"}]}))
    client = client_for(handler, clock)
    stuck: Paginator = Stuck()

    with pytest.raises(FatalError, match="did not advance"):
        list(client.paginate("list", stuck))


# --- rate limiting -----------------------------------------------------------------------------


def test_45_shopify_calls_through_a_40_bucket_leaking_2_per_second_take_2_5_seconds(
    clock: FakeClock,
) -> None:
    limiter = RateLimiter(40, 2, clock=clock, sleep=clock.sleep)

    for _ in range(45):
        limiter.acquire()

    assert clock.now == pytest.approx(2.5)
    assert clock.sleeps == pytest.approx([0.5] * 5)


def test_the_limiter_refills_while_idle_but_never_beyond_capacity(clock: FakeClock) -> None:
    limiter = RateLimiter(40, 2, clock=clock, sleep=clock.sleep)
    for _ in range(40):
        limiter.acquire()

    clock.now += 100

    assert limiter.tokens == 40


def test_a_nearly_full_shopify_bucket_makes_the_next_call_wait(clock: FakeClock) -> None:
    handler, _ = scripted(
        httpx.Response(200, json={}, headers={"X-Shopify-Shop-Api-Call-Limit": "39/40"})
    )
    limiter = RateLimiter(40, 2, clock=clock, sleep=clock.sleep)
    client = client_for(handler, clock, limiter=limiter)

    client.request("GET", "admin/api/2025-01/shop.json")
    assert clock.sleeps == []
    client.request("GET", "admin/api/2025-01/shop.json")

    assert clock.sleeps == [0.5]


def test_xero_minute_limit_exhausted_slows_the_next_call(clock: FakeClock) -> None:
    limiter = RateLimiter(60, 1, clock=clock, sleep=clock.sleep)

    limiter.observe(httpx.Headers({"X-MinLimit-Remaining": "0", "X-DayLimit-Remaining": "4000"}))
    waited = limiter.acquire()

    assert waited == pytest.approx(2.0)  # back to zero, then one token, with one of headroom


# --- backoff property --------------------------------------------------------------------------


@given(
    attempt=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.0, max_value=100.0),
    cap=st.floats(min_value=0.0, max_value=600.0),
    retry_after=st.none() | st.floats(min_value=0.0, max_value=1000.0),
    status=st.sampled_from([429, 500, 503, None]),
    min_after_429=st.floats(min_value=0.0, max_value=120.0),
    seed=st.integers(),
)
def test_backoff_stays_within_the_cap_and_never_undercuts_the_vendor(
    attempt: int,
    base: float,
    cap: float,
    retry_after: float | None,
    status: int | None,
    min_after_429: float,
    seed: int,
) -> None:
    policy = RetryPolicy(
        max_attempts=10, base=base, cap=cap, min_delay_after_429=min_after_429,
        rng=random.Random(seed),
    )  # fmt: skip

    delay = policy.delay(attempt, retry_after=retry_after, status=status)

    floor = max(retry_after or 0.0, min_after_429 if status == 429 else 0.0)
    if delay is None:
        assert attempt >= policy.max_attempts or floor > cap
    else:
        assert 0.0 <= delay <= cap
        assert delay >= floor
