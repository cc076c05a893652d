"""A local fake NetSuite (REST record service + OAuth 2.0 M2M token endpoint) for the ERP tests.

A real ``ThreadingHTTPServer`` on 127.0.0.1 (the house pattern of ``fakes_channels``), enforcing
what Oracle's help documents, each rule with its source:

Token endpoint ``POST /services/rest/auth/oauth2/v1/token`` ("OAuth 2.0 Client Credentials Flow",
"The Request Token Structure", "POST Request to the Token Endpoint and the Access Token Response")
  * form ``grant_type=client_credentials``, ``client_assertion_type=urn:ietf:params:oauth:
    client-assertion-type:jwt-bearer``, ``client_assertion`` = a JWT;
  * the JWT's ``kid`` must be a mapped certificate (``map_certificate``; ``revoke`` undoes it),
    its signature must verify with that certificate's public key, ``alg`` one of PS256/384/512,
    ES256/384/512 (RS256 refused), ``iss`` the client id of the mapping, ``aud`` this endpoint,
    ``scope`` containing ``rest_webservices``, ``exp`` at most 60 minutes after ``iat`` and not
    past. Refusals are ``{"error": "invalid_client" | "invalid_request" | "invalid_grant"}``
    (the OAuth 2.0 shapes; NetSuite's exact ``error`` per case is not documented);
  * the answer is ``{"access_token", "expires_in": "3600", "token_type": "bearer"}``; the
    token lives 60 minutes on the fake's clock (``expire_tokens`` ends them all early).

Record service ``PUT /services/rest/record/v1/{journalEntry|cashSale|cashRefund}/eid:{id}``
("Using the Upsert Operation", "Using External IDs", "Error Handling in REST Web Services")
  * ``Authorization: Bearer`` with a live token, else 401 ``INVALID_LOGIN``;
  * concurrency governance: at most ``concurrency_limit`` requests in flight for the account,
    counting the slots other integrations hold (``busy``: a schedule of saturated windows);
    over it ``429 Too Many Requests`` with the error body (code ``CONCURRENCY_LIMIT_EXCEEDED``
    and ``Retry-After`` only when ``retry_after`` is set: neither is documented for REST);
  * upsert by external id: a new id creates a record (internal ids 1001, 1002, …), a known one
    updates that record; sublist lines are *added* to the record found unless
    ``?replace=<sublist>`` names the sublist (non-keyed sublists, "Working with Sublists");
    success is ``204`` with ``Location: <url>/services/rest/record/v1/<type>/<internal id>``;
  * validation with the documented body ``{"type", "title", "status", "o:errorDetails":
    [{"detail", "o:errorCode", "o:errorPath"}]}``: ``tranDate`` and (OneWorld) ``subsidiary``
    required (``USER_ERROR`` "Please enter value(s) for: …"), references must be known internal
    ids (``INVALID_CONTENT`` "You have entered an Invalid Field Value …" with the path), a
    journal must balance and each line carry one positive debit or credit, and ``tranDate``
    must not fall in a closed period (``close_period``). The business-rule wordings are
    paraphrases of NetSuite's UI messages, not quotes.
  * ``drop_responses(n)``: the next ``n`` upserts are committed and the connection is then
    closed without an answer — the crash window between NetSuite's acceptance and ours.

Every accepted record is kept (``records``, ``by_eid``) and every request logged (``calls``).
The HTTP plumbing (``VendorServer``) is shared with the Business Central fake.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import jwt

from local_http import LocalServer

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
RECORD_PATH = "/services/rest/record/v1/"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
TOKEN_SECONDS = 3600
SUBLIST = {"journalEntry": "line", "cashSale": "item", "cashRefund": "item"}
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def advance(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        """Real time advances by itself."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw or b"null", parse_float=Decimal)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw.decode()).items()}


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON; None sends no body (204)
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # commit, then close the connection without answering


@dataclass(frozen=True)
class Call:
    at: float
    method: str
    path: str
    status: int
    body: Any


class VendorServer(LocalServer):
    """A ThreadingHTTPServer on 127.0.0.1 whose requests ``answer`` turns into ``Reply``s."""

    content_type = "application/json"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.lock = threading.RLock()
        self.url = ""
        self.calls: list[Call] = []
        self.in_flight = 0
        self._server: ThreadingHTTPServer | None = None

    def statuses(self, method: str | None = None) -> list[int]:
        return [c.status for c in self.calls if method in (None, c.method)]

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        request = Request(
            method,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in handler.headers.items()},
            raw,
        )
        with self.lock:
            self.in_flight += 1
        try:
            reply = self.answer(request)
        finally:
            with self.lock:
                self.in_flight -= 1
        with self.lock:
            self.calls.append(
                Call(self.clock.monotonic(), method, handler.path, reply.status, _parsed(request))
            )
        if reply.drop:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        data = b"" if reply.body is None else json.dumps(reply.body, default=_decimal).encode()
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if data:
            handler.send_header("Content-Type", f"{self.content_type}; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, request: Request) -> Reply:
        raise NotImplementedError


def _parsed(request: Request) -> Any:
    if not request.raw:
        return None
    try:
        return request.json()
    except ValueError:
        return request.raw.decode(errors="replace")


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # the fake's answers only; what it *checks* stays Decimal
    raise TypeError(type(value).__name__)


@dataclass(frozen=True)
class Certificate:
    client_id: str
    public_key: str
    revoked: bool = False


class NetSuiteError(Exception):
    def __init__(self, status: int, code: str, detail: str, path: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path


TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


def error_body(status: int, code: str, detail: str, path: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        item["o:errorPath"] = path
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [item],
    }


class FakeNetSuite(VendorServer):
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        accounts: set[str] | None = None,
        customers: set[str] | None = None,
        items: set[str] | None = None,
        subsidiaries: set[str] | None = None,
        currencies: set[str] | None = None,
        locations: set[str] | None = None,
        departments: set[str] | None = None,
        classes: set[str] | None = None,
        oneworld: bool = True,
        concurrency_limit: int = 5,
        retry_after: int | None = None,
        request_seconds: float = 0.0,
    ) -> None:
        super().__init__(clock)
        self.accounts = accounts or set()
        self.customers = customers or set()
        self.items = items or set()
        self.subsidiaries = subsidiaries or {"1"}
        self.currencies = currencies or {"1"}
        self.segments = {
            "location": locations or set(),
            "department": departments or set(),
            "class": classes or set(),
        }
        self.oneworld = oneworld
        self.concurrency_limit = concurrency_limit
        self.retry_after = retry_after
        self.request_seconds = request_seconds
        self.certificates: dict[str, Certificate] = {}
        self.tokens: dict[str, float] = {}  # access token -> expiry on the fake's clock
        self.token_grants = 0
        self.records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in SUBLIST}
        self.by_eid: dict[tuple[str, str], str] = {}
        self.upserts: dict[str, int] = {}  # external id -> PUTs accepted for it
        self.closed_through: date | None = None
        self.busy_windows: list[tuple[float, float]] = []  # other integrations hold every slot
        self._drops = 0
        self._next_id = 1001

    # -- test controls -----------------------------------------------------------------------

    def map_certificate(self, certificate_id: str, client_id: str, public_key: str) -> None:
        self.certificates[certificate_id] = Certificate(client_id, public_key)

    def revoke(self, certificate_id: str) -> None:
        cert = self.certificates[certificate_id]
        self.certificates[certificate_id] = Certificate(cert.client_id, cert.public_key, True)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def close_period(self, through: date) -> None:
        self.closed_through = through

    def busy(self, seconds: float, start: float | None = None) -> None:
        """Other integrations hold every concurrency slot for ``seconds`` from ``start``."""
        begin = self.clock.monotonic() if start is None else start
        self.busy_windows.append((begin, begin + seconds))

    def drop_responses(self, count: int = 1) -> None:
        self._drops = count

    def journal(self, external_id: str) -> dict[str, Any]:
        return self.records["journalEntry"][self.by_eid[("journalEntry", external_id)]]

    def all_records(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(t, i, r) for t, recs in self.records.items() for i, r in recs.items()]

    # -- serving -----------------------------------------------------------------------------

    def answer(self, request: Request) -> Reply:
        if request.method == "POST" and request.path == TOKEN_PATH:
            with self.lock:
                return self._token(request)
        if not request.path.startswith(RECORD_PATH):
            return self._error(404, "NONEXISTENT_ID", f"No resource at {request.path}")
        with self.lock:
            self.clock.advance(self.request_seconds)
            if not self._authorised(request):
                return self._error(
                    401,
                    "INVALID_LOGIN",
                    "Invalid login attempt. For more details, see the Login Audit Trail in the "
                    "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
                )
            if self._over_concurrency():
                headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
                return Reply(
                    429,
                    error_body(
                        429,
                        "CONCURRENCY_LIMIT_EXCEEDED",
                        "Concurrent request limit exceeded. Request blocked.",
                    ),
                    headers,
                )
            try:
                return self._record(request)
            except NetSuiteError as exc:
                return self._error(exc.status, exc.code, exc.detail, exc.path)

    def _error(self, status: int, code: str, detail: str, path: str | None = None) -> Reply:
        return Reply(status, error_body(status, code, detail, path))

    def _token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return Reply(400, {"error": "invalid_request"})
        refusal = self._check_assertion(form["client_assertion"])
        if refusal:
            return Reply(401 if refusal == "invalid_client" else 400, {"error": refusal})
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock.monotonic() + TOKEN_SECONDS
        self.token_grants += 1
        return Reply(
            200, {"access_token": token, "expires_in": str(TOKEN_SECONDS), "token_type": "bearer"}
        )

    def _check_assertion(self, assertion: str) -> str | None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "invalid_request"
        cert = self.certificates.get(str(header.get("kid")))
        if cert is None or cert.revoked or header.get("alg") not in ALGORITHMS:
            return "invalid_client"
        try:
            # Times are checked below on the fake's clock, not the machine's.
            claims = jwt.decode(
                assertion,
                cert.public_key,
                algorithms=list(ALGORITHMS),
                audience=self.url + TOKEN_PATH,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return "invalid_client"
        now = self.clock.now().timestamp()
        iat, exp = claims.get("iat"), claims.get("exp")
        if claims.get("iss") != cert.client_id:
            return "invalid_client"
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600:
            return "invalid_request"
        if exp < now or iat > now + 60:
            return "invalid_grant"
        scopes = re.split(r"[,\s]+", str(claims.get("scope", "")))
        if "rest_webservices" not in scopes:
            return "invalid_scope"
        return None

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        expiry = self.tokens.get(token)
        return expiry is not None and self.clock.monotonic() < expiry

    def _over_concurrency(self) -> bool:
        now = self.clock.monotonic()
        if any(start <= now < end for start, end in self.busy_windows):
            return True
        return self.in_flight > self.concurrency_limit

    def _record(self, request: Request) -> Reply:
        rest = request.path.removeprefix(RECORD_PATH)
        record_type, _, key = rest.partition("/")
        if record_type not in SUBLIST:
            raise NetSuiteError(404, "NONEXISTENT_ID", f"Record type {record_type} does not exist.")
        if request.method != "PUT" or not key.startswith("eid:"):
            raise NetSuiteError(400, "INVALID_REQUEST", "Only upsert by external id is faked.")
        external_id = key.removeprefix("eid:")
        if not EXTERNAL_ID.match(external_id):
            raise NetSuiteError(400, "INVALID_ID", f"Invalid external id: {external_id}")
        try:
            body = request.json()
        except ValueError as exc:
            raise NetSuiteError(
                400, "INVALID_CONTENT", "The request body is not valid JSON."
            ) from exc
        if not isinstance(body, dict):
            raise NetSuiteError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        self._validate(record_type, body)
        internal_id = self._upsert(record_type, external_id, body, request.query.get("replace", []))
        location = f"{self.url}{RECORD_PATH}{record_type}/{internal_id}"
        if self._drops:
            self._drops -= 1
            return Reply(204, None, {"Location": location}, drop=True)
        return Reply(204, None, {"Location": location})

    def _upsert(
        self, record_type: str, external_id: str, body: dict[str, Any], replace: list[str]
    ) -> str:
        sublist = SUBLIST[record_type]
        replaced = {name for value in replace for name in value.split(",")}
        self.upserts[external_id] = self.upserts.get(external_id, 0) + 1
        existing_id = self.by_eid.get((record_type, external_id))
        if existing_id is None:
            internal_id = str(self._next_id)
            self._next_id += 1
            self.by_eid[(record_type, external_id)] = internal_id
            self.records[record_type][internal_id] = {
                **body,
                "id": internal_id,
                "externalId": external_id,
            }
            return internal_id
        current = self.records[record_type][existing_id]
        updated = {**current, **body}
        if sublist not in replaced and sublist in body:
            # A non-keyed sublist without ?replace: the submitted lines are added.
            updated[sublist] = {"items": current[sublist]["items"] + body[sublist]["items"]}
        self.records[record_type][existing_id] = updated
        return existing_id

    # -- validation --------------------------------------------------------------------------

    def _validate(self, record_type: str, body: dict[str, Any]) -> None:
        missing = [label for name, label in (("tranDate", "Date"),) if not body.get(name)]
        if self.oneworld and not body.get("subsidiary"):
            missing.append("Subsidiary")
        if record_type != "journalEntry":
            missing += [
                label
                for name, label in (("entity", "Customer"), ("account", "Account"))
                if not body.get(name)
            ]
        if missing:
            raise NetSuiteError(
                400, "USER_ERROR", f"Please enter value(s) for: {', '.join(missing)}"
            )
        self._known(body, "subsidiary", self.subsidiaries)
        self._known(body, "currency", self.currencies)
        try:
            on = date.fromisoformat(str(body["tranDate"]))
        except ValueError as exc:
            raise NetSuiteError(
                400, "INVALID_CONTENT", f"Invalid date value: {body['tranDate']}", "tranDate"
            ) from exc
        if record_type == "journalEntry":
            self._validate_journal(body)
        else:
            self._validate_cash(record_type, body)
        if self.closed_through is not None and on <= self.closed_through:
            raise NetSuiteError(
                400,
                "USER_ERROR",
                "The transaction date is not within an open accounting period: the period "
                f"containing {on.isoformat()} is closed.",
                "tranDate",
            )

    def _known(
        self, body: dict[str, Any], name: str, known: set[str], path: str | None = None
    ) -> None:
        ref = body.get(name)
        if ref is None:
            return
        value = ref.get("id") if isinstance(ref, dict) else None
        if str(value) not in known:
            raise NetSuiteError(
                400,
                "INVALID_CONTENT",
                f"Error while accessing resource: You have entered an Invalid Field Value {value} "
                f"for the following field: {name}",
                path or name,
            )

    def _segments(self, line: dict[str, Any], path: str) -> None:
        for name, known in self.segments.items():
            self._known(line, name, known, f"{path}.{name}")

    def _validate_journal(self, body: dict[str, Any]) -> None:
        lines = (body.get("line") or {}).get("items") or []
        if len(lines) < 2:
            raise NetSuiteError(
                400, "USER_ERROR", "You must enter at least two lines for a journal entry."
            )
        debits = credits = Decimal(0)
        for i, line in enumerate(lines):
            path = f"line.items[{i}]"
            if not line.get("account"):
                raise NetSuiteError(
                    400, "USER_ERROR", "Please enter value(s) for: Account", f"{path}.account"
                )
            self._known(line, "account", self.accounts, f"{path}.account")
            self._segments(line, path)
            debit, credit = line.get("debit"), line.get("credit")
            if (debit is None) == (credit is None):
                raise NetSuiteError(
                    400, "USER_ERROR", "Each line needs either a debit or a credit amount.", path
                )
            value = Decimal(debit if debit is not None else credit)
            if value <= 0 or value != value.quantize(Decimal("0.01")):
                raise NetSuiteError(400, "INVALID_CONTENT", f"Invalid amount {value}", path)
            if debit is not None:
                debits += value
            else:
                credits += value
        if debits != credits:
            raise NetSuiteError(
                400,
                "USER_ERROR",
                f"The transaction is out of balance: debits {debits} and credits {credits} must be equal.",
            )

    def _validate_cash(self, record_type: str, body: dict[str, Any]) -> None:
        self._known(body, "entity", self.customers)
        self._known(body, "account", self.accounts)
        items = (body.get("item") or {}).get("items") or []
        if not items:
            raise NetSuiteError(
                400,
                "USER_ERROR",
                f"You must enter at least one line item for this transaction ({record_type}).",
            )
        for i, item in enumerate(items):
            path = f"item.items[{i}]"
            self._known(item, "item", self.items, f"{path}.item")
            self._segments(item, path)
            rate, qty, total = item.get("rate"), item.get("quantity", 1), item.get("amount")
            if total is None or Decimal(total) <= 0:
                raise NetSuiteError(
                    400, "USER_ERROR", "Please enter value(s) for: Amount", f"{path}.amount"
                )
            if rate is not None and Decimal(rate) * Decimal(qty) != Decimal(total):
                raise NetSuiteError(
                    400, "INVALID_CONTENT", "Amount must equal rate times quantity.", path
                )


def key_pair(algorithm: str = "PS256") -> tuple[str, str]:
    """A fresh (private PEM, public PEM) for a certificate mapping: RSA for PS*, P-256 for ES*."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key: Any = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm.startswith("ES")
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def scheduled(
    clock: Callable[[], float], period: float, busy: float, until: float
) -> list[tuple[float, float]]:
    """Busy windows of ``busy`` seconds every ``period`` seconds from now until ``until``."""
    start = clock()
    windows = []
    while start < until:
        windows.append((start, start + busy))
        start += period
    return windows
