"""``zoomlive webinar|meeting registrants ...`` and ``zoomlive webinar panelists ...``: who may
join a live-streamed session, over the SDK, with the error boundary and output of
:mod:`zoomlive.cli.sessions`.

Lists print a table (``--json``: the SDK's models as JSON). ``add --from-file people.csv``
(columns ``email``, ``first_name`` / ``name``, ``last_name``) sends the rows in batches of 30,
Zoom's most per call; ``approve|deny|cancel`` take several registrants at once, by id or email,
or a CSV of them (an ``email`` or ``id`` column), 30 per call too.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zoomlive._client import ZoomClient
from zoomlive.api.sessions import KINDS, SessionKind
from zoomlive.cli.errors import EXIT_USAGE
from zoomlive.cli.sessions import (
    ENVIRONMENT,
    AsJson,
    BaseUrl,
    Token,
    _client,
    _fail,
    _guard,
    _print,
)

BATCH = 30
"""Zoom's most registrants, or panelists, per call."""

People = Annotated[
    Path | None,
    typer.Option(
        "--from-file",
        help="CSV with one row per person: email, first_name (or name), last_name.",
        exists=True,
        dir_okay=False,
    ),
]


class Rows(list[dict[str, Any]]):
    """What a command prints as a table: rows and their columns (``--json``: the rows)."""

    def __init__(
        self, columns: tuple[str, ...], rows: Iterable[dict[str, Any]], title: str
    ) -> None:
        super().__init__(rows)
        self.columns = columns
        self.title = title


def _show(action: Callable[[], Any], as_json: bool) -> None:
    """``_guard``, printing :class:`Rows` as a table."""
    _guard(action, as_json, show=_table)


def _table(result: Any, as_json: bool) -> None:
    if not isinstance(result, Rows) or as_json:
        _print(result, as_json)
        return
    table = Table(title=result.title)
    for column in result.columns:
        table.add_column(column)
    for row in result:
        table.add_row(*(str(row.get(column, "")) for column in result.columns))
    Console(file=sys.stdout, width=160).print(table)


def _people(path: Path, name_field: str) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "email" not in reader.fieldnames:
            _fail(f"{path}: needs an email column", EXIT_USAGE)
        people = []
        for raw in reader:
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            if name_field == "name" and not row.get("name"):
                row["name"] = " ".join(
                    x for x in (row.get("first_name"), row.get("last_name")) if x
                )
            people.append({k: v for k, v in row.items() if v})
    return people


def _refs(path: Path) -> list[str]:
    """The registrants a CSV names: its ``email`` column, or its ``id`` column."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip() for f in reader.fieldnames or []]
        column = next((c for c in ("email", "id", "registrant_id") if c in fields), None)
        if column is None:
            _fail(f"{path}: needs an email or id column", EXIT_USAGE)
        found = []
        for raw in reader:
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            if row.get(str(column)):
                found.append(row[str(column)])
    return found


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def register(app: typer.Typer, kind: SessionKind) -> None:
    """Add ``registrants`` (and, to webinars, ``panelists``) to ``zoomlive KIND``."""
    plural = KINDS[kind].plural
    metavar = f"{kind.upper()}_ID"
    regs = typer.Typer(help=f"A {kind}'s registrants.", no_args_is_help=True)
    app.add_typer(regs, name="registrants")

    def id_arg() -> Any:
        return typer.Argument(metavar=metavar, help=f"The {kind}'s ID.", show_default=False)

    def command(group: typer.Typer, name: str) -> Callable[[Callable[..., None]], Any]:
        return group.command(name, epilog=ENVIRONMENT)

    def registrants(client: ZoomClient) -> Any:
        return getattr(client, plural).registrants

    @command(regs, "list")
    def reg_list(
        session_id: str = id_arg(),
        status: Annotated[
            str, typer.Option(help="approved, pending or denied (Zoom's default: approved).")
        ] = "approved",
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """List the registrants in one status (all pages)."""
        if status not in ("approved", "pending", "denied"):
            _fail(f"--status: {status!r} is none of approved, pending, denied", EXIT_USAGE)
        with _client(base_url, token) as client:
            _show(
                lambda: Rows(
                    ("id", "email", "first_name", "last_name", "status"),
                    (
                        r.model_dump(mode="json", exclude_none=True)
                        for r in registrants(client).list(session_id, status=status)
                    ),
                    f"{status} registrants of {kind} {session_id}",
                ),
                as_json,
            )

    @command(regs, "add")
    def reg_add(
        session_id: str = id_arg(),
        email: Annotated[str | None, typer.Option(help="Their email.")] = None,
        first_name: Annotated[str | None, typer.Option(help="First name.")] = None,
        last_name: Annotated[str | None, typer.Option(help="Last name.")] = None,
        auto_approve: Annotated[
            bool, typer.Option(help="Approve them at once (manual-approval sessions).")
        ] = False,
        from_file: People = None,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Register one person (--email, --first-name), or everyone in --from-file."""
        if from_file is None:
            if not (email and first_name):
                _fail("give --email and --first-name, or --from-file", EXIT_USAGE)
            person = {"email": email, "first_name": first_name}
            if last_name:
                person["last_name"] = last_name
            people = [person]
        else:
            people = [
                {k: p[k] for k in ("email", "first_name", "last_name") if k in p}
                for p in _people(from_file, "first_name")
            ]

        def add() -> Rows:
            added: list[dict[str, Any]] = []
            for chunk in _chunks(people):
                answer = registrants(client).batch(
                    session_id, chunk, auto_approve=auto_approve or None
                )
                added += answer.registrants
            return Rows(("registrant_id", "email", "join_url"), added, f"registered: {len(added)}")

        with _client(base_url, token) as client:
            _show(add, as_json)

    def status_command(name: str, action: str, doc: str) -> None:
        @regs.command(name, epilog=ENVIRONMENT, help=doc)
        def change(
            session_id: str = id_arg(),
            who: list[str] = typer.Argument(
                None,
                metavar="REGISTRANT...",
                help="Registrants, by ID or email; or give --from-file.",
                show_default=False,
            ),
            from_file: Annotated[
                Path | None,
                typer.Option(
                    "--from-file",
                    help="CSV with an email (or id) column, one registrant a row.",
                    exists=True,
                    dir_okay=False,
                ),
            ] = None,
            base_url: BaseUrl = None,
            token: Token = None,
            as_json: AsJson = False,
        ) -> None:
            named = [*(who or []), *(_refs(from_file) if from_file else [])]
            if not named:
                _fail("give REGISTRANTs (IDs or emails), or --from-file", EXIT_USAGE)

            def run() -> None:
                for chunk in _chunks(named):
                    registrants(client).update_status(session_id, action, chunk)

            with _client(base_url, token) as client:
                _guard(run, as_json)

    status_command("approve", "approve", "Approve registrants (by ID or email).")
    status_command("deny", "deny", "Deny registrants (by ID or email).")
    status_command("cancel", "cancel", "Cancel approved registrants' registration.")

    @command(regs, "remove")
    def reg_remove(
        session_id: str = id_arg(),
        ids: list[str] = typer.Argument(
            metavar="REGISTRANT_ID...", help="Registrants' IDs.", show_default=False
        ),
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Delete registrants."""

        def run() -> None:
            for registrant_id in ids:
                registrants(client).delete(session_id, registrant_id)

        with _client(base_url, token) as client:
            _guard(run, as_json)

    if kind != "webinar":
        return

    panel = typer.Typer(help="A webinar's panelists.", no_args_is_help=True)
    app.add_typer(panel, name="panelists")

    @command(panel, "list")
    def pan_list(
        session_id: str = id_arg(),
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """List the panelists."""
        with _client(base_url, token) as client:
            _show(
                lambda: Rows(
                    ("id", "name", "email", "join_url"),
                    (
                        p.model_dump(mode="json", exclude_none=True)
                        for p in client.webinars.panelists.list(session_id).panelists
                    ),
                    f"panelists of webinar {session_id}",
                ),
                as_json,
            )

    @command(panel, "add")
    def pan_add(
        session_id: str = id_arg(),
        email: Annotated[str | None, typer.Option(help="Their email.")] = None,
        name: Annotated[str | None, typer.Option(help="Their name.")] = None,
        from_file: People = None,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Add one panelist (--email, --name), or everyone in --from-file."""
        if from_file is None:
            if not (email and name):
                _fail("give --email and --name, or --from-file", EXIT_USAGE)
            people = [{"email": email, "name": name}]
        else:
            people = [
                {"email": p["email"], "name": p.get("name", "")} for p in _people(from_file, "name")
            ]

        def run() -> None:
            for chunk in _chunks(people):
                client.webinars.panelists.add(session_id, chunk)

        with _client(base_url, token) as client:
            _guard(run, as_json)

    @command(panel, "remove")
    def pan_remove(
        session_id: str = id_arg(),
        ids: list[str] = typer.Argument(
            None, metavar="PANELIST_ID...", help="Panelists' IDs.", show_default=False
        ),
        everyone: Annotated[bool, typer.Option("--all", help="Remove every panelist.")] = False,
        base_url: BaseUrl = None,
        token: Token = None,
        as_json: AsJson = False,
    ) -> None:
        """Remove panelists (by ID), or --all of them."""
        if bool(ids) == everyone:
            _fail("give PANELIST_IDs or --all", EXIT_USAGE)

        def run() -> None:
            if everyone:
                client.webinars.panelists.delete_all(session_id)
            for panelist_id in ids or []:
                client.webinars.panelists.delete(session_id, panelist_id)

        with _client(base_url, token) as client:
            _guard(run, as_json)
