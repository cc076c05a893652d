"""NetSuite OAuth 2.0 client credentials (machine-to-machine) bearer tokens.

The grant, per Oracle's help ("OAuth 2.0 Client Credentials Flow", "The Request Token
Structure", "POST Request to the Token Endpoint and the Access Token Response"):

* ``POST https://<accountID>.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token``,
  form-encoded: ``grant_type=client_credentials``,
  ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and
  ``client_assertion`` = a JWT signed with the private key of the certificate uploaded in
  *Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup*;
* the JWT header carries ``kid`` = that mapping's certificate id and ``alg`` one of PS256/384/512
  or ES256/384/512 (RS256 is refused); its claims are ``iss`` = the integration's client id,
  ``scope`` (``rest_webservices``), ``aud`` = the token endpoint, ``iat`` and ``exp`` less than 60
  minutes after ``iat``;
* the answer is ``{"access_token", "expires_in": "3600", "token_type": "bearer"}``: valid for 60
  minutes, no refresh token — a new assertion buys the next one.

Tokens are kept in ``erp_tokens`` (``SqlTokenStore``) so every ``retailhub erp push`` in the hour
reuses one instead of minting its own; the caching and error mapping are ``erp/bearer.py``'s. A
refused grant means someone must fix the certificate mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from retailhub.adapters.connectors.erp.bearer import CachedBearerToken, TokenStore

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
ASSERTION_LIFETIME = 300  # seconds; Oracle allows up to 3600

__all__ = ["ALGORITHMS", "M2MToken", "TokenStore"]


class M2MToken(CachedBearerToken):
    """NetSuite's client credentials grant with a signed JWT assertion, cached."""

    vendor = "NetSuite"
    default_lifetime = 3600

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        certificate_id: str,
        private_key: str,
        algorithm: str,
        scope: Sequence[str],
        tokens: TokenStore,
        clock: Callable[[], datetime],
        http: httpx.Client,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm {algorithm!r}: NetSuite accepts {', '.join(ALGORITHMS)}")
        super().__init__(token_url=token_url, tokens=tokens, clock=clock, http=http)
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.private_key = private_key
        self.algorithm = algorithm
        self.scope = ",".join(scope)

    def grant_form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self._assertion(),
        }

    def refusal(self, status: int, body: dict[str, Any], reason: str) -> str:
        return (
            f"NetSuite refused the client credentials grant ({status}: {reason}); "
            f"check the M2M certificate mapping for client {self.client_id}"
        )

    def _assertion(self) -> str:
        # PyJWT with the cryptography backend signs PS*/ES*; imported here so the rest of the hub
        # (and NetSuite set-ups that never post) do not need it.
        import jwt

        issued = int(self.clock().timestamp())
        claims = {
            "iss": self.client_id,
            "scope": self.scope,
            "aud": self.token_url,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
        }
        headers = {"kid": self.certificate_id, "typ": "JWT"}
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers=headers)
