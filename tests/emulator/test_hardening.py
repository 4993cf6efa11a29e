"""Hardening (issue 10): shutdown races, one emulator per store, temp folders, cross-site and
DNS-rebinding requests, trailing slashes, secrets in logs, idle connections, and the body rules
that used to be lenient. Network items run against ``zoomlive serve`` over a real socket."""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import create_engine
from starlette.testclient import TestClient

from tests.conftest import DEMO_BASIC, DEMO_WEBINAR, Api, Server, get_token
from tests.support.helpers import assert_error, basic, free_port
from zoomlive import Settings, create_app
from zoomlive.emulator.store import open_store, schema

ROOT = Path(__file__).resolve().parents[2]
STATUS = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zoomlive", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers a test starts; all stopped however the test ends."""
    started: list[Server] = []
    yield started
    for srv in started:
        srv.stop()


def start(started: list[Server], db: Path, *extra: str, **kw: Any) -> Server:
    srv = Server(db, *extra, **kw)
    started.append(srv)
    return srv.start()


def token_headers(http: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_token(http)}"}


# 1. shutdown ------------------------------------------------------------------------------------


class SlowEndpoint:
    """A webhook endpoint that answers validations correctly and deliveries after a pause, so
    the dispatcher always has work in flight."""

    def __init__(self, secret: str) -> None:
        import hashlib
        import hmac

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                time.sleep(0.02)
                answer = b""
                if body["event"] == "endpoint.url_validation":
                    plain = body["payload"]["plainToken"]
                    mac = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
                    answer = json.dumps({"plainToken": plain, "encryptedToken": mac}).encode()
                self.send_response(200)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None  # type: ignore[method-assign]  # hang-ups
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def busy_store(path: Path, url: str) -> None:
    """A store whose dispatcher has deliveries due and stale endpoints to validate again (rows
    written directly: no scrypt)."""
    open_store(str(path)).close()  # the schema
    engine = create_engine(f"sqlite:///{path}")
    old = datetime(2020, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            schema.accounts.insert().values(
                id="a", name="A", plan="business", webinar_addon=True,
                custom_live_streaming=True, created_at=old,
            )
        )  # fmt: skip
        for n in range(3):
            conn.execute(
                schema.apps.insert().values(
                    client_id=f"app{n}", account_id="a", name="x", secret_hash="-",
                    scopes="", enabled=True, created_at=old,
                )
            )  # fmt: skip
            conn.execute(
                schema.webhook_subscriptions.insert().values(
                    client_id=f"app{n}", account_id="a", url=url, secret_token="s" * 16,
                    events="webinar.created", validated_at=old, created_at=old,
                )
            )  # fmt: skip
            for _ in range(8):
                conn.execute(
                    schema.webhook_deliveries.insert().values(
                        client_id=f"app{n}", url=url, event="webinar.created", body="{}",
                        status="pending", attempts=0, next_attempt_at=old, created_at=old,
                    )
                )  # fmt: skip
    engine.dispose()


class LateUse(logging.Handler):
    """Errors of the emulator's loggers and of threads, once ``closed`` is set: a thread that
    outlived its app and reached for the store would produce one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.closed = threading.Event()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.closed.is_set():
            self.seen.append(record.getMessage())

    def thread_hook(self, args: threading.ExceptHookArgs) -> None:
        self.seen.append(f"thread {args.thread}: {args.exc_value!r}")


def test_nothing_touches_the_store_after_shutdown_with_the_dispatcher_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start and stop the app many times while its webhook dispatcher delivers and validates:
    nothing may reach the store once shutdown has returned (a worker thread left running on a
    closed connection crashed the interpreter). The store refuses any use after close, so
    every error after shutdown is watched."""
    endpoint = SlowEndpoint("s" * 16)
    template = tmp_path / "template.db"
    busy_store(template, endpoint.url)
    late = LateUse()
    logging.getLogger("zoomlive").addHandler(late)
    monkeypatch.setattr(threading, "excepthook", late.thread_hook)

    try:
        for cycle in range(60):
            db = tmp_path / f"cycle{cycle}.db"
            shutil.copy(template, db)
            settings = Settings(
                db=str(db), demo=False, media="fake", rate_limits="off", webhook_time_scale=1e-9
            )
            late.closed.clear()
            app = create_app(settings)
            with TestClient(app, base_url="http://127.0.0.1:8080"):
                # Let the dispatcher get going; vary the moment the shutdown hits it.
                time.sleep(0.005 * (cycle % 7))
            late.closed.set()
            assert app.state.env.store.closed
            time.sleep(0.002)
        time.sleep(0.3)  # a thread that outlived its app would reach the store by now
    finally:
        logging.getLogger("zoomlive").removeHandler(late)
        endpoint.close()
    assert late.seen == []


# 2. one emulator per store ----------------------------------------------------------------------


def test_a_second_serve_on_the_same_store_refuses_before_changing_anything(
    tmp_path: Path, serve: list[Server]
) -> None:
    db = tmp_path / "one.db"
    first = start(serve, db)
    with httpx.Client(base_url=first.url) as http:
        auth = token_headers(http)
        assert http.patch(STATUS, json={"action": "start"}, headers=auth).status_code == 204
        before = http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
        assert before["state"] == "live"
        # Same store, another port: refused, naming the one that serves it.
        other = run_cli("serve", "--port", str(free_port()), "--db", str(db), "--media", "fake")
        assert other.returncode == 1
        [line] = other.stderr.strip().splitlines()
        assert f"served by zoomlive serve on {first.url}" in line
        assert f"pid {first.proc.pid if first.proc else 0}" in line
        # Same port, another store: refused at the bind, before the store is even opened.
        fresh = tmp_path / "two.db"
        busy = run_cli("serve", "--port", str(first.port), "--db", str(fresh))
        assert busy.returncode == 1
        assert "address already in use" in busy.stderr and len(busy.stderr.splitlines()) == 1
        assert not fresh.exists()
        after = http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
        assert after == before  # no "emulator restarted", same version
    # And once the first is gone (even by kill -9), the store serves again.
    first.stop("kill")
    again = start(serve, db)
    assert httpx.get(again.url + "/_emulator/health").status_code == 200


def test_seed_into_a_served_store_is_refused(tmp_path: Path, serve: list[Server]) -> None:
    db = tmp_path / "served.db"
    srv = start(serve, db)
    seed = tmp_path / "s.yaml"
    seed.write_text("accounts: [{id: late}]\n")
    result = run_cli("seed", str(seed), "--db", str(db))
    assert result.returncode == 1 and "served by zoomlive serve on " + srv.url in result.stderr
    assert [a["id"] for a in httpx.get(srv.url + "/_emulator/accounts").json()] == ["demo-account"]


# 3. temp folders --------------------------------------------------------------------------------


def media_dirs(tmp: Path) -> set[Path]:
    return set(tmp.glob("zoomlive-media-*"))


def start_unreachable_stream(srv: Server) -> None:
    """A stream to a port nobody listens on: ffmpeg keeps failing and retrying, so a media
    folder exists for as long as the stream is wanted."""
    with httpx.Client(base_url=srv.url) as http:
        auth = token_headers(http)
        target = {
            "stream_url": f"rtmp://127.0.0.1:{free_port()}/live",
            "stream_key": "k",
            "page_url": "http://127.0.0.1/watch",
        }
        path = f"/v2/webinars/{DEMO_WEBINAR}/livestream"
        assert http.patch(path, json=target, headers=auth).status_code == 204
        assert http.patch(STATUS, json={"action": "start"}, headers=auth).status_code == 204


@pytest.mark.tools("ffmpeg")
def test_media_folders_go_with_a_clean_stop_and_after_a_kill(
    tmp_path: Path, serve: list[Server]
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    clean = start(serve, tmp_path / "a.db", "--media", "ffmpeg", env=env)
    start_unreachable_stream(clean)
    wait_until(lambda: media_dirs(tmp))
    clean.stop()
    assert media_dirs(tmp) == set()
    killed = start(serve, tmp_path / "b.db", "--media", "ffmpeg", env=env)
    start_unreachable_stream(killed)
    [dead] = wait_until(lambda: media_dirs(tmp))
    killed.stop("kill")
    assert dead.exists()  # nobody could clean up
    start(serve, tmp_path / "c.db", "--media", "ffmpeg", env=env)  # a restart sweeps it
    assert not dead.exists()


# 4. cross-site and DNS rebinding ----------------------------------------------------------------


def test_cross_site_and_foreign_host_requests_are_refused(
    tmp_path: Path, serve: list[Server]
) -> None:
    srv = start(serve, tmp_path / "x.db")
    with httpx.Client(base_url=srv.url) as http:
        assert http.post("/_emulator/accounts", json={"id": "keep-me"}).status_code == 201
        clock = http.post("/_emulator/clock", json={"freeze": True}).json()["now"]
        evil = {"Origin": "http://evil.example"}
        for path, body in (("/reset", b""), ("/accounts", b'{"id":"x"}'), ("/clock", b"{}")):
            # A page's "simple" request: text/plain, no preflight.
            refused = http.post(
                "/_emulator" + path, content=body, headers={"Content-Type": "text/plain", **evil}
            )
            assert refused.status_code == 403 and refused.json()["code"] == 403, path
            no_origin = http.post(
                "/_emulator" + path, content=body, headers={"Content-Type": "text/plain"}
            )
            assert no_origin.status_code == 403, path
        clock_jump = http.post(
            "/_emulator/clock", json={"advance_seconds": 7200}, headers=evil
        )  # JSON, but from another site
        assert clock_jump.status_code == 403
        ids = [a["id"] for a in http.get("/_emulator/accounts").json()]
        assert ids == ["demo-account", "keep-me"]
        assert http.get("/_emulator/clock").json()["now"] == clock
        # DNS rebinding: the page's own host name in Host.
        auth = token_headers(http)
        rebound = {"Host": f"evil.example:{srv.port}"}
        for method, path in (
            ("GET", "/_emulator/state"),
            ("GET", f"/v2/webinars/{DEMO_WEBINAR}"),
            ("POST", "/oauth/token?grant_type=account_credentials&account_id=demo-account"),
            ("GET", "/"),
        ):
            answer = http.request(method, path, headers={**auth, **rebound})
            assert answer.status_code == 403 and answer.json()["code"] == 403, path
        # The emulator's own origin (the dashboard), and its other names, still work.
        own = {"Origin": srv.url}
        assert http.post("/_emulator/accounts", json={"id": "mine"}, headers=own).status_code == 201
        local = {"Host": f"localhost:{srv.port}"}
        assert http.get(f"/v2/webinars/{DEMO_WEBINAR}", headers={**auth, **local}).status_code == (
            200
        )


def test_allowed_host_adds_a_name(tmp_path: Path, serve: list[Server]) -> None:
    srv = start(serve, tmp_path / "h.db", "--allowed-host", "zoom.test")
    named = httpx.get(srv.url + "/_emulator/health", headers={"Host": "zoom.test"})
    assert named.status_code == 200
    other = httpx.get(srv.url + "/_emulator/health", headers={"Host": "other.test"})
    assert other.status_code == 403


# 5. trailing slash ------------------------------------------------------------------------------


def test_a_trailing_slash_on_v2_is_the_same_path_and_never_a_redirect(api: Api) -> None:
    # zoom-python-client lists meetings at /users/{id}/meetings/: Zoom serves it
    with_slash = api.get(f"/v2/webinars/{DEMO_WEBINAR}/")
    assert with_slash.status_code == 200 and "location" not in with_slash.headers
    assert with_slash.json() == api.get(f"/v2/webinars/{DEMO_WEBINAR}").json()
    for method, path in (
        ("GET", f"/v2/webinars/{DEMO_WEBINAR}//"),  # one slash only
        ("GET", "/v2/"),
        ("POST", "/oauth/token/"),  # outside /v2: Starlette's routes, no redirect
    ):
        answer = api.request(method, path, json={})
        assert answer.status_code == 404, path
        assert "location" not in answer.headers
        assert answer.json() == {"code": 404, "message": "The requested resource was not found."}


# 6. secrets in logs, non-ASCII admin keys -------------------------------------------------------


def test_no_secret_in_trace_logs_and_utf8_admin_keys_work(
    tmp_path: Path, serve: list[Server]
) -> None:
    key = "clé-secrète-ß"
    srv = start(serve, tmp_path / "k.db", "--admin-key", key, "--log-level", "trace")
    with httpx.Client(base_url=srv.url) as http:
        good = http.get("/_emulator/state", headers={"X-Admin-Key": key.encode()})
        assert good.status_code == 200
        wrong = http.get("/_emulator/state", headers={"X-Admin-Key": b"cle-secrete"})
        assert wrong.status_code == 401
        with http.stream("GET", f"/_emulator/events?admin_key={quote(key)}") as feed:
            assert feed.status_code == 200
            next(feed.iter_raw())
        token = get_token(http)
        http.get(f"/v2/webinars/{DEMO_WEBINAR}", headers={"Authorization": f"Bearer {token}"})
    srv.stop()
    assert "query_string" in srv.output  # the trace log ran, so the check below means something
    for secret in (key, quote(key), quote(key).encode().decode("latin-1"), token):
        assert secret not in srv.output


# 7. idle and half-open connections --------------------------------------------------------------


def closed_by_server(sock: socket.socket, within: float = 15.0) -> bool:
    """True when the server closes the connection (EOF) without an answer."""
    sock.settimeout(within)
    try:
        return sock.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (headers, then Content-Length bytes of body, if any)."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_connections_without_headers_are_closed_and_capped(
    tmp_path: Path, serve: list[Server]
) -> None:
    srv = start(serve, tmp_path / "c.db", "--header-timeout", "1")
    host = ("127.0.0.1", srv.port)
    with socket.create_connection(host) as silent:
        assert closed_by_server(silent)
    with socket.create_connection(host) as partial:
        partial.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slo")
        assert closed_by_server(partial)
    with socket.create_connection(host) as kept:
        kept.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(kept).startswith(b"HTTP/1.1 200")
        kept.sendall(b"GET /_emulator/health HTTP/1.1\r\nHo")  # then nothing more
        assert closed_by_server(kept)
    capped = start(serve, tmp_path / "m.db", "--max-connections", "3", "--header-timeout", "60")
    held = [socket.create_connection(("127.0.0.1", capped.port)) for _ in range(3)]
    try:
        time.sleep(0.2)  # the server has taken all three
        with socket.create_connection(("127.0.0.1", capped.port)) as extra:
            assert closed_by_server(extra, within=10)
        held[0].sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(held[0]).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()


# 9-11. body rules -------------------------------------------------------------------------------


def runtime(api: Api) -> dict[str, Any]:
    data: dict[str, Any] = api.control("GET", f"/webinars/{DEMO_WEBINAR}/livestream").json()
    return data


@pytest.mark.tools("curl")
def test_curl_d_with_json_is_read_as_json(tmp_path: Path, serve: list[Server]) -> None:
    """``curl -d '{...}'`` labels its JSON as a form: the emulator reads the JSON it is."""
    srv = start(serve, tmp_path / "d.db")
    with httpx.Client(base_url=srv.url) as http:
        token = get_token(http)
    argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH"]
    argv += ["-H", f"Authorization: Bearer {token}", "-d"]
    started = subprocess.run(
        [*argv, '{"action":"start","settings":{"display_name":"Via curl"}}', srv.url + STATUS],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert started.stdout == "204"
    state = httpx.get(f"{srv.url}/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
    assert state["state"] == "live" and state["settings"]["display_name"] == "Via curl"
    broken = subprocess.run(
        [*argv, '{"action":"stop"', srv.url + STATUS], capture_output=True, text=True, timeout=30
    )
    assert broken.stdout == "400"


def test_one_rule_for_settings_in_json_and_in_forms(api: Api) -> None:
    bad = {"active_speaker_name": "yes"}
    as_json = api.patch(STATUS, json={"action": "start", "settings": bad})
    as_form = api.patch(
        STATUS, files={"action": (None, "start"), "settings": (None, json.dumps(bad))}
    )
    as_urlencoded = api.patch(STATUS, data={"action": "start", "settings": json.dumps(bad)})
    expected = {
        "code": 300,
        "message": "Validation Failed.",
        "errors": [{"field": "settings.active_speaker_name", "message": "Invalid field."}],
    }
    for answer in (as_json, as_form, as_urlencoded):
        assert answer.status_code == 400 and answer.json() == expected
    assert runtime(api)["state"] == "stopped"


def test_integers_are_integers_in_json_and_text_in_forms(api: Api) -> None:
    for body, field in (({"type": 5.0}, "type"), ({"duration": 60.0}, "duration")):
        refused = api.post("/v2/users/me/webinars", json={"topic": "T", **body})
        assert refused.status_code == 400
        assert refused.json()["errors"] == [{"field": field, "message": "Invalid field."}]
    made = api.post("/v2/users/me/webinars", data={"topic": "Form", "type": "5", "duration": "60"})
    assert made.status_code == 201, made.text
    assert (made.json()["type"], made.json()["duration"]) == (5, 60)
    approval = api.post(
        "/v2/users/me/webinars", json={"topic": "T", "settings": {"approval_type": 1.0}}
    )
    assert approval.status_code == 400


def test_null_means_absent(api: Api) -> None:
    version = runtime(api)["version"]
    assert api.patch(STATUS, json={"action": None}).status_code == 204
    assert runtime(api)["version"] == version  # nothing asked, nothing changed
    made = api.post("/v2/users/me/webinars", json={"topic": "Kept", "agenda": "A"}).json()
    patched = api.patch(f"/v2/webinars/{made['id']}", json={"agenda": None, "topic": "New"})
    assert patched.status_code == 204
    got = api.get(f"/v2/webinars/{made['id']}").json()
    assert (got["topic"], got["agenda"]) == ("New", "A")


# 12. a client that leaves mid-body ------------------------------------------------------------


def test_a_client_leaving_mid_body_is_one_log_line(tmp_path: Path, serve: list[Server]) -> None:
    srv = start(serve, tmp_path / "b.db", "--log-level", "info")
    with httpx.Client(base_url=srv.url) as http:
        token = get_token(http)
    with socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(
            f"PATCH {STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            '{"action":'.encode()
        )
        time.sleep(0.2)
    with httpx.Client(base_url=srv.url) as http:
        state = http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
        assert state["state"] == "stopped"
    srv.stop()
    assert "Traceback" not in srv.output and "unhandled" not in srv.output
    lines = [line for line in srv.output.splitlines() if "disconnected before its body" in line]
    assert len(lines) == 1 and STATUS in lines[0]


# 13. the demo's page_url ----------------------------------------------------------------------


def test_demo_page_url_is_on_the_port_served(tmp_path: Path, serve: list[Server]) -> None:
    srv = start(serve, tmp_path / "p.db")
    with httpx.Client(base_url=srv.url) as http:
        got = http.get(f"/v2/webinars/{DEMO_WEBINAR}/livestream", headers=token_headers(http))
        assert got.json()["page_url"] == f"{srv.url}/watch/{DEMO_WEBINAR}"
        http.post("/_emulator/reset", json={"demo": True})
        again = http.get(f"/v2/webinars/{DEMO_WEBINAR}/livestream", headers=token_headers(http))
        assert again.json()["page_url"] == f"{srv.url}/watch/{DEMO_WEBINAR}"


# 17. scripts/serve does not reinstall -----------------------------------------------------------


def test_bootstrap_installs_once_until_pyproject_changes(tmp_path: Path) -> None:
    """scripts/bootstrap in a copy of the repo with a stand-in venv that logs what it is asked
    to run: pip runs on the first call, not on the second, and again after pyproject changes."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap", tmp_path / "scripts" / "bootstrap")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    log = tmp_path / "calls.log"
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    fake.chmod(0o755)

    def installs() -> int:
        subprocess.run(["bash", "scripts/bootstrap", "test"], cwd=tmp_path, check=True)
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return sum("install" in c and "-e" in c for c in calls)

    assert installs() == 1
    assert installs() == 0
    with (tmp_path / "pyproject.toml").open("a") as extra:
        extra.write("\n# a changed dependency\n")
    assert installs() == 1


# 18. a body that never ends -------------------------------------------------------------------

OAUTH = "/oauth/token?grant_type=account_credentials&account_id=demo-account"
DEMO_AUTH = f"Authorization: {DEMO_BASIC}"


def stalled(port: int, method: str, path: str, *headers: str, body: bytes = b'{"action":') -> Any:
    """A connection whose request's headers are complete but whose body stops short: it says
    Content-Length: 100 and sends ``body`` (10 bytes by default), then nothing."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "Content-Length: 100"]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return sock


def test_a_body_that_never_ends_is_closed_at_the_body_deadline(
    tmp_path: Path, serve: list[Server]
) -> None:
    """Headers complete, body short of its Content-Length, then silence (or a trickle): on
    every path, the connection is closed without an answer within --body-timeout of the
    headers (the header deadline is far off), other clients are served meanwhile, nothing
    changes, and each closing is one log line."""
    srv = start(
        serve, tmp_path / "t.db", "--body-timeout", "1", "--header-timeout", "30",
        "--log-level", "info",
    )  # fmt: skip
    with httpx.Client(base_url=srv.url) as http:
        token = get_token(http)
    json_type = "Content-Type: application/json"
    form_type = "Content-Type: application/x-www-form-urlencoded"
    started = time.monotonic()
    socks = [
        stalled(srv.port, "PATCH", STATUS, f"Authorization: Bearer {token}", json_type),
        stalled(srv.port, "POST", OAUTH, DEMO_AUTH, form_type, body=b"grant_type"),
        stalled(srv.port, "POST", "/_emulator/accounts", json_type, body=b'{"id": "x"'),
    ]
    try:
        # Meanwhile, everyone else is served, at once.
        with httpx.Client(base_url=srv.url, timeout=5) as http:
            for _ in range(3):
                assert http.get("/_emulator/health").status_code == 200
                got = http.get(f"/v2/webinars/{DEMO_WEBINAR}", headers=token_headers(http))
                assert got.status_code == 200
        assert time.monotonic() - started < 0.9
        for sock in socks:
            assert closed_by_server(sock, within=5)
            assert 0.9 <= time.monotonic() - started < 3
        # A body that keeps coming, a byte every 0.1 s, but would end only after 3 s: the
        # deadline is for the whole body, not for each read.
        trickle = stalled(srv.port, "PATCH", STATUS, f"Authorization: Bearer {token}", body=b"")
        socks.append(trickle)
        started = time.monotonic()
        for byte in b'{"action":"start","settings":{}}':
            if select.select([trickle], [], [], 0.1)[0]:
                break  # closed
            trickle.sendall(bytes([byte]))
        assert closed_by_server(trickle, within=5)
        assert 0.9 <= time.monotonic() - started < 3
    finally:
        for sock in socks:
            sock.close()
    with httpx.Client(base_url=srv.url) as http:
        stream = http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
        assert stream["state"] == "stopped"
        ids = [a["id"] for a in http.get("/_emulator/accounts").json()]
        assert ids == ["demo-account"]
    srv.stop()
    assert "Traceback" not in srv.output and "unhandled" not in srv.output
    assert "Exception" not in srv.output and "Internal" not in srv.output
    lines = [line for line in srv.output.splitlines() if "no complete body within 1 s" in line]
    assert len(lines) == 4, srv.output
    assert sum(STATUS in line for line in lines) == 2
    assert any("/oauth/token" in line for line in lines)
    assert any("/_emulator/accounts" in line for line in lines)
    assert "disconnected before its body ended" not in srv.output  # one line, not two


def test_a_slow_body_that_ends_in_time_is_served(tmp_path: Path, serve: list[Server]) -> None:
    srv = start(serve, tmp_path / "s.db", "--body-timeout", "2")
    with httpx.Client(base_url=srv.url) as http:
        token = get_token(http)
    body = b'{"action":"start","settings":{"display_name":"Slow but sure"}}'
    with socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(
            f"PATCH {STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        for at in range(0, len(body), 13):  # five pieces over a second
            time.sleep(0.2)
            sock.sendall(body[at : at + 13])
        assert read_response(sock).startswith(b"HTTP/1.1 204")
        # The deadline is per request: the same connection's next body gets its own.
        sock.sendall(
            f"PATCH {STATUS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n".encode()
        )
        time.sleep(1.5)
        sock.sendall(b'{"action":"stop"}')
        assert read_response(sock).startswith(b"HTTP/1.1 204")
    stream = httpx.get(f"{srv.url}/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
    assert stream["state"] == "stopped"
    assert stream["settings"]["display_name"] == "Slow but sure"


# 19. more than one Authorization header --------------------------------------------------------


def test_more_than_one_authorization_header_is_refused(server: Server) -> None:
    """Which credentials count is ambiguous: refused as a strict gateway would, whatever the
    order, even when both are the same."""
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/_emulator/reset", json={"demo": True}).status_code == 200
        good = f"Bearer {get_token(http)}"
        start_it = {"action": "start"}
        for pair in ((good, "Bearer bad"), ("Bearer bad", good), (good, good)):
            answer = http.patch(STATUS, json=start_it, headers=[("Authorization", v) for v in pair])
            assert_error(answer, 401, 124, "Invalid access token.")
            assert "x-ratelimit-category" not in answer.headers
        runtime = http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
        assert runtime["state"] == "stopped"
        other = basic("demo-client-id", "wrong-secret")
        for pair in ((DEMO_BASIC, other), (other, DEMO_BASIC), (DEMO_BASIC, DEMO_BASIC)):
            refused = http.post(OAUTH, headers=[("Authorization", v) for v in pair])
            assert_error(refused, 401, 4702, "Invalid client.")
            assert refused.json()["error"] == "invalid_client"
        # One header of each is still fine.
        assert http.patch(STATUS, json=start_it, headers={"Authorization": good}).status_code == 204
        assert http.post(OAUTH, headers={"Authorization": DEMO_BASIC}).status_code == 200
        assert http.post("/_emulator/reset", json={"demo": True}).status_code == 200


def test_more_than_one_admin_key_is_refused(tmp_path: Path, serve: list[Server]) -> None:
    srv = start(serve, tmp_path / "a.db", "--admin-key", "right")
    with httpx.Client(base_url=srv.url) as http:
        for pair in (("right", "wrong"), ("wrong", "right"), ("right", "right")):
            answer = http.get("/_emulator/state", headers=[("X-Admin-Key", v) for v in pair])
            assert answer.status_code == 401, pair
        assert http.get("/_emulator/state", headers={"X-Admin-Key": "right"}).status_code == 200


# 20. HTTP/1.1 without Host ----------------------------------------------------------------------


def exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send one raw request, read the answer to its end: (status line and headers, body)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
    return head, body


def test_an_http11_request_without_one_host_is_a_400(tmp_path: Path, serve: list[Server]) -> None:
    """RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request lacking Host, or with
    more than one (and an empty one is no host name). HTTP/1.0 may go without."""
    srv = start(serve, tmp_path / "h.db")
    with httpx.Client(base_url=srv.url) as http:
        auth = f"Authorization: Bearer {get_token(http)}\r\n"
    paths = (
        ("GET", f"/v2/webinars/{DEMO_WEBINAR}", auth),
        ("PATCH", STATUS, auth + "Content-Type: application/json\r\n"),
        ("POST", OAUTH, DEMO_AUTH + "\r\n"),
        ("GET", "/_emulator/health", ""),
        ("GET", "/", ""),
    )
    hosts = (
        ("", "A Host header is required."),
        ("Host: \r\n", "Invalid Host header."),
        ("Host: 127.0.0.1\r\nHost: evil.example\r\n", "Invalid Host header."),
        ("Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n", "Invalid Host header."),
    )
    for method, path, extra in paths:
        for host, message in hosts:
            body = '{"action":"start"}' if method == "PATCH" else ""
            request = f"{method} {path} HTTP/1.1\r\n{host}{extra}Content-Length: {len(body)}\r\n"
            head, answer = exchange(srv.port, f"{request}\r\n{body}".encode())
            assert head.startswith(b"HTTP/1.1 400 "), (path, host, head)
            assert json.loads(answer) == {"code": 400, "message": message}, (path, host)
            assert b"x-zm-trackingid" in head.lower()
    # HTTP/1.0 without Host: the loopback is assumed.
    head, answer = exchange(srv.port, b"GET /_emulator/health HTTP/1.0\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    head, answer = exchange(
        srv.port, f"GET /v2/webinars/{DEMO_WEBINAR} HTTP/1.0\r\n{auth}\r\n".encode()
    )
    assert head.startswith(b"HTTP/1.1 200 ") and json.loads(answer)["id"] == DEMO_WEBINAR
    # Nothing was started by the refused PATCHes.
    stream = httpx.get(f"{srv.url}/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
    assert stream["state"] == "stopped"
