"""The composition root: opens the store, wires the services, keeps caches fresh.

Caches hold only what is versioned (configuration, clients, scripts, keys); every node
polls the store's revision counters and reloads what changed, so a change made anywhere is
in force everywhere within `REFRESH_SECONDS`. Token liveness is never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import orjson
from cryptography import x509

from tokenrevoke.configapi.scopes import ensure_builtin_scopes
from tokenrevoke.crypto import SecretBox
from tokenrevoke.events.deliverer import EventDeliverer, receivers
from tokenrevoke.events.feed import EventFeed
from tokenrevoke.events.stream import EventStream
from tokenrevoke.model import AppConfiguration, Client, PublishedEvents, User
from tokenrevoke.oauth.authorize import AuthorizationService
from tokenrevoke.oauth.client_auth import ClientAuthenticator
from tokenrevoke.oauth.end_session import EndSessionService
from tokenrevoke.oauth.global_revocation import GlobalRevocationService, endpoint_url
from tokenrevoke.oauth.introspection import IntrospectionService
from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.oauth.passwords import PasswordChecker
from tokenrevoke.oauth.revocation import RevocationService
from tokenrevoke.oauth.session_revocation import SessionRevocationService
from tokenrevoke.oauth.sessions import SessionService
from tokenrevoke.oauth.status_lists import IndexAllocator, StatusLists, current_list
from tokenrevoke.oauth.throttle import AuthThrottle, ThrottleLimits
from tokenrevoke.oauth.token_endpoint import TokenService
from tokenrevoke.oauth.userinfo import UserInfoService
from tokenrevoke.observability.logs import set_level
from tokenrevoke.observability.metrics import flush_metrics, store_unavailable
from tokenrevoke.scripts.revoke_token import RevokeTokenScripts
from tokenrevoke.settings import Settings
from tokenrevoke.startup import open_checked
from tokenrevoke.store import Store, StoreUnavailable
from tokenrevoke.store.base import Revisions
from tokenrevoke.store.bus import RedisChangeBus

log = logging.getLogger("tokenrevoke.runtime")

REFRESH_SECONDS = 0.5


class Runtime:
    def __init__(self, settings: Settings, store: Store, box: SecretBox) -> None:
        self.settings = settings
        self.store = store
        self.box = box
        self.keys = KeyRing(store, box)
        self.scripts = RevokeTokenScripts()
        self._config: AppConfiguration | None = None
        self._log_level: str | None = None  # the loggingLevel property last applied
        self._clients: dict[str, Client | None] = {}
        self._revisions: Revisions | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.bus = RedisChangeBus(settings.redis_url) if settings.redis_url else None
        self._last_purge = 0.0
        self._longest_client_lifetime = 0
        self.scopes: list[str] = []  # published in discovery; loaded from the store
        # Called with every client whenever clients change (the TLS layer trusts the
        # self-signed certificates of self_signed_tls_client_auth clients this way).
        self.client_listeners: list[Callable[[list[Client]], None]] = []
        ca = _load_certificates(settings.tls_client_ca) if settings.tls_client_ca else []
        self._limits_of: tuple[AppConfiguration, ThrottleLimits] | None = None
        self.throttle = AuthThrottle(self._throttle_limits)
        self.authenticator = ClientAuthenticator(
            self.get_client, store, box, self._accepted_audiences, self.throttle, ca
        )
        self.status_indices = IndexAllocator(store, self.config)
        self.status_lists = StatusLists(store, self.keys, self.config)
        self.tokens = TokenService(
            store, self.keys, self.config, self.get_user, self.throttle, self.status_indices
        )
        self.revocation = RevocationService(store, self.authenticator, self.config, self.scripts)
        self.introspection = IntrospectionService(store, self.authenticator, self.config, self.keys)
        self.global_revocation = GlobalRevocationService(store, self.authenticator, self.config)
        self.end_session = EndSessionService(store, self.keys, self.config, self.get_client)
        self.session_revocation = SessionRevocationService(store, self.authenticator, self.config)
        # Browser sign-in (docs/sign-in.md): sessions, the authorization endpoint, userinfo.
        self.sessions = SessionService(store, self.config)
        self.authorization = AuthorizationService(
            store, self.get_client, self.config, self.sessions,
            PasswordChecker(self.get_user, self.throttle), box,
        )  # fmt: skip
        self.userinfo = UserInfoService(store, self.authenticator.lookup, self.config)
        # Revocation events: the outbox, published and pushed by every node's deliverer
        # (one at a time per event), streamed to SSE subscribers, echoed on Redis.
        self.event_feed = EventFeed(store)
        self.event_stream = EventStream(store, self.event_feed, self.config, self.get_client)
        listeners = [self.event_feed.on_published]
        if self.bus is not None:
            listeners.append(self._echo_on_bus)
        self.deliverer = EventDeliverer(store, self.keys, self.config, listeners, box)

    @classmethod
    async def open(cls, settings: Settings) -> Runtime:
        store, box = await open_checked(settings)
        await ensure_builtin_scopes(store)
        runtime = cls(settings, store, box)
        await runtime.refresh(force=True)
        return runtime

    # -- cached, versioned state ------------------------------------------------------
    def config(self) -> AppConfiguration:
        assert self._config is not None, "runtime not started"
        return self._config

    async def get_client(self, client_id: str) -> Client | None:
        if client_id in self._clients:
            return self._clients[client_id]
        client = await self.store.get_client(client_id)
        if len(self._clients) > 100_000:  # unknown ids must not grow the cache forever
            self._clients.clear()
        self._clients[client_id] = client
        return client

    async def get_user(self, uid: str) -> User | None:
        return await self.store.get_user_by_uid(uid)

    def _accepted_audiences(self) -> list[str]:
        cfg = self.config()
        return [
            cfg.issuer,
            cfg.token_endpoint,
            cfg.token_revocation_endpoint,
            cfg.introspection_endpoint,
            endpoint_url(cfg),
        ]

    def _throttle_limits(self) -> ThrottleLimits:
        # Asked on every authentication (a success too): built once per configuration.
        cfg = self.config()
        cached = self._limits_of
        if cached is not None and cached[0] is cfg:
            return cached[1]
        limits = ThrottleLimits(
            cfg.client_auth_failure_limit_per_client,
            cfg.client_auth_failure_limit_per_address,
            cfg.client_auth_failure_window_seconds,
            ceiling_per_client=cfg.client_auth_failure_ceiling_per_client,
            per_user=cfg.password_failure_limit_per_user,
            ceiling_per_user=cfg.password_failure_ceiling_per_user,
        )
        self._limits_of = (cfg, limits)
        return limits

    async def refresh(self, force: bool = False) -> None:
        """Reload whatever changed since the last look."""
        revisions = await self.store.revisions()
        old = self._revisions
        if force or old is None or revisions.config != old.config:
            stored, revision = await self.store.load_config()
            self._config = AppConfiguration.build(stored, revision, self.settings.base_url)
            self.scripts.set_timeout(self._config.revoke_token_script_timeout_ms / 1000)
            level = self._config.logging_level
            if level != self._log_level:  # touch the root logger only on a change
                set_level(level, self.settings.log_level)
                self._log_level = level
        if force or old is None or revisions.clients != old.clients:
            self._clients = {}
            clients = await self.store.list_clients()
            self._longest_client_lifetime = max(
                (max(c.access_token_lifetime or 0, c.id_token_lifetime or 0) for c in clients),
                default=0,
            )
            for listener in self.client_listeners:
                listener(clients)
        if force or old is None or revisions.scripts != old.scripts:
            scripts = await self.store.list_scripts()
            # Loading runs scripts' top-level code and init(): keep it off the event loop.
            for name, error in await asyncio.to_thread(self.scripts.load, scripts):
                log.error("revoke_token script %s failed to load: %s", name, error)
        if force or old is None or revisions.keys != old.keys:
            await self.keys.load()
        if force or old is None or revisions.scopes != old.scopes:
            scopes = await self.store.list_scopes()
            self.scopes = [s.id for s in scopes if s.show_in_configuration_endpoint]
        self._revisions = revisions

    async def rotate_keys(self) -> None:
        cfg = self.config()
        if self.keys.current is None or cfg.key_regeneration_enabled:
            # A retired key stays published until the longest-lived JWT it signed expires,
            # per-client lifetimes included.
            longest = max(
                cfg.access_token_lifetime, cfg.id_token_lifetime, self._longest_client_lifetime
            )
            if await self.keys.rotate_if_due(cfg.key_regeneration_interval, longest):
                await self.announce_change("keys")

    # -- background work --------------------------------------------------------------
    async def start(self) -> None:
        if self.client_listeners:  # registered after open(): give them the current clients
            clients = await self.store.list_clients()
            for listener in self.client_listeners:
                listener(clients)
        await self.rotate_keys()
        self._tasks.append(asyncio.create_task(self._maintain(), name="tokenrevoke-maintenance"))
        self._tasks.append(asyncio.create_task(self.deliverer.run(), name="tokenrevoke-events"))
        self._tasks.append(asyncio.create_task(self.event_feed.run(), name="tokenrevoke-feed"))
        if self.bus is not None:
            self._tasks.append(
                asyncio.create_task(self.bus.listen(self._on_notice), name="tokenrevoke-bus")
            )

    async def announce_change(self, kind: str) -> None:
        """Tell other nodes to refresh now (they would otherwise see it at their next poll)."""
        if self.bus is not None:
            await self.bus.publish(kind)

    async def _echo_on_bus(self, events: PublishedEvents) -> None:
        if self.bus is not None:
            await self.bus.publish_events([orjson.dumps(e.to_json()) for e in events])

    async def _on_notice(self, kind: str) -> None:
        try:
            await self.refresh()
        except StoreUnavailable as exc:
            log.warning("store unavailable while applying a %s change notice: %s", kind, exc)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            flush_metrics()  # other workers' scrapes read what this one counted
            try:
                await self.refresh()
                await self.rotate_keys()
                await self._purge_if_due()
            except StoreUnavailable as exc:
                store_unavailable("maintenance")
                log.warning("store unavailable during maintenance: %s", exc)
            except Exception:
                log.exception("maintenance step failed")

    async def _purge_if_due(self) -> None:
        cfg = self.config()
        if time.monotonic() - self._last_purge < cfg.clean_service_interval:
            return
        self._last_purge = time.monotonic()
        total = 0
        while True:
            now = int(time.time())
            # A list may retire once none of its tokens is left, unless a node may still
            # hand out its indices: the current list and its neighbours (clock skew).
            current = current_list(cfg, now)
            deleted = await self.store.purge_expired(
                now, cfg.clean_service_batch_chunk_size, (current - 1, current, current + 1)
            )
            total += deleted
            if deleted < cfg.clean_service_batch_chunk_size:
                break
            await asyncio.sleep(0)  # let requests through between batches
        if total:
            log.info("purged %d expired tokens", total)
        before = int(time.time()) - cfg.revocation_event_retention_seconds
        urls = [r.url for r in receivers(cfg)]
        batch = cfg.clean_service_batch_chunk_size
        while True:
            if await self.store.purge_events(before, batch, urls) < batch:
                break
            await asyncio.sleep(0)  # let requests through between batches

    async def close(self) -> None:
        flush_metrics()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self.scripts.close)
        await self.deliverer.close()
        if self.bus is not None:
            await self.bus.close()
        await self.authenticator.close()
        await self.status_indices.close()
        await self.store.close()


def _load_certificates(path: object) -> list[x509.Certificate]:
    from pathlib import Path

    return x509.load_pem_x509_certificates(Path(str(path)).read_bytes())
