"""Xero OAuth 2.0: a bearer access token and the organisation's tenant id on every call.

Xero's rules (developer.xero.com, OAuth 2.0 guides and its developer community's official
answers): access tokens live 30 minutes (``expires_in: 1800``); a refresh is a form POST of
``grant_type=refresh_token`` to the identity server's token endpoint with the app's client id and
secret as HTTP Basic credentials; every refresh returns a *new* refresh token and spends the old
one (still usable for a 30-minute grace period, in case the answer was lost). An unusable refresh
token is ``400 {"error": "invalid_grant"}``. Every API call names the organisation in
``Xero-tenant-id``.

The refresh rules (saving each rotated pair at once, the stored token winning over the
configured one) are ``erp/refresh_token.py``'s; this adds the tenant header.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from retailhub.adapters.connectors.erp.refresh_token import RotatingRefreshToken, TokenStore

__all__ = ["TokenStore", "XeroOAuth"]


class XeroOAuth(RotatingRefreshToken):
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
        super().__init__(
            vendor="xero",
            client_id=client_id,
            client_secret=client_secret,
            token_url=token_url,
            configured_refresh_token=configured_refresh_token,
            store=store,
            clock=clock,
            http=http,
            default_lifetime=1800,
            headers={"Xero-tenant-id": tenant_id},
        )
        self.tenant_id = tenant_id
