"""Form parsing rules shared by every endpoint."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.web.requests import parse_form


def test_plain_form() -> None:
    assert parse_form("token=a%20b+c&token_type_hint=") == {"token": "a b c", "token_type_hint": ""}


def test_repeated_parameter_is_an_error() -> None:
    with pytest.raises(OAuthError) as err:
        parse_form("token=a&token=b")
    assert (err.value.status, err.value.error) == (400, "invalid_request")


def test_invalid_utf8_is_an_error() -> None:
    with pytest.raises(OAuthError):
        parse_form("token=%FF%FE")


@pytest.mark.parametrize(
    "text", ["a=1&b=2", "a", "a=&b", "&&a=1&", "a==b", "token=abc_-.~&x=y", "a=1;b=2", ""]
)
def test_forms_without_escapes_parse_as_parse_qsl_does(text: str) -> None:
    # parse_form skips unquoting when there is nothing to unquote; the pairs must not change.
    assert parse_form(text) == dict(parse_qsl(text, keep_blank_values=True))
