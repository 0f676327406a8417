"""Idle and slow connections are not held for ever (docs/security.md, S19): real sockets
against a real server whose deadlines are short for the test (1 s to read a request, 1 s
of keep-alive, 30 connections at most).

Before: 250 connections that never sent a byte, and 250 that sent their headers a byte at
a time, all stayed open for as long as the client liked.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Server

READ_TIMEOUT = 1.0
KEEP_ALIVE = 1.0
MAX_CONNECTIONS = 30
# How long a test waits for the server to close a connection it should close: far above
# the deadlines (a loaded CI machine), far below "for ever".
CLOSED_WITHIN = 10.0
HEALTH = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("connections") / "data",
        extra_args=["--request-read-timeout", str(READ_TIMEOUT),
                    "--keep-alive-timeout", str(KEEP_ALIVE),
                    "--max-connections", str(MAX_CONNECTIONS)],
    ).start()  # fmt: skip
    try:
        yield srv
    finally:
        srv.stop()


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=CLOSED_WITHIN)
    return sock


def closed_by_server(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection (a socket timeout, the
    connection held past CLOSED_WITHIN, fails the test)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def assert_serves(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(HEALTH.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert closed_by_server(sock).startswith(b"HTTP/1.1 200 ")


def test_connections_that_never_send_a_byte_are_closed(server: Server) -> None:
    idle = [connect(server) for _ in range(20)]
    try:
        for sock in idle:
            assert closed_by_server(sock) == b""
    finally:
        for sock in idle:
            sock.close()
    assert_serves(server)


def trickle(sock: socket.socket, head: bytes, filler: bytes) -> bool:
    """Send `head`, then `filler` a byte every 50 ms for ever: True once the server closed
    the connection, False if it still reads after CLOSED_WITHIN."""
    sock.sendall(head)
    deadline = time.monotonic() + CLOSED_WITHIN
    while time.monotonic() < deadline:
        try:
            sock.sendall(filler[:1])
        except OSError:  # reset or broken pipe: closed
            return True
        filler = filler[1:] + filler[:1]
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return True
            except OSError:
                return True
    return False


def test_headers_sent_a_byte_at_a_time_are_cut_off(server: Server) -> None:
    """Slowloris: each byte in time for any per-read timeout, the request never whole."""
    with connect(server) as sock:
        assert trickle(sock, HEALTH[:-2], b"X-Slow: aaaaaaaaaa\r\n")
    assert_serves(server)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/jans-auth/restv1/revoke", "application/x-www-form-urlencoded"),
        ("/jans-auth/restv1/global-token-revocation", "application/json"),
        ("/jans-config-api/api/v1/openid/clients", "application/json"),
    ],
)
def test_a_body_sent_slowly_is_cut_off(server: Server, path: str, media_type: str) -> None:
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 9999\r\n"
            f"Content-Type: {media_type}\r\n\r\n").encode()  # fmt: skip
    with connect(server) as sock:
        assert trickle(sock, head, b"a")
    assert_serves(server)


def test_a_kept_alive_connection_serves_then_closes_when_idle(server: Server) -> None:
    with connect(server) as sock:
        for _ in range(3):  # requests sent promptly are served, again and again
            sock.sendall(HEALTH)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer
        assert closed_by_server(sock) == b""  # then idle: closed


def test_connections_beyond_the_bound_are_closed_at_once(server: Server) -> None:
    held = [connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # every one accepted
        with connect(server) as extra:
            extra.settimeout(READ_TIMEOUT / 2)  # closed before any deadline could fire
            try:
                extra.sendall(HEALTH)
                assert extra.recv(65536) == b""
            except (ConnectionResetError, BrokenPipeError):
                pass
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert_serves(server)


def test_the_limits_are_settings(tmp_path: Path) -> None:
    from tests.support.server import cli

    result = cli(tmp_path / "data", "serve", "--max-connections", "0", check=False)
    assert result.returncode != 0 and "max-connections" in result.stderr
    settings = tmp_path / "tokenrevoke.toml"
    settings.write_text("request_read_timeout = -1\n")
    result = cli(tmp_path / "data", "serve", "--config", str(settings), check=False)
    assert result.returncode != 0 and "timeouts must be positive" in result.stderr


def test_no_unexpected_error_in_the_log(server: Server) -> None:
    """Last: cutting connections off (a request half read included) logged no error."""
    assert_serves(server)
    log = server.log()
    assert "Traceback" not in log and "unexpected error" not in log, log[-3000:]
