"""Intuit OAuth 2.0 for the Accounting API (developer.intuit.com, "Set up OAuth 2.0" and
"Refresh access tokens"): access tokens live one hour, refresh tokens about 100 days and rotate.
The refresh rules are ``erp/refresh_token.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from retailhub.adapters.connectors.erp.refresh_token import RotatingRefreshToken, TokenStore

TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"


def intuit_oauth(
    store: TokenStore,
    clock: Callable[[], datetime],
    client_id: str,
    client_secret: str,
    *,
    initial_refresh_token: str | None = None,
    token_url: str = TOKEN_URL,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
) -> RotatingRefreshToken:
    """The kit's ``Authenticator`` for QuickBooks Online."""
    return RotatingRefreshToken(
        vendor="QuickBooks",
        client_id=client_id,
        client_secret=client_secret,
        token_url=token_url,
        configured_refresh_token=initial_refresh_token,
        store=store,
        clock=clock,
        http=httpx.Client(transport=transport, timeout=timeout),
        default_lifetime=3600,
    )
