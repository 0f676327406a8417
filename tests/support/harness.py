"""The real services in process, over a real store (a SQLite file, or PostgreSQL), no HTTP:
for fast tests of protocol rules and of the token lifecycle."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from tokenrevoke.configapi import token_entries as token_admin
from tokenrevoke.configapi.clients import create_client
from tokenrevoke.configapi.config import set_properties
from tokenrevoke.configapi.security import Caller
from tokenrevoke.crypto import new_id
from tokenrevoke.model import AuthMethod, Client, User
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.runtime import Runtime
from tokenrevoke.settings import Settings

# Users' hashes carry their own argon2 parameters: cheap ones keep password grants fast.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ADMIN_CALLER = Caller("harness-admin", frozenset())


class Harness:
    def __init__(self, tmp: Path, database_url: str | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        settings = Settings(data_dir=tmp, database_url=database_url)
        self.rt: Runtime = self.run(Runtime.open(settings))
        self.run(self.rt.rotate_keys())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.rt.close())
        self.loop.close()

    def client(
        self,
        name: str,
        *scopes: str,
        method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC,
        grants: tuple[str, ...] = ("client_credentials",),
    ) -> tuple[Client, str | None]:
        spec = Client("", name, grant_types=list(grants), scopes=list(scopes), auth_method=method)
        created, secret = self.run(create_client(self.rt.store, self.rt.box, spec))
        self.run(self.rt.refresh())
        return created, secret

    def user(self, username: str, password: str) -> User:
        user = User(inum=new_id(), uid=username, password_hash=_CHEAP_HASHER.hash(password))
        self.run(self.rt.store.save_user(user))
        return user

    def set(self, **props: Any) -> None:
        self.run(set_properties(self.rt.store, props, self.rt.box))
        self.run(self.rt.refresh())

    @staticmethod
    def basic(client: Client, secret: str | None) -> str:
        return "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()

    def token(self, client: Client, secret: str | None, **params: str) -> dict[str, Any]:
        """The token endpoint's answer (raises OAuthError as the endpoint would answer)."""
        request = OAuthRequest(params, self.basic(client, secret))
        auth = self.run(self.rt.authenticator.authenticate(request))
        response: dict[str, Any] = self.run(self.rt.tokens.issue(auth, request))
        return response

    def issue(self, client: Client, secret: str | None) -> str:
        return str(self.token(client, secret, grant_type="client_credentials")["access_token"])

    def revoke(self, client: Client | None, secret: str | None, **params: str) -> int:
        auth = self.basic(client, secret) if client else None
        return int(self.run(self.rt.revocation.revoke(OAuthRequest(params, auth))).revoked)

    def introspect(self, token: str) -> dict[str, Any]:
        """As a caller allowed to see every token (introspectionSkipAuthorization)."""
        claims, _ = self.run(self.rt.introspection.introspect(OAuthRequest({"token": token}, None)))
        result: dict[str, Any] = claims
        return result

    def active(self, token: str) -> bool:
        return bool(self.introspect(token)["active"])

    def admin_revoke(self, code_or_token: str) -> int:
        """The config API's DELETE /token/revoke/{tknCde} (raises ApiError as it answers)."""
        return int(self.run(token_admin.revoke(self.rt.store, code_or_token, ADMIN_CALLER)))
