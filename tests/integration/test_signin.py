"""Browser sign-in through a real server, over plain HTTP: the authorization code flow
with PKCE (docs/sign-in.md), sessions, and the hostile inputs it must refuse.

The "browser" is httpx with a cookie jar (tests/support/browser.py): it reads the sign-in
form, CSRF token included, and posts it, as a person without JavaScript would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.support.browser import (
    AUTHORIZE,
    SIGN_IN,
    Browser,
    exchange,
    forms,
    params_of,
    pkce_pair,
)
from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server
from tests.support.stores import STORES, server_on
from tokenrevoke.apiclient import ConfigApiClient

USER, PASSWORD = "signin-alice", "correct horse battery staple"
GUESSED = "signin-bob"  # the user whose password is guessed (and so locked out)
THROTTLED_AFTER = 3
APP = "https://app.example/callback"  # never fetched: the test reads the redirect
OTHER_APP = "https://other.example/cb"


@pytest.fixture(scope="module", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """This suite's own server, on each store: codes and sessions are stored."""
    data_dir = tmp_path_factory.mktemp(f"signin-{request.param}") / "data"
    with server_on(request.param, data_dir) as srv:
        # Long before the test that reaches it (the throttle is per user and address).
        srv.configure({"passwordFailureLimitPerUser": THROTTLED_AFTER})
        yield srv


@pytest.fixture(scope="module")
def public(server: Server) -> Client:
    """A browser app without a secret (PKCE required)."""
    server.create_user(USER, PASSWORD)
    server.create_user(GUESSED, PASSWORD)
    return server.create_client(
        "--redirect-uri", APP, name="Single-page app", auth_method="none",
        grant_types=["authorization_code", "refresh_token"], scopes=["openid", "profile"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def confidential(server: Server) -> Client:
    """A server-side app with a secret (PKCE optional: requirePkce is off)."""
    return server.create_client(
        "--redirect-uri", OTHER_APP, name="Back office",
        grant_types=["authorization_code", "refresh_token"], scopes=["openid"],
    )  # fmt: skip


@pytest.fixture
def browser(server: Server) -> Iterator[Browser]:
    with Browser(server) as b:
        yield b


def request_for(client: Client, challenge: str | None, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": APP,
        "scope": "openid profile", "state": "st-123", "nonce": "n-456",
    }  # fmt: skip
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params | extra


def id_token_claims(server: Server, token: str, audience: str) -> dict[str, Any]:
    keys = httpx.get(f"{server.url}{AUTH}/jwks", timeout=10).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    (key,) = [jwt.PyJWK(k) for k in keys if k["kid"] == kid]
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], audience=audience, issuer=server.url
    )
    return claims


def test_code_flow_with_pkce_end_to_end(server: Server, public: Client, browser: Browser) -> None:
    verifier, challenge = pkce_pair()
    page = browser.authorize(**request_for(public, challenge))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert '<label for="username">' in page.text and "Single-page app" in page.text
    prelogin = page.headers["set-cookie"].lower()
    assert "httponly" in prelogin and "samesite=lax" in prelogin and "secure" not in prelogin

    answer = browser.submit(page, username=USER, password=PASSWORD)
    assert answer.status_code == 303, answer.text
    back = params_of(answer.headers["location"])
    assert answer.headers["location"].startswith(APP + "?")
    assert back["state"] == "st-123" and back["iss"] == server.url
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("session_id="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/jans-auth" in cookie

    response = exchange(server, back["code"], APP, client_id=public.client_id,
                        code_verifier=verifier)  # fmt: skip
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens)
    claims = id_token_claims(server, tokens["id_token"], public.client_id)
    assert claims["nonce"] == "n-456" and claims["sid"]
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert abs(claims["auth_time"] - time.time()) < 60
    assert server.is_active(tokens["access_token"]) and server.is_active(tokens["refresh_token"])

    info = server.session.get(
        f"{AUTH}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 200, info.text
    assert info.json() == {"sub": claims["sub"], "preferred_username": USER}
    # Every token issued in the session carries it (ssnId, Janssen's sessionDn), refreshed
    # ones too.
    refreshed = server.session.post(
        f"{AUTH}/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
              "client_id": public.client_id},
    )  # fmt: skip
    assert refreshed.status_code == 200, refreshed.text
    sid = id_token_claims(server, refreshed.json()["id_token"], public.client_id)["sid"]
    assert sid == claims["sid"]
    with ConfigApiClient(server.url, ADMIN_ID, ADMIN_SECRET) as api:
        entries = api.tokens_of_client(public.client_id)["entries"]
    assert entries and {e["sessionDn"] for e in entries} == {claims["sid"]}

    # The session signs the browser in again without a password (SSO), in the same sid.
    verifier2, challenge2 = pkce_pair()
    again = browser.authorize(**request_for(public, challenge2, state="second"))
    assert again.status_code == 303, again.text
    code2 = params_of(again.headers["location"])["code"]
    tokens2 = exchange(server, code2, APP, client_id=public.client_id,
                       code_verifier=verifier2).json()  # fmt: skip
    assert id_token_claims(server, tokens2["id_token"], public.client_id)["sid"] == claims["sid"]


def test_a_reused_code_revokes_what_it_issued(
    server: Server, public: Client, browser: Browser
) -> None:
    verifier, challenge = pkce_pair()
    code = browser.code(USER, PASSWORD, **request_for(public, challenge))["code"]
    first = exchange(server, code, APP, client_id=public.client_id, code_verifier=verifier)
    assert first.status_code == 200, first.text
    tokens = first.json()
    second = exchange(server, code, APP, client_id=public.client_id, code_verifier=verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert not server.is_active(tokens["access_token"])
    assert not server.is_active(tokens["refresh_token"])
    # An audit record says why (the local command reads the store, as an operator would).
    records = json.loads(server.cli("audit", "--json", "--limit", "20").stdout)
    assert any(r["reason"] == "authorization_code_reuse" and r["count"] >= 2 for r in records), (
        records
    )


def test_pkce_downgrades_are_refused(
    server: Server, public: Client, confidential: Client, browser: Browser
) -> None:
    # A public client without PKCE, or with `plain`: refused at the redirect URI.
    for extra in ({}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
                  {"code_challenge": "x" * 43}):  # fmt: skip
        answer = browser.authorize(**request_for(public, None, **extra))
        assert answer.status_code == 303
        assert params_of(answer.headers["location"])["error"] == "invalid_request"
    # A verifier sent for a code issued without a challenge (RFC 9700 section 2.1.1).
    other = {**request_for(confidential, None), "redirect_uri": OTHER_APP, "scope": "openid"}
    code = browser.code(USER, PASSWORD, **other)["code"]
    verifier, _ = pkce_pair()
    response = exchange(server, code, OTHER_APP, confidential.basic, code_verifier=verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    # With a challenge: no verifier, or a wrong one.
    _, challenge = pkce_pair()
    code = browser.authorize(**request_for(public, challenge)).headers["location"]
    code = params_of(code)["code"]
    for form in ({}, {"code_verifier": verifier}):
        response = exchange(server, code, APP, client_id=public.client_id, **form)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://app.example/callback/../evil",
        "https://app.example/callback.evil.example",
        "https://app.example/callbackx",
        "https://app.example/callback?next=https://evil.example",
        "https://app.example/callback#frag",
        "https://app.example.evil.example/callback",
        "https://evil.example/callback",
        "HTTPS://APP.EXAMPLE/callback",
        "https://app.example:443/callback",
        "//evil.example/callback",
    ],
)
def test_redirect_uri_tricks_are_refused_on_a_page(
    public: Client, browser: Browser, redirect_uri: str
) -> None:
    _, challenge = pkce_pair()
    answer = browser.authorize(**request_for(public, challenge, redirect_uri=redirect_uri))
    assert answer.status_code == 400 and "location" not in answer.headers
    assert "not registered" in answer.text


def test_errors_before_the_client_is_known_stay_on_the_page(
    public: Client, browser: Browser
) -> None:
    _, challenge = pkce_pair()
    for params in (
        request_for(public, challenge, client_id="no-such-client"),
        {k: v for k, v in request_for(public, challenge).items() if k != "client_id"},
        {k: v for k, v in request_for(public, challenge).items() if k != "redirect_uri"},
    ):
        answer = browser.authorize(**params)
        assert answer.status_code == 400 and "location" not in answer.headers
    repeated = browser.http.get(f"{AUTHORIZE}?client_id=a&client_id=b&redirect_uri={APP}")
    assert repeated.status_code == 400 and "location" not in repeated.headers


def test_the_sign_in_form_is_refused_without_its_csrf_token(
    server: Server, public: Client, browser: Browser
) -> None:
    _, challenge = pkce_pair()
    page = browser.authorize(**request_for(public, challenge))
    (form,) = forms(page.text)
    fields = {**form.fields, "username": USER, "password": PASSWORD, "action": "signin"}
    without_token = {k: v for k, v in fields.items() if k != "csrf_token"}
    forged = {**fields, "csrf_token": "0" * 64}
    for data in (without_token, forged):
        answer = browser.http.post(SIGN_IN, data=data)
        assert answer.status_code == 403 and "session_id" not in answer.headers.get(
            "set-cookie", ""
        )
    # Another site posting this form: the browser sends no pre-login cookie (SameSite).
    with Browser(server) as elsewhere:
        answer = elsewhere.http.post(SIGN_IN, data=fields)
        assert answer.status_code == 403 and "location" not in answer.headers


def test_a_code_of_one_client_is_refused_to_another(
    server: Server, public: Client, confidential: Client, browser: Browser
) -> None:
    verifier, challenge = pkce_pair()
    code = browser.code(USER, PASSWORD, **request_for(public, challenge))["code"]
    stolen = exchange(server, code, APP, confidential.basic, code_verifier=verifier)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    # Refused, not spent: its own client still exchanges it.
    own = exchange(server, code, APP, client_id=public.client_id, code_verifier=verifier)
    assert own.status_code == 200, own.text


def test_prompt_none_without_a_session_answers_login_required(
    public: Client, browser: Browser
) -> None:
    _, challenge = pkce_pair()
    answer = browser.authorize(**request_for(public, challenge, prompt="none"))
    assert answer.status_code == 303
    back = params_of(answer.headers["location"])
    assert back["error"] == "login_required" and back["state"] == "st-123"


def test_max_age_and_prompt_login_ask_for_the_password_again(
    server: Server, public: Client, browser: Browser
) -> None:
    _, challenge = pkce_pair()
    browser.code(USER, PASSWORD, **request_for(public, challenge))
    assert browser.authorize(**request_for(public, challenge, max_age="3600")).status_code == 303
    for extra in ({"max_age": "0"}, {"prompt": "login"}):
        page = browser.authorize(**request_for(public, challenge, **extra))
        assert page.status_code == 200 and "Sign in" in page.text
    time.sleep(2)
    page = browser.authorize(**request_for(public, challenge, max_age="1"))
    assert page.status_code == 200
    # Signing in again keeps the session (same sid) under a new cookie and auth_time.
    old = browser.http.cookies.get("session_id", path="/jans-auth")
    answer = browser.submit(page, username=USER, password=PASSWORD)
    assert answer.status_code == 303
    assert browser.http.cookies.get("session_id", path="/jans-auth") != old


def test_wrong_passwords_are_told_clearly_then_throttled(
    server: Server, public: Client, browser: Browser
) -> None:
    _, challenge = pkce_pair()
    wrong = browser.authorize(**request_for(public, challenge))
    for _ in range(THROTTLED_AFTER):  # the last one reaches the limit
        wrong = browser.submit(wrong, username=GUESSED, password="nope")
        assert wrong.status_code == 401 and 'role="alert"' in wrong.text
        assert "incorrect" in wrong.text and 'aria-invalid="true"' in wrong.text
        assert f'value="{GUESSED}"' in wrong.text  # kept; the password field has the focus
    wrong = browser.submit(wrong, username=GUESSED, password="nope")
    assert wrong.status_code == 429 and int(wrong.headers["retry-after"]) > 0
    # Locked out: even the right password waits.
    locked = browser.submit(wrong, username=GUESSED, password=PASSWORD)
    assert locked.status_code == 429 and "Try again in" in locked.text


def test_form_post_response_mode(public: Client, browser: Browser) -> None:
    _, challenge = pkce_pair()
    answer = browser.sign_in(
        USER, PASSWORD, **request_for(public, challenge, response_mode="form_post")
    )
    assert answer.status_code == 200
    (form,) = forms(answer.text)
    assert form.action == APP and form.method == "post"
    assert form.fields["code"] and form.fields["state"] == "st-123"
    assert "form-action 'self' https://app.example" in answer.headers["content-security-policy"]


def test_cancel_answers_access_denied(public: Client, browser: Browser) -> None:
    _, challenge = pkce_pair()
    page = browser.authorize(**request_for(public, challenge))
    answer = browser.submit(page, action="cancel")
    assert params_of(answer.headers["location"])["error"] == "access_denied"


def test_prompt_consent_asks_the_signed_in_user(public: Client, browser: Browser) -> None:
    _, challenge = pkce_pair()
    browser.code(USER, PASSWORD, **request_for(public, challenge))
    for action, expected in (("allow", "code"), ("deny", "error")):
        page = browser.authorize(**request_for(public, challenge, prompt="consent"))
        assert page.status_code == 200 and "Allow access" in page.text
        answer = browser.submit(page, action=action)
        assert answer.status_code == 303
        assert expected in params_of(answer.headers["location"])
    # Without a session, consent needs the password first.
    with Browser(browser.server) as fresh:
        page = fresh.authorize(**request_for(public, challenge, prompt="consent"))
        assert page.status_code == 200 and 'name="password"' in page.text


def test_userinfo_refuses_tokens_without_openid_or_in_the_url(server: Server) -> None:
    client = server.create_client(grant_types=["client_credentials"])
    token = server.fetch_token(client)["access_token"]
    bare = server.session.get(f"{AUTH}/userinfo")
    assert bare.status_code == 401 and bare.headers["www-authenticate"].startswith("Bearer")
    anonymous = server.session.get(f"{AUTH}/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert anonymous.status_code == 401  # no user behind a client_credentials token
    assert 'error="invalid_token"' in anonymous.headers["www-authenticate"]
    in_url = server.session.get(f"{AUTH}/userinfo", params={"access_token": token})
    assert in_url.status_code == 400


def test_userinfo_refuses_the_tokens_of_a_disabled_client(
    server: Server, public: Client, browser: Browser
) -> None:
    """A token outlives nothing its client lost (docs/security.md): userinfo included."""
    app = server.create_client(
        "--redirect-uri", APP, name="Soon disabled", auth_method="none",
        grant_types=["authorization_code"], scopes=["openid"],
    )  # fmt: skip
    verifier, challenge = pkce_pair()
    page = browser.authorize(**request_for(app, challenge, scope="openid"))
    answer = browser.submit(page, username=USER, password=PASSWORD)  # `public` made USER
    assert answer.status_code == 303, answer.text
    code = params_of(answer.headers["location"])["code"]
    token = exchange(server, code, APP, client_id=app.client_id, code_verifier=verifier).json()[
        "access_token"
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    assert server.session.get(f"{AUTH}/userinfo", headers=bearer).status_code == 200
    server.admin("client", "disable", app.client_id)
    refused = server.session.get(f"{AUTH}/userinfo", headers=bearer)
    assert (
        refused.status_code == 401
        and 'error="invalid_token"' in refused.headers["www-authenticate"]
    )
