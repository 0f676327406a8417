"""Form parsing rules shared by every endpoint."""

from __future__ import annotations

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
