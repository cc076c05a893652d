"""The ``Authenticator`` port of ``ApiClient`` and two trivial implementations.

OAuth flows (QBO, Xero, Business Central, NetSuite) live with their connectors; the kit only needs
``apply`` before each send and ``refresh`` after a 401, after which the request is replayed once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import httpx


class Authenticator(Protocol):
    def apply(self, request: httpx.Request) -> None:
        """Set credentials on ``request`` (called before every send, so refreshes take effect)."""

    def refresh(self) -> bool:
        """Renew credentials after a 401; True if the request is worth replaying."""


class NoAuth:
    def apply(self, request: httpx.Request) -> None:
        return None

    def refresh(self) -> bool:
        return False


class BearerToken:
    """``Authorization: Bearer <token>``; ``renew`` (if given) fetches a new token after a 401."""

    def __init__(self, token: str, renew: Callable[[], str | None] | None = None) -> None:
        self.token = token
        self._renew = renew

    def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self.token}"

    def refresh(self) -> bool:
        fresh = self._renew() if self._renew else None
        if not fresh:
            return False
        self.token = fresh
        return True
