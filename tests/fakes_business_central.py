"""A local fake Business Central (API v2.0) and Microsoft Entra token endpoint for the ERP tests.

A real HTTP server on 127.0.0.1 (``VendorServer`` from ``fakes_netsuite``), enforcing what
Microsoft documents, each rule with its source:

Token endpoint ``POST /{tenant}/oauth2/v2.0/token`` (identity platform, client credentials grant)
  * form ``grant_type=client_credentials``, ``client_id``, ``client_secret``, ``scope`` ending in
    ``/.default``; a wrong secret is 401 ``{"error": "invalid_client", "error_description":
    "AADSTS7000215: Invalid client secret provided. …"}``;
  * ``{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token"}``;
    the token lives 3599 s on the fake's clock (``expire_tokens`` ends them early).

API ``/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/…`` (api-reference/v2.0)
  * ``Authorization: Bearer`` with a live token, else 401 ``Authentication_InvalidCredentials``;
  * rate: ``rate_limit`` requests per sliding ``window`` seconds (600 per 60 s in production,
    "Operational limits for Business Central online"); over it 429 with ``Retry-After`` (the
    seconds until the window frees a slot) and ``Application_TooManyRequests`` (the code is what
    clients report seeing, not a documented value); refused requests do not count;
  * ``journals({id})/journalLines``: GET (``$filter`` on ``field eq|ne 'value'`` joined by
    ``and``, ``$top``), POST, DELETE (``If-Match`` required: missing is 400
    ``BadRequest_InvalidToken``, stale is 412 ``Request_EntityChanged``); a line for an unknown
    G/L account is refused (``Internal_RecordNotFound``), over-long codes and texts with
    ``Application_StringExceededLength`` (the troubleshooting page's codes and wordings);
  * ``journalLines({id})/dimensionSetLines``: GET, POST ``{code, valueCode}``, PATCH with
    ``If-Match``; a G/L account's default dimensions are on a new line already
    (``default_dimensions``), as Business Central copies them;
  * ``journals({id})/Microsoft.NAV.post`` posts the *whole batch*: every document number must
    balance and every posting date be allowed (``allow_posting_from``), else 400
    ``Application_DialogException`` and nothing posts; posted lines become
    ``generalLedgerEntries`` (``documentNumber``, ``accountNumber``, ``debitAmount``,
    ``creditAmount``, dimensions) and leave the batch; 204;
  * ``salesInvoices`` (+ ``salesInvoiceLines``, ``Microsoft.NAV.post``): a draft, its ``Account``
    lines, then posting, which keeps the id, sets ``status`` Open and a posted number, and writes
    G/L entries: the lines credited, the customer's receivables account debited; a customer in
    ``tax_rates`` gets sales tax added to ``totalAmountIncludingTax``, as a taxable set-up would;
  * ``drop_next(kind)``: the next write of that kind (``journalLine``, ``post``,
    ``salesInvoice``, ``invoicePost``) is committed and the connection closed unanswered.
  * every error body is ``{"error": {"code", "message"}}``. Wordings of business-rule errors are
    close to Business Central's, not guaranteed identical.

Every posted entry is kept (``gl_entries``), every request logged (``calls``).
"""

from __future__ import annotations

import base64
import itertools
import math
import re
import secrets
import uuid
from collections import deque
from datetime import date
from decimal import Decimal
from typing import Any

from fakes_netsuite import Clock, Reply, Request, VendorServer

TOKEN_SECONDS = 3599
POSTED_STATUSES = ("Open", "Paid")
SEGMENT = re.compile(r"^([A-Za-z.]+)(?:\(([^)]*)\))?$")
CONDITION = re.compile(r"^(\w+) (eq|ne) '([^']*)'$")


class BcError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeBusinessCentral(VendorServer):
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        tenant: str = "7f6c0c6e-1b1e-4d0a-9d3e-0c9b6f1a2b3c",
        environment: str = "production",
        client_id: str = "3c2b1a0f-8e7d-4c6b-a5f4-e3d2c1b0a9f8",
        client_secret: str = "test-secret-value",
        accounts: set[str] | None = None,
        customers: dict[str, str] | None = None,  # customer number -> receivables G/L account
        currencies: set[str] | None = None,
        dimensions: dict[str, set[str]] | None = None,  # dimension code -> value codes
        default_dimensions: dict[str, dict[str, str]] | None = None,  # account -> code -> value
        tax_rates: dict[str, Decimal] | None = None,  # customer -> sales tax BC would add
        rate_limit: int = 600,
        window: float = 60.0,
    ) -> None:
        super().__init__(clock)
        self.tenant, self.environment = tenant, environment
        self.client_id, self.client_secret = client_id, client_secret
        self.company_id = str(uuid.uuid4())
        self.journal_id = str(uuid.uuid4())
        self.journal_code = "RETAILHUB"
        self.accounts = accounts or set()
        self.customers = customers or {}
        self.currencies = currencies or set()
        self.dimensions = dimensions or {}
        self.default_dimensions = default_dimensions or {}
        self.tax_rates = tax_rates or {}
        self.rate_limit, self.window = rate_limit, window
        self.tokens: dict[str, float] = {}
        self.token_grants = 0
        self.lines: dict[str, dict[str, Any]] = {}  # the batch: journal line id -> line
        self.line_dimensions: dict[str, dict[str, dict[str, Any]]] = {}  # line id -> code -> row
        self.gl_entries: list[dict[str, Any]] = []
        self.invoices: dict[str, dict[str, Any]] = {}
        self.invoice_lines: dict[str, dict[str, dict[str, Any]]] = {}
        self.allow_posting_from: date | None = None
        self.versions: dict[str, int] = {}
        self.drops: dict[str, int] = {}
        self._recent: deque[float] = deque()
        self._numbers = itertools.count(10000, 10000)
        self._entries = itertools.count(1)
        self._invoice_numbers = itertools.count(1001)

    # -- test controls -----------------------------------------------------------------------

    @property
    def api_prefix(self) -> str:
        return f"/v2.0/{self.tenant}/{self.environment}/api/v2.0"

    @property
    def token_url(self) -> str:
        return f"{self.url}/{self.tenant}/oauth2/v2.0/token"

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def drop_next(self, kind: str, count: int = 1) -> None:
        self.drops[kind] = count

    def entries_for(self, document_number: str) -> list[dict[str, Any]]:
        return [e for e in self.gl_entries if e["documentNumber"] == document_number]

    def documents(self) -> set[str]:
        return {e["documentNumber"] for e in self.gl_entries}

    # -- serving -----------------------------------------------------------------------------

    def answer(self, request: Request) -> Reply:
        with self.lock:
            if request.method == "POST" and request.path == f"/{self.tenant}/oauth2/v2.0/token":
                return self._token(request)
            if not self._authorised(request):
                return _error(
                    401,
                    "Authentication_InvalidCredentials",
                    "The server has rejected the client credentials.",
                )
            throttled = self._throttle()
            if throttled is not None:
                return throttled
            try:
                return self._route(request)
            except BcError as exc:
                return _error(exc.status, exc.code, exc.message)

    def _token(self, request: Request) -> Reply:
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return Reply(
                400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"}
            )
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Reply(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the "
                    "secret being sent in the request is the client secret value, not the client "
                    "secret ID, for a secret added to app '" + str(form.get("client_id")) + "'.",
                    "error_codes": [7000215],
                },
            )
        if not str(form.get("scope", "")).endswith("/.default"):
            return Reply(400, {"error": "invalid_scope", "error_description": "AADSTS1002012"})
        token = secrets.token_urlsafe(32)
        self.tokens[token] = self.clock.monotonic() + TOKEN_SECONDS
        self.token_grants += 1
        return Reply(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "ext_expires_in": TOKEN_SECONDS,
                "access_token": token,
            },
        )

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else ""
        expiry = self.tokens.get(token)
        return expiry is not None and self.clock.monotonic() < expiry

    def _throttle(self) -> Reply | None:
        now = self.clock.monotonic()
        while self._recent and self._recent[0] <= now - self.window:
            self._recent.popleft()
        if len(self._recent) >= self.rate_limit:
            # Until enough of the window has aged out for one more request to fit.
            freeing = self._recent[len(self._recent) - self.rate_limit]
            wait = max(1, math.ceil(freeing + self.window - now))
            reply = _error(
                429,
                "Application_TooManyRequests",
                f"Too many requests reached.  Actual ({len(self._recent) + 1}).  "
                f"Maximum ({self.rate_limit}).",
            )
            reply.headers["Retry-After"] = str(wait)
            return reply
        self._recent.append(now)
        return None

    def _route(self, request: Request) -> Reply:
        if not request.path.startswith(self.api_prefix + "/"):
            raise BcError(404, "BadRequest_NotFound", f"No resource at {request.path}")
        parts = []
        for segment in request.path[len(self.api_prefix) + 1 :].split("/"):
            m = SEGMENT.match(segment)
            if m is None:
                raise BcError(400, "BadRequest_InvalidRequestUrl", f"Bad segment {segment}")
            parts.append((m.group(1), m.group(2)))
        if not parts or parts[0] != ("companies", self.company_id):
            raise BcError(404, "BadRequest_NotFound", "The company does not exist.")
        route = tuple(name for name, _ in parts[1:])
        keys = [key for _, key in parts[1:]]
        method = request.method
        if route == ("generalLedgerEntries",) and method == "GET":
            return _collection(_query(self.gl_entries, request))
        if route[:1] == ("journals",) and keys[0] != self.journal_id:
            raise BcError(404, "BadRequest_NotFound", "The journal does not exist.")
        if route == ("journals", "journalLines") and keys[1] is None:
            if method == "GET":
                return _collection(
                    [self._etagged(r) for r in _query(list(self.lines.values()), request)]
                )
            if method == "POST":
                return self._create_line(request.json())
        if route == ("journals", "Microsoft.NAV.post") and method == "POST":
            return self._post_batch()
        if route[:2] == ("journals", "journalLines") and keys[1] is not None:
            line = self.lines.get(keys[1])
            if line is None:
                raise BcError(404, "Internal_RecordNotFound", "The journal line does not exist.")
            if route == ("journals", "journalLines") and method == "DELETE":
                self._check_etag(request, line)
                del self.lines[line["id"]]
                self.line_dimensions.pop(line["id"], None)
                return Reply(204)
            if route == ("journals", "journalLines", "dimensionSetLines"):
                return self._dimensions(request, line, keys[2])
        if route == ("salesInvoices",) and keys[0] is None:
            if method == "GET":
                return _collection(
                    [self._etagged(r) for r in _query(list(self.invoices.values()), request)]
                )
            if method == "POST":
                return self._create_invoice(request.json())
        if route[:1] == ("salesInvoices",) and keys[0] is not None:
            invoice = self.invoices.get(keys[0])
            if invoice is None:
                raise BcError(404, "Internal_RecordNotFound", "The sales invoice does not exist.")
            if route == ("salesInvoices",) and method == "GET":
                return Reply(200, self._etagged(invoice))
            if route == ("salesInvoices", "salesInvoiceLines"):
                return self._invoice_lines(request, invoice, keys[1])
            if route == ("salesInvoices", "Microsoft.NAV.post") and method == "POST":
                return self._post_invoice(invoice)
        raise BcError(
            400, "BadRequest_MethodNotAllowed", f"'{method}' on {request.path} is not supported."
        )

    # -- journal lines -----------------------------------------------------------------------

    def _create_line(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            raise BcError(400, "BadRequest", "Invalid Request Body")
        if body.get("accountType", "G/L Account") != "G/L Account":
            raise BcError(400, "BadRequest", "Only G/L Account lines are faked.")
        for name in ("accountNumber", "postingDate", "amount"):
            if body.get(name) in (None, ""):
                raise BcError(
                    400,
                    "BadRequest_RequiredParamNotProvided",
                    f"Field '{name}' must not be blank or empty.",
                )
        _length(body, "documentNumber", 20)
        _length(body, "externalDocumentNumber", 35)
        _length(body, "description", 100)
        account = str(body["accountNumber"])
        if account not in self.accounts:
            raise BcError(
                400,
                "Internal_RecordNotFound",
                f"The G/L Account does not exist. Identification fields and values: No.='{account}'",
            )
        try:
            date.fromisoformat(str(body["postingDate"]))
            amount = Decimal(body["amount"])
        except (ValueError, ArithmeticError) as exc:
            raise BcError(400, "BadRequest", "Unable to convert value") from exc
        line_id = str(uuid.uuid4())
        line = {
            "id": line_id,
            "journalId": self.journal_id,
            "journalDisplayName": self.journal_code,
            "lineNumber": next(self._numbers),
            "accountType": "G/L Account",
            "accountNumber": account,
            "postingDate": str(body["postingDate"]),
            "documentNumber": str(body.get("documentNumber", "")),
            "externalDocumentNumber": str(body.get("externalDocumentNumber", "")),
            "amount": amount,
            "description": str(body.get("description", "")),
        }
        self.lines[line_id] = line
        self.line_dimensions[line_id] = {
            code: self._dimension_row(line_id, code, value)
            for code, value in self.default_dimensions.get(account, {}).items()
        }
        return self._created(line, "journalLine")

    def _dimensions(self, request: Request, line: dict[str, Any], key: str | None) -> Reply:
        rows = self.line_dimensions[line["id"]]
        if request.method == "GET" and key is None:
            return _collection([self._etagged(r) for r in rows.values()])
        if request.method == "POST" and key is None:
            body = request.json()
            code, value = str(body.get("code", "")), str(body.get("valueCode", ""))
            self._check_dimension(code, value)
            if code in rows:
                raise BcError(
                    400,
                    "Internal_EntityWithSameKeyExists",
                    "The Dimension Set Entry already exists.",
                )
            rows[code] = self._dimension_row(line["id"], code, value)
            return Reply(201, self._etagged(rows[code]))
        row = next((r for r in rows.values() if r["id"] == key), None)
        if request.method == "PATCH" and row is not None:
            self._check_etag(request, row)
            value = str(request.json().get("valueCode", ""))
            self._check_dimension(row["code"], value)
            row["valueCode"] = value
            self._touch(row["id"])
            return Reply(200, self._etagged(row))
        raise BcError(404, "Internal_RecordNotFound", "The dimension set line does not exist.")

    def _check_dimension(self, code: str, value: str) -> None:
        if code not in self.dimensions:
            raise BcError(
                400,
                "Internal_RecordNotFound",
                f"The Dimension does not exist. Identification fields and values: Code='{code}'",
            )
        if value not in self.dimensions[code]:
            raise BcError(
                400,
                "Internal_RecordNotFound",
                f"The Dimension Value does not exist. Identification fields and values: "
                f"Dimension Code='{code}',Code='{value}'",
            )

    def _dimension_row(self, parent: str, code: str, value: str) -> dict[str, Any]:
        row_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{parent}:{code}"))
        return {
            "id": row_id,
            "code": code,
            "parentId": parent,
            "parentType": "Journal Line",
            "valueCode": value,
        }

    def _post_batch(self) -> Reply:
        lines = sorted(self.lines.values(), key=lambda line: line["lineNumber"])
        if not lines:
            raise BcError(400, "Application_DialogException", "There is nothing to post.")
        totals: dict[tuple[str, str], Decimal] = {}
        for line in lines:
            key = (line["documentNumber"], line["postingDate"])
            totals[key] = totals.get(key, Decimal(0)) + line["amount"]
            if (
                self.allow_posting_from
                and date.fromisoformat(line["postingDate"]) < self.allow_posting_from
            ):
                raise BcError(
                    400,
                    "Application_DialogException",
                    "Posting Date is not within your range of allowed posting dates in Gen. Journal "
                    f"Line Journal Template Name='GENERAL',Journal Batch Name='{self.journal_code}',"
                    f"Line No.='{line['lineNumber']}'.",
                )
        for (number, _), total in totals.items():
            if total:
                raise BcError(
                    400,
                    "Application_DialogException",
                    f"Document No. {number} is out of balance by {total}. Please check that Posting "
                    "Date, Document Type, Document No. and Amount are correct for each line.",
                )
        for line in lines:
            dims = {c: r["valueCode"] for c, r in self.line_dimensions.pop(line["id"], {}).items()}
            self._gl(
                line["postingDate"],
                line["documentNumber"],
                " ",
                line["accountNumber"],
                line["description"],
                line["amount"],
                dims,
            )
            del self.lines[line["id"]]
        return self._dropped_or(Reply(204), "post")

    def _gl(
        self,
        posting_date: str,
        number: str,
        kind: str,
        account: str,
        text: str,
        amount: Decimal,
        dims: dict[str, str],
    ) -> None:
        self.gl_entries.append(
            {
                "id": str(uuid.uuid4()),
                "entryNumber": next(self._entries),
                "postingDate": posting_date,
                "documentNumber": number,
                "documentType": kind,
                "accountNumber": account,
                "description": text,
                "debitAmount": amount if amount > 0 else Decimal(0),
                "creditAmount": -amount if amount < 0 else Decimal(0),
                "dimensions": dims,
            }
        )

    # -- sales invoices ----------------------------------------------------------------------

    def _create_invoice(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            raise BcError(400, "BadRequest", "Invalid Request Body")
        customer = body.get("customerNumber")
        if not customer:
            raise BcError(
                400,
                "Application_DialogException",
                "A customerNumber or a customerID must be provided.",
            )
        if customer not in self.customers:
            raise BcError(
                400,
                "Internal_RecordNotFound",
                f"The Customer does not exist. Identification fields and values: No.='{customer}'",
            )
        currency = str(body.get("currencyCode") or "")
        if currency and currency not in self.currencies:
            raise BcError(
                400,
                "Internal_RecordNotFound",
                f"The Currency does not exist. Identification fields and values: Code='{currency}'",
            )
        _length(body, "externalDocumentNumber", 35)
        invoice_id = str(uuid.uuid4())
        invoice = {
            "id": invoice_id,
            "number": f"S-INV{next(self._invoice_numbers)}",
            "externalDocumentNumber": str(body.get("externalDocumentNumber", "")),
            "invoiceDate": str(body.get("invoiceDate") or body.get("postingDate")),
            "postingDate": str(body.get("postingDate") or body.get("invoiceDate")),
            "customerNumber": customer,
            "currencyCode": currency,
            "status": "Draft",
            "totalAmountIncludingTax": Decimal(0),
        }
        self.invoices[invoice_id] = invoice
        self.invoice_lines[invoice_id] = {}
        return self._created(invoice, "salesInvoice")

    def _invoice_lines(self, request: Request, invoice: dict[str, Any], key: str | None) -> Reply:
        lines = self.invoice_lines[invoice["id"]]
        if request.method == "GET" and key is None:
            return _collection([self._etagged(row) for row in lines.values()])
        if invoice["status"] != "Draft":
            raise BcError(
                400,
                "Application_DialogException",
                f"Status must be equal to 'Draft' in Sales Invoice: No.={invoice['number']}.",
            )
        if request.method == "POST" and key is None:
            body = request.json()
            if body.get("lineType") != "Account":
                raise BcError(400, "BadRequest", "Only Account lines are faked.")
            account = str(body.get("lineObjectNumber"))
            if account not in self.accounts:
                raise BcError(
                    400,
                    "Internal_RecordNotFound",
                    f"The G/L Account does not exist. Identification fields and values: No.='{account}'",
                )
            _length(body, "description", 100)
            row = {
                "id": str(uuid.uuid4()),
                "documentId": invoice["id"],
                "sequence": 10000 * (len(lines) + 1),
                "lineType": "Account",
                "lineObjectNumber": account,
                "description": str(body.get("description", "")),
                "quantity": Decimal(body.get("quantity", 1)),
                "unitPrice": Decimal(body.get("unitPrice", 0)),
            }
            row["amountExcludingTax"] = row["quantity"] * row["unitPrice"]
            rate = self.tax_rates.get(invoice["customerNumber"], Decimal(0))
            row["amountIncludingTax"] = (row["amountExcludingTax"] * (1 + rate)).quantize(
                Decimal("0.01")
            )
            lines[row["id"]] = row
            invoice["totalAmountIncludingTax"] += row["amountIncludingTax"]
            self._touch(invoice["id"])
            return Reply(201, self._etagged(row))
        found = lines.get(key or "")
        if request.method == "DELETE" and found is not None:
            self._check_etag(request, found)
            del lines[found["id"]]
            invoice["totalAmountIncludingTax"] -= found["amountIncludingTax"]
            return Reply(204)
        raise BcError(404, "Internal_RecordNotFound", "The sales invoice line does not exist.")

    def _post_invoice(self, invoice: dict[str, Any]) -> Reply:
        if invoice["status"] != "Draft":
            raise BcError(400, "Application_DialogException", "The invoice is already posted.")
        lines = list(self.invoice_lines[invoice["id"]].values())
        if not lines:
            raise BcError(400, "Application_DialogException", "There is nothing to post.")
        if (
            self.allow_posting_from
            and date.fromisoformat(invoice["postingDate"]) < self.allow_posting_from
        ):
            raise BcError(
                400,
                "Application_DialogException",
                "Posting Date is not within your range of allowed posting dates.",
            )
        invoice["status"], invoice["number"] = "Open", f"PS-INV{invoice['number'][5:]}"
        self._touch(invoice["id"])
        receivable = self.customers[invoice["customerNumber"]]
        for row in lines:
            self._gl(
                invoice["postingDate"],
                invoice["number"],
                "Invoice",
                row["lineObjectNumber"],
                row["description"],
                -row["amountExcludingTax"],
                {},
            )
        self._gl(
            invoice["postingDate"],
            invoice["number"],
            "Invoice",
            receivable,
            invoice["externalDocumentNumber"],
            invoice["totalAmountIncludingTax"],
            {},
        )
        return self._dropped_or(Reply(204), "invoicePost")

    # -- OData plumbing ----------------------------------------------------------------------

    def _created(self, row: dict[str, Any], kind: str) -> Reply:
        return self._dropped_or(Reply(201, self._etagged(row)), kind)

    def _dropped_or(self, reply: Reply, kind: str) -> Reply:
        if self.drops.get(kind):
            self.drops[kind] -= 1
            reply.drop = True
        return reply

    def _touch(self, row_id: str) -> None:
        self.versions[row_id] = self.versions.get(row_id, 0) + 1

    def etag(self, row_id: str) -> str:
        raw = f"{row_id};{self.versions.get(row_id, 0)};".encode()
        return f'W/"{base64.b64encode(raw).decode()}"'

    def _etagged(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"@odata.etag": self.etag(row["id"]), **row}

    def _check_etag(self, request: Request, row: dict[str, Any]) -> None:
        given = request.headers.get("if-match")
        if not given:
            raise BcError(
                400,
                "BadRequest_InvalidToken",
                "Could not validate the client concurrency token required by the service. Please "
                "provide a valid token in the client request.",
            )
        if given != "*" and given != self.etag(row["id"]):
            raise BcError(
                412, "Request_EntityChanged", "Another user has already changed the record."
            )


def _error(status: int, code: str, message: str) -> Reply:
    correlation = uuid.uuid4()
    return Reply(
        status, {"error": {"code": code, "message": f"{message}  CorrelationId:  {correlation}."}}
    )


def _collection(rows: list[dict[str, Any]]) -> Reply:
    return Reply(200, {"@odata.context": "$metadata", "value": rows})


def _query(rows: list[dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    """``$filter`` (``field eq|ne 'value'`` joined by ``and``) and ``$top``."""
    selected = rows
    for text in request.query.get("$filter", []):
        for condition in text.split(" and "):
            m = CONDITION.match(condition.strip())
            if m is None:
                raise BcError(400, "BadRequest_NotFound", "Bad Request - Error in query syntax.")
            name, op, value = m.groups()
            selected = [r for r in selected if (str(r.get(name, "")) == value) == (op == "eq")]
    top = request.query.get("$top")
    return selected[: int(top[0])] if top else selected


def _length(body: dict[str, Any], name: str, limit: int) -> None:
    value = str(body.get(name) or "")
    if len(value) > limit:
        raise BcError(
            400,
            "Application_StringExceededLength",
            f"The length of the string is {len(value)}, but it must be less than or equal to "
            f"{limit} characters. Value: {value}",
        )
