"""What the per-request observation takes from a request (web/observe.py, web/requests.py)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.routing import Route

from tokenrevoke.settings import Settings
from tokenrevoke.web.observe import endpoint_label, incoming_request_id
from tokenrevoke.web.requests import client_address, loggable_path, may_read_metrics

Headers = list[tuple[bytes, bytes]]


def scope(path: str = "/x", method: str = "GET", peer: str = "127.0.0.1",
          headers: Headers | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"type": "http", "method": method, "path": path, "headers": headers or [],
            "client": (peer, 5000), "query_string": b"", **extra}  # fmt: skip


async def _endpoint(request: Request) -> None:  # pragma: no cover - never called
    return None


@pytest.mark.parametrize(
    ("value", "kept"),
    [(b"abc-123", True), (b"0f" * 64, True), (b"a/b+c=d:e.f_g", True),
     (b"", False), (b"-leading-dash", False), (b"has space", False), (b"x" * 129, False),
     (b"tab\there", False), (b"\xff", False)],
)  # fmt: skip
def test_request_id_header_kept_only_when_sane(value: bytes, kept: bool) -> None:
    result = incoming_request_id(scope(headers=[(b"x-request-id", value)]))
    assert result == (value if kept else None)


def test_labels_and_logged_paths_never_carry_raw_path_parameters() -> None:
    revoke = Route("/api/token/revoke/{tknCde}", _endpoint)
    routed = scope("/api/token/revoke/RAW-TOKEN-abc", method="DELETE", route=revoke)
    assert endpoint_label(routed) == loggable_path(routed) == "/api/token/revoke/{tknCde}"
    static = scope("/health/live", route=Route("/health/live", _endpoint))
    assert loggable_path(static) == "/health/live"
    unknown = scope("/jans-auth/restv1/revoke/" + "t" * 43 + "/x")
    assert endpoint_label(unknown) == "unmatched"
    assert loggable_path(unknown) == "/jans-auth/restv1/revoke/.../x"


def test_forwarded_for_only_from_a_trusted_proxy() -> None:
    xff = [(b"x-forwarded-for", b"198.51.100.7, 203.0.113.1"), (b"x-forwarded-for", b"10.0.0.2")]
    trusting = Settings(trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    request = Request(scope(headers=xff))
    # The nearest hop that is not a trusted proxy; what the client wrote further left is not it.
    assert client_address(request.headers, trusting, "127.0.0.1") == "203.0.113.1"
    assert client_address(request.headers, Settings(), "127.0.0.1") == "127.0.0.1"
    garbage = Request(scope(headers=[(b"x-forwarded-for", b"not-an-address")]))
    assert client_address(garbage.headers, trusting, "127.0.0.1") == "127.0.0.1"


def test_who_may_read_metrics() -> None:
    default = Settings()
    assert may_read_metrics(Request(scope()), default)
    assert may_read_metrics(Request(scope(peer="::1")), default)
    assert not may_read_metrics(Request(scope(peer="192.0.2.1")), default)
    relayed = [(b"x-forwarded-for", b"203.0.113.1")]
    assert not may_read_metrics(Request(scope(headers=relayed)), default)
    behind_proxy = Settings(trusted_proxies=["127.0.0.1"], metrics_allow=["203.0.113.0/24"])
    assert may_read_metrics(Request(scope(headers=relayed)), behind_proxy)
    assert not may_read_metrics(Request(scope()), Settings(metrics_allow=[]))


def test_text_records_and_their_tracebacks_cannot_start_a_forged_record() -> None:
    """A message is one line; every line of a traceback is indented (an exception's own
    message may hold a newline and a time stamp)."""
    import logging
    import sys

    from tokenrevoke.observability.logs import TEXT_FORMAT, TextFormatter

    try:
        raise ValueError("bad\n2026-12-06 21:00:00,000 CRITICAL root [-] forged")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "tokenrevoke.x", logging.ERROR, __file__, 1, "client %s\r\n\x1b[2K\u2028x", ("a\x85b",),
        exc_info,
    )  # fmt: skip
    record.request_id = "-"
    text = TextFormatter(TEXT_FORMAT).format(record)
    first, *rest = text.split("\n")
    assert first.endswith(r"client a\x85b\x0d\x0a\x1b[2K\u2028x")
    assert rest and all(line.startswith("    ") for line in rest)
    assert "    ValueError: bad" in rest and "\x1b" not in text and "\r" not in text
