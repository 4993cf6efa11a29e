"""Every webhook event the emulator sends, made to happen once, and endpoints that receive them:
one in Python that keeps the raw bytes, and node ones (Zoom's Node sample's verification,
Rivet's receiver) run as subprocesses on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import Api
from tests.support.engines import EngineMissing, tool

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPTS = Path(__file__).resolve().parent / "node"
NODE_MODULES = ROOT / ".cache" / "npm" / "node_modules"
TOPIC = "Café ✓ réunion"
"""The topic Rivet's receiver dropped when bodies were sent with ``\\u`` escapes."""
HOST = "host@example.com"
HINT = " (a new event in webhooks.EVENTS needs a step in drive_every_event)"


def subscribe(api: Api, url: str, secret: str, events: list[str] | None = None) -> None:
    body: dict[str, Any] = {"url": url, "secret_token": secret}
    if events is not None:
        body["events"] = events
    answer = api.control("PUT", "/apps/demo-client-id/webhook", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["validated"] is True, answer.json()


def drive_every_event(api: Api) -> dict[str, int]:
    """Make the emulator send each event it knows once, with non-ASCII topics: a webinar
    created, updated, started, ended; another created and deleted; a meeting created, updated
    and deleted; another started, its live stream started and stopped, the meeting ended.
    Returns the ids made."""
    made = api.post(
        "/v2/users/me/webinars",
        json={"topic": TOPIC, "agenda": "Ordre du jour « été » \u2028 fin", "password": "pä55"},
    )
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    changed = api.patch(
        f"/v2/webinars/{wid}",
        json={"topic": TOPIC + " (2)", "duration": 90, "settings": {"host_video": True}},
    )
    assert changed.status_code == 204, changed.text
    assert api.control("POST", f"/webinars/{wid}/start").status_code == 200
    assert api.put(f"/v2/webinars/{wid}/status", json={"action": "end"}).status_code == 204
    other = api.post("/v2/users/me/webinars", json={"topic": "À supprimer 🗑"})
    assert other.status_code == 201, other.text
    assert api.delete(f"/v2/webinars/{other.json()['id']}").status_code == 204
    planned = api.post("/v2/users/me/meetings", json={"topic": TOPIC, "agenda": "Réunion"})
    assert planned.status_code == 201, planned.text
    pid = planned.json()["id"]
    changed = api.patch(f"/v2/meetings/{pid}", json={"topic": "Réunion 2", "duration": 30})
    assert changed.status_code == 204, changed.text
    assert api.delete(f"/v2/meetings/{pid}").status_code == 204
    meeting = api.control(
        "POST",
        "/accounts/demo-account/meetings",
        json={
            "host": HOST,
            "topic": TOPIC,
            "status": "started",
            "livestream": {
                "stream_url": "rtmp://127.0.0.1:1935/live",
                "stream_key": "clé",
                "page_url": "https://example.com/page",
            },
        },
    )
    assert meeting.status_code in (200, 201), meeting.text
    mid = meeting.json()["id"]
    status = f"/v2/meetings/{mid}/livestream/status"
    assert api.patch(status, json={"action": "start"}).status_code == 204
    assert api.patch(status, json={"action": "stop"}).status_code == 204
    assert api.put(f"/v2/meetings/{mid}/status", json={"action": "end"}).status_code == 204
    drive_registration_events(api)
    drive_user_events(api)
    return {"webinar": wid, "deleted": other.json()["id"], "meeting": mid}


def drive_user_events(api: Api) -> None:
    """``user.created``, ``user.updated``, ``user.settings_updated``, ``user.disassociated``
    and ``user.deleted``, once each, with non-ASCII names."""
    made = []
    for email in ("zoe@example.org", "lukasz@example.org"):
        body = {
            "action": "custCreate",
            "user_info": {"email": email, "type": 1, "first_name": "Zoë"},
        }
        answer = api.post("/v2/users", json=body)
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    assert api.patch(f"/v2/users/{made[0]}", json={"last_name": "Łukasiewicz"}).status_code == 204
    settings = {"in_meeting": {"allow_live_streaming": False}}
    assert api.patch(f"/v2/users/{made[0]}/settings", json=settings).status_code == 204
    assert api.delete(f"/v2/users/{made[0]}?action=disassociate").status_code == 204
    assert api.delete(f"/v2/users/{made[1]}?action=delete").status_code == 204


def drive_registration_events(api: Api) -> None:
    """``{webinar,meeting}.registration_created/approved/denied/cancelled``, once each, with
    non-ASCII names (sent where the subscription asks for them)."""
    for kind in ("webinar", "meeting"):
        made = api.post(
            f"/v2/users/me/{kind}s", json={"topic": TOPIC, "settings": {"approval_type": 1}}
        )
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        people = []
        for name in ("Zoë", "Łukasz"):
            body = {"email": f"{len(people)}@example.org", "first_name": name, "city": "Zürich"}
            answer = api.post(f"/v2/{kind}s/{sid}/registrants", json=body)
            assert answer.status_code == 201, answer.text
            people.append(answer.json()["registrant_id"])
        for action, rid in (("approve", people[0]), ("cancel", people[0]), ("deny", people[1])):
            body = {"action": action, "registrants": [{"id": rid}]}
            changed = api.put(f"/v2/{kind}s/{sid}/registrants/status", json=body)
            assert changed.status_code == 204, changed.text


class RawReceiver:
    """An endpoint that keeps each request's headers and raw body, answers URL validation with
    Zoom's scheme, and every event with 200."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with owner.lock:
                    owner.requests.append((headers, raw))
                body = json.loads(raw)
                answer = b"{}"
                if body["event"] == "endpoint.url_validation":
                    plain = body["payload"]["plainToken"]
                    token = hmac.new(owner.secret.encode(), plain.encode(), hashlib.sha256)
                    answer = json.dumps(
                        {"plainToken": plain, "encryptedToken": token.hexdigest()}
                    ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/zoom/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b in self.requests if b'"event":"endpoint.' not in b]

    def wait_for(
        self, names: set[str], timeout: float = 20
    ) -> dict[str, tuple[dict[str, str], bytes]]:
        """The first request of each event in ``names``."""
        deadline = time.monotonic() + timeout
        while True:
            got: dict[str, tuple[dict[str, str], bytes]] = {}
            for headers, raw in self.events():
                got.setdefault(json.loads(raw)["event"], (headers, raw))
            if names <= got.keys():
                return got
            missing = sorted(names - got.keys())
            assert time.monotonic() < deadline, f"missing {missing}{HINT}"
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class NodeReceiver:
    """A node endpoint run as a subprocess: prints ``{"port": N}`` when listening, then one JSON
    line per request it handled (collected in ``lines``)."""

    def __init__(self, script: str, *args: str, needs: str | None = None) -> None:
        node = tool("node", "node (Debian: nodejs)")
        if needs is not None and not (NODE_MODULES / needs).is_dir():
            raise EngineMissing(f"{needs} in .cache/npm (scripts/test installs it)")
        self.proc = subprocess.Popen(
            [node, str(NODE_SCRIPTS / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first:
            raise AssertionError(
                f"{script} did not start: {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        self.url = f"http://127.0.0.1:{json.loads(first)['port']}/zoom/events"
        self.lines: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                with self.lock:
                    self.lines.append(json.loads(line))

    def wait_for(self, names: set[str], timeout: float = 20) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            got: dict[str, dict[str, Any]] = {}
            with self.lock:
                for line in self.lines:
                    got.setdefault(line["event"], line)  # the first of each
            if names <= got.keys():
                return got
            assert time.monotonic() < deadline, (
                f"missing {sorted(names - got.keys())}; got {sorted(got)}{HINT}"
            )
            time.sleep(0.05)

    def close(self) -> str:
        """Stop the process; its stderr."""
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return err


@contextlib.contextmanager
def node_receiver(script: str, *args: str, needs: str | None = None) -> Iterator[NodeReceiver]:
    endpoint = NodeReceiver(script, *args, needs=needs)
    try:
        yield endpoint
    finally:
        endpoint.close()


def restringify(texts: list[bytes]) -> list[bytes]:
    """``JSON.stringify(JSON.parse(text))`` for each text, by node."""
    node = tool("node", "node (Debian: nodejs)")
    lines = "".join(base64.b64encode(t).decode() + "\n" for t in texts)
    done = subprocess.run(
        [node, str(NODE_SCRIPTS / "json_restringify.js")],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [base64.b64decode(line) for line in done.stdout.splitlines()]
