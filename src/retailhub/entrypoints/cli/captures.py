"""Captured deliveries on disk: ``{"topic", "headers", "body"}`` JSON files, body byte for byte."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson


class CaptureError(ValueError):
    pass


def read_capture(path: Path) -> tuple[dict[str, str], bytes]:
    try:
        data: Any = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise CaptureError(f"{path}: not a captured delivery (invalid JSON: {exc})") from exc
    if not isinstance(data, dict) or "headers" not in data:
        raise CaptureError(f"{path}: expected an object with 'headers' and 'body'")
    headers = {str(k): str(v) for k, v in data["headers"].items()}
    if "body_base64" in data:
        return headers, base64.b64decode(data["body_base64"])
    if "body" not in data:
        raise CaptureError(f"{path}: no 'body' or 'body_base64'")
    return headers, str(data["body"]).encode()


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; a directory contributes its *.json files in name order."""
    out: list[Path] = []
    for p in paths:
        out += sorted(p.glob("*.json")) if p.is_dir() else [p]
    return out


# The header that identifies each source's deliveries (its signature header).
_SIGNATURE_HEADERS = {
    "x-shopify-topic": "shopify",
    "stripe-signature": "stripe",
    "x-square-hmacsha256-signature": "square",
}


def source_of(headers: dict[str, str]) -> str:
    lowered = {k.lower() for k in headers}
    return next((s for h, s in _SIGNATURE_HEADERS.items() if h in lowered), "unknown")
