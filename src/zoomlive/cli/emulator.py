"""The emulator's commands: ``serve`` runs it, ``seed`` loads a seed file, ``receive`` listens
for RTMP, ``demo`` shows it all. Each needs the ``emulator`` extra and says so when it is
missing; this module itself imports nothing of the emulator beyond its light settings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from zoomlive._extras import EXTRAS, missing, store_modules
from zoomlive.cli.errors import EXIT_USAGE, fail
from zoomlive.emulator.media.command import PROFILES
from zoomlive.emulator.settings import (
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_KEEPALIVE_S,
    DEFAULT_MAX_CONNECTIONS,
    LOOPBACK_HOSTS,
)

DEFAULT_DB = "zoomlive.db"
EMULATOR_MODULES = EXTRAS["emulator"]


def require_emulator(command: str, *extra: str) -> None:
    """Exit 2 with one line naming the extra when the emulator's dependencies, or the modules
    ``extra`` of other extras, are missing."""
    require_modules(command, *EMULATOR_MODULES, *extra)


def require_modules(command: str, *modules: str) -> None:
    """Exit 2 with one line naming the extras that install the missing ``modules``."""
    message = missing(modules)
    if message is not None:
        raise fail(f"zoomlive {command} needs {message}", EXIT_USAGE)


def banner(base: str, demo_seeded: bool) -> str:
    from zoomlive.emulator.control.seed import (
        DEMO_ACCOUNT_ID,
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        DEMO_WEBINAR_ID,
    )

    lines = [f"zoomlive emulator on {base}  (API {base}/v2, OAuth {base}/oauth/token)"]
    if demo_seeded:
        lines += [
            "Demo account (fixed, see README):",
            f"  account_id={DEMO_ACCOUNT_ID} client_id={DEMO_CLIENT_ID} "
            f"client_secret={DEMO_CLIENT_SECRET}",
            f"  host host@example.com, webinar {DEMO_WEBINAR_ID} (running)",
            "Get a token:",
            f"  curl -s -X POST -u {DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET} "
            f"'{base}/oauth/token?grant_type=account_credentials&account_id={DEMO_ACCOUNT_ID}'",
            "Then:",
            "  curl -H 'Authorization: Bearer <access_token>' "
            f"{base}/v2/webinars/{DEMO_WEBINAR_ID}",
        ]
    return "\n".join(lines)


SERVE_EPILOG = (
    "Also read: ZOOMLIVE_FFMPEG (the ffmpeg binary; default the system one on PATH, "
    "apt-get install ffmpeg), ZOOMLIVE_FONT (the overlay font). Every option above shows "
    "the ZOOMLIVE_* variable it reads."
)


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.", envvar="ZOOMLIVE_HOST")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to bind.", envvar="ZOOMLIVE_PORT")] = 8080,
    db: Annotated[
        str,
        typer.Option(help="SQLite file, ':memory:', or a database URL.", envvar="ZOOMLIVE_DB"),
    ] = DEFAULT_DB,
    demo: Annotated[
        bool,
        typer.Option("--demo/--no-demo", help="Seed the demo account.", envvar="ZOOMLIVE_DEMO"),
    ] = True,
    admin_key: Annotated[
        str | None,
        typer.Option(
            help="Key for the control API; required off loopback.", envvar="ZOOMLIVE_ADMIN_KEY"
        ),
    ] = None,
    token_ttl: Annotated[
        int, typer.Option(help="Access token lifetime, seconds.", envvar="ZOOMLIVE_TOKEN_TTL")
    ] = 3599,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed ids and tokens (reproducible).", envvar="ZOOMLIVE_SEED"),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL to advertise (api_url, join links).", envvar="ZOOMLIVE_PUBLIC_URL"
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Another host name to answer to (repeatable; '*' for any). Requests naming "
            "another host get 403 (DNS rebinding).",
            envvar="ZOOMLIVE_ALLOWED_HOSTS",
        ),
    ] = None,
    media: Annotated[
        str,
        typer.Option(
            help="ffmpeg: push real RTMP; fake: stream states without media; off; remote: "
            "media workers push (zoomlive media-worker; PostgreSQL).",
            envvar="ZOOMLIVE_MEDIA",
        ),
    ] = "ffmpeg",
    media_profile: Annotated[
        str | None,
        typer.Option(
            help="Force a picture size for every stream: small (320x180@15), medium, 720p, 1080p.",
            envvar="ZOOMLIVE_MEDIA_PROFILE",
        ),
    ] = None,
    rate_limits: Annotated[
        str,
        typer.Option(
            help="zoom: Zoom's limits by plan; off; or a JSON file of custom numbers.",
            envvar="ZOOMLIVE_RATE_LIMITS",
        ),
    ] = "zoom",
    redis_url: Annotated[
        str | None,
        typer.Option(help="Share rate-limit counters in Redis.", envvar="ZOOMLIVE_REDIS_URL"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Worker processes (more than 1: PostgreSQL, --media remote, fake or off, and "
            "--redis-url unless --rate-limits off).",
            envvar="ZOOMLIVE_WORKERS",
        ),
    ] = 1,
    webhook_time_scale: Annotated[
        float,
        typer.Option(
            help="Scale Zoom's webhook delays (retries, revalidation); 0.001 for tests.",
            envvar="ZOOMLIVE_WEBHOOK_TIME_SCALE",
        ),
    ] = 1.0,
    history_events: Annotated[
        int,
        typer.Option(
            help="Stream state changes (and sent webhook deliveries) the store keeps; older "
            "ones are pruned.",
            envvar="ZOOMLIVE_HISTORY_EVENTS",
        ),
    ] = 10_000,
    history_days: Annotated[
        float,
        typer.Option(
            help="Days of stream state changes and webhook deliveries the store keeps.",
            envvar="ZOOMLIVE_HISTORY_DAYS",
        ),
    ] = 7.0,
    header_timeout: Annotated[
        float,
        typer.Option(
            help="Close a connection that has not sent a request's headers within this many "
            "seconds.",
            envvar="ZOOMLIVE_HEADER_TIMEOUT",
        ),
    ] = DEFAULT_HEADER_TIMEOUT_S,
    keepalive_timeout: Annotated[
        float,
        typer.Option(
            help="Close an idle keep-alive connection after this many seconds.",
            envvar="ZOOMLIVE_KEEPALIVE_TIMEOUT",
        ),
    ] = DEFAULT_KEEPALIVE_S,
    max_connections: Annotated[
        int,
        typer.Option(
            help="Open connections at most; more are closed at once.",
            envvar="ZOOMLIVE_MAX_CONNECTIONS",
        ),
    ] = DEFAULT_MAX_CONNECTIONS,
    log_level: Annotated[
        str,
        typer.Option(
            help="critical, error, warning, info, debug or trace.", envvar="ZOOMLIVE_LOG_LEVEL"
        ),
    ] = "warning",
) -> None:
    """Run the Zoom API emulator."""
    require_emulator("serve", *store_modules(db, redis_url))
    from zoomlive.emulator.app import create_app, open_env
    from zoomlive.emulator.serving import BindError, ServeOptions, bind, run
    from zoomlive.emulator.settings import Settings
    from zoomlive.emulator.store import StoreBusy, is_sqlite

    if host not in LOOPBACK_HOSTS and not admin_key:
        raise fail(
            f"binding to {host} exposes the control API: give --admin-key or ZOOMLIVE_ADMIN_KEY",
            2,
        )
    if token_ttl < 1:
        raise fail("--token-ttl must be at least 1 second", 2)
    if media not in ("ffmpeg", "fake", "off", "remote"):
        raise fail("--media must be ffmpeg, fake, off or remote", 2)
    if media == "remote" and is_sqlite(db):
        raise fail("--media remote needs PostgreSQL: --db postgresql://...", 2)
    if workers < 1:
        raise fail("--workers must be at least 1", 2)
    if workers > 1 and is_sqlite(db):
        # The SQLite store is one process's truth (in memory, journaled): workers, and the
        # clock, faults and feed they share, need PostgreSQL.
        raise fail("--workers above 1 needs PostgreSQL: --db postgresql://...", 2)
    if workers > 1 and media == "ffmpeg":
        # Each worker would start its own ffmpeg for the streams it was asked about, and none
        # would know of the others': media workers stream for several API workers.
        raise fail("--workers above 1 streams through media workers: --media remote", 2)
    if workers > 1 and rate_limits != "off" and not redis_url:
        # Counters in each worker would let N times the limit through, silently.
        raise fail("--workers above 1 counts rate limits in Redis: --redis-url, or off", 2)
    if rate_limits not in ("zoom", "off") and not Path(rate_limits).is_file():
        raise fail(f"--rate-limits: no such file {rate_limits}", 2)
    if media_profile is not None and media_profile not in PROFILES:
        raise fail(f"--media-profile must be one of {', '.join(PROFILES)}", 2)
    if header_timeout <= 0 or keepalive_timeout <= 0 or max_connections < 1:
        raise fail("--header-timeout, --keepalive-timeout and --max-connections must be > 0", 2)
    if history_events < 1 or history_days <= 0:
        raise fail("--history-events must be at least 1 and --history-days above 0", 2)
    if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise fail("--log-level must be critical, error, warning, info, debug or trace", 2)
    settings = Settings(
        db=db,
        demo=demo,
        admin_key=admin_key,
        token_ttl=token_ttl,
        seed=seed,
        public_url=public_url,
        media=media,  # type: ignore[arg-type]
        media_profile=media_profile,
        rate_limits=rate_limits,
        redis_url=redis_url,
        webhook_time_scale=webhook_time_scale,
        history_events=history_events,
        history_days=history_days,
        host=host,
        port=port,
        allowed_hosts=[h for item in allowed_host or [] for h in item.split(",") if h.strip()],
    )
    # Bind first, then lock and open the store: a second emulator on the same port or the same
    # SQLite file stops here, before it migrates, seeds or reconciles anything.
    try:
        sock = bind(host, port)
    except BindError as exc:
        raise fail(str(exc)) from None
    holder = f"zoomlive serve on {settings.advertised_url} (pid {os.getpid()})"
    try:
        env = open_env(settings, holder=holder)
    except StoreBusy as exc:
        sock.close()
        raise fail(str(exc)) from None
    except Exception as exc:
        sock.close()
        raise fail(f"cannot open the store {db!r}: {exc}") from None
    with env.store.read() as tx:
        seeded = any(a.id == "demo-account" for a in tx.list_accounts())
    typer.echo(banner(settings.advertised_url, seeded))
    sys.stdout.flush()
    options = ServeOptions(
        header_timeout=header_timeout,
        keepalive_timeout=keepalive_timeout,
        max_connections=max_connections,
        log_level=log_level.lower(),
        workers=workers,
    )
    try:
        if workers > 1:
            # Each worker builds its app from the same settings, passed through the
            # environment; this process keeps the store's lock for all of them.
            os.environ.update(settings.to_env())
            os.environ["ZOOMLIVE_STORE_LOCKED_BY"] = str(os.getpid())
            run("zoomlive.emulator.app:app_from_env", sock, options)
        else:
            run(create_app(settings, env=env), sock, options)
    finally:
        sock.close()
        env.close()


def seed_cmd(
    file: Annotated[
        Path, typer.Argument(help="YAML or JSON seed file.", exists=True, dir_okay=False)
    ],
    db: Annotated[str, typer.Option(help="Store to load into.", envvar="ZOOMLIVE_DB")] = DEFAULT_DB,
    url: Annotated[
        str | None, typer.Option(help="Load into a running emulator instead (its base URL).")
    ] = None,
    admin_key: Annotated[
        str | None, typer.Option(help="The emulator's admin key.", envvar="ZOOMLIVE_ADMIN_KEY")
    ] = None,
) -> None:
    """Load accounts, users, apps and webinars from a seed file."""
    if not url:
        require_emulator("seed", *store_modules(db))
    import json

    raw = file.read_bytes()
    if url:
        import httpx

        # JSON is YAML, so one type fits both kinds of seed file.
        headers = {"Content-Type": "application/yaml"}
        if admin_key:
            headers["X-Admin-Key"] = admin_key
        try:
            response = httpx.post(f"{url.rstrip('/')}/_emulator/seed", content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise fail(f"could not reach {url}: {exc}", 3) from None
        if response.status_code >= 400:
            raise fail(f"{response.status_code} {response.text}")
        typer.echo(json.dumps(response.json(), indent=2))
        return

    from zoomlive.api.errors import ZoomError
    from zoomlive.emulator.app import open_env
    from zoomlive.emulator.control import seed as seeding
    from zoomlive.emulator.http import parse_document, validate_model
    from zoomlive.emulator.settings import Settings

    env = open_env(Settings(db=db, demo=False))
    try:
        doc = validate_model(seeding.SeedDoc, parse_document(raw))
        with env.store.write() as tx:
            credentials = seeding.load(env, tx, doc)
    except ZoomError as err:
        detail = "".join(f" {e.field}" for e in err.errors or [])
        raise fail(f"{err.message}{detail}") from None
    finally:
        env.close()
    typer.echo(json.dumps({"credentials": credentials}, indent=2))


def receive(
    port: Annotated[int, typer.Option(help="RTMP port to listen on.")] = 1935,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    app_name: Annotated[str, typer.Option("--app", help="RTMP application name.")] = "live",
    key: Annotated[
        str | None, typer.Option(help="Expected stream key (a different one is reported).")
    ] = None,
    record: Annotated[
        Path | None, typer.Option(help="Directory to record each publish session to (FLV).")
    ] = None,
    frame: Annotated[
        Path | None, typer.Option(help="Keep the latest decoded frame in this PNG file.")
    ] = None,
) -> None:
    """Listen for RTMP publishers (e.g. the emulator's streams) and report what arrives."""
    require_modules("receive", "av")  # PyAV alone: the media extra
    from zoomlive.receiver import ReceiverError, run_receive

    try:
        run_receive(port, host, app_name, key, record, frame, typer.echo)
    except ReceiverError as exc:
        raise fail(str(exc), 3) from None
    except KeyboardInterrupt:
        pass


def demo(
    seconds: Annotated[float, typer.Option(help="How long to stream.")] = 4.0,
    frame: Annotated[Path, typer.Option(help="Where to save a received frame.")] = Path(
        "zoomlive-demo.png"
    ),
    profile: Annotated[str, typer.Option(help="Picture size: small, medium, 720p, 1080p.")] = (
        "medium"
    ),
) -> None:
    """Run emulator, receiver and a live stream end to end on this machine, and report."""
    require_emulator("demo", "av")
    from zoomlive.emulator.demo import run_demo
    from zoomlive.emulator.media.command import MediaUnavailable, find_ffmpeg

    if profile not in PROFILES:
        raise fail(f"--profile must be one of {', '.join(PROFILES)}", 2)
    try:
        find_ffmpeg()  # the demo streams: without the pusher it would only time out
    except MediaUnavailable as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    try:
        run_demo(seconds, frame, profile, typer.echo)
    except Exception as exc:
        raise fail(f"demo failed: {exc}") from None


def media_worker(
    db: Annotated[str, typer.Option(help="The emulator's PostgreSQL store.", envvar="ZOOMLIVE_DB")],
    capacity: Annotated[
        int | None,
        typer.Option(
            help="Streams this worker pushes at most (default 20 per CPU, for 320x180@15).",
            envvar="ZOOMLIVE_MEDIA_CAPACITY",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="This worker's name (default host-pid).", envvar="ZOOMLIVE_MEDIA_NAME"),
    ] = None,
    lease_seconds: Annotated[
        float,
        typer.Option(
            help="A stream's lease: another worker takes it over this long after this one "
            "stops renewing.",
            envvar="ZOOMLIVE_MEDIA_LEASE",
        ),
    ] = 10.0,
    media_profile: Annotated[
        str | None,
        typer.Option(
            help="Force a picture size for every stream: small (320x180@15), medium, 720p, 1080p.",
            envvar="ZOOMLIVE_MEDIA_PROFILE",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Push the live streams of emulators that run --media remote, with other media workers."""
    require_emulator("media-worker", "psycopg")
    import asyncio
    import logging
    import signal

    from zoomlive.emulator.media.worker import MediaWorker, default_capacity, default_name
    from zoomlive.emulator.store import is_sqlite

    if is_sqlite(db):
        raise fail("media workers share a PostgreSQL store: --db postgresql://...", 2)
    if capacity is not None and capacity < 1:
        raise fail("--capacity must be at least 1", 2)
    if not 1 <= lease_seconds <= 3600:
        raise fail("--lease-seconds must be between 1 and 3600", 2)
    if media_profile is not None and media_profile not in PROFILES:
        raise fail(f"--media-profile must be one of {', '.join(PROFILES)}", 2)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    worker = MediaWorker(
        db,
        name=name or default_name(),
        capacity=capacity or default_capacity(),
        lease_s=lease_seconds,
        profile=media_profile,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.run(stop)

    typer.echo(f"zoomlive media worker {worker.name}: capacity {worker.capacity}")
    sys.stdout.flush()
    try:
        asyncio.run(main())
    except Exception as exc:
        raise fail(f"media worker failed: {exc}") from None


def register(app: typer.Typer) -> None:
    """Add the emulator's commands to the ``zoomlive`` app."""
    app.command(epilog=SERVE_EPILOG)(serve)
    app.command("media-worker")(media_worker)
    app.command("seed")(seed_cmd)
    app.command()(receive)
    app.command()(demo)
