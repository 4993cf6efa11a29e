"""``zoomlive state ...``: a running emulator's state out to a file and back in, and its named
snapshots, through the control API (docs/state.md). Needs no more than the SDK's install: the
emulator may run anywhere this machine can reach."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from zoomlive._atomic import write_atomically
from zoomlive.cli.errors import EXIT_UNREACHABLE, EXIT_USAGE, fail

DEFAULT_URL = "http://127.0.0.1:8080"

state_app = typer.Typer(
    name="state",
    help="Export, import and snapshot a running emulator's state (docs/state.md).",
    no_args_is_help=True,
)

Url = Annotated[
    str,
    typer.Option(help="The emulator's root URL.", envvar="ZOOMLIVE_URL", show_default=True),
]
AdminKey = Annotated[
    str | None,
    typer.Option(help="The emulator's admin key.", envvar="ZOOMLIVE_ADMIN_KEY", show_default=False),
]


def _call(
    method: str, url: str, path: str, admin_key: str | None, content: bytes | None = None
) -> httpx.Response:
    """One control call; a refusal or an unreachable emulator is one line and an exit code."""
    headers = {"X-Admin-Key": admin_key} if admin_key else {}
    if content is not None:
        headers["Content-Type"] = "application/json"
    target = f"{url.rstrip('/')}/_emulator{path}"
    try:
        response = httpx.request(
            method, target, content=content, headers=headers, timeout=300, trust_env=False
        )
    except httpx.HTTPError as exc:
        raise fail(f"could not reach {url}: {exc}", EXIT_UNREACHABLE) from None
    if response.status_code >= 400:
        try:
            message = str(response.json()["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text.strip() or response.reason_phrase
        raise fail(f"{response.status_code}: {message}")
    return response


def _rows(result: dict[str, Any]) -> str:
    rows = result.get("rows", {})
    return f"{sum(rows.values())} rows in {sum(1 for n in rows.values() if n)} tables"


@state_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the state ('-': stdout).")],
    url: Url = DEFAULT_URL,
    admin_key: AdminKey = None,
) -> None:
    """Write the emulator's state to FILE (whole or not at all: the previous file stays until
    the new one is complete)."""
    response = _call("GET", url, "/state/export", admin_key)
    if str(file) == "-":
        sys.stdout.write(response.text)
        return
    try:
        write_atomically(file, response.text)
    except OSError as exc:
        raise fail(f"cannot write {file}: {exc.strerror or exc}") from None
    tables = json.loads(response.text).get("tables", {})
    typer.echo(f"exported {sum(len(r) for r in tables.values())} rows to {file}")


@state_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A state file (zoomlive state export).")],
    url: Url = DEFAULT_URL,
    admin_key: AdminKey = None,
) -> None:
    """Replace the emulator's state with FILE's, all or nothing."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}", EXIT_USAGE) from None
    result = _call("POST", url, "/state/import", admin_key, raw).json()
    typer.echo(f"imported {_rows(result)} from {file}")


@state_app.command("snapshot")
def snapshot(
    action: Annotated[
        str, typer.Argument(help="NAME to take a snapshot, or list, restore or delete.")
    ],
    name: Annotated[str | None, typer.Argument(help="The snapshot (restore, delete).")] = None,
    replace: Annotated[
        bool, typer.Option(help="Take it again over one of that name.", show_default=False)
    ] = False,
    url: Url = DEFAULT_URL,
    admin_key: AdminKey = None,
) -> None:
    """Named snapshots kept by the emulator: ``snapshot NAME``, ``snapshot list``,
    ``snapshot restore NAME``, ``snapshot delete NAME``."""
    if action == "list" and name is None:
        for item in _call("GET", url, "/snapshots", admin_key).json():
            typer.echo(f"{item['name']}\t{item['created_at']}\t{item['size']} bytes")
        return
    if action in ("restore", "delete"):
        if name is None:
            raise fail(f"snapshot {action} needs the snapshot's NAME", EXIT_USAGE)
        if action == "restore":
            result = _call("POST", url, f"/snapshots/{name}/restore", admin_key).json()
            typer.echo(f"restored {name}: {_rows(result)}")
        else:
            _call("DELETE", url, f"/snapshots/{name}", admin_key)
            typer.echo(f"deleted {name}")
        return
    if name is not None:
        raise fail(f"unknown snapshot action {action!r}: list, restore or delete", EXIT_USAGE)
    body = json.dumps({"name": action, "replace": replace}).encode()
    result = _call("POST", url, "/snapshots", admin_key, body).json()
    typer.echo(f"snapshot {result['name']}: {_rows(result)}")


def register(app: typer.Typer) -> None:
    app.add_typer(state_app, name="state")
