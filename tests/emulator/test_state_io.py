"""The state out and back in (docs/state.md): an export reproduces the same answers after an
import, every stored table round-trips, an export is one instant under concurrent writes, a bad
file changes nothing, named snapshots, the CLI, ``serve --import/--export-on-exit``, and
PostgreSQL."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import BigInteger, Boolean, DateTime, Integer, LargeBinary
from starlette.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import DEMO_WEBINAR, Api, Server, get_token
from tests.support.helpers import WebhookReceiver, assert_error
from zoomlive._atomic import write_atomically
from zoomlive.cli import app as cli
from zoomlive.emulator.store import open_store
from zoomlive.emulator.store.dump import NOT_STATE, state_tables
from zoomlive.emulator.store.schema import ENTITIES, metadata
from zoomlive.testing import ZoomEmulator

SECRET = "state-io-secret-token"
CONFIG = {
    "stream_url": "rtmp://127.0.0.1:1935/live",
    "stream_key": "state-key",
    "page_url": "https://example.com/live",
}
OPEN = {"settings": {"approval_type": 1}}
"""Registration on, approved by hand."""


def build_state(api: Api, receiver: WebhookReceiver) -> dict[str, Any]:
    """A bit of everything: a frozen, moved clock; a webinar streaming; a meeting; registrants;
    a spec-tier object; a webhook subscription. The ids made."""
    assert api.control("POST", "/clock", json={"freeze": True}).status_code == 200
    assert api.control("POST", "/clock", json={"advance_seconds": 1800}).status_code == 200
    webinar = api.post("/v2/users/me/webinars", json={"topic": "Exported", **OPEN}).json()["id"]
    meeting = api.post("/v2/users/me/meetings", json={"topic": "Kept", **OPEN}).json()["id"]
    assert api.patch(f"/v2/webinars/{webinar}/livestream", json=CONFIG).status_code == 204
    assert api.control("POST", f"/webinars/{webinar}/start").status_code == 200
    status = f"/v2/webinars/{webinar}/livestream/status"
    assert api.patch(status, json={"action": "start"}).status_code == 204
    person = {"email": "ada@example.com", "first_name": "Ada", "last_name": "L"}
    assert api.post(f"/v2/webinars/{webinar}/registrants", json=person).status_code == 201
    assert api.post(f"/v2/meetings/{meeting}/registrants", json=person).status_code == 201
    assert api.post("/v2/groups", json={"name": "Support"}).status_code == 201
    body = {"url": receiver.url, "secret_token": SECRET}
    hooked = api.control("PUT", "/apps/demo-client-id/webhook", json=body)
    assert hooked.json()["validated"] is True, hooked.text
    return {"webinar": webinar, "meeting": meeting}


def answers(api: Api, ids: dict[str, Any]) -> dict[str, bytes]:
    """What a client sees: single objects, lists, the stream, the subscription, the clock."""
    w, m = ids["webinar"], ids["meeting"]
    paths = [
        f"/v2/webinars/{w}",
        f"/v2/webinars/{w}/livestream",
        f"/v2/webinars/{w}/registrants",
        f"/v2/meetings/{m}",
        f"/v2/meetings/{m}/registrants",
        f"/v2/webinars/{DEMO_WEBINAR}",
        "/v2/users/me/webinars",
        "/v2/users/me/meetings",
        "/v2/users/me",
        "/v2/groups",
    ]
    out = {}
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)
        out[path] = response.content
    for path in ("/livestreams", f"/webinars/{w}/livestream", "/clock", "/state"):
        response = api.control("GET", path)
        assert response.status_code == 200, response.text
        out[path] = response.content
    return out


def tables_of(text: str | bytes) -> dict[str, Any]:
    doc = json.loads(text)
    assert doc["format"] == "zoomlive-state" and doc["version"] == 1
    tables: dict[str, Any] = doc["tables"]
    return tables


def import_file(client: Any, raw: bytes) -> httpx.Response:
    response: httpx.Response = client.post(
        "/_emulator/state/import", content=raw, headers={"Content-Type": "application/json"}
    )
    return response


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(SECRET)
    yield hook
    hook.close()


# the round trip --------------------------------------------------------------------------------


def test_import_reproduces_every_answer_and_the_tokens(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    api = Api(make_client(), "inprocess")
    ids = build_state(api, receiver)
    before = answers(api, ids)
    exported = api.control("GET", "/state/export")
    assert exported.status_code == 200
    tables = tables_of(exported.content)
    streams = {s["owner_id"]: s["state"] for s in tables["livestreams"]}
    assert streams[ids["webinar"]] == "live"
    assert tables["webhook_subscriptions"][0]["url"] == receiver.url
    assert any("groups" in r["path"] for r in tables["spec_resources"]), tables["spec_resources"]
    # secrets stay as stored: the app's hash, never the secret; tokens by their hash
    text = exported.text
    assert "demo-client-secret" not in text and api.token not in text
    assert tables["tokens"] and all(len(t["token_hash"]) == 64 for t in tables["tokens"])

    assert api.control("POST", "/reset", json={"demo": False}).status_code == 200
    assert api.get(f"/v2/webinars/{ids['webinar']}").status_code in (401, 404)
    imported = import_file(api.client, exported.content)
    assert imported.status_code == 200, imported.text
    assert imported.json()["rows"]["webinar_registrants"] == 1

    # the same token, the same answers, byte for byte
    assert answers(api, ids) == before
    again = api.control("GET", "/state/export")
    assert tables_of(again.content) == tables
    # the stream is as it was (live), and the emulator goes on from there
    status = f"/v2/webinars/{ids['webinar']}/livestream/status"
    assert api.patch(status, json={"action": "stop"}).status_code == 204
    stream = api.control("GET", f"/webinars/{ids['webinar']}/livestream").json()
    assert stream["state"] == "stopped"


def test_token_validity_follows_the_imported_clock(make_client: Callable[..., TestClient]) -> None:
    """A token 30 minutes from expiry at export is valid after the import and expires 30
    minutes of emulator time later, as it would have."""
    api = Api(make_client(), "inprocess")
    assert api.control("POST", "/clock", json={"freeze": True}).status_code == 200
    fresh = get_token(api.client)
    assert api.control("POST", "/clock", json={"advance_seconds": 3000}).status_code == 200
    exported = api.control("GET", "/state/export").content
    assert api.control("POST", "/reset", json={"demo": True}).status_code == 200
    assert import_file(api.client, exported).status_code == 200
    headers = {"Authorization": f"Bearer {fresh}"}
    assert api.client.get("/v2/users/me", headers=headers).status_code == 200
    assert api.control("POST", "/clock", json={"advance_seconds": 700}).status_code == 200
    assert_error(api.client.get("/v2/users/me", headers=headers), 401, 124)


def _value(table: str, column: Any, n: int, parents: dict[tuple[str, str], list[Any]]) -> Any:
    """A JSON value of the column's type for row ``n`` (generic: no table is special)."""
    for fk in column.foreign_keys:
        return parents[(fk.column.table.name, fk.column.name)][n]
    for constraint in column.table.constraints:
        text = str(getattr(constraint, "sqltext", ""))
        if text.split(" IN ")[0].strip('" ') == column.name:
            return text.split("'")[1 + 2 * (n % 2)] if text.count("'") >= 4 else text.split("'")[1]
    kind = column.type
    if isinstance(kind, DateTime):
        # in the future: nothing falls due (a delivery, a revalidation) to change the state
        return (datetime(2099, 5, 4, 3, 2, 1, 123456, UTC) + timedelta(minutes=n)).isoformat()
    if isinstance(kind, Boolean):
        return n % 2 == 0
    if isinstance(kind, LargeBinary):
        return "AAEC/w=="
    if isinstance(kind, BigInteger):
        return 80_000_000_000 + n
    if isinstance(kind, Integer):
        return 7 + n
    if table in ENTITIES:
        codec = ENTITIES[table].codecs[ENTITIES[table].columns.index(column.name)]
        if codec == "json":
            return json.dumps({"k": [n, "é"]}, separators=(",", ":"), sort_keys=True)
        if codec == "words":
            return f"a{n} b{n}"
    length = getattr(kind, "length", None) or 40
    return f"{table[:3]}-{column.name[:4]}-{n}-é"[:length]


def test_every_stored_table_round_trips(make_client: Callable[..., TestClient]) -> None:
    """Two rows in every table of the declaration (made from the column types alone), through
    an import and an export: a table the format missed, or a column it mangled, fails here."""
    declared = {t.name for t in metadata.sorted_tables}
    assert set(NOT_STATE) <= declared, "NOT_STATE names a table the store no longer has"
    assert {t.name for t in state_tables()} == declared - set(NOT_STATE)
    tables: dict[str, list[dict[str, Any]]] = {}
    parents: dict[tuple[str, str], list[Any]] = {}
    for table in state_tables():  # parents first
        rows = []
        for n in range(2):
            row = {c.name: _value(table.name, c, n, parents) for c in table.columns}
            rows.append(row)
        for column in table.columns:
            parents[(table.name, column.name)] = [row[column.name] for row in rows]
        tables[table.name] = rows
    doc = {"format": "zoomlive-state", "version": 1, "tables": tables}
    client = make_client()
    done = import_file(client, json.dumps(doc).encode())
    assert done.status_code == 200, done.text
    assert all(done.json()["rows"][t] == 2 for t in tables)
    out = tables_of(client.get("/_emulator/state/export").content)

    def by_row(t: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
        return {
            name: sorted(json.dumps(r, sort_keys=True) for r in rows) for name, rows in t.items()
        }

    assert by_row(out) == by_row(tables)


# a bad file changes nothing ----------------------------------------------------------------------


def _bad_files(good: dict[str, Any]) -> list[tuple[str, bytes]]:
    def doc(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}).encode()

    def table(name: str, rows: Any) -> bytes:
        return doc(tables={**good["tables"], name: rows})

    first = good["tables"]["users"][0]

    def user(**changes: Any) -> bytes:
        return table("users", [{**first, **changes}])

    questions = [{"session_id": 1}]
    return [
        ("not JSON", b'{"format": "zoomlive-state", '),
        ("expected a JSON object", b"[1, 2]"),
        ("not a zoomlive state file", doc(format="zoomlive-seed")),
        ("version 2", doc(version=2)),
        ("'tables' must be", doc(tables=[])),
        ("unknown table 'robots'", table("robots", [])),
        ("tables.users[0].email: longer than 320", user(email="x" * 400)),
        ("tables.users[0].account_id: no accounts row", user(account_id="nobody")),
        ("tables.users[1]: the key", table("users", [first, first])),
        ("tables.users[0].created_at: expected a time", user(created_at="noon")),
        ("tables.users[0].type: expected an integer", user(type="1")),
        ("tables.users[0].zodiac: no such column", user(zodiac=1)),
        ("clock.now", doc(clock={"frozen": True, "now": 5, "offset_seconds": 0})),
        # the last table checked is bad: nothing before it was applied either
        ("webinar_registration_questions", table("webinar_registration_questions", questions)),
    ]


def test_a_bad_file_gets_one_line_and_changes_nothing(
    make_client: Callable[..., TestClient],
) -> None:
    api = Api(make_client(), "inprocess")
    assert api.post("/v2/users/me/webinars", json={"topic": "Stays"}).status_code == 201
    good = json.loads(api.control("GET", "/state/export").content)
    assert api.post("/v2/users/me/webinars", json={"topic": "Stays too"}).status_code == 201
    before = api.control("GET", "/state/export").json()["tables"]
    for expected, raw in _bad_files(good):
        response = import_file(api.client, raw)
        assert response.status_code == 400, (expected, response.text)
        message = response.json()["message"]
        assert message.startswith("Invalid state file: ") and expected in message, message
        assert "\n" not in message and response.json()["code"] == 300
        assert api.control("GET", "/state/export").json()["tables"] == before
    assert api.get("/v2/users/me").status_code == 200  # the token too


# consistent under concurrent writes -------------------------------------------------------------


def test_export_is_one_instant_under_concurrent_writes(live: Api) -> None:
    """Writers start and stop streams (each change writes the stream's row and its log entry in
    one transaction) and add registrants while exports run: in each export, every stream's last
    logged state is its state, and each registrant's webinar is there."""
    base, token = str(live.client.base_url), live.token
    made = [
        live.post("/v2/users/me/webinars", json={"topic": f"W{i}", **OPEN}).json()["id"]
        for i in range(3)
    ]
    for wid in made:
        assert live.patch(f"/v2/webinars/{wid}/livestream", json=CONFIG).status_code == 204
        assert live.control("POST", f"/webinars/{wid}/start").status_code == 200
    stop = threading.Event()
    errors: list[str] = []
    rounds = dict.fromkeys(made, 0)

    def write(wid: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            n = 0
            while not stop.is_set():
                action = "start" if n % 2 == 0 else "stop"
                done = http.patch(f"/v2/webinars/{wid}/livestream/status", json={"action": action})
                person = {"email": f"p{n}@example.com", "first_name": "P"}
                added = http.post(f"/v2/webinars/{wid}/registrants", json=person)
                if done.status_code != 204 or added.status_code != 201:
                    errors.append(f"{done.status_code} {added.status_code} {added.text}")
                n += 1
                rounds[wid] = n

    threads = [threading.Thread(target=write, args=(wid,)) for wid in made]
    for t in threads:
        t.start()
    try:
        exports = 0
        while exports < 6 or min(rounds.values()) < 6:
            assert not errors and exports < 200, errors[:3]
            exports += 1
            tables = tables_of(live.control("GET", "/state/export").content)
            last: dict[tuple[str, int], str] = {}
            for event in tables["livestream_events"]:
                last[(event["kind"], event["owner_id"])] = event["to_state"]
            for stream in tables["livestreams"]:
                key = (stream["kind"], stream["owner_id"])
                assert last.get(key, "stopped") == stream["state"], (key, stream["version"])
            webinars = {w["id"] for w in tables["webinars"]}
            assert all(r["session_id"] in webinars for r in tables["webinar_registrants"])
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors[:3]
    counted = tables_of(live.control("GET", "/state/export").content)
    assert len(counted["webinar_registrants"]) >= 18


# named snapshots ----------------------------------------------------------------------------------


def test_named_snapshots(make_client: Callable[..., TestClient]) -> None:
    api = Api(make_client(), "inprocess")
    made = api.post("/v2/users/me/webinars", json={"topic": "Before"}).json()["id"]
    gone = api.post("/v2/users/me/webinars", json={"topic": "Deleted"}).json()["id"]
    created = api.control("POST", "/snapshots", json={"name": "before-change"})
    assert created.status_code == 201, created.text
    assert created.json()["rows"]["webinars"] == 3
    before = api.get(f"/v2/webinars/{made}").content
    assert api.patch(f"/v2/webinars/{made}", json={"topic": "After"}).status_code == 204
    assert api.delete(f"/v2/webinars/{gone}").status_code == 204

    assert_error(api.control("POST", "/snapshots", json={"name": "before-change"}), 409, 409)
    assert_error(api.control("POST", "/snapshots", json={"name": "../etc"}), 400, 300)
    listed = api.control("GET", "/snapshots").json()
    assert [s["name"] for s in listed] == ["before-change"] and listed[0]["size"] > 100

    restored = api.control("POST", "/snapshots/before-change/restore")
    assert restored.status_code == 200, restored.text
    assert api.get(f"/v2/webinars/{made}").content == before
    assert api.get(f"/v2/webinars/{gone}").status_code == 200
    # the snapshot outlives the state it was restored over, and a replace is asked for
    replaced = api.control("POST", "/snapshots", json={"name": "before-change", "replace": True})
    assert replaced.status_code == 201
    assert api.control("DELETE", "/snapshots/before-change").status_code == 204
    assert_error(api.control("DELETE", "/snapshots/before-change"), 404, 404)
    assert_error(api.control("POST", "/snapshots/before-change/restore"), 404, 404)
    assert api.control("GET", "/snapshots").json() == []


# files ------------------------------------------------------------------------------------------


def test_a_crash_while_writing_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "state.json"
    write_atomically(target, '{"old": true}\n')

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)  # the disk fails half way through the write
    with pytest.raises(OSError):
        write_atomically(target, '{"new": true, "big": "' + "x" * 100_000 + '"}\n')
    monkeypatch.undo()
    assert target.read_text() == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no temporary left


# the testing kit --------------------------------------------------------------------------------

STATE_FILE = Path(__file__).parent / "state" / "demo-v1.json"
"""A version-1 state file, exported by the emulator (the demo, one webinar more, a token, a
frozen clock): it must stay readable as the store grows."""
FILE_TOKEN = "3a5IDnOdcdbWB2dC4_DSDC6Lc1mxLpQ2yMK_Ye9FZ1wUVl4nuYV-d8fNYvvDbzDZ"
FILE_WEBINAR = 59451272745


@pytest.mark.zoomlive(state="state/demo-v1.json")
def test_the_fixture_starts_from_a_state_file(zoom_emulator: ZoomEmulator) -> None:
    bearer = {"Authorization": f"Bearer {FILE_TOKEN}"}  # a token the file's emulator gave
    with httpx.Client(base_url=zoom_emulator.base_url, headers=bearer, trust_env=False) as http:
        got = http.get(f"/webinars/{FILE_WEBINAR}")
        assert got.status_code == 200, got.text
        assert got.json()["topic"] == "From a state file"
        assert got.json()["start_time"] == "2030-01-02T03:04:05Z"
        control = zoom_emulator.control
        assert control.snapshot("kit")["name"] == "kit"
        assert http.delete(f"/webinars/{FILE_WEBINAR}").status_code == 204
        assert http.get(f"/webinars/{FILE_WEBINAR}").status_code == 404
        assert control.restore("kit")["rows"]["webinars"] == 2
        assert http.get(f"/webinars/{FILE_WEBINAR}").content == got.content
        assert [s["name"] for s in control.snapshots()] == ["kit"]
        control.delete_snapshot("kit")
        assert control.snapshots() == []
    # the demo app is in the file: its credentials are the fixture's
    assert zoom_emulator.credentials.client_id == "demo-client-id"
    exported = zoom_emulator.control.export_state()
    assert {w["id"] for w in exported["tables"]["webinars"]} == {DEMO_WEBINAR, FILE_WEBINAR}
    assert zoom_emulator.control.import_state(STATE_FILE)["rows"]["webinars"] == 2


# the CLI ----------------------------------------------------------------------------------------


def test_the_cli_exports_imports_and_snapshots(live: Api, tmp_path: Path) -> None:
    url, runner = str(live.client.base_url), CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, [*args, "--url", url] if args[0] == "state" else list(args))

    target = tmp_path / "state.json"
    done = run("state", "export", str(target))
    assert done.exit_code == 0, done.output
    assert "exported" in done.output and tables_of(target.read_text())["webinars"]
    made = live.post("/v2/users/me/webinars", json={"topic": "After the export"}).json()["id"]
    assert run("state", "snapshot", "with-extra").exit_code == 0
    listed = run("state", "snapshot", "list")
    assert listed.exit_code == 0 and listed.output.startswith("with-extra\t")

    back = run("state", "import", str(target))
    assert back.exit_code == 0, back.output
    assert live.get(f"/v2/webinars/{made}").status_code == 404
    assert run("state", "snapshot", "restore", "with-extra").exit_code == 0
    assert live.get(f"/v2/webinars/{made}").status_code == 200
    assert run("state", "snapshot", "delete", "with-extra").exit_code == 0

    # zoomlive seed takes a state file too
    seeded = run("seed", str(target), "--url", url)
    assert seeded.exit_code == 0, seeded.output
    assert live.get(f"/v2/webinars/{made}").status_code == 404

    # refusals: one line, an exit code, nothing changed
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "zoomlive-state", "version": 9, "tables": {}}')
    refused = run("state", "import", str(bad))
    assert refused.exit_code == 1
    assert refused.stderr.strip().count("\n") == 0 and "version 9" in refused.stderr
    missing = run("state", "snapshot", "restore", "nope")
    assert missing.exit_code == 1 and "Snapshot nope does not exist" in missing.stderr
    assert run("state", "snapshot", "restore").exit_code == 2
    assert live.get(f"/v2/webinars/{DEMO_WEBINAR}").status_code == 200
    gone = runner.invoke(cli, ["state", "export", str(target), "--url", "http://127.0.0.1:9"])
    assert gone.exit_code == 3 and tables_of(target.read_text())  # the old file is whole


def test_seed_imports_a_state_file_into_a_store(tmp_path: Path) -> None:
    db = tmp_path / "seeded.db"
    done = CliRunner().invoke(cli, ["seed", str(STATE_FILE), "--db", str(db)])
    assert done.exit_code == 0, done.output
    store = open_store(str(db))
    try:
        with store.read() as tx:
            assert tx.get_session("webinar", FILE_WEBINAR) is not None
    finally:
        store.close()


# zoomlive serve ---------------------------------------------------------------------------------


def test_serve_exports_on_sigterm_and_imports_at_start(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    saved = tmp_path / "exit.json"
    saved.write_text("previous\n")
    first = Server(tmp_path / "one.db", "--export-on-exit", str(saved)).start()
    try:
        with httpx.Client(base_url=first.url, timeout=30) as http:
            api = Api(http, "socket")
            ids = build_state(api, receiver)
            before = answers(api, ids)
            token = api.token
    finally:
        first.stop()  # SIGTERM
    assert "state exported to" in first.output, first.output
    assert tables_of(saved.read_text())["webinar_registrants"]

    second = Server(tmp_path / "two.db", "--import", str(saved), "--no-demo").start()
    try:
        with httpx.Client(base_url=second.url, timeout=30) as http:
            api = Api.__new__(Api)
            api.client, api.kind, api.token = http, "socket", token
            after = answers(api, ids)
    finally:
        second.stop()
    # the stream was pushed again at start, as after a restart: its runtime answer and the
    # dump's (state, history) moved on; what Zoom's API answers did not
    stream_path = f"/webinars/{ids['webinar']}/livestream"
    for path in (stream_path, "/livestreams", "/state"):
        before.pop(path), after.pop(path)
    # join URLs name the server's address: the second one listens on another port
    moved = {k: v.replace(first.url.encode(), second.url.encode()) for k, v in before.items()}
    assert after == moved

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "zoomlive-state", "version": 1, "tables": {"users": 5}}')
    refused = Server(tmp_path / "three.db", "--import", str(broken))
    with pytest.raises(RuntimeError, match=r"cannot import .*tables\.users: expected a list"):
        refused.start()


# PostgreSQL ---------------------------------------------------------------------------------------


def test_round_trip_on_postgresql(
    make_client: Callable[..., TestClient], pg_url: str, receiver: WebhookReceiver
) -> None:
    """Export at one instant (a REPEATABLE READ transaction), import in one write round, and
    the logs' ids: an imported file whose ids are past the database's sequences still leaves
    room for the next row."""
    api = Api(make_client(db=pg_url), "inprocess")
    ids = build_state(api, receiver)
    before = answers(api, ids)
    exported = api.control("GET", "/state/export").content
    doc = json.loads(exported)
    for event in doc["tables"]["livestream_events"]:
        event["id"] += 5000  # as if from a store that logged more
    assert api.control("POST", "/reset", json={"demo": False}).status_code == 200
    assert import_file(api.client, json.dumps(doc).encode()).status_code == 200
    stream_path = f"/webinars/{ids['webinar']}/livestream"  # it lists the events' ids
    assert before.pop(stream_path) != (after := answers(api, ids)).pop(stream_path)
    assert after == before
    status = f"/v2/webinars/{ids['webinar']}/livestream/status"
    assert api.patch(status, json={"action": "stop"}).status_code == 204  # logs a new event
    events = tables_of(api.control("GET", "/state/export").content)["livestream_events"]
    assert events[-1]["to_state"] == "stopped" and events[-1]["id"] > 5000
    assert_error(import_file(api.client, b'{"format": "zoomlive-state", "version": 1}'), 400, 300)
    assert answers(api, ids)["/v2/users/me"] == before["/v2/users/me"]
