"""Plain typed records shared by every layer. No I/O here."""

from tokenrevoke.model.client import AuthMethod, Client
from tokenrevoke.model.config import AppConfiguration, ConfigError, FeatureFlag
from tokenrevoke.model.event import Delivery, DeliveryOutcome, PublishedEvents, RevocationEvent
from tokenrevoke.model.scope import Scope, ScopeType
from tokenrevoke.model.script import ScriptDefinition
from tokenrevoke.model.token import AuditEvent, TokenRecord, TokenType
from tokenrevoke.model.user import User

__all__ = [
    "AppConfiguration",
    "AuditEvent",
    "AuthMethod",
    "Client",
    "ConfigError",
    "Delivery",
    "DeliveryOutcome",
    "FeatureFlag",
    "PublishedEvents",
    "RevocationEvent",
    "Scope",
    "ScopeType",
    "ScriptDefinition",
    "TokenRecord",
    "TokenType",
    "User",
]
