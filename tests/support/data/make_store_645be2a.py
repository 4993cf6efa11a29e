"""Builds the data of tests/emulator/test_upgrade.py: ``store-645be2a.db`` and its JSON.

It was run once, at commit 645be2a (the last commit before the store was rewritten, issue "one
store", item 8: nothing lost on upgrade), from the repository root:

    PYTHONPATH=src:. .venv/bin/python tests/support/data/make_store_645be2a.py

It is kept to show how the data was made and to make it again at that commit if need be; the
tests never run it (the code it drives is the old one: after the rewrite, it writes a new file).

What it does, with that commit's code and only through the ways a user has (the control API
``/_emulator/...``, ``POST /oauth/token``, the ``/v2`` API), in process (``create_app`` behind
Starlette's TestClient), with ids from ``Settings(seed=...)``:

* four accounts (the demo, enterprise, pro, free), users, apps (one with narrow scopes, one
  disabled), webinars and meetings (waiting, started, ended, deleted; settings, passwords,
  agendas), live streams on both kinds (configured only, live, stopped, stopped by the end of the
  session, a meeting's view changed), their state changes, daily create/update counters on two
  days, one validated webhook subscription and one that failed validation, deliveries delivered
  at once, delivered on a retry, failed after four attempts, and pending with one or two attempts.
* The emulator clock is frozen, so retries fall due only when the script moves it. Half way it
  moves it 50 years ahead: the access tokens it then issues (the ones recorded) expire, and the
  pending deliveries and the subscription's 72-hour revalidation fall due, decades after any
  real clock that opens the file, so an emulator that opens it changes nothing by itself.
* Then it reopens a copy of the finished file as the test does (``media="off"``: no stream is
  pushed again) and records what ``/v2`` and the control API answer, the plain tokens, client
  secrets and webhook subscriptions (test data), and the row count of every table.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.testclient import TestClient

from tests.support.helpers import WebhookReceiver, basic
from zoomlive.emulator import Settings, create_app
from zoomlive.emulator.webhooks import EVENTS

COMMIT = "645be2a"
HERE = Path(__file__).resolve().parent
DB_OUT = HERE / f"store-{COMMIT}.db"
JSON_OUT = HERE / f"store-{COMMIT}.expected.json"
SEED = 645
PUBLIC_URL = "http://127.0.0.1:8080"
"""Join links in the answers point here, in process and from ``zoomlive serve`` alike."""
TEN_YEARS = 10 * 365 * 86400
HOOK_SECRET = "acme-webhook-secret-token"
DEAD_URL = "http://127.0.0.1:9/zoom/events"  # nothing listens: validation fails
TABLES = (
    "accounts",
    "users",
    "apps",
    "tokens",
    "webinars",
    "meetings",
    "livestreams",
    "livestream_events",
    "daily_counters",
    "webhook_subscriptions",
    "webhook_deliveries",
    "webhook_attempts",
)


class Emu:
    """Calls into one in-process emulator, each checked for the status it must answer."""

    def __init__(self, http: TestClient) -> None:
        self.http = http

    def control(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got = self.http.request(method, "/_emulator" + path, json=body)
        assert got.status_code == status, (method, path, got.status_code, got.text)
        return got.json() if got.content else None

    def v2(self, token: str, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        got = self.http.request(method, "/v2" + path, json=body, headers=headers)
        assert got.status_code == status, (method, path, got.status_code, got.text)
        return got.json() if got.content else None

    def token(self, client_id: str, secret: str, account_id: str) -> dict[str, Any]:
        got = self.http.post(
            "/oauth/token",
            params={"grant_type": "account_credentials", "account_id": account_id},
            headers={"Authorization": basic(client_id, secret)},
        )
        assert got.status_code == 200, got.text
        answer: dict[str, Any] = got.json()
        return answer

    def now(self) -> datetime:
        return datetime.fromisoformat(self.control("GET", "/clock")["now"])

    def advance(self, seconds: float) -> None:
        """Move the clock once no delivery is in flight (a jump past the 30 s lease of one
        would send it a second time)."""
        self.settle()
        self.control("POST", "/clock", {"advance_seconds": seconds})

    def settle(self, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until no webhook delivery is due or in flight: each is delivered, failed, or
        pending a retry more than the dispatcher's 30 s lease away."""
        deadline = time.monotonic() + timeout
        while True:
            horizon = self.now() + timedelta(seconds=31)
            rows: list[dict[str, Any]] = self.control("GET", "/webhooks/deliveries")
            busy = [
                d
                for d in rows
                if d["status"] == "pending"
                and (not d["attempts"] or datetime.fromisoformat(d["next_attempt_at"]) <= horizon)
            ]
            if not busy:
                return rows
            assert time.monotonic() < deadline, busy
            time.sleep(0.05)


def settings(db: Path, **overrides: Any) -> Settings:
    """How the data is written and opened: the demo on, no rate limits, real secret hashing,
    fixed join links; no media (``off``: a start is live at once and nothing is pushed)."""
    values: dict[str, Any] = {
        "db": str(db),
        "media": "off",
        "rate_limits": "off",
        "public_url": PUBLIC_URL,
        "cheap_secrets": False,
        **overrides,
    }
    return Settings(**values)


@contextmanager
def emulator(db: Path, **overrides: Any) -> Iterator[Emu]:
    with TestClient(create_app(settings(db, **overrides)), base_url=PUBLIC_URL) as http:
        yield Emu(http)


# the store ---------------------------------------------------------------------------------------

SEED_DOC: dict[str, Any] = {
    "accounts": [
        {
            "id": "acme",
            "name": "Acme Corporation",
            "plan": "enterprise",
            "webinar_addon": True,
            "custom_live_streaming": True,
            "users": [
                {
                    "id": "acmeOwner0000000000001",
                    "email": "ada@acme.test",
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "timezone": "Europe/London",
                },
                {
                    "email": "Grace@Acme.test",
                    "first_name": "Grace",
                    "last_name": "Hopper",
                    "type": 1,
                    "timezone": "America/New_York",
                },
                {
                    "email": "linus@acme.test",
                    "first_name": "Linus",
                    "last_name": "Torvalds",
                    "type": 3,
                    "timezone": "Europe/Helsinki",
                },
            ],
            "apps": [
                {
                    "client_id": "acme-s2s",
                    "client_secret": "acme-s2s-secret-0001",
                    "name": "Acme automation",
                },
                {
                    "client_id": "acme-reader",
                    "name": "Acme reporting",
                    "scopes": ["webinar:read:admin", "user:read:admin"],
                },
            ],
            "webinars": [
                {
                    "id": 81234567890,
                    "host": "ada@acme.test",
                    "topic": "Seeded town hall",
                    "type": 5,
                    "start_time": "2031-03-04T15:00:00Z",
                    "duration": 90,
                    "timezone": "Europe/London",
                    "agenda": "Quarterly all-hands",
                    "password": "hall2031",
                    "livestream": {
                        "stream_url": "rtmp://127.0.0.1:1935/live",
                        "stream_key": "townhall-key",
                        "page_url": "https://acme.example/townhall",
                        "resolution": "1080p",
                    },
                }
            ],
            "meetings": [
                {
                    "id": 91234567890,
                    "host": "grace@acme.test",
                    "topic": "Seeded retro",
                    "type": 8,
                    "start_time": "2030-01-02T09:30:00Z",
                    "duration": 45,
                    "password": "retro8",
                    "status": "ended",
                }
            ],
        },
        {
            "id": "smallco",
            "name": "Small Co",
            "plan": "pro",
            "webinar_addon": False,
            "custom_live_streaming": False,
            "users": [
                {"email": "sam@smallco.test", "first_name": "Sam", "last_name": "Small"},
                {"email": "pat@smallco.test", "first_name": "Pat", "timezone": "Asia/Tokyo"},
            ],
            "apps": [
                {
                    "client_id": "smallco-app",
                    "client_secret": "smallco-secret-0001",
                    "name": "Small Co meetings",
                    "scopes": ["meeting:read:admin", "meeting:write:admin", "user:read:admin"],
                }
            ],
        },
    ]
}


def build(emu: Emu, receiver: WebhookReceiver) -> dict[str, Any]:
    """Everything the store holds; returns the ids, credentials and subscriptions it made."""
    facts: dict[str, Any] = {"ids": {}, "credentials": [], "subscriptions": {}}
    ids: dict[str, Any] = facts["ids"]
    emu.control("POST", "/clock", {"freeze": True})

    # Accounts, users, apps: a seed document, then one call of each kind.
    made = emu.control("POST", "/seed", SEED_DOC, status=201)["credentials"]
    emu.control(
        "POST",
        "/accounts",
        {
            "id": "freeby",
            "name": "Freeby",
            "plan": "free",
            "webinar_addon": False,
            "custom_live_streaming": False,
            "users": [{"email": "solo@freeby.test", "first_name": "Solo", "type": 1}],
        },
        status=201,
    )
    emu.control("PATCH", "/accounts/smallco", {"name": "Small Company Ltd"}, status=204)
    emu.control("PATCH", "/accounts/smallco", {"custom_live_streaming": True}, status=204)
    margaret = emu.control(
        "POST",
        "/accounts/acme/users",
        {
            "email": "margaret@acme.test",
            "first_name": "Margaret",
            "last_name": "Hamilton",
            "timezone": "America/Chicago",
        },
        status=201,
    )
    made.append(
        emu.control(
            "POST",
            "/accounts/acme/apps",
            {
                "client_id": "acme-retired",
                "client_secret": "acme-retired-secret",
                "name": "Old integration",
                "scopes": ["webinar:read:admin", "webinar:write:admin"],
            },
            status=201,
        )
    )
    emu.control("PATCH", "/apps/acme-reader", {"name": "Acme reporting (read only)"}, status=204)
    made.append(
        {
            "account_id": "demo-account",
            "client_id": "demo-client-id",
            "client_secret": "demo-client-secret",
        }
    )
    facts["credentials"] = made
    secrets = {c["client_id"]: c["client_secret"] for c in made}
    users = {u["email"]: u["id"] for u in emu.control("GET", "/state")["users"]}
    assert users["margaret@acme.test"] == margaret["id"]
    free_meeting = emu.control(
        "POST",
        "/accounts/freeby/meetings",
        {"host": "solo@freeby.test", "topic": "Free chat", "type": 1},
        status=201,
    )
    ids["freeby_meeting"] = free_meeting["id"]

    # Webhooks: Acme's endpoint validates (every event but webinar.updated); Small Co's does not.
    acme_events = [e for e in EVENTS if e != "webinar.updated"]
    hook = emu.control(
        "PUT",
        "/apps/acme-s2s/webhook",
        {"url": receiver.url, "secret_token": HOOK_SECRET, "events": acme_events},
    )
    assert hook["validated"] is True, hook
    facts["subscriptions"]["acme-s2s"] = hook
    dead = emu.control(
        "PUT",
        "/apps/smallco-app/webhook",
        {
            "url": DEAD_URL,
            "secret_token": "smallco-webhook-secret",
            "events": ["meeting.started", "meeting.ended"],
        },
    )
    assert dead["validated"] is False, dead
    facts["subscriptions"]["smallco-app"] = dead

    acme = emu.token("acme-s2s", secrets["acme-s2s"], "acme")["access_token"]

    # Acme's webinars.
    w1 = emu.v2(
        acme,
        "POST",
        "/users/me/webinars",
        {
            "topic": "Q3 earnings",
            "type": 5,
            "start_time": "2030-10-15T14:00:00Z",
            "duration": 45,
            "timezone": "Europe/Paris",
            "password": "q3earn",
            "agenda": "Results and outlook",
            "settings": {
                "host_video": True,
                "panelists_video": False,
                "practice_session": True,
                "approval_type": 2,
                "audio": "voip",
                "auto_recording": "cloud",
                "contact_name": "Investor relations",
                "contact_email": "ir@acme.test",
                "alternative_hosts": "grace@acme.test",
            },
        },
        status=201,
    )["id"]
    w2 = emu.v2(
        acme,
        "POST",
        f"/users/{users['grace@acme.test']}/webinars",
        {"topic": "Product tour", "type": 9, "duration": 30, "password": "tour9"},
        status=201,
    )["id"]
    w3 = emu.v2(
        acme,
        "POST",
        f"/users/{users['linus@acme.test']}/webinars",
        {"topic": "Cancelled briefing"},
        status=201,
    )["id"]
    ids.update(w1=w1, w2=w2, w3_deleted=w3, w_seeded=81234567890, m_seeded=91234567890)
    emu.v2(
        acme,
        "PATCH",
        f"/webinars/{w1}",
        {"agenda": "Results, outlook and Q&A", "settings": {"on_demand": True}},
        status=204,
    )
    emu.v2(acme, "DELETE", f"/webinars/{w3}", status=204)
    emu.v2(
        acme,
        "PATCH",
        f"/webinars/{w1}/livestream",
        {
            "stream_url": "rtmp://127.0.0.1:1935/live",
            "stream_key": "q3-key",
            "page_url": "https://acme.example/q3",
            "resolution": "1080p",
        },
        status=204,
    )
    emu.v2(
        acme,
        "PATCH",
        f"/webinars/{w2}/livestream",
        {
            "stream_url": "rtmp://127.0.0.1:1935/tour",
            "stream_key": "tour-key",
            "page_url": "https://acme.example/tour",
            "resolution": "720p",
        },
        status=204,
    )
    emu.control("POST", f"/webinars/{w1}/start")
    w1_status = f"/webinars/{w1}/livestream/status"
    speaker = {"display_name": "Acme Q3", "active_speaker_name": True}
    emu.v2(acme, "PATCH", w1_status, {"action": "start", "settings": speaker}, status=204)
    emu.advance(60)
    emu.v2(acme, "PATCH", w1_status, {"action": "stop"}, status=204)
    emu.advance(60)
    restart = {"action": "start", "settings": {"display_name": "Acme Q3 (live)"}}
    emu.v2(acme, "PATCH", w1_status, restart, status=204)
    emu.control("POST", f"/webinars/{w2}/start")
    emu.v2(acme, "PATCH", f"/webinars/{w2}/livestream/status", {"action": "start"}, status=204)
    emu.advance(120)
    emu.v2(acme, "PUT", f"/webinars/{w2}/status", {"action": "end"}, status=204)
    emu.v2(
        acme,
        "PATCH",
        "/webinars/81234567890/livestream/status",
        {"settings": {"display_name": "Town hall", "active_speaker_name": False}},
        status=204,
    )

    # Acme's meetings.
    m1 = emu.v2(
        acme,
        "POST",
        "/users/me/meetings",
        {
            "topic": "Board meeting",
            "type": 2,
            "start_time": "2030-11-20T08:00:00Z",
            "duration": 30,
            "timezone": "Europe/London",
            "password": "board1",
            "agenda": "Budget",
            "settings": {
                "host_video": False,
                "participant_video": True,
                "join_before_host": True,
                "mute_upon_entry": True,
                "waiting_room": False,
                "approval_type": 0,
                "audio": "both",
                "auto_recording": "local",
            },
        },
        status=201,
    )["id"]
    m2 = emu.v2(
        acme,
        "POST",
        f"/users/{users['linus@acme.test']}/meetings",
        {"topic": "Open office hours", "type": 3, "settings": {"waiting_room": True}},
        status=201,
    )["id"]
    m3 = emu.v2(
        acme,
        "POST",
        f"/users/{margaret['id']}/meetings",
        {"topic": "Design review", "duration": 50},
        status=201,
    )["id"]
    ids.update(m1=m1, m2=m2, m3=m3)
    emu.v2(acme, "PATCH", f"/meetings/{m1}", {"agenda": "Budget and hiring"}, status=204)
    emu.v2(
        acme,
        "PATCH",
        f"/meetings/{m1}/livestream",
        {
            "stream_url": "rtmps://127.0.0.1:1936/board",
            "stream_key": "board-key",
            "page_url": "https://acme.example/board",
        },
        status=204,
    )
    emu.v2(
        acme,
        "PATCH",
        f"/meetings/{m3}/livestream",
        {
            "stream_url": "rtmp://127.0.0.1:1935/design",
            "stream_key": "design-key",
            "page_url": "https://acme.example/design",
            "resolution": "720p",
        },
        status=204,
    )
    emu.control("POST", f"/meetings/{m1}/start")
    emu.v2(
        acme,
        "PATCH",
        f"/meetings/{m1}/livestream/status",
        {
            "action": "start",
            "settings": {
                "display_name": "Board",
                "active_speaker_name": False,
                "layout": "gallery_view",
                "close_caption": "burnt-in",
            },
        },
        status=204,
    )
    emu.advance(10)
    emu.v2(
        acme,
        "PATCH",
        f"/meetings/{m1}/livestream/status",
        {"action": "mode", "settings": {"layout": "speaker_view", "close_caption": "embedded"}},
        status=204,
    )
    emu.control("POST", f"/meetings/{m2}/start")
    emu.advance(600)
    emu.v2(acme, "PUT", f"/meetings/{m2}/status", {"action": "end"}, status=204)
    emu.settle()

    # A delivery delivered on its retry, one that fails four times.
    receiver.fail_next = 1
    w4 = emu.v2(
        acme,
        "POST",
        f"/users/{users['grace@acme.test']}/webinars",
        {"topic": "Retried announcement", "type": 5},
        status=201,
    )["id"]
    ids["w4"] = w4
    emu.settle()
    emu.advance(300)
    emu.settle()
    receiver.fail_next = 4
    emu.control("POST", f"/webinars/{w4}/start")
    for wait in (None, 300, 1200, 3600):
        if wait is not None:
            emu.advance(wait)
        emu.settle()

    # Small Co: a meeting streamed, then stopped (its webhook is not validated: no deliveries).
    small = emu.token("smallco-app", secrets["smallco-app"], "smallco")["access_token"]
    m5 = emu.v2(
        small,
        "POST",
        "/users/me/meetings",
        {"topic": "Client call", "password": "call5", "timezone": "Asia/Tokyo"},
        status=201,
    )["id"]
    ids["m5"] = m5
    emu.v2(
        small,
        "PATCH",
        f"/meetings/{m5}/livestream",
        {
            "stream_url": "rtmp://127.0.0.1:1935/client",
            "stream_key": "client-key",
            "page_url": "https://smallco.example/live",
        },
        status=204,
    )
    emu.control("POST", f"/meetings/{m5}/start")
    emu.v2(small, "PATCH", f"/meetings/{m5}/livestream/status", {"action": "start"}, status=204)
    emu.advance(45)
    emu.v2(small, "PATCH", f"/meetings/{m5}/livestream/status", {"action": "stop"}, status=204)
    emu.settle()

    # Fifty years on: Acme's endpoint is validated again on the way (every 72 h)...
    for _ in range(5):
        seen = len(receiver.named("endpoint.url_validation"))
        emu.advance(TEN_YEARS)
        receiver.wait_for("endpoint.url_validation", seen + 1)
        time.sleep(0.3)  # the outcome is written just after the answer
    emu.settle()

    # ...and the tokens issued now (the first purges the expired ones) outlive any real clock.
    tokens: dict[str, Any] = {}
    for client_id, account_id in (
        ("demo-client-id", "demo-account"),
        ("acme-s2s", "acme"),
        ("acme-reader", "acme"),
        ("acme-retired", "acme"),
        ("smallco-app", "smallco"),
    ):
        answer = emu.token(client_id, secrets[client_id], account_id)
        tokens[client_id] = {
            "client_id": client_id,
            "account_id": account_id,
            "access_token": answer["access_token"],
            "scope": answer["scope"],
        }
    facts["tokens"] = tokens
    emu.control("PATCH", "/apps/acme-retired", {"enabled": False}, status=204)
    acme = tokens["acme-s2s"]["access_token"]
    small = tokens["smallco-app"]["access_token"]
    w5 = emu.v2(
        acme,
        "POST",
        f"/users/{margaret['id']}/webinars",
        {"topic": "Webinar of the future", "agenda": "Fifty years on"},
        status=201,
    )["id"]
    ids["w5"] = w5
    emu.v2(small, "PATCH", f"/meetings/{m5}/livestream/status", {"action": "start"}, status=204)
    emu.settle()

    # Pending deliveries: one answered 500 twice (next try in 20 min), one that found no
    # endpoint (the receiver is gone: next try in 5 min).
    receiver.fail_next = 2
    emu.control("POST", f"/webinars/{w4}/end")
    emu.settle()
    emu.advance(300)
    emu.settle()
    receiver.close()
    emu.control("POST", f"/meetings/{m3}/start")
    emu.settle()
    return facts


def tidy(db: Path) -> None:
    """The WAL in the file and no side files left (the emulator closed it: this is a check)."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm", ".lock"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def row_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def check_store(db: Path, facts: dict[str, Any]) -> None:
    """What the public views do not show, checked in the file itself."""
    conn = sqlite3.connect(db)
    try:
        pending = conn.execute(
            "SELECT attempts, next_attempt_at FROM webhook_deliveries WHERE status = 'pending' "
            "ORDER BY attempts"
        ).fetchall()
        assert [a for a, _ in pending] == [1, 2], pending
        [(error,)] = conn.execute(
            "SELECT error FROM webhook_attempts WHERE status_code IS NULL"
        ).fetchall()
        assert error.startswith("ConnectError"), error
        statuses = {s for (s,) in conn.execute("SELECT status FROM webhook_deliveries")}
        assert statuses == {"pending", "delivered", "failed"}, statuses
        retried = conn.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered' AND attempts = 2"
        ).fetchone()[0]
        assert retried == 1
        [(validated,)] = conn.execute(
            "SELECT validated_at FROM webhook_subscriptions WHERE client_id = 'acme-s2s'"
        ).fetchall()
        earliest = min(str(n) for _, n in pending)
        assert validated[:4] == earliest[:4] and int(earliest[:4]) >= 2070, (validated, earliest)
        expiry = [e for (e,) in conn.execute("SELECT expires_at FROM tokens")]
        assert len(expiry) == len(facts["tokens"]) and min(expiry)[:4] == earliest[:4], expiry
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


# what the emulator answers ------------------------------------------------------------------------


def v2_calls(state: dict[str, Any], facts: dict[str, Any]) -> list[tuple[str, str]]:
    """(token, path) of every ``GET`` recorded: each account's objects with its own token."""
    calls: list[tuple[str, str]] = []
    owners = {"demo-account": "demo-client-id", "acme": "acme-s2s", "smallco": "smallco-app"}
    for account, client in owners.items():
        calls.append((client, "/users/me"))
        mine = [u for u in state["users"] if u["account_id"] == account]
        calls.append((client, f"/users/{quote(mine[-1]['email'])}"))
        for user in mine:
            calls.append((client, f"/users/{user['id']}"))
            calls.append((client, f"/users/{user['id']}/webinars"))
            calls.append((client, f"/users/{user['id']}/webinars?page_size=1"))
            for kind in ("scheduled", "live", "previous_meetings"):
                calls.append((client, f"/users/{user['id']}/meetings?type={kind}"))
        for kind in ("webinars", "meetings"):
            for session in state[kind]:
                if session["account_id"] == account:
                    calls.append((client, f"/{kind}/{session['id']}"))
                    calls.append((client, f"/{kind}/{session['id']}/livestream"))
    ids = facts["ids"]
    w1 = next(w for w in state["webinars"] if w["id"] == ids["w1"])
    calls += [
        ("acme-s2s", f"/webinars/{quote(w1['uuid'], safe='')}"),
        ("acme-s2s", f"/webinars/{ids['w3_deleted']}"),  # deleted: 404
        ("acme-s2s", f"/meetings/{ids['m5']}"),  # another account's: 404
        ("smallco-app", f"/webinars/{ids['w1']}"),  # no webinar scope
        ("acme-reader", "/users/me"),
        ("acme-reader", f"/webinars/{ids['w1']}"),
        ("acme-reader", f"/webinars/{ids['w1']}/livestream"),
        ("acme-reader", f"/meetings/{ids['m1']}"),  # no meeting scope: 4711
        ("acme-retired", f"/webinars/{ids['w1']}"),  # app disabled: 401
    ]
    return calls


def record(emu: Emu, facts: dict[str, Any]) -> dict[str, Any]:
    state = emu.control("GET", "/state")
    state.pop("clock")
    control: list[dict[str, Any]] = [
        {"path": "/_emulator/state", "drop": ["clock"], "status": 200, "body": state}
    ]
    paths = ["/_emulator/accounts", "/_emulator/livestreams", "/_emulator/webhooks/deliveries"]
    for kind in ("webinars", "meetings"):
        paths += [f"/_emulator/{kind}/{s['id']}/livestream" for s in state[kind]]
    for path in paths:
        got = emu.http.get(path)
        control.append({"path": path, "status": got.status_code, "body": got.json()})
    v2: list[dict[str, Any]] = []
    for client, path in v2_calls(state, facts):
        token = facts["tokens"][client]["access_token"]
        got = emu.http.get("/v2" + path, headers={"Authorization": f"Bearer {token}"})
        v2.append({"token": client, "path": path, "status": got.status_code, "body": got.json()})
    return {"control": control, "v2": v2}


def main() -> None:
    head = subprocess.run(
        ["git", "rev-parse", "--short=7", "HEAD"], capture_output=True, text=True, cwd=HERE
    ).stdout.strip()
    if head != COMMIT and "--any-commit" not in sys.argv:
        sys.exit(f"run this at commit {COMMIT} (HEAD is {head}); --any-commit to override")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "zoomlive.db"
        receiver = WebhookReceiver(HOOK_SECRET)
        try:
            with emulator(db, seed=SEED) as emu:
                facts = build(emu, receiver)
        finally:
            receiver.close()  # a second time is harmless
        tidy(db)
        check_store(db, facts)
        counts = row_counts(db)
        answers = []
        for attempt in ("first", "second"):  # nothing in an answer may depend on the run
            copy = Path(tmp) / f"{attempt}.db"
            shutil.copyfile(db, copy)
            with emulator(copy) as emu:
                answers.append(record(emu, facts))
            assert row_counts(copy) == counts, "reopening the store changed it"
        assert answers[0] == answers[1], "an answer changed between two openings"
        shutil.copyfile(db, DB_OUT)
    expected = {
        "about": f"What commit {COMMIT} answers for store-{COMMIT}.db: see make_store_{COMMIT}.py",
        "commit": COMMIT,
        "db_sha256": hashlib.sha256(DB_OUT.read_bytes()).hexdigest(),
        "public_url": PUBLIC_URL,
        "row_counts": counts,
        **facts,
        **answers[0],
    }
    JSON_OUT.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"{DB_OUT.name}: {DB_OUT.stat().st_size} bytes, rows {counts}")
    print(f"{JSON_OUT.name}: {JSON_OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
