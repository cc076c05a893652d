"""Every error the API answers is an RFC 9457 problem: ``application/problem+json`` with
``type``, ``title``, ``status``, ``detail`` and ``instance`` (the request path).

One place turns exceptions into problems so no endpoint formats its own errors, a missing or
bad token always gets ``WWW-Authenticate: Bearer`` (RFC 6750 section 3), and an unexpected
error answers 500 with a reference to the log line instead of a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from retailhub.entrypoints.api.auth import Forbidden, NotAuthenticated

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("retailhub.api")

# RFC 9457 section 4.2.1: "about:blank" means the title is the HTTP status phrase.
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """An RFC 9457 problem response; extra members go alongside the standard ones."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
    )


class NotFound(Exception):
    """An object that does not exist, or that the caller's stores may not see (same answer)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Refused(Exception):
    """An action the object's state does not allow (409), e.g. ignoring a resolved exception."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def json_path(loc: Sequence[int | str]) -> str:
    """FastAPI's error location as a readable path: ``body.reason``, ``query.limit``."""
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        return problem(exc.status_code, detail, instance=request.url.path, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"path": json_path(e.get("loc", ())), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
        return problem(422, summary or "invalid request", instance=request.url.path, errors=errors)

    @app.exception_handler(NotAuthenticated)
    async def unauthenticated(request: Request, _: NotAuthenticated) -> JSONResponse:
        return problem(
            401,
            "send a live API token as 'Authorization: Bearer <token>' "
            "(issue one with 'retailhub tokens create')",
            instance=request.url.path,
            headers={"WWW-Authenticate": 'Bearer realm="retailhub"'},
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return problem(403, str(exc), instance=request.url.path, permission=exc.permission)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return problem(404, f"no {exc.what}", instance=request.url.path)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        return problem(409, exc.detail, instance=request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The caller gets a reference to quote, never the exception text or a traceback.
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", reference, request.method, request.url.path)
        return problem(
            500,
            f"an unexpected error occurred; quote reference {reference} to the operator",
            instance=request.url.path,
            reference=reference,
        )
