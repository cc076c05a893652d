"""Xero's refusals, read from its own error body.

A document Xero will not accept is HTTP 400 with (developer.xero.com, Accounting API
"Response codes" / "Validation errors")::

    {"ErrorNumber": 10, "Type": "ValidationException",
     "Message": "A validation exception occurred",
     "Elements": [{...the document..., "ValidationErrors": [{"Message": "..."}]}]}

The generic ``Message`` says nothing; the element messages say what to fix ("The total debits
(100.00) must equal total credits (-10.00)", "The document date cannot be before the period
lock date, currently set at 30-Nov-2018"), so those become the ``PostingRejected`` message.
"""

from __future__ import annotations

import json
from typing import Any

from retailhub.adapters.connectors.kit import AuthError, ConnectorError, FatalError, NotFoundError
from retailhub.services.erp_posting import PostingRejected, TargetAuthFailed, TargetUnavailable


def validation_messages(payload: Any) -> list[str]:
    """The ``ValidationErrors`` messages of every element, in order, each once."""
    if not isinstance(payload, dict):
        return []
    messages: list[str] = []
    for element in payload.get("Elements") or []:
        if not isinstance(element, dict):
            continue
        for error in element.get("ValidationErrors") or []:
            if isinstance(error, dict) and error.get("Message"):
                messages.append(str(error["Message"]))
    return list(dict.fromkeys(messages))


def translate(exc: ConnectorError, document: str) -> Exception:
    """The posting service's exception for a kit error raised while sending ``document``."""
    if isinstance(exc, AuthError):
        return TargetAuthFailed(f"xero refused our credentials: {exc}")
    if isinstance(exc, NotFoundError):  # a wrong base_url, not a wrong document
        return TargetUnavailable(f"xero: {exc}")
    if not isinstance(exc, FatalError):  # retriable, and the retries ran out
        return TargetUnavailable(f"xero: {exc}")
    payload = _json(exc.body)
    messages = validation_messages(payload)
    if messages:
        code = payload.get("ErrorNumber") or payload.get("Type")
        return PostingRejected("; ".join(messages), document, str(code) if code else None)
    message = exc.vendor_message or str(exc)
    return PostingRejected(message, document, str(exc.status) if exc.status else None)


def element_errors(element: Any) -> list[str]:
    """Validation errors reported on a document inside a 200 (``summarizeErrors=false`` style)."""
    if not isinstance(element, dict):
        return []
    errors = element.get("ValidationErrors") or []
    return [str(e["Message"]) for e in errors if isinstance(e, dict) and e.get("Message")]


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
