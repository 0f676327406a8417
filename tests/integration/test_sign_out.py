"""Ending sessions through a real server, over HTTP: RP-initiated logout (`/end_session`),
Janssen's `/revoke_session`, global token revocation forcing a new sign-in, the config
API's and the CLI's session commands, and the hostile inputs each must refuse. The
"browser" is httpx with a cookie jar that fills in forms (tests/support/browser.py); the
real Chromium flows are in test_browser_sign_in.py. Rules in detail, without HTTP:
tests/unit/test_session_ending_rules.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.browser import Browser, exchange, forms, params_of, pkce_pair
from tests.support.server import AUTH, Client, Server, admin_cli
from tokenrevoke.model.scope_ids import CONFIG

USER, PASSWORD = "signout-alice", "a long password for alice"
OTHER_USER, OTHER_PASSWORD = "signout-bob", "a long password for bob"
APP = "https://rp.example/callback"  # never fetched: the tests read the redirects
LOGOUT = "https://rp.example/signed-out"
APP2 = "https://rp2.example/callback"
END_SESSION = f"{AUTH}/end_session"


@pytest.fixture(scope="module")
def rp(server: Server) -> Client:
    server.create_user(USER, PASSWORD)
    server.create_user(OTHER_USER, OTHER_PASSWORD)
    return server.create_client(
        "--name", "Relying party", "--grant-type", "authorization_code",
        "--grant-type", "refresh_token", "--scope", "openid", "--scope", "profile",
        "--redirect-uri", APP, "--post-logout-redirect-uri", LOGOUT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def rp2(server: Server) -> Client:
    """Another application the same users sign in to."""
    return server.create_client(
        "--name", "Second app", "--grant-type", "authorization_code",
        "--scope", "openid", "--redirect-uri", APP2,
    )  # fmt: skip


@pytest.fixture(scope="module")
def backend(server: Server) -> Client:
    """A back end allowed to end users' sessions (Janssen's revoke_session scope)."""
    return server.create_client("--name", "Session killer", "--scope", "revoke_session")


@dataclass
class SignedIn:
    browser: Browser
    tokens: dict[str, Any]

    @property
    def session_cookie(self) -> str | None:
        return self.browser.http.cookies.get("session_id")


def sign_in(
    server: Server, client: Client, redirect: str = APP, user: str = USER,
    password: str = PASSWORD, browser: Browser | None = None,
) -> SignedIn:  # fmt: skip
    """A browser signs in through the page; the app exchanges the code (PKCE)."""
    browser = browser or Browser(server)
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect,
              "scope": "openid profile", "state": "st", "nonce": "n", "code_challenge": challenge,
              "code_challenge_method": "S256"}  # fmt: skip
    page = browser.authorize(**params)
    if page.status_code == 200:  # the sign-in page; a live session goes straight back (303)
        page = browser.submit(page, username=user, password=password)
    assert page.status_code == 303, page.text
    code = params_of(page.headers["location"])["code"]
    answer = exchange(server, code, redirect, client.basic, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    return SignedIn(browser, answer.json())


def asks_for_password(server: Server, browser: Browser, client: Client) -> bool:
    """Whether /authorize shows the sign-in page (True) or signs straight in (False)."""
    _, challenge = pkce_pair()
    page = browser.authorize(response_type="code", client_id=client.client_id,
                             redirect_uri=APP, scope="openid", code_challenge=challenge,
                             code_challenge_method="S256")  # fmt: skip
    assert page.status_code in (200, 303), page.text
    return page.status_code == 200 and 'name="password"' in page.text


def live(server: Server, signed: SignedIn) -> list[bool]:
    """Whether its access and refresh tokens are active (those it was given)."""
    kinds = [k for k in ("access_token", "refresh_token") if k in signed.tokens]
    return [server.active(signed.tokens[k]) for k in kinds]


def cleared(response: httpx.Response) -> bool:
    """The answer deletes the session cookie."""
    return any(
        c.startswith("session_id=") and ("max-age=0" in c.lower() or "expires=" in c.lower())
        for c in response.headers.get_list("set-cookie")
    )


def audit(server: Server) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(server.cli("audit", "--json").stdout)
    return records


# -- RP-initiated logout ------------------------------------------------------------------
def test_logout_revokes_exactly_that_session(server: Server, rp: Client) -> None:
    first = sign_in(server, rp)
    second = sign_in(server, rp)  # the same user, another browser
    try:
        hint = first.tokens["id_token"]
        answer = first.browser.http.get(
            END_SESSION,
            params={"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT, "state": "bye"},
        )
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"] == LOGOUT + "?state=bye"
        assert cleared(answer) and answer.headers["cache-control"] == "no-store"
        assert live(server, first) == [False, False]
        assert live(server, second) == [True, True]  # the user's other session is left alone
        assert asks_for_password(server, first.browser, rp)
        assert not asks_for_password(server, second.browser, rp)
        ended = [a for a in audit(server) if a["action"] == "end_session"]
        assert ended[0]["actor"] == f"client:{rp.client_id}" and ended[0]["count"] >= 2
        # Logging out again is no error: nothing is left to end.
        again = first.browser.http.get(END_SESSION, params={"id_token_hint": hint})
        assert again.status_code == 200 and "signed out" in again.text
    finally:
        first.browser.close()
        second.browser.close()


def test_without_a_hint_the_user_confirms_on_a_csrf_protected_form(
    server: Server, rp: Client
) -> None:
    signed = sign_in(server, rp)
    try:
        http = signed.browser.http
        params = {"client_id": rp.client_id, "post_logout_redirect_uri": LOGOUT, "state": "s1"}
        page = http.get(END_SESSION, params=params)
        assert page.status_code == 200 and "Sign out?" in page.text and "Relying party" in page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        (form,) = forms(page.text)
        assert form.method == "post" and form.fields["csrf_token"]
        # Another site's page can post the form, but cannot know the token.
        token = form.fields["csrf_token"]
        altered = token[:-1] + ("1" if token.endswith("0") else "0")
        for forged in ("", "0" * 64, altered):
            answer = http.post(END_SESSION, data={**form.fields, "csrf_token": forged})
            assert answer.status_code == 200 and "Sign out?" in answer.text
            assert live(server, signed) == [True, True]
        answer = http.post(END_SESSION, data=form.fields)
        assert answer.status_code == 302 and answer.headers["location"] == LOGOUT + "?state=s1"
        assert cleared(answer) and live(server, signed) == [False, False]
    finally:
        signed.browser.close()


@pytest.mark.parametrize(
    "params",
    [
        {"post_logout_redirect_uri": "https://evil.example/"},
        {"post_logout_redirect_uri": LOGOUT + ".evil.example"},
        {"post_logout_redirect_uri": LOGOUT + "?next=https://evil.example/"},
        {"post_logout_redirect_uri": APP},  # registered, but as a sign-in redirect only
        {"post_logout_redirect_uri": "//evil.example/"},
    ],
)
def test_open_redirects_are_refused_and_nothing_ends(
    server: Server, rp: Client, params: dict[str, str]
) -> None:
    signed = sign_in(server, rp)
    try:
        answer = signed.browser.http.get(
            END_SESSION, params={"id_token_hint": signed.tokens["id_token"], **params}
        )
        assert answer.status_code == 400 and "location" not in answer.headers
        assert answer.json()["error"] == "post_logout_uri_not_associated_with_client"
        assert not cleared(answer) and live(server, signed) == [True, True]
    finally:
        signed.browser.close()


def test_forged_or_foreign_hints_are_refused(server: Server, rp: Client, rp2: Client) -> None:
    signed = sign_in(server, rp)
    other = sign_in(server, rp2, APP2, OTHER_USER, OTHER_PASSWORD)
    try:
        hint = signed.tokens["id_token"]
        head, body, signature = hint.split(".")
        for forged in (f"{head}.{body}.{signature[::-1]}", f"{head}.{body}.", "x.y.z",
                       signed.tokens["access_token"]):  # fmt: skip
            answer = signed.browser.http.get(END_SESSION, params={"id_token_hint": forged})
            assert answer.status_code == 400
            assert answer.json()["error"] == "invalid_grant_and_session"
        # Bob's id_token in Alice's browser: another session than the browser's.
        answer = signed.browser.http.get(
            END_SESSION, params={"id_token_hint": other.tokens["id_token"]}
        )
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
        # A hint issued to rp2 cannot return to rp's URI.
        answer = other.browser.http.get(
            END_SESSION, params={"id_token_hint": other.tokens["id_token"],
                                 "post_logout_redirect_uri": LOGOUT},
        )  # fmt: skip
        assert answer.json()["error"] == "post_logout_uri_not_associated_with_client"
        assert live(server, signed) == [True, True] and live(server, other)[0]
    finally:
        signed.browser.close()
        other.browser.close()


# -- /revoke_session, global token revocation ------------------------------------------
def test_revoke_session_ends_every_session_of_the_user_at_every_client(
    server: Server, rp: Client, rp2: Client, backend: Client
) -> None:
    at_rp = sign_in(server, rp)
    at_rp2 = sign_in(server, rp2, APP2)
    bobs = sign_in(server, rp, user=OTHER_USER, password=OTHER_PASSWORD)
    try:
        criterion = {"user_criterion_key": "uid", "user_criterion_value": USER}
        with server.http() as http:
            refused = http.post(f"{AUTH}/revoke_session", data=criterion, auth=rp.basic)
            assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
            assert live(server, at_rp)[0]
            answer = http.post(f"{AUTH}/revoke_session", data=criterion, auth=backend.basic)
            assert answer.status_code == 200 and answer.content == b""
            unknown = {"user_criterion_key": "uid", "user_criterion_value": "nobody-at-all"}
            assert http.post(f"{AUTH}/revoke_session", data=unknown,
                             auth=backend.basic).status_code == 200  # fmt: skip
        assert live(server, at_rp) == [False, False]
        assert not server.active(at_rp2.tokens["access_token"])
        assert live(server, bobs) == [True, True]
        assert asks_for_password(server, at_rp.browser, rp)
        assert not asks_for_password(server, bobs.browser, rp)
    finally:
        for signed in (at_rp, at_rp2, bobs):
            signed.browser.close()


def test_global_token_revocation_forces_a_new_sign_in(server: Server, rp: Client) -> None:
    revoker = server.create_client("--name", "Global revoker", "--scope",
                                   "global_token_revocation")  # fmt: skip
    signed = sign_in(server, rp)
    try:
        assert not asks_for_password(server, signed.browser, rp)  # single sign-on, so far
        with server.http() as http:
            answer = http.post(f"{AUTH}/global-token-revocation", auth=revoker.basic,
                               json={"sub_id": {"format": "uid", "id": USER}})  # fmt: skip
        assert answer.status_code == 204, answer.text
        assert live(server, signed) == [False, False]
        assert asks_for_password(server, signed.browser, rp)
    finally:
        signed.browser.close()


# -- the admin's way: config API and CLI -------------------------------------------------
def test_admin_lists_and_ends_a_users_sessions(server: Server, rp: Client) -> None:
    first, second = sign_in(server, rp), sign_in(server, rp)
    try:
        listed = json.loads(server.cli("session", "list", USER, "--live", "--json").stdout)
        sids = {s["id"] for s in listed}
        assert len(sids) >= 2 and all(s["state"] == "authenticated" for s in listed)
        table = server.cli("session", "list", USER).stdout
        assert "live" in table and "sessions" in table
        # Which session is the first browser's: its id_token's sid.
        from jwt import decode

        sid = decode(first.tokens["id_token"], options={"verify_signature": False})["sid"]
        assert sid in sids
        server.cli("session", "end", sid)
        assert live(server, first) == [False, False] and live(server, second) == [True, True]
        shown = json.loads(server.cli("session", "show", sid, "--json").stdout)
        assert shown["state"] == "ended" and shown["userDn"].startswith("inum=")
        again = server.cli("session", "end", sid, check=False)
        assert again.returncode == 1 and "already ended" in again.stderr
        said = server.cli("session", "end-user", USER).stdout
        assert "ended" in said and live(server, second) == [False, False]
        assert json.loads(server.cli("session", "list", USER, "--live", "--json").stdout) == []
        unknown = server.cli("session", "end-user", "nobody-at-all", check=False)
        assert unknown.returncode == 1 and "no user" in unknown.stderr
    finally:
        first.browser.close()
        second.browser.close()


def test_discovery_and_flags(server: Server) -> None:
    doc = server.discovery()
    assert doc["end_session_endpoint"] == f"{server.url}{END_SESSION}"
    assert doc["session_revocation_endpoint"] == f"{server.url}{AUTH}/revoke_session"
    assert doc["frontchannel_logout_supported"] is False
    server.set_config("featureFlags", ["REVOKE_TOKEN", "INTROSPECTION", "USERINFO"])
    try:
        doc = server.discovery()
        assert "end_session_endpoint" not in doc and "session_revocation_endpoint" not in doc
        with server.http() as http:
            assert http.get(END_SESSION).status_code == 403
            answer = http.post(f"{AUTH}/revoke_session", data={}, auth=("x", "y"))
            assert answer.status_code == 401  # client authentication comes first
    finally:
        server.set_config("featureFlags", [])


# -- a real client library ------------------------------------------------------------------
def test_authlib_code_pkce_refresh_revoke_and_logout(server: Server, rp: Client) -> None:
    """Authlib's OAuth2Session as a web app's back end would use it: the authorization URL
    (PKCE S256), the code exchange, userinfo, a refresh (rotation), RFC 7009 revocation,
    then RP-initiated logout; the browser in between is the httpx one."""
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    token_url = f"{server.url}{AUTH}/token"
    oauth = OAuth2Session(
        rp.client_id, rp.secret, scope="openid profile", redirect_uri=APP,
        code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
    )  # fmt: skip
    verifier = generate_token(48)
    with oauth, Browser(server) as browser:
        uri, state = oauth.create_authorization_url(
            f"{server.url}{AUTH}/authorize", code_verifier=verifier, nonce="n-1"
        )
        asked = params_of(uri)
        assert asked["code_challenge_method"] == "S256" and "code_verifier" not in asked
        page = browser.authorize(**asked)
        answer = browser.submit(page, username=USER, password=PASSWORD)
        assert answer.status_code == 303, answer.text
        back = answer.headers["location"]
        assert params_of(back)["state"] == state
        tokens = oauth.fetch_token(token_url, authorization_response=back, code_verifier=verifier)
        assert {"access_token", "refresh_token", "id_token"} <= set(tokens)
        info = oauth.get(f"{server.url}{AUTH}/userinfo")
        assert info.status_code == 200 and info.json()["preferred_username"] == USER

        first = dict(tokens)
        renewed = oauth.refresh_token(token_url, refresh_token=first["refresh_token"])
        assert renewed["access_token"] != first["access_token"]
        assert not server.active(first["refresh_token"])  # rotated
        assert server.active(renewed["access_token"])
        # Revoking the refresh token (RFC 7009) revokes its grant: the access token too.
        oauth.revoke_token(f"{server.url}{AUTH}/revoke", renewed["refresh_token"],
                           token_type_hint="refresh_token")  # fmt: skip
        assert not server.active(renewed["refresh_token"])
        assert not server.active(renewed["access_token"])

        # The browser's session is still on: RP-initiated logout ends it.
        assert not asks_for_password(server, browser, rp)
        bye = browser.http.get(
            END_SESSION,
            params={"id_token_hint": first["id_token"], "post_logout_redirect_uri": LOGOUT},
        )
        assert bye.status_code == 302 and bye.headers["location"] == LOGOUT
        assert asks_for_password(server, browser, rp)


def test_an_admin_client_from_before_sessions_reads_and_ends_them_with_read_all(
    server: Server, rp: Client
) -> None:
    """An admin client created before the session scopes existed holds read-all and
    delete-all, which the session operations accept: the CLI asks for either."""
    old = server.create_client(
        grant_types=["client_credentials"], scopes=[CONFIG + "read-all", CONFIG + "delete-all"]
    )
    assert old.secret is not None
    signed = sign_in(server, rp)
    try:
        as_old = {"client_id": old.client_id, "client_secret": old.secret}
        listed = admin_cli(server.url, "session", "list", USER, "--live", "--json", **as_old)
        assert json.loads(listed.stdout)
        admin_cli(server.url, "session", "end-user", USER, **as_old)
        assert live(server, signed) == [False, False]
    finally:
        signed.browser.close()
