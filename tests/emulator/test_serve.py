"""``zoomlive serve`` and ``zoomlive seed`` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import Server, get_token


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zoomlive", *args], capture_output=True, text=True, timeout=60
    )


def test_first_start_seeds_the_demo_and_says_how_to_call_it(tmp_path: Path) -> None:
    srv = Server(tmp_path / "z.db").start()
    try:
        with httpx.Client(base_url=srv.url) as http:
            token = get_token(http)
            got = http.get("/v2/webinars/68423085", headers={"Authorization": f"Bearer {token}"})
            assert got.status_code == 200 and got.json()["host_email"] == "host@example.com"
    finally:
        srv.stop()
    assert "client_secret=demo-client-secret" in srv.output
    assert "/oauth/token?grant_type=account_credentials&account_id=demo-account" in srv.output


def test_state_survives_a_restart_even_after_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    srv = Server(db).start()
    try:
        with httpx.Client(base_url=srv.url) as http:
            headers = {"Authorization": f"Bearer {get_token(http)}"}
            made = http.post("/v2/users/me/webinars", json={"topic": "kept"}, headers=headers)
            assert made.status_code == 201
            wid = made.json()["id"]
            ended = http.put(
                "/v2/webinars/68423085/status", json={"action": "end"}, headers=headers
            )
            assert ended.status_code == 204
    finally:
        srv.stop("kill")  # no clean shutdown: only what was committed can be there
    again = Server(db).start()
    try:
        with httpx.Client(base_url=again.url) as http:
            headers = {"Authorization": f"Bearer {get_token(http)}"}
            assert http.get(f"/v2/webinars/{wid}", headers=headers).json()["topic"] == "kept"
            state = http.get("/_emulator/state").json()
            assert {w["id"]: w["status"] for w in state["webinars"]}[68423085] == "ended"
            assert len(state["accounts"]) == 1  # the demo is seeded once, not on every start
    finally:
        again.stop()


def test_no_demo_starts_empty(tmp_path: Path) -> None:
    srv = Server(tmp_path / "e.db", "--no-demo").start()
    try:
        assert httpx.get(srv.url + "/_emulator/state").json()["accounts"] == []
    finally:
        srv.stop()


def test_non_loopback_bind_needs_an_admin_key(tmp_path: Path) -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "admin-key" in result.stderr


def test_seed_file_into_a_store_then_serve_it(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "accounts:\n"
        "  - id: filed\n"
        "    plan: pro\n"
        "    users: [{email: h@filed.test}]\n"
        "    apps: [{client_id: fc, client_secret: fs}]\n"
        "    webinars: [{id: 31313131313, host: h@filed.test, topic: Seeded}]\n"
    )
    db = tmp_path / "seeded.db"
    result = run_cli("seed", str(seed), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert '"client_id": "fc"' in result.stdout
    again = run_cli("seed", str(seed), "--db", str(db))
    assert again.returncode == 1 and "already exists" in again.stderr
    srv = Server(db, "--no-demo").start()
    try:
        with httpx.Client(base_url=srv.url) as http:
            import base64

            basic = "Basic " + base64.b64encode(b"fc:fs").decode()
            token = get_token(http, basic, "filed")
            got = http.get("/v2/webinars/31313131313", headers={"Authorization": f"Bearer {token}"})
            assert got.json()["topic"] == "Seeded"
            # And the same file through a running emulator's control API.
            other = tmp_path / "other.yaml"
            other.write_text("accounts: [{id: live-loaded}]\n")
            loaded = run_cli("seed", str(other), "--url", srv.url)
            assert loaded.returncode == 0, loaded.stderr
            ids = [a["id"] for a in http.get("/_emulator/accounts").json()]
            assert ids == ["filed", "live-loaded"]
    finally:
        srv.stop()


def test_seed_rejects_a_bad_file(tmp_path: Path) -> None:
    seed = tmp_path / "bad.yaml"
    seed.write_text("accounts: [{plan: gold}]\n")
    result = run_cli("seed", str(seed), "--db", str(tmp_path / "b.db"))
    assert result.returncode == 1
    assert "Validation Failed. accounts.0.plan" in result.stderr
