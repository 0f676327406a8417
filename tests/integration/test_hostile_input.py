"""Hostile input at the token, revocation and introspection endpoints of a real server.

Huge bodies, wrong content types, repeated parameters, invalid UTF-8, JSON where a form is
expected, oversized token lists, CR/LF aimed at response headers and absurd Authorization
headers: every one gets a shaped OAuth error (`error`, `error_description`, no-store) with
the right status, never a 5xx, a stack trace, or a side effect; and the server stays up.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN, REVOKE, INTROSPECTION = f"{AUTH}/token", f"{AUTH}/revoke", f"{AUTH}/introspection"
ENDPOINTS = [TOKEN, REVOKE, INTROSPECTION]


@pytest.fixture(scope="module", autouse=True)
def _close_session(server: Server) -> Iterator[None]:
    yield
    server.close_session()


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.create_client("--grant-type", "client_credentials")


@pytest.fixture(scope="module")
def other(server: Server) -> Client:
    return server.create_client("--grant-type", "client_credentials")


def mint(server: Server, client: Client) -> str:
    return str(server.fetch_token(client)["access_token"])


def valid_form(endpoint: str, token: str = "an-unknown-token") -> str:
    """A body the endpoint accepts, as sent on the wire."""
    return "grant_type=client_credentials" if endpoint == TOKEN else f"token={token}"


def caller(endpoint: str, client: Client) -> tuple[str, str]:
    """Who calls: the client itself, or the admin client at introspection."""
    return (ADMIN_ID, ADMIN_SECRET) if endpoint == INTROSPECTION else client.basic


def post(server: Server, endpoint: str, body: bytes, auth: Any = None, **headers: str) -> Any:
    return server.session.post(
        endpoint, content=body, auth=auth, headers={**FORM, **headers} if headers else FORM
    )


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("cache-control") == "no-store"
    body = response.json()
    assert set(body) <= {"error", "error_description", "reason"}, body
    assert isinstance(body["error"], str) and isinstance(body["error_description"], str)
    if code is not None:
        assert body["error"] == code, body
    assert "Traceback" not in response.text


def assert_alive(server: Server, client: Client) -> None:
    token = mint(server, client)
    assert server.is_active(token)


# -- bodies -------------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_two_megabyte_body_is_413(server: Server, client: Client, endpoint: str) -> None:
    big = (valid_form(endpoint) + "&x=" + "a" * (2 * 1024 * 1024)).encode()
    auth = caller(endpoint, client)
    assert_error(post(server, endpoint, big, auth), 413, "invalid_request")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield valid_form(endpoint).encode() + b"&x="
        for _ in range(32):
            yield b"a" * 65536

    try:
        response = server.session.post(endpoint, content=chunks(), auth=auth, headers=FORM)
    except httpx.TransportError:
        pass  # the server may answer and close before the whole body is sent
    else:
        assert_error(response, 413, "invalid_request")
    assert_alive(server, client)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "multipart/form-data; boundary=x", "application/xml", ""],
)
def test_a_body_that_is_not_a_form_is_refused(
    server: Server, client: Client, endpoint: str, content_type: str
) -> None:
    token = mint(server, client)
    response = server.session.post(
        endpoint,
        content=valid_form(endpoint, token).encode(),
        auth=caller(endpoint, client),
        headers={"Content-Type": content_type},
    )
    assert_error(response, 400, "invalid_request")
    assert server.is_active(token)  # the revocation did not happen anyway


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_json_where_a_form_is_expected(server: Server, client: Client, endpoint: str) -> None:
    token = mint(server, client)
    form = {"grant_type": "client_credentials"} if endpoint == TOKEN else {"token": token}
    response = server.session.post(endpoint, json=form, auth=caller(endpoint, client))
    assert_error(response, 400, "invalid_request")
    assert server.is_active(token)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_form_content_type_with_charset_is_fine(
    server: Server, client: Client, endpoint: str
) -> None:
    response = post(
        server,
        endpoint,
        valid_form(endpoint).encode(),
        caller(endpoint, client),
        **{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        (TOKEN, b"grant_type=client_credentials&grant_type=client_credentials"),
        (TOKEN, b"grant_type=client_credentials&scope=openid&scope=email"),
        (TOKEN, b"grant_type=password&username=alice&username=alice&password=x"),
        (REVOKE, b"token=a&token=b"),
        (REVOKE, b"token=a&token_type_hint=access_token&token_type_hint=refresh_token"),
        (REVOKE, b"token=a&client_id=x&client_id=y"),
        (INTROSPECTION, b"token=a&token=b"),
        (INTROSPECTION, b"token=a&response_as_jwt=true&response_as_jwt=false"),
    ],
)
def test_repeated_parameter_is_invalid_request(
    server: Server, client: Client, endpoint: str, body: bytes
) -> None:
    assert_error(post(server, endpoint, body, caller(endpoint, client)), 400, "invalid_request")


def test_repeated_query_parameter_at_introspection_get(server: Server) -> None:
    response = server.session.get(f"{INTROSPECTION}?token=a&token=b", auth=(ADMIN_ID, ADMIN_SECRET))
    assert_error(response, 400, "invalid_request")


def test_repeated_token_revokes_nothing(server: Server, client: Client) -> None:
    token = mint(server, client)
    body = f"token={token}&token={token}".encode()
    assert_error(post(server, REVOKE, body, client.basic), 400, "invalid_request")
    assert server.is_active(token)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "suffix",
    [
        b"&x=%FF%FE",  # not UTF-8
        b"&x=%C3",  # truncated sequence
        b"&x=%ED%A0%80",  # encoded surrogate
        "&x=caf\u00e9".encode(),  # raw non-ASCII byte
        b"&x=\xff\xfe",  # raw invalid bytes
        b"&%FF=1",  # in a name
    ],
)
def test_invalid_utf8_encoding_is_400(
    server: Server, client: Client, endpoint: str, suffix: bytes
) -> None:
    body = valid_form(endpoint).encode() + suffix
    assert_error(post(server, endpoint, body, caller(endpoint, client)), 400, "invalid_request")


def test_invalid_utf8_in_the_introspection_query(server: Server) -> None:
    response = server.session.get(f"{INTROSPECTION}?token=%FF%FE", auth=(ADMIN_ID, ADMIN_SECRET))
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("endpoint", [REVOKE, INTROSPECTION])
@pytest.mark.parametrize(
    "token", ["%00", "a%00b", "a%0D%0Ab", "a%09b", "%E2%80%AE", "%F0%9F%92%A9", "x" * 900_000]
)
def test_strange_tokens_are_just_unknown(
    server: Server, client: Client, endpoint: str, token: str
) -> None:
    response = post(server, endpoint, f"token={token}".encode(), caller(endpoint, client))
    assert response.status_code == 200, response.text
    if endpoint == INTROSPECTION:
        assert response.json() == {"active": False}


# -- token lists ----------------------------------------------------------------------------
def test_ten_thousand_tokens_are_400_and_nothing_is_revoked(server: Server, client: Client) -> None:
    mine = [mint(server, client) for _ in range(3)]
    # Real tokens first, last and in the middle of 10,000 (~440 KB, under the body limit).
    tokens = [f"unknown-{i:05d}-" + "x" * 30 for i in range(10_000)]
    tokens[0], tokens[5_000], tokens[-1] = mine
    response = server.send_revoke(client, token=" ".join(tokens))
    assert_error(response, 400, "invalid_request")
    assert "1000" in response.json()["error_description"]
    assert all(server.is_active(t) for t in mine)


def test_a_thousand_tokens_are_fine_and_one_more_is_not(server: Server, client: Client) -> None:
    first, second = mint(server, client), mint(server, client)
    filler = [f"unknown-{i:04d}" for i in range(999)]
    assert_error(server.send_revoke(client, token=" ".join([*filler, first, "x"])), 400)
    assert server.is_active(first)
    response = server.send_revoke(client, token=" ".join([*filler, first]))
    assert response.status_code == 200, response.text
    assert not server.is_active(first) and server.is_active(second)


def test_separators_other_than_spaces_make_one_unknown_token(
    server: Server, client: Client
) -> None:
    first, second = mint(server, client), mint(server, client)
    for joined in (f"{first},{second}", f"{first}\n{second}", f"{first}\t{second}"):
        assert server.send_revoke(client, token=joined).status_code == 200
    assert server.is_active(first) and server.is_active(second)


# -- header injection -----------------------------------------------------------------------
def raw_post(
    server: Server, endpoint: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    """POST bytes no HTTP client library would send; the status, headers and body of the
    answer (None when the server's HTTP parser just closed the connection)."""
    lines = [b"POST " + endpoint.encode() + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"Content-Type: application/x-www-form-urlencoded", b"Connection: close"]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"", body]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"\r\n".join(lines))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        return None
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    parsed = [tuple(line.split(b": ", 1)) for line in header_lines]
    return int(status_line.split()[1]), [(n.lower(), v) for n, v in parsed], payload  # type: ignore[misc]


def basic_header(client: Client) -> tuple[bytes, bytes]:
    return b"Authorization", b"Basic " + base64.b64encode(
        f"{client.client_id}:{client.secret}".encode()
    )


def assert_raw_error(answer: tuple[int, list[tuple[bytes, bytes]], bytes] | None) -> None:
    assert answer is not None
    status, headers, payload = answer
    assert status in (400, 401), answer
    assert (b"cache-control", b"no-store") in headers, headers
    body = json.loads(payload)
    assert set(body) <= {"error", "error_description", "reason"}, body
    assert isinstance(body["error"], str) and isinstance(body["error_description"], str)


@pytest.mark.parametrize(
    "origin",
    [
        b"https://a.example\nX-Injected: yes",  # bare LF
        b"https://a.example\rX-Injected: yes",  # bare CR
        b"https://a.example\x00X-Injected: yes",  # NUL
        b"https://a.example\x0bX-Injected: yes",  # vertical tab
        b"https://\xe9.example",  # obs-text
    ],
)
@pytest.mark.parametrize("endpoint", [REVOKE, INTROSPECTION])
def test_control_characters_in_the_origin_header_never_split_the_response(
    server: Server, client: Client, endpoint: str, origin: bytes
) -> None:
    """CORS echoes Origin: a value that could split the response is refused by the HTTP
    parser (or read as two headers) before anything is echoed."""
    answer = raw_post(server, endpoint, b"token=abc", [(b"Origin", origin), basic_header(client)])
    if answer is not None:
        status, headers, _ = answer
        assert status in (200, 400), answer
        assert not any(name.startswith(b"x-injected") for name, _ in headers), answer
        for name, value in headers:
            assert not any(c < 0x20 and c != 0x09 for c in value), (name, value)
    assert_alive(server, client)


@pytest.mark.parametrize("endpoint", [TOKEN, REVOKE, INTROSPECTION])
def test_encoded_cr_lf_in_parameters_never_reach_headers(
    server: Server, client: Client, endpoint: str
) -> None:
    evil = "x%0D%0AX-Injected:%20yes%0D%0A%0D%0A<html>"
    body = f"{valid_form(endpoint)}&client_id={evil}&token_type_hint={evil}&scope={evil}"
    for auth in (caller(endpoint, client), None):
        response = post(server, endpoint, body.encode(), auth, Origin="https://a.example")
        assert response.status_code < 500, response.text
        assert "x-injected" not in response.headers
        assert "<html>" not in response.headers.get("access-control-allow-origin", "")


# -- absurd Authorization headers -----------------------------------------------------------
def b64(raw: bytes) -> bytes:
    return base64.b64encode(raw)


ABSURD_AUTHORIZATION = {
    "empty": b"",
    "spaces": b"     ",
    "scheme only": b"Basic",
    "scheme and space": b"Basic ",
    "not base64": b"Basic !!!not*base64!!!",
    "base64 without a colon": b"Basic " + b64(b"no-colon-here"),
    "empty id and secret": b"Basic " + b64(b":"),
    "invalid UTF-8 credentials": b"Basic " + b64(b"\xff\xfe:\xc3\x28"),
    "NUL in the id": b"Basic " + b64(b"a\x00b:secret"),
    "percent-encoded garbage": b"Basic " + b64(b"%ZZ:%00"),
    "64 KB of credentials": b"Basic " + b64(b"a" * 24_000 + b":" + b"b" * 24_000),
    "empty bearer": b"Bearer ",
    "bearer with spaces": b"Bearer a b c",
    "64 KB bearer": b"Bearer " + b"a" * 65_000,
    "unknown scheme": b"Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag",
    "lower-case scheme, bad": b"basic " + b64(b"x:y"),
    "two schemes": b"Basic " + b64(b"x:y") + b", Bearer abc",
    "latin-1 bytes": b"Basic \xe9\xe8",
    "tab and obs-text": b"Basic\t\xff\xfe",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("name", sorted(ABSURD_AUTHORIZATION))
def test_absurd_authorization_headers(
    server: Server, client: Client, endpoint: str, name: str
) -> None:
    token = mint(server, client)
    body = valid_form(endpoint, token).encode()
    assert_raw_error(
        raw_post(server, endpoint, body, [(b"Authorization", ABSURD_AUTHORIZATION[name])])
    )
    assert server.is_active(token)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_two_authorization_headers_are_refused(
    server: Server, client: Client, endpoint: str
) -> None:
    token = mint(server, client)
    headers = [(b"Authorization", b"Basic " + b64(b"x:y")), basic_header(client)]
    assert_raw_error(raw_post(server, endpoint, valid_form(endpoint, token).encode(), headers))
    assert server.is_active(token)


def test_basic_credentials_and_form_credentials_together(server: Server, client: Client) -> None:
    """Two authentication methods in one request: refused (RFC 6749 2.3), nothing revoked."""
    token = mint(server, client)
    body = f"token={token}&client_id={client.client_id}&client_secret={client.secret}"
    response = post(server, REVOKE, body.encode(), client.basic)
    assert response.status_code in (400, 401), response.text
    assert_error(response, response.status_code)
    assert server.is_active(token)


def test_no_stack_trace_in_the_log(server: Server, client: Client) -> None:
    """Last in this module: nothing above made the server log an unexpected error."""
    assert_alive(server, client)
    log = server.log()
    assert "Traceback" not in log and "unexpected error" not in log, log[-4000:]
