"""Hostile input at the token, revocation, introspection and global token revocation
endpoints and the revocation event stream of a real server.

Huge bodies, wrong content types, repeated parameters (and repeated JSON members), invalid
UTF-8, JSON where a form is expected and a form where JSON is, deeply nested and huge
JSON, oversized token lists, CR/LF aimed at response headers, absurd Authorization and
Last-Event-ID headers: every one gets a shaped OAuth error (`error`, `error_description`,
no-store) with the right status, never a 5xx, a stack trace, or a side effect (the tokens
a refused request names stay active); and the server stays up.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server
from tests.support.stores import STORES, server_on
from tests.support.wire import assert_oauth_error

FORM_TYPE, JSON_TYPE = "application/x-www-form-urlencoded", "application/json"
FORM = {"Content-Type": FORM_TYPE}
TOKEN, REVOKE, INTROSPECTION = f"{AUTH}/token", f"{AUTH}/revoke", f"{AUTH}/introspection"
GLOBAL, STREAM = f"{AUTH}/global-token-revocation", f"{AUTH}/revocation-events"
ENDPOINTS = [TOKEN, REVOKE, INTROSPECTION]
BODY_ENDPOINTS = [*ENDPOINTS, GLOBAL]
# The user whose tokens every global revocation here names.
USER, PASSWORD = "hostile-input-user", "hostile input password"


@pytest.fixture(scope="module", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """This suite's own server, on each store (conftest's is SQLite only)."""
    data_dir = tmp_path_factory.mktemp(f"hostile-{request.param}") / "data"
    with server_on(request.param, data_dir) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    """Also the global token revocation client, and the one the user logs in to."""
    server.create_user(USER, PASSWORD)
    return server.create_client(
        grant_types=["client_credentials", "password"], scopes=["global_token_revocation"]
    )


@pytest.fixture(scope="module")
def other(server: Server) -> Client:
    return server.create_client(grant_types=["client_credentials"])


def mint(server: Server, client: Client, endpoint: str = TOKEN) -> str:
    """A live token that a request to `endpoint` with `valid_body` would revoke: the
    user's at global token revocation (it ends the user), else one of the client's."""
    if endpoint == GLOBAL:
        return str(server.password_token(client, USER, PASSWORD)["access_token"])
    return str(server.fetch_token(client)["access_token"])


def subject(**members: Any) -> dict[str, Any]:
    return {"sub_id": {"format": "uid", "id": USER, **members}}


def valid_body(endpoint: str, token: str = "an-unknown-token") -> bytes:
    """A body the endpoint accepts, as sent on the wire."""
    if endpoint == GLOBAL:
        return json.dumps(subject()).encode()
    return b"grant_type=client_credentials" if endpoint == TOKEN else f"token={token}".encode()


def content_type(endpoint: str) -> str:
    return JSON_TYPE if endpoint == GLOBAL else FORM_TYPE


def wrong_type_status(endpoint: str) -> int:
    """Global token revocation says 415, as Janssen's JAX-RS resource does; the form
    endpoints, like Janssen's, 400."""
    return 415 if endpoint == GLOBAL else 400


def caller(endpoint: str, client: Client) -> tuple[str, str]:
    """Who calls: the client itself, or the admin client at introspection."""
    return (ADMIN_ID, ADMIN_SECRET) if endpoint == INTROSPECTION else client.basic


def post(server: Server, endpoint: str, body: bytes, auth: Any = None, **headers: str) -> Any:
    sent = {"Content-Type": content_type(endpoint), **headers}
    return server.session.post(endpoint, content=body, auth=auth, headers=sent)


def assert_alive(server: Server, client: Client) -> None:
    token = mint(server, client)
    assert server.is_active(token)


def assert_refused(response: httpx.Response, server: Server, token: str, status: int) -> None:
    """A shaped invalid_request, and the token the request named is still active."""
    assert_oauth_error(response, status, "invalid_request")
    assert server.is_active(token)


# -- bodies -------------------------------------------------------------------------------
def padded(endpoint: str) -> tuple[bytes, bytes]:
    """What goes before and after padding to keep a valid body valid: a form parameter,
    or a JSON member."""
    if endpoint == GLOBAL:
        return valid_body(endpoint)[:-1] + b', "x": "', b'"}'
    return valid_body(endpoint) + b"&x=", b""


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_two_megabyte_body_is_413(server: Server, client: Client, endpoint: str) -> None:
    token = mint(server, client, endpoint)
    head, tail = padded(endpoint)
    auth = caller(endpoint, client)
    big = head + b"a" * (2 * 1024 * 1024) + tail
    assert_oauth_error(post(server, endpoint, big, auth), 413, "invalid_request")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield head
        for _ in range(32):
            yield b"a" * 65536
        yield tail

    headers = {"Content-Type": content_type(endpoint)}
    try:
        response = server.session.post(endpoint, content=chunks(), auth=auth, headers=headers)
    except httpx.TransportError:
        pass  # the server may answer and close before the whole body is sent
    else:
        assert_oauth_error(response, 413, "invalid_request")
    assert server.is_active(token)
    assert_alive(server, client)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_a_body_of_exactly_the_limit_is_read(server: Server, client: Client, endpoint: str) -> None:
    """The limit (1 MiB by default) is inclusive: a body of exactly that size is read and
    answered on its merits (the padding is an ignored parameter or member)."""
    head, tail = padded(endpoint)
    body = head + b"a" * (1024 * 1024 - len(head) - len(tail)) + tail
    response = post(server, endpoint, body, caller(endpoint, client))
    assert response.status_code in (200, 204), response.text


OTHER_TYPE = "the other endpoints' type"  # JSON at a form endpoint, a form at a JSON one


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
@pytest.mark.parametrize(
    "sent_type",
    [
        OTHER_TYPE,
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json-patch+json",
        "text/json",
        "",
    ],
)
def test_a_body_of_the_wrong_content_type_is_refused(
    server: Server, client: Client, endpoint: str, sent_type: str
) -> None:
    token = mint(server, client, endpoint)
    if sent_type == OTHER_TYPE:
        sent_type = FORM_TYPE if endpoint == GLOBAL else JSON_TYPE
    response = server.session.post(
        endpoint,
        content=valid_body(endpoint, token),
        auth=caller(endpoint, client),
        headers={"Content-Type": sent_type},
    )
    assert_refused(response, server, token, wrong_type_status(endpoint))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_json_where_a_form_is_expected(server: Server, client: Client, endpoint: str) -> None:
    token = mint(server, client)
    form = {"grant_type": "client_credentials"} if endpoint == TOKEN else {"token": token}
    response = server.session.post(endpoint, json=form, auth=caller(endpoint, client))
    assert_oauth_error(response, 400, "invalid_request")
    assert server.is_active(token)


@pytest.mark.parametrize(
    "body", [b"sub_id=x", f"sub_id[format]=uid&sub_id[id]={USER}".encode(), b"a=1&a=2"]
)
def test_a_form_labelled_json_is_400(server: Server, client: Client, body: bytes) -> None:
    token = mint(server, client, GLOBAL)
    assert_refused(post(server, GLOBAL, body, client.basic), server, token, 400)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
@pytest.mark.parametrize("parameters", ["; charset=UTF-8", "; charset=utf-8", " ; q=1"])
def test_content_type_with_parameters_is_fine(
    server: Server, client: Client, endpoint: str, parameters: str
) -> None:
    response = post(
        server,
        endpoint,
        valid_body(endpoint),
        caller(endpoint, client),
        **{"Content-Type": content_type(endpoint).upper() + parameters},
    )
    assert response.status_code in (200, 204), response.text


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
    assert_oauth_error(
        post(server, endpoint, body, caller(endpoint, client)), 400, "invalid_request"
    )


def test_repeated_query_parameter_at_introspection_get(server: Server) -> None:
    response = server.session.get(f"{INTROSPECTION}?token=a&token=b", auth=(ADMIN_ID, ADMIN_SECRET))
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "template",
    [
        '{"sub_id": {"format": "uid", "id": "nobody"}, "sub_id": SUBJECT}',
        '{"sub_id": SUBJECT, "sub_id": {"format": "uid", "id": "nobody"}}',
        '{"sub_id": {"format": "uid", "id": "nobody", "id": "USER"}}',
        '{"sub_id": {"format": "uid", "format": "uid", "id": "USER"}}',
        '{"sub_id": SUBJECT, "client_id": "a", "client_id": "b"}',
        '{"sub_id": SUBJECT, "x": {"y": 1, "y": 2}}',
        '{"sub_id": SUBJECT, "x": [{"y": 1, "\\u0079": 2}]}',  # the same name, escaped
    ],
)
def test_repeated_json_member_is_invalid_request(
    server: Server, client: Client, template: str
) -> None:
    """As a repeated form parameter: a parser in front of us (a WAF, a gateway) may read
    the first of two members and we the last, so neither is taken."""
    token = mint(server, client, GLOBAL)
    body = template.replace("SUBJECT", json.dumps(subject()["sub_id"])).replace("USER", USER)
    response = post(server, GLOBAL, body.encode(), client.basic)
    assert_refused(response, server, token, 400)
    assert "more than once" in response.json()["error_description"]


def test_repeated_token_revokes_nothing(server: Server, client: Client) -> None:
    token = mint(server, client)
    body = f"token={token}&token={token}".encode()
    assert_oauth_error(post(server, REVOKE, body, client.basic), 400, "invalid_request")
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
    body = valid_body(endpoint) + suffix
    assert_oauth_error(
        post(server, endpoint, body, caller(endpoint, client)), 400, "invalid_request"
    )


@pytest.mark.parametrize(
    "raw_id",
    [
        b"\xff\xfe",  # not UTF-8
        b"\xc3",  # truncated sequence
        b"\xed\xa0\x80",  # encoded surrogate
        b"\xc0\xaf",  # overlong encoding of "/"
        b"\xf4\x90\x80\x80",  # beyond U+10FFFF
        b"\\ud800",  # an escaped lone surrogate
        b"\\udc00\\ud800",  # escaped surrogates in the wrong order
    ],
)
def test_invalid_utf8_in_json_is_400(server: Server, client: Client, raw_id: bytes) -> None:
    token = mint(server, client, GLOBAL)
    body = b'{"sub_id": {"format": "uid", "id": "' + raw_id + b'"}}'
    assert_refused(post(server, GLOBAL, body, client.basic), server, token, 400)


def test_a_byte_order_mark_before_json_is_400(server: Server, client: Client) -> None:
    token = mint(server, client, GLOBAL)
    body = b"\xef\xbb\xbf" + valid_body(GLOBAL)
    assert_refused(post(server, GLOBAL, body, client.basic), server, token, 400)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Bodies under the size limit that parse slowly, deeply, hugely or not at all. Each still
# names the user (SUBJECT), so a body that were taken would revoke the user's tokens.
HUGE_JSON = {
    "100,000 levels deep": '{"sub_id": SUBJECT, "x": ' + nested(100_000) + "}",
    "1,025 levels deep": '{"sub_id": SUBJECT, "x": ' + nested(1_025) + "}",
    "nested inside sub_id": '{"sub_id": {"format": "uid", "id": "USER", "x": '
    + nested(5_000)
    + "}}",
    "an object 50,000 members wide": '{"sub_id": SUBJECT, '
    + ", ".join(f'"m{i}": 0' for i in range(50_000))
    + "}",
    "an array of 200,000 numbers": '{"sub_id": SUBJECT, "x": [' + ",".join("7" * 200_000) + "]}",
    "a 5,000-digit integer": '{"sub_id": SUBJECT, "x": ' + "9" * 5_000 + "}",
    "an exponent out of range": '{"sub_id": SUBJECT, "x": 1e999999}',
    "NaN": '{"sub_id": SUBJECT, "x": NaN}',
    "Infinity": '{"sub_id": SUBJECT, "x": -Infinity}',
    "trailing garbage": '{"sub_id": SUBJECT} {"sub_id": SUBJECT}',
    "a trailing comma": '{"sub_id": SUBJECT,}',
    "a comment": '{"sub_id": SUBJECT /* hi */}',
    "single quotes": "{'sub_id': SUBJECT}",
    "a NUL after the document": '{"sub_id": SUBJECT}\x00',
    "a 900 KB id": '{"sub_id": {"format": "uid", "id": "' + "u" * 900_000 + '"}}',
}


@pytest.mark.parametrize("case", list(HUGE_JSON))
def test_deep_huge_and_malformed_json_is_400(server: Server, client: Client, case: str) -> None:
    token = mint(server, client, GLOBAL)
    body = HUGE_JSON[case].replace("SUBJECT", json.dumps(subject()["sub_id"]))
    response = post(server, GLOBAL, body.replace("USER", USER).encode(), client.basic)
    if case in ("an object 50,000 members wide", "an array of 200,000 numbers"):
        # Well-formed JSON: extra members are ignored (RFC 9493 allows them), so this one
        # is a valid request, parsed and answered within the body limit.
        assert response.status_code == 204, response.text
        assert not server.is_active(token)
        return
    assert_refused(response, server, token, 400)


@pytest.mark.parametrize(
    "document",
    [[], [subject()], "uid", 1, 1.5, None, True, {"sub_id": None}, {"sub_id": []},
     {"sub_id": [subject()["sub_id"]]}, {"sub_id": {"format": ["uid"], "id": USER}},
     {"sub_id": {"format": "uid", "id": [USER]}}, {"sub_id": {"format": "uid", "id": {"x": 1}}},
     {"sub_id": {"format": None, "id": USER}}, {"SUB_ID": subject()["sub_id"]}],
)  # fmt: skip
def test_json_that_is_not_a_request_object_is_400(
    server: Server, client: Client, document: Any
) -> None:
    token = mint(server, client, GLOBAL)
    body = json.dumps(document).encode()
    assert_refused(post(server, GLOBAL, body, client.basic), server, token, 400)


def test_invalid_utf8_in_the_introspection_query(server: Server) -> None:
    response = server.session.get(f"{INTROSPECTION}?token=%FF%FE", auth=(ADMIN_ID, ADMIN_SECRET))
    assert_oauth_error(response, 400, "invalid_request")


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
    assert_oauth_error(response, 400, "invalid_request")
    assert "1000" in response.json()["error_description"]
    assert all(server.is_active(t) for t in mine)


def test_a_thousand_tokens_are_fine_and_one_more_is_not(server: Server, client: Client) -> None:
    first, second = mint(server, client), mint(server, client)
    filler = [f"unknown-{i:04d}" for i in range(999)]
    assert_oauth_error(server.send_revoke(client, token=" ".join([*filler, first, "x"])), 400)
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
    server: Server, endpoint: str, body: bytes | None, headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    """Send bytes no HTTP client library would send: a POST of `body` as the endpoint's
    content type, or a GET when `body` is None. The status, headers and body of the answer
    (None when the server's HTTP parser just closed the connection)."""
    method = b"GET " if body is None else b"POST "
    lines = [method + endpoint.encode() + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"Connection: close"]
    if body is not None:
        lines += [b"Content-Type: " + content_type(endpoint).encode()]
        lines += [b"Content-Length: " + str(len(body)).encode()]
    lines += [b"", body or b""]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"\r\n".join(lines))
        raw = b""
        # Until the server closes, or a stream (which never ends) has sent its first frame.
        while not (b"text/event-stream" in raw and raw.endswith(b"\n\n\r\n")):
            if not (chunk := sock.recv(65536)):
                break
            raw += chunk
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


def assert_raw_error(
    answer: tuple[int, list[tuple[bytes, bytes]], bytes] | None,
    statuses: tuple[int, ...] = (400, 401),
) -> None:
    assert answer is not None
    status, headers, payload = answer
    assert status in statuses, answer
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


EVIL = "x\r\nX-Injected: yes\r\n\r\n<html>"


def evil_bodies(endpoint: str) -> list[bytes]:
    """CR/LF (percent-encoded in a form, raw in JSON strings) in every string the endpoint
    reads, including the client_id an error's WWW-Authenticate could name."""
    if endpoint != GLOBAL:
        evil = quote(EVIL)
        form = f"client_id={evil}&token_type_hint={evil}&scope={evil}"
        return [valid_body(endpoint) + b"&" + form.encode()]
    return [
        json.dumps(subject(id=EVIL)).encode(),
        json.dumps({"sub_id": {"format": EVIL, "id": USER}}).encode(),
        json.dumps({"sub_id": {"format": "iss_sub", "iss": EVIL, "sub": EVIL}}).encode(),
        json.dumps({**subject(), "client_id": EVIL}).encode(),
        json.dumps({**subject(), "client_id": EVIL, "client_secret": EVIL}).encode(),
        json.dumps({**subject(), "client_assertion_type": EVIL, "client_assertion": EVIL}).encode(),
    ]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_cr_lf_in_parameters_never_reach_headers(
    server: Server, client: Client, endpoint: str
) -> None:
    for body in evil_bodies(endpoint):
        for auth in (caller(endpoint, client), None):
            response = post(server, endpoint, body, auth, Origin="https://a.example")
            assert response.status_code < 500, response.text
            assert "x-injected" not in response.headers
            for value in response.headers.values():
                assert "\n" not in value and "\r" not in value and "<html>" not in value
            if response.status_code >= 400:
                assert_oauth_error(response, response.status_code)


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


@pytest.mark.parametrize("endpoint", [*BODY_ENDPOINTS, STREAM])
@pytest.mark.parametrize("name", sorted(ABSURD_AUTHORIZATION))
def test_absurd_authorization_headers(
    server: Server, client: Client, endpoint: str, name: str
) -> None:
    token = mint(server, client, endpoint)
    body = None if endpoint == STREAM else valid_body(endpoint, token)
    assert_raw_error(
        raw_post(server, endpoint, body, [(b"Authorization", ABSURD_AUTHORIZATION[name])])
    )
    assert server.is_active(token)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
@pytest.mark.parametrize("valid_first", [False, True])
def test_two_authorization_headers_are_refused(
    server: Server, client: Client, endpoint: str, valid_first: bool
) -> None:
    """Whichever comes first: a proxy in front may pass on, or check, the other one."""
    token = mint(server, client, endpoint)
    headers = [(b"Authorization", b"Basic " + b64(b"x:y")), basic_header(client)]
    if valid_first:
        headers.reverse()
    assert_raw_error(raw_post(server, endpoint, valid_body(endpoint, token), headers), (400,))
    assert server.is_active(token)


# -- the revocation event stream --------------------------------------------------------------
@pytest.fixture(scope="module")
def stream_token(server: Server) -> str:
    subscriber = server.create_client(scopes=["revocation_events"])
    return str(server.fetch_token(subscriber, scope="revocation_events")["access_token"])


def open_stream(server: Server, token: str, last_event_id: bytes) -> tuple[int, Any, bytes]:
    """GET the stream with this Last-Event-ID, byte for byte (no client library sends
    padded or obs-text values): the status, headers and body, or a stream's first frame."""
    headers = [(b"Authorization", f"Bearer {token}".encode()), (b"Last-Event-ID", last_event_id)]
    answer = raw_post(server, STREAM, None, headers)
    assert answer is not None
    status, header_list, body = answer
    return status, dict(header_list), body


@pytest.mark.parametrize("valid_first", [False, True])
def test_two_authorization_headers_at_the_stream_are_refused(
    server: Server, stream_token: str, valid_first: bool
) -> None:
    headers = [(b"Authorization", b"Bearer " + stream_token.encode()),
               (b"Authorization", b"Bearer not-a-token")]  # fmt: skip
    if not valid_first:
        headers.reverse()
    assert_raw_error(raw_post(server, STREAM, None, headers), (400,))


ABSURD_LAST_EVENT_IDS = {
    "a word": b"yesterday",
    "negative": b"-1",
    "negative zero": b"-0",
    "plus sign": b"+5",
    "hex": b"0x10",
    "exponent": b"1e3",
    "decimal": b"1.5",
    "two numbers": b"5 5",
    "19 digits (beyond int64)": b"9" * 19,
    "4,000 digits": b"9" * 4_000,
    "superscript two (latin-1)": b"\xb2",
    "superscript digits in UTF-8": "\u00b9\u00b2\u00b3".encode(),
    "Arabic-Indic digits": "\u0661\u0662".encode(),
    "fullwidth digits": "\uff11\uff12".encode(),
    "obs-text": b"\xff\xfe",
    "CR/LF encoded": b"1%0D%0AX-Injected: yes",
}


@pytest.mark.parametrize("name", sorted(ABSURD_LAST_EVENT_IDS))
def test_absurd_last_event_id_is_400(server: Server, stream_token: str, name: str) -> None:
    status, headers, body = open_stream(server, stream_token, ABSURD_LAST_EVENT_IDS[name])
    assert status == 400, body
    assert headers[b"content-type"].startswith(b"application/json")
    assert headers.get(b"cache-control") == b"no-store"
    assert json.loads(body)["error"] == "invalid_request"


@pytest.mark.parametrize("last_event_id", [b"", b"   ", b"0", b"00042", b" 7 ", b"\t7", b"9" * 18])
def test_a_last_event_id_that_is_a_position_starts_the_stream(
    server: Server, stream_token: str, last_event_id: bytes
) -> None:
    """Blank: from now on; a position (beyond the retained ones, too): after it."""
    status, headers, first = open_stream(server, stream_token, last_event_id)
    assert status == 200, first
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert headers.get(b"cache-control") == b"no-store"
    assert b"\r\nretry: " in b"\r\n" + first  # after the chunk size: the first frame


# -- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "127.0.0.1"},
        {"X-Forwarded-For": "not an address, 127.0.0.1"},
        {"Forwarded": "for=127.0.0.1"},
        {"X-Forwarded-For": "x" * 8000},
    ],
)
def test_metrics_relayed_by_an_untrusted_proxy_are_refused(
    server: Server, headers: dict[str, str]
) -> None:
    assert_oauth_error(server.session.get("/metrics", headers=headers), 403, "access_denied")


@pytest.mark.parametrize("name", sorted(ABSURD_AUTHORIZATION))
def test_metrics_ignore_absurd_authorization_headers(server: Server, name: str) -> None:
    answer = raw_post(server, "/metrics", None, [(b"Authorization", ABSURD_AUTHORIZATION[name])])
    assert answer is not None and answer[0] == 200, answer


def test_basic_credentials_and_form_credentials_together(server: Server, client: Client) -> None:
    """Two authentication methods in one request: refused (RFC 6749 2.3), nothing revoked."""
    token = mint(server, client)
    body = f"token={token}&client_id={client.client_id}&client_secret={client.secret}"
    response = post(server, REVOKE, body.encode(), client.basic)
    assert response.status_code in (400, 401), response.text
    assert_oauth_error(response, response.status_code)
    assert server.is_active(token)


def test_no_stack_trace_in_the_log(server: Server, client: Client) -> None:
    """Last in this module: nothing above made the server log an unexpected error."""
    assert_alive(server, client)
    log = server.log()
    assert "Traceback" not in log and "unexpected error" not in log, log[-4000:]
