"""Intuit OAuth 2.0 for the Accounting API: bearer access tokens, refreshed before they expire.

Intuit's OAuth 2.0 guide (developer.intuit.com, "Set up OAuth 2.0" and "Refresh access tokens"):

* an access token lives one hour (``expires_in: 3600``); a refresh token about 100 days;
* a refresh is ``POST {token endpoint}`` with ``grant_type=refresh_token&refresh_token=…``,
  form-encoded, HTTP Basic ``client_id:client_secret``; the answer is ``{"access_token",
  "refresh_token", "expires_in", "x_refresh_token_expires_in", "token_type": "bearer"}``;
* the answer may carry a *new* refresh token, and once it does the old one stops working.
  So every answer is saved (``SqlTokenStore``, its own transaction) before the access token is
  used: a crash after a refresh must not strand the only refresh token that still works;
* a refused refresh token is ``400 {"error": "invalid_grant"}``: only a person can reconnect.

The first refresh token comes from ``[erp.quickbooks] refresh_token`` (prefer
``refresh_token_env``) while the store holds none. If the stored one is refused and the
configured one differs, the configured one is tried: that is how someone reconnects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import structlog

from retailhub.adapters.storage.erp_repo import SqlTokenStore, StoredToken
from retailhub.services.erp_posting import TargetAuthFailed, TargetUnavailable

log = structlog.get_logger(__name__)

TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
# Refresh a little early: a token that expires in flight costs a 401 and a second call.
EARLY = timedelta(seconds=60)


class IntuitOAuth:
    """The kit's ``Authenticator`` for QuickBooks Online."""

    def __init__(
        self,
        store: SqlTokenStore,
        clock: Callable[[], datetime],
        client_id: str,
        client_secret: str,
        *,
        initial_refresh_token: str | None = None,
        token_url: str = TOKEN_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.token_url = token_url
        self.initial_refresh_token = initial_refresh_token
        self.refreshes = 0
        self._auth = (client_id, client_secret)
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._token: StoredToken | None = None
        self._loaded = False

    def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self._access_token()}"

    def refresh(self) -> bool:
        """After a 401: get a new access token (raises ``TargetAuthFailed`` if refused)."""
        current = self._current()
        self._refresh(current.access_token if current else None)
        return True

    def close(self) -> None:
        self._http.close()

    def _access_token(self) -> str:
        token = self._current()
        if token is None or not token.access_token or self._expiring(token):
            token = self._refresh(token.access_token if token else None)
        assert token.access_token is not None
        return token.access_token

    def _current(self) -> StoredToken | None:
        if not self._loaded:
            self._token, self._loaded = self.store.load(), True
        return self._token

    def _expiring(self, token: StoredToken) -> bool:
        return token.expires_at is None or token.expires_at - EARLY <= self.clock()

    def _refresh(self, rejected: str | None) -> StoredToken:
        """A usable token in place of ``rejected`` (an expired or refused access token)."""
        # Another worker may have refreshed since we loaded: its token is good, and the refresh
        # token we hold is spent.
        stored = self.store.load()
        self._token, self._loaded = stored, True
        if stored and stored.access_token not in (None, rejected) and not self._expiring(stored):
            return stored
        candidates = [stored.refresh_token if stored else None, self.initial_refresh_token]
        tried = [c for i, c in enumerate(candidates) if c and c not in candidates[:i]]
        if not tried:
            raise TargetAuthFailed(
                "QuickBooks is not connected: no refresh token stored or configured "
                "(set [erp.quickbooks] refresh_token_env)"
            )
        refusal = ""
        for refresh_token in tried:
            token, refusal = self._grant(refresh_token)
            if token is not None:
                return token
        raise TargetAuthFailed(
            f"Intuit refused the refresh token ({refusal}): reconnect QuickBooks and configure "
            "the new refresh token"
        )

    def _grant(self, refresh_token: str) -> tuple[StoredToken | None, str]:
        """A new token saved, or None and Intuit's reason for refusing it."""
        try:
            response = self._http.post(
                self.token_url,
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"QuickBooks token endpoint unreachable: {exc}") from exc
        if response.status_code in (400, 401):
            return None, _oauth_error(response)
        if response.status_code != 200:
            raise TargetUnavailable(f"QuickBooks token endpoint answered {response.status_code}")
        try:
            body = response.json()
            access, expires_in = str(body["access_token"]), int(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise TargetUnavailable("QuickBooks token endpoint sent no access token") from exc
        now = self.clock()
        token = StoredToken(
            access,
            str(body.get("refresh_token") or refresh_token),
            now + timedelta(seconds=expires_in),
        )
        self.store.save(token, now)  # before anything else: the old refresh token may be spent
        self._token, self._loaded = token, True
        self.refreshes += 1
        log.info("quickbooks_token_refreshed", rotated=token.refresh_token != refresh_token)
        return token, ""


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    error = str(body.get("error") or f"HTTP {response.status_code}")
    description = body.get("error_description")
    return f"{error}: {description}" if description else error
