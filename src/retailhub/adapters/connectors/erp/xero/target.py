"""``XeroTarget``: one hub journal entry in, its Xero documents out, each created once.

Every write carries the ``Idempotency-Key`` header (xero-python: "safely retry requests without
the risk of duplicate processing. 128 character max."): a repeated key gets the first answer
back instead of a second document. Xero only remembers a key for six minutes from its first use
(developer.xero.com, "Idempotent requests"), so a key alone cannot protect a rerun that comes
later — a worker restarted an hour after a crash, a push stopped by the daily limit. The one
entry such a rerun can find half-done is the first one it sends (the posting service goes
oldest first and records each answer before the next), so the first posting of a run, and the
first after a ``TargetUnavailable``, looks for its documents first (``GET`` with a ``where`` on
the narration or reference that carries the entry's key) and sends only what is not there yet.
"""

from __future__ import annotations

from typing import Any

import structlog

from retailhub.adapters.connectors.kit import ApiClient, ConnectorError
from retailhub.services.erp_posting import (
    OutboundPosting,
    Posted,
    PostingRejected,
    TargetUnavailable,
)

from .auth import XeroOAuth
from .documents import Document, XeroMapping, plan
from .errors import element_errors, translate

log = structlog.get_logger(__name__)

_GONE = frozenset({"DELETED", "VOIDED"})
_TARGET_ID_MAX = 120  # erp_postings.target_id


class XeroTarget:
    """The ``AccountingTarget`` for one Xero organisation."""

    name = "xero"

    def __init__(
        self, api: ApiClient, mapping: XeroMapping, *, look_before_resending: bool = True
    ) -> None:
        self.api = api
        self.mapping = mapping
        self._look_before_resending = look_before_resending
        self._look_next = look_before_resending

    def close(self) -> None:
        self.api.close()
        if isinstance(self.api.auth, XeroOAuth):
            self.api.auth.close()

    def post(self, posting: OutboundPosting) -> Posted:
        groups = plan(posting, self.mapping)  # refusals about our own data come before any call
        look = self._look_next
        created: list[str] = []
        primary: list[str] = []
        try:
            for group in groups:
                invoice_id: str | None = None
                for doc in group.documents:
                    doc_id = self._write(doc, invoice_id, look)
                    if doc.kind == "Invoice":
                        invoice_id = doc_id
                    if doc is group.documents[0]:
                        primary.append(doc_id)
                    created.append(f"{doc.kind} {doc_id}")
        except TargetUnavailable:
            self._look_next = self._look_before_resending
            raise
        except PostingRejected as exc:
            self._look_next = False
            if created:  # say what already exists in Xero, so a retry is done knowingly
                raise PostingRejected(
                    f"{exc.message} (already in Xero: {', '.join(created)})", exc.document, exc.code
                ) from exc
            raise
        self._look_next = False
        kinds = dict.fromkeys(group.kind for group in groups)
        return Posted("+".join(kinds), _joined(primary))

    def _write(self, doc: Document, invoice_id: str | None, look: bool) -> str:
        body = doc.body_for(invoice_id)
        try:
            if look:
                found = self._find(doc)
                if found is not None:
                    log.info("xero_document_found", kind=doc.kind, id=found, key=doc.key)
                    return found
            payload = self.api.request(
                "PUT", doc.endpoint, json={doc.endpoint: [body]}, idempotency_key=doc.key
            )
        except ConnectorError as exc:
            raise translate(exc, doc.kind) from exc
        element = _first(payload, doc.endpoint)
        errors = element_errors(element)
        if errors:
            raise PostingRejected("; ".join(errors), doc.kind, "ValidationException")
        for warning in element.get("Warnings") or []:
            log.warning("xero_warning", kind=doc.kind, key=doc.key, warning=warning)
        doc_id = element.get(f"{doc.kind}ID")
        if not doc_id:
            raise TargetUnavailable(f"xero answered {doc.endpoint} without a {doc.kind}ID")
        return str(doc_id)

    def _find(self, doc: Document) -> str | None:
        payload = self.api.request("GET", doc.endpoint, params={"where": doc.lookup})
        items = payload.get(doc.endpoint) if isinstance(payload, dict) else None
        for element in items or []:
            if isinstance(element, dict) and element.get("Status") not in _GONE:
                found = element.get(f"{doc.kind}ID")
                if found:
                    return str(found)
        return None


def _first(payload: Any, endpoint: str) -> dict[str, Any]:
    items = payload.get(endpoint) if isinstance(payload, dict) else None
    if not items or not isinstance(items[0], dict):
        raise TargetUnavailable(f"xero answered {endpoint} without the document")
    element: dict[str, Any] = items[0]
    return element


def _joined(ids: list[str]) -> str:
    """Ids joined with ",", within the column that records them (three Xero UUIDs fit)."""
    text = ",".join(ids)
    if len(text) <= _TARGET_ID_MAX:
        return text
    kept: list[str] = []
    for n, doc_id in enumerate(ids):
        suffix = f",+{len(ids) - n - 1} more"
        if len(",".join([*kept, doc_id]) + suffix) > _TARGET_ID_MAX:
            return ",".join(kept) + f",+{len(ids) - n} more"
        kept.append(doc_id)
    return ",".join(kept)
