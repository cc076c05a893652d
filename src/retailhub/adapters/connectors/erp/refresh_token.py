"""OAuth 2.0 with rotating refresh tokens (QuickBooks Online, Xero): the kit's ``Authenticator``.

Both vendors document the same rules:

* an access token is short-lived (Intuit one hour, Xero 30 minutes); a refresh is a form POST
  of ``grant_type=refresh_token&refresh_token=…`` to the token endpoint with the app's client id
  and secret as HTTP Basic credentials;
* the answer may carry a *new* refresh token, and once it does the old one is spent. So every
  answer is saved (``SqlTokenStore``, its own transaction) before the access token is used: a
  crash after a refresh must not leave only the spent token on disk;
* a refused refresh token is ``400 {"error": "invalid_grant"}``: only a person can reconnect.

The configured ``refresh_token`` only seeds the first connection; the stored one wins. Before a
refresh the store is read again (another worker may have refreshed, spending the token we hold
and leaving a good access token); if the stored refresh token is refused and the configured one
differs, the configured one is tried — that is how someone reconnects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import structlog

from retailhub.adapters.storage.erp_repo import StoredToken
from retailhub.services.erp_posting import TargetAuthFailed, TargetUnavailable

log = structlog.get_logger(__name__)

# Refresh a little early: a token that expires in flight costs a 401 and a second call.
EARLY = timedelta(seconds=60)


class TokenStore(Protocol):
    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken, at: datetime) -> None: ...


class RotatingRefreshToken:
    def __init__(
        self,
        *,
        vendor: str,
        client_id: str,
        client_secret: str,
        token_url: str,
        configured_refresh_token: str | None,
        store: TokenStore,
        clock: Callable[[], datetime],
        http: httpx.Client,
        default_lifetime: int,
        headers: Mapping[str, str] | None = None,  # sent on every call (Xero-tenant-id)
    ) -> None:
        self.vendor = vendor
        self._client = (client_id, client_secret)
        self.token_url = token_url
        self.configured = configured_refresh_token
        self.store = store
        self.clock = clock
        self._http = http
        self.default_lifetime = default_lifetime
        self.headers = dict(headers or {})
        self._token: StoredToken | None = None
        self._loaded = False
        self.refreshes = 0

    def close(self) -> None:
        self._http.close()

    def apply(self, request: httpx.Request) -> None:
        token = self._current()
        if token is None or not token.access_token or self._expiring(token):
            token = self._renew(token.access_token if token else None)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        request.headers.update(self.headers)

    def refresh(self) -> bool:
        """After a 401: a usable access token in place of the refused one, or TargetAuthFailed."""
        current = self._current()
        self._renew(current.access_token if current else None)
        return True

    def _current(self) -> StoredToken | None:
        if not self._loaded:
            self._token, self._loaded = self.store.load(), True
        return self._token

    def _expiring(self, token: StoredToken) -> bool:
        return token.expires_at is None or token.expires_at - EARLY <= self.clock()

    def _renew(self, rejected: str | None) -> StoredToken:
        stored = self.store.load()
        self._token, self._loaded = stored, True
        if stored and stored.access_token not in (None, rejected) and not self._expiring(stored):
            return stored  # another worker refreshed meanwhile
        candidates = [stored.refresh_token if stored else None, self.configured]
        tried = list(dict.fromkeys(c for c in candidates if c))
        if not tried:
            raise TargetAuthFailed(
                f"{self.vendor} is not connected: no refresh token stored or configured "
                "(set refresh_token_env)"
            )
        refusal = ""
        for refresh_token in tried:
            answer = self._grant(refresh_token)
            if isinstance(answer, StoredToken):
                return answer
            refusal = answer
        raise TargetAuthFailed(
            f"{self.vendor} refused the refresh token ({refusal}): reconnect the app and "
            "configure the new refresh token"
        )

    def _grant(self, refresh_token: str) -> StoredToken | str:
        """The new token pair, saved at once, or the vendor's reason for refusing this one."""
        try:
            response = self._http.post(
                self.token_url,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=self._client,
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"{self.vendor} token endpoint unreachable: {exc}") from exc
        body = _json(response)
        if response.status_code in (400, 401, 403):
            return _oauth_error(response.status_code, body)
        if response.status_code != 200 or not body.get("access_token"):
            raise TargetUnavailable(f"{self.vendor} token endpoint answered {response.status_code}")
        now = self.clock()
        lifetime = int(body.get("expires_in") or self.default_lifetime)
        token = StoredToken(
            str(body["access_token"]),
            str(body.get("refresh_token") or refresh_token),
            now + timedelta(seconds=lifetime),
        )
        self.store.save(token, now)  # before anything else: the old refresh token may be spent
        self._token, self._loaded = token, True
        self.refreshes += 1
        log.info(
            "erp_token_refreshed", vendor=self.vendor, rotated=token.refresh_token != refresh_token
        )
        return token


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _oauth_error(status: int, body: dict[str, Any]) -> str:
    error = str(body.get("error") or f"HTTP {status}")
    description = body.get("error_description")
    return f"{error}: {description}" if description else error
