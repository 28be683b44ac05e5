"""OpenID Connect sign-in for the portal, for a real identity provider: authlib's OAuth
client for the code flow, and joserfc (authlib's JOSE library) for the ID token.

The authorization code flow: the portal sends the browser to the issuer with a state
and a nonce (kept in a signed, short-lived cookie); on return it exchanges the code at
the token endpoint (client secret, server to server), checks the ID token's signature
against the issuer's published keys and its issuer, audience, expiry and nonce, and
takes the subject from ``oidc_subject_claim``. The session then holds a subject key
minted for it (valid as long as the session), so revocation, rate limits and the
audit log work as for any key."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from socialcredit.identity import validate

#: how long a sign-in may take at the provider
STATE_SECONDS = 600
#: metadata and keys are read again after this long
METADATA_SECONDS = 3600


class SignInRefusedError(Exception):
    """The provider's answer does not sign anyone in (message says why)."""


@dataclass
class OidcClient:
    issuer: str
    client_id: str
    client_secret: str
    claim: str
    _metadata: tuple[float, dict[str, Any]] | None = field(default=None, repr=False)

    def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata[0] > METADATA_SECONDS:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            answer = httpx.get(url, timeout=10)
            answer.raise_for_status()
            self._metadata = (time.monotonic(), answer.json())
        return self._metadata[1]

    def authorize_url(self, redirect_uri: str) -> tuple[str, str, str]:
        """(url to send the browser to, state, nonce)."""
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, nonce=nonce
            )
        return str(url), state, nonce

    def _client(self, redirect_uri: str) -> Any:
        # imported here: only a portal set up for a provider needs it
        from authlib.integrations.httpx_client import OAuth2Client

        return OAuth2Client(
            self.client_id,
            self.client_secret,
            scope="openid",
            redirect_uri=redirect_uri,
            timeout=10,
        )

    def subject_of(self, code: str, redirect_uri: str, nonce: str) -> str:
        """The subject id the provider vouches for, or SignInRefusedError."""
        from authlib.common.errors import AuthlibBaseError

        meta = self.metadata()
        try:
            with self._client(redirect_uri) as client:  # client_secret_basic
                answer = client.fetch_token(meta["token_endpoint"], code=code)
            token = answer["id_token"]
            keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"], timeout=10).json())
            claims = jwt.decode(token, keys, algorithms=["RS256", "ES256"]).claims
            jwt.JWTClaimsRegistry(
                leeway=60,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                nonce={"essential": True, "value": nonce},
                exp={"essential": True},
            ).validate(claims)
        except (httpx.HTTPError, AuthlibBaseError, KeyError, ValueError, JoseError) as error:
            raise SignInRefusedError(f"the provider's answer was refused: {error}") from error
        subject = str(claims.get(self.claim, "")).strip().upper()
        if not validate(subject).valid:
            raise SignInRefusedError(f"the ID token's {self.claim} is not a valid id")
        return subject
