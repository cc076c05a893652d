"""``QuickBooksTarget``: one hub journal entry in, one QuickBooks Online document out, once.

``POST {base_url}/v3/company/{realmId}/{entity}?minorversion=75&requestid={key}``:

* ``minorversion=75``: Intuit serves every request as 75 since 2025-08-01 (versions 1–74
  retired; Intuit developer blog, 2025-01-21), so we ask for it by name;
* ``requestid``: Intuit's idempotency key (developer.intuit.com, "Request ID": unique per
  company, at most 50 characters; "If the service receives another request with the same
  RequestID … the service sends the same response as it did for the original request"). Every
  attempt of an entry carries the same key — the kit's retries and a rerun after a crash alike —
  so QuickBooks never holds two documents for one entry;
* limits (developer.intuit.com, "Limits and throttles"; Intuit blog 2016-08-08): 500 requests a
  minute per company and at most 10 at once. We send one request at a time and pace ourselves
  under 500 a minute; a 429 is retried after ``Retry-After`` when given, else the minute
  Intuit asks for, a few times, and then the entry stays pending (``TargetUnavailable``);
* a refusal is ``{"Fault": {"Error": [{"Message", "Detail", "code"}], "type":
  "ValidationFault"}}`` with HTTP 400 (or, for some faults, 200): it becomes ``PostingRejected``
  with Intuit's own words and code (6210 "Account Period Closed", 2500 "Invalid Reference Id").

An entry in several currencies (each balanced on its own) becomes one document per currency,
each with the key ``{key}-{currency}``; their ids are joined with ",".

``check_existing = true`` adds a second guard for companies where ``requestid`` is not trusted
(integrators have reported duplicates despite it: node-quickbooks #38, QuickBooks-V3-DotNET-SDK
#352): before creating, ask ``select Id from {Entity} where DocNumber = '…'`` — our DocNumber
is derived from the entry, so a document a crashed run created is found and reused. It costs a
query per document (half the throughput under the 500-a-minute limit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from retailhub.adapters.connectors.erp.quickbooks.documents import Document, DocumentMapper
from retailhub.adapters.connectors.erp.quickbooks.faults import parse_fault
from retailhub.adapters.connectors.kit import ApiClient, AuthError, FatalError, RetriableError
from retailhub.domain.ledger import JournalLine
from retailhub.services.erp_posting import (
    OutboundPosting,
    Posted,
    PostingRejected,
    TargetAuthFailed,
    TargetUnavailable,
)

MINOR_VERSION = "75"


class QuickBooksTarget:
    name = "quickbooks"

    def __init__(
        self,
        client: ApiClient,
        mapper: DocumentMapper,
        realm_id: str,
        home_currency: str | None = None,
        check_existing: bool = False,
    ) -> None:
        self.client = client
        self.mapper = mapper
        self.realm_id = realm_id
        self.home_currency = home_currency
        self.check_existing = check_existing

    def post(self, posting: OutboundPosting) -> Posted:
        entry = posting.entry
        groups = by_currency(line for line in entry.lines if line.amount)
        split = len(groups) > 1
        home = self.home_currency or posting.functional_currency
        created: list[tuple[str, str]] = []
        for currency, lines in groups.items():
            document = self.mapper.build(entry, lines, currency, home, split)
            key = f"{posting.idempotency_key}-{currency}" if split else posting.idempotency_key
            created.append((document.entity, self.create(document, key)))
        kinds = dict.fromkeys(entity for entity, _ in created)
        return Posted(",".join(kinds), ",".join(target_id for _, target_id in created))

    def create(self, document: Document, key: str) -> str:
        """The id QuickBooks gives ``document`` (or gave it, when ``key`` was seen before)."""
        if self.check_existing:
            existing = self.find(document)
            if existing is not None:
                return existing
        payload = self._call(
            document,
            "POST",
            document.entity.lower(),
            params={"minorversion": MINOR_VERSION},
            json=document.body,
            idempotency_key=key,
        )
        created = payload.get(document.entity) if isinstance(payload, dict) else None
        if not isinstance(created, dict) or not created.get("Id"):
            raise TargetUnavailable(f"QuickBooks answered without a {document.entity} Id")
        return str(created["Id"])

    def find(self, document: Document) -> str | None:
        """The Id of a document of this kind already carrying our DocNumber, if any."""
        number = document.body["DocNumber"]  # RH- and base-32 letters: nothing to escape
        query = f"select Id from {document.entity} where DocNumber = '{number}'"
        payload = self._call(
            document, "GET", "query", params={"query": query, "minorversion": MINOR_VERSION}
        )
        found = (payload or {}).get("QueryResponse", {}).get(document.entity) or []
        return str(found[0]["Id"]) if found else None

    def _call(self, document: Document, method: str, resource: str, **kw: Any) -> Any:
        """One API call, with the kit's errors translated into the posting service's."""
        path = f"/v3/company/{self.realm_id}/{resource}"
        try:
            return self.client.request(method, path, **kw)
        except AuthError as exc:
            raise TargetAuthFailed(f"QuickBooks refused our access: {_reason(exc)}") from exc
        except RetriableError as exc:
            raise TargetUnavailable(f"QuickBooks did not answer: {exc}") from exc
        except FatalError as exc:
            raise _refusal(document, exc) from exc

    def close(self) -> None:
        self.client.close()
        auth_close = getattr(self.client.auth, "close", None)
        if callable(auth_close):
            auth_close()


def by_currency(lines: Iterable[JournalLine]) -> dict[str, list[JournalLine]]:
    """Lines grouped by currency, in the order the currencies first appear."""
    groups: dict[str, list[JournalLine]] = {}
    for line in lines:
        groups.setdefault(line.currency, []).append(line)
    return groups


def _refusal(document: Document, exc: FatalError) -> Exception:
    """A fault about the document is a refusal; anything else (a 404 from a wrong base URL or
    realm, a body that is not JSON) would fail every entry alike, so it stops the run."""
    faults = parse_fault(_json(exc.body))
    if faults and exc.status in (200, 400):
        text = "; ".join(f.text for f in faults)
        return PostingRejected(text, document.entity, faults[0].code)
    return TargetUnavailable(f"QuickBooks: {exc}")


def _reason(exc: FatalError) -> str:
    faults = parse_fault(_json(exc.body))
    return "; ".join(f.text for f in faults) if faults else str(exc)


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
