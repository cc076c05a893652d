"""``BusinessCentralTarget``: journal entries posted through Business Central's API v2.0.

``{base_url}/v2.0/{tenant}/{environment}/api/v2.0/companies({company})/…``:

* a journal entry is created line by line in a general journal batch dedicated to the hub
  (``POST journals({journal})/journalLines``) and posted with the bound action
  ``POST journals({journal})/Microsoft.NAV.post`` (204, no content), which posts the whole batch;
* a sales invoice (``documents = true``) is ``POST salesInvoices``, its lines
  ``POST salesInvoices({id})/salesInvoiceLines``, then ``POST salesInvoices({id})/Microsoft.NAV.post``.

Exactly once without an idempotency header: every step starts by looking for what an earlier
attempt left. Posted general ledger entries are found by ``documentNumber`` (the entry's short
key), unposted journal lines by ``externalDocumentNumber``, invoices by ``externalDocumentNumber``
(``status`` Draft or posted). What exists is reused, what is missing created, and only then is
the batch posted — so a crash after Business Central posted, or between two lines, or a lost
answer, never makes a second document: the next attempt finds the first.

Writes that failed in flight (a dropped connection, a 5xx) cannot be replayed blindly, so the
whole find-then-create procedure is re-run, up to ``recoveries`` times. A refusal (4xx) removes
the entry's unposted lines from the batch — lines left behind would be posted with the next
entry's — and becomes ``PostingRejected`` with Business Central's ``error.message`` and code.
Updates and deletes carry the ``@odata.etag`` of what they change in ``If-Match``, as the API
requires.

Limits (Microsoft's "Operational limits for Business Central online", OData): 600 requests a
minute per environment in production (300 in a sandbox: ``requests_per_minute``), 5 processed
at once. Requests go one at a time through a token bucket of 10 refilling 590 a minute (at most
600 in any minute); a 429 is retried after ``Retry-After`` (or with backoff), and a throttle
that outlasts ``max_attempts`` is ``TargetUnavailable``: the entry stays pending.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.adapters.connectors.kit import (
    ApiClient,
    AuthError,
    ConnectorError,
    FatalError,
    RateLimiter,
    RetriableError,
    RetryPolicy,
)
from retailhub.services.erp_posting import (
    OutboundPosting,
    Posted,
    PostingRejected,
    TargetAuthFailed,
    TargetUnavailable,
)

from .auth import SCOPE, ClientCredentials, TokenStore
from .documents import (
    HUB_DIMENSIONS,
    Books,
    InvoicePlan,
    JournalPlan,
    Plan,
    document_numbers,
    plan,
)

DEFAULT_BASE_URL = "https://api.businesscentral.dynamics.com"
# A changed record (a stale If-Match) is found again by re-running the procedure.
STALE = (409, 412)


class BusinessCentralTarget:
    name = "business_central"

    def __init__(
        self,
        books: Books,
        api: ApiClient,
        company: str,
        journal: str,
        *,
        recoveries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.books = books
        self.api = api
        self.company = company  # ".../companies({id})"
        self.journal = f"{company}/journals({journal})"
        self.recoveries = recoveries
        self.sleep = sleep

    def post(self, posting: OutboundPosting) -> Posted:
        try:
            plans = plan(posting, self.books)  # refuses unmapped accounts before sending
        except PostingRejected:
            # An earlier attempt (before the map changed) may have left lines in the batch.
            for number in document_numbers(posting):
                self._discard(number)
            raise
        ids = [self._recovering(p) for p in plans]
        return Posted(plans[0].document, ",".join(ids))

    def _recovering(self, planned: Plan) -> str:
        """Run the find-then-create procedure, again from the top after a write lost in flight."""
        attempt = 1
        while True:
            try:
                if isinstance(planned, JournalPlan):
                    return self._post_journal(planned)
                return self._post_invoice(planned)
            except RetriableError as exc:
                # A 429 that outlasted the kit's retries will not clear by trying harder now.
                if exc.status == 429 or attempt >= self.recoveries:
                    raise TargetUnavailable(f"Business Central: {exc}") from exc
            except FatalError as exc:
                if exc.status not in STALE or attempt >= self.recoveries:
                    raise translate(exc, planned.document) from exc
            except ConnectorError as exc:
                raise translate(exc, planned.document) from exc
            self.sleep(min(2.0**attempt, 30.0))
            attempt += 1

    # -- journals ----------------------------------------------------------------------------

    def _post_journal(self, planned: JournalPlan) -> str:
        number = planned.document_number
        if self._rows(
            f"{self.company}/generalLedgerEntries", f"documentNumber eq '{number}'", top=1
        ):
            return number  # posted by an earlier attempt whose answer we never recorded
        mine = self._rows(f"{self.journal}/journalLines", f"externalDocumentNumber eq '{number}'")
        try:
            others = self._rows(
                f"{self.journal}/journalLines", f"documentNumber ne '{number}'", top=5
            )
            if others:
                numbers = sorted({str(o.get("documentNumber")) for o in others})
                raise TargetUnavailable(
                    f"Business Central journal batch {self.journal} holds lines of other documents "
                    f"({', '.join(numbers)}): posting it would post them too. Post or delete them "
                    "in Business Central; the batch must be dedicated to retailhub."
                )
            lines = self._ensure_lines(planned, mine)
            for line, want in lines:
                self._ensure_dimensions(line, want.dimensions)
            self.api.send("POST", f"{self.journal}/Microsoft.NAV.post")
        except FatalError:
            self._discard(number)
            raise
        return number

    def _ensure_lines(
        self, planned: JournalPlan, existing: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], Any]]:
        """Each wanted line paired with the line Business Central holds for it (found or made)."""
        unclaimed = list(existing)
        out = []
        for want in planned.lines:
            found = next((e for e in unclaimed if _line_signature(e) == want.signature), None)
            if found is not None:
                unclaimed.remove(found)
            else:
                body = want.body(planned.posting_date, planned.document_number)
                found = self._json(self.api.send("POST", f"{self.journal}/journalLines", json=body))
            out.append((found, want))
        for stale in unclaimed:  # ours, but no longer wanted (the account map changed)
            self._delete(f"{self.journal}/journalLines({stale['id']})", stale)
        return out

    def _ensure_dimensions(self, line: dict[str, Any], wanted: Mapping[str, str]) -> None:
        if not wanted:
            return
        path = f"{self.journal}/journalLines({line['id']})/dimensionSetLines"
        have = {str(d["code"]): d for d in self._rows(path)}
        for code, value in wanted.items():
            current = have.get(code)
            if current is None:
                self.api.send("POST", path, json={"code": code, "valueCode": value})
            elif current.get("valueCode") != value:  # e.g. the G/L account's default dimension
                self.api.send(
                    "PATCH",
                    f"{path}({current['id']})",
                    json={"valueCode": value},
                    headers={"If-Match": str(current["@odata.etag"])},
                )

    def _discard(self, number: str) -> None:
        """Take this entry's unposted lines out of the batch after a refusal (best effort)."""
        try:
            for line in self._rows(
                f"{self.journal}/journalLines", f"externalDocumentNumber eq '{number}'"
            ):
                self._delete(f"{self.journal}/journalLines({line['id']})", line)
        except ConnectorError:
            pass  # the refusal is what matters; the next attempt finds and reuses the lines

    # -- sales invoices ----------------------------------------------------------------------

    def _post_invoice(self, planned: InvoicePlan) -> str:
        number = planned.external_number
        found = self._rows(f"{self.company}/salesInvoices", f"externalDocumentNumber eq '{number}'")
        posted = [i for i in found if i.get("status") not in ("Draft", "In Review")]
        if posted:
            return str(posted[0]["id"])
        if found and found[0].get("status") == "In Review":
            raise PostingRejected(
                f"sales invoice {found[0].get('number')} is awaiting approval in Business Central: "
                "approve it there (or turn the approval workflow off for the hub's invoices)",
                planned.document,
                "awaiting_approval",
            )
        invoice = (
            found[0]
            if found
            else self._json(
                self.api.send("POST", f"{self.company}/salesInvoices", json=planned.body())
            )
        )
        path = f"{self.company}/salesInvoices({invoice['id']})"
        unclaimed = self._rows(f"{path}/salesInvoiceLines")
        for want in planned.lines:
            match = next(
                (e for e in unclaimed if _invoice_line_signature(e) == want.signature), None
            )
            if match is not None:
                unclaimed.remove(match)
            else:
                self.api.send("POST", f"{path}/salesInvoiceLines", json=want.body())
        for stale in unclaimed:
            self._delete(f"{path}/salesInvoiceLines({stale['id']})", stale)
        self._check_total(path, planned)
        self.api.send("POST", f"{path}/Microsoft.NAV.post")
        return str(invoice["id"])

    def _check_total(self, path: str, planned: InvoicePlan) -> None:
        """Refuse to post an invoice whose total Business Central computed differently.

        The hub has already worked out the tax and sends it as lines on the tax accounts; a
        customer or G/L account set up to calculate tax would add it a second time.
        """
        total = self._json(self.api.send("GET", path)).get("totalAmountIncludingTax")
        expected = sum((line.unit_price for line in planned.lines), Decimal(0))
        if total is None or Decimal(str(total)) != expected:
            raise PostingRejected(
                f"Business Central totals the invoice at {total} but the hub's entry is {expected}: "
                "make the customer and the G/L accounts non-taxable for the hub's invoices (the "
                "hub posts tax as its own lines)",
                planned.document,
                "total_mismatch",
            )

    # -- plumbing ----------------------------------------------------------------------------

    def _rows(
        self, path: str, where: str | None = None, top: int | None = None
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        if where:
            params["$filter"] = where
        if top:
            params["$top"] = top
        payload = self._json(self.api.send("GET", path, params=params))
        return [row for row in payload.get("value", []) if isinstance(row, dict)]

    def _delete(self, path: str, row: Mapping[str, Any]) -> None:
        self.api.send("DELETE", path, headers={"If-Match": str(row.get("@odata.etag", "*"))})

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        # Decimals stay decimals: amounts are compared with what we meant to send.
        payload = json.loads(response.content or b"{}", parse_float=Decimal)
        return payload if isinstance(payload, dict) else {}


def _line_signature(line: Mapping[str, Any]) -> tuple[str, Decimal, str]:
    return (
        str(line.get("accountNumber")),
        Decimal(str(line.get("amount"))),
        str(line.get("description")),
    )


def _invoice_line_signature(line: Mapping[str, Any]) -> tuple[str, Decimal, str]:
    price = Decimal(str(line.get("unitPrice")))
    return (str(line.get("lineObjectNumber")), price, str(line.get("description")))


def translate(exc: ConnectorError, document: str) -> Exception:
    """The posting service's exception for a kit error from the Business Central API."""
    if isinstance(exc, AuthError):
        return TargetAuthFailed(
            f"Business Central refused the request ({exc.status}): {_message(exc)}"
        )
    if isinstance(exc, RetriableError):
        return TargetUnavailable(f"Business Central did not answer in time: {exc}")
    if exc.status is None or exc.status >= 500:
        return TargetUnavailable(f"Business Central: {exc}")
    code, message = error_details(exc.body)
    if exc.status == 404 and (code is None or code.startswith("BadRequest")):
        # The URL is wrong (company or journal id in the configuration), not this entry.
        return TargetUnavailable(f"Business Central: {message or exc}")
    return PostingRejected(message or str(exc), document, code)


def error_details(body: str) -> tuple[str | None, str | None]:
    """``(error.code, error.message)`` of an OData error body."""
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        return None, None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (str(code) if code else None), (str(message) if message else None)


def _message(exc: ConnectorError) -> str:
    return error_details(exc.body)[1] or exc.vendor_message or str(exc)


def from_options(
    options: Mapping[str, Any],
    tokens: TokenStore,
    clock: Callable[[], datetime],
    transport: httpx.BaseTransport | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> BusinessCentralTarget:
    """The target from ``[erp.business_central]``; see docs/erp/business_central.md."""
    tenant, environment = str(options["tenant"]), str(options["environment"])
    base_url = str(options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    auth = ClientCredentials(
        token_url=str(
            options.get("token_url")
            or f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        ),
        client_id=str(options["client_id"]),
        client_secret=str(options["client_secret"]),
        scope=str(options.get("scope", SCOPE)),
        tokens=tokens,
        clock=clock,
        http=httpx.Client(transport=transport or _transport(), timeout=30.0),
    )
    per_minute = float(options.get("requests_per_minute", 600))
    # A bucket of 10 refilling (limit - 10) a minute never exceeds the limit in any minute.
    limiter = RateLimiter(10, (per_minute - 10) / 60, clock=monotonic, sleep=sleep)
    retry = RetryPolicy(
        max_attempts=int(options.get("max_attempts", 6)),
        base=float(options.get("backoff_seconds", 1.0)),
        cap=float(options.get("max_wait_seconds", 120.0)),
    )
    api = ApiClient(
        f"{base_url}/v2.0/{tenant}/{environment}/api/v2.0",
        headers={"Accept": "application/json"},
        auth=auth,
        limiter=limiter,
        retry=retry,
        transport=transport or _transport(),
        timeout=float(options.get("timeout_seconds", 120.0)),
        sleep=sleep,
    )
    return BusinessCentralTarget(
        books_from(options),
        api,
        f"companies({options['company_id']})",
        str(options["journal_id"]),
        recoveries=int(options.get("recoveries", 3)),
        sleep=sleep,
    )


def books_from(options: Mapping[str, Any]) -> Books:
    if not options.get("accounts"):
        raise ValueError(
            "[erp.business_central.accounts] is empty: map the hub's accounts to G/L account numbers"
        )
    dimensions = _table(options, "dimensions")
    unknown = sorted(set(dimensions) - set(HUB_DIMENSIONS))
    if unknown:
        raise ValueError(
            f"[erp.business_central.dimensions] {', '.join(unknown)}: the hub's line dimensions are "
            f"{', '.join(HUB_DIMENSIONS)}"
        )
    customer = options.get("customer")
    return Books(
        accounts=AccountMap("business_central", options["accounts"]),
        local_currency=str(options["currency"]) if options.get("currency") else None,
        documents=bool(options.get("documents", False)),
        customers=_table(options, "customers"),
        customer=str(customer) if customer else None,
        invoice_debit_account=str(
            options.get("invoice_debit_account", "Liabilities:Customer-Deposits")
        ),
        dimensions=dimensions,
    )


def _table(options: Mapping[str, Any], key: str) -> dict[str, str]:
    raw = options.get(key) or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"[erp.business_central] {key} must be a table")
    return {str(k): str(v) for k, v in raw.items()}


def _transport() -> httpx.HTTPTransport:
    return httpx.HTTPTransport(verify=_tls())


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs ~30 ms per client; one context serves every target we build.
    return httpx.create_ssl_context()
