"""What must hold before the server starts, checked up front so that each failure is one
line saying what is wrong, where, and what to do (docs/cli.md, *Errors*): the data
directory, the store, the master key, the TLS files, the listening socket."""

from __future__ import annotations

import binascii
import errno
import os
import socket
import sqlite3
import ssl
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tokenrevoke.crypto import SecretBox
from tokenrevoke.settings import Settings
from tokenrevoke.store import Store, StoreUnavailable, open_store

DEBUG_ENV = "TOKENREVOKE_DEBUG"
_KEY_CHECK = "master_key_check"


class StartupError(Exception):
    """A reason the server (or a local command) cannot start, as one line for the operator."""


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def shown_url(url: str) -> str:
    """A database URL fit for a message: the password left out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc))


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_data_dir(data_dir: Path) -> None:
    """The data directory exists (created if need be) and this process can write in it."""
    where = data_dir.resolve()
    try:  # owner only, as the store would create it (docs/security.md, S20)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(
            f"cannot create the data directory {where} ({_reason(exc)}): "
            "choose another with --data-dir or TOKENREVOKE_DATA_DIR"
        ) from exc
    try:  # a real write: permission bits do not tell for root, read-only mounts, ...
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        raise StartupError(
            f"the data directory {where} is not writable ({_reason(exc)}): "
            "fix its permissions or choose another with --data-dir"
        ) from exc


def key_source(settings: Settings) -> str:
    if os.environ.get("TOKENREVOKE_MASTER_KEY"):
        return "TOKENREVOKE_MASTER_KEY"
    return str((settings.data_dir / "master.key").resolve())


def read_master_key(settings: Settings) -> bytes:
    source = key_source(settings)
    if source != "TOKENREVOKE_MASTER_KEY":
        check_data_dir(settings.data_dir)
    try:
        key = settings.master_key()
        if len(key) < 32:
            raise ValueError("it decodes to fewer than 32 bytes")
        return key
    except (ValueError, binascii.Error) as exc:
        raise StartupError(
            f"the master key in {source} is not valid ({exc}): it must be base64url of at "
            "least 32 random bytes"
        ) from exc
    except OSError as exc:
        raise StartupError(f"cannot read the master key {source}: {_reason(exc)}") from exc


async def open_checked(settings: Settings) -> tuple[Store, SecretBox]:
    """The store at `settings.store_url`, migrated, with the master key it was initialised
    with (recorded at first use); any failure as a StartupError."""
    url = settings.store_url
    if url.startswith("sqlite:///"):
        check_data_dir(settings.data_dir)
    elif not url.startswith(("postgresql://", "postgres://")):
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise StartupError(
            f"--database-url {scheme}://... is not supported: use "
            "postgresql://user@host:5432/database, or leave it out for SQLite in --data-dir"
        )
    store = await _open(url, settings)
    try:
        box = SecretBox(read_master_key(settings))
        await check_master_key(store, box, settings)
    except BaseException:
        await store.close()
        raise
    return store, box


async def _open(url: str, settings: Settings) -> Store:
    shown = shown_url(url)
    try:
        return await open_store(url)
    except StoreUnavailable as exc:
        cause = exc.__cause__ or exc
        raise StartupError(
            f"cannot reach PostgreSQL at {shown} ({cause}): start it, or correct "
            "--database-url / TOKENREVOKE_DATABASE_URL"
        ) from exc
    except sqlite3.Error as exc:
        raise StartupError(
            f"cannot open the SQLite store {url.removeprefix('sqlite:///')} ({exc}): check "
            "the file's permissions, or choose another --data-dir"
        ) from exc
    except OSError as exc:
        raise StartupError(f"cannot open the store {shown}: {_reason(exc)}") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("asyncpg"):  # refused login, no such database
            raise StartupError(
                f"PostgreSQL at {shown} refused: {exc} (correct --database-url)"
            ) from exc
        raise


async def check_master_key(store: Store, box: SecretBox, settings: Settings) -> None:
    """The first key to open a store is recorded (as a check value, never the key); any
    other key is refused here rather than failing later to decrypt what the store holds."""
    mine = box.key_check()
    recorded = await store.record_fact(_KEY_CHECK, mine)
    if recorded != mine:
        raise StartupError(
            f"the master key from {key_source(settings)} is not the one the store "
            f"{shown_url(settings.store_url)} was initialised with: every node sharing a "
            "database must use the same key (copy master.key from the first node's data "
            "directory, or set TOKENREVOKE_MASTER_KEY to it)"
        )


def check_tls(settings: Settings) -> None:
    """Every TLS file exists, reads and parses; the certificate matches its key."""
    files = [("--tls-cert", settings.tls_cert), ("--tls-key", settings.tls_key),
             ("--tls-client-ca", settings.tls_client_ca)]  # fmt: skip
    for option, path in files:
        if path is None:
            continue
        try:
            path.read_bytes()
        except OSError as exc:
            raise StartupError(f"{option} {path}: {_reason(exc)}") from exc
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    for option, path in (("--tls-cert", settings.tls_cert),
                         ("--tls-client-ca", settings.tls_client_ca)):  # fmt: skip
        if path is None:
            continue
        try:
            x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError:
            raise StartupError(f"{option} {path}: no PEM certificate in this file") from None
    if settings.tls_key:
        try:
            load_pem_private_key(settings.tls_key.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise StartupError(
                f"--tls-key {settings.tls_key}: not an unencrypted PEM private key ({exc})"
            ) from None
    if settings.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key or ""))
        except ssl.SSLError as exc:
            raise StartupError(
                f"--tls-key {settings.tls_key} is not the private key of the certificate in "
                f"--tls-cert {settings.tls_cert} ({exc.reason or exc})"
            ) from exc


def bind_socket(settings: Settings) -> socket.socket:
    """The listening socket, bound now: the port is known to be ours before anything is
    created or announced. Handed to uvicorn (and its workers)."""
    host, port = settings.host, settings.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"port {port} on {host} is already in use: stop what listens there "
                "(another tokenrevoke?) or choose another --port"
            ) from exc
        if exc.errno == errno.EACCES:
            raise StartupError(
                f"not allowed to listen on port {port} on {host} (ports below 1024 need "
                "privileges): choose another --port"
            ) from exc
        raise StartupError(
            f"cannot listen on {host}:{port} ({_reason(exc)}): check --host"
        ) from exc
    sock.set_inheritable(True)
    return sock
