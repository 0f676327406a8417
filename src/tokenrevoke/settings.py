"""Process settings (how to run), as opposed to auth-server properties (how to behave).

Every option also reads an environment variable `TOKENREVOKE_<NAME>`.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from tokenrevoke.store.factory import sqlite_url

LOOPBACK = ("127.0.0.0/8", "::1")


@dataclass(slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("tokenrevoke-data")
    database_url: str | None = None
    redis_url: str | None = None
    issuer: str | None = None
    workers: int = 1
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    # Behind a TLS terminator: take the client certificate (URL-encoded PEM) from this
    # header, but only on connections from these addresses.
    client_cert_header: str | None = None
    trusted_proxies: list[str] = field(default_factory=list)
    max_body_bytes: int = 1024 * 1024
    # Connections (web/protocol.py): a request must be read whole this many seconds after
    # the connection opened or its first byte came (0: no limit); an idle kept-alive
    # connection is closed after keep_alive_timeout; beyond max_connections open at once,
    # a new one is closed without being read.
    request_read_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1000
    log_level: str = "info"
    log_format: str = "text"  # or "json": one object per line (observability/logs.py)
    access_log: bool = False  # one line per request: method, path, status, duration
    # Who may read /metrics: these addresses or networks, connecting directly (behind a
    # trusted proxy: the forwarded address). Empty: nobody.
    metrics_allow: list[str] = field(default_factory=lambda: list(LOOPBACK))

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def base_url(self) -> str:
        if self.issuer:
            return self.issuer.rstrip("/")
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def store_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    def master_key(self) -> bytes:
        """From TOKENREVOKE_MASTER_KEY (base64url), else `<data dir>/master.key`, created on
        first use with mode 0600. Several nodes sharing one database must share this key."""
        env = os.environ.get("TOKENREVOKE_MASTER_KEY")
        if env:
            key = base64.urlsafe_b64decode(env + "=" * (-len(env) % 4))
            if len(key) < 32:
                raise ValueError("TOKENREVOKE_MASTER_KEY must decode to at least 32 bytes")
            return key
        path = self.data_dir / "master.key"
        if not path.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        return base64.urlsafe_b64decode(path.read_text().strip())


class SettingsFileError(ValueError):
    pass


_PATH_FIELDS = {"data_dir", "tls_cert", "tls_key", "tls_client_ca"}
_TYPES: dict[str, type | tuple[type, ...]] = {
    "host": str,
    "port": int,
    "data_dir": str,
    "database_url": str,
    "redis_url": str,
    "issuer": str,
    "workers": int,
    "tls_cert": str,
    "tls_key": str,
    "tls_client_ca": str,
    "client_cert_header": str,
    "trusted_proxies": list,
    "max_body_bytes": int,
    "request_read_timeout": (int, float),
    "keep_alive_timeout": (int, float),
    "max_connections": int,
    "log_level": str,
    "log_format": str,
    "access_log": bool,
    "metrics_allow": list,
}


def read_settings_file(path: Path) -> dict[str, object]:
    """Process settings from a TOML file (keys are the `serve` option names with
    underscores, e.g. `database_url`). Unknown keys and wrong types are errors."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsFileError(f"{path}: {exc}") from None
    values: dict[str, object] = {}
    for key, value in data.items():
        if key not in _TYPES:
            raise SettingsFileError(f"{path}: unknown setting {key!r} (known: {', '.join(_TYPES)})")
        kind = _TYPES[key]
        if isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
            raise SettingsFileError(f"{path}: {key} has the wrong type")
        values[key] = Path(str(value)) if key in _PATH_FIELDS else value
    return values
