"""Turning HTTP requests into `OAuthRequest`s: body limits, form parsing, client certificates.

Forms are parsed with `urllib.parse.parse_qsl` (Starlette's multipart-capable form parser
is an order of magnitude slower on these hot paths).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from urllib.parse import parse_qsl, unquote

from starlette.requests import ClientDisconnect, Request

from tokenrevoke.oauth.errors import OAuthError, invalid_request
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.settings import Settings

FORM = "application/x-www-form-urlencoded"


def payload_too_large(limit: int) -> OAuthError:
    return OAuthError(413, "invalid_request", f"request body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
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
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise payload_too_large(limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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


async def oauth_request(
    request: Request, settings: Settings, *, query: bool = False
) -> OAuthRequest:
    if query or request.method in ("GET", "HEAD"):
        params = parse_form(request.url.query)
    else:
        body = await read_body(request, settings.max_body_bytes)
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if body and content_type != FORM:
            raise invalid_request(f"the request body must be {FORM}")
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            raise invalid_request("the form body must be percent-encoded ASCII") from None
        params = parse_form(text)
    remote = request.client.host if request.client else None
    return OAuthRequest(
        params=params,
        authorization=request.headers.get("authorization"),
        client_cert=client_certificate(request, settings, remote),
        endpoint=settings.base_url + request.scope["path"],  # request.url: a URL parse
        headers=request.headers,
        remote_addr=remote,
    )


def client_certificate(request: Request, settings: Settings, remote: str | None) -> bytes | None:
    """DER of the client's certificate: from our own TLS handshake, or from a trusted
    TLS-terminating proxy's header when the connection comes from that proxy."""
    tls = request.scope.get("extensions", {}).get("tls")
    if tls and tls.get("client_cert_chain"):
        return _pem_to_der(tls["client_cert_chain"][0])
    header = settings.client_cert_header
    if header and remote and _is_trusted(remote, settings.trusted_proxies):
        value = request.headers.get(header)
        if value:
            return _pem_to_der(unquote(value))
    return None


def _is_trusted(remote: str, proxies: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue  # a malformed entry trusts nobody (the CLI rejects them at start-up)
    return False


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
