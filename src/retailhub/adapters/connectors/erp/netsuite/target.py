"""``NetSuiteTarget``: journal entries upserted by external id into NetSuite's REST record service.

Idempotency is NetSuite's own upsert (help: "Using the Upsert Operation", "Using External IDs"):
``PUT /services/rest/record/v1/<type>/eid:<key>`` creates the record if no record of that type
has the external id, else updates that one record. The key is the hub's idempotency key, so a
retry — after a timeout, a dropped connection, a crash between NetSuite's answer and our record —
lands on the same record and never makes a second one. ``?replace=line`` (``item`` for cash
sales and refunds) makes an update *replace* the sublist: journal lines are a non-keyed sublist,
and an update without it would add the lines a second time to the record it found.

A success is ``204 No Content`` with ``Location: …/record/v1/<type>/<internal id>``.

Limits: NetSuite governs *concurrency* per account (shared by every REST, SOAP and RESTlet
integration; 5 on the shared tier, 15 on tier 1, +10 per SuiteCloud Plus licence), not a rate.
The target sends one request at a time, so it holds at most one slot; a ``429 Too Many
Requests`` means other integrations fill the pool, and is retried with backoff (at least
``Retry-After`` when NetSuite sends one) up to ``max_attempts``, then ``TargetUnavailable``.

Errors are ``{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorCode",
"o:errorPath"?}]}`` (help: "Error Handling in REST Web Services"): a 4xx becomes
``PostingRejected`` with the details and the first error code.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.adapters.connectors.kit import (
    ApiClient,
    AuthError,
    ConnectorError,
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

from .auth import M2MToken, TokenStore
from .records import HUB_DIMENSIONS, SEGMENT_FIELDS, Books, Record, Segment, plan

RECORD_PATH = "/services/rest/record/v1"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
# Hub dimension feeding each NetSuite segment unless [erp.netsuite.segments] says otherwise.
DEFAULT_SEGMENTS = {"location": "location", "class": "channel"}


class NetSuiteTarget:
    name = "netsuite"

    def __init__(self, books: Books, client: ApiClient) -> None:
        self.books = books
        self.client = client

    def post(self, posting: OutboundPosting) -> Posted:
        records = plan(posting, self.books)  # refuses unmapped accounts before anything is sent
        internal_ids = [self._upsert(record) for record in records]
        return Posted(records[0].record_type, ",".join(internal_ids))

    def _upsert(self, record: Record) -> str:
        path = f"{RECORD_PATH}/{record.record_type}/eid:{record.external_id}"
        try:
            response = self.client.send(
                "PUT", path, params={"replace": record.sublist}, json=record.body
            )
        except ConnectorError as exc:
            raise translate(exc, record.record_type) from exc
        location = str(response.headers.get("Location", ""))
        internal_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not internal_id or not location:
            raise TargetUnavailable(
                f"NetSuite accepted {record.record_type} eid:{record.external_id} "
                f"({response.status_code}) without a Location header"
            )
        return internal_id


def translate(exc: ConnectorError, document: str) -> Exception:
    """The posting service's exception for a kit error from the record service."""
    if isinstance(exc, AuthError):
        reason = error_details(exc.body)[0] or exc.vendor_message or str(exc)
        return TargetAuthFailed(f"NetSuite refused the request ({exc.status}): {reason}")
    if isinstance(exc, RetriableError):
        return TargetUnavailable(f"NetSuite did not answer in time: {exc}")
    if exc.status is None or exc.status == 404 or exc.status >= 500:
        # 404: the record type is not enabled for REST (a set-up problem, not this entry's).
        return TargetUnavailable(f"NetSuite: {exc}")
    message, code = error_details(exc.body)
    return PostingRejected(message or str(exc), document, code)


def error_details(body: str) -> tuple[str | None, str | None]:
    """The joined ``detail`` texts and the first ``o:errorCode`` of a record-service error."""
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    details = [d for d in payload.get("o:errorDetails") or [] if isinstance(d, dict)]
    texts = [str(d.get("detail")) for d in details if d.get("detail")]
    codes = [str(d.get("o:errorCode")) for d in details if d.get("o:errorCode")]
    message = "; ".join(texts) or payload.get("title")
    return (str(message) if message else None), (codes[0] if codes else None)


def from_options(
    options: Mapping[str, Any],
    tokens: TokenStore,
    clock: Callable[[], datetime],
    transport: httpx.BaseTransport | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> NetSuiteTarget:
    """The target from ``[erp.netsuite]``; see docs/erp/netsuite.md for every key."""
    base_url = str(options["base_url"]).rstrip("/")
    auth = M2MToken(
        token_url=str(options.get("token_url") or f"{base_url}{TOKEN_PATH}"),
        client_id=str(options["client_id"]),
        certificate_id=str(options["certificate_id"]),
        private_key=_private_key(options),
        algorithm=str(options.get("algorithm", "PS256")),
        scope=_scope(options.get("scope", "rest_webservices")),
        tokens=tokens,
        clock=clock,
        http=httpx.Client(transport=transport or _transport(), timeout=30.0),
    )
    retry = RetryPolicy(
        max_attempts=int(options.get("max_attempts", 6)),
        base=float(options.get("backoff_seconds", 1.0)),
        cap=float(options.get("max_wait_seconds", 60.0)),
    )
    client = ApiClient(
        base_url,
        headers={"Accept": "application/json"},
        auth=auth,
        retry=retry,
        transport=transport or _transport(),
        timeout=float(options.get("timeout_seconds", 120.0)),
        sleep=sleep,
    )
    return NetSuiteTarget(books_from(options), client)


def books_from(options: Mapping[str, Any]) -> Books:
    if not options.get("accounts"):
        raise ValueError("[erp.netsuite.accounts] is empty: map the hub's accounts to internal ids")
    sources = {**DEFAULT_SEGMENTS, **_table(options, "segments")}
    segments = []
    for name, source in sources.items():
        if name not in SEGMENT_FIELDS or source not in HUB_DIMENSIONS:
            raise ValueError(
                f"[erp.netsuite.segments] {name} = {source!r}: segments are "
                f"{', '.join(SEGMENT_FIELDS)}, fed by {', '.join(HUB_DIMENSIONS)}"
            )
        values = _table(
            options,
            {"location": "locations", "department": "departments", "class": "classes"}[name],
        )
        if values:
            segments.append(Segment(name, source, values))
    customer = options.get("customer")
    return Books(
        accounts=AccountMap("netsuite", options["accounts"]),
        subsidiary=str(options["subsidiary"]) if options.get("subsidiary") else None,
        currencies=_table(options, "currencies"),
        segments=tuple(segments),
        documents=bool(options.get("documents", False)),
        customers=_table(options, "customers"),
        customer=str(customer) if customer else None,
        items=_table(options, "items"),
        approved=bool(options.get("approved", False)),
    )


def _table(options: Mapping[str, Any], key: str) -> dict[str, str]:
    raw = options.get(key) or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"[erp.netsuite] {key} must be a table")
    return {str(k): str(v) for k, v in raw.items()}


def _private_key(options: Mapping[str, Any]) -> str:
    if options.get("private_key"):
        return str(options["private_key"])
    if options.get("private_key_file"):
        with open(str(options["private_key_file"]), encoding="utf-8") as handle:
            return handle.read()
    raise KeyError("private_key (private_key_env = VAR) or private_key_file")


def _scope(value: Any) -> list[str]:
    if isinstance(value, str):
        return [s.strip() for s in value.split(",") if s.strip()]
    return [str(s) for s in value]


def _transport() -> httpx.HTTPTransport:
    return httpx.HTTPTransport(verify=_tls())


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs ~30 ms per client; one context serves every target we build.
    return httpx.create_ssl_context()
