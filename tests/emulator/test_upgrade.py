"""Nothing lost on upgrade (issue "one store", item 8): a ``zoomlive.db`` written by commit 645be2a
opens with the code under test, every account, user, app, token, webinar, meeting, live stream,
stream state change, daily counter, webhook subscription, delivery and attempt intact.

``data/store-645be2a.db`` was written by that commit through the control API, OAuth and ``/v2``
(``data/make_store_645be2a.py`` says how and what is in it), and
``data/store-645be2a.expected.json`` holds what that commit answered for it: the control API's
views, ``GET``s of every user, webinar, meeting and live stream with each account's token, and
the row count of every table. Each test opens a copy (never the checked-in file) as a user
would, in process and through ``zoomlive serve``, and every recorded value must come back the
same; an answer may gain fields, not lose or change one. Streams are not pushed again
(``--media off``), so nothing moves by itself; the recorded tokens, pending deliveries and
webhook revalidation fall due only in the 2070s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import Server
from tests.support.helpers import basic
from zoomlive.emulator import Settings, create_app

DATA = Path(__file__).resolve().parents[1] / "support" / "data"
OLD_STORE = DATA / "store-645be2a.db"
EXPECTED: dict[str, Any] = json.loads((DATA / "store-645be2a.expected.json").read_text())
PUBLIC_URL: str = EXPECTED["public_url"]
"""Join links point here in the recorded answers: the emulators under test advertise it too."""
IDS: dict[str, int] = EXPECTED["ids"]


def differences(expected: Any, actual: Any, where: str) -> list[str]:
    """Where ``actual`` lost or changed a value of ``expected`` (added keys are fine)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing (expected {value!r})")
            else:
                out += differences(value, actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            line
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for line in differences(e, a, f"{where}[{i}]")
        ]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def replay(http: httpx.Client) -> list[str]:
    """Ask every recorded question again; what differs from the recorded answers."""
    wrong: list[str] = []
    for entry in EXPECTED["control"]:
        got = http.get(entry["path"])
        body = got.json()
        for key in entry.get("drop", []):
            body.pop(key, None)
        wrong += differences(
            {"status": entry["status"], "body": entry["body"]},
            {"status": got.status_code, "body": body},
            f"GET {entry['path']}",
        )
    for entry in EXPECTED["v2"]:
        token = EXPECTED["tokens"][entry["token"]]["access_token"]
        got = http.get("/v2" + entry["path"], headers={"Authorization": f"Bearer {token}"})
        wrong += differences(
            {"status": entry["status"], "body": entry["body"]},
            {"status": got.status_code, "body": got.json()},
            f"GET /v2{entry['path']} ({entry['token']})",
        )
    return wrong


def row_counts(db: Path) -> dict[str, int]:
    """Rows per table, read with sqlite3 (the emulator has closed the file)."""
    conn = sqlite3.connect(db)
    try:
        return {
            table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in EXPECTED["row_counts"]
        }
    finally:
        conn.close()


def in_process(db: Path) -> TestClient:
    settings = Settings(db=str(db), media="off", rate_limits="off", public_url=PUBLIC_URL)
    return TestClient(create_app(settings), base_url=PUBLIC_URL)


def report(wrong: list[str]) -> str:
    shown = "\n".join(wrong[:40])
    more = f"\n... and {len(wrong) - 40} more" if len(wrong) > 40 else ""
    return f"{len(wrong)} recorded values differ:\n{shown}{more}"


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the store 645be2a wrote, to open (and upgrade) in place."""
    digest = hashlib.sha256(OLD_STORE.read_bytes()).hexdigest()
    assert digest == EXPECTED["db_sha256"], "the test store is not the one the answers are of"
    copy = tmp_path / "zoomlive.db"
    shutil.copyfile(OLD_STORE, copy)
    return copy


def test_an_old_store_opens_in_process_with_every_record(old_store: Path) -> None:
    with in_process(old_store) as client:
        wrong = replay(client)
    assert not wrong, report(wrong)
    assert row_counts(old_store) == EXPECTED["row_counts"]


def test_an_old_store_is_served_by_zoomlive_serve_with_every_record(old_store: Path) -> None:
    srv = Server(old_store, "--media", "off", "--public-url", PUBLIC_URL).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as http:
            wrong = replay(http)
    finally:
        srv.stop()
    assert not wrong, report(wrong)
    assert row_counts(old_store) == EXPECTED["row_counts"]


def test_an_old_stores_secrets_scopes_and_webhooks_still_work(old_store: Path) -> None:
    """What no view shows: client secrets (hashed), each app's scopes and state, and the
    webhook subscriptions (URL, secret token, events, validated or not)."""
    with in_process(old_store) as client:
        apps = client.get("/_emulator/state").json()["apps"]
        enabled = {app["client_id"]: app["enabled"] for app in apps}
        for cred in EXPECTED["credentials"]:
            got = client.post(
                "/oauth/token",
                params={"grant_type": "account_credentials", "account_id": cred["account_id"]},
                headers={"Authorization": basic(cred["client_id"], cred["client_secret"])},
            )
            if enabled[cred["client_id"]]:
                assert got.status_code == 200, got.text
                assert got.json()["scope"] == EXPECTED["tokens"][cred["client_id"]]["scope"]
            else:
                assert (got.status_code, got.json()["code"]) == (400, 4717), got.text

        before = {d["id"] for d in client.get("/_emulator/webhooks/deliveries").json()}
        acme = {"Authorization": f"Bearer {EXPECTED['tokens']['acme-s2s']['access_token']}"}
        # webinar.updated: Acme's subscription leaves it out.
        updated = client.patch(f"/v2/webinars/{IDS['w5']}", json={"agenda": "x"}, headers=acme)
        assert updated.status_code == 204, updated.text
        # meeting.ended: Small Co's subscription wants it but never validated its URL.
        assert client.post(f"/_emulator/meetings/{IDS['m5']}/end").status_code == 200
        # webinar.started: Acme's subscription wants it, at its URL, signed with its token.
        assert client.post(f"/_emulator/webinars/{IDS['w5']}/start").status_code == 200
        queued = client.get("/_emulator/webhooks/deliveries").json()
        new = [(d["client_id"], d["event"]) for d in queued if d["id"] not in before]
        assert new == [("acme-s2s", "webinar.started")], "the subscriptions did not survive"
        deadline = time.monotonic() + 10
        while not (delivery := client.get("/_emulator/webhooks/deliveries").json()[0])["attempts"]:
            assert time.monotonic() < deadline, "the delivery was never attempted"
            time.sleep(0.05)
    hook = EXPECTED["subscriptions"]["acme-s2s"]
    assert delivery["url"] == hook["url"]
    attempt = delivery["attempts"][0]
    stamp = attempt["x-zm-request-timestamp"]
    message = f"v0:{stamp}:{delivery['body']}".encode()
    digest = hmac.new(hook["secret_token"].encode(), message, hashlib.sha256).hexdigest()
    assert attempt["x-zm-signature"] == "v0=" + digest
