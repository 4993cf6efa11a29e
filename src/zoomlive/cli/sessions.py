"""``zoomlive webinar ...`` and ``zoomlive meeting ...``: a thin shell over the SDK.

One error boundary: Zoom's refusals print ``Zoom error CODE: MESSAGE`` on stderr and exit 1,
unreachable servers exit 3, usage errors exit 2, a create whose answer was lost (it may have
been made) exits 4 with the command that shows whether it was. ``--json`` prints
machine-readable output. Bulk (``--from-file FILE.csv``) runs rows concurrently under the rate
limit, with a progress bar and a summary table, and exits 0 only when every row succeeded.

Credentials and URLs come from the SDK's environment variables (every command's ``--help``
lists them, see :data:`ENVIRONMENT`), ``--base-url`` and ``--token``.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from zoomlive._client import AsyncZoomClient, ZoomClient
from zoomlive._exceptions import AmbiguousResultError, APIConnectionError, ZoomAPIError
from zoomlive.api.sessions import KINDS, SessionKind
from zoomlive.cli.errors import EXIT_AMBIGUOUS, EXIT_UNREACHABLE, EXIT_USAGE, EXIT_ZOOM

C = TypeVar("C", ZoomClient, AsyncZoomClient)

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="API base URL, e.g. http://127.0.0.1:8080/v2 for the emulator.",
        envvar="ZOOM_API_BASE_URL",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="An access token to use as is, instead of fetching one with the client credentials.",
        envvar="ZOOM_ACCESS_TOKEN",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
FromFile = Annotated[
    Path | None,
    typer.Option(
        "--from-file",
        help="CSV with one row per call: an id column, and columns named after the options.",
        exists=True,
        dir_okay=False,
    ),
]


# The epilog of every command that calls Zoom. Paragraphs, no square brackets (rich markup).
ENVIRONMENT = "\n\n".join(
    [
        "Environment:",
        "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET: the Server-to-Server OAuth app "
        "(the emulator's demo app: demo-account, demo-client-id, demo-client-secret).",
        "ZOOM_API_BASE_URL (--base-url): the API, default https://api.zoom.us/v2; the emulator "
        "is http://127.0.0.1:8080/v2.",
        "ZOOM_OAUTH_BASE_URL: where tokens come from, default https://zoom.us, or the base URL "
        "without /v2 when one is given.",
        "ZOOM_ACCESS_TOKEN (--token): a token to use as is; then no credentials are needed.",
    ]
)


def _options(base_url: str | None, token: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if token:
        options["token"] = token
    if base_url:
        options["base_url"] = base_url
        if "ZOOM_OAUTH_BASE_URL" not in os.environ:
            # The emulator serves OAuth beside the API: http://host:port/v2 -> http://host:port
            options["oauth_base_url"] = base_url.rstrip("/").removesuffix("/v2")
    return options


def _make(cls: type[C], options: dict[str, Any]) -> C:
    """A client, or exit 2 when the configuration is incomplete (no credentials, no token)."""
    try:
        return cls(**options)
    except ValueError as exc:
        _fail(f"{exc} (--token or ZOOM_ACCESS_TOKEN)", EXIT_USAGE)
        raise


def _client(base_url: str | None, token: str | None) -> ZoomClient:
    return _make(ZoomClient, _options(base_url, token))


def _fail(message: str, code: int) -> None:
    typer.echo(f"zoomlive: {message}" if code != EXIT_ZOOM else message, err=True)
    raise typer.Exit(code)


def _guard(
    action: Callable[[], Any],
    as_json: bool,
    check: str | None = None,
    show: Callable[[Any, bool], None] | None = None,
) -> None:
    """Run one call; print its result (with ``show``, by default :func:`_print`); map failures
    to one line and an exit code. ``check``: how to see whether the call took effect when its
    answer was lost (instead of the SDK's hint, which names SDK calls)."""
    try:
        result = action()
    except ZoomAPIError as err:
        _fail(str(err), EXIT_ZOOM)
    except AmbiguousResultError as err:
        _fail(f"{err.message} ({check or err.hint})", EXIT_AMBIGUOUS)
    except APIConnectionError as err:
        _fail(str(err), EXIT_UNREACHABLE)
    except ValueError as err:
        _fail(_one_line(err), EXIT_USAGE)
    else:
        (show or _print)(result, as_json)


def _one_line(err: ValueError) -> str:
    """A bad argument in one line: pydantic's report names each field and what is wrong."""
    if isinstance(err, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'value'}: {e['msg']}"
            for e in err.errors()
        )
    return str(err)


def _print(result: Any, as_json: bool) -> None:
    if result is None:
        typer.echo('{"ok": true}' if as_json else "ok")
        return
    data = (
        result.model_dump(mode="json", exclude_none=True)
        if isinstance(result, BaseModel)
        else result
    )
    if as_json:
        typer.echo(json.dumps(data))
        return
    if isinstance(data, list):
        for item in data:
            typer.echo("  ".join(f"{k}={v}" for k, v in item.items() if not isinstance(v, dict)))
        return
    for key, value in data.items():
        if not isinstance(value, dict | list):
            typer.echo(f"{key}: {value}")


REGISTRATION = {"auto": 0, "manual": 1, "off": 2}
"""``--registration``: Zoom's ``settings.approval_type``."""


def session_app(kind: SessionKind) -> typer.Typer:
    app = typer.Typer(help=f"Zoom {kind}s and their live streams.", no_args_is_help=True)
    live = typer.Typer(help=f"A {kind}'s custom live stream.", no_args_is_help=True)
    app.add_typer(live, name="livestream")
    metavar = f"{kind.upper()}_ID"

    # Defaults, not Annotated aliases: the metavar depends on ``kind``, and a local alias would
    # not resolve from the string annotations.
    def id_arg() -> Any:
        return typer.Argument(metavar=metavar, help=f"The {kind}'s ID.", show_default=False)

    def id_or_file_arg() -> Any:
        return typer.Argument(
            None, metavar=metavar, help=f"The {kind}'s ID; or give --from-file.", show_default=False
        )

    def command(group: typer.Typer, name: str) -> Callable[[Callable[..., None]], Any]:
        """Every command here calls Zoom: its --help lists the environment it reads."""
        return group.command(name, epilog=ENVIRONMENT)

    def sessions(client: ZoomClient) -> Any:
        return getattr(client, KINDS[kind].plural)

    @command(app, "get")
    def get(
        session_id: str = id_arg(),
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Show one."""
        with _client(base_url, token) as client:
            _guard(lambda: sessions(client).get(session_id), as_json)

    @command(app, "create")
    def create(
        topic: Annotated[str, typer.Option(help="Topic.")],
        user: Annotated[str, typer.Option(help="Host: me, an id or an email.")] = "me",
        start_time: Annotated[str | None, typer.Option(help="ISO 8601 start time.")] = None,
        duration: Annotated[int | None, typer.Option(help="Minutes.")] = None,
        agenda: Annotated[str | None, typer.Option(help="Agenda.")] = None,
        registration: Annotated[
            str | None,
            typer.Option(
                help="Registration: auto (approved at once), manual (you approve), off (default)."
            ),
        ] = None,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Create one."""
        fields: dict[str, Any] = {
            "topic": topic,
            "start_time": start_time,
            "duration": duration,
            "agenda": agenda,
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        if registration is not None:
            if registration not in REGISTRATION:
                _fail(f"--registration: {registration!r} is none of auto, manual, off", EXIT_USAGE)
            fields["settings"] = {"approval_type": REGISTRATION[registration]}
        check = (
            f"the {kind} may have been created all the same: look for it in "
            f"`zoomlive {kind} list --user {user}` before creating it again"
        )
        with _client(base_url, token) as client:
            _guard(lambda: sessions(client).create(user, **fields), as_json, check)

    @command(app, "update")
    def update(
        session_id: str = id_arg(),
        topic: Annotated[str | None, typer.Option(help="Topic.")] = None,
        agenda: Annotated[str | None, typer.Option(help="Agenda.")] = None,
        duration: Annotated[int | None, typer.Option(help="Minutes.")] = None,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Change some of its fields."""
        fields = {"topic": topic, "agenda": agenda, "duration": duration}
        fields = {k: v for k, v in fields.items() if v is not None}
        with _client(base_url, token) as client:
            _guard(lambda: sessions(client).update(session_id, **fields), as_json)

    @command(app, "list")
    def list_(
        user: Annotated[str, typer.Option(help="Host: me, an id or an email.")] = "me",
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """List every one of the user's (all pages)."""
        with _client(base_url, token) as client:
            iterate = getattr(client, f"iter_{KINDS[kind].plural}")
            _guard(lambda: [item.model_dump(mode="json") for item in iterate(user)], as_json)

    @command(app, "delete")
    def delete(
        session_id: str = id_arg(),
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Delete one."""
        with _client(base_url, token) as client:
            _guard(lambda: sessions(client).delete(session_id), as_json)

    @command(app, "end")
    def end(
        session_id: str = id_arg(),
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """End a running one."""
        with _client(base_url, token) as client:
            _guard(lambda: sessions(client).end(session_id), as_json)

    @command(app, "join-token")
    def join_token(
        session_id: str = id_arg(),
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """A token for a live-streaming app to join (valid for expire_in seconds)."""
        with _client(base_url, token) as client:
            _guard(lambda: sessions(client).livestream.join_token(session_id), as_json)

    @command(live, "get")
    def ls_get(
        session_id: str = id_arg(),
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Show the live stream configuration."""
        with _client(base_url, token) as client:
            _guard(lambda: sessions(client).livestream.get(session_id), as_json)

    @command(live, "configure")
    def ls_configure(
        session_id: str | None = id_or_file_arg(),
        stream_url: Annotated[str | None, typer.Option(help="RTMP URL.")] = None,
        stream_key: Annotated[str | None, typer.Option(help="Stream key.")] = None,
        page_url: Annotated[str | None, typer.Option(help="Viewers' page.")] = None,
        resolution: Annotated[str | None, typer.Option(help="720p or 1080p.")] = None,
        from_file: FromFile = None,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Set the stream URL, key, page and resolution."""
        args = {
            "stream_url": stream_url,
            "stream_key": stream_key,
            "page_url": page_url,
            "resolution": resolution,
        }
        _live_call(kind, "update", session_id, args, from_file, _options(base_url, token), as_json)

    @command(live, "start")
    def ls_start(
        session_id: str | None = id_or_file_arg(),
        display_name: Annotated[str | None, typer.Option(help="The stream's name.")] = None,
        active_speaker_name: Annotated[
            bool | None,
            typer.Option(
                "--active-speaker-name/--no-active-speaker-name",
                help="Show the active speaker's name.",
            ),
        ] = None,
        layout: Annotated[str | None, typer.Option(help="Meetings: the layout.")] = None,
        close_caption: Annotated[str | None, typer.Option(help="Meetings: captions.")] = None,
        from_file: FromFile = None,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Start the live stream."""
        args = {
            "display_name": display_name,
            "active_speaker_name": active_speaker_name,
            "layout": layout,
            "close_caption": close_caption,
        }
        _live_call(kind, "start", session_id, args, from_file, _options(base_url, token), as_json)

    @command(live, "stop")
    def ls_stop(
        session_id: str | None = id_or_file_arg(),
        from_file: FromFile = None,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Stop the live stream."""
        _live_call(kind, "stop", session_id, {}, from_file, _options(base_url, token), as_json)

    if kind == "meeting":

        @command(live, "mode")
        def ls_mode(
            session_id: str = id_arg(),
            layout: Annotated[
                str | None, typer.Option(help="follow_host, gallery_view, speaker_view.")
            ] = None,
            close_caption: Annotated[
                str | None, typer.Option(help="burnt-in, embedded, off.")
            ] = None,
            base_url: BaseUrl = None,
            token: Token = None,
            as_json: AsJson = False,
        ) -> None:
            """Change a running stream's layout and captions."""
            with _client(base_url, token) as client:
                _guard(
                    lambda: client.meetings.livestream.mode(
                        session_id, layout=layout, close_caption=close_caption
                    ),
                    as_json,
                )

    return app


def _live_call(
    kind: SessionKind,
    method: str,
    session_id: str | None,
    args: dict[str, Any],
    from_file: Path | None,
    options: dict[str, Any],
    as_json: bool,
) -> None:
    if from_file is None:
        if session_id is None:
            _fail(f"give a {kind.upper()}_ID, or --from-file", EXIT_USAGE)
        with _make(ZoomClient, options) as client:
            live = getattr(client, KINDS[kind].plural).livestream
            clean = {k: v for k, v in args.items() if v is not None}
            _guard(lambda: getattr(live, method)(session_id, **clean), as_json)
        return
    rows = _read_rows(from_file, args)
    results = asyncio.run(_bulk(kind, method, rows, options, as_json))
    failed = [r for r in results if not r["ok"]]
    if as_json:
        typer.echo(json.dumps(results))
    else:
        table = Table(
            title=f"{method} on {len(results)} {kind}s: "
            f"{len(results) - len(failed)} ok, {len(failed)} failed"
        )
        for column in ("id", "result"):
            table.add_column(column)
        for row in results:
            table.add_row(str(row["id"]), "ok" if row["ok"] else row["error"])
        Console(file=sys.stdout, width=120).print(table)
    if failed:
        raise typer.Exit(EXIT_ZOOM)


def _read_rows(path: Path, defaults: dict[str, Any]) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not (
            {"id", "webinar_id", "meeting_id"} & set(reader.fieldnames)
        ):
            _fail(f"{path}: needs an id column", EXIT_USAGE)
        rows = []
        for raw in reader:
            row = {k.strip().replace("-", "_"): (v or "").strip() for k, v in raw.items() if k}
            session_id = row.pop("id", "") or row.pop("webinar_id", "") or row.pop("meeting_id", "")
            values = {k: v for k, v in defaults.items() if v is not None}
            for key, value in row.items():
                if key in defaults and value != "":
                    values[key] = _typed(key, value)
            rows.append({"id": session_id, "args": values})
    return rows


def _typed(key: str, value: str) -> Any:
    if key == "active_speaker_name":
        return value.lower() in ("1", "true", "yes", "on")
    return value


async def _bulk(
    kind: SessionKind, method: str, rows: list[dict[str, Any]], options: dict[str, Any], quiet: bool
) -> list[dict[str, Any]]:
    """Every row concurrently; the client's pacer keeps the whole run under the rate limit."""
    client = _make(AsyncZoomClient, options)
    results: list[dict[str, Any]] = []
    limit = asyncio.Semaphore(64)
    async with client:
        live = getattr(client, KINDS[kind].plural).livestream
        call: Callable[..., Awaitable[Any]] = getattr(live, method)
        with Progress(disable=quiet, transient=True) as progress:
            task = progress.add_task(f"{method}", total=len(rows))

            async def one(row: dict[str, Any]) -> None:
                async with limit:
                    try:
                        await call(row["id"], **row["args"])
                        results.append({"id": row["id"], "ok": True})
                    except ZoomAPIError as err:
                        results.append(
                            {"id": row["id"], "ok": False, "error": str(err), "code": err.code}
                        )
                    except (APIConnectionError, ValueError) as err:
                        results.append({"id": row["id"], "ok": False, "error": str(err)})
                    progress.advance(task)

            # The first call alone: its X-RateLimit-* headers teach the pacer the account's
            # limit before the others go out, so the run does not start with a burst of 429s.
            if rows:
                await one(rows[0])
            await asyncio.gather(*(one(row) for row in rows[1:]))
    order = {row["id"]: i for i, row in enumerate(rows)}
    return sorted(results, key=lambda r: order.get(r["id"], 0))
