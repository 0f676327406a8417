"""The checks of an authorization request (oauth/authz_request.py), each error and where it
goes: shown on a page while the client and redirect URI are not trusted, sent back to the
redirect URI after. PKCE's rules (oauth/pkce.py) with RFC 7636's example."""

from __future__ import annotations

from typing import Any

import pytest

from tokenrevoke.model import AppConfiguration, AuthMethod, Client, TokenRecord, TokenType
from tokenrevoke.oauth import pkce
from tokenrevoke.oauth.authz_request import (
    AuthorizationRequest,
    CodeBinding,
    ErrorPage,
    Redirect,
    parse,
)

ISSUER = "https://login.example"
CB = "https://app.example/cb"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def config(**values: Any) -> AppConfiguration:
    return AppConfiguration.build(values, 1, ISSUER)


def client(**extra: Any) -> Client:
    return Client(
        client_id="app", client_name="App", auth_method=AuthMethod.NONE,
        grant_types=["authorization_code"], scopes=["openid", "profile"],
        extra={"redirectUris": [CB, "https://app.example/two"], **extra},
    )  # fmt: skip


def params(**overrides: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "response_type": "code", "client_id": "app", "redirect_uri": CB,
        "scope": "openid profile", "state": "xyz", "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }  # fmt: skip
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def test_a_good_request() -> None:
    parsed = parse(params(nonce="n", max_age="60", prompt="login"), client(), config())
    assert isinstance(parsed, AuthorizationRequest)
    assert parsed.scopes == ("openid", "profile") and parsed.max_age == 60
    assert parsed.prompt == {"login"} and parsed.redirect_uri_given
    assert AuthorizationRequest.from_json(parsed.to_json()) == parsed
    back = parsed.back(ISSUER, {"code": "c"})
    assert back.params == {"code": "c", "iss": ISSUER, "state": "xyz"}


@pytest.mark.parametrize(
    ("overrides", "the_client"),
    [
        ({"client_id": None}, client()),
        ({}, None),
        ({"redirect_uri": "https://app.example/cb/"}, client()),
        ({"redirect_uri": CB + "#x"}, client()),
        ({"redirect_uri": None}, client()),  # two registered, and openid: required
        ({"redirect_uri": "x" * 3000}, client()),
    ],
)
def test_untrusted_requests_are_shown_a_page(
    overrides: dict[str, str | None], the_client: Client | None
) -> None:
    assert isinstance(parse(params(**overrides), the_client, config()), ErrorPage)
    disabled = client()
    disabled.disabled = True
    assert isinstance(parse(params(), disabled, config()), ErrorPage)


def test_one_registered_uri_may_be_left_out_without_openid() -> None:
    single = client(redirectUris=[CB])
    parsed = parse(params(redirect_uri=None, scope="profile"), single, config())
    assert isinstance(parsed, AuthorizationRequest)
    assert parsed.redirect_uri == CB and not parsed.redirect_uri_given


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request": "eyJ"}, "request_not_supported"),
        ({"request_uri": "https://x"}, "request_uri_not_supported"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),  # absent means plain
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "create"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "1e3"}, "invalid_request"),
        ({"max_age": str(2**31)}, "invalid_request"),
        ({"nonce": "n" * 3000}, "invalid_request"),
        ({"state": "s" * 3000}, "invalid_request"),
    ],
)
def test_errors_go_back_to_the_trusted_redirect_uri(
    overrides: dict[str, str | None], error: str
) -> None:
    back = parse(params(**overrides), client(), config())
    assert isinstance(back, Redirect) and back.redirect_uri == CB
    assert back.params["error"] == error and back.params["iss"] == ISSUER
    # The state goes back as sent, unless it is itself the problem.
    assert back.params.get("state") == (None if "state" in overrides else "xyz")


def test_errors_use_the_requested_response_mode() -> None:
    back = parse(params(response_mode="form_post", response_type="token"), client(), config())
    assert isinstance(back, Redirect) and back.response_mode == "form_post"


def test_a_client_without_the_grant_is_unauthorized() -> None:
    other = client()
    other.grant_types = ["client_credentials"]
    back = parse(params(), other, config())
    assert isinstance(back, Redirect) and back.params["error"] == "unauthorized_client"


def test_pkce_is_optional_for_confidential_clients_unless_required() -> None:
    confidential = client()
    confidential.auth_method = AuthMethod.CLIENT_SECRET_BASIC
    without = params(code_challenge=None, code_challenge_method=None)
    assert isinstance(parse(without, confidential, config()), AuthorizationRequest)
    assert isinstance(parse(without, confidential, config(requirePkce=True)), Redirect)
    confidential.extra["attributes"] = {"requirePkce": True}
    assert isinstance(parse(without, confidential, config()), Redirect)


def test_pkce_s256_with_rfc_7636s_example() -> None:
    assert pkce.s256(VERIFIER) == CHALLENGE
    assert pkce.verifier_matches(VERIFIER, CHALLENGE)
    assert not pkce.verifier_matches(VERIFIER[:-1] + "x", CHALLENGE)
    assert not pkce.verifier_matches("short", pkce.s256("short"))  # under 43 characters


def test_code_binding_round_trips_through_token_attributes() -> None:
    binding = CodeBinding(CB, True, CHALLENGE, "n", 1700000000)
    record = TokenRecord("h", "g", "app", TokenType.AUTHORIZATION_CODE, "authorization_code",
                         1, 2, attributes=binding.attributes())  # fmt: skip
    assert CodeBinding.of(record) == binding
