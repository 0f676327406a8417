"""Form parsing rules shared by every endpoint, and JSON body parsing (global token
revocation)."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.web.requests import parse_form, parse_json


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


def test_json_body() -> None:
    assert parse_json(b'{"sub_id": {"format": "uid", "id": "a"}, "x": [1, "y"]}') == {
        "sub_id": {"format": "uid", "id": "a"},
        "x": [1, "y"],
    }


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": {"b": 1, "b": 1}}',
        b'[{"a": 1}, {"b": 1, "\\u0062": 2}]',  # the same name, once escaped
        b"\xef\xbb\xbf{}",
        b'{"a": NaN}',
        b'{"a": 1e400}',
        b'"\\ud800"',
        b"[" * 1025 + b"]" * 1025,
        b"",
    ],
)
def test_json_that_is_repeated_ambiguous_or_malformed_is_invalid_request(body: bytes) -> None:
    with pytest.raises(OAuthError) as err:
        parse_json(body)
    assert (err.value.status, err.value.error) == (400, "invalid_request")


def test_repeated_names_in_different_objects_are_fine() -> None:
    assert parse_json(b'[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
