"""The authorization endpoint and the sign-in it leads to: the protocol's decisions, with
no HTML (web/signin.py renders what these return, and sets the cookies).

A request that needs the user's password is shown the sign-in form; the request itself
travels in the form, sealed (AES-GCM under the master key: the browser can neither read
nor change it) and bound to this browser's pre-login cookie by the form's CSRF token, an
HMAC of that cookie's value. A form posted from elsewhere has neither the cookie
(SameSite=Lax keeps it off cross-site POSTs) nor the token, and is refused; so is a
sealed request of another browser, or an old one.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import orjson
from cryptography.exceptions import InvalidTag

from tokenrevoke.crypto import SecretBox, new_grant_id, new_id, new_token, sha256_hex
from tokenrevoke.model import AppConfiguration, Client, TokenRecord, TokenType, User
from tokenrevoke.model.session import SessionRecord
from tokenrevoke.oauth.authz_request import (
    AuthorizationRequest,
    CodeBinding,
    ErrorPage,
    Redirect,
    check_client_and_redirect,
    parse,
)
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.oauth.passwords import PasswordChecker
from tokenrevoke.oauth.sessions import SessionService, SignedIn
from tokenrevoke.store import Store

_SEAL_CONTEXT = "tokenrevoke authorization request"
_CSRF_LABEL = "tokenrevoke sign-in csrf:"
_MAX_FORM_TEXT = 4096  # a username or password longer than this is refused unread


@dataclass(frozen=True, slots=True)
class SignInForm:
    """Ask for the password (again, with `error`, after a failure)."""

    request: AuthorizationRequest
    client: Client
    status: int = 200
    error: str | None = None
    username: str = ""
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class ConsentForm:
    """prompt=consent with a live session: ask the signed-in user to allow the client."""

    request: AuthorizationRequest
    client: Client
    user: User


Outcome = ErrorPage | Redirect | SignInForm | ConsentForm


@dataclass(frozen=True, slots=True)
class Step:
    """An outcome, and the session signed into on the way (its cookie to set), if any."""

    outcome: Outcome
    signed_in: SignedIn | None = field(default=None)


def _expired_form() -> ErrorPage:
    return ErrorPage(
        403,
        "invalid_request",
        "This sign-in form has expired or was not opened in this browser. "
        "Go back to the application and sign in again.",
    )


class AuthorizationService:
    def __init__(
        self,
        store: Store,
        clients: Callable[[str], Awaitable[Client | None]],
        config: Callable[[], AppConfiguration],
        sessions: SessionService,
        passwords: PasswordChecker,
        box: SecretBox,
    ) -> None:
        self._store = store
        self._clients = clients
        self._config = config
        self._sessions = sessions
        self._passwords = passwords
        self._box = box

    # -- the authorization endpoint ---------------------------------------------------
    async def authorize(self, params: Mapping[str, str], session_cookie: str | None) -> Outcome:
        client_id = params.get("client_id")
        client = await self._clients(client_id) if client_id else None
        cfg = self._config()
        parsed = parse(params, client, cfg)
        if not isinstance(parsed, AuthorizationRequest):
            return parsed
        assert client is not None
        now = int(time.time())
        session = await self._sessions.find(session_cookie, now)
        user = await self._session_user(session)
        if session is None or user is None or self._must_authenticate(parsed, session, now):
            if "none" in parsed.prompt:
                return parsed.error(cfg.issuer, "login_required", "the user must sign in")
            return SignInForm(parsed, client, username=parsed.login_hint or "")
        if "consent" in parsed.prompt:
            return ConsentForm(parsed, client, user)
        used = await self._sessions.use(session, now)
        if used is None:  # ended meanwhile
            return SignInForm(parsed, client)
        return await self._issue_code(parsed, user, used, now)

    @staticmethod
    def _must_authenticate(request: AuthorizationRequest, session: SessionRecord, now: int) -> bool:
        """prompt=login (or select_account), or an authentication older than max_age
        (OpenID Connect Core 3.1.2.1; 0 is prompt=login)."""
        if request.prompt & {"login", "select_account"}:
            return True
        age = request.max_age
        return age is not None and (age == 0 or now - session.auth_time > age)

    async def _session_user(self, session: SessionRecord | None) -> User | None:
        if session is None:
            return None
        user = await self._store.get_user(session.user_id)
        return user if user is not None and not user.disabled else None

    # -- the sign-in form -------------------------------------------------------------
    def csrf_token(self, prelogin: str) -> str:
        return self._box.hash_secret(_CSRF_LABEL + prelogin)

    def seal(self, request: AuthorizationRequest, prelogin: str) -> str:
        """The request as the form carries it, bound to this browser's pre-login cookie
        and to the time: it opens for `sessionIdUnauthenticatedUnusedLifetime` seconds."""
        doc = {"r": request.to_json(), "csrf": self.csrf_token(prelogin), "at": int(time.time())}
        return self._box.encrypt(orjson.dumps(doc).decode(), _SEAL_CONTEXT)

    def _open(
        self, sealed: str | None, token: str | None, prelogin: str | None
    ) -> AuthorizationRequest | None:
        if not sealed or not token or not prelogin or len(sealed) > 16384:
            return None
        expected = self.csrf_token(prelogin)
        if not hmac.compare_digest(token.encode(), expected.encode()):
            return None
        try:
            doc = orjson.loads(self._box.decrypt(sealed, _SEAL_CONTEXT))
        except (InvalidTag, ValueError, orjson.JSONDecodeError):
            return None
        lifetime = self._config().session_id_unauthenticated_unused_lifetime
        if doc.get("csrf") != expected or int(time.time()) - int(doc["at"]) > lifetime:
            return None
        return AuthorizationRequest.from_json(doc["r"])

    async def submit(
        self,
        form: Mapping[str, str],
        prelogin: str | None,
        session_cookie: str | None,
        address: str | None,
    ) -> Step:
        """The sign-in (or consent) form, posted."""
        request = self._open(form.get("request"), form.get("csrf_token"), prelogin)
        if request is None:
            return Step(_expired_form())
        client = await self._clients(request.client_id)
        # The client may have changed since the form was shown: check it again.
        checked = check_client_and_redirect(
            client, request.client_id, request.redirect_uri, " ".join(request.scopes)
        )
        if isinstance(checked, ErrorPage):
            return Step(checked)
        assert client is not None
        issuer = self._config().issuer
        action = form.get("action", "signin")
        if action in ("cancel", "deny"):
            return Step(request.error(issuer, "access_denied", "the user declined"))
        now = int(time.time())
        if action == "allow":
            session = await self._sessions.find(session_cookie, now)
            user = await self._session_user(session)
            if session is None or user is None:
                return Step(SignInForm(request, client))
            used = await self._sessions.use(session, now)
            if used is None:
                return Step(SignInForm(request, client))
            return Step(await self._issue_code(request, user, used, now))
        if action != "signin":
            return Step(ErrorPage(400, "invalid_request", "The form was not understood."))
        return await self._sign_in(form, request, client, session_cookie, address, now)

    async def _sign_in(
        self,
        form: Mapping[str, str],
        request: AuthorizationRequest,
        client: Client,
        session_cookie: str | None,
        address: str | None,
        now: int,
    ) -> Step:
        username = form.get("username", "").strip()
        password = form.get("password", "")
        if len(username) > _MAX_FORM_TEXT or len(password) > _MAX_FORM_TEXT:
            return Step(SignInForm(request, client, 400, "The username or password is too long."))
        if not username or not password:
            error = "Enter your username and your password."
            return Step(SignInForm(request, client, 400, error, username))
        try:
            user = await self._passwords.check(username, password, address)
        except OAuthError as exc:  # locked out (429)
            retry = int(exc.headers.get("Retry-After", "60"))
            error = f"Too many failed attempts. Try again in {retry} seconds."
            return Step(SignInForm(request, client, 429, error, username, retry))
        if user is None:
            error = "The username or password is incorrect."
            return Step(SignInForm(request, client, 401, error, username))
        current = await self._sessions.find(session_cookie, now)
        signed = await self._sessions.sign_in(user, now, current)
        return Step(await self._issue_code(request, user, signed.session, now), signed)

    # -- the code ---------------------------------------------------------------------
    async def _issue_code(
        self, request: AuthorizationRequest, user: User, session: SessionRecord, now: int
    ) -> Outcome:
        cfg = self._config()
        raw = new_token()
        binding = CodeBinding(
            request.redirect_uri, request.redirect_uri_given, request.code_challenge,
            request.nonce, session.auth_time,
        )  # fmt: skip
        record = TokenRecord(
            code=sha256_hex(raw), grant_id=new_grant_id(), client_id=request.client_id,
            token_type=TokenType.AUTHORIZATION_CODE, grant_type="authorization_code",
            created_at=now, expires_at=now + cfg.authorization_code_lifetime,
            scope=" ".join(request.scopes), user_id=user.inum, user_dn=user.dn,
            session_id=session.sid, reference_id=new_id(),
            attributes={"username": user.uid, **binding.attributes()},
        )  # fmt: skip
        if not await self._store.issue_tokens([record]):  # the client was deleted meanwhile
            return ErrorPage(400, "unauthorized_client", "The application is not known here.")
        return request.back(cfg.issuer, {"code": raw})
