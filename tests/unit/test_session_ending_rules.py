"""Ending sessions, as fast unit tests over the real services and a real SQLite store (no
HTTP): `/end_session`'s rules (oauth/end_session.py), `/revoke_session`'s
(oauth/session_revocation.py), the config API's session resource (configapi/sessions.py)
and global token revocation ending browser sessions. The HTTP and browser side is in
tests/integration/test_sign_out.py."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.harness import ADMIN_CALLER, Harness
from tokenrevoke.configapi import sessions as session_admin
from tokenrevoke.configapi.clients import create_client
from tokenrevoke.configapi.errors import ApiError
from tokenrevoke.crypto import new_grant_id, new_id, new_token, sha256_hex
from tokenrevoke.model import AuditEvent, AuthMethod, Client, TokenRecord, TokenType, User
from tokenrevoke.model.scope_ids import REVOKE_SESSION
from tokenrevoke.oauth.end_session import LogoutOutcome, LogoutRequest
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.oauth.global_revocation import end_user
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.sessions import SessionService

LOGOUT_URI = "https://rp.example/signed-out"
URI_REFUSED = "post_logout_uri_not_associated_with_client"


class World:
    """A user with two browser sessions, a relying party, and tokens in each session."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.sessions = SessionService(h.rt.store, h.rt.config)
        self.rp = self.client("rp", postLogoutRedirectUris=[LOGOUT_URI])
        self.alice = h.user("alice", "alice's long password")
        self.bob = h.user("bob", "bob's long password")

    def client(self, name: str, **extra: Any) -> Client:
        spec = Client("", name, grant_types=["authorization_code"], extra=extra)
        created, _ = self.h.run(create_client(self.h.rt.store, self.h.rt.box, spec))
        self.h.run(self.h.rt.refresh())
        return created

    def sign_in(self, user: User) -> tuple[str, str]:
        """A new browser session of the user: (sid, cookie)."""
        signed = self.h.run(self.sessions.sign_in(user, int(time.time()), None))
        return signed.session.sid, signed.cookie

    def tokens_in(self, sid: str, user: User, client: Client | None = None) -> str:
        """An access token issued in the session (as the code grant issues them)."""
        raw = new_token()
        self._insert(raw, TokenType.ACCESS_TOKEN, client or self.rp, user, sid, 3600)
        return raw

    def id_token(
        self, sid: str | None, user: User, client: Client | None = None, *, lifetime: int = 3600,
        stored: bool = True, typ: str = "JWT",
    ) -> str:  # fmt: skip
        client = client or self.rp
        now = int(time.time())
        claims = {"iss": self.h.rt.config()["issuer"], "sub": user.inum, "aud": client.client_id,
                  "iat": now - 1, "exp": now + lifetime, "jti": new_id()}  # fmt: skip
        if sid is not None:
            claims["sid"] = sid
        token = self.h.rt.keys.sign(claims, typ=typ)
        if stored:
            self._insert(token, TokenType.ID_TOKEN, client, user, sid, lifetime)
        return token

    def _insert(
        self, raw: str, kind: TokenType, client: Client, user: User, sid: str | None, ttl: int
    ) -> None:
        now = int(time.time())
        record = TokenRecord(
            code=sha256_hex(raw), grant_id=new_grant_id(), client_id=client.client_id,
            token_type=kind, grant_type="authorization_code", created_at=now,
            expires_at=now + ttl, user_id=user.inum, user_dn=user.dn, session_id=sid,
        )  # fmt: skip
        self.h.run(self.h.rt.store.insert_tokens([record]))

    def end(
        self, cookie: str | None = None, confirmed: bool = False, **params: str
    ) -> LogoutOutcome:
        service = self.h.rt.end_session
        browser = self.h.run(service.browser_session(cookie))
        outcome: LogoutOutcome = self.h.run(
            service.end(LogoutRequest.parse(params), browser, confirmed)
        )
        return outcome

    def live(self, sid: str) -> bool:
        session = self.h.run(self.h.rt.store.get_session(sid))
        return bool(session is not None and session.is_live(int(time.time())))


@pytest.fixture
def w(h: Harness) -> World:
    return World(h)


def refused(w: World, error: str, status: int = 400, **kwargs: Any) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        w.end(**kwargs)
    assert (caught.value.status, caught.value.error) == (status, error), caught.value
    return caught.value


# -- /end_session -----------------------------------------------------------------------
def test_logout_ends_exactly_the_hinted_session_and_redirects_with_state(w: World) -> None:
    s1, cookie1 = w.sign_in(w.alice)
    s2, _ = w.sign_in(w.alice)  # the same user in another browser
    in_s1, in_s2 = w.tokens_in(s1, w.alice), w.tokens_in(s2, w.alice)
    hint = w.id_token(s1, w.alice)
    outcome = w.end(cookie1, id_token_hint=hint, post_logout_redirect_uri=LOGOUT_URI, state="xyz")
    assert outcome.ended == (s1,) and outcome.revoked == 2  # its access and id tokens
    assert outcome.redirect_to == LOGOUT_URI + "?state=xyz" and outcome.clear_cookie
    assert not w.live(s1) and w.live(s2)
    assert not w.h.active(in_s1) and w.h.active(in_s2)
    audit = [a for a in w.h.run(w.h.rt.store.list_audit()) if a["action"] == "end_session"]
    assert [(a["actor"], a["details"]["sessionId"]) for a in audit] == [
        (f"client:{w.rp.client_id}", s1)
    ]
    # Logging out again (a reload, a second RP) is no error: nothing is left to end.
    again = w.end(id_token_hint=hint, post_logout_redirect_uri=LOGOUT_URI)
    assert again.ended == () and again.redirect_to == LOGOUT_URI


def test_a_hint_works_without_the_browser_and_keeps_the_uri_query(w: World) -> None:
    rp = w.client("rp-query", postLogoutRedirectUris=["https://rp.example/out?lang=en"])
    sid, _ = w.sign_in(w.alice)
    outcome = w.end(
        id_token_hint=w.id_token(sid, w.alice, rp),
        post_logout_redirect_uri="https://rp.example/out?lang=en",
        state="a b&c",
    )
    assert outcome.ended == (sid,)
    assert outcome.redirect_to == "https://rp.example/out?lang=en&state=a+b%26c"


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example/",  # an open redirect
        LOGOUT_URI + "/",  # not exactly the registered one
        LOGOUT_URI + "?next=https://evil.example/",
        LOGOUT_URI + "#frag",
        LOGOUT_URI.upper(),
        "https://rp.example.evil.example/signed-out",  # a lookalike host
        "https://rp.example/signed-out/../../evil",
        "//evil.example/",
        "javascript:alert(1)",
    ],
)
def test_an_unregistered_post_logout_uri_is_refused_and_nothing_ends(w: World, uri: str) -> None:
    sid, cookie = w.sign_in(w.alice)
    in_session = w.tokens_in(sid, w.alice)
    error = refused(
        w,
        "post_logout_uri_not_associated_with_client",
        cookie=cookie,
        id_token_hint=w.id_token(sid, w.alice),
        post_logout_redirect_uri=uri,
    )
    assert "registered" in error.description
    assert w.live(sid) and w.h.active(in_session)


def test_a_registered_fragment_or_script_uri_is_never_redirected_to(w: World) -> None:
    """Registered by mistake, still refused: a fragment, or a scheme that runs in the page."""
    dangerous = ["javascript:alert(document.cookie)", "data:text/html,hi", LOGOUT_URI + "#x"]
    rp = w.client("careless", postLogoutRedirectUris=dangerous)
    sid, _ = w.sign_in(w.alice)
    for uri in dangerous:
        refused(w, URI_REFUSED, id_token_hint=w.id_token(sid, w.alice, rp),
                post_logout_redirect_uri=uri)  # fmt: skip
    assert w.live(sid)


def test_the_uri_of_another_client_is_refused(w: World) -> None:
    other = w.client("other", postLogoutRedirectUris=["https://other.example/bye"])
    sid, _ = w.sign_in(w.alice)
    theirs = "https://other.example/bye"
    hint = w.id_token(sid, w.alice)
    refused(w, URI_REFUSED, id_token_hint=hint, post_logout_redirect_uri=theirs)
    # Naming the other client beside a hint issued to the RP does not help either.
    refused(w, "invalid_request", id_token_hint=hint, client_id=other.client_id,
            post_logout_redirect_uri=theirs)  # fmt: skip
    assert w.live(sid)


def test_a_uri_needs_a_hint_or_a_client_id(w: World) -> None:
    sid, cookie = w.sign_in(w.alice)
    refused(w, "invalid_request", cookie=cookie, post_logout_redirect_uri=LOGOUT_URI)
    refused(w, "post_logout_uri_not_associated_with_client", cookie=cookie,
            client_id="no-such-client", post_logout_redirect_uri=LOGOUT_URI)  # fmt: skip
    assert w.live(sid)


def forged(w: World, sid: str) -> list[str]:
    """ID tokens this server did not issue, in the ways one may be forged."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    genuine = w.id_token(sid, w.alice)
    header, payload, signature = genuine.split(".")
    kid = jwt.get_unverified_header(genuine)["kid"]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    other_payload = jwt.encode({**claims, "sub": w.bob.inum}, "k" * 32).split(".")[1]
    return [
        jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": kid}),  # another key
        jwt.encode(
            claims, "secret-secret-secret-secret-1234", algorithm="HS256", headers={"kid": kid}
        ),  # fmt: skip  (alg confusion)
        jwt.encode(claims, None, algorithm="none"),  # unsigned
        f"{header}.{other_payload}.{signature}",  # a payload swapped under a real signature
        "not.a.jwt",
        w.id_token(sid, w.alice, stored=False),  # well signed, but never issued (unstored)
        w.id_token(sid, w.alice, typ="at+jwt"),  # a JWT access token of ours
    ]


def test_a_forged_id_token_hint_ends_nothing(w: World) -> None:
    sid, cookie = w.sign_in(w.alice)
    in_session = w.tokens_in(sid, w.alice)
    for hint in forged(w, sid):
        refused(w, "invalid_grant_and_session", cookie=cookie, id_token_hint=hint,
                post_logout_redirect_uri=LOGOUT_URI)  # fmt: skip
    assert w.live(sid) and w.h.active(in_session)


def test_a_hint_of_another_session_than_the_browsers_is_refused(w: World) -> None:
    s1, _ = w.sign_in(w.alice)
    s2, cookie2 = w.sign_in(w.bob)
    refused(w, "invalid_request", cookie=cookie2, id_token_hint=w.id_token(s1, w.alice))
    refused(w, "invalid_request", id_token_hint=w.id_token(s1, w.alice), sid=s2)
    assert w.live(s1) and w.live(s2)


def test_without_a_hint_the_user_confirms_first(w: World) -> None:
    sid, cookie = w.sign_in(w.alice)
    asked = w.end(cookie, client_id=w.rp.client_id, post_logout_redirect_uri=LOGOUT_URI)
    assert asked.confirm and asked.ended == () and not asked.clear_cookie
    assert asked.client_name == "rp" and w.live(sid)
    done = w.end(cookie, confirmed=True, client_id=w.rp.client_id,
                 post_logout_redirect_uri=LOGOUT_URI, state="s")  # fmt: skip
    assert done.ended == (sid,) and done.redirect_to == LOGOUT_URI + "?state=s"
    audit = [a for a in w.h.run(w.h.rt.store.list_audit()) if a["action"] == "end_session"]
    assert audit[-1]["actor"] == f"user:{w.alice.inum}"


def test_a_browser_without_a_session_is_simply_signed_out(w: World) -> None:
    outcome = w.end(None, client_id=w.rp.client_id, post_logout_redirect_uri=LOGOUT_URI)
    assert not outcome.confirm and outcome.ended == () and outcome.redirect_to == LOGOUT_URI
    refused(w, "invalid_grant_and_session", sid="no-such-session")


def test_expired_hints_are_accepted_unless_configured_not_to_be(w: World) -> None:
    sid, _ = w.sign_in(w.alice)
    expired = w.id_token(sid, w.alice, lifetime=-5)
    purged = w.id_token(sid, w.alice, lifetime=-5, stored=False)  # its row purged since
    w.h.set(rejectEndSessionIfIdTokenExpired=True)
    refused(w, "invalid_grant_and_session", id_token_hint=expired)
    w.h.set(rejectEndSessionIfIdTokenExpired=False)
    assert w.end(id_token_hint=purged).ended == (sid,)
    assert w.end(id_token_hint=expired).ended == ()


def test_flags_and_properties_gate_it(w: World) -> None:
    sid, cookie = w.sign_in(w.alice)
    w.h.set(forceIdTokenHintPresence=True)
    refused(w, "invalid_request", cookie=cookie)
    w.h.set(forceIdTokenHintPresence=False, featureFlags=["REVOKE_TOKEN"])
    refused(w, "access_denied", 403, id_token_hint=w.id_token(sid, w.alice))
    assert w.live(sid)


@pytest.mark.parametrize(
    "params",
    [
        {"state": "x" * 2049},
        {"id_token_hint": "x" * 16385},
        {"sid": "a", "session_id": "b"},
    ],
)
def test_malformed_parameters_are_invalid_request(params: dict[str, str]) -> None:
    with pytest.raises(OAuthError) as caught:
        LogoutRequest.parse(params)
    assert (caught.value.status, caught.value.error) == (400, "invalid_request")


# -- /revoke_session --------------------------------------------------------------------
def revoke_session(w: World, client: Client, secret: str | None, **params: str) -> Any:
    request = OAuthRequest(params, w.h.basic(client, secret))
    return w.h.run(w.h.rt.session_revocation.revoke(request))


def test_revoke_session_ends_every_session_of_the_user_at_every_client(w: World) -> None:
    admin, secret = w.h.client("backend", REVOKE_SESSION)
    other_rp = w.client("rp2")
    s1, _ = w.sign_in(w.alice)
    s2, _ = w.sign_in(w.alice)
    s3, _ = w.sign_in(w.bob)
    tokens = [w.tokens_in(s1, w.alice), w.tokens_in(s2, w.alice, other_rp)]
    bobs = w.tokens_in(s3, w.bob)
    outcome = revoke_session(w, admin, secret, user_criterion_key="uid",
                             user_criterion_value="alice")  # fmt: skip
    assert sorted(outcome.sessions) == sorted([s1, s2]) and outcome.revoked == 2
    assert [w.live(s) for s in (s1, s2, s3)] == [False, False, True]
    assert [w.h.active(t) for t in (*tokens, bobs)] == [False, False, True]
    # An unknown user is no error (no user enumeration), and ends nothing.
    nobody = revoke_session(w, admin, secret, user_criterion_key="mail",
                            user_criterion_value="nobody@example.org")  # fmt: skip
    assert nobody.user_id is None and w.live(s3)


def test_revoke_session_needs_the_scope_the_flag_and_a_criterion(w: World) -> None:
    plain, plain_secret = w.h.client("plain")
    admin, secret = w.h.client("backend", REVOKE_SESSION)
    public, _ = w.h.client(
        "spa", REVOKE_SESSION, method=AuthMethod.NONE, grants=("authorization_code",)
    )
    sid, _ = w.sign_in(w.alice)
    criterion = {"user_criterion_key": "uid", "user_criterion_value": "alice"}
    with pytest.raises(OAuthError) as caught:
        revoke_session(w, plain, plain_secret, **criterion)
    assert (caught.value.status, caught.value.error) == (403, "insufficient_scope")
    with pytest.raises(OAuthError) as caught:
        w.h.run(w.h.rt.session_revocation.revoke(OAuthRequest(
            {**criterion, "client_id": public.client_id}, None)))  # fmt: skip
    assert caught.value.status == 401
    for bad in ({}, {"user_criterion_key": "uid"}, {"user_criterion_key": "phone",
                 "user_criterion_value": "1"}):  # fmt: skip
        with pytest.raises(OAuthError) as caught:
            revoke_session(w, admin, secret, **bad)
        assert (caught.value.status, caught.value.error) == (400, "invalid_request")
    w.h.set(featureFlags=["REVOKE_TOKEN"])
    with pytest.raises(OAuthError) as caught:
        revoke_session(w, admin, secret, **criterion)
    assert caught.value.status == 403 and caught.value.error == "access_denied"
    assert w.live(sid)


# -- the config API's session resource, global token revocation ------------------------
def test_admin_lists_reads_and_ends_sessions(w: World) -> None:
    s1, _ = w.sign_in(w.alice)
    s2, _ = w.sign_in(w.alice)
    w.sign_in(w.bob)
    in_s1 = w.tokens_in(s1, w.alice)
    store = w.h.rt.store
    found = w.h.run(session_admin.search(store, {"fieldValuePair": f"userDn={w.alice.dn}"}))
    assert found["totalEntriesCount"] == 2
    assert {e["id"] for e in found["entries"]} == {s1, s2}
    assert {e["state"] for e in found["entries"]} == {"authenticated"}
    assert w.h.run(session_admin.get(store, s1))["userDn"] == w.alice.dn
    w.h.run(session_admin.end(store, s1, ADMIN_CALLER))
    assert not w.h.active(in_s1) and not w.live(s1) and w.live(s2)
    assert w.h.run(session_admin.get(store, s1))["state"] == "ended"
    live_only = {"fieldValuePair": "userDn=alice,state=authenticated"}  # a uid does too
    assert [e["id"] for e in w.h.run(session_admin.search(store, live_only))["entries"]] == [s2]
    w.h.run(session_admin.end_user(store, w.alice.inum, ADMIN_CALLER))
    assert not w.live(s2)
    for call in (
        session_admin.end(store, s1, ADMIN_CALLER),  # already ended
        session_admin.end(store, "no-such-sid", ADMIN_CALLER),
        session_admin.end_user(store, "nobody", ADMIN_CALLER),
        session_admin.get(store, "no-such-sid"),
    ):
        with pytest.raises(ApiError) as caught:
            w.h.run(call)
        assert caught.value.status == 404
    with pytest.raises(ApiError) as caught:
        w.h.run(session_admin.search(store, {}))
    assert caught.value.status == 400


def test_global_token_revocation_ends_the_browser_sessions(w: World) -> None:
    s1, cookie = w.sign_in(w.alice)
    s2, _ = w.sign_in(w.bob)
    audit = AuditEvent("global_revoke", "client:test", "global_token_revocation")
    revoked, sessions = w.h.run(end_user(w.h.rt.store, w.alice.inum, audit, int(time.time())))
    assert s1 in sessions and not w.live(s1) and w.live(s2)
    # The cookie no longer names a live session: the next /authorize asks for the password.
    assert w.h.run(w.sessions.find(cookie, int(time.time()))) is None
