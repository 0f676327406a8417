"""Every start-up failure is one line on stderr naming what, where and what to do, with a
non-zero exit status and no traceback (unless --debug); the server announces itself (and
the one-time admin secret) only once it answers. Through the real CLI, as an operator."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.pki import CertificateAuthority
from tests.support.postgres import throwaway_database
from tests.support.server import HERMETIC_ENV, free_port, run_cli


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("serve", "--port", str(free_port()), *args, check=False, env=env)


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The failure as the operator sees it: exit 1, one `error:` line, nothing else."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    assert "Traceback" not in result.stderr + result.stdout
    assert "listening" not in result.stdout
    assert "client secret" not in result.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """A directory no one can write in: permission bits for a user, the immutable flag
    for root (whom permission bits do not stop)."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("root without `chattr +i` here: no way to make a read-only directory")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_data_dir(tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "ro") as ro:
        one_line_error(serve("--data-dir", str(ro)), str(ro), "not writable", "--data-dir")
        one_line_error(
            serve("--data-dir", str(ro / "data")), str(ro / "data"), "cannot create", "--data-dir"
        )


def test_unreachable_postgres(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://someone:hunter2-password@127.0.0.1:{port}/db"
    line = one_line_error(
        serve("--data-dir", str(tmp_path / "d"), "--database-url", url),
        "cannot reach PostgreSQL",
        f"127.0.0.1:{port}",
        "--database-url",
    )
    assert "hunter2" not in line  # the password is not printed
    assert not (tmp_path / "d" / "master.key").exists()  # nothing created on the way


def test_unsupported_database_scheme(tmp_path: Path) -> None:
    one_line_error(
        serve("--data-dir", str(tmp_path), "--database-url", "mysql://root@localhost/x"),
        "mysql://",
        "not supported",
        "postgresql://",
    )


def test_missing_tls_files(tmp_path: Path) -> None:
    cert, key = tmp_path / "no-cert.pem", tmp_path / "no-key.pem"
    base = ("--data-dir", str(tmp_path / "d"))
    one_line_error(
        serve(*base, "--tls-cert", str(cert), "--tls-key", str(key)),
        f"--tls-cert {cert}",
        "No such file",
    )
    one_line_error(serve(*base, "--tls-client-ca", str(tmp_path / "ca.pem")), "--tls-client-ca")
    assert not (tmp_path / "d").exists()  # checked before anything was created


def test_bad_pem_and_mismatched_key(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    cert, key = ca.server("server").files()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    base = ("--data-dir", str(tmp_path / "d"))
    one_line_error(serve(*base, "--tls-cert", str(garbage), "--tls-key", str(key)),
                   f"--tls-cert {garbage}", "PEM")  # fmt: skip
    one_line_error(serve(*base, "--tls-cert", str(cert), "--tls-key", str(garbage)),
                   f"--tls-key {garbage}", "private key")  # fmt: skip
    _, other_key = ca.server("other").files()
    one_line_error(serve(*base, "--tls-cert", str(cert), "--tls-key", str(other_key)),
                   "is not the private key of the certificate")  # fmt: skip
    one_line_error(serve(*base, "--tls-client-ca", str(garbage)), "--tls-client-ca", "PEM")


def test_short_admin_secret(tmp_path: Path) -> None:
    one_line_error(
        serve("--data-dir", str(tmp_path), "--admin-client-secret", "short"),
        "--admin-client-secret",
        "at least 16",
    )


def test_port_in_use_announces_and_creates_nothing(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli(
            "serve", "--port", str(port), "--data-dir", str(tmp_path / "d"), check=False
        )
    one_line_error(result, f"port {port}", "already in use", "--port")
    assert not (tmp_path / "d").exists()  # no admin client made whose secret would be lost


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def test_different_master_key_sqlite(tmp_path: Path) -> None:
    data = tmp_path / "d"
    run_cli("init", "--data-dir", str(data))
    (data / "master.key").write_text(_key())
    line = one_line_error(serve("--data-dir", str(data)), "master key", "not the one")
    assert str(data / "master.key") in line
    # Local commands say the same.
    result = run_cli("user", "create", "--username", "u", "--password", "p" * 12,
                     "--data-dir", str(data), check=False)  # fmt: skip
    one_line_error(result, "master key", "not the one")


@pytest.mark.postgres
def test_different_master_key_postgres(tmp_path: Path) -> None:
    with throwaway_database() as url:
        first = {"TOKENREVOKE_MASTER_KEY": _key()}
        run_cli("init", "--data-dir", str(tmp_path / "a"), "--database-url", url, env=first)
        second = {"TOKENREVOKE_MASTER_KEY": _key()}
        one_line_error(
            serve("--data-dir", str(tmp_path / "b"), "--database-url", url, env=second),
            "TOKENREVOKE_MASTER_KEY",
            "not the one",
            "same key",
        )
        # The right key still opens it.
        run_cli("init", "--data-dir", str(tmp_path / "a"), "--database-url", url, env=first)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_cli("--debug", "serve", "--data-dir", str(tmp_path),
                     "--database-url", "mysql://x/y", check=False)  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "StartupError" in result.stderr


def test_announces_and_shows_the_secret_once_it_answers(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "tokenrevoke.cli.main", "serve", "--port", str(port),
               "--data-dir", str(tmp_path / "d")]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env={**os.environ, **HERMETIC_ENV})  # fmt: skip
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "listening" in line:
                break
        # Printed after the server answered: it answers now, with no waiting.
        response = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=5)
        assert response.status_code == 200
        text = "".join(seen)
        assert "client secret:" in text
        assert text.index("client secret:") < text.index("listening")
    finally:
        process.terminate()
        process.wait(timeout=20)
