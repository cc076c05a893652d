"""Posting the hub's journals to an accounting target (QuickBooks, Xero, NetSuite, Business
Central) exactly once, across crashes and retries.

The rule that makes it exactly-once:

* Every (target, journal entry) pair has one idempotency key, derived from the entry's own
  key (source document and posting rule), never from the attempt. A retry — after a timeout,
  a rate-limit storm or a crash between the target's acceptance and our record of it — sends
  the same key, and the target answers with the document it already created (QuickBooks
  ``requestid``, Xero ``Idempotency-Key``, NetSuite upsert by external id, Business Central by
  document number). So the target never holds two documents for one entry.
* We record what the target answered — its id for the document, or its refusal — in
  ``erp_postings`` in the same breath as we learn it; an entry with a record is never sent
  again (a refused one only when someone asks to retry it after fixing the cause).
* A refusal is a typed exception (``posting_rejected``) owned by finance, carrying the
  vendor's own message. A target that cannot be reached or keeps throttling is not a refusal:
  the entry stays pending and the next run tries it again with the same key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog

from retailhub.domain.ledger import JournalEntry
from retailhub.domain.problems import Problem, ProblemType
from retailhub.services.ports import ExceptionRepository

log = structlog.get_logger(__name__)

# A fixed namespace: the same (target, entry key) gives the same key on every machine, forever.
_NAMESPACE = uuid.UUID("5b0f3f0e-6f7a-4e55-9c1e-2f9d4c1a7e21")


def idempotency_key(target: str, entry_key: str) -> str:
    """36 characters: inside every vendor's limit (QuickBooks' ``requestid`` allows 50)."""
    return str(uuid.uuid5(_NAMESPACE, f"{target}\x1f{entry_key}"))


@dataclass(frozen=True, slots=True)
class OutboundPosting:
    """One journal entry on its way to a target, with the key every attempt carries."""

    entry_id: int
    entry: JournalEntry
    idempotency_key: str
    functional_currency: str


@dataclass(frozen=True, slots=True)
class Posted:
    document: str  # the target's record type: JournalEntry, SalesReceipt, ManualJournal …
    target_id: str  # the target's id for it


class PostingRejected(Exception):
    """The target refused the document (validation, closed period, unknown account)."""

    def __init__(self, message: str, document: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.document = document
        self.code = code


class TargetUnavailable(Exception):
    """Could not get an answer (network, 5xx, rate limits outlasting our retries): try later."""


class TargetAuthFailed(TargetUnavailable):
    """Credentials refused even after a token refresh: someone must reconnect the target."""


class AccountingTarget(Protocol):
    name: str

    def post(self, posting: OutboundPosting) -> Posted: ...


@dataclass(frozen=True, slots=True)
class PendingEntry:
    entry_id: int
    entry: JournalEntry


class ErpPostingRepository(Protocol):
    def pending(
        self, target: str, limit: int | None, retry_rejected: bool
    ) -> list[PendingEntry]: ...

    def record(
        self,
        target: str,
        pending: PendingEntry,
        key: str,
        status: str,
        at: datetime,
        document: str | None = None,
        target_id: str | None = None,
        message: str | None = None,
    ) -> None: ...


class ErpUnitOfWork(Protocol):
    @property
    def erp(self) -> ErpPostingRepository: ...

    @property
    def exceptions(self) -> ExceptionRepository: ...

    def commit(self) -> None: ...


@dataclass(slots=True)
class PushSummary:
    target: str
    posted: int = 0
    rejected: int = 0
    unavailable: int = 0
    documents: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "posted": self.posted,
            "rejected": self.rejected,
            "unavailable": self.unavailable,
            "documents": dict(self.documents),
        }


def push_entries(
    uow_factory: Callable[[], AbstractContextManager[ErpUnitOfWork]],
    target: AccountingTarget,
    functional_currency: str,
    now: Callable[[], datetime],
    limit: int | None = None,
    retry_rejected: bool = False,
) -> PushSummary:
    """Send every journal entry the target has not answered for yet, oldest first.

    The target is called outside any database transaction (a slow vendor must not hold locks);
    each answer is committed on its own, so a crash loses at most the record of one answer —
    and the next run re-sends that entry with the same key, which the target deduplicates.
    Stops at the first ``TargetUnavailable``: the rest would meet the same outage.
    """
    summary = PushSummary(target.name)
    with uow_factory() as uow:
        batch = uow.erp.pending(target.name, limit, retry_rejected)
    for item in batch:
        key = idempotency_key(target.name, item.entry.key)
        posting = OutboundPosting(item.entry_id, item.entry, key, functional_currency)
        try:
            posted = target.post(posting)
        except PostingRejected as exc:
            _record_rejection(uow_factory, target.name, item, key, exc, now())
            summary.rejected += 1
            continue
        except TargetUnavailable as exc:
            log.warning("erp_target_unavailable", target=target.name, error=str(exc))
            summary.unavailable = len(batch) - summary.posted - summary.rejected
            _raise_connector_problem(uow_factory, target.name, exc, now())
            break
        with uow_factory() as uow:
            uow.erp.record(
                target.name, item, key, "posted", now(), posted.document, posted.target_id
            )
            uow.commit()
        summary.posted += 1
        summary.documents[posted.document] = summary.documents.get(posted.document, 0) + 1
    log.info("erp_push", **summary.as_dict())
    return summary


def _record_rejection(
    uow_factory: Callable[[], AbstractContextManager[ErpUnitOfWork]],
    target: str,
    item: PendingEntry,
    key: str,
    exc: PostingRejected,
    at: datetime,
) -> None:
    entry = item.entry
    reason = f"{target} refused {exc.document or 'the posting'} for {entry.memo}: {exc.message}"
    with uow_factory() as uow:
        uow.erp.record(target, item, key, "rejected", at, exc.document, None, exc.message)
        problem = Problem(
            ProblemType.POSTING_REJECTED,
            reason,
            blocking=False,
            subject=f"journal:{entry.key}",
            amount=entry.total_debits,
        )
        uow.exceptions.raise_problem(problem, at, f"erp:{target}", None, None)
        uow.commit()


def _raise_connector_problem(
    uow_factory: Callable[[], AbstractContextManager[ErpUnitOfWork]],
    target: str,
    exc: TargetUnavailable,
    at: datetime,
) -> None:
    kind = (
        ProblemType.CONNECTOR_AUTH_FAILURE
        if isinstance(exc, TargetAuthFailed)
        else ProblemType.CONNECTOR_ERROR
    )
    with uow_factory() as uow:
        problem = Problem(kind, f"{target}: {exc}", blocking=False, subject=f"erp:{target}")
        uow.exceptions.raise_problem(problem, at, f"erp:{target}", None, None)
        uow.commit()
