"""``zoomlive trigger EVENT``: a running emulator sends any webhook of Zoom's documents now
(``POST /_emulator/webhooks/trigger``); ``zoomlive trigger --list`` shows them all and what
each needs (docs/webhooks.md)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from zoomlive.cli.errors import EXIT_UNREACHABLE, EXIT_USAGE, fail

DEFAULT_EMULATOR = "http://127.0.0.1:8080"
OPTION = {"meeting_id": "--meeting", "webinar_id": "--webinar", "user_id": "--user"}
"""The option that names each kind of object."""


def _needs(row: dict[str, Any]) -> str:
    ids = [OPTION[name] for name in row["ids"]]
    return " or ".join(ids) if ids else "(the account)"


def show_list(as_json: bool) -> None:
    """Every event, what names its object, and what Zoom says of it (a rich table)."""
    from zoomlive.cli.emulator import require_emulator

    require_emulator("trigger --list")
    from rich.console import Console
    from rich.table import Table

    from zoomlive.emulator.control.trigger import catalog

    rows = catalog()
    if as_json:
        typer.echo(json.dumps(list(rows), indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} webhook events (Zoom's Meetings and Users documents)")
    table.add_column("event", no_wrap=True)
    table.add_column("about", no_wrap=True)
    table.add_column("description")
    for row in rows:
        first = row["description"].split(". ")[0].rstrip(".")
        table.add_row(row["event"], _needs(row), first + "." if first else "")
    Console(file=sys.stdout, width=160).print(table)


def trigger(
    event: Annotated[
        str | None,
        typer.Argument(help="An event of Zoom's webhook documents, e.g. meeting.started."),
    ] = None,
    meeting: Annotated[
        str | None, typer.Option("--meeting", help="The meeting the event is about (its id).")
    ] = None,
    webinar: Annotated[
        str | None, typer.Option("--webinar", help="The webinar the event is about (its id).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="The user the event is about (id or email).")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="Send it to this URL instead of the app's endpoint (same signature)."),
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="The account (default: the object's, or the only one).")
    ] = None,
    app: Annotated[
        str | None, typer.Option("--app", help="Only this app's endpoint (its client id).")
    ] = None,
    emulator: Annotated[
        str,
        typer.Option(help="The emulator's base URL.", envvar="ZOOMLIVE_EMULATOR_URL"),
    ] = DEFAULT_EMULATOR,
    admin_key: Annotated[
        str | None, typer.Option(help="The emulator's admin key.", envvar="ZOOMLIVE_ADMIN_KEY")
    ] = None,
    list_events: Annotated[
        bool, typer.Option("--list", help="List every event and what names its object.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Make a running emulator send any Zoom webhook now, signed, through its normal delivery
    (retries, log, dashboard). Without --meeting, --webinar or --user the object is made up."""
    if list_events:
        show_list(as_json)
        return
    if event is None:
        raise fail("trigger needs an EVENT (zoomlive trigger --list shows them)", EXIT_USAGE)
    named = [(k, v) for k, v in (("meeting_id", meeting), ("webinar_id", webinar)) if v]
    if user:
        named.append(("user_id", user))
    if len(named) > 1:
        raise fail("name one object at most: --meeting, --webinar or --user", EXIT_USAGE)
    body: dict[str, Any] = {"event": event}
    for name, value in named:
        body[name] = int(value) if name != "user_id" and value.isdigit() else value
    for name, given in (("url", url), ("account_id", account), ("client_id", app)):
        if given is not None:
            body[name] = given
    import httpx

    headers = {"X-Admin-Key": admin_key} if admin_key else {}
    target = f"{emulator.rstrip('/')}/_emulator/webhooks/trigger"
    try:
        response = httpx.post(target, json=body, headers=headers, timeout=30, trust_env=False)
    except httpx.HTTPError as exc:
        raise fail(f"could not reach {emulator}: {exc}", EXIT_UNREACHABLE) from None
    try:
        data = response.json()
    except ValueError:
        data = {"message": response.text}
    if response.status_code >= 400:
        message = data.get("message") if isinstance(data, dict) else data
        raise fail(f"{response.status_code}: {message}")
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for queued in data["deliveries"]:
        typer.echo(
            f"{data['event']}: delivery {queued['id']} to {queued['url']} "
            f"(app {queued['client_id']})"
        )


def register(app: typer.Typer) -> None:
    """Add ``zoomlive trigger``."""
    app.command("trigger")(trigger)
