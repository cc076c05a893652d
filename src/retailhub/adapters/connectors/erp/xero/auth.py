"""Xero OAuth 2.0: a bearer access token and the organisation's tenant id on every call.

Xero's rules (developer.xero.com, OAuth 2.0 guides and its developer community's official
answers): access tokens live 30 minutes (``expires_in: 1800``); a refresh is a form POST of
``grant_type=refresh_token`` to the identity server's token endpoint with the app's client id and
secret as HTTP Basic credentials; every refresh returns a *new* refresh token and spends the old
one (still usable for a 30-minute grace period, in case the answer was lost). An unusable refresh
token is ``400 {"error": "invalid_grant"}``. Every API call names the organisation in
``Xero-tenant-id``.

So the new pair is saved through ``SqlTokenStore`` the moment it arrives, in its own transaction:
a crash after a refresh must not leave only the spent token on disk. The stored token wins over
the ``refresh_token`` in the configuration, which only seeds the first connection; if the stored
one is refused, the configured one is tried too (a reconnect puts a fresh one there).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import httpx
import structlog

from retailhub.adapters.storage.erp_repo import StoredToken
from retailhub.services.erp_posting import TargetAuthFailed, TargetUnavailable

log = structlog.get_logger(__name__)

# Refresh a little early: a token that expires in flight costs a 401 and a second call.
_EARLY = timedelta(seconds=60)


class TokenStore(Protocol):
    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken, at: datetime) -> None: ...


class XeroOAuth:
    """The kit's ``Authenticator`` for Xero: bearer token plus tenant header, refreshed on expiry."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        token_url: str,
        configured_refresh_token: str | None,
        store: TokenStore,
        clock: Callable[[], datetime],
        http: httpx.Client,
    ) -> None:
        self.tenant_id = tenant_id
        self._client = (client_id, client_secret)
        self._token_url = token_url
        self._configured = configured_refresh_token
        self._store = store
        self._clock = clock
        self._http = http
        self._token = store.load()

    def close(self) -> None:
        self._http.close()

    def apply(self, request: httpx.Request) -> None:
        token = self._token
        if token is None or not token.access_token or self._expiring(token):
            token = self._renew()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        request.headers["Xero-tenant-id"] = self.tenant_id

    def refresh(self) -> bool:
        """After a 401: a new access token, then the kit replays the call once."""
        self._renew()
        return True

    def _expiring(self, token: StoredToken) -> bool:
        return token.expires_at is None or token.expires_at - _EARLY <= self._clock()

    def _renew(self) -> StoredToken:
        stored = self._token.refresh_token if self._token else None
        candidates = list(dict.fromkeys(t for t in (stored, self._configured) if t))
        if not candidates:
            raise TargetAuthFailed(
                "xero: no refresh token: connect the organisation and set refresh_token_env"
            )
        refusal = ""
        for refresh_token in candidates:
            answer = self._grant(refresh_token)
            if isinstance(answer, StoredToken):
                self._token = answer
                return answer
            refusal = answer
        raise TargetAuthFailed(f"xero refused the refresh token ({refusal}): reconnect the app")

    def _grant(self, refresh_token: str) -> StoredToken | str:
        """The new token pair (saved at once), or Xero's reason for refusing this one."""
        try:
            response = self._http.post(
                self._token_url,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=self._client,
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"xero token endpoint unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise TargetUnavailable(f"xero token endpoint answered {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code != 200 or "access_token" not in payload:
            return str(payload.get("error_description") or payload.get("error") or response.text)
        now = self._clock()
        expires_at = now + timedelta(seconds=int(payload.get("expires_in", 1800)))
        token = StoredToken(
            str(payload["access_token"]),
            str(payload.get("refresh_token") or refresh_token),
            expires_at,
        )
        self._store.save(token, now)
        log.info("xero_token_refreshed", expires_at=expires_at.isoformat())
        return token
