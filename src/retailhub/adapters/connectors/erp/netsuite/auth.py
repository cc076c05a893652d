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
reuses one instead of minting its own. A refused grant is ``TargetAuthFailed``: someone must fix
the certificate mapping; an unreachable token endpoint is ``TargetUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from retailhub.adapters.storage.erp_repo import StoredToken
from retailhub.services.erp_posting import TargetAuthFailed, TargetUnavailable

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# Renew this long before the stated expiry: a token that dies in flight costs a 401 and a replay.
EARLY = timedelta(seconds=60)
ASSERTION_LIFETIME = 300  # seconds; Oracle allows up to 3600


class TokenStore(Protocol):
    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken, at: datetime) -> None: ...


class M2MToken:
    """The kit's ``Authenticator``: a cached bearer token, renewed before expiry and after a 401."""

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
        self.token_url = token_url
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.private_key = private_key
        self.algorithm = algorithm
        self.scope = ",".join(scope)
        self.tokens = tokens
        self.clock = clock
        self.http = http
        self._token: StoredToken | None = None
        self.grants = 0  # tokens fetched by this process (the tests count them)

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
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self._assertion(),
        }
        try:
            response = self.http.post(self.token_url, data=form)
        except httpx.TransportError as exc:
            raise TargetUnavailable(f"NetSuite token endpoint unreachable: {exc}") from exc
        body = _json(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise TargetUnavailable(f"NetSuite token endpoint answered {response.status_code}")
        if response.status_code >= 400 or not body.get("access_token"):
            reason = body.get("error_description") or body.get("error") or response.text[:200]
            raise TargetAuthFailed(
                f"NetSuite refused the client credentials grant ({response.status_code}: "
                f"{reason}); check the M2M certificate mapping for client {self.client_id}"
            )
        now = self.clock()
        # Oracle documents expires_in as the string "3600"; accept a number too.
        lifetime = int(str(body.get("expires_in") or 3600))
        token = StoredToken(str(body["access_token"]), None, now + timedelta(seconds=lifetime))
        self.tokens.save(token, now)
        self.grants += 1
        return token

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


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
