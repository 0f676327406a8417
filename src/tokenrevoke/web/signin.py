"""The browser's side of sign-in: the authorization endpoint, the sign-in and consent
pages, and the cookies. The decisions are oauth/authorize.py's; this renders them.

Pages are server-rendered HTML that works without JavaScript (a form_post response has
a button; its one-line auto-submit script is allowed by its hash alone). Every page
forbids framing (clickjacking) and caching, and its Content-Security-Policy allows
nothing but its own style, and forms posted to this server or, through the redirect
that follows them, to the client's redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
from importlib import resources
from string import Template
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response

from tokenrevoke.crypto import new_token
from tokenrevoke.model.scope_ids import OPENID
from tokenrevoke.oauth.authorize import ConsentForm, Outcome, SignInForm, Step
from tokenrevoke.oauth.authz_request import ErrorPage, Redirect
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.oauth.sessions import SESSION_COOKIE
from tokenrevoke.runtime import Runtime
from tokenrevoke.store import StoreUnavailable, UnstorableText
from tokenrevoke.web.requests import (
    client_address,
    loggable_path,
    oauth_request,
    parse_form,
    read_body,
)
from tokenrevoke.web.responses import json_response

log = logging.getLogger("tokenrevoke.web.signin")

SIGN_IN_PATH = "/jans-auth/login"
COOKIE_PATH = "/jans-auth"
# This browser's pre-login id: what the sign-in form's CSRF token is an HMAC of.
PRELOGIN_COOKIE = "tokenrevoke_prelogin"
_TEMPLATES = resources.files("tokenrevoke.web").joinpath("templates")
_PAGE = Template(_TEMPLATES.joinpath("page.html").read_text("utf-8"))
_STYLE = _TEMPLATES.joinpath("page.css").read_text("utf-8").strip()
_AUTO_SUBMIT = "document.forms[0].submit()"


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


_STYLE_SOURCE = _csp_hash(_STYLE)
_SCRIPT_SOURCE = _csp_hash(_AUTO_SUBMIT)
_SCOPE_WORDS = {
    OPENID: "your identity",
    "profile": "your profile (name and username)",
    "email": "your email address",
}
_STATUS_TEXT = {400: "Bad request", 401: "Sign-in failed", 403: "Forbidden", 503: "Unavailable"}


def _origin(uri: str) -> str:
    """A CSP source for a redirect URI: its origin (http/https) or its scheme (an app's
    private-use scheme)."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def _page(
    title: str, body: str, status: int = 200, *, form_to: str | None = None, script: bool = False
) -> HTMLResponse:
    targets = "'self'" + (f" {_origin(form_to)}" if form_to else "")
    policy = (
        f"default-src 'none'; style-src {_STYLE_SOURCE}; form-action {targets}; "
        f"frame-ancestors 'none'; base-uri 'none'"
        + (f"; script-src {_SCRIPT_SOURCE}" if script else "")
    )
    headers = {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    text = _PAGE.substitute(title=html.escape(title), style=_STYLE, body=body)
    return HTMLResponse(text, status, headers)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'


def _scopes_line(client_name: str, scopes: tuple[str, ...]) -> str:
    if not scopes:
        return ""
    words = ", ".join(_e(_SCOPE_WORDS.get(s, s)) for s in scopes)
    return f'<p class="scopes"><strong>{_e(client_name)}</strong> will be allowed: {words}.</p>'


def error_page(page: ErrorPage) -> HTMLResponse:
    body = (
        "<h1>Sign-in cannot continue</h1>"
        f'<p role="alert">{_e(page.description)}</p>'
        f"<p>Error: <code>{_e(page.error)}</code></p>"
    )
    return _page(_STATUS_TEXT.get(page.status, "Error"), body, page.status)


def _wants_page(request: Request) -> bool:
    """A browser asks for text/html (every one sends it with a navigation)."""
    return "text/html" in request.headers.get("accept", "").lower()


def error_answer(page: ErrorPage, request: Request) -> Response:
    """The page for a browser; for any other caller Janssen's JSON error with the same
    status (AuthorizeRestWebServiceValidator answers application/json)."""
    if _wants_page(request):
        return error_page(page)
    return json_response({"error": page.error, "error_description": page.description}, page.status)


def _redirect(back: Redirect) -> Response:
    if back.response_mode == "form_post":
        # OAuth 2.0 Form Post Response Mode: the parameters posted to the redirect URI.
        fields = "".join(_hidden(k, v) for k, v in back.params.items())
        body = (
            f'<form method="post" action="{_e(back.redirect_uri)}">{fields}'
            "<h1>Signing you in</h1><p>Continue to the application.</p>"
            '<div class="actions"><button class="primary" type="submit">Continue</button>'
            f"</div></form><script>{_AUTO_SUBMIT}</script>"
        )
        return _page("Continue", body, form_to=back.redirect_uri, script=True)
    parts = urlsplit(back.redirect_uri)
    query = (parts.query + "&" if parts.query else "") + urlencode(back.params)
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return Response(status_code=303, headers={"Location": location, "Cache-Control": "no-store"})


class _Pages:
    """Renders one request's outcome; knows its pre-login id (new, or the cookie's)."""

    def __init__(self, runtime: Runtime, request: Request) -> None:
        self.runtime = runtime
        self.secure = request.url.scheme == "https" or str(runtime.config().issuer).startswith(
            "https://"
        )
        cookie = request.cookies.get(PRELOGIN_COOKIE, "")
        self.prelogin = cookie if len(cookie) == 43 else new_token()
        self.request = request

    def render(self, outcome: Outcome) -> Response:
        if isinstance(outcome, ErrorPage):
            return error_answer(outcome, self.request)
        if isinstance(outcome, Redirect):
            return _redirect(outcome)
        if isinstance(outcome, SignInForm):
            response = self._sign_in(outcome)
        else:
            response = self._consent(outcome)
        # Set again with every form: it lives as long as the newest form it goes with.
        lifetime = self.runtime.config().session_id_unauthenticated_unused_lifetime
        self._cookie(response, PRELOGIN_COOKIE, self.prelogin, lifetime)
        return response

    def _cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=COOKIE_PATH, secure=self.secure,
            httponly=True, samesite="lax",
        )  # fmt: skip

    def _form_head(self, outcome: SignInForm | ConsentForm) -> str:
        auth = self.runtime.authorization
        return (
            f'<form method="post" action="{SIGN_IN_PATH}">'
            + _hidden("request", auth.seal(outcome.request, self.prelogin))
            + _hidden("csrf_token", auth.csrf_token(self.prelogin))
        )

    def _sign_in(self, form: SignInForm) -> Response:
        name = form.client.client_name or form.client.client_id
        error = ""
        invalid = ""
        if form.error:
            error = f'<div class="error" role="alert" id="error">{_e(form.error)}</div>'
            invalid = ' aria-invalid="true" aria-describedby="error"'
        # The first field to fill takes the focus (the password, when the name is known).
        user_focus, password_focus = ("", " autofocus") if form.username else (" autofocus", "")
        body = (
            f"<h1>Sign in</h1><p>to continue to <strong>{_e(name)}</strong></p>{error}"
            + self._form_head(form)
            + '<label for="username">Username</label>'
            f'<input type="text" id="username" name="username" autocomplete="username" '
            f'autocapitalize="none" spellcheck="false" required value="{_e(form.username)}"'
            f"{invalid}{user_focus}>"
            '<label for="password">Password</label>'
            '<input type="password" id="password" name="password" '
            f'autocomplete="current-password" required{invalid}{password_focus}>'
            + _scopes_line(name, form.request.scopes)
            + '<div class="actions">'
            '<button class="primary" type="submit" name="action" value="signin">Sign in</button>'
            '<button class="secondary" type="submit" name="action" value="cancel" '
            "formnovalidate>Cancel</button></div></form>"
        )
        response = _page("Sign in", body, form.status, form_to=form.request.redirect_uri)
        if form.retry_after is not None:
            response.headers["Retry-After"] = str(form.retry_after)
        return response

    def _consent(self, form: ConsentForm) -> Response:
        name = form.client.client_name or form.client.client_id
        body = (
            f"<h1>Allow access</h1><p>Signed in as <strong>{_e(form.user.uid)}</strong>.</p>"
            + self._form_head(form)
            + (_scopes_line(name, form.request.scopes) or f"<p>Allow {_e(name)}?</p>")
            + '<div class="actions">'
            '<button class="primary" type="submit" name="action" value="allow" autofocus>'
            "Allow</button>"
            '<button class="secondary" type="submit" name="action" value="deny">Deny</button>'
            "</div></form>"
        )
        return _page("Allow access", body, form_to=form.request.redirect_uri)

    def step(self, step: Step) -> Response:
        response = self.render(step.outcome)
        if step.signed_in is not None:
            # A fresh value at every sign-in (oauth/sessions.py); a browser-session cookie:
            # the server-side lifetimes decide how long it names a live session.
            self._cookie(response, SESSION_COOKIE, step.signed_in.cookie, None)
            response.delete_cookie(PRELOGIN_COOKIE, path=COOKIE_PATH)
        return response


def _failure(exc: Exception, request: Request) -> Response:
    """Every failure as a page (or JSON, error_answer): a bad request as 400, a store outage
    as 503."""
    if isinstance(exc, OAuthError):
        return error_answer(ErrorPage(exc.status, exc.error, exc.description), request)
    if isinstance(exc, ClientDisconnect | UnstorableText):
        return error_answer(
            ErrorPage(400, "invalid_request", "The request could not be read."), request
        )
    if isinstance(exc, StoreUnavailable):
        log.error("store unavailable on %s: %s", loggable_path(request.scope), exc)
        description = "The service is temporarily unavailable. Try again in a moment."
        return error_answer(ErrorPage(503, "temporarily_unavailable", description), request)
    log.error("unexpected error on %s", loggable_path(request.scope), exc_info=exc)
    return error_answer(
        ErrorPage(500, "server_error", "Something went wrong. Try again later."), request
    )


async def authorize(request: Request) -> Response:
    """GET or POST (form-encoded) /authorize."""
    try:
        runtime: Runtime = request.app.state.runtime
        oauth = await oauth_request(request.scope, request.receive, runtime.settings)
        outcome = await runtime.authorization.authorize(
            oauth.params, request.cookies.get(SESSION_COOKIE)
        )
        return _Pages(runtime, request).render(outcome)
    except Exception as exc:
        return _failure(exc, request)


async def sign_in(request: Request) -> Response:
    """POST of the sign-in or consent form."""
    try:
        runtime = request.app.state.runtime
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
            "application/x-www-form-urlencoded"
        ):
            raise OAuthError(400, "invalid_request", "The form was not sent as a form.")
        body = await read_body(request, runtime.settings.max_body_bytes)
        try:
            form = parse_form(body.decode("ascii"))
        except UnicodeDecodeError:
            raise OAuthError(400, "invalid_request", "The form is not encoded.") from None
        pages = _Pages(runtime, request)
        remote = request.client.host if request.client else None
        step = await runtime.authorization.submit(
            form,
            request.cookies.get(PRELOGIN_COOKIE),
            request.cookies.get(SESSION_COOKIE),
            client_address(request.headers, runtime.settings, remote),
        )
        return pages.step(step)
    except Exception as exc:
        return _failure(exc, request)
