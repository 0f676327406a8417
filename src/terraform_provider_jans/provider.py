"""The provider: its configuration block and the resource and data source types it serves.

Configuring the provider makes no network call; the client authenticates lazily, once per
scope, when a resource or data source first needs the API. Missing credentials are
reported then, so operations that need no API call (destroying a jans_token_revocation)
work without them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from terraform_provider_jans import SOURCE
from terraform_provider_jans.client import JansClient, JansError, Settings, verify_setting
from terraform_provider_jans.schema import BOOL, NUMBER, STRING, Attr, Schema
from terraform_provider_jans.tfbridge import Diagnostics, is_unknown

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 4

PROVIDER_SCHEMA = Schema(
    description=(
        "The Janssen provider manages a Janssen Server (or a wire-compatible server such as "
        "tokenrevoke) through its config API."
    ),
    attributes=(
        Attr(
            "url",
            STRING,
            "Base URL of the Janssen server, e.g. `https://janssen.example.com` (no path). "
            "Required: set it here or with the `JANS_URL` environment variable.",
            optional=True,
        ),
        Attr(
            "client_id",
            STRING,
            "Client ID of the Janssen client the provider authenticates as (HTTP Basic at "
            "the token endpoint). Can also be set with `JANS_CLIENT_ID`.",
            optional=True,
        ),
        Attr(
            "client_secret",
            STRING,
            "Client secret of that client. Can also be set with `JANS_CLIENT_SECRET`.",
            optional=True,
            sensitive=True,
        ),
        Attr(
            "insecure_client",
            BOOL,
            "Skip TLS certificate verification. Only for test servers. Can also be set with "
            "`JANS_INSECURE_CLIENT` (`true`/`false`). Defaults to `false`.",
            optional=True,
        ),
        Attr(
            "ca_certificate",
            STRING,
            "Path of a PEM file with the CA certificate(s) to trust for the server's TLS "
            "certificate, for servers with a private CA. Can also be set with "
            "`JANS_CA_CERTIFICATE`.",
            optional=True,
        ),
        Attr(
            "request_timeout",
            NUMBER,
            "Timeout of each HTTP request, in seconds. Can also be set with "
            f"`JANS_REQUEST_TIMEOUT`. Defaults to `{DEFAULT_TIMEOUT:g}`.",
            optional=True,
        ),
        Attr(
            "max_retries",
            NUMBER,
            "How many times a request is retried after a connection error, an HTTP 5xx or "
            "a 429, with exponential backoff (`Retry-After` is honoured). Can also be set "
            f"with `JANS_MAX_RETRIES`. Defaults to `{DEFAULT_MAX_RETRIES}`.",
            optional=True,
        ),
    ),
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigurationError(JansError):
    pass


class MissingUrl(ConfigurationError):
    pass


def _value(config: Mapping[str, Any], name: str, env: Mapping[str, str], var: str) -> Any:
    value = config.get(name)
    if value is None or is_unknown(value):
        return env.get(var)
    return value


def settings_from(config: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """Provider block first, environment second; raises ConfigurationError."""
    url = _value(config, "url", env, "JANS_URL")
    if not url:
        raise MissingUrl(
            "The provider's url is not set",
            'Set url in the provider "jans" block or the JANS_URL environment variable to '
            "the Janssen server's base URL, e.g. https://janssen.example.com.",
        )
    url = str(url)
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            "The provider's url is not an http(s) URL",
            f"url is {url!r}; it must start with https:// (or http:// for a local server).",
        )
    insecure = _value(config, "insecure_client", env, "JANS_INSECURE_CLIENT")
    if isinstance(insecure, str):
        text = insecure.strip().lower()
        if text not in _TRUE | _FALSE:
            raise ConfigurationError(
                "JANS_INSECURE_CLIENT is not a boolean",
                f"It is {insecure!r}; use true or false.",
            )
        insecure = text in _TRUE
    timeout = _number(config, "request_timeout", env, "JANS_REQUEST_TIMEOUT", DEFAULT_TIMEOUT)
    retries = _number(config, "max_retries", env, "JANS_MAX_RETRIES", DEFAULT_MAX_RETRIES)
    if timeout <= 0:
        raise ConfigurationError("request_timeout must be positive", f"It is {timeout:g}.")
    if retries < 0 or retries != int(retries):
        raise ConfigurationError(
            "max_retries must be a whole number, 0 or more", f"It is {retries:g}."
        )
    return Settings(
        url=url,
        client_id=str(_value(config, "client_id", env, "JANS_CLIENT_ID") or ""),
        client_secret=str(_value(config, "client_secret", env, "JANS_CLIENT_SECRET") or ""),
        insecure=bool(insecure),
        ca_certificate=_value(config, "ca_certificate", env, "JANS_CA_CERTIFICATE") or None,
        timeout=timeout,
        max_retries=int(retries),
    )


def _number(
    config: Mapping[str, Any], name: str, env: Mapping[str, str], var: str, default: float
) -> float:
    value = _value(config, name, env, var)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{var} is not a number", f"It is {value!r}.") from None


class JansProvider:
    """What `tf`'s gRPC servicer drives (its Provider protocol, by duck typing)."""

    def __init__(self) -> None:
        self._client: JansClient | None = None
        self._deferred: JansError | None = None

    # -- tf's Provider protocol --------------------------------------------------------
    def get_model_prefix(self) -> str:
        return "jans_"

    def full_name(self) -> str:
        return SOURCE

    def get_provider_schema(self, diags: Diagnostics) -> Any:
        return PROVIDER_SCHEMA.to_tf()

    def validate_config(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        url = config.get("url")
        if isinstance(url, str) and not url.startswith(("http://", "https://")):
            diags.add_error(
                "url must be an http(s) URL",
                f"url is {url!r}; it must start with https:// (or http://).",
                ["url"],
            )
        for name, low in (("request_timeout", 0.0), ("max_retries", -1.0)):
            value = config.get(name)
            if isinstance(value, int | float) and value <= low:
                diags.add_error(f"{name} is out of range", f"{name} is {value}.", [name])

    def configure_provider(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        try:
            settings = settings_from(config, os.environ)
            verify_setting(settings)  # a bad CA file is a configuration error, say so now
        except MissingUrl as exc:
            # Not every operation needs the server (destroying a token revocation calls
            # nothing): report it when something does.
            self._deferred = exc
            return
        except JansError as exc:
            diags.add_error(exc.summary, exc.detail)
            return
        self._client = JansClient(settings)

    def get_data_sources(self) -> list[type[Any]]:
        from terraform_provider_jans.data_sources import DATA_SOURCES

        return list(DATA_SOURCES)

    def get_resources(self) -> list[type[Any]]:
        from terraform_provider_jans.resources import RESOURCES

        return list(RESOURCES)

    def get_functions(self) -> list[type[Any]]:
        return []

    def new_resource(self, klass: type[Any]) -> Any:
        return klass(self)

    def new_data_source(self, klass: type[Any]) -> Any:
        return klass(self)

    def new_function(self, klass: type[Any]) -> Any:  # pragma: no cover - none defined
        return klass(self)

    # -- for resources -----------------------------------------------------------------
    def client(self) -> JansClient:
        if self._client is None:
            raise self._deferred or JansError(
                "The provider is not configured",
                'Add a provider "jans" block (or set JANS_URL, JANS_CLIENT_ID and '
                "JANS_CLIENT_SECRET).",
            )
        return self._client
