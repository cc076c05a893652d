"""A local fake QuickBooks Online company and Intuit token endpoint, enforcing Intuit's rules.

A real HTTP server (``fakes_channels._FakeServer``: threaded, 127.0.0.1, a free port) that keeps
every document it accepted (``documents``), every request (``calls``, with the ``requestid``
and the raw JSON body), and can say what its general ledger holds (``ledger``), so a test can
compare QuickBooks' books with the hub's.

Rules enforced, with where each comes from (unverified wording is marked so):

OAuth 2.0 (developer.intuit.com, "Set up OAuth 2.0", "Refresh access tokens")
  * ``POST /oauth2/v1/tokens/bearer``, form ``grant_type=refresh_token&refresh_token=…`` with
    HTTP Basic ``client_id:client_secret``; answers ``{"token_type": "bearer", "access_token",
    "expires_in": 3600, "refresh_token", "x_refresh_token_expires_in"}``;
  * every refresh *rotates* the refresh token and the old one is spent (Intuit says a refresh
    may return a new refresh token; we take the strictest reading): a spent or revoked one is
    answered 400 ``invalid_grant``; bad client credentials are 401 ``invalid_client``.

Accounting API v3 (developer.intuit.com API reference; vendor-formats.md §6)
  * ``Authorization: Bearer`` must be a current access token, else 401 with ``{"Fault": {"Error":
    [{"Message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "Detail":
    "Token expired: …", "code": "3200"}], "type": "AuthenticationFault"}}``;
  * ``/v3/company/{realmId}/…`` for another company: 403 ``ApplicationAuthorizationFailed``
    (errorCode 003100; python-quickbooks issue #154 shows the gateway's shape);
  * 500 requests a minute per company (``limit`` per ``window`` seconds, scaled down in tests):
    over it, 429 ``ThrottleExceeded`` (errorCode 003001), not counted. Intuit documents no
    ``Retry-After``; ``retry_after=True`` adds one (the seconds until the window frees);
  * ``minorversion=75`` required (this fake's rule: every request is served as 75 since
    2025-08-01, and we want to see it asked for) and ``requestid`` required, at most 50
    characters (Intuit "Request ID"; required here because the hub always sends one);
  * a repeated ``requestid`` answers the original success again without creating anything
    (Intuit: "sends the same response as it did for the original request"); a refused
    request is not remembered, so it may be sent again after a fix (Intuit does not say);
  * ``journalentry``, ``salesreceipt``, ``refundreceipt``, ``deposit``, validated as Intuit's
    reference describes them: ``TxnDate`` a date; ``DocNumber`` at most 21 characters (2050,
    wording unverified); not on or before the company's closing date (6210 "Account Period
    Closed"); references (``AccountRef``, ``ItemRef``, ``DepositToAccountRef``,
    ``DiscountAccountRef``, ``ClassRef``, ``DepartmentRef``) to records the company has
    (2500 "Invalid Reference Id"); ``CurrencyRef`` a currency the company uses; amounts with at
    most two decimals; a JournalEntry's debits equal its credits (6000, wording unverified);
    a receipt or deposit puts money in a Bank or Other Current Asset account (Intuit's
    ``DepositToAccountRef`` reference; 6000, wording unverified);
  * answers ``{"<Entity>": {…, "Id", "SyncToken": "0", "TotalAmt", "MetaData"}, "time"}``;
  * ``GET …/query?query=select Id from <Entity> where DocNumber = '…'`` answers
    ``{"QueryResponse": {"<Entity>": [{"Id"}], "startPosition", "maxResults"}}``, or an empty
    ``QueryResponse`` (Intuit's query reference);
  * ``honour_requestid = False`` makes a repeated ``requestid`` create a second document, as
    node-quickbooks #38 and QuickBooks-V3-DotNET-SDK #352 report seeing: the connector's
    ``check_existing`` guard is tested against it.

The clock is injectable (``fakes_channels.FakeClock``): a test shares one simulated time between
this server's token lifetimes and rate window and the connector's sleeps.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes_channels import Answer, Call, _FakeServer

REALM = "9341453050180392"
CLIENT_ID = "AB-fake-client-id"
CLIENT_SECRET = "fake-client-credential"  # a made-up value for the fake only
FIRST_REFRESH_TOKEN = "AB11-fake-refresh-token-0"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
ENTITIES = {
    "journalentry": "JournalEntry",
    "salesreceipt": "SalesReceipt",
    "refundreceipt": "RefundReceipt",
    "deposit": "Deposit",
}
MONEY_ACCOUNT_TYPES = {"Bank", "Other Current Asset"}

# A retailer's QuickBooks chart: Id -> (name, AccountType).
CHART: dict[str, tuple[str, str]] = {
    "35": ("Checking", "Bank"),
    "36": ("Shopify Payments Clearing", "Other Current Asset"),
    "37": ("Inventory Asset", "Other Current Asset"),
    "38": ("Customer Deposits", "Other Current Liability"),
    "39": ("Order Deposits Clearing", "Other Current Asset"),
    "40": ("Sales Tax Payable", "Other Current Liability"),
    "41": ("Opening Balance Equity", "Equity"),
    "79": ("Sales of Product Income", "Income"),
    "80": ("Discounts Given", "Income"),
    "81": ("Shipping Income", "Income"),
    "82": ("Refund Adjustments", "Income"),
    "90": ("Cost of Goods Sold", "Cost of Goods Sold"),
    "91": ("Merchant Fees", "Expense"),
    "92": ("Inventory Adjustments", "Expense"),
}
# Items: Id -> (name, the account a sale of it credits).
ITEMS: dict[str, tuple[str, str]] = {
    "1": ("Merchandise", "79"),
    "2": ("Sales tax collected", "40"),
    "3": ("Shipping", "81"),
    "4": ("Order deposit applied", "39"),
}
DEPARTMENTS = {"1": "Central warehouse", "2": "Downtown", "3": "Riverside Mall"}
CLASSES = {"100": "Web", "200": "Stores"}


@dataclass
class Posting:
    """One line of the fake's general ledger: debit positive, in the document's currency."""

    account: str
    amount: Decimal
    currency: str
    document: str


@dataclass
class _Tokens:
    access: dict[str, float] = field(default_factory=dict)  # token -> expires at (monotonic)
    refresh: set[str] = field(default_factory=set)


class FakeQuickBooks(_FakeServer):
    """One QuickBooks Online company (``realm``) behind Intuit's gateway and token endpoint."""

    def __init__(
        self,
        *,
        realm: str = REALM,
        clock: Callable[[], float] = time.monotonic,
        limit: int = 500,
        window: float = 60.0,
        retry_after: bool = False,
        access_ttl: int = 3600,
        home_currency: str = "USD",
        currencies: frozenset[str] = frozenset({"USD", "EUR", "CAD"}),
    ) -> None:
        super().__init__(clock)
        self.realm = realm
        self.limit = limit
        self.window = window
        self.retry_after = retry_after
        self.access_ttl = access_ttl
        self.home_currency = home_currency
        self.currencies = currencies
        self.chart = dict(CHART)
        self.items = dict(ITEMS)
        self.departments = dict(DEPARTMENTS)
        self.classes = dict(CLASSES)
        self.closing_date: date | None = None
        self.storm = False  # True: every API request is throttled (outlasts any retries)
        # False: a repeated requestid creates again, as some integrators report Intuit doing.
        self.honour_requestid = True
        self.documents: dict[str, dict[str, Any]] = {}  # Id -> the stored entity
        self.kinds: dict[str, str] = {}  # Id -> entity name
        self.grants = 0
        self._tokens = _Tokens(refresh={FIRST_REFRESH_TOKEN})
        self._answers: dict[str, Answer] = {}  # requestid -> the success it got
        self._recent: deque[float] = deque()
        self._next_id = 100
        self._serial = 0
        self._lost_answers = 0

    def __enter__(self) -> FakeQuickBooks:
        self.start()
        return self

    # -- what tests read and set -----------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.url

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def throttled(self) -> int:
        """How many requests were answered 429."""
        return sum(1 for c in self.calls if c.status == 429)

    @property
    def current_refresh_token(self) -> str:
        with self._lock:
            (token,) = self._tokens.refresh
            return token

    def created(self, entity: str | None = None) -> list[dict[str, Any]]:
        """The documents accepted, oldest first (of one entity, if named)."""
        with self._lock:
            return [
                doc
                for doc_id, doc in self.documents.items()
                if entity is None or self.kinds[doc_id] == entity
            ]

    def posts(self) -> list[Call]:
        """Every create request to the company, whatever it was answered (429 and 401 too)."""
        return [c for c in self.calls if c.method == "POST" and "/v3/company/" in c.path]

    def revoke_access_tokens(self) -> None:
        """Intuit invalidated the access tokens (the app was disconnected, say)."""
        with self._lock:
            self._tokens.access.clear()

    def revoke_refresh_tokens(self) -> None:
        """The user disconnected the app: no refresh token works any more."""
        with self._lock:
            self._tokens.refresh.clear()

    def reconnect(self) -> str:
        """The user authorised the app again (OAuth Playground): a fresh refresh token."""
        with self._lock:
            self._serial += 1
            token = f"AB11-fake-refresh-token-{self._serial}"
            self._tokens.refresh = {token}
            return token

    def lose_next_answers(self, times: int = 1) -> None:
        """Create the next ``times`` documents, then answer 503 as if the answer was lost."""
        with self._lock:
            self._lost_answers += times

    def ledger(self) -> dict[tuple[str, str], Decimal]:
        """Net balance per (account Id, currency) over every accepted document, debit positive."""
        out: dict[tuple[str, str], Decimal] = {}
        with self._lock:
            for doc_id, doc in self.documents.items():
                for p in _postings(self.kinds[doc_id], doc, self.items, self.home_currency):
                    key = (p.account, p.currency)
                    out[key] = out.get(key, Decimal(0)) + p.amount
        return {k: v for k, v in out.items() if v}

    # -- the server ------------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        now = self._clock()
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == TOKEN_PATH:
            status, extra, payload = self._token_grant(method, headers, raw, now)
            self.calls.append(Call(now, method, path, status, None))
            return status, extra, payload
        status, extra, payload = self._api(method, parts.path, query, headers, raw, now)
        body = _loads(raw)
        self.calls.append(Call(now, method, path, status, body, query.get("requestid")))
        return status, extra, payload

    def _token_grant(self, method: str, headers: dict[str, str], raw: bytes, now: float) -> Answer:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if method != "POST" or headers.get("authorization") != f"Basic {expected}":
            return 401, {}, {"error": "invalid_client"}
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return 400, {}, {"error": "unsupported_grant_type"}
        if form.get("refresh_token") not in self._tokens.refresh:
            return 400, {}, {"error": "invalid_grant"}
        self.grants += 1
        self._serial += 1
        access = f"eyJ-fake-access-{self._serial}"
        refresh = f"AB11-fake-refresh-token-{self._serial}"
        self._tokens.refresh = {refresh}  # rotated: the old one is spent
        self._tokens.access[access] = now + self.access_ttl
        return (
            200,
            {},
            {
                "token_type": "bearer",
                "access_token": access,
                "expires_in": self.access_ttl,
                "refresh_token": refresh,
                "x_refresh_token_expires_in": 8_726_400,
            },
        )

    def _api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        raw: bytes,
        now: float,
    ) -> Answer:
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        expires = self._tokens.access.get(bearer)
        if expires is None or expires <= now:
            detail = "Token expired: " + bearer[:12] if expires is not None else "Token revoked"
            return _fault(
                401,
                "3200",
                "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                detail,
                kind="AuthenticationFault",
            )
        segments = path.strip("/").split("/")
        if len(segments) != 4 or segments[:2] != ["v3", "company"]:
            return _fault(404, "610", "Object Not Found", f"no resource at {path}")
        if segments[2] != self.realm:
            return _gateway(403, "3100", "AuthorizationFailed", "ApplicationAuthorizationFailed")
        if self.storm or not self._admit(now):
            extra = {"Retry-After": str(self._free_in(now))} if self.retry_after else {}
            return _gateway(
                429, "3001", "ThrottleExceeded", "The request limit was reached.", extra
            )
        if query.get("minorversion") != "75":
            return _fault(400, "4000", "Invalid minorversion", "this fake wants minorversion=75")
        if method == "GET" and segments[3] == "query":
            return self._query(query.get("query", ""))
        request_id = query.get("requestid")
        if not request_id or len(request_id) > 50:
            return _fault(
                400, "4001", "Invalid requestid", "requestid is required, at most 50 characters"
            )
        if request_id in self._answers and self.honour_requestid:
            return self._answers[request_id]
        entity = ENTITIES.get(segments[3])
        if method != "POST" or entity is None:
            return _fault(
                400,
                "500",
                "Unsupported Operation",
                f"Operation {method} {segments[3]} is not supported.",
            )
        try:
            body = json.loads(raw, parse_float=Decimal)
            self._validate(entity, body)
        except _Invalid as invalid:
            return invalid.answer()
        except ValueError:
            return _Invalid("2020", "the body is not JSON").answer()
        answer = self._store(entity, body, json.loads(raw))
        self._answers[request_id] = answer
        if self._lost_answers:
            self._lost_answers -= 1
            return (
                503,
                {},
                {"Fault": {"Error": [{"Message": "Service Unavailable"}], "type": "SystemFault"}},
            )
        return answer

    def _query(self, text: str) -> Answer:
        """``select Id from <Entity> where DocNumber = '<n>'``: the one query the hub asks."""
        match = re.fullmatch(r"select (?:\*|Id) from (\w+) where DocNumber = '([^']*)'", text)
        if match is None or match[1] not in ENTITIES.values():
            return _Invalid("4000", f"QueryParserError: cannot read {text!r}").answer()
        entity, number = match[1], match[2]
        found = [
            {"Id": doc_id}
            for doc_id, doc in self.documents.items()
            if self.kinds[doc_id] == entity and doc.get("DocNumber") == number
        ]
        page = {entity: found, "startPosition": 1, "maxResults": len(found)} if found else {}
        return 200, {}, {"QueryResponse": page, "time": datetime.now(UTC).isoformat()}

    def _admit(self, now: float) -> bool:
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        if len(self._recent) >= self.limit:
            return False
        self._recent.append(now)
        return True

    def _free_in(self, now: float) -> int:
        return max(1, int(self._recent[0] + self.window - now + 0.999)) if self._recent else 1

    def _store(self, entity: str, body: dict[str, Any], echo: dict[str, Any]) -> Answer:
        """Keep ``body`` (exact amounts); answer with ``echo`` (numbers, as Intuit writes them)."""
        self._next_id += 1
        doc_id = str(self._next_id)
        stamp = datetime.now(UTC).isoformat()
        echo.update(
            Id=doc_id,
            SyncToken="0",
            TotalAmt=float(_total(entity, body)),
            MetaData={"CreateTime": stamp, "LastUpdatedTime": stamp},
        )
        self.documents[doc_id] = {**body, "Id": doc_id}
        self.kinds[doc_id] = entity
        return 200, {}, {entity: echo, "time": stamp}

    # -- validation ------------------------------------------------------------------------

    def _validate(self, entity: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise _Invalid("2020", "the body is not a JSON object")
        self._header(body)
        lines = body.get("Line")
        if not isinstance(lines, list) or not lines:
            raise _Invalid("2020", "Required parameter Line is missing in the request", "Line")
        for line in lines:
            _money(line.get("Amount"), negative_ok=entity == "Deposit")
        if entity == "JournalEntry":
            self._journal(lines)
        elif entity in ("SalesReceipt", "RefundReceipt"):
            self._receipt(body, lines)
        else:
            self._deposit(body, lines)

    def _header(self, body: dict[str, Any]) -> None:
        try:
            txn_date = date.fromisoformat(str(body.get("TxnDate")))
        except ValueError:
            raise _Invalid("2010", f"TxnDate {body.get('TxnDate')!r}", "TxnDate") from None
        number = str(body.get("DocNumber") or "")
        if len(number) > 21:
            raise _Invalid("2050", "String length specified does not match the supported "
                           f"length. Min:0 Max:21 supported. Supplied length:{len(number)}",
                           "DocNumber")  # fmt: skip
        if self.closing_date is not None and txn_date <= self.closing_date:
            raise _Invalid("6210", "The account period has closed and the account books cannot "
                           "be updated through the QBO Services API. Please use the QBO "
                           "website to make these changes.")  # fmt: skip
        currency = (body.get("CurrencyRef") or {}).get("value", self.home_currency)
        if currency not in self.currencies:
            raise _Invalid("2500", f"Invalid Reference Id : Currency {currency} is not used "
                           "by this company", "CurrencyRef")  # fmt: skip
        self._ref(body.get("DepartmentRef"), self.departments, "Departments")
        self._ref(body.get("ClassRef"), self.classes, "Classes")

    def _journal(self, lines: list[dict[str, Any]]) -> None:
        sums = {"Debit": Decimal(0), "Credit": Decimal(0)}
        for line in lines:
            detail = line.get("JournalEntryLineDetail") or {}
            posting = detail.get("PostingType")
            if line.get("DetailType") != "JournalEntryLineDetail" or posting not in sums:
                raise _Invalid("2170", f"Invalid Enumeration : {posting}", "PostingType")
            self._ref(detail.get("AccountRef"), self.chart, "Accounts", required=True)
            self._ref(detail.get("ClassRef"), self.classes, "Classes")
            self._ref(detail.get("DepartmentRef"), self.departments, "Departments")
            sums[posting] += Decimal(str(line["Amount"]))
        if sums["Debit"] != sums["Credit"]:
            raise _Invalid("6000", f"Business Validation Error: Debits ({sums['Debit']}) and "
                           f"credits ({sums['Credit']}) must be equal.")  # fmt: skip

    def _receipt(self, body: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self._money_account(body)
        for line in lines:
            kind = line.get("DetailType")
            if kind == "SalesItemLineDetail":
                detail = line["SalesItemLineDetail"]
                self._ref(detail.get("ItemRef"), self.items, "Items", required=True)
                self._ref(detail.get("ClassRef"), self.classes, "Classes")
                qty, price = detail.get("Qty", 1), detail.get("UnitPrice", line["Amount"])
                if Decimal(str(qty)) * Decimal(str(price)) != Decimal(str(line["Amount"])):
                    raise _Invalid("6000", "Business Validation Error: Amount is not equal "
                                   "to UnitPrice * Qty.")  # fmt: skip
            elif kind == "DiscountLineDetail":
                detail = line["DiscountLineDetail"]
                self._ref(detail.get("DiscountAccountRef"), self.chart, "Accounts", required=True)
            else:
                raise _Invalid("2170", f"Invalid Enumeration : {kind}", "DetailType")

    def _deposit(self, body: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self._money_account(body)
        for line in lines:
            if line.get("DetailType") != "DepositLineDetail":
                raise _Invalid("2170", f"Invalid Enumeration : {line.get('DetailType')}")
            detail = line.get("DepositLineDetail") or {}
            self._ref(detail.get("AccountRef"), self.chart, "Accounts", required=True)
            self._ref(detail.get("ClassRef"), self.classes, "Classes")
        if _total("Deposit", body) <= 0:
            raise _Invalid("6000", "Business Validation Error: a deposit must be positive.")

    def _money_account(self, body: dict[str, Any]) -> None:
        ref = body.get("DepositToAccountRef")
        self._ref(ref, self.chart, "Accounts", required=True)
        kind = self.chart[str(body["DepositToAccountRef"]["value"])][1]
        if kind not in MONEY_ACCOUNT_TYPES:
            raise _Invalid("6000", "Business Validation Error: DepositToAccountRef must be a "
                           f"Bank or Other Current Asset account, not {kind}.",
                           "DepositToAccountRef")  # fmt: skip

    @staticmethod
    def _ref(ref: Any, known: dict[str, Any], name: str, required: bool = False) -> None:
        if ref is None and not required:
            return
        value = ref.get("value") if isinstance(ref, dict) else None
        if value is None or str(value) not in known:
            raise _Invalid("2500", f"Invalid Reference Id : {name} element id {value} not found",
                           name)  # fmt: skip


# Intuit's Message per code (its error-code list and the 2017 "Top errors" post); the
# Detail texts are ours unless the module docstring says otherwise.
MESSAGES = {
    "2010": "Request has invalid or unsupported property",
    "2020": "Required param missing, need to supply the required value for the API",
    "2050": "String length is either shorter or longer than supported by specification",
    "2170": "Invalid Enumeration",
    "2500": "Invalid Reference Id",
    "4000": "Error parsing query",
    "6000": "A business validation error has occurred while processing your request",
    "6210": "Account Period Closed",
}


class _Invalid(Exception):
    """A ValidationFault (HTTP 400) with Intuit's code and message."""

    def __init__(self, code: str, detail: str, element: str = "") -> None:
        super().__init__(detail)
        self.code, self.detail, self.element = code, detail, element

    def answer(self) -> Answer:
        return _fault(400, self.code, MESSAGES[self.code], self.detail, self.element)


def _money(value: Any, negative_ok: bool = False) -> None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _Invalid("2010", f"Line.Amount {value!r}", "Amount") from None
    exponent = amount.as_tuple().exponent
    if (isinstance(exponent, int) and exponent < -2) or (amount < 0 and not negative_ok):
        raise _Invalid("6000", f"Business Validation Error: invalid amount {value}", "Amount")


def _total(entity: str, body: dict[str, Any]) -> Decimal:
    total = Decimal(0)
    for line in body["Line"]:
        value = Decimal(str(line["Amount"]))
        if entity == "JournalEntry":
            if line["JournalEntryLineDetail"]["PostingType"] == "Debit":
                total += value
        elif line.get("DetailType") == "DiscountLineDetail":
            total -= value
        else:
            total += value
    return total


def _postings(
    entity: str, doc: dict[str, Any], items: dict[str, tuple[str, str]], home: str
) -> list[Posting]:
    """What a document does to the general ledger, as QuickBooks books it."""
    currency = (doc.get("CurrencyRef") or {}).get("value", home)
    doc_id = str(doc["Id"])
    out: list[Posting] = []

    def post(account: Any, amount: Decimal) -> None:
        out.append(Posting(str(account["value"]), amount, currency, doc_id))

    if entity == "JournalEntry":
        for line in doc["Line"]:
            detail = line["JournalEntryLineDetail"]
            sign = 1 if detail["PostingType"] == "Debit" else -1
            post(detail["AccountRef"], sign * Decimal(str(line["Amount"])))
        return out
    # A sale credits its items' accounts and debits the money account; a refund the reverse.
    sign = -1 if entity == "RefundReceipt" else 1
    for line in doc["Line"]:
        value = Decimal(str(line["Amount"]))
        if line["DetailType"] == "SalesItemLineDetail":
            item = str(line["SalesItemLineDetail"]["ItemRef"]["value"])
            post({"value": items[item][1]}, -sign * value)
        elif line["DetailType"] == "DiscountLineDetail":
            post(line["DiscountLineDetail"]["DiscountAccountRef"], sign * value)
        else:  # Deposit: each line credits its account by its (signed) amount
            post(line["DepositLineDetail"]["AccountRef"], -value)
    post(doc["DepositToAccountRef"], sign * _total(entity, doc))
    return out


def _fault(
    status: int,
    code: str,
    message: str,
    detail: str,
    element: str = "",
    kind: str = "ValidationFault",
) -> Answer:
    error = {"Message": message, "Detail": detail, "code": code, "element": element}
    stamp = datetime.now(UTC).isoformat()
    return status, {}, {"Fault": {"Error": [error], "type": kind}, "time": stamp}


def _gateway(
    status: int, code: str, message: str, detail: str, extra: dict[str, str] | None = None
) -> Answer:
    """The gateway's own spelling (lower case), as python-quickbooks issues quote it."""
    text = f"message={message}; errorCode={int(code):06d}; statusCode={status}"
    error = {"message": text, "detail": detail, "code": code, "element": None}
    return status, extra or {}, {"fault": {"error": [error], "type": "SERVICE"}, "time": 0}


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")
