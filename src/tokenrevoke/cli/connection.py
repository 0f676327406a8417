"""How the admin commands reach the config API: connection options, profiles, errors.

Every admin command gets the same options (`--url`, `--client-id`, `--client-secret`,
`--ca-cert`, `--insecure`, `--profile`), each also read from an environment variable. A
value given as an option or in the environment wins over the profile, which wins over the
default. Profiles live in a TOML file (see docs/cli.md):

    [default]
    url = "https://auth.example.com"
    client_id = "..."
    client_secret = "..."
    ca_cert = "/etc/ssl/example-ca.pem"   # relative paths are relative to the file
"""

from __future__ import annotations

import functools
import inspect
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from typer.models import ArgumentInfo, OptionInfo

from tokenrevoke.apiclient import ApiClientError, ConfigApiClient
from tokenrevoke.cli.common import fail

DEFAULT_URL = "http://127.0.0.1:8080"
PROFILE_KEYS = {"url", "client_id", "client_secret", "ca_cert", "insecure"}
PANEL = "Connection"


def profiles_path() -> Path:
    """`$TOKENREVOKE_PROFILES`, else `$XDG_CONFIG_HOME/tokenrevoke/profiles.toml` (by default
    `~/.config/tokenrevoke/profiles.toml`)."""
    explicit = os.environ.get("TOKENREVOKE_PROFILES")
    if explicit:
        return Path(explicit).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "tokenrevoke" / "profiles.toml"


def load_profile(name: str | None) -> dict[str, Any]:
    """The named profile; without a name, `[default]` if the file has one, else nothing."""
    path = profiles_path()
    if not path.is_file():
        if name is not None:
            raise fail(f"profile {name!r} requested but there is no profile file {path}")
        return {}
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise fail(f"cannot read the profile file {path}: {exc}") from None
    profile = profiles.get(name or "default")
    if profile is None:
        if name is not None:
            known = ", ".join(sorted(profiles)) or "none"
            raise fail(f"no profile {name!r} in {path} (profiles: {known})")
        return {}
    if not isinstance(profile, dict):
        raise fail(f"profile {name or 'default'!r} in {path} must be a table ([{name}])")
    unknown = set(profile) - PROFILE_KEYS
    if unknown:
        raise fail(
            f"profile {name or 'default'!r} in {path}: unknown keys {sorted(unknown)} "
            f"(known: {', '.join(sorted(PROFILE_KEYS))})"
        )
    for key, value in profile.items():
        if key == "insecure" and not isinstance(value, bool):
            raise fail(f"profile {name or 'default'!r} in {path}: insecure must be true or false")
        if key != "insecure" and not isinstance(value, str):
            raise fail(f"profile {name or 'default'!r} in {path}: {key} must be a string")
    if "ca_cert" in profile:
        profile["ca_cert"] = str(path.parent / Path(profile["ca_cert"]).expanduser())
    return profile


@dataclass(frozen=True, slots=True)
class Connection:
    url: str
    client_id: str
    client_secret: str
    verify: bool | str  # True, False (--insecure) or a CA file

    def client(self) -> ConfigApiClient:
        return ConfigApiClient(self.url, self.client_id, self.client_secret, verify=self.verify)


def resolve(
    url: str | None,
    client_id: str | None,
    client_secret: str | None,
    ca_cert: Path | None,
    insecure: bool,
    profile: str | None,
) -> Connection:
    """Options and environment over the profile over the defaults."""
    chosen = load_profile(profile)
    url = url or chosen.get("url") or DEFAULT_URL
    client_id = client_id or chosen.get("client_id")
    client_secret = client_secret or chosen.get("client_secret")
    if not url.startswith(("http://", "https://")):
        raise fail(f"--url must start with http:// or https://, got {url!r}")
    if not client_id or not client_secret:
        raise fail(
            "the admin client's credentials are missing: pass --client-id and --client-secret, "
            "set TOKENREVOKE_CLIENT_ID and TOKENREVOKE_CLIENT_SECRET, or use a profile "
            f"(--profile, {profiles_path()})"
        )
    if ca_cert or insecure:  # an explicit choice replaces the profile's
        ca = str(ca_cert) if ca_cert else None
    else:
        ca = chosen.get("ca_cert")
        insecure = bool(chosen.get("insecure", False))
    if ca and insecure:
        raise fail("--ca-cert (ca_cert) and --insecure (insecure) contradict each other")
    if ca and not Path(ca).is_file():
        raise fail(f"CA certificate file {ca} does not exist")
    verify: bool | str = ca if ca else not insecure
    return Connection(url, client_id, client_secret, verify)


@dataclass(frozen=True, slots=True)
class _Option:
    name: str  # the wrapper's keyword (prefixed: a command may have its own `client_id`)
    decls: tuple[str, ...]
    kind: Any
    default: Any
    envvar: str
    help: str


OPTIONS = (
    _Option(
        "conn_url",
        ("--url",),
        str | None,
        None,
        "TOKENREVOKE_URL",
        f"Server base URL \\[default: {DEFAULT_URL}].",
    ),
    _Option(
        "conn_client_id",
        ("--client-id", "--admin-client-id"),
        str | None,
        None,
        "TOKENREVOKE_CLIENT_ID",
        "Admin client id (a client with config-API scopes).",
    ),
    _Option(
        "conn_client_secret",
        ("--client-secret", "--admin-client-secret"),
        str | None,
        None,
        "TOKENREVOKE_CLIENT_SECRET",
        "Admin client secret (prefer the environment variable or a profile).",
    ),
    _Option(
        "conn_ca_cert",
        ("--ca-cert",),
        Path | None,
        None,
        "TOKENREVOKE_CA_CERT",
        "CA bundle that signed the server's TLS certificate.",
    ),
    _Option(
        "conn_insecure",
        ("--insecure",),
        bool,
        False,
        "TOKENREVOKE_INSECURE",
        "Do not verify the server's TLS certificate (testing only).",
    ),
    _Option(
        "conn_profile",
        ("--profile",),
        str | None,
        None,
        "TOKENREVOKE_PROFILE",
        "Profile in the profile file (default: \\[default], if the file has one).",
    ),
)


def _declared(parameter: inspect.Parameter) -> set[str]:
    """The option strings a command parameter takes (none for an argument)."""
    metadata = getattr(parameter.annotation, "__metadata__", ())
    if any(isinstance(m, ArgumentInfo) for m in metadata):
        return set()
    infos = [m for m in metadata if isinstance(m, OptionInfo)]
    if not infos and parameter.default is inspect.Parameter.empty:
        return set()  # typer makes it an argument
    decls: list[Any] = [infos[0].default, *(infos[0].param_decls or ())] if infos else []
    flags = {
        part.strip()
        for decl in decls
        if isinstance(decl, str)
        for part in decl.split("/")
        if part.strip().startswith("-")
    }
    if not any(flag.startswith("--") for flag in flags):
        flags.add("--" + parameter.name.replace("_", "-"))
    return flags


def connection_parameters(taken: set[str]) -> list[inspect.Parameter]:
    """The connection options as keyword parameters, without the option strings the
    command itself uses (`client create --client-id` is the new client's id; there the
    admin's is `--admin-client-id`)."""
    out = []
    for option in OPTIONS:
        decls = [d for d in option.decls if d not in taken]
        if not decls:
            continue
        info = typer.Option(
            *decls,
            envvar=option.envvar,
            help=option.help,
            rich_help_panel=PANEL,
            show_default=option.default is not None,
        )
        annotation = cast(Any, Annotated)[option.kind, info]
        out.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=option.default,
                annotation=annotation,
            )
        )
    return out


def explain(exc: ApiClientError) -> str:
    """One line for the operator: the server's description where it gave one; when to
    retry, where the server said (429, 503)."""
    description = exc.description
    if exc.retry_after is not None or exc.status == 429 or exc.status is None:
        return " ".join(str(exc).split())
    if description:
        description = " ".join(description.split())
        if exc.status == 403:
            return f"forbidden: {description}"
        return f"{description} (HTTP {exc.status})"
    return " ".join(str(exc).split())


def _with_connection(
    command: Callable[..., None], first: str, call: Callable[..., None]
) -> Callable[..., None]:
    """`command` without its first parameter (`first`), plus the connection options; `call`
    gets the resolved Connection, the command and the command's own arguments."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != first]
    taken = set().union(*(_declared(p) for p in own))
    added = connection_parameters(taken)

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        given = {o.name: kwargs.pop(o.name, o.default) for o in OPTIONS}
        conn = resolve(
            url=given["conn_url"],
            client_id=given["conn_client_id"],
            client_secret=given["conn_client_secret"],
            ca_cert=given["conn_ca_cert"],
            insecure=given["conn_insecure"],
            profile=given["conn_profile"],
        )
        call(conn, command, kwargs)

    wrapper.__dict__["__signature__"] = signature.replace(parameters=[*own, *added])
    return wrapper


def _call_with_api(conn: Connection, command: Callable[..., None], kwargs: dict[str, Any]) -> None:
    try:
        with conn.client() as api:
            command(api, **kwargs)
    except ApiClientError as exc:
        raise fail(explain(exc)) from None


def _call_with_connection(
    conn: Connection, command: Callable[..., None], kwargs: dict[str, Any]
) -> None:
    command(conn, **kwargs)


def admin_command(command: Callable[..., None]) -> Callable[..., None]:
    """For `def cmd(api: ConfigApiClient, ...)`: adds the connection options, opens the API
    client, and turns any ApiClientError into `error: ...` and exit code 1."""
    return _with_connection(command, "api", _call_with_api)


def connection_command(command: Callable[..., None]) -> Callable[..., None]:
    """For `def cmd(conn: Connection, ...)`: adds the connection options only."""
    return _with_connection(command, "conn", _call_with_connection)
