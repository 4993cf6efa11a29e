"""The state out and back in (docs/state.md): an export document of every stored table and the
emulator clock, imported whole in one transaction, and named snapshots kept in the store.

Control API::

    GET    /_emulator/state/export             the state now, as a file's text
    POST   /_emulator/state/import             replace the state with a file's (all or nothing)
    POST   /_emulator/snapshots                {"name", "replace"?}: keep the state under a name
    GET    /_emulator/snapshots                the names, oldest first
    POST   /_emulator/snapshots/{name}/restore the named state back
    DELETE /_emulator/snapshots/{name}

The tables are the store's business (:mod:`zoomlive.emulator.store.dump`); here are the
document around them, the clock, and what an import does beyond the store (the rate
limiter's counters start again, the webhook dispatcher looks at its new outbox).
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from zoomlive._atomic import write_atomically
from zoomlive._version import __version__
from zoomlive.api.errors import E, ZoomError
from zoomlive.emulator.control.endpoints import (
    ControlRequest,
    backend_log,
    check_admin,
    endpoint,
)
from zoomlive.emulator.env import Env
from zoomlive.emulator.http import error_response, get_env, internal_error, read_body
from zoomlive.emulator.http import validate_model as validate
from zoomlive.emulator.store import IntegrityError
from zoomlive.emulator.store.backend import HEAD_REVISION
from zoomlive.emulator.store.dump import (
    StateFileError,
    check_tables,
    delete_snapshot,
    dumps,
    list_snapshots,
    load_snapshot,
    read_tables,
    records_of,
    replace_state,
    save_snapshot,
    sync_sequences,
)

FORMAT = "zoomlive-state"
VERSION = 1
"""The version of the format this emulator writes and reads (docs/state.md)."""
IMPORT_LIMIT = 1 << 30
"""The largest state file the control API takes (the usual body limit is for Zoom's calls)."""
_MAX_OFFSET_S = 100 * 365 * 86400.0


# the document ----------------------------------------------------------------------------------


def _clock_setting(env: Env) -> dict[str, Any]:
    refresh = getattr(env.clock, "refresh", None)
    if refresh is not None:
        refresh()  # a shared clock: what another worker set a moment ago
    frozen, offset = env.clock._setting
    return {
        "now": env.clock.now().isoformat(),
        "frozen": frozen is not None,
        "offset_seconds": offset.total_seconds(),
    }


def export_state(env: Env) -> dict[str, Any]:
    """The state now: every stored table (one instant) and the emulator clock."""
    clock = _clock_setting(env)
    tables = read_tables(env.store)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "zoomlive": __version__,
        "schema": HEAD_REVISION,
        "clock": clock,
        "tables": tables,
    }


def parse_state(raw: bytes | str) -> Any:
    """A state file's text as JSON, or :class:`StateFileError`."""
    import json

    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StateFileError(f"not JSON ({exc})") from None


def is_state_document(doc: Any) -> bool:
    """The document says it is a state file (``zoomlive seed`` tells them from seed files)."""
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _check_clock(value: Any) -> tuple[bool, datetime, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StateFileError("clock: expected an object")
    frozen, now, offset = value.get("frozen"), value.get("now"), value.get("offset_seconds", 0)
    if not isinstance(frozen, bool):
        raise StateFileError("clock.frozen: expected true or false")
    if isinstance(offset, bool) or not isinstance(offset, int | float):
        raise StateFileError("clock.offset_seconds: expected a number")
    if not math.isfinite(offset) or abs(offset) > _MAX_OFFSET_S:
        raise StateFileError("clock.offset_seconds: out of range")
    try:
        reading = datetime.fromisoformat(now) if isinstance(now, str) else None
    except ValueError:
        reading = None
    if reading is None or reading.tzinfo is None:
        raise StateFileError("clock.now: expected a time with its offset (ISO 8601)")
    return frozen, reading.astimezone(UTC), float(offset)


def check_document(doc: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """A document's tables (checked), their records and its clock, or StateFileError."""
    if not isinstance(doc, dict):
        raise StateFileError("expected a JSON object")
    if doc.get("format") != FORMAT:
        raise StateFileError(f"'format' must be {FORMAT!r} (not a zoomlive state file)")
    version = doc.get("version")
    if version != VERSION or isinstance(version, bool):
        raise StateFileError(
            f"version {version!r} is not one this zoomlive reads ({VERSION}); export it again "
            "with this version"
        )
    if "tables" not in doc:
        raise StateFileError("'tables' is missing")
    tables = check_tables(doc["tables"])
    records = records_of(tables)
    clock = _check_clock(doc.get("clock"))
    return tables, records, clock


def import_state(env: Env, doc: Any) -> dict[str, Any]:
    """Replace the state with the document's, in one transaction: checked whole first (a bad
    document changes nothing: :class:`StateFileError`), then the clock set as it was."""
    tables, records, clock = check_document(doc)
    sync_sequences(env.store, tables)
    try:
        with env.store.write() as tx:
            replace_state(tx, tables, records)
    except IntegrityError as exc:
        raise StateFileError(str(exc)) from None
    if clock is not None:
        frozen, reading, offset = clock
        env.clock.reset()
        if frozen:
            env.clock.freeze(True)
            env.clock.advance((reading - env.clock.now()).total_seconds())
        elif offset:
            env.clock.advance(offset)
    if env.limiter is not None:
        env.limiter.counters.clear()
        env.limiter.refused.clear()
    if env.webhooks is not None:
        env.webhooks.poke()  # its outbox is the file's now
    return {"imported": True, "rows": {name: len(rows) for name, rows in tables.items()}}


def export_to_file(env: Env, path: str | os.PathLike[str]) -> None:
    """``--export-on-exit``: the state into ``path`` (atomically)."""
    write_atomically(path, dumps(export_state(env)))


def import_from_file(env: Env, path: str | os.PathLike[str]) -> dict[str, Any]:
    """``--import``: a state file into the store."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return import_state(env, parse_state(raw))


# the control API -------------------------------------------------------------------------------


def _bad(exc: StateFileError) -> ZoomError:
    return E.CONTROL_BAD_STATE.error(reason=exc)


def export_route(env: Env, req: ControlRequest) -> Response:
    return Response(dumps(export_state(env)), media_type="application/json")


async def import_route(request: Request) -> Response:
    """``POST /_emulator/state/import``: the body is a state file (bigger than Zoom's calls may
    send, so its own limit)."""
    env = get_env(request)
    try:
        check_admin(env, request)
        raw = await read_body(request, IMPORT_LIMIT)
    except ZoomError as err:
        return error_response(err)

    def run() -> Response:
        try:
            return JSONResponse(import_state(env, parse_state(raw)))
        except StateFileError as exc:
            return error_response(_bad(exc))

    try:
        return await run_in_threadpool(run)
    except Exception:
        backend_log.exception("state import failed")
        return internal_error()


class SnapshotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    """Letters, digits, ``.``, ``_`` and ``-``, up to 100."""
    replace: bool = False
    """Overwrite a snapshot of that name (otherwise 409)."""


def create_snapshot(env: Env, req: ControlRequest) -> Response:
    body = validate(SnapshotBody, req.document())
    doc = export_state(env)
    text = dumps(doc)
    if not save_snapshot(env.store, body.name, datetime.now(UTC), text, replace=body.replace):
        raise E.CONTROL_CONFLICT.error(what="Snapshot", id=body.name)
    counts = {name: len(rows) for name, rows in doc["tables"].items()}
    return JSONResponse({"name": body.name, "size": len(text), "rows": counts}, status_code=201)


def snapshots_route(env: Env, req: ControlRequest) -> Response:
    return JSONResponse(list_snapshots(env.store))


def restore_snapshot(env: Env, req: ControlRequest) -> Response:
    name = req.path["name"]
    text = load_snapshot(env.store, name)
    if text is None:
        raise E.CONTROL_NOT_FOUND.error(what="Snapshot", id=name)
    try:
        result = import_state(env, parse_state(text))
    except StateFileError as exc:  # written by an older version, say
        raise _bad(exc) from None
    return JSONResponse({"name": name, **result})


def delete_snapshot_route(env: Env, req: ControlRequest) -> Response:
    name = req.path["name"]
    if not delete_snapshot(env.store, name):
        raise E.CONTROL_NOT_FOUND.error(what="Snapshot", id=name)
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    p = "/_emulator"
    return [
        Route(f"{p}/state/export", endpoint(export_route), methods=["GET"]),
        Route(f"{p}/state/import", import_route, methods=["POST"]),
        Route(f"{p}/snapshots", endpoint(create_snapshot), methods=["POST"]),
        Route(f"{p}/snapshots", endpoint(snapshots_route), methods=["GET"]),
        Route(f"{p}/snapshots/{{name}}/restore", endpoint(restore_snapshot), methods=["POST"]),
        Route(f"{p}/snapshots/{{name}}", endpoint(delete_snapshot_route), methods=["DELETE"]),
    ]
