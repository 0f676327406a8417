"""A browser made of httpx: it keeps cookies, reads the sign-in page's form (its hidden
CSRF token and sealed request included) and posts it, as a person with a browser would,
without JavaScript. For tests of the authorization code flow (docs/sign-in.md)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.server import AUTH, Server

AUTHORIZE = f"{AUTH}/authorize"
SIGN_IN = "/jans-auth/login"


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1].fields[a["name"]] = a.get("value", "")


def forms(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def params_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect (each once)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Browser:
    """One browser: its own cookie jar. Redirects are not followed: the test reads them."""

    def __init__(self, server: Server) -> None:
        self.server = server
        # What every browser asks for with a navigation: pages, not Janssen's JSON errors.
        accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        self.http = server.http(follow_redirects=False, headers={"Accept": accept})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authorize(self, **params: str) -> httpx.Response:
        return self.http.get(AUTHORIZE, params=params)

    def submit(self, page: httpx.Response, **fields: str) -> httpx.Response:
        """Fill in the page's form and post it (as the Sign in button does)."""
        (form,) = forms(page.text)
        return self.http.post(form.action, data={**form.fields, "action": "signin", **fields})

    def sign_in(self, username: str, password: str, **params: str) -> httpx.Response:
        """Authorize, and sign in on the page shown: the response to the form (a redirect
        back to the client, when all went well)."""
        page = self.authorize(**params)
        assert page.status_code == 200, page.text
        return self.submit(page, username=username, password=password)

    def code(self, username: str, password: str, **params: str) -> dict[str, str]:
        response = self.sign_in(username, password, **params)
        assert response.status_code == 303, response.text
        return params_of(response.headers["location"])


def exchange(
    server: Server, code: str, redirect_uri: str, auth: Any = None, **form: str
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    with server.http() as http:
        return http.post(f"{AUTH}/token", data={**data, **form}, auth=auth)
