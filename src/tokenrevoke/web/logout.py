"""Ending sessions over HTTP: `/end_session` (RP-initiated logout, a browser endpoint: a
redirect or a page) and `/revoke_session` (Janssen's, for a client's back end). The rules
are in oauth/end_session.py and oauth/session_revocation.py.

`/end_session` takes GET and POST (OpenID RP-Initiated Logout 1.0 section 2). Without an
id_token_hint it asks the user first, on a form that posts back here with a token bound
to the browser's session cookie (an HMAC under the server's key), so another site cannot
sign the user out by sending the browser here; the page may not be framed (clickjacking).
"""

from __future__ import annotations

import hmac
from html import escape

from starlette.requests import Request
from starlette.responses import Response

from tokenrevoke.crypto import SecretBox, sha256_hex
from tokenrevoke.oauth.end_session import LogoutOutcome, LogoutRequest
from tokenrevoke.oauth.sessions import SESSION_COOKIE
from tokenrevoke.paths import END_SESSION_PATH
from tokenrevoke.web.auth_handlers import guarded, runtime_of
from tokenrevoke.web.requests import oauth_request
from tokenrevoke.web.responses import NO_STORE, empty_response
from tokenrevoke.web.signin import COOKIE_PATH
from tokenrevoke.web.signin import _page as page  # the sign-in pages' look and headers

CSRF_FIELD = "csrf_token"
CONFIRM_FIELD = "confirm"


def csrf_token(box: SecretBox, cookie: str) -> str:
    """The confirmation form's token: an HMAC of the session cookie's hash, under a key
    derived from the master key. Another site can neither read the cookie nor the page."""
    return box.hash_secret("end_session csrf\0" + sha256_hex(cookie))


def _confirmed(box: SecretBox, method: str, params: dict[str, str], cookie: str | None) -> bool:
    if method != "POST" or cookie is None or params.get(CONFIRM_FIELD) != "yes":
        return False
    sent = params.get(CSRF_FIELD) or ""
    return hmac.compare_digest(sent.encode(), csrf_token(box, cookie).encode())


@guarded
async def end_session(request: Request) -> Response:
    runtime = runtime_of(request)
    oauth = await oauth_request(request.scope, request.receive, runtime.settings)
    params = dict(oauth.params)
    logout = LogoutRequest.parse(params)
    cookie = request.cookies.get(SESSION_COOKIE) or None
    browser = await runtime.end_session.browser_session(cookie)
    confirmed = _confirmed(runtime.box, request.method, params, cookie)
    outcome = await runtime.end_session.end(logout, browser, confirmed)
    if outcome.confirm:
        assert cookie is not None  # confirmation is asked only of a signed-in browser
        body = _confirm_body(logout, outcome, csrf_token(runtime.box, cookie))
        # The form's answer redirects to the client: CSP form-action must allow its origin.
        return page("Sign out", body, form_to=outcome.redirect_to)
    response = _after(outcome)
    if outcome.clear_cookie and cookie is not None:
        secure = request.url.scheme == "https" or runtime.config().issuer.startswith("https:")
        response.delete_cookie(
            SESSION_COOKIE, path=COOKIE_PATH, secure=secure, httponly=True, samesite="lax"
        )
    return response


def _after(outcome: LogoutOutcome) -> Response:
    if outcome.redirect_to is not None:
        return Response(b"", 302, {**NO_STORE, "Location": outcome.redirect_to})
    return page(
        "Signed out",
        "<h1>You are signed out</h1>"
        "<p>Your session has ended: the applications you signed in to through it can no "
        "longer act for you. You may close this window.</p>",
    )


def _confirm_body(logout: LogoutRequest, outcome: LogoutOutcome, token: str) -> str:
    hidden = {
        "post_logout_redirect_uri": logout.post_logout_redirect_uri,
        "state": logout.state,
        "client_id": logout.client_id,
        CSRF_FIELD: token,
        CONFIRM_FIELD: "yes",
    }
    fields = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">'
        for name, value in hidden.items()
        if value is not None
    )
    asker = (
        f"<p><strong>{escape(outcome.client_name)}</strong> asks to sign you out.</p>"
        if outcome.client_name
        else ""
    )
    return (
        f"<h1>Sign out?</h1>{asker}<p>Every application you signed in to in this session "
        "will be signed out too.</p>"
        f'<form method="post" action="{END_SESSION_PATH}">{fields}'
        '<div class="actions"><button class="primary" type="submit" autofocus>Sign out'
        "</button></div></form>"
    )


@guarded
async def revoke_session(request: Request) -> Response:
    runtime = runtime_of(request)
    oauth = await oauth_request(request.scope, request.receive, runtime.settings)
    await runtime.session_revocation.revoke(oauth)
    return empty_response()  # Janssen's 200, after every session has ended (committed)
