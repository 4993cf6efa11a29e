"""``zoomlive record`` (a recording proxy in front of Zoom) and ``zoomlive parity`` (a cassette
replayed against an emulator, with its differences). ``record`` needs the emulator extra (the
proxy runs as the emulator is served, the checks use the spec tier's schemas) and says so;
``parity`` is HTTP calls and a table, the base install's. docs/parity.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from zoomlive.cli.emulator import require_emulator
from zoomlive.cli.errors import EXIT_UNREACHABLE, EXIT_USAGE, EXIT_ZOOM, fail


def record(
    out: Annotated[Path, typer.Option("--out", help="The cassette file to write (JSON).")],
    upstream: Annotated[
        str, typer.Option(help="Zoom's API host, where /v2 requests go.")
    ] = "https://api.zoom.us",
    oauth_upstream: Annotated[
        str | None,
        typer.Option(help="Where /oauth/token goes (default: https://zoom.us for Zoom's API)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free one).")] = 8090,
) -> None:
    """Run a recording proxy: point your client at it (API base http://HOST:PORT/v2, OAuth base
    http://HOST:PORT); it forwards to the upstream, writes each exchange, redacted, to the
    cassette, and flags what breaks Zoom's document (x-zoomlive-violations). Ctrl-C stops."""
    require_emulator("record", "jsonschema_rs")
    from zoomlive.emulator.serving import BindError, ServeOptions, bind, run
    from zoomlive.parity.proxy import HOST_PATH, Recorder

    if oauth_upstream is None:
        stripped = upstream.rstrip("/").removesuffix("/v2")
        oauth_upstream = "https://zoom.us" if stripped == "https://api.zoom.us" else stripped
    for name, url in (("--upstream", upstream), ("--oauth-upstream", oauth_upstream)):
        if not url.startswith(("http://", "https://")):
            raise fail(f"{name} must be an http:// or https:// URL, not {url!r}", EXIT_USAGE)
    if out.is_dir() or not out.parent.is_dir():
        raise fail(f"--out {out}: not a file in an existing folder", EXIT_USAGE)
    try:
        sock = bind(host, port)
    except BindError as exc:
        raise fail(str(exc), EXIT_UNREACHABLE) from None
    bound = sock.getsockname()[1]
    try:
        app = Recorder(upstream, out, oauth_upstream=oauth_upstream)
    except OSError as exc:
        sock.close()
        raise fail(f"cannot write {out}: {exc.strerror or exc}", EXIT_USAGE) from None
    base = f"http://{host if ':' not in host else f'[{host}]'}:{bound}"
    typer.echo(
        f"zoomlive record: {base} -> {app.upstream} (OAuth {app.oauth_upstream}), "
        f"cassette {out}\n"
        f"  API base {base}/v2, OAuth base {base}; host steps: POST {base}{HOST_PATH}",
        err=True,
    )
    # The emulator's way of serving: its connection guards, its logs (the zoomlive loggers at
    # info: one line per exchange, its violations), and a clean stop on Ctrl-C.
    run(app, sock, ServeOptions(log_level="info"))


def parity(
    cassette: Annotated[Path, typer.Argument(help="A cassette written by zoomlive record.")],
    url: Annotated[str, typer.Option(help="The emulator's root URL.")] = "http://127.0.0.1:8080",
    account_id: Annotated[
        str | None,
        typer.Option(
            help="An app on the emulator (default: a new account each run). ZOOM_* variables "
            "are not read here: they hold Zoom's credentials.",
        ),
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="With --account-id.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="With --account-id.")] = None,
    admin_key: Annotated[
        str | None,
        typer.Option(help="The emulator's control API key.", envvar="ZOOMLIVE_ADMIN_KEY"),
    ] = None,
    values: Annotated[
        bool, typer.Option("--values", help="Compare values too (volatile ones masked).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Replay a cassette's requests against the emulator and report how its answers differ
    from the recorded ones (status, Zoom's code and message, body shape). Exit 1 on any
    difference, 0 when none."""
    from zoomlive.parity.cassette import CassetteError, load
    from zoomlive.parity.compare import Credentials, Replayer, ReplayError

    try:
        tape = load(cassette)
    except CassetteError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    given = [account_id, client_id, client_secret]
    if any(given) and not all(given):
        raise fail("give --account-id, --client-id and --client-secret together", EXIT_USAGE)
    creds = Credentials(*given) if all(given) else None  # type: ignore[arg-type]
    try:
        with Replayer(url, creds, admin_key=admin_key, values=values) as replayer:
            report = replayer.run(tape, str(cassette))
    except ReplayError as exc:
        raise fail(str(exc), EXIT_UNREACHABLE) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print(report)
    if report.differences:
        raise typer.Exit(EXIT_ZOOM)


def _print(report: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from zoomlive.parity.compare import Report

    assert isinstance(report, Report)
    # A pipe gets the whole table (rich would fold it at 80 columns).
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    if report.differences:
        table = Table(title=f"Differences from {report.cassette}")
        for column in ("#", "request", "what", "where", "recorded", "emulator"):
            table.add_column(column, overflow="fold")
        for d in report.differences:
            table.add_row(str(d.entry), d.request, d.what, d.where, d.recorded, d.emulator)
        console.print(table)
    console.print(
        f"{report.exchanges} exchanges and {report.host_steps} host steps replayed: "
        f"{len(report.differences)} differences",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``record`` and ``parity`` to the ``zoomlive`` app."""
    app.command()(record)
    app.command()(parity)
