"""OpenID Connect sign-in against a real (fake) identity provider over HTTP: its
discovery document, keys and token endpoint, the ID token checked in full."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from socialcredit.web import create_app
from socialcredit.web.app import build_services
from tests.scored import Scored
from tests.web.conftest import api_settings

CLIENT_ID, CLIENT_SECRET = "portal", "s3cret-of-the-portal"


class Provider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.codes: dict[str, dict[str, Any]] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _json(self, document: dict[str, Any], status: int = 200) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.base,
                            "authorization_endpoint": provider.base + "/authorize",
                            "token_endpoint": provider.base + "/token",
                            "jwks_uri": provider.base + "/jwks",
                        }
                    )
                elif self.path == "/jwks":
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                else:
                    self._json({}, 404)

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._json({"error": "invalid_client"}, 401)
                    return
                claims = provider.codes.pop(form["code"][0], None)
                if claims is None:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, provider.key)
                self._json({"id_token": token, "access_token": "x", "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def claims(
        self, nonce: str, subject_id: str, changes: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        found = {
            "iss": self.base, "aud": CLIENT_ID, "sub": "u-1", "nonce": nonce,
            "iat": now, "exp": now + 300, "socialcredit_subject_id": subject_id,
        }  # fmt: skip
        return {**found, **(changes or {})}


@pytest.fixture
def provider() -> Iterator[Provider]:
    found = Provider()
    yield found
    found.server.shutdown()


@pytest.fixture
def client(scored: Scored, tmp_path: Path, provider: Provider) -> Iterator[TestClient]:
    settings = api_settings(
        scored.data,
        tmp_path / "store.db",
        oidc_issuer=provider.base,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    services = build_services(settings)
    with TestClient(create_app(settings, services)) as found:
        yield found
    services.database.dispose()


def _person(scored: Scored) -> str:
    table = scored.snapshot.subject_table(["subject_id", "kind", "lists"])
    rows = zip(*(table.column(i).to_pylist() for i in range(3)), strict=True)
    return next(str(s) for s, k, ls in rows if k == "person" and "discredited" in (ls or []))


def _start(client: TestClient) -> tuple[str, str]:
    assert 'id="oidc"' in client.get("/signin").text
    going = client.get("/signin/oidc", follow_redirects=False)
    assert going.status_code == 303
    asked = parse_qs(urlparse(going.headers["location"]).query)
    assert asked["client_id"] == [CLIENT_ID]
    assert asked["scope"] == ["openid"]
    return asked["state"][0], asked["nonce"][0]


def test_a_person_signs_in_through_the_provider(
    client: TestClient, provider: Provider, scored: Scored
) -> None:
    person = _person(scored)
    state, nonce = _start(client)
    provider.codes["c1"] = provider.claims(nonce, person.lower())
    back = client.get(f"/signin/oidc/callback?code=c1&state={state}", follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == "/me"
    page = client.get("/me")
    assert page.status_code == 200
    assert 'data-measure="transport.flight"' in page.text


@pytest.mark.parametrize(
    "change",
    [
        {"nonce": "replayed"},
        {"aud": "another-client"},
        {"iss": "https://elsewhere.example"},
        {"exp": 1_000_000},
        {"socialcredit_subject_id": "not-an-id"},
    ],
)
def test_a_token_that_does_not_hold_is_refused(
    client: TestClient, provider: Provider, scored: Scored, change: dict[str, Any]
) -> None:
    state, nonce = _start(client)
    provider.codes["c2"] = provider.claims(nonce, _person(scored), change)
    back = client.get(f"/signin/oidc/callback?code=c2&state={state}", follow_redirects=False)
    assert back.status_code == 401
    assert client.get("/me", follow_redirects=False).status_code == 303


def test_a_forged_state_or_unknown_code_is_refused(
    client: TestClient, provider: Provider, scored: Scored
) -> None:
    state, nonce = _start(client)
    provider.codes["c3"] = provider.claims(nonce, _person(scored))
    assert client.get("/signin/oidc/callback?code=c3&state=forged").status_code == 403
    back = client.get(f"/signin/oidc/callback?code=unknown&state={state}")
    assert back.status_code == 401


def test_without_a_provider_there_is_no_such_sign_in(scored: Scored, tmp_path: Path) -> None:
    settings = api_settings(scored.data, tmp_path / "store.db")
    with TestClient(create_app(settings, build_services(settings))) as plain:
        assert 'id="oidc"' not in plain.get("/signin").text
        assert plain.get("/signin/oidc").status_code == 404


def test_settings_refuse_a_half_or_insecure_provider() -> None:
    from pydantic import ValidationError

    from socialcredit.settings import load_settings

    with pytest.raises(ValidationError, match="OIDC_CLIENT_ID"):
        load_settings(oidc_issuer="https://id.example")
    with pytest.raises(ValidationError, match="https"):
        load_settings(
            oidc_issuer="http://id.example",
            oidc_client_id="a",
            oidc_client_secret="b",
            environment="production",
            secret_key="z" * 40,
        )
