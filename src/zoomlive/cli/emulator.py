"""The emulator's commands: ``serve`` runs it, ``seed`` loads a seed file, ``receive`` listens
for RTMP, ``demo`` shows it all. Each needs the ``emulator`` extra and says so when it is
missing; this module itself imports nothing of the emulator beyond the media profiles' names
(the settings model, which needs the extra too, loads when ``serve`` or ``seed`` runs).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zoomlive._extras import EXTRAS, missing, store_modules
from zoomlive.cli.errors import EXIT_USAGE, fail
from zoomlive.emulator.media.command import PROFILES

if TYPE_CHECKING:
    from zoomlive.emulator.env import Env

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
    "apt-get install ffmpeg), ZOOMLIVE_FONT (the overlay font), ZOOMLIVE_MEDIA_CA_FILE (CA "
    "certificates to trust for rtmps:// targets, e.g. zoomlive receive --tls's), "
    "ZOOMLIVE_MEDIA_TLS_VERIFY=0 (push rtmps:// to any certificate). Every option above shows "
    "the ZOOMLIVE_* variable it reads."
)


def _setting(help: str, var: str, default: str | None = None, *decls: str, **kwargs: Any) -> Any:
    """An option of ``serve``, None when not given. Its variable is read by the settings model,
    not by typer, and its value is handed over as typed: a bad one, from either place, is
    refused with the same line. ``default``: the model's, for the help (a test checks it). No
    square brackets: rich help would read them as markup."""
    where = var if default is None else f"{var}; default {default}"
    return typer.Option(*decls, help=f"{help} ({where})", show_default=False, **kwargs)


def _refuse(command: str, exc: Exception, flags: dict[str, str]) -> typer.Exit:
    """One line, exit 2: which setting (its flag and variable), what it may be, what it got."""
    from pydantic import ValidationError

    from zoomlive.emulator.settings import env_var, explain

    def say(field: str) -> str:
        return f"{flags[field]} ({env_var(field)})" if field in flags else env_var(field)

    line = explain(exc, say) if isinstance(exc, ValidationError) else str(exc)
    typer.echo(f"zoomlive {command}: {line}", err=True)
    return typer.Exit(EXIT_USAGE)


def serve(
    host: Annotated[str | None, _setting("Address to bind.", "ZOOMLIVE_HOST", "127.0.0.1")] = None,
    port: Annotated[
        str | None, _setting("Port to bind.", "ZOOMLIVE_PORT", "8080", metavar="<int>")
    ] = None,
    db: Annotated[
        str | None,
        _setting("SQLite file, ':memory:', or a database URL.", "ZOOMLIVE_DB", DEFAULT_DB),
    ] = None,
    demo: Annotated[
        bool | None,
        _setting("Seed the demo account.", "ZOOMLIVE_DEMO", "demo", "--demo/--no-demo"),
    ] = None,
    admin_key: Annotated[
        str | None,
        _setting("Key for the control API; required off loopback.", "ZOOMLIVE_ADMIN_KEY"),
    ] = None,
    token_ttl: Annotated[
        str | None,
        _setting("Access token lifetime, seconds.", "ZOOMLIVE_TOKEN_TTL", "3599", metavar="<int>"),
    ] = None,
    seed: Annotated[
        str | None,
        _setting("Seed ids and tokens (reproducible).", "ZOOMLIVE_SEED", metavar="<int>"),
    ] = None,
    public_url: Annotated[
        str | None,
        _setting("Base URL to advertise (api_url, join links).", "ZOOMLIVE_PUBLIC_URL"),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        _setting(
            "Another host name to answer to (repeatable; '*' for any). Requests naming "
            "another host get 403 (DNS rebinding).",
            "ZOOMLIVE_ALLOWED_HOSTS",
        ),
    ] = None,
    media: Annotated[
        str | None,
        _setting(
            "ffmpeg: push real RTMP; fake: stream states without media; off; remote: "
            "media workers push (zoomlive media-worker; PostgreSQL).",
            "ZOOMLIVE_MEDIA",
            "ffmpeg",
        ),
    ] = None,
    media_profile: Annotated[
        str | None,
        _setting(
            "Force a picture size for every stream: small (320x180@15), medium, 720p, 1080p.",
            "ZOOMLIVE_MEDIA_PROFILE",
        ),
    ] = None,
    demo_receiver: Annotated[
        bool | None,
        _setting(
            "Also receive the demo target rtmp://127.0.0.1:1935/live/demo-stream-key "
            "(watch it in the dashboard); on with the demo account and --media ffmpeg.",
            "ZOOMLIVE_DEMO_RECEIVER",
            None,
            "--demo-receiver/--no-demo-receiver",
        ),
    ] = None,
    watch_player: Annotated[
        str | None,
        _setting(
            "mpegts.js, the dashboard's video player (scripts/player installs it).",
            "ZOOMLIVE_WATCH_PLAYER",
        ),
    ] = None,
    rate_limits: Annotated[
        str | None,
        _setting(
            "zoom: Zoom's limits by plan; off; or a JSON file of custom numbers.",
            "ZOOMLIVE_RATE_LIMITS",
            "zoom",
        ),
    ] = None,
    redis_url: Annotated[
        str | None, _setting("Share rate-limit counters in Redis.", "ZOOMLIVE_REDIS_URL")
    ] = None,
    workers: Annotated[
        str | None,
        _setting(
            "Worker processes (more than 1: PostgreSQL, --media remote, fake or off, and "
            "--redis-url unless --rate-limits off).",
            "ZOOMLIVE_WORKERS",
            "1",
            metavar="<int>",
        ),
    ] = None,
    webhook_time_scale: Annotated[
        str | None,
        _setting(
            "Scale Zoom's webhook delays (retries, revalidation); 0.001 for tests.",
            "ZOOMLIVE_WEBHOOK_TIME_SCALE",
            "1.0",
            metavar="<float>",
        ),
    ] = None,
    history_events: Annotated[
        str | None,
        _setting(
            "Stream state changes (and sent webhook deliveries) the store keeps; older "
            "ones are pruned.",
            "ZOOMLIVE_HISTORY_EVENTS",
            "10000",
            metavar="<int>",
        ),
    ] = None,
    history_days: Annotated[
        str | None,
        _setting(
            "Days of stream state changes and webhook deliveries the store keeps.",
            "ZOOMLIVE_HISTORY_DAYS",
            "7.0",
            metavar="<float>",
        ),
    ] = None,
    header_timeout: Annotated[
        str | None,
        _setting(
            "Close a connection that has not sent a request's headers within this many seconds.",
            "ZOOMLIVE_HEADER_TIMEOUT",
            "10.0",
            metavar="<float>",
        ),
    ] = None,
    body_timeout: Annotated[
        str | None,
        _setting(
            "Close a connection whose request's body has not arrived in full within this "
            "many seconds of its headers.",
            "ZOOMLIVE_BODY_TIMEOUT",
            "10.0",
            metavar="<float>",
        ),
    ] = None,
    keepalive_timeout: Annotated[
        str | None,
        _setting(
            "Close an idle keep-alive connection after this many seconds.",
            "ZOOMLIVE_KEEPALIVE_TIMEOUT",
            "5.0",
            metavar="<float>",
        ),
    ] = None,
    max_connections: Annotated[
        str | None,
        _setting(
            "Open connections at most; more are closed at once.",
            "ZOOMLIVE_MAX_CONNECTIONS",
            "1000",
            metavar="<int>",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        _setting(
            "critical, error, warning, info, debug or trace.", "ZOOMLIVE_LOG_LEVEL", "warning"
        ),
    ] = None,
    import_state: Annotated[
        Path | None,
        typer.Option(
            "--import",
            help="Start from this state file (zoomlive state export), replacing the store's.",
            dir_okay=False,
        ),
    ] = None,
    export_on_exit: Annotated[
        Path | None,
        typer.Option(
            "--export-on-exit",
            help="Write the state to this file when stopping (SIGTERM, Ctrl-C).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run the Zoom API emulator."""
    require_emulator(
        "serve",
        *store_modules(
            db or os.environ.get("ZOOMLIVE_DB"), redis_url or os.environ.get("ZOOMLIVE_REDIS_URL")
        ),
    )
    from zoomlive.emulator.app import create_app, open_env
    from zoomlive.emulator.serving import BindError, ServeOptions, bind, run
    from zoomlive.emulator.settings import SETTINGS_ERRORS, Settings
    from zoomlive.emulator.store import StoreBusy

    # The flags given, and only those: the model reads the rest from ZOOMLIVE_* and defaults.
    given: dict[str, object] = {
        "host": host,
        "port": port,
        "db": db,
        "demo": demo,
        "admin_key": admin_key,
        "token_ttl": token_ttl,
        "seed": seed,
        "public_url": public_url,
        "allowed_hosts": allowed_host,
        "media": media,
        "media_profile": media_profile,
        "demo_receiver": demo_receiver,
        "watch_player": watch_player,
        "rate_limits": rate_limits,
        "redis_url": redis_url,
        "workers": workers,
        "webhook_time_scale": webhook_time_scale,
        "history_events": history_events,
        "history_days": history_days,
        "header_timeout": header_timeout,
        "body_timeout": body_timeout,
        "keepalive_timeout": keepalive_timeout,
        "max_connections": max_connections,
        "log_level": log_level,
    }
    try:
        settings = Settings.from_env(**given)
    except SETTINGS_ERRORS as exc:
        raise _refuse("serve", exc, SERVE_FLAGS) from None
    # zoomlive serve's own defaults (in process, there is no address).
    if settings.host is None:
        settings.host = "127.0.0.1"
    if settings.port is None:
        settings.port = 8080
    if settings.demo_receiver is None:
        settings.demo_receiver = True  # with the demo account and --media ffmpeg (watch.py)
    # Bind first, then lock and open the store: a second emulator on the same port or the same
    # SQLite file stops here, before it migrates, seeds or reconciles anything.
    try:
        sock = bind(settings.host, settings.port)
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
        raise fail(f"cannot open the store {settings.db!r}: {exc}") from None
    if import_state is not None or export_on_exit is not None:
        _state_files(env, sock, import_state, export_on_exit)
    with env.store.read() as tx:
        seeded = any(a.id == "demo-account" for a in tx.list_accounts())
    typer.echo(banner(settings.advertised_url, seeded))
    sys.stdout.flush()
    options = ServeOptions(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        keepalive_timeout=settings.keepalive_timeout,
        max_connections=settings.max_connections,
        log_level=settings.log_level,
        workers=settings.workers,
    )
    try:
        if settings.workers > 1:
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


def _state_files(env: Any, sock: Any, load: Path | None, save: Path | None) -> None:
    """``--import``: the file's state replaces the store's before serving (a bad file stops
    here, with one line). ``--export-on-exit``: the state is written once the workers have
    stopped, before the store closes."""
    from zoomlive.emulator.control import snapshots
    from zoomlive.emulator.store.dump import StateFileError

    if load is not None:
        try:
            snapshots.import_from_file(env, load)
        except StateFileError as exc:
            sock.close()
            env.close()
            raise fail(f"cannot import {load}: {exc}") from None
    if save is not None:
        if not save.parent.is_dir():
            sock.close()
            env.close()
            raise fail(f"cannot export on exit to {save}: no such directory")

        def export() -> None:
            try:
                snapshots.export_to_file(env, save)
            except Exception as exc:  # the previous file, if any, is intact
                typer.echo(f"zoomlive: the state was not exported to {save}: {exc}", err=True)
            else:
                typer.echo(f"zoomlive: state exported to {save}", err=True)

        env.on_close.append(export)


SERVE_FLAGS = {
    name: "--" + name.replace("_", "-")
    for name in inspect.signature(serve).parameters
    if name not in ("allowed_host", "import_state", "export_on_exit")
} | {"allowed_hosts": "--allowed-host"}
"""The flag of each setting ``serve`` takes (the rest are read from their variable only)."""


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
    """Load accounts, users, apps and webinars from a seed file, or a whole state from a state
    file (zoomlive state export: it replaces what the store holds)."""
    if not url:
        require_emulator("seed", *store_modules(db))
    import json

    raw = file.read_bytes()
    if _is_state_file(raw):
        _seed_state(file, raw, db, url, admin_key)
        return
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
    from zoomlive.emulator.control import seed as seeding
    from zoomlive.emulator.http import parse_document, validate_model

    with _store_env(db) as env:
        try:
            doc = validate_model(seeding.SeedDoc, parse_document(raw))
            with env.store.write() as tx:
                credentials = seeding.load(env, tx, doc)
        except ZoomError as err:
            detail = "".join(f" {e.field}" for e in err.errors or [])
            raise fail(f"{err.message}{detail}") from None
    typer.echo(json.dumps({"credentials": credentials}, indent=2))


@contextlib.contextmanager
def _store_env(db: str) -> Iterator[Env]:
    """``zoomlive seed --db``: the emulator's environment on that store, without serving it,
    closed however the seeding ends."""
    from zoomlive.emulator.app import open_env
    from zoomlive.emulator.settings import SETTINGS_ERRORS, Settings

    try:
        settings = Settings.from_env(db=db, demo=False)
    except SETTINGS_ERRORS as exc:
        raise _refuse("seed", exc, {"db": "--db"}) from None
    env = open_env(settings)
    try:
        yield env
    finally:
        env.close()


def _is_state_file(raw: bytes) -> bool:
    """A state file says so in its first key (docs/state.md); a seed file never does."""
    import json

    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("format") == "zoomlive-state"


def _seed_state(file: Path, raw: bytes, db: str, url: str | None, admin_key: str | None) -> None:
    """``zoomlive seed STATE_FILE``: the state imported, into a running emulator or a store."""
    if url:
        from zoomlive.cli.state import import_

        import_(file, url, admin_key)
        return
    from zoomlive.emulator.control import snapshots
    from zoomlive.emulator.store.dump import StateFileError

    with _store_env(db) as env:
        try:
            result = snapshots.import_state(env, snapshots.parse_state(raw))
        except StateFileError as exc:
            raise fail(f"cannot import {file}: {exc}") from None
    typer.echo(f"imported {sum(result['rows'].values())} rows from {file} into {db}")


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
    watch_port: Annotated[
        int | None,
        typer.Option(
            help="Serve what arrives as live FLV on this HTTP port "
            "(http://HOST:PORT/APP/KEY.flv; play it with ffplay or VLC)."
        ),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Receive rtmps:// (TLS); without --cert/--key a self-signed certificate, "
            "kept in ~/.cache/zoomlive/tls.",
        ),
    ] = False,
    cert: Annotated[Path | None, typer.Option(help="--tls: certificate chain (PEM).")] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--key-file", help="--tls: private key (PEM).")
    ] = None,
) -> None:
    """Listen for RTMP publishers (e.g. the emulator's streams) and report what arrives."""
    require_modules("receive", "av", *(("cryptography",) if tls and cert is None else ()))
    from zoomlive.receiver import ReceiverError, run_receive
    from zoomlive.tls import ServerTls, default_tls_dir, self_signed

    server_tls = None
    if tls:
        if (cert is None) != (tls_key is None):
            raise fail("--cert and --key-file go together", 2)
        if cert is not None and tls_key is not None:
            server_tls = ServerTls(cert, tls_key)
        else:
            server_tls = self_signed(default_tls_dir(), host)
    try:
        run_receive(
            port,
            host,
            app_name,
            key,
            record,
            frame,
            typer.echo,
            watch_port=watch_port,
            tls=server_tls,
        )
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
