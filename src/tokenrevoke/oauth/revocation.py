"""RFC 7009 revocation with Janssen's rules (docs/janssen-compatibility.md, *Revocation, as
Janssen does it*).

Order of checks: client authentication (401, also for a bare `client_id` naming no public
client: RFC 6749 section 2.3, where Janssen answers 200 and does nothing), REVOKE_TOKEN flag
(403), blank token (400), interception scripts (veto: 200, nothing done), then revoke-all
or per-token processing. A list of tokens is validated as a whole before anything is
revoked, and revoked in one transaction.

Authority is the credential's: a Bearer access token may revoke other clients' tokens only
if it was itself granted `revoke_any_token`, and never revokes everything (revoke-all needs
the client to authenticate). `token_type_hint` is a hint (RFC 7009 section 2.1): a token
of another type is found all the same, unless `revokeTokenTypeHintRestrictsSearch` asks for
Janssen's rule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import (
    AppConfiguration,
    AuditEvent,
    Client,
    FeatureFlag,
    TokenRecord,
    TokenType,
)
from tokenrevoke.model.scope_ids import REVOKE_ANY_TOKEN
from tokenrevoke.oauth.client_auth import (
    AuthenticatedClient,
    ClientAuthenticator,
    unauthenticated,
)
from tokenrevoke.oauth.errors import OAuthError, access_denied, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.oauth.revoking import (
    Actor,
    MetricPath,
    Outcome,
    Reason,
    client_tokens,
    count,
    grants_audit,
    run,
)
from tokenrevoke.scripts.revoke_token import RevokeScriptRequest, RevokeTokenScripts
from tokenrevoke.store import StoreUnavailable
from tokenrevoke.store.base import Store

log = logging.getLogger("tokenrevoke.revoke")

MAX_TOKENS_PER_REQUEST = 1000
_ACCESS_HINTS = {"access_token": TokenType.ACCESS_TOKEN, "tx_token": TokenType.TX_TOKEN}
_ACCESS_TYPES = frozenset({TokenType.ACCESS_TOKEN, TokenType.TX_TOKEN})
# Members read once (on Python 3.11 `Enum.MEMBER` costs ~0.3 us a read): each /revoke
# uses these.
_PATH, _PATH_ALL = MetricPath.REVOKE_ENDPOINT, MetricPath.REVOKE_ENDPOINT_ALL
_REVOKE_TOKEN, _CLIENT, _REVOKE_ENDPOINT = (
    FeatureFlag.REVOKE_TOKEN,
    Actor.CLIENT,
    Reason.REVOKE_ENDPOINT,
)
_TYPE_FILTERS = {
    "access_token": TokenType.ACCESS_TOKEN,
    "refresh_token": TokenType.REFRESH_TOKEN,
    "tx_token": TokenType.TX_TOKEN,
}


@dataclass(slots=True)
class RevokeOutcome:
    revoked: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    client_id: str | None = None
    every_token: bool = False  # token=all / token_type_hint=all
    vetoed: bool = False  # an interception script stopped it

    @property
    def metric(self) -> tuple[MetricPath, Outcome]:
        """(path, outcome) for tokenrevoke_revocations_total."""
        path = _PATH_ALL if self.every_token else _PATH
        if self.vetoed:
            return path, Outcome.VETOED
        return path, Outcome.of(self.revoked)


class RevocationService:
    def __init__(
        self,
        store: Store,
        authenticator: ClientAuthenticator,
        config: Callable[[], AppConfiguration],
        scripts: RevokeTokenScripts,
    ) -> None:
        self._store = store
        self._auth = authenticator
        self._config = config
        self._scripts = scripts

    async def authenticate(self, request: OAuthRequest) -> AuthenticatedClient:
        """The client a revocation request authenticates: the first step of `revoke`,
        apart so that the web layer can narrow CORS to the client's authorized origins
        before the rest, whose errors it answers too."""
        try:
            result = await self._auth.authenticate(request, allow_bearer=True)
        except Exception as error:
            _count_failure(error)
            raise
        if not isinstance(result, AuthenticatedClient):
            # No credentials, or a client_id naming no public client: nobody authenticated
            # (RFC 6749 sections 2.3, 5.2).
            reason = "no client credentials" if result is None else "client_id without credentials"
            raise unauthenticated(request, "client authentication is required", reason)
        return result

    async def revoke(
        self, request: OAuthRequest, auth: AuthenticatedClient | None = None
    ) -> RevokeOutcome:
        """`auth`: what `authenticate` returned for this request; None authenticates here."""
        if auth is None:
            auth = await self.authenticate(request)
        try:
            outcome = await self._revoke(request, auth)
        except Exception as error:
            _count_failure(error)
            raise
        path, result = outcome.metric
        count(path, result, outcome.revoked)
        return outcome

    async def _revoke(self, request: OAuthRequest, result: AuthenticatedClient) -> RevokeOutcome:
        cfg = self._config()
        if not cfg.enabled(_REVOKE_TOKEN):
            raise access_denied("the revocation endpoint is disabled", "REVOKE_TOKEN is off")
        token = (request.param("token") or "").strip()
        if not token:
            raise invalid_request("token is required", "the token parameter is missing or blank")
        outcome = RevokeOutcome(client_id=result.client.client_id)
        if self._scripts.active:
            verdict = await self._scripts.run(self._script_request(request, result))
            outcome.headers = list(verdict.response_headers)
            if not verdict.allowed:
                outcome.vetoed = True
                log.warning(
                    "revocation by client %s stopped by script %s (%s)",
                    result.client.client_id, verdict.script, verdict.outcome,
                )  # fmt: skip
                return outcome
        hint = request.param("token_type_hint")
        # Not for public clients (unlike Janssen): their client_id is no secret, so anyone
        # could end every session of every user of the app. For them `all` is ordinary.
        if cfg.allow_all_value_for_revoke_endpoint and not result.client.is_public:
            every = (hint or "").lower() == "all" or token.lower() == "all"
            if every and result.bearer is not None:
                # A bearer token is a credential a resource server may hold: it must not end
                # every session of its client. Revoke-all takes the client's own credentials.
                raise unauthenticated(
                    request,
                    "revoking every token requires client authentication",
                    "a bearer access token may not revoke every token of its client",
                )
            if (hint or "").lower() == "all":  # case-insensitive, as Janssen treats token=all
                outcome.every_token = True
                outcome.revoked = await self._revoke_client(result, None)
                return outcome
            if token.lower() == "all":
                types = [_TYPE_FILTERS[hint]] if hint in _TYPE_FILTERS else None
                outcome.every_token = True
                outcome.revoked = await self._revoke_client(result, types)
                return outcome
        outcome.revoked = await self._revoke_tokens(result, token, hint, cfg)
        return outcome

    async def _revoke_client(self, auth: AuthenticatedClient, types: list[TokenType] | None) -> int:
        client_id = auth.client.client_id
        plan = client_tokens(
            client_id, Actor.CLIENT.of(client_id), Reason.REVOKE_ENDPOINT, types, with_types=True
        )
        return await run(self._store, plan, int(time.time()))  # counted by `revoke`

    async def _revoke_tokens(
        self, auth: AuthenticatedClient, token: str, hint: str | None, cfg: AppConfiguration
    ) -> int:
        raw = [t for t in token.split(" ") if t]
        if len(raw) > MAX_TOKENS_PER_REQUEST:
            raise invalid_request(
                f"at most {MAX_TOKENS_PER_REQUEST} tokens may be revoked at once",
                f"{len(raw)} tokens were sent",
            )
        now = int(time.time())
        plan = _GrantPlan(auth.client, auth.bearer, hint, cfg, now)
        found, revoked = await self._store.revoke_grants_of([sha256_hex(t) for t in raw], plan, now)
        if plan.refuses(found):  # then it revoked nothing
            raise invalid_request(
                "the token was not issued to this client", "token belongs to another client"
            )
        return revoked  # 0 for unknown tokens: 200 (RFC 7009 section 2.2)

    @staticmethod
    def _script_request(request: OAuthRequest, auth: AuthenticatedClient) -> RevokeScriptRequest:
        return RevokeScriptRequest(
            params=dict(request.params),
            headers=dict(request.headers or {}),
            remote_addr=request.remote_addr,
            client=auth.client,
        )


def _count_failure(error: Exception) -> None:
    if isinstance(error, StoreUnavailable):
        count(MetricPath.REVOKE_ENDPOINT, Outcome.STORE_ERROR)
    elif isinstance(error, OAuthError) and error.status not in (401, 429):
        count(MetricPath.REVOKE_ENDPOINT, Outcome.REFUSED)  # 401, 429: authentication's


class _GrantPlan:
    """Which grants the presented tokens revoke. The store runs it inside its write
    transaction (store.base.GrantPlanner), so it decides, never raises: a token of another
    client, without permission, revokes nothing, and `refuses` tells the caller so from
    the records the store returns (the ones the plan was given)."""

    def __init__(
        self,
        client: Client,
        bearer: TokenRecord | None,
        hint: str | None,
        cfg: AppConfiguration,
        now: int,
    ) -> None:
        self._client = client
        # Janssen's rule (our property): an access_token/tx_token hint finds only those.
        self._hint = hint if cfg.revoke_token_type_hint_restricts_search else None
        # The client's current scopes, and a bearer token's own grant (it is never worth
        # more than what it was granted).
        self._may_revoke_others = bool(
            cfg.allow_revoke_for_other_clients
            and REVOKE_ANY_TOKEN in client.scopes
            and (bearer is None or REVOKE_ANY_TOKEN in bearer.scope.split())
        )
        self._now = now

    def refuses(self, records: list[TokenRecord]) -> bool:
        """Another client's token is refused whether it is live, revoked or expired: the
        answer must not tell a caller whether a token it may not touch is still alive."""
        if self._may_revoke_others:
            return False
        client_id = self._client.client_id
        # A loop, not any(generator): asked twice per /revoke, mostly of one record.
        for record in records:  # noqa: SIM110
            if record.client_id != client_id:
                return True
        return False

    def __call__(self, records: list[TokenRecord]) -> tuple[set[str], AuditEvent] | None:
        if self.refuses(records):
            return None
        client_id = self._client.client_id
        matches = [r for r in records if r.is_live(self._now) and _hint_matches(r, self._hint)]
        if not matches:
            return None
        audit = grants_audit(
            _CLIENT.of(client_id), _REVOKE_ENDPOINT, client_id, matches,
            other_clients=(r.client_id for r in matches if r.client_id != client_id),
        )  # fmt: skip
        return {r.grant_id for r in matches}, audit


def _hint_matches(record: TokenRecord, hint: str | None) -> bool:
    # Janssen's rule: access_token/tx_token hints match only those types, with no
    # fallback; any other hint (or none) matches every type. Never unsupported_token_type.
    if hint in _ACCESS_HINTS:
        return record.token_type in _ACCESS_TYPES
    return True


__all__ = ["MAX_TOKENS_PER_REQUEST", "RevocationService", "RevokeOutcome"]
