"""Stateful property test of the token lifecycle against a simple model.

Hypothesis drives random sequences of client_credentials and password grants, refreshes,
revocations in every form (one token, with a hint, a space-separated list, `token=all` and
`token_type_hint=all` with allowAllValueForRevokeEndpoint, another client's token: 400),
introspection and the config API's revoke, over the real services and a real store
(SQLite, and PostgreSQL), no HTTP. The model is the set of tokens and which of them are
revoked. After every step the store agrees with the model; so:
- a revoked token never comes back (introspection and refresh refuse it for good);
- nothing else changes: the other grants and the other client keep every token;
- unknown tokens always get 200 at /revoke, and nothing changes.

Each example gets two fresh clients on a store shared by the test's examples (opening a
runtime costs a signing key), so examples cannot see each other's tokens.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support.harness import Harness
from tests.support.postgres import throwaway_database
from tokenrevoke.configapi.errors import ApiError
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import Client
from tokenrevoke.oauth.errors import OAuthError

USERNAME, PASSWORD = "model-user", "model-user-password"
GRANTS = ("client_credentials", "password", "refresh_token")
# Hints and how they select: access_token/tx_token only access tokens, anything else all.
HINTS = [None, "access_token", "refresh_token", "tx_token", "id_token", "bogus", ""]
ACCESS_HINTS = {"access_token", "tx_token"}
# Tokens nobody was issued; "all" (any case) is not unknown with allowAllValueForRevokeEndpoint.
UNKNOWN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~", min_size=1
).filter(lambda t: t.lower() != "all")
EXAMPLES = {"sqlite": 80, "postgres": 30}
STEPS = 30
_names = itertools.count()


@dataclass
class Token:
    raw: str
    owner: int  # index of the client it was issued to
    grant: int
    kind: str  # "access" or "refresh"


@dataclass
class Model:
    tokens: list[Token] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    # The latest refresh token of each password grant (the one a client would present).
    refresh: dict[int, Token] = field(default_factory=dict)

    def live(self, token: Token) -> bool:
        return token.raw not in self.revoked

    def revoke_grant(self, grant: int) -> None:
        self.revoked |= {t.raw for t in self.tokens if t.grant == grant}


def machine(h: Harness) -> type[RuleBasedStateMachine]:
    class TokenLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = Model()
            self.clients: list[tuple[Client, str]] = []
            self.grants = itertools.count()

        @initialize()
        def two_clients(self) -> None:
            for _ in range(2):
                client, secret = h.client(f"model-{next(_names)}", grants=GRANTS)
                assert secret is not None
                self.clients.append((client, secret))

        # -- helpers --------------------------------------------------------------------
        def add(self, owner: int, response: dict[str, str], grant: int) -> None:
            access = Token(response["access_token"], owner, grant, "access")
            self.model.tokens.append(access)
            if "refresh_token" in response:
                refresh = Token(response["refresh_token"], owner, grant, "refresh")
                self.model.tokens.append(refresh)
                self.model.refresh[grant] = refresh

        def pick(self, data: st.DataObject) -> Token:
            return data.draw(st.sampled_from(self.model.tokens))

        def revoke(self, who: int, **params: str) -> int:
            client, secret = self.clients[who]
            return h.revoke(client, secret, **params)

        def unchanged(self, call: Callable[[], object], error: type[Exception]) -> None:
            """`call` must fail with `error` and change nothing (the invariant checks)."""
            with pytest.raises(error):
                call()

        # -- issuing --------------------------------------------------------------------
        @rule(who=st.integers(0, 1))
        def client_credentials(self, who: int) -> None:
            client, secret = self.clients[who]
            response = h.token(client, secret, grant_type="client_credentials")
            assert "refresh_token" not in response
            self.add(who, response, next(self.grants))

        @rule(who=st.integers(0, 1))
        def password(self, who: int) -> None:
            client, secret = self.clients[who]
            response = h.token(
                client, secret, grant_type="password", username=USERNAME, password=PASSWORD
            )
            self.add(who, response, next(self.grants))

        @precondition(lambda self: self.model.refresh)
        @rule(data=st.data(), as_other_client=st.booleans())
        def refresh(self, data: st.DataObject, as_other_client: bool) -> None:
            grant = data.draw(st.sampled_from(sorted(self.model.refresh)))
            old = self.model.refresh[grant]
            who = 1 - old.owner if as_other_client else old.owner
            client, secret = self.clients[who]

            def call() -> dict[str, str]:
                return h.token(client, secret, grant_type="refresh_token", refresh_token=old.raw)

            if as_other_client or not self.model.live(old):
                self.unchanged(call, OAuthError)
                return
            self.add(who, call(), grant)
            self.model.revoked.add(old.raw)  # rotation: the old refresh token is spent

        # -- revocation -----------------------------------------------------------------
        @precondition(lambda self: self.model.tokens)
        @rule(data=st.data(), who=st.integers(0, 1), hint=st.sampled_from(HINTS))
        def revoke_one(self, data: st.DataObject, who: int, hint: str | None) -> None:
            token = self.pick(data)
            params = {"token": token.raw} | ({} if hint is None else {"token_type_hint": hint})
            # The hint is only a hint (RFC 7009 section 2.1).
            matches = self.model.live(token)
            if token.owner != who:  # another client's token, live or not (no liveness oracle)
                self.unchanged(lambda: self.revoke(who, **params), OAuthError)
                return
            revoked = self.revoke(who, **params)
            if matches:
                before = len(self.model.revoked)
                self.model.revoke_grant(token.grant)
                assert revoked == len(self.model.revoked) - before
            else:
                assert revoked == 0

        @precondition(lambda self: len(self.model.tokens) >= 2)
        @rule(data=st.data(), who=st.integers(0, 1), unknown=st.lists(UNKNOWN, max_size=2))
        def revoke_list(self, data: st.DataObject, who: int, unknown: list[str]) -> None:
            tokens = data.draw(st.lists(st.sampled_from(self.model.tokens), min_size=2, max_size=5))
            raw = [t.raw for t in tokens] + unknown
            listed = " ".join(data.draw(st.permutations(raw)))
            live = [t for t in tokens if self.model.live(t)]
            if any(t.owner != who for t in tokens):  # validated as a whole: all or nothing
                self.unchanged(lambda: self.revoke(who, token=listed), OAuthError)
                return
            self.revoke(who, token=listed)
            for token in live:
                self.model.revoke_grant(token.grant)

        @rule(
            who=st.integers(0, 1),
            form=st.sampled_from(
                [
                    {"token": "all"},
                    {"token": "ALL"},
                    {"token": "anything", "token_type_hint": "all"},
                    {"token": "all", "token_type_hint": "ALL"},
                    {"token": "all", "token_type_hint": "refresh_token"},
                    {"token": "all", "token_type_hint": "access_token"},
                    {"token": "all", "token_type_hint": "bogus"},
                ]
            ),
        )
        def revoke_all(self, who: int, form: dict[str, str]) -> None:
            hint = form.get("token_type_hint", "")
            kinds = {"refresh_token": {"refresh"}, "access_token": {"access"}}.get(
                hint, {"access", "refresh"}
            )
            self.revoke(who, **form)
            self.model.revoked |= {
                t.raw for t in self.model.tokens if t.owner == who and t.kind in kinds
            }

        @rule(who=st.integers(0, 1), tokens=st.lists(UNKNOWN, min_size=1, max_size=3))
        def revoke_unknown(self, who: int, tokens: list[str]) -> None:
            assert self.revoke(who, token=" ".join(tokens)) == 0

        @precondition(lambda self: self.model.tokens)
        @rule(data=st.data(), by_code=st.booleans())
        def config_api_revoke(self, data: st.DataObject, by_code: bool) -> None:
            token = self.pick(data)
            key = sha256_hex(token.raw) if by_code else token.raw
            if not self.model.live(token):
                self.unchanged(lambda: h.admin_revoke(key), ApiError)  # 404
                return
            h.admin_revoke(key)
            self.model.revoke_grant(token.grant)

        # -- reading --------------------------------------------------------------------
        @precondition(lambda self: self.model.tokens)
        @rule(data=st.data())
        def introspect(self, data: st.DataObject) -> None:
            token = self.pick(data)
            claims = h.introspect(token.raw)
            assert claims["active"] is self.model.live(token)
            if claims["active"]:
                assert claims["client_id"] == self.clients[token.owner][0].client_id
            else:
                assert claims == {"active": False}

        @invariant()
        def the_store_agrees_with_the_model(self) -> None:
            """One batch read per step; introspection is checked token by token at the end
            (and at random by the `introspect` rule)."""
            if not self.model.tokens:
                return
            codes = {sha256_hex(t.raw): t for t in self.model.tokens}
            records = {r.code: r for r in h.run(h.rt.store.get_tokens(list(codes)))}
            now = int(time.time())
            wrong = [
                (t.kind, t.owner, "revoked" if t.raw in self.model.revoked else "live")
                for code, t in codes.items()
                if records[code].is_live(now) == (t.raw in self.model.revoked)
            ]
            assert wrong == [], wrong

        def teardown(self) -> None:
            for token in self.model.tokens:
                assert h.active(token.raw) is self.model.live(token), token

    return TokenLifecycle


@pytest.fixture(params=["sqlite", "postgres"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Harness]]:
    def opened(url: str | None) -> Harness:
        h = Harness(tmp_path, database_url=url)
        h.set(allowAllValueForRevokeEndpoint=True, introspectionSkipAuthorization=True)
        h.user(USERNAME, PASSWORD)
        return h

    if request.param == "sqlite":
        h = opened(None)
        try:
            yield "sqlite", h
        finally:
            h.close()
        return
    with throwaway_database("tokenrevoke_model") as url:
        h = opened(url)
        try:
            yield "postgres", h
        finally:
            h.close()


def test_token_lifecycle_matches_the_model(harness: tuple[str, Harness]) -> None:
    backend, h = harness
    run_state_machine_as_test(
        machine(h),
        settings=settings(
            max_examples=EXAMPLES[backend],
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        ),
    )
