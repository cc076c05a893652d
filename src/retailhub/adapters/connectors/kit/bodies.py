"""Readers for the error shapes vendors put in JSON bodies.

``vendor_message`` feeds ``errors.translate_response``; ``qbo_fault`` and ``graphql_errors`` are
ready-made ``error_in_body`` hooks for vendors that report failures inside an HTTP 200.
"""

from __future__ import annotations

import json
from typing import Any


def vendor_message(payload: Any) -> str | None:
    """The human message in a vendor error body, whichever vendor's shape it has."""
    if not isinstance(payload, dict):
        return None
    for extract in (qbo_fault, _errors_list, _error_object, _netsuite, _xero):
        message = extract(payload)
        if message:
            return message
    for key in ("message", "detail", "title"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    return None


def qbo_fault(payload: Any) -> str | None:
    """QBO ``{"Fault": {"Error": [{"Message", "Detail", "code"}]}}``; may come with HTTP 200."""
    fault = payload.get("Fault") if isinstance(payload, dict) else None
    if not isinstance(fault, dict):
        return None
    errors = [e for e in fault.get("Error") or [] if isinstance(e, dict)]
    parts = [
        f"{e.get('Message', '')}: {e.get('Detail', '')} (code {e.get('code')})" for e in errors
    ]
    return "; ".join(parts) or str(fault.get("type") or "Fault")


def graphql_errors(payload: Any) -> str | None:
    """GraphQL (Shopify Admin) ``{"errors": [{"message"}]}``, which arrives with HTTP 200."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not errors:
        return None
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    return str(errors)


def _errors_list(payload: dict[str, Any]) -> str | None:
    # Square {"errors": [{"code", "detail"}]}; Shopify REST {"errors": "..." | {field: [...]}}.
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        items = [e for e in errors if isinstance(e, dict)]
        texts = [str(e.get("detail") or e.get("message") or e.get("code") or e) for e in items]
        return "; ".join(texts) or None
    if isinstance(errors, str | dict) and errors:
        return errors if isinstance(errors, str) else json.dumps(errors, sort_keys=True)
    return None


def _error_object(payload: dict[str, Any]) -> str | None:
    # Stripe and Business Central {"error": {"message"}}; OAuth {"error", "error_description"}.
    error = payload.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "") or None
    if isinstance(error, str):
        return str(payload.get("error_description") or error)
    return None


def _netsuite(payload: dict[str, Any]) -> str | None:
    details = [d for d in payload.get("o:errorDetails") or [] if isinstance(d, dict)]
    texts = [f"{d.get('detail', '')} ({d.get('o:errorCode')})" for d in details]
    return "; ".join(texts) or None


def _xero(payload: dict[str, Any]) -> str | None:
    # Xero {"Message": "A validation exception occurred", "Elements": [{"ValidationErrors": [...]}]}.
    if not isinstance(payload.get("Message"), str):
        return None
    elements = [e for e in payload.get("Elements") or [] if isinstance(e, dict)]
    details = [
        str(v.get("Message"))
        for e in elements
        for v in e.get("ValidationErrors") or []
        if isinstance(v, dict)
    ]
    return "; ".join([payload["Message"], *details])
