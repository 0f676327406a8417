"""Auth-server properties (Janssen's AppConfiguration JSON names), defaults and validation.

The stored document holds only what an operator set; `AppConfiguration` merges it over the
defaults. Validation happens here, once, so every writer (CLI, config API) gets the same
rules and a bad value is rejected before anything is stored.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from tokenrevoke.model.janssen_properties import JANSSEN_PROPERTIES
from tokenrevoke.model.property_types import PropertyTypeError, check_value
from tokenrevoke.model.typed_config import TypedProperties
from tokenrevoke.paths import AUTH

INT32_MAX = 2**31 - 1


class ConfigError(ValueError):
    """A property that does not exist, has the wrong type, or a bad value."""


class FeatureFlag(StrEnum):
    """Janssen's feature flag names. Empty `featureFlags` means every feature is enabled."""

    UNKNOWN = "UNKNOWN"
    HEALTH_CHECK = "HEALTH_CHECK"
    USERINFO = "USERINFO"
    CLIENTINFO = "CLIENTINFO"
    ID_GENERATION = "ID_GENERATION"
    REGISTRATION = "REGISTRATION"
    INTROSPECTION = "INTROSPECTION"
    REVOKE_TOKEN = "REVOKE_TOKEN"
    REVOKE_SESSION = "REVOKE_SESSION"
    GLOBAL_TOKEN_REVOCATION = "GLOBAL_TOKEN_REVOCATION"
    ACTIVE_SESSION = "ACTIVE_SESSION"
    END_SESSION = "END_SESSION"
    STATUS_SESSION = "STATUS_SESSION"
    JANS_CONFIGURATION = "JANS_CONFIGURATION"
    CIBA = "CIBA"
    UMA = "UMA"
    U2F = "U2F"
    DEVICE_AUTHZ = "DEVICE_AUTHZ"
    METRIC = "METRIC"
    STAT = "STAT"
    PAR = "PAR"
    SSA = "SSA"
    STATUS_LIST = "STATUS_LIST"
    ACCESS_EVALUATION = "ACCESS_EVALUATION"
    RATE_LIMIT = "RATE_LIMIT"


# The flags that gate something here (oauth/revocation.py, introspection.py,
# global_revocation.py, userinfo.py, end_session.py, session_revocation.py and
# discovery.py check them). The other names are Janssen's features that tokenrevoke does
# not have: accepted and stored, so a Janssen `featureFlags` value round-trips, but they
# change nothing. The CLI and the TUI show the difference from here.
IMPLEMENTED_FLAGS: tuple[FeatureFlag, ...] = (
    FeatureFlag.REVOKE_TOKEN,
    FeatureFlag.INTROSPECTION,
    FeatureFlag.GLOBAL_TOKEN_REVOCATION,
    FeatureFlag.USERINFO,
    FeatureFlag.STATUS_LIST,
    FeatureFlag.END_SESSION,
    FeatureFlag.REVOKE_SESSION,
)


def flags_on(configured: Iterable[str]) -> frozenset[FeatureFlag]:
    """The features a `featureFlags` value turns on, as Janssen reads it: the known names
    listed (any case), or every feature when none is (an empty list, or only unknown names)."""
    known = {f.value: f for f in FeatureFlag}
    listed = frozenset(known[n.upper()] for n in configured if n.upper() in known)
    return listed or frozenset(FeatureFlag)


@dataclass(frozen=True, slots=True)
class FlagState:
    """One feature flag as an operator should read it: what `featureFlags` says (Janssen's
    meaning), whether tokenrevoke implements it, and so whether it is in force here."""

    flag: FeatureFlag
    configured: bool

    @property
    def implemented(self) -> bool:
        return self.flag in IMPLEMENTED_FLAGS

    @property
    def enabled(self) -> bool:
        """In force here: configured on and implemented."""
        return self.configured and self.implemented

    @property
    def state(self) -> str:
        """In words; an unimplemented flag is never called enabled."""
        if self.implemented:
            return "enabled" if self.configured else "disabled"
        return f"no effect (configured {'on' if self.configured else 'off'})"


def flag_states(configured: Iterable[str]) -> list[FlagState]:
    """Every flag: the implemented ones first, then the others in Janssen's order."""
    on = flags_on(configured)
    others = [f for f in FeatureFlag if f not in IMPLEMENTED_FLAGS]
    return [FlagState(flag, flag in on) for flag in (*IMPLEMENTED_FLAGS, *others)]


DEFAULT_CORS_FILTER: dict[str, Any] = {
    "filterName": "CorsFilter",
    "corsEnabled": True,
    "corsAllowedOrigins": "*",
    "corsAllowedMethods": "GET,POST,HEAD,OPTIONS",
    "corsAllowedHeaders": "",
    "corsExposedHeaders": "",
    "corsSupportCredentials": True,
    "corsLoggingEnabled": False,
    "corsPreflightMaxAge": 1800,
    "corsRequestDecorate": True,
}

_URL = "url"
# name -> (kind, default). `None` defaults for URLs mean "derived from the issuer".
PROPERTIES: dict[str, tuple[str, Any]] = {
    "issuer": (_URL, None),
    "tokenEndpoint": (_URL, None),
    "tokenRevocationEndpoint": (_URL, None),
    "mtlsTokenRevocationEndpoint": (_URL, None),
    "introspectionEndpoint": (_URL, None),
    "mtlsIntrospectionEndpoint": (_URL, None),
    "mtlsTokenEndpoint": (_URL, None),
    "jwksUri": (_URL, None),
    "authorizationEndpoint": (_URL, None),
    "userInfoEndpoint": (_URL, None),
    "endSessionEndpoint": (_URL, None),
    "allowAllValueForRevokeEndpoint": ("bool", False),
    "allowRevokeForOtherClients": ("bool", False),
    # Ours: true restores Janssen's rule that an access_token/tx_token hint finds only
    # access and tx tokens (a refresh token so revoked stays alive); RFC 7009 section 2.1
    # requires the search to go on, which is the default.
    "revokeTokenTypeHintRestrictsSearch": ("bool", False),
    "featureFlags": ("flags", []),
    "errorReasonEnabled": ("bool", False),
    "accessTokenLifetime": ("posint", 300),
    "refreshTokenLifetime": ("posint", 86400),
    "idTokenLifetime": ("posint", 3600),
    # Browser sign-in (docs/sign-in.md), with Janssen's defaults: codes live a minute;
    # a session at most sessionIdLifetime from sign-in, and sessionIdUnusedLifetime
    # without use; PKCE is required of public clients always, of the others when
    # requirePkce is true.
    "authorizationCodeLifetime": ("posint", 60),
    "sessionIdLifetime": ("posint", 86400),
    "sessionIdUnusedLifetime": ("posint", 86400),
    "requirePkce": ("bool", False),
    # How long a sign-in form may wait for its password (Janssen's unauthenticated
    # session: 120 s there, which a slow typist or a password manager can miss).
    "sessionIdUnauthenticatedUnusedLifetime": ("posint", 600),
    # Janssen's default is false: any live access token could introspect every token
    # (RFC 7662 section 4, token scanning). Ours is true; false restores Janssen's.
    "introspectionAccessTokenMustHaveIntrospectionScope": ("bool", True),
    "introspectionAccessTokenMustHaveUmaProtectionScope": ("bool", False),
    "introspectionRestrictBasicAuthnToOwnTokens": ("bool", False),
    "introspectionSkipAuthorization": ("bool", False),
    "persistRefreshToken": ("bool", True),
    "refreshTokenExtendLifetimeOnRotation": ("bool", False),
    # RP-initiated logout (oauth/end_session.py), Janssen's names and defaults: refuse an
    # expired id_token_hint; require one.
    "rejectEndSessionIfIdTokenExpired": ("bool", False),
    "forceIdTokenHintPresence": ("bool", False),
    "corsConfigurationFilters": ("cors", [DEFAULT_CORS_FILTER]),
    "discoveryAllowedKeys": ("strlist", []),
    "discoveryDenyKeys": ("strlist", []),
    "cleanServiceInterval": ("posint", 60),
    "cleanServiceBatchChunkSize": ("posint", 10000),
    "keyRegenerationEnabled": ("bool", True),
    "keyRegenerationInterval": ("posint", 48),
    # Sets the server's log level (observability/logs.py); unset, --log-level holds.
    "loggingLevel": ("loglevel", None),
    # Ours (not in Janssen): a hung interception script must not hold a request forever.
    "revokeTokenScriptTimeoutMs": ("posint", 1000),
    # Ours (Janssen has no reuse detection): RFC 9700 section 4.14.2. Presenting a refresh
    # token that was already exchanged revokes its whole grant. On by default: a replayed
    # refresh token is the one signal of theft a server gets.
    "refreshTokenReuseDetection": ("bool", True),
    # Ours: for this long after a rotation, the immediately previous refresh token may be
    # exchanged again (a client that lost the response retries); 0 = never.
    "refreshTokenReuseGraceSeconds": ("nonnegint", 0),
    # Ours: failed authentications allowed per window before 429 for a window; 0 turns
    # that throttle off (oauth/throttle.py): per client id from one address, per client id
    # from addresses that never authenticated it, per address (every kind of failure),
    # and wrong passwords per username from one address and from any unknown address.
    "clientAuthFailureLimitPerClient": ("count", 10),
    "clientAuthFailureCeilingPerClient": ("count", 100),
    "clientAuthFailureLimitPerAddress": ("count", 50),
    "clientAuthFailureWindowSeconds": ("window", 60),
    "passwordFailureLimitPerUser": ("count", 10),
    "passwordFailureCeilingPerUser": ("count", 100),
    # Ours: revocation events (docs/events.md). Push receivers (RFC 8935), the longest
    # wait between retries, how long delivered events stay in the outbox (SSE resume),
    # and the SSE heartbeat.
    "revocationEventReceivers": ("receivers", []),
    "revocationEventRetryMaxSeconds": ("posint", 300),
    "revocationEventRetentionSeconds": ("posint", 7 * 86400),
    "revocationEventHeartbeatSeconds": ("posint", 15),
    # Ours: the shortest client secret the config API accepts (Janssen has no minimum; its
    # own examples use 8 characters). A guessable secret is a credential anyone can use.
    "clientSecretMinimumLength": ("posint", 16),
    # Ours: let a client's jwksUri and the event receivers point at loopback, link-local
    # and private addresses (tests, labs). Off: such URLs are refused when saved, against
    # SSRF (configapi/outbound.py).
    "outboundAllowPrivateNetworks": ("bool", False),
    # Token Status List (docs/status-list.md), Janssen's names and defaults: bits per token
    # (1, 2, 4 or 8), the list token's lifetime (its `exp`, seconds), its algorithm (our
    # signing keys are RS256), how many indices a node takes from the store at once.
    "statusListBitSize": ("bits", 2),
    "statusListResponseJwtLifetime": ("posint", 600),
    "statusListResponseJwtSignatureAlgorithm": ("rs256", "RS256"),
    "statusListIndexAllocationBlockSize": ("blocksize", 100),
    # Ours: how long a verifier may cache a list (its `ttl` claim and Cache-Control; at
    # most the lifetime), and the period of a list: a new list starts every period, so a
    # whole list retires once its tokens have expired.
    "statusListTtlSeconds": ("posint", 60),
    "statusListPeriodSeconds": ("posint", 3600),
}
MAX_STATUS_BLOCK = 100_000
# Our extensions: properties Janssen's AppConfiguration does not have.
EXTENSIONS = frozenset(name for name in PROPERTIES if name not in JANSSEN_PROPERTIES)
# Janssen's properties we keep and return but do not act on (docs/configuration.md).
NO_EFFECT = frozenset(name for name in JANSSEN_PROPERTIES if name not in PROPERTIES)
ALL_PROPERTIES = frozenset(PROPERTIES) | NO_EFFECT
# Janssen's level names (its TUI offers these), as loggingLevel takes them.
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")
RECEIVER_KEYS = {"url": True, "authorization": False, "audience": False}  # name -> required

MAX_WINDOW_SECONDS = 86400


def _check_value(name: str, kind: str, value: Any) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if kind in ("posint", "nonnegint"):
        # Janssen's properties are Java ints; larger values would overflow there and here
        # (expiry arithmetic, SQLite integers).
        low, what = (1, "positive") if kind == "posint" else (0, "non-negative")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= INT32_MAX:
            raise ConfigError(f"{name} must be a {what} integer up to {INT32_MAX}, got {value!r}")
        return value
    if kind in ("count", "window"):
        low, high = (0, INT32_MAX) if kind == "count" else (1, MAX_WINDOW_SECONDS)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{name} must be an integer from {low} to {high}, got {value!r}")
        return value
    if kind == _URL:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be an absolute http(s) URL, got {value!r}")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{name} must be an absolute http(s) URL, got {value!r}")
        return value.rstrip("/")
    if kind in ("strlist", "flags"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of strings, got {value!r}")
        if kind == "flags":
            # Janssen ignores names it does not know; we keep them (an operator's typo stays
            # visible) but they never enable anything.
            return [v.strip() for v in value if v.strip()]
        return list(value)
    if kind == "cors":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ConfigError(f"{name} must be a list of CORS filter objects")
        filters = []
        for item in value:
            unknown = set(item) - set(DEFAULT_CORS_FILTER)
            if unknown:
                raise ConfigError(f"{name}: unknown CORS filter keys {sorted(unknown)}")
            merged = {**DEFAULT_CORS_FILTER, **item}
            for key in (
                "corsEnabled",
                "corsSupportCredentials",
                "corsLoggingEnabled",
                "corsRequestDecorate",
            ):
                if not isinstance(merged[key], bool):
                    raise ConfigError(f"{name}: {key} must be true or false")
            age = merged["corsPreflightMaxAge"]
            if isinstance(age, bool) or not isinstance(age, int) or age < 0:
                raise ConfigError(f"{name}: corsPreflightMaxAge must be a non-negative integer")
            filters.append(merged)
        return filters
    if kind == "bits":
        if isinstance(value, bool) or value not in (1, 2, 4, 8):
            raise ConfigError(f"{name} must be 1, 2, 4 or 8, got {value!r}")
        return value
    if kind == "rs256":
        if value != "RS256":
            raise ConfigError(f"{name}: the signing keys here are RS256 only, got {value!r}")
        return value
    if kind == "blocksize":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer from 1 to {MAX_STATUS_BLOCK}")
        if not 1 <= value <= MAX_STATUS_BLOCK:
            raise ConfigError(f"{name} must be an integer from 1 to {MAX_STATUS_BLOCK}")
        return value
    if kind == "receivers":
        return _check_receivers(name, value)
    if kind == "loglevel":
        if not isinstance(value, str) or value.upper() not in LOG_LEVELS:
            raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
        return value.upper()
    raise AssertionError(kind)  # pragma: no cover


def _check_receivers(name: str, value: Any) -> list[dict[str, str]]:
    """Push receivers: [{"url": ..., "authorization": "Bearer ...", "audience": ...}]."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f'{name} must be a list of objects like {{"url": "https://..."}}')
    receivers: list[dict[str, str]] = []
    for item in value:
        unknown = set(item) - set(RECEIVER_KEYS)
        if unknown:
            raise ConfigError(f"{name}: unknown receiver keys {sorted(unknown)}")
        for key, required in RECEIVER_KEYS.items():
            present = item.get(key) is not None
            if (required or present) and (not isinstance(item.get(key), str) or not item[key]):
                raise ConfigError(f"{name}: {key} must be a non-empty string")
        parts = urlsplit(item["url"])
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise ConfigError(f"{name}: url must be an absolute http(s) URL, got {item['url']!r}")
        if any(c in item.get("authorization", "") for c in "\r\n"):
            raise ConfigError(f"{name}: authorization must be a single header value")
        if any(r["url"] == item["url"] for r in receivers):
            raise ConfigError(f"{name}: receiver {item['url']} is listed twice")
        receivers.append({k: v for k, v in item.items() if v is not None})
    return receivers


def validate_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Return a cleaned copy of an operator's property document, or raise ConfigError."""
    if not isinstance(doc, Mapping):
        raise ConfigError("the configuration must be a JSON object")
    cleaned: dict[str, Any] = {}
    for name, value in doc.items():
        if name in PROPERTIES:
            kind, _ = PROPERTIES[name]
            if value is None and kind == "loglevel":
                continue  # unset
            cleaned[name] = _check_value(name, kind, value)
        elif name in NO_EFFECT:
            if value is None:
                continue  # unset
            try:
                cleaned[name] = check_value(name, JANSSEN_PROPERTIES[name], value)
            except PropertyTypeError as exc:
                raise ConfigError(str(exc)) from None
        else:
            raise ConfigError(f"unknown property {name!r}")
    return cleaned


def parse_property_value(name: str, text: str) -> Any:
    """Turn a command-line string into a typed property value (for `config set`)."""
    import json

    if name in NO_EFFECT:
        if JANSSEN_PROPERTIES[name].get("type") == "string" and not text.startswith('"'):
            return text
        kind = "json"
    elif name in PROPERTIES:
        kind, _ = PROPERTIES[name]
    else:
        raise ConfigError(f"unknown property {name!r}")
    if kind == "loglevel" and not text.startswith('"'):
        return text
    if kind in ("strlist", "flags") and not text.lstrip().startswith("["):
        return [v.strip() for v in text.split(",") if v.strip()]
    if kind == _URL and not text.startswith(("[", "{", '"')) and text != "null":
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: {text!r} is not valid JSON") from exc


def toggle_flag(configured: list[str], flag: FeatureFlag, enabled: bool) -> list[str]:
    """The `featureFlags` list after enabling or disabling one feature. Disabling from
    "empty list = everything on" lists every other known flag, so only that one goes off."""
    everything = {f.value for f in FeatureFlag}
    current = {f.upper() for f in configured} & everything or set(everything)
    if enabled:
        current.add(flag.value)
    else:
        current.discard(flag.value)
    if not current:
        # An empty list would mean "all enabled"; UNKNOWN alone gates nothing real.
        current = {FeatureFlag.UNKNOWN.value}
    return [] if current == everything else sorted(current)


def parse_flag(name: str) -> FeatureFlag:
    try:
        return FeatureFlag(name.strip().upper())
    except ValueError:
        raise ConfigError(f"unknown feature flag {name!r}") from None


@dataclass(frozen=True, slots=True)
class AppConfiguration(TypedProperties):
    """The effective configuration: stored values over defaults, plus derived URLs. The
    properties the code acts on read typed by name (`cfg.issuer`: model/typed_config.py)."""

    values: Mapping[str, Any]
    revision: int
    enabled_flags: frozenset[str] | None  # None means every feature is enabled

    @classmethod
    def build(cls, stored: Mapping[str, Any], revision: int, base_url: str) -> AppConfiguration:
        values = {name: copy.deepcopy(default) for name, (_, default) in PROPERTIES.items()}
        values.update(stored)
        issuer = values["issuer"] or base_url.rstrip("/")
        values["issuer"] = issuer
        derived = {
            "tokenEndpoint": f"{AUTH}/token",
            "tokenRevocationEndpoint": f"{AUTH}/revoke",
            "introspectionEndpoint": f"{AUTH}/introspection",
            "jwksUri": f"{AUTH}/jwks",
            "authorizationEndpoint": f"{AUTH}/authorize",
            "userInfoEndpoint": f"{AUTH}/userinfo",
            "endSessionEndpoint": f"{AUTH}/end_session",
        }
        for name, path in derived.items():
            values[name] = values[name] or issuer + path
        names = {f.upper() for f in values["featureFlags"]}
        known = {f.value for f in FeatureFlag}
        # Unknown names are ignored, so a list of only unknown names enables everything.
        flags = frozenset(names & known) or None
        return cls(values=values, revision=revision, enabled_flags=flags)

    def enabled(self, flag: FeatureFlag) -> bool:
        # `_value_`, a plain attribute (`.value` is a descriptor): asked on every request.
        return self.enabled_flags is None or flag._value_ in self.enabled_flags

    def __getitem__(self, name: str) -> Any:
        return self.values[name]
