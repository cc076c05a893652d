"""Microsoft Entra ID (Azure AD) client credentials tokens for the Business Central API.

Service-to-service access, per Microsoft's "Using Service to Service Authentication" for
Business Central and the identity platform's client credentials grant:

* ``POST https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token``, form-encoded
  ``grant_type=client_credentials``, ``client_id``, ``client_secret`` and
  ``scope=https://api.businesscentral.dynamics.com/.default``;
* the answer is ``{"token_type": "Bearer", "expires_in": 3599, "access_token"}``; there is no
  refresh token — the next grant buys the next token;
* a refusal is ``{"error": "invalid_client", "error_description": "AADSTS7000215: …"}``.

The app must also be registered *inside* Business Central (Microsoft Entra Applications page)
with permission sets, or every API call answers 401 even with a fresh token.

Tokens are kept in ``erp_tokens`` (``SqlTokenStore``) so consecutive pushes share one. A
refused grant is ``TargetAuthFailed``; an unreachable endpoint ``TargetUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from retailhub.adapters.storage.erp_repo import StoredToken
from retailhub.services.erp_posting import TargetAuthFailed, TargetUnavailable

SCOPE = "https://api.businesscentral.dynamics.com/.default"
# Renew a minute early: a token that expires in flight costs a 401 and a replay.
EARLY = timedelta(seconds=60)


class TokenStore(Protocol):
    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken, at: datetime) -> None: ...


class ClientCredentials:
    """The kit's ``Authenticator``: a cached bearer token, renewed before expiry and after a 401."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        tokens: TokenStore,
        clock: Callable[[], datetime],
        http: httpx.Client,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.tokens = tokens
        self.clock = clock
        self.http = http
        self._token: StoredToken | None = None
        self.grants = 0

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
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
        }
        try:
            response = self.http.post(self.token_url, data=form)
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"Microsoft Entra token endpoint unreachable: {exc}") from exc
        body = _json(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise TargetUnavailable(
                f"Microsoft Entra token endpoint answered {response.status_code}"
            )
        if response.status_code >= 400 or not body.get("access_token"):
            reason = body.get("error_description") or body.get("error") or response.text[:200]
            raise TargetAuthFailed(
                f"Microsoft Entra refused the client credentials of app {self.client_id} "
                f"({response.status_code} {body.get('error', '')}): {reason}"
            )
        now = self.clock()
        lifetime = int(str(body.get("expires_in") or 3599))
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
