"""A local fake Xero: the Accounting API 2.0 and its identity server, with Xero's rules.

A real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1, a free port) for the Xero connector's
tests. It keeps every document it accepted (``documents``) and every write as it arrived
(``writes``), so a test can say what Xero would hold and what was sent to it.

Rules enforced, with where each comes from:

Identity server (developer.xero.com OAuth 2.0 guides; Xero developer community, official answers)
  * ``POST /connect/token`` with ``grant_type=refresh_token`` and the client id/secret as HTTP
    Basic credentials (else 401 ``{"error": "invalid_client"}``);
  * access tokens live ``token_ttl`` (1800 s); each refresh issues a new refresh token and spends
    the old one, which still works for ``refresh_grace`` (30 minutes); anything else is
    400 ``{"error": "invalid_grant"}``.

Accounting API (``/api.xro/2.0/{ManualJournals|Invoices|Payments|BankTransactions}``)
  * ``Authorization: Bearer <current token>``, else 401 ``{"Title": "Unauthorized", "Detail":
    "TokenExpired: …"}``; ``Xero-tenant-id`` of the connected organisation, else 403
    ``AuthenticationUnsuccessful``;
  * limits per organisation (developer.xero.com/faq/limits): ``minute_limit`` (60) calls in a
    rolling ``minute_window`` (60 s), ``day_limit`` (5,000) in a rolling ``day_window`` (24 h),
    ``app_minute_limit`` (10,000) per app. Over one: 429 with ``Retry-After`` (whole seconds until
    a call leaves the window) and ``X-Rate-Limit-Problem: minute|day|appminute``, not counted.
    Every other answer carries ``X-MinLimit-Remaining``, ``X-DayLimit-Remaining`` and
    ``X-AppMinLimit-Remaining``. ``hog`` makes every call a 429 (another app of the organisation
    spending the limit);
  * ``Idempotency-Key`` (≤ 128 characters): a repeated key with the same request gets the first
    answer again and nothing is created; with a different request, 400. Keys are kept
    ``key_ttl`` (360 s: "keys are stored for 6 minutes from the time of the first call",
    developer.xero.com "Idempotent requests"). Only successful answers are kept (an assumption:
    Xero does not say whether refusals are replayed); ``drop_after_commit`` answers nothing to
    the next writes after storing them, as a connection lost in flight;
  * ``PUT``/``POST`` take ``{"<Endpoint>": [...]}`` and refuse the whole batch with 400
    ``{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception
    occurred", "Elements": [{…the document…, "ValidationErrors": [{"Message"}]}]}``;
  * ManualJournals: a narration, a date, at least two ``JournalLines``, known ``AccountCode``s,
    amounts with at most 2 decimals summing to zero ("The total debits (100.00) must equal total
    credits (-10.00)", Xero's OpenAPI example), at most two tracking categories per line;
  * every document dated on or before ``lock_date`` is refused: "The document date cannot be
    before the period lock date, currently set at 30-Nov-2018" (Xero's message as integrators
    quote it);
  * Invoices: ACCREC/ACCPAY, a contact (created by name when new), line items on known non-bank
    accounts, a total that is not negative, a currency the organisation uses; Payments: an
    AUTHORISED invoice, a bank account or one with payments enabled, no more than the amount due
    (the invoice becomes PAID when nothing is due); BankTransactions: RECEIVE/SPEND on a bank
    account in the transaction's currency, line items on known non-bank accounts;
  * ``GET`` with ``where`` (``Field=="value"`` clauses joined by ``&&``) lists stored documents.
  The wording of messages not quoted above is the fake's own.

Time comes from ``clock`` (seconds, e.g. ``FakeClock.monotonic``), so tests run hours in
milliseconds.
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_http import LocalServer

TENANT_ID = "8e7c6a4b-3d2f-4a1b-9c0d-5e6f7a8b9c0d"
CLIENT_ID = "FAKEXEROCLIENTID0000000000000000"
CLIENT_SECRET = "fake-xero-client-secret"  # the fake's own, not a Xero credential
FIRST_REFRESH_TOKEN = "fake-xero-refresh-0"
ENDPOINTS = {
    "ManualJournals": "ManualJournal",
    "Invoices": "Invoice",
    "Payments": "Payment",
    "BankTransactions": "BankTransaction",
}
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_CLAUSE = re.compile(r'^\s*(\w+)\s*==\s*"((?:[^"\\]|\\.)*)"\s*$')
_RATE_LIMITED = (
    "oauth_problem=rate%20limit%20exceeded&oauth_problem_advice=please%20wait%20before%20"
    "retrying%20the%20xero%20api"
)


@dataclass(frozen=True)
class XeroAccount:
    code: str
    name: str
    type: str  # BANK, CURRENT, CURRLIAB, REVENUE, DIRECTCOSTS, EXPENSE, EQUITY
    payments: bool = False  # EnablePaymentsToAccount
    currency: str = "USD"  # a bank account's currency


CHART = {
    a.code: a
    for a in (
        XeroAccount("090", "Business Bank Account", "BANK"),
        XeroAccount("091", "Euro Bank Account", "BANK", currency="EUR"),
        XeroAccount("120", "Payment Clearing", "CURRENT", payments=True),
        XeroAccount("130", "Inventory", "CURRENT"),
        XeroAccount("140", "Gateway Reserves", "CURRENT"),
        XeroAccount("200", "Sales", "REVENUE"),
        XeroAccount("210", "Shipping Income", "REVENUE"),
        XeroAccount("220", "Discounts Given", "REVENUE"),
        XeroAccount("230", "Refund Adjustments", "REVENUE"),
        XeroAccount("310", "Cost of Goods Sold", "DIRECTCOSTS"),
        XeroAccount("404", "Payment Processing Fees", "EXPENSE"),
        XeroAccount("405", "Marketplace Commissions", "EXPENSE"),
        XeroAccount("406", "Settlement Adjustments", "EXPENSE"),
        XeroAccount("820", "Sales Tax Payable", "CURRLIAB"),
        XeroAccount("825", "Customer Deposits", "CURRLIAB", payments=True),
        XeroAccount("830", "Gift Card Liability", "CURRLIAB", payments=True),
        XeroAccount("970", "Opening Balances", "EQUITY"),
    )
}


@dataclass(frozen=True)
class Write:
    """One PUT/POST as the fake saw it (``body`` parsed with exact decimals)."""

    at: float
    method: str
    endpoint: str
    key: str | None
    body: Any
    raw: bytes
    status: int
    replayed: bool = False


@dataclass(frozen=True)
class Throttled:
    """A 429 the fake answered: when, which limit, and the ``Retry-After`` it asked for."""

    at: float
    problem: str
    retry_after: int


@dataclass
class _Remembered:
    at: float
    fingerprint: tuple[str, str, bytes]
    status: int
    payload: Any


@dataclass
class _Answer:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class FakeXero(LocalServer):
    """One Xero organisation behind a local HTTP server; see the module docstring."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        minute_limit: int = 60,
        minute_window: float = 60.0,
        day_limit: int = 5000,
        day_window: float = 86_400.0,
        app_minute_limit: int = 10_000,
        token_ttl: float = 1800.0,
        refresh_grace: float = 1800.0,
        key_ttl: float = 360.0,
        accounts: dict[str, XeroAccount] | None = None,
        currencies: tuple[str, ...] = ("USD",),
        lock_date: date | None = None,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""
        self.minute_limit, self.minute_window = minute_limit, minute_window
        self.day_limit, self.day_window = day_limit, day_window
        self.app_minute_limit = app_minute_limit
        self.token_ttl, self.refresh_grace, self.key_ttl = token_ttl, refresh_grace, key_ttl
        self.accounts = dict(CHART if accounts is None else accounts)
        self.currencies = set(currencies)
        self.lock_date = lock_date
        self.hog: str | None = None  # "minute": every call is refused as if another app spent it
        self.hog_retry_after = 30
        self.drop_after_commit = 0
        self.documents: dict[str, list[dict[str, Any]]] = {k: [] for k in ENDPOINTS.values()}
        self.contacts: dict[str, str] = {}
        self.writes: list[Write] = []
        self.lookups: list[str] = []  # the ``where`` of every GET
        self.throttled: list[Throttled] = []
        self.answered: list[tuple[float, str, int]] = []  # (at, path, status) of every API call
        self.grants = 0  # successful token refreshes
        self.refused_grants = 0
        self.refresh_token = FIRST_REFRESH_TOKEN
        self._spent: dict[str, float] = {}  # refresh token -> when it was spent
        self._access: dict[str, float] = {}  # access token -> expiry
        self._minute: deque[float] = deque()
        self._day: deque[float] = deque()
        self._keys: dict[str, _Remembered] = {}

    # -- running ---------------------------------------------------------------------------

    # -- what tests set and read -----------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.url}/connect/token"

    def expire_access_tokens(self) -> None:
        """Every access token handed out so far stops working (30 minutes passed)."""
        with self._lock:
            self._access.clear()

    def revoke_refresh_tokens(self) -> None:
        """The connection was removed in Xero: no refresh token works any more."""
        with self._lock:
            self.refresh_token = f"revoked-{uuid.uuid4()}"
            self._spent.clear()
            self._access.clear()

    def created(self, kind: str) -> list[Write]:
        """Writes to ``kind``'s endpoint that created something (not replays, not refusals)."""
        return [w for w in self.writes if w.endpoint == kind and w.status == 200 and not w.replayed]

    @property
    def replays(self) -> list[Write]:
        return [w for w in self.writes if w.replayed]

    # -- serving ---------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            try:
                answer = self._answer(method, handler.path, headers, raw)
            except Exception as exc:  # a bug in the fake: say so rather than drop the line
                answer = _Answer(500, {"Message": f"fake Xero failed: {exc!r}"})
        if answer.drop:  # stored, then the connection is lost before the answer
            handler.close_connection = True
            return
        if isinstance(answer.payload, str):
            data, kind = answer.payload.encode(), "text/plain; charset=utf-8"
        else:
            data, kind = json.dumps(answer.payload, default=_number).encode(), "application/json"
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Answer:
        url = urlsplit(path)
        if url.path == "/connect/token" and method == "POST":
            return self._token(headers, raw)
        endpoint = url.path.removeprefix("/api.xro/2.0/")
        if not url.path.startswith("/api.xro/2.0/") or endpoint not in ENDPOINTS:
            return _Answer(404, {"Title": "NotFound", "Status": 404, "Detail": url.path})
        refused = self._authorise(headers)
        if refused is None:
            refused = self._throttle()
        if refused is not None:
            self.answered.append((self._clock(), url.path, refused.status))
            return refused
        now = self._clock()
        self._minute.append(now)
        self._day.append(now)
        if method == "GET":
            answer = self._list(endpoint, parse_qs(url.query).get("where", [""])[0])
        else:
            answer = self._write(method, endpoint, headers, raw)
        answer.headers.update(self._remaining())
        self.answered.append((now, url.path, answer.status))
        return answer

    # -- identity --------------------------------------------------------------------------

    def _token(self, headers: dict[str, str], raw: bytes) -> _Answer:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return _Answer(401, {"error": "invalid_client"})
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return _Answer(400, {"error": "unsupported_grant_type"})
        now = self._clock()
        offered = form.get("refresh_token", "")
        spent_at = self._spent.get(offered)
        in_grace = spent_at is not None and now - spent_at <= self.refresh_grace
        if offered != self.refresh_token and not in_grace:
            self.refused_grants += 1
            return _Answer(400, {"error": "invalid_grant"})
        self.grants += 1
        self._spent[self.refresh_token] = now
        self.refresh_token = f"fake-xero-refresh-{self.grants}"
        access = f"fake-xero-access-{self.grants}-{uuid.uuid4().hex[:8]}"
        self._access[access] = now + self.token_ttl
        return _Answer(
            200,
            {
                "access_token": access,
                "expires_in": int(self.token_ttl),
                "token_type": "Bearer",
                "refresh_token": self.refresh_token,
                "scope": "offline_access accounting.transactions",
            },
        )

    def _authorise(self, headers: dict[str, str]) -> _Answer | None:
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        expiry = self._access.get(token)
        if expiry is None or expiry <= self._clock():
            detail = "TokenExpired: token expired" if expiry else "AuthenticationUnsuccessful"
            body = {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": detail}
            return _Answer(401, body, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if headers.get("xero-tenant-id") != TENANT_ID:
            body = {"Type": None, "Title": "Forbidden", "Status": 403,
                    "Detail": "AuthenticationUnsuccessful"}  # fmt: skip
            return _Answer(403, body)
        return None

    # -- limits ----------------------------------------------------------------------------

    def _throttle(self) -> _Answer | None:
        now = self._clock()
        while self._minute and self._minute[0] <= now - self.minute_window:
            self._minute.popleft()
        while self._day and self._day[0] <= now - self.day_window:
            self._day.popleft()
        problem, wait = None, 0.0
        if self.hog:
            problem, wait = self.hog, float(self.hog_retry_after)
        elif len(self._day) >= self.day_limit:
            problem, wait = "day", self._day[0] + self.day_window - now
        elif len(self._minute) >= self.minute_limit:
            problem, wait = "minute", self._minute[0] + self.minute_window - now
        elif len(self._minute) >= self.app_minute_limit:
            problem, wait = "appminute", self._minute[0] + self.minute_window - now
        if problem is None:
            return None
        retry_after = max(1, math.ceil(wait))
        self.throttled.append(Throttled(now, problem, retry_after))
        headers = {"Retry-After": str(retry_after), "X-Rate-Limit-Problem": problem}
        return _Answer(429, _RATE_LIMITED, headers)

    def _remaining(self) -> dict[str, str]:
        return {
            "X-MinLimit-Remaining": str(max(0, self.minute_limit - len(self._minute))),
            "X-DayLimit-Remaining": str(max(0, self.day_limit - len(self._day))),
            "X-AppMinLimit-Remaining": str(max(0, self.app_minute_limit - len(self._minute))),
        }

    # -- reading ---------------------------------------------------------------------------

    def _list(self, endpoint: str, where: str) -> _Answer:
        self.lookups.append(where)
        clauses = []
        for part in where.split("&&") if where else []:
            match = _CLAUSE.match(part)
            if match is None:
                return _Answer(400, {"Message": f'the fake reads Field=="value" only: {part}'})
            clauses.append((match[1], re.sub(r"\\(.)", r"\1", match[2])))
        found = [d for d in self.documents[ENDPOINTS[endpoint]]
                 if all(str(d.get(f)) == v for f, v in clauses)]  # fmt: skip
        return _Answer(200, _envelope(endpoint, found))

    # -- writing ---------------------------------------------------------------------------

    def _write(self, method: str, endpoint: str, headers: dict[str, str], raw: bytes) -> _Answer:
        now = self._clock()
        key = headers.get("idempotency-key")
        body = _parse(raw)
        self._forget_old_keys(now)
        if key is not None and len(key) > 128:
            return self._refuse(method, endpoint, key, body, raw, "Idempotency-Key is over 128")
        fingerprint = (method, endpoint, raw)
        remembered = self._keys.get(key) if key else None
        if remembered is not None:
            if remembered.fingerprint != fingerprint:
                return self._refuse(
                    method, endpoint, key, body, raw,
                    "The Idempotency-Key was already used for a different request",
                )  # fmt: skip
            self.writes.append(Write(now, method, endpoint, key, body, raw, 200, replayed=True))
            return _Answer(remembered.status, remembered.payload)
        elements = body.get(endpoint) if isinstance(body, dict) else None
        if not isinstance(elements, list) or not elements:
            return self._refuse(method, endpoint, key, body, raw, f"{endpoint} are required")
        kind = ENDPOINTS[endpoint]
        checked = [(e, self._errors(kind, e)) for e in elements]
        if any(errors for _, errors in checked):
            self.writes.append(Write(now, method, endpoint, key, body, raw, 400))
            return _Answer(400, _validation_exception(checked))
        stored = [self._store(kind, e) for e in elements]
        payload = _envelope(endpoint, stored)
        if key:
            self._keys[key] = _Remembered(now, fingerprint, 200, payload)
        self.writes.append(Write(now, method, endpoint, key, body, raw, 200))
        if self.drop_after_commit > 0:
            self.drop_after_commit -= 1
            return _Answer(200, payload, drop=True)
        return _Answer(200, payload)

    def _refuse(
        self, method: str, endpoint: str, key: str | None, body: Any, raw: bytes, message: str
    ) -> _Answer:
        self.writes.append(Write(self._clock(), method, endpoint, key, body, raw, 400))
        return _Answer(400, {"ErrorNumber": 10, "Type": "ValidationException",
                             "Message": message, "Elements": []})  # fmt: skip

    def _forget_old_keys(self, now: float) -> None:
        for key in [k for k, r in self._keys.items() if r.at <= now - self.key_ttl]:
            del self._keys[key]

    # -- validation ------------------------------------------------------------------------

    def _errors(self, kind: str, doc: Any) -> list[str]:
        if not isinstance(doc, dict):
            return [f"A {kind} must be an object"]
        errors = self._dated(doc)
        if kind == "ManualJournal":
            errors += self._journal_errors(doc)
        elif kind == "Invoice":
            errors += self._invoice_errors(doc)
        elif kind == "Payment":
            errors += self._payment_errors(doc)
        else:
            errors += self._bank_transaction_errors(doc)
        return errors

    def _dated(self, doc: dict[str, Any]) -> list[str]:
        day = _date(doc.get("Date"))
        if day is None:
            return [f"Date {doc.get('Date')!r} is not a valid date"]
        if self.lock_date is not None and day <= self.lock_date:
            return [
                "The document date cannot be before the period lock date, currently set at "
                f"{self.lock_date:%d-%b-%Y}"
            ]
        return []

    def _journal_errors(self, doc: dict[str, Any]) -> list[str]:
        errors = []
        if not str(doc.get("Narration") or "").strip():
            errors.append("Narration must not be empty")
        if doc.get("Status", "DRAFT") not in ("DRAFT", "POSTED"):
            errors.append(f"Status {doc.get('Status')!r} is not valid for a new journal")
        if doc.get("LineAmountTypes", "NoTax") not in ("NoTax", "Exclusive", "Inclusive"):
            errors.append(f"LineAmountTypes {doc.get('LineAmountTypes')!r} is not valid")
        lines = doc.get("JournalLines")
        if not isinstance(lines, list) or len(lines) < 2:
            errors.append(
                "The JournalLines element must contain at least two individual JournalLine "
                "sub-elements"
            )
            return errors
        debits = credits = Decimal(0)
        for line in lines:
            value = line.get("LineAmount") if isinstance(line, dict) else None
            if not isinstance(value, Decimal | int) or isinstance(value, bool):
                errors.append(f"LineAmount {value!r} is not a number")
                continue
            value = Decimal(value)
            if value.as_tuple().exponent < -2:  # type: ignore[operator]
                errors.append(f"LineAmount {value} has more than 2 decimal places")
            if value > 0:
                debits += value
            else:
                credits += value
            errors += self._account_errors(line.get("AccountCode"))
            errors += _tracking_errors(line.get("Tracking"))
        if debits + credits != 0:
            errors.append(
                f"The total debits ({debits:.2f}) must equal total credits ({credits:.2f})"
            )
        return errors

    def _invoice_errors(self, doc: dict[str, Any]) -> list[str]:
        errors = []
        if doc.get("Type") not in ("ACCREC", "ACCPAY"):
            errors.append(f"Type {doc.get('Type')!r} is not a valid invoice type")
        errors += self._contact_errors(doc) + self._currency_errors(doc)
        if doc.get("Status", "DRAFT") not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"Status {doc.get('Status')!r} is not valid for a new invoice")
        errors += self._line_item_errors(doc.get("LineItems"))
        if not errors and _total(doc["LineItems"]) < 0:
            errors.append("The document total cannot be negative")
        return errors

    def _payment_errors(self, doc: dict[str, Any]) -> list[str]:
        invoice_id = (doc.get("Invoice") or {}).get("InvoiceID")
        invoice = next((i for i in self.documents["Invoice"] if i["InvoiceID"] == invoice_id),
                       None)  # fmt: skip
        if invoice is None:
            return [f"Invoice {invoice_id!r} could not be found"]
        code = (doc.get("Account") or {}).get("Code")
        account = self.accounts.get(str(code))
        errors = []
        if account is None:
            errors.append(f"Account code '{code}' is not a valid code for this document.")
        elif account.type != "BANK" and not account.payments:
            errors.append(
                f"Payments can only be made to or from bank accounts or accounts with payments "
                f"enabled: '{code}' is neither"
            )
        value = doc.get("Amount")
        if not isinstance(value, Decimal | int) or value <= 0:
            errors.append(f"Amount {value!r} must be a positive number")
        elif invoice["Status"] != "AUTHORISED":
            errors.append(f"Invoice not of valid status for payment: {invoice['Status']}")
        elif Decimal(value) > invoice["AmountDue"]:
            errors.append("Payment amount exceeds the amount outstanding on this document")
        return errors

    def _bank_transaction_errors(self, doc: dict[str, Any]) -> list[str]:
        errors = []
        if doc.get("Type") not in ("RECEIVE", "SPEND"):
            errors.append(f"Type {doc.get('Type')!r} is not supported by the fake")
        errors += self._contact_errors(doc) + self._currency_errors(doc)
        code = (doc.get("BankAccount") or {}).get("Code")
        bank = self.accounts.get(str(code))
        if bank is None or bank.type != "BANK":
            errors.append(f"BankAccount code '{code}' is not a bank account")
        elif bank.currency != doc.get("CurrencyCode", "USD"):
            errors.append(
                f"The currency {doc.get('CurrencyCode')} does not match the bank account's "
                f"currency {bank.currency}"
            )
        errors += self._line_item_errors(doc.get("LineItems"))
        if not errors and _total(doc["LineItems"]) <= 0:
            errors.append("The document total must be greater than zero")
        return errors

    def _line_item_errors(self, items: Any) -> list[str]:
        if not isinstance(items, list) or not items:
            return ["At least one line item is required"]
        errors = []
        for item in items:
            for name in ("Quantity", "UnitAmount"):
                value = item.get(name, 1 if name == "Quantity" else None)
                if not isinstance(value, Decimal | int) or isinstance(value, bool):
                    errors.append(f"{name} {value!r} is not a number")
                elif Decimal(value).as_tuple().exponent < -4:  # type: ignore[operator]
                    errors.append(f"{name} {value} has more than 4 decimal places")
            code = item.get("AccountCode")
            errors += self._account_errors(code)
            if code in self.accounts and self.accounts[code].type == "BANK":
                errors.append(f"Bank account '{code}' cannot be used on a line item")
            errors += _tracking_errors(item.get("Tracking"))
        return errors

    def _account_errors(self, code: Any) -> list[str]:
        if str(code) in self.accounts:
            return []
        return [f"Account code '{code}' is not a valid code for this document."]

    def _contact_errors(self, doc: dict[str, Any]) -> list[str]:
        contact = doc.get("Contact") or {}
        if not (contact.get("ContactID") or str(contact.get("Name") or "").strip()):
            return ["A Contact with a Name or ContactID is required"]
        return []

    def _currency_errors(self, doc: dict[str, Any]) -> list[str]:
        currency = doc.get("CurrencyCode", "USD")
        if currency not in self.currencies:
            return [f"The organisation is not subscribed to currency {currency}"]
        return []

    # -- storing ---------------------------------------------------------------------------

    def _store(self, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
        stored = dict(doc)
        stored[f"{kind}ID"] = str(uuid.uuid4())
        day = _date(doc["Date"])
        assert day is not None
        stored["Date"] = _ms_date(day)
        stored["DateString"] = f"{day.isoformat()}T00:00:00"
        stored["UpdatedDateUTC"] = f"/Date({int(time.time() * 1000)}+0000)/"
        if "Contact" in doc:
            name = doc["Contact"].get("Name")
            contact_id = doc["Contact"].get("ContactID") or self.contacts.setdefault(
                name, str(uuid.uuid4())
            )
            stored["Contact"] = {"ContactID": contact_id, "Name": name}
        if kind == "Invoice":
            total = _total(doc["LineItems"])
            stored.update(Total=total, AmountDue=total, AmountPaid=Decimal(0))
            stored.setdefault("Status", "DRAFT")
        elif kind == "Payment":
            invoice = next(i for i in self.documents["Invoice"]
                           if i["InvoiceID"] == doc["Invoice"]["InvoiceID"])  # fmt: skip
            invoice["AmountDue"] -= Decimal(doc["Amount"])
            invoice["AmountPaid"] += Decimal(doc["Amount"])
            if invoice["AmountDue"] == 0:
                invoice["Status"] = "PAID"
            stored["Status"] = "AUTHORISED"
        elif kind == "BankTransaction":
            stored["Total"] = _total(doc["LineItems"])
        else:
            stored.setdefault("Status", "DRAFT")
        self.documents[kind].append(stored)
        return dict(stored)


def _envelope(endpoint: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": "retailhub tests",
        "DateTimeUTC": f"/Date({int(time.time() * 1000)})/",
        endpoint: items,
    }


def _validation_exception(checked: list[tuple[Any, list[str]]]) -> dict[str, Any]:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {**(doc if isinstance(doc, dict) else {}),
             "ValidationErrors": [{"Message": m} for m in errors]}
            for doc, errors in checked
        ],
    }  # fmt: skip


def _tracking_errors(tracking: Any) -> list[str]:
    if tracking is None:
        return []
    if not isinstance(tracking, list) or len(tracking) > 2:
        return ["A line can have at most two tracking categories"]
    if not all(isinstance(t, dict) and t.get("Name") and t.get("Option") for t in tracking):
        return ["Tracking needs a Name and an Option"]
    return []


def _total(items: list[dict[str, Any]]) -> Decimal:
    total = sum((Decimal(i.get("Quantity", 1)) * Decimal(i["UnitAmount"]) for i in items),
                Decimal(0))  # fmt: skip
    return total.quantize(Decimal("0.01"))


def _date(value: Any) -> date | None:
    text = str(value or "")
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match[1]) / 1000, tz=UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _ms_date(day: date) -> str:
    """How Xero answers dates: ``/Date(<ms>+0000)/``."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"/Date({int(midnight.timestamp()) * 1000}+0000)/"


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError:
        return None


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
