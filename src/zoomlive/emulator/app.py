"""The emulator's ASGI app: ``create_app(settings)`` assembles the routes (Zoom's, the control
API's, the dashboard's) and the middleware, and its lifespan opens the store and starts the
workers (media supervisor, webhook dispatcher, event feed), then stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from zoomlive._version import __version__
from zoomlive.api.errors import ZoomError
from zoomlive.emulator.clock import Clock
from zoomlive.emulator.control import routes as control
from zoomlive.emulator.control.seed import demo
from zoomlive.emulator.control.seed import load as load_seed
from zoomlive.emulator.dashboard import dashboard_routes
from zoomlive.emulator.env import Env
from zoomlive.emulator.faults import FaultInjector, FaultMiddleware, WebhookFaults, fault_routes
from zoomlive.emulator.feed import EventFeed
from zoomlive.emulator.gateway import Gateway
from zoomlive.emulator.guard import RequestGuard, allowed_hosts
from zoomlive.emulator.http import TrackingIdMiddleware
from zoomlive.emulator.ids import Source
from zoomlive.emulator.media.remote import RemoteMedia
from zoomlive.emulator.media.supervisor import MediaSupervisor, die_with_parent
from zoomlive.emulator.ratelimit import MemoryCounters, RateLimiter, RedisCounters, load_limits
from zoomlive.emulator.routes import http_error, server_error, zoom_routes
from zoomlive.emulator.settings import Settings
from zoomlive.emulator.shared import Bus, SharedClock, SharedRows
from zoomlive.emulator.store import History, IntegrityError, open_store
from zoomlive.emulator.watch import start_demo_receiver, stop_demo_receiver, watch_routes
from zoomlive.emulator.webhooks import WebhookDispatcher

log = logging.getLogger("zoomlive.server")


def open_env(settings: Settings, *, lock: bool = True, holder: str = "") -> Env:
    """Open the store (running migrations) and seed the demo account on an empty store.
    ``lock``: take the SQLite file's one-emulator lock (``holder`` names us in it)."""
    history = History(
        events=settings.history_events,
        deliveries=settings.history_events,
        max_age=timedelta(days=settings.history_days),
    )
    store = open_store(settings.db, lock=lock, holder=holder, history=history)
    env = Env(settings=settings, store=store, clock=Clock(), source=Source(settings.seed))
    if not store.is_sqlite:
        # PostgreSQL may be shared by other workers and hosts: so are the clock, the fault
        # rules and the event feed (shared.py).
        env.bus = Bus(settings.db)
        env.bus.start()
        assert store.link is not None
        env.shared_rows = SharedRows(store.link)
        env.clock = SharedClock(env.bus, env.shared_rows)
    limits = load_limits(settings.rate_limits)
    if limits is not None:
        counters = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
        env.limiter = RateLimiter(limits, counters)
    if settings.demo:
        seed_demo_if_empty(env)
    return env


def seed_demo_if_empty(env: Env) -> bool:
    """Seed the demo account into an empty store. Hosts that start together on one empty
    PostgreSQL race for it: the loser's insert conflicts, and it finds the winner's seed."""
    for attempt in (1, 2):
        try:
            with env.store.write() as tx:
                if tx.list_accounts():
                    return False
                load_seed(env, tx, demo(env.settings.advertised_url))
                return True
        except (IntegrityError, ZoomError) as exc:
            if attempt == 2 or (isinstance(exc, ZoomError) and exc.status != 409):
                raise
    return False  # pragma: no cover


def create_app(
    settings: Settings | None = None,
    *,
    env: Env | None = None,
    lock_store: bool = True,
) -> Gateway:
    """The emulator as an ASGI app: the gateway (``/v2``) in front of the Starlette app (the
    rest, and the lifespan). The store opens (and migrates) when the app starts, unless an
    ``env`` opened beforehand is given (``zoomlive serve`` opens it before it binds)."""
    settings = settings or Settings.from_env()
    faults = FaultInjector(seed=settings.seed)
    opened: Env | None = env

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if opened is not None:
            env = opened
        else:
            env = await run_in_threadpool(functools.partial(open_env, settings, lock=lock_store))
        app.state.env = env
        env.faults = faults
        if env.bus is not None and env.shared_rows is not None:
            faults.share(env.bus, env.shared_rows)
        try:
            env.feed = EventFeed()
            env.feed.bind(asyncio.get_running_loop())
            if env.bus is not None:
                env.feed.share(env.bus)
            env.store.on_commit.append(env.feed.on_commit)
            env.webhooks = WebhookDispatcher(env.store, env.clock, settings.webhook_time_scale)
            env.webhooks.listeners.append(lambda data: env.feed.publish("webhook", data))
            env.webhooks.faults = WebhookFaults(faults)
            await env.webhooks.start()
            if settings.media == "remote":
                if env.bus is None:
                    raise ValueError("--media remote needs a PostgreSQL store")
                env.media = RemoteMedia(env.store, env.bus)
                await env.media.start()
            elif settings.media != "off":
                env.media = MediaSupervisor(
                    env.store, settings.media, profile=settings.media_profile, clock=env.clock
                )
                await env.media.start()
            env.watch = await start_demo_receiver(settings)
            yield
        finally:
            await stop_demo_receiver(env.watch)
            env.watch = None
            # Workers first, the store last: close() waits for transactions in flight and
            # refuses new ones, so nothing touches the store once it is gone.
            if env.media is not None:
                await env.media.close()
            if env.webhooks is not None:
                await env.webhooks.close()
            await anyio.to_thread.run_sync(env.close)

    routes = zoom_routes()
    routes += control.routes()
    routes += fault_routes()
    routes += watch_routes()
    routes += dashboard_routes()
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    # Zoom answers a path with a trailing slash with its 404, never a redirect (and a redirect
    # built from the Host header would point anywhere).
    app.router.redirect_slashes = False
    app.add_middleware(FaultMiddleware, injector=faults)
    hosts = allowed_hosts(settings.host, settings.public_url, settings.allowed_hosts)
    app.add_middleware(RequestGuard, hosts=hosts, public_url=settings.public_url)
    app.add_middleware(TrackingIdMiddleware)
    app.state.settings = settings
    app.state.version = __version__
    guard = RequestGuard(app, hosts=hosts, public_url=settings.public_url)
    return Gateway(app, faults, guard, settings.public_url, settings.max_body_bytes)


def app_from_env() -> Gateway:
    """The app for each worker of ``zoomlive serve --workers N`` (settings from ZOOMLIVE_*).
    A worker dies with its parent, however the parent dies (no orphan keeps answering, nor
    holds the port for the next start)."""
    die_with_parent()
    return create_app(
        Settings.from_env(),
        lock_store="ZOOMLIVE_STORE_LOCKED_BY" not in os.environ,
    )
