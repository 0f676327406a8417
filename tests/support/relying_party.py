"""A small relying party: a web app on 127.0.0.1 that signs its users in at tokenrevoke
(authorization code with PKCE, through Authlib's OAuth2Session), shows who they are (from
userinfo) and signs them out (RP-initiated logout). A real browser drives it in
tests/integration/test_browser_sign_in.py.

Pages: `/login` (off to /authorize), `/callback` (the code comes back: exchanged, userinfo
called, "Hello NAME" shown with a Sign out link), `/logout` (off to /end_session with the
id_token as hint), `/signed-out` (back from /end_session; checks `state`). Every failure
is kept in `errors` and shown as a 500 page, so a test sees what went wrong.
"""

from __future__ import annotations

import html
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.integrations.requests_client import OAuth2Session

AUTH = "/jans-auth/restv1"


@dataclass
class Signed:
    """What the app holds for its signed-in user."""

    tokens: dict[str, Any]
    userinfo: dict[str, Any]


@dataclass
class RelyingParty:
    issuer: str  # the tokenrevoke server's URL
    client_id: str = ""
    client_secret: str = ""
    scope: str = "openid profile"
    errors: list[str] = field(default_factory=list)
    signed: Signed | None = None
    signed_out: int = 0  # how many times /end_session came back with the right state
    _pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # state: (verifier, nonce)
    _logout_state: str | None = None

    def __post_init__(self) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.url}/callback"

    @property
    def post_logout_uri(self) -> str:
        return f"{self.url}/signed-out"

    def start(self) -> RelyingParty:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _oauth(self) -> OAuth2Session:
        return OAuth2Session(
            self.client_id, self.client_secret, scope=self.scope,
            redirect_uri=self.redirect_uri, code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic", timeout=10,
        )  # fmt: skip

    # -- pages ----------------------------------------------------------------------------
    def login(self) -> tuple[int, dict[str, str], str]:
        verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        with self._oauth() as oauth:
            uri, state = oauth.create_authorization_url(
                f"{self.issuer}{AUTH}/authorize", code_verifier=verifier, nonce=nonce
            )
        self._pending[state] = (verifier, nonce)
        return 302, {"Location": uri}, ""

    def callback(self, path: str) -> tuple[int, dict[str, str], str]:
        query = _query(path)
        verifier, nonce = self._pending.pop(query.get("state", ""), ("", ""))
        if not verifier:
            raise ValueError(f"unexpected state in {path}")
        with self._oauth() as oauth:
            tokens = oauth.fetch_token(
                f"{self.issuer}{AUTH}/token",
                authorization_response=f"{self.url}{path}",
                code_verifier=verifier,
            )
            info = oauth.get(f"{self.issuer}{AUTH}/userinfo")
            info.raise_for_status()
        self.signed = Signed(dict(tokens), info.json())
        name = html.escape(str(self.signed.userinfo.get("preferred_username")))
        return (
            200,
            {},
            (
                f'<h1 id="hello">Hello {name}</h1><p>You are signed in to the demo app.</p>'
                '<p><a id="logout" href="/logout">Sign out</a></p>'
            ),
        )

    def logout(self) -> tuple[int, dict[str, str], str]:
        if self.signed is None:
            raise ValueError("nobody is signed in")
        self._logout_state = secrets.token_urlsafe(16)
        query = urlencode({
            "id_token_hint": self.signed.tokens["id_token"],
            "post_logout_redirect_uri": self.post_logout_uri,
            "state": self._logout_state,
        })  # fmt: skip
        return 302, {"Location": f"{self.issuer}{AUTH}/end_session?{query}"}, ""

    def back_from_logout(self, path: str) -> tuple[int, dict[str, str], str]:
        state = _query(path).get("state")
        if state is not None and state != self._logout_state:
            raise ValueError(f"unexpected state in {path}")
        if state is not None:  # the app's own logout (else the user's, from elsewhere)
            self.signed_out += 1
        self.signed = None
        return 200, {}, '<h1 id="bye">Signed out</h1><p><a href="/login">Sign in</a></p>'


def _query(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


def _handler(app: RelyingParty) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            route = urlsplit(self.path).path
            try:
                if route == "/login":
                    status, headers, body = app.login()
                elif route == "/callback":
                    status, headers, body = app.callback(self.path)
                elif route == "/logout":
                    status, headers, body = app.logout()
                elif route == "/signed-out":
                    status, headers, body = app.back_from_logout(self.path)
                else:
                    status, headers, body = 404, {}, "<h1>Not found</h1>"
            except Exception as exc:  # shown to the test, which fails on any
                app.errors.append(f"{route}: {exc!r}")
                status, headers, body = 500, {}, f"<h1>Error</h1><p>{html.escape(repr(exc))}</p>"
            page = f'<!doctype html><html lang="en"><title>Demo app</title><body>{body}</body>'
            data = page.encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "text/html; charset=utf-8",
                                "Content-Length": str(len(data))}.items():  # fmt: skip
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows `errors` when it matters

    return Handler
