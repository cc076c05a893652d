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

Tokens are kept in ``erp_tokens`` (``SqlTokenStore``) so consecutive pushes share one; the
caching and error mapping are ``erp/bearer.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from retailhub.adapters.connectors.erp.bearer import CachedBearerToken, TokenStore

SCOPE = "https://api.businesscentral.dynamics.com/.default"

__all__ = ["SCOPE", "ClientCredentials", "TokenStore"]


class ClientCredentials(CachedBearerToken):
    """Microsoft Entra's client credentials grant, cached and renewed before expiry."""

    vendor = "Microsoft Entra"
    default_lifetime = 3599

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
        super().__init__(token_url=token_url, tokens=tokens, clock=clock, http=http)
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope

    def grant_form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": self.scope,
        }

    def refusal(self, status: int, body: dict[str, Any], reason: str) -> str:
        return (
            f"Microsoft Entra refused the client credentials of app {self.client_id} "
            f"({status} {body.get('error', '')}): {reason}"
        )
