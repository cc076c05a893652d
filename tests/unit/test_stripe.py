"""The Stripe connector: signed events in, payouts and their balance transactions fetched.

Signatures are checked against Stripe's own library (``stripe.Webhook.construct_event``); event
bodies are the fixtures in ``tests/fixtures/stripe`` (see its README); the API is a fake Stripe
served through ``httpx.MockTransport`` that insists on the secret key, pages with
``starting_after`` and throttles the first request. Nothing sleeps and nothing leaves the process.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest
import stripe

from retailhub.adapters.connectors.kit import (
    AuthError,
    FatalError,
    Jitter,
    RateLimiter,
    RetriableError,
    RetryPolicy,
)
from retailhub.adapters.connectors.stripe import (
    API_VERSION,
    ManualPayout,
    PayoutNotReconciled,
    SettlementError,
    StripeApi,
    StripeWebhooks,
    amounts,
    settlement_from,
    signature_header,
    verify_stripe_signature,
)
from retailhub.adapters.connectors.stripe import payloads as p
from retailhub.adapters.connectors.stripe.settlement import line_kind
from retailhub.domain.events import EventsReported, PaymentReported, SettlementReported
from retailhub.domain.money import MoneyError
from retailhub.domain.orders import ExternalRef
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.problems import Problem, ProblemType
from retailhub.domain.settlements import LineKind

FIXTURES = Path(__file__).parent.parent / "fixtures" / "stripe"
SECRET = "whsec_demo_current_0123456789abcdef"
OLD_SECRET = "whsec_demo_previous_fedcba9876543210"
KEY = "sk_test_demo_51OzDemoKey"

CH_A, CH_B, CH_C = (
    "ch_3OzDemoA1001xYz0aB1cD2e",
    "ch_3OzDemoB1003xYz0pQ7rS8t",
    "ch_3OzDemoC1004xYz0eF3gH4i",
)
RE_B = "re_3OzDemoB1003xYz0T9uV0wX"
DU = "du_1OzDemoC1004xYz0D3eF4gH"
PO = "po_1OzDemoPo0324xYz0S9tU0vW"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def loaded(name: str) -> Any:
    return json.loads(raw(name))


def utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


# -- signatures, judged against stripe-python ------------------------------------------------

BODY = raw("charge.succeeded.json")


def stripe_accepts(body: bytes, header: str, secret: str) -> bool:
    try:
        stripe.Webhook.construct_event(body.decode(), header, secret, tolerance=300)
    except stripe.SignatureVerificationError:
        return False
    return True


def ours(body: bytes, header: str, secrets: list[str], now: float | None = None) -> bool:
    return verify_stripe_signature(secrets, body, header, time.time() if now is None else now).ok


def test_our_header_is_byte_for_byte_the_one_stripe_python_builds():
    t = int(time.time())
    theirs = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, t)
    assert signature_header(SECRET, BODY, t) == theirs


@pytest.mark.parametrize(
    ("case", "body", "signed_with", "age"),
    [
        ("valid", BODY, SECRET, 0),
        ("valid, 299 s old", BODY, SECRET, 299),
        ("wrong secret", BODY, "whsec_someone_else", 0),
        ("tampered body", BODY.replace(b'"amount": 10806', b'"amount": 10807'), SECRET, 0),
        ("replayed, 400 s old", BODY, SECRET, 400),
        ("replayed, a day old", BODY, SECRET, 86_400),
    ],
)
def test_we_accept_exactly_what_stripe_accepts(case, body, signed_with, age):
    t = int(time.time()) - age
    # Signed over the original body: "tampered" delivers different bytes under that signature.
    header = signature_header(signed_with, BODY, t)
    expected = stripe_accepts(body, header, SECRET)
    assert ours(body, header, [SECRET]) is expected
    assert expected is (case.startswith("valid")), case


def test_during_a_secret_roll_either_secret_matches_one_of_several_v1_values():
    t = int(time.time())
    header = signature_header([OLD_SECRET, SECRET], BODY, t)  # t=…,v1=<old>,v1=<new>
    assert header.count("v1=") == 2
    for secret in (SECRET, OLD_SECRET):
        assert stripe_accepts(BODY, header, secret)
        assert ours(BODY, header, [secret])
    assert ours(BODY, header, [SECRET, OLD_SECRET])
    assert not stripe_accepts(BODY, header, "whsec_retired")
    assert not ours(BODY, header, ["whsec_retired"])
    # Only our new secret configured, Stripe still signing with the old one alone: refused.
    assert not ours(BODY, signature_header(OLD_SECRET, BODY, t), [SECRET])


def test_v0_and_unknown_schemes_are_ignored():
    t = int(time.time())
    good = signature_header(SECRET, BODY, t).split("v1=")[1]
    for header in (f"t={t},v0={good}", f"t={t},v2={good}"):
        assert not stripe_accepts(BODY, header, SECRET)
        check = verify_stripe_signature([SECRET], BODY, header, time.time())
        assert not check and check.reason == "Stripe-Signature header carries no v1 signature"
    header = f"t={t},v0=deadbeef,v1={good},scheme=x"
    assert stripe_accepts(BODY, header, SECRET) and ours(BODY, header, [SECRET])


@pytest.mark.parametrize(
    "header",
    ["garbage", "t=,v1=abc", "t=abc,v1=abc", "v1=abc", "t=1,t=2,v1=abc", "t= 1,v1=abc"],
)
def test_malformed_headers_are_refused_by_both_with_a_reason(header):
    good = signature_header(SECRET, BODY, int(time.time())).split("v1=")[1]
    header = header.replace("abc", good)
    assert not stripe_accepts(BODY, header, SECRET)
    check = verify_stripe_signature([SECRET], BODY, header, time.time())
    assert not check.ok
    assert check.reason == "malformed Stripe-Signature header"


def test_refusals_say_why():
    now = 1_742_000_000.0
    fresh = signature_header(SECRET, BODY, int(now))
    assert verify_stripe_signature([SECRET], BODY, fresh, now).reason == ""
    assert verify_stripe_signature([SECRET], BODY, None, now).reason == "no Stripe-Signature header"
    assert verify_stripe_signature([], BODY, fresh, now).reason == (
        "no webhook signing secret configured"
    )
    wrong = verify_stripe_signature(["whsec_other"], BODY, fresh, now)
    assert wrong.reason.startswith("wrong signature")
    stale = verify_stripe_signature([SECRET], BODY, fresh, now + 301)
    assert stale.reason == "timestamp outside tolerance: signed 301 s old, tolerance 300 s"
    assert stale.timestamp == int(now)


def test_a_timestamp_far_in_the_future_is_refused_too():
    # Stripe's SDKs only refuse old timestamps; a clock 10 minutes ahead is refused here.
    now = time.time()
    header = signature_header(SECRET, BODY, int(now) + 600)
    assert stripe_accepts(BODY, header, SECRET)
    check = verify_stripe_signature([SECRET], BODY, header, now)
    assert not check and "in the future" in check.reason


def test_webhook_source_reads_the_lower_cased_header_with_its_own_clock():
    now = 1_742_000_000.0
    hooks = StripeWebhooks([OLD_SECRET, SECRET], clock=lambda: now)
    headers = {"stripe-signature": signature_header(SECRET, BODY, int(now) - 10)}
    assert hooks.verify(headers, BODY)
    assert not hooks.verify({}, BODY)
    late = StripeWebhooks([SECRET], clock=lambda: now + 400)
    assert not late.verify(headers, BODY)
    assert late.check(headers, BODY).reason.startswith("timestamp outside tolerance")
    assert not StripeWebhooks([""]).verify(headers, BODY)


def test_dedup_id_is_the_event_id_and_topic_the_event_type():
    hooks = StripeWebhooks([SECRET])
    assert hooks.event_id({}, BODY) == "evt_3OzDemoA1001xYz01Ev0001"
    assert hooks.topic({}, BODY) == "charge.succeeded"
    garbage = b"<html>not an event</html>"
    assert hooks.event_id({}, garbage) == hooks.event_id({}, garbage)
    assert hooks.event_id({}, garbage).startswith("sha256:")
    assert hooks.event_id({}, garbage) != hooks.event_id({}, garbage + b" ")
    assert hooks.topic({}, garbage) == ""


# -- events → canonical ------------------------------------------------------------------------


def translate(name: str, api: StripeApi | None = None, body: bytes | None = None) -> Any:
    body = raw(name) if body is None else body
    hooks = StripeWebhooks([SECRET], api=api)
    return hooks.translate(hooks.topic({}, body), body)


def test_a_captured_charge_is_an_expected_receipt_for_its_shopify_order():
    assert translate("charge.succeeded.json") == PaymentReported(
        ExpectedReceipt(
            gateway="stripe",
            kind=PaymentKind.CAPTURE,
            amount=10806,
            currency="USD",
            occurred_at=utc(1741964520),
            transaction_id=CH_A,
            order_ref="5600000000001",
            receipt_id=f"stripe:{CH_A}",
        ),
        order=ExternalRef("shopify", "5600000000001"),
        updated_at=utc(1741964523),
        status="succeeded",
    )


def test_an_authorisation_is_nothing_owed_until_it_is_captured():
    assert translate("charge.succeeded-uncaptured.json") == EventsReported(events=())
    captured = translate("charge.captured.json")
    assert isinstance(captured, PaymentReported)
    assert captured.receipt.kind is PaymentKind.CAPTURE
    assert (captured.receipt.amount, captured.receipt.transaction_id) == (4500, CH_C)
    assert captured.order == ExternalRef("shopify", "5600000000004")  # order_source defaults


def test_a_partial_capture_expects_only_what_was_captured():
    event = loaded("charge.captured.json")
    event["data"]["object"]["amount_captured"] = 3000
    reported = translate("", body=json.dumps(event).encode())
    assert reported.receipt.amount == 3000


def test_yen_amounts_are_already_whole_yen():
    reported = translate("charge.succeeded-jpy.json")
    assert (reported.receipt.amount, reported.receipt.currency) == (5500, "JPY")


def test_stripe_smallest_units_become_iso_minor_units():
    assert amounts.to_minor(1234, "USD") == 1234
    assert amounts.to_minor(5500, "JPY") == 5500
    assert amounts.to_minor(5120, "KWD") == 5120  # three decimals on both sides
    assert amounts.to_minor(50000, "ISK") == 500  # Stripe keeps ISK two-decimal: 100 = 1 kr
    assert amounts.to_minor(500, "MGA") == 50000  # Stripe zero-decimal, ISO two
    with pytest.raises(MoneyError, match="fraction"):
        amounts.to_minor(4010, "ISK")  # 40.10 kr: fractional króna, refused since 2023


def test_a_charge_with_embedded_refunds_reports_each_refund_with_its_status():
    reported = translate("charge.refunded-embedded.json")
    assert isinstance(reported, EventsReported)
    receipts = [(e.receipt.transaction_id, e.receipt.amount, e.status) for e in reported.events]
    assert receipts == [
        ("re_3OzDemoA1001xYz0W1xY2zA", -1000, "pending"),
        ("re_3OzDemoA1001xYz0B3cD4eF", -500, "succeeded"),
    ]
    first = reported.events[1]
    assert first.receipt == ExpectedReceipt(
        gateway="stripe",
        kind=PaymentKind.REFUND,
        amount=-500,
        currency="USD",
        occurred_at=utc(1741964520 + 86400),
        transaction_id="re_3OzDemoA1001xYz0B3cD4eF",
        order_ref="5600000000001",
        receipt_id="stripe:re_3OzDemoA1001xYz0B3cD4eF",
    )
    assert first.order == ExternalRef("shopify", "5600000000001")
    assert first.updated_at == utc(1741964520 + 86400 + 61)


def test_a_modern_charge_refunded_needs_the_api_to_list_its_refunds():
    problem = translate("charge.refunded.json")
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.CONNECTOR_ERROR and problem.blocking
    assert "2022-11-15" in problem.reason and CH_B in problem.reason

    fake = FakeStripe()
    reported = translate("charge.refunded.json", api=fake.api())
    assert isinstance(reported, PaymentReported)
    assert reported.receipt.receipt_id == f"stripe:{RE_B}"
    assert (reported.receipt.amount, reported.status) == (-2159, "succeeded")
    assert reported.order == ExternalRef("shopify", "5600000000003")  # the charge's metadata
    assert fake.paths() == ["/v1/refunds", "/v1/refunds"]  # 429 first, then served


def test_a_refund_event_carries_the_refund_alone():
    reported = translate("refund.created.json")
    assert reported == PaymentReported(
        ExpectedReceipt(
            gateway="stripe",
            kind=PaymentKind.REFUND,
            amount=-2159,
            currency="USD",
            occurred_at=utc(1742143200),
            transaction_id=RE_B,
            order_ref=None,  # a refund's own metadata is empty; the charge is not embedded
            receipt_id=f"stripe:{RE_B}",
        ),
        order=None,
        updated_at=utc(1742143201),
        status="succeeded",
        against="ch_3OzDemoB1003xYz0pQ7rS8t",  # the hub finds the order through the charge
    )


def test_a_dispute_withdraws_the_disputed_amount():
    reported = translate("charge.dispute.created.json")
    assert reported == PaymentReported(
        ExpectedReceipt(
            gateway="stripe",
            kind=PaymentKind.CHARGEBACK,
            amount=-4500,
            currency="USD",
            occurred_at=utc(1742461200),
            transaction_id=DU,
            order_ref=None,
            receipt_id=f"stripe:{DU}",
        ),
        order=None,
        updated_at=utc(1742461202),
        status="succeeded",
        against="ch_3OzDemoC1004xYz0eF3gH4i",  # the disputed charge
    )


def test_a_dispute_with_its_charge_expanded_names_the_order():
    event = loaded("charge.dispute.created.json")
    event["data"]["object"]["charge"] = loaded("charge.captured.json")["data"]["object"]
    reported = translate("", body=json.dumps(event).encode())
    assert reported.receipt.order_ref == "5600000000004"
    assert reported.order == ExternalRef("shopify", "5600000000004")


def test_a_won_dispute_gives_the_money_back_under_its_own_id():
    reported = translate("charge.dispute.closed-won.json")
    assert reported.receipt == ExpectedReceipt(
        gateway="stripe",
        kind=PaymentKind.CHARGEBACK_REVERSAL,
        amount=4500,
        currency="USD",
        occurred_at=utc(1743595201),  # when Stripe said so, not when the dispute opened
        transaction_id=f"{DU}:reversal",
        order_ref=None,
        receipt_id=f"stripe:{DU}:reversal",
    )
    event = loaded("charge.dispute.closed-won.json")
    event["type"] = "charge.dispute.funds_reinstated"
    assert translate("", body=json.dumps(event).encode()) == reported


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("charge.dispute.closed-won.json", "lost"),  # the withdrawal stands
        ("charge.dispute.created.json", "warning_needs_response"),  # an inquiry moves nothing
        ("charge.dispute.closed-won.json", "warning_closed"),
    ],
)
def test_disputes_that_move_no_money_report_nothing(name, status):
    event = loaded(name)
    event["data"]["object"]["status"] = status
    assert translate("", body=json.dumps(event).encode()) == EventsReported(events=())


def test_a_paid_payout_is_fetched_as_a_settlement():
    fake = FakeStripe()
    api = fake.api()
    reported = translate("payout.paid.json", api=api)
    assert isinstance(reported, SettlementReported)
    assert reported.settlement == FakeStripe().api().settlement_for_payout(PO)
    assert reported.settlement.total == 8709


def test_a_paid_payout_without_an_api_key_is_an_exception_that_says_so():
    problem = translate("payout.paid.json")
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.CONNECTOR_ERROR and problem.blocking
    assert "no Stripe API key is configured" in problem.reason and PO in problem.reason


def test_a_manual_payout_goes_to_finance_without_calling_stripe():
    event = loaded("payout.paid.json")
    event["data"]["object"]["automatic"] = False
    fake = FakeStripe()
    problem = translate("", api=fake.api(), body=json.dumps(event).encode())
    assert problem.type is ProblemType.UNMATCHED_DEPOSIT
    assert problem.subject == f"payout:stripe:{PO}" and "manual" in problem.reason
    assert fake.requests == []


def test_an_unknown_event_type_is_an_unknown_topic():
    event = loaded("payout.paid.json")
    event["type"] = "customer.created"
    problem = translate("", body=json.dumps(event).encode())
    assert problem.type is ProblemType.UNKNOWN_TOPIC
    assert "'customer.created'" in problem.reason


def test_a_truncated_body_is_invalid_and_says_where_it_ends():
    body = BODY[:200]
    problem = StripeWebhooks([SECRET]).translate("charge.succeeded", body)
    assert problem.type is ProblemType.INVALID_PAYLOAD
    assert "not valid JSON" in problem.reason and "(byte 200)" in problem.reason


def test_a_missing_amount_is_invalid_and_names_the_json_path():
    event = loaded("charge.succeeded.json")
    del event["data"]["object"]["amount"]
    problem = translate("", body=json.dumps(event).encode())
    assert problem.type is ProblemType.INVALID_PAYLOAD
    assert "missing required field `amount`" in problem.reason
    assert "`$.data.object`" in problem.reason


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("amount", -5, "`$.data.object.amount`"),
        ("amount", "10806", "`$.data.object.amount`"),
        ("created", -1, "`$.data.object.created`"),
        ("currency", "dollars", "`$.data.object.currency`"),
    ],
)
def test_bad_fields_are_invalid_with_their_path(field, value, where):
    event = loaded("refund.created.json")
    event["data"]["object"][field] = value
    problem = translate("", body=json.dumps(event).encode())
    assert problem.type is ProblemType.INVALID_PAYLOAD
    assert where in problem.reason, problem.reason


# -- the API against a fake Stripe -------------------------------------------------------------


def stripe_error(status: int, message: str, kind: str = "invalid_request_error") -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": kind}})


class FakeStripe:
    """Stripe's list/retrieve conventions for the calls the connector makes."""

    def __init__(self, payout: dict[str, Any] | None = None) -> None:
        self.payout = payout or loaded("api-payout.json")
        self.transactions: list[dict[str, Any]] = loaded("api-balance-transactions.json")["data"]
        self.sources: dict[str, Any] = loaded("api-expanded-sources.json")
        self.refunds = loaded("api-refunds-charge-b.json")["data"]
        self.throttle_next = True  # the first request gets a 429
        self.fail_with: httpx.Response | None = None
        self.requests: list[httpx.Request] = []

    def api(self, key: str = KEY, **kwargs: Any) -> StripeApi:
        self.sleeps: list[float] = []
        kwargs.setdefault("retry", RetryPolicy(max_attempts=3, base=0.0, jitter=Jitter.NONE))
        return StripeApi(
            key,
            transport=httpx.MockTransport(self.handle),
            limiter=RateLimiter(1000, 1000),
            sleep=self.sleeps.append,
            **kwargs,
        )

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return stripe_error(401, "Invalid API Key provided: sk_test_***")
        if request.headers.get("Stripe-Version") != API_VERSION:
            return stripe_error(400, "Stripe-Version header missing")
        if self.throttle_next:
            self.throttle_next = False
            response = stripe_error(429, "Too many requests hit the API too quickly.")
            response.headers["Retry-After"] = "0"
            return response
        if self.fail_with is not None:
            return self.fail_with
        query = parse_qs(urlsplit(str(request.url)).query)
        path = request.url.path
        if path == f"/v1/payouts/{self.payout['id']}":
            return httpx.Response(200, json=self.payout)
        if path == "/v1/payouts":
            since = int(query.get("arrival_date[gte]", ["0"])[0])
            items = [self.payout] if self.payout["arrival_date"] >= since else []
            return self.page(items, query, "/v1/payouts")
        if path == "/v1/balance_transactions" and query.get("payout") == [self.payout["id"]]:
            items = self.transactions
            if query.get("expand[]") == ["data.source"]:
                items = [{**t, "source": self.sources.get(t["source"], t["source"])} for t in items]
            return self.page(items, query, path)
        if path == "/v1/refunds" and query.get("charge") == [CH_B]:
            return self.page(self.refunds, query, path)
        return stripe_error(404, f"Unrecognized request URL (GET: {path}).")

    @staticmethod
    def page(items: list[dict[str, Any]], query: dict[str, list[str]], url: str) -> httpx.Response:
        limit = int(query.get("limit", ["10"])[0])
        assert 1 <= limit <= 100
        start = 0
        if "starting_after" in query:
            ids = [item["id"] for item in items]
            start = ids.index(query["starting_after"][0]) + 1
        chunk = items[start : start + limit]
        has_more = start + limit < len(items)
        return httpx.Response(
            200, json={"object": "list", "data": chunk, "has_more": has_more, "url": url}
        )


def test_a_payout_over_three_pages_after_a_429_adds_up_to_the_cent():
    fake = FakeStripe()
    settlement = fake.api(page_size=2).settlement_for_payout(PO)

    # The payout, throttled once (Retry-After: 0) then served; then three pages of two.
    assert fake.paths() == [f"/v1/payouts/{PO}"] * 2 + ["/v1/balance_transactions"] * 3
    assert fake.sleeps == [0.0]
    pages = [parse_qs(urlsplit(str(r.url)).query) for r in fake.requests[2:]]
    assert [q.get("starting_after") for q in pages] == [
        None,
        ["txn_1OzDemoDu1004xYz0I5jK6lM"],  # the last id of page 1 (the dispute)
        ["txn_3OzDemoC1004xYz0O7pQ8rS"],  # the last id of page 2 (#1004's charge)
    ]
    assert all(q["limit"] == ["2"] and q["expand[]"] == ["data.source"] for q in pages)

    lines = [(ln.kind, ln.amount, ln.transaction_id, ln.order_ref) for ln in settlement.lines]
    assert lines == [
        (LineKind.CHARGEBACK, -4500, DU, None),
        (LineKind.FEE, -1500, DU, None),  # the 15.00 dispute fee
        (LineKind.REFUND, -2159, RE_B, None),
        (LineKind.CHARGE, 4500, CH_C, "5600000000004"),
        (LineKind.FEE, -161, CH_C, "5600000000004"),
        (LineKind.CHARGE, 2159, CH_B, "5600000000003"),
        (LineKind.FEE, -93, CH_B, "5600000000003"),
        (LineKind.CHARGE, 10806, CH_A, "5600000000001"),
        (LineKind.FEE, -343, CH_A, "5600000000001"),
    ]
    assert settlement.total == 8709 == sum(ln.amount for ln in settlement.lines)
    assert settlement.unexplained == 0
    assert settlement.by_kind() == {
        LineKind.CHARGEBACK: -4500,
        LineKind.FEE: -2097,
        LineKind.REFUND: -2159,
        LineKind.CHARGE: 17465,
    }
    assert (settlement.gateway, settlement.settlement_id, settlement.currency) == (
        "stripe",
        PO,
        "USD",
    )
    assert settlement.deposit_date == date(2025, 3, 24)
    assert [ln.line_no for ln in settlement.lines] == [2, 2, 3, 4, 4, 5, 5, 6, 6]
    assert settlement.lines[1].description == "Dispute fee"
    assert settlement.lines[0].occurred_at == utc(1742461200)


def test_a_payout_whose_transactions_do_not_add_up_is_refused():
    payout = {**loaded("api-payout.json"), "amount": 8800}
    with pytest.raises(SettlementError, match=r"0\.91 USD unexplained") as caught:
        FakeStripe(payout).api().settlement_for_payout(PO)
    assert not isinstance(caught.value, PayoutNotReconciled)
    assert caught.value.payout_id == PO

    problem = translate("payout.paid.json", api=FakeStripe(payout).api())
    assert problem.type is ProblemType.INCONSISTENT_DOCUMENT
    assert problem.subject == f"payout:stripe:{PO}" and "87.09" in problem.reason


def test_a_payout_still_being_reconciled_is_retried_later():
    fake = FakeStripe({**loaded("api-payout.json"), "reconciliation_status": "in_progress"})
    fake.transactions = fake.transactions[:-1]  # #1001's charge not listed yet
    with pytest.raises(PayoutNotReconciled, match=r"payout\.reconciliation_completed"):
        fake.api().settlement_for_payout(PO)


def test_a_transaction_in_another_currency_is_refused():
    fake = FakeStripe()
    fake.transactions = [dict(t) for t in fake.transactions]
    fake.transactions[3]["currency"] = "eur"
    with pytest.raises(SettlementError, match=r"in USD but its balance transaction .* is in EUR"):
        fake.api().settlement_for_payout(PO)


def test_a_wrong_key_is_an_auth_error_and_a_clear_problem():
    fake = FakeStripe()
    with pytest.raises(AuthError, match="Invalid API Key"):
        fake.api(key="sk_test_wrong").payout(PO)
    problem = translate("payout.paid.json", api=FakeStripe().api(key="sk_test_wrong"))
    assert problem.type is ProblemType.CONNECTOR_AUTH_FAILURE and problem.blocking  # not retried
    assert "refused the configured API key (401)" in problem.reason


def test_stripe_down_is_a_retriable_connector_problem_with_stripe_s_message():
    fake = FakeStripe()
    fake.fail_with = stripe_error(503, "Stripe is temporarily unavailable.", "api_error")
    api = fake.api(retry=RetryPolicy(max_attempts=2, base=0.0, jitter=Jitter.NONE))
    with pytest.raises(RetriableError):
        api.payout(PO)
    problem = translate("payout.paid.json", api=fake.api())
    assert problem.type is ProblemType.CONNECTOR_ERROR and problem.blocking
    assert "retry later: Stripe is temporarily unavailable." in problem.reason


def test_an_unexpected_transaction_shape_names_the_field():
    fake = FakeStripe()
    fake.transactions = [dict(t) for t in fake.transactions]
    del fake.transactions[4]["fee"]
    with pytest.raises(FatalError, match=r"balance transaction #5 .*`fee`"):
        fake.api().settlement_for_payout(PO)


def test_payouts_can_be_listed_from_an_arrival_date():
    fake = FakeStripe()
    api = fake.api()
    assert [po["id"] for po in api.payouts(arrival_date_gte=1742774400)] == [PO]
    assert list(api.payouts(arrival_date_gte=1742774401)) == []
    assert parse_qs(urlsplit(str(fake.requests[-1].url)).query)["arrival_date[gte]"] == [
        "1742774401"
    ]


@pytest.mark.parametrize(
    ("bt_type", "category", "source", "amount", "kind"),
    [
        ("charge", "charge", "ch_1", 100, LineKind.CHARGE),
        ("payment", "charge", "py_1", 100, LineKind.CHARGE),
        ("payment_refund", "refund", "pyr_1", -100, LineKind.REFUND),
        ("adjustment", "dispute", "du_1", -100, LineKind.CHARGEBACK),
        ("adjustment", "dispute_reversal", "du_1", 100, LineKind.CHARGEBACK_REVERSAL),
        ("adjustment", "other_adjustment", "du_1", 100, LineKind.CHARGEBACK_REVERSAL),
        ("adjustment", "other_adjustment", "du_1", -100, LineKind.CHARGEBACK),
        ("adjustment", "fee", "fee_1", -100, LineKind.FEE),
        ("adjustment", "refund_failure", "re_1", 100, LineKind.ADJUSTMENT),
        ("stripe_fee", "fee", None, -100, LineKind.FEE),
        ("reserved_funds", "risk_reserved_funds", None, -100, LineKind.RESERVE),
        ("topup", "topup", "tu_1", 100, LineKind.ADJUSTMENT),
    ],
)
def test_balance_transaction_kinds(bt_type, category, source, amount, kind):
    bt = p.BalanceTransaction(
        id="txn_1", amount=amount, fee=0, net=amount, currency="usd", created=0,
        type=bt_type, reporting_category=category, source=source,
    )  # fmt: skip
    assert line_kind(bt) is kind


def test_a_won_dispute_in_a_later_payout_matches_its_receipt_by_id():
    won = loaded("charge.dispute.closed-won.json")["data"]["object"]
    reversal = msgspec.convert(won["balance_transactions"][1], p.BalanceTransaction)
    payout = msgspec.convert({**loaded("api-payout.json"), "amount": 4500}, p.Payout)
    settlement = settlement_from(payout, [reversal])
    [line] = settlement.lines
    receipt = translate("charge.dispute.closed-won.json").receipt
    assert (line.kind, line.amount) == (LineKind.CHARGEBACK_REVERSAL, 4500)
    assert line.transaction_id == receipt.transaction_id == f"{DU}:reversal"


def test_the_api_refuses_bad_configuration():
    with pytest.raises(ValueError, match="API key"):
        StripeApi("")
    with pytest.raises(ValueError, match="1 to 100"):
        StripeApi(KEY, page_size=101)


def test_a_manual_payout_is_refused_before_listing_its_transactions():
    fake = FakeStripe({**loaded("api-payout.json"), "automatic": False})
    with pytest.raises(ManualPayout):
        fake.api().settlement_for_payout(PO)
    assert "/v1/balance_transactions" not in fake.paths()
