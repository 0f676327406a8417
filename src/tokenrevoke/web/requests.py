"""Turning HTTP requests into `OAuthRequest`s: body limits, form parsing, client certificates.

Forms are parsed with `urllib.parse.parse_qsl` (Starlette's multipart-capable form parser
is an order of magnitude slower on these hot paths).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope

from tokenrevoke.oauth.errors import OAuthError, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.settings import Settings

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_CREDENTIAL_MEMBERS = ("client_id", "client_secret", "client_assertion", "client_assertion_type")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def payload_too_large(limit: int) -> OAuthError:
    return OAuthError(413, "invalid_request", f"request body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    return await _read_body(request.receive, _framing(request.scope)[1], limit)


async def _read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    if declared is not None:
        if not declared.isdigit():
            raise invalid_request("Content-Length is not a number")
        if int(declared) > limit:
            raise payload_too_large(limit)
    # ASGI messages straight from `receive`: Starlette's `stream()` async generator costs
    # more than the rest of reading a small form body.
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise payload_too_large(limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _framing(scope: Scope) -> tuple[str, str | None, list[bytes]]:
    """The media type of Content-Type (lower case), Content-Length and every Authorization
    value, in one pass over the raw headers (Starlette's `Headers` searches them once per
    lookup, a measurable share of the hot endpoints' CPU)."""
    content_type: str | None = None
    length: str | None = None
    authorization: list[bytes] = []
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization.append(value)
        elif name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1").split(";", 1)[0].strip().lower()
        elif name == b"content-length" and length is None:
            length = value.decode("latin-1")
    return content_type or "", length, authorization


def parse_form(text: str) -> dict[str, str]:
    """Parse a query string or form body. RFC 6749 section 3.1: a parameter sent more than
    once is an error, as is malformed percent-encoding of UTF-8."""
    if "%" in text or "+" in text:
        try:
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise invalid_request("parameters are not valid UTF-8 form encoding") from None
    else:
        # Nothing to decode (the usual token and client_credentials bodies): the same
        # pairs as parse_qsl gives, without its per-pair unquoting.
        pairs = [(n, v) for n, _, v in (p.partition("=") for p in text.split("&") if p)]
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise invalid_request(f"parameter {name!r} was sent more than once")
        params[name] = value
    return params


# Deeper than any document we take (a client, a JSON Patch, the properties); deeper ones
# would only exhaust the recursion of whatever walks them next (copy.deepcopy, jsonpatch).
MAX_JSON_DEPTH = 32


def too_deep(document: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON document nests arrays and objects more than `limit` deep.
    Iterative: the check itself must not recurse."""
    pending: list[tuple[Any, int]] = [(document, 1)] if isinstance(document, dict | list) else []
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(body: bytes) -> Any:
    """Parse a JSON request body strictly: UTF-8 (no BOM), no NaN or infinite numbers,
    at most MAX_JSON_DEPTH levels deep, and, as RFC 7493 (I-JSON) requires, no
    object with a member name twice. A repeated member is the JSON form of a repeated
    form parameter: a parser in front of us (a WAF, a gateway, a script) may take the
    first and we the last, so neither is taken."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise invalid_request("the request body is not valid JSON") from None
    if too_deep(document):
        raise invalid_request(f"the request body is nested more than {MAX_JSON_DEPTH} deep")
    if b'"' in body and isinstance(document, dict | list):
        # orjson keeps the last of repeated members silently; the standard library tells
        # them apart (a second, slower parse, only of documents orjson found valid).
        try:
            json.loads(body, object_pairs_hook=_unique_members)
        except RecursionError:  # its limit is below orjson's 1024 levels
            raise invalid_request("the request body is nested too deeply") from None
    return document


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        if name in members:
            raise invalid_request(f"JSON member {name[:64]!r} was sent more than once")
        members[name] = value
    return members


async def oauth_request(
    scope: Scope, receive: Receive, settings: Settings, *, query: bool = False
) -> OAuthRequest:
    """A form-bodied endpoint's request (the query string for GET), straight from the ASGI
    scope: the hot endpoints build no Starlette `Request`."""
    content_type, length, authorization = _framing(scope)
    if query or scope["method"] in ("GET", "HEAD"):
        params = parse_form(_ascii(scope.get("query_string", b""), "the query string"))
    else:
        body = await _read_body(receive, length, settings.max_body_bytes)
        if body and content_type != FORM:
            raise invalid_request(f"the request body must be {FORM}")
        params = parse_form(_ascii(body, "the form body"))
    return _oauth_request(scope, settings, params, _one_authorization(authorization))


def _ascii(raw: bytes, what: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise invalid_request(f"{what} must be percent-encoded ASCII") from None


async def json_oauth_request(request: Request, settings: Settings) -> tuple[OAuthRequest, Any]:
    """A JSON-bodied endpoint's request (global token revocation): the parsed document,
    and the client credentials from the Authorization header, the TLS certificate or the
    document's top-level members named as in RFC 6749/7523 (`client_id`, ...)."""
    content_type, length, authorization = _framing(request.scope)
    if content_type != JSON:
        raise OAuthError(415, "invalid_request", f"the request body must be {JSON}")
    document = parse_json(await _read_body(request.receive, length, settings.max_body_bytes))
    params: dict[str, str] = {}
    if isinstance(document, dict):
        for name in _CREDENTIAL_MEMBERS:
            if name in document:
                value = document[name]
                if not isinstance(value, str):
                    raise invalid_request(f"{name} must be a string")
                params[name] = value
    oauth = _oauth_request(request.scope, settings, params, _one_authorization(authorization))
    return oauth, document


def authorization_header(request: Request) -> str | None:
    return _one_authorization(_framing(request.scope)[2])


def _one_authorization(values: list[bytes]) -> str | None:
    """The one Authorization header. Two are refused (RFC 9110 5.3: it is no list): which
    one counts would depend on who reads them, and a proxy in front may have checked or
    passed on the other."""
    if len(values) > 1:
        raise invalid_request("the Authorization header was sent more than once")
    return values[0].decode("latin-1") if values else None


def _oauth_request(
    scope: Scope, settings: Settings, params: dict[str, str], authorization: str | None
) -> OAuthRequest:
    peer = scope.get("client")
    remote = peer[0] if peer else None
    headers = Headers(scope=scope)  # a view of the raw list; searched only when asked
    return OAuthRequest(
        params=params,
        authorization=authorization,
        client_cert=client_certificate(scope, headers, settings, remote),
        endpoint=settings.base_url + scope["path"],  # request.url: a URL parse
        headers=headers,
        remote_addr=remote,
        client_addr=client_address(headers, settings, remote),
    )


def client_address(headers: Headers, settings: Settings, remote: str | None) -> str | None:
    """The client's address: the TCP peer; when the peer is a trusted proxy, the nearest
    address in X-Forwarded-For that is not one of our trusted proxies (entries further
    left were written by the client itself and prove nothing)."""
    proxies = settings.trusted_proxies
    if not proxies or not remote or not _is_trusted(remote, proxies):
        return remote
    hops = [hop.strip() for value in headers.getlist("x-forwarded-for")
            for hop in value.split(",")]  # fmt: skip
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            return hop if _is_address(hop) else remote
    return remote


def may_read_metrics(request: Request, settings: Settings) -> bool:
    """/metrics is for `metrics_allow` (default: loopback). A request relayed by a proxy we
    do not trust is refused outright: behind a reverse proxy on the same host every
    request would otherwise come from loopback."""
    remote = request.client.host if request.client else None
    if not remote or not settings.metrics_allow:
        return False
    relayed = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    if relayed and not _is_trusted(remote, settings.trusted_proxies):
        return False
    address = client_address(request.headers, settings, remote)
    return address is not None and in_networks(address, tuple(settings.metrics_allow))


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def client_certificate(
    scope: Scope, headers: Headers, settings: Settings, remote: str | None
) -> bytes | None:
    """DER of the client's certificate: from our own TLS handshake, or from a trusted
    TLS-terminating proxy's header when the connection comes from that proxy."""
    tls = scope.get("extensions", {}).get("tls")
    if tls and tls.get("client_cert_chain"):
        return _pem_to_der(tls["client_cert_chain"][0])
    header = settings.client_cert_header
    if header and remote and _is_trusted(remote, settings.trusted_proxies):
        values = headers.getlist(header)
        if len(values) > 1:
            # Which one counts would depend on who reads them: the proxy may have set one
            # and passed on the client's own (as with two Authorization headers).
            raise invalid_request(f"the {header} header was sent more than once")
        if values and values[0]:
            return _pem_to_der(unquote(values[0]))
    return None


def _is_trusted(remote: str, proxies: list[str]) -> bool:
    return in_networks(remote, tuple(proxies))


def in_networks(address: str, networks: tuple[str, ...]) -> bool:
    """Whether an address lies in one of these addresses or networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _parsed_networks(networks))


@functools.lru_cache(maxsize=16)
def _parsed_networks(
    networks: Sequence[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network, strict=False))
        except ValueError:
            continue  # a malformed entry trusts nobody (the CLI rejects them at start-up)
    return tuple(parsed)


_LONG_SEGMENT = re.compile(r"[^/]{33,}")  # where a token could be, in an unknown path


def loggable_path(scope: Scope) -> str:
    """The request path, unless a part of it may be a token: a routed path with parameters
    is logged as its template (the config API takes a raw token in `.../token/revoke/{tknCde}`);
    an unknown path with its long segments elided."""
    route = scope.get("route")
    path = str(scope["path"])
    if route is not None:
        template = str(route.path)
        return template if "{" in template else path
    return _LONG_SEGMENT.sub("...", path)


_PEM_MARKER = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]+-----")


def _pem_to_der(pem: str) -> bytes | None:
    """The first certificate of a PEM text (newlines or, as some proxies send it, spaces
    between the lines), or of bare base64 DER."""
    text = pem.strip()
    markers = list(_PEM_MARKER.finditer(text))
    if len(markers) >= 2:
        text = text[markers[0].end() : markers[1].start()]
    body = "".join(text.split())
    try:
        return base64.b64decode(body, validate=True) or None
    except ValueError:
        return None
