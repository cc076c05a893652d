"""QuickBooks Online error bodies, read whichever of Intuit's two JSON spellings they come in.

The Accounting API answers a refused request with ``{"Fault": {"Error": [{"Message", "Detail",
"code", "element"}], "type": "ValidationFault"}, "time": …}`` (HTTP 400, sometimes 200). The
gateway in front of it (401 expired token, 403 wrong realm, 429 throttled) has been seen to send
the same thing spelled in lower case, ``{"fault": {"error": [{"message": "message=
AuthenticationFailed; errorCode=003200; statusCode=401", "detail", "code": "3200"}], "type":
"AUTHENTICATION"}}`` (python-quickbooks issues #118, #250). Both are read here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Fault:
    type: str  # ValidationFault, AuthenticationFault, SystemFault, …
    code: str | None  # Intuit's error code: "6210" account period closed, "2500" bad reference
    message: str
    detail: str

    @property
    def text(self) -> str:
        """What finance reads: the detail, led by the message unless the detail repeats it."""
        if not self.detail or self.detail.startswith(self.message):
            return self.detail or self.message
        return f"{self.message}: {self.detail}"


def parse_fault(payload: Any) -> list[Fault]:
    """Every error in a fault body (empty when ``payload`` is not one)."""
    if not isinstance(payload, dict):
        return []
    fault = _get(payload, "Fault")
    if not isinstance(fault, dict):
        return []
    kind = str(_get(fault, "type") or "Fault")
    errors = _get(fault, "Error") or []
    out = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        code = _get(error, "code")
        out.append(
            Fault(
                kind,
                str(code) if code not in (None, "") else None,
                str(_get(error, "Message") or "").strip(),
                str(_get(error, "Detail") or "").strip(),
            )
        )
    return out or [Fault(kind, None, kind, "")]


def _get(mapping: dict[str, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    return mapping.get(key.lower())
