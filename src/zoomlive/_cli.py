"""The ``zoomlive`` command line. ``serve`` runs the emulator; ``seed`` loads a seed file.

One error boundary: a failure prints one line to stderr and exits 2 (usage) or 1 (anything else).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ._media.command import PROFILES
from ._server.settings import LOOPBACK_HOSTS

app = typer.Typer(
    name="zoomlive",
    help="Control Zoom webinar and meeting live streams, or emulate Zoom's API to test against.",
    no_args_is_help=True,
    add_completion=False,
)

DEFAULT_DB = "zoomlive.db"
GRACEFUL_S = 2


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"zoomlive: {message}", err=True)
    return typer.Exit(code)


def banner(base: str, demo_seeded: bool) -> str:
    from ._server.seed import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_WEBINAR_ID

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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
    db: Annotated[
        str,
        typer.Option(help="SQLite file, ':memory:', or a database URL.", envvar="ZOOMLIVE_DB"),
    ] = DEFAULT_DB,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Seed the demo account.")] = True,
    admin_key: Annotated[
        str | None,
        typer.Option(
            help="Key for the control API; required off loopback.", envvar="ZOOMLIVE_ADMIN_KEY"
        ),
    ] = None,
    token_ttl: Annotated[int, typer.Option(help="Access token lifetime, seconds.")] = 3599,
    seed: Annotated[int | None, typer.Option(help="Seed ids and tokens (reproducible).")] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Base URL to advertise (api_url, join links).")
    ] = None,
    media: Annotated[
        str,
        typer.Option(
            help="ffmpeg: push real RTMP; fake: stream states without media; off.",
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
        int, typer.Option(help="Worker processes (more than 1 needs --media fake or off).")
    ] = 1,
    webhook_time_scale: Annotated[
        float,
        typer.Option(help="Scale Zoom's webhook delays (retries, revalidation); 0.001 for tests."),
    ] = 1.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run the Zoom API emulator."""
    import uvicorn

    from ._server.app import create_app, open_env
    from ._server.settings import Settings

    if host not in LOOPBACK_HOSTS and not admin_key:
        raise fail(
            f"binding to {host} exposes the control API: give --admin-key or ZOOMLIVE_ADMIN_KEY",
            2,
        )
    if token_ttl < 1:
        raise fail("--token-ttl must be at least 1 second", 2)
    if media not in ("ffmpeg", "fake", "off"):
        raise fail("--media must be ffmpeg, fake or off", 2)
    if workers < 1 or (workers > 1 and media == "ffmpeg"):
        raise fail("--workers above 1 needs --media fake or off (streams run in one process)", 2)
    if workers > 1 and db == ":memory:":
        raise fail("--workers above 1 needs a shared store: a file or a database URL", 2)
    if rate_limits not in ("zoom", "off") and not Path(rate_limits).is_file():
        raise fail(f"--rate-limits: no such file {rate_limits}", 2)
    if media_profile is not None and media_profile not in PROFILES:
        raise fail(f"--media-profile must be one of {', '.join(PROFILES)}", 2)
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
    )
    try:
        probe = open_env(settings)  # migrate and seed now, so errors show before binding
    except Exception as exc:
        raise fail(f"cannot open the store {db!r}: {exc}") from None
    with probe.store.read() as tx:
        seeded = any(a.id == "demo-account" for a in tx.list_accounts())
    probe.store.close()
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    typer.echo(banner(public_url or f"http://{shown}:{port}", seeded))
    sys.stdout.flush()
    if workers > 1:
        # Each worker builds its app from the same settings, passed through the environment.
        os.environ.update(settings.to_env())
        uvicorn.run(
            "zoomlive._server.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_S,
        )
        return
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_S,  # open event feeds must not hold up a stop
    )


@app.command("seed")
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
    import json

    raw = file.read_bytes()
    if url:
        import httpx

        headers = {"X-Admin-Key": admin_key} if admin_key else {}
        try:
            response = httpx.post(f"{url.rstrip('/')}/_emulator/seed", content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise fail(f"could not reach {url}: {exc}", 3) from None
        if response.status_code >= 400:
            raise fail(f"{response.status_code} {response.text}")
        typer.echo(json.dumps(response.json(), indent=2))
        return

    from ._errors import ZoomError
    from ._server import seed as seeding
    from ._server.app import open_env
    from ._server.http import parse_document, validate_model
    from ._server.settings import Settings

    env = open_env(Settings(db=db, demo=False))
    try:
        doc = validate_model(seeding.SeedDoc, parse_document(raw))
        with env.store.write() as tx:
            credentials = seeding.load(env, tx, doc)
    except ZoomError as err:
        detail = "".join(f" {e.field}" for e in err.errors or [])
        raise fail(f"{err.message}{detail}") from None
    finally:
        env.store.close()
    typer.echo(json.dumps({"credentials": credentials}, indent=2))


@app.command()
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
    from ._media.receiver import ReceiverError, run_receive

    try:
        run_receive(port, host, app_name, key, record, frame, typer.echo)
    except ReceiverError as exc:
        raise fail(str(exc), 3) from None
    except KeyboardInterrupt:
        pass


@app.command()
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
    from ._demo import run_demo

    if profile not in PROFILES:
        raise fail(f"--profile must be one of {', '.join(PROFILES)}", 2)
    try:
        run_demo(seconds, frame, profile, typer.echo)
    except Exception as exc:
        raise fail(f"demo failed: {exc}") from None


@app.command()
def version() -> None:
    """Print the version."""
    from ._version import __version__

    typer.echo(__version__)


def _add_client_commands() -> None:
    from ._cli_client import session_app

    app.add_typer(session_app("webinar"), name="webinar")
    app.add_typer(session_app("meeting"), name="meeting")


_add_client_commands()


def main() -> None:
    app()
