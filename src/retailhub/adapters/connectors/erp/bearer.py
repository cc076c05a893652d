"""A client-credentials bearer token, cached in ``erp_tokens`` and renewed before it expires.

NetSuite (a signed JWT assertion) and Business Central (a client secret at Microsoft Entra)
both sell machine-to-machine tokens with no refresh token: the next grant buys the next token.
What differs is the grant's form and the refusal's wording; the caching, the early renewal, the
401 retry and the error mapping are shared here. A refused grant is ``TargetAuthFailed``
(someone must fix the credentials); an unreachable or overloaded endpoint ``TargetUnavailable``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from retailhub.adapters.storage.erp_repo import StoredToken
from retailhub.services.erp_posting import TargetAuthFailed, TargetUnavailable

# Renew this long before the stated expiry: a token that dies in flight costs a 401 and a replay.
EARLY = timedelta(seconds=60)


class TokenStore(Protocol):
    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken, at: datetime) -> None: ...


class CachedBearerToken(ABC):
    """The connector kit's ``Authenticator``; subclasses say how to ask for a token."""

    vendor = "the token endpoint"
    default_lifetime = 3600  # seconds, when the answer leaves ``expires_in`` out

    def __init__(
        self,
        *,
        token_url: str,
        tokens: TokenStore,
        clock: Callable[[], datetime],
        http: httpx.Client,
    ) -> None:
        self.token_url = token_url
        self.tokens = tokens
        self.clock = clock
        self.http = http
        self._token: StoredToken | None = None
        self.grants = 0  # tokens fetched by this process (the tests count them)

    @abstractmethod
    def grant_form(self) -> dict[str, str]:
        """The token request's form: what proves who we are to this vendor."""

    def refusal(self, status: int, body: dict[str, Any], reason: str) -> str:
        return f"{self.vendor} refused the client credentials ({status}): {reason}"

    def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self._current()}"

    def refresh(self) -> bool:
        self._token = self._grant()
        return True

    def _current(self) -> str:
        token = self._token or self.tokens.load()
        if token is None or not token.access_token or self._expired(token):
            token = self._grant()
        self._token = token
        assert token.access_token is not None
        return token.access_token

    def _expired(self, token: StoredToken) -> bool:
        return token.expires_at is None or self.clock() >= token.expires_at - EARLY

    def _grant(self) -> StoredToken:
        try:
            response = self.http.post(self.token_url, data=self.grant_form())
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"{self.vendor} token endpoint unreachable: {exc}") from exc
        body = _json(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise TargetUnavailable(f"{self.vendor} token endpoint answered {response.status_code}")
        if response.status_code >= 400 or not body.get("access_token"):
            reason = body.get("error_description") or body.get("error") or response.text[:200]
            raise TargetAuthFailed(self.refusal(response.status_code, body, str(reason)))
        now = self.clock()
        # Oracle documents expires_in as the string "3600", Microsoft as a number: take both.
        lifetime = int(str(body.get("expires_in") or self.default_lifetime))
        token = StoredToken(str(body["access_token"]), None, now + timedelta(seconds=lifetime))
        self.tokens.save(token, now)
        self.grants += 1
        return token


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
