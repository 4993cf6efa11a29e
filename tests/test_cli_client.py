"""The operator CLI (``zoomlive webinar|meeting ...``) against ``zoomlive serve`` over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_WEBINAR, Server, free_port


def zl(server_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ZOOM_ACCOUNT_ID": "demo-account",
        "ZOOM_CLIENT_ID": "demo-client-id",
        "ZOOM_CLIENT_SECRET": "demo-client-secret",
    }
    base = ["--base-url", f"{server_url}/v2"] if server_url else []
    return subprocess.run(
        [sys.executable, "-m", "zoomlive", *args, *base],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def url(server: Server) -> str:
    assert httpx.post(server.url + "/_emulator/reset", json={"demo": True}).status_code == 200
    return server.url


def runtime(url: str, wid: int = DEMO_WEBINAR) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{url}/_emulator/webinars/{wid}/livestream").json()
    return data


def test_livestream_commands(url: str) -> None:
    done = zl(
        url,
        "webinar",
        "livestream",
        "configure",
        str(DEMO_WEBINAR),
        "--stream-url",
        "rtmp://127.0.0.1:1935/live",
        "--stream-key",
        "cli-key",
        "--page-url",
        "https://example.com/p",
        "--resolution",
        "720p",
    )
    assert done.returncode == 0, done.stderr
    shown = zl(url, "webinar", "livestream", "get", str(DEMO_WEBINAR), "--json")
    assert json.loads(shown.stdout)["stream_key"] == "cli-key"
    started = zl(
        url,
        "webinar",
        "livestream",
        "start",
        str(DEMO_WEBINAR),
        "--display-name",
        "From the CLI",
        "--no-active-speaker-name",
    )
    assert started.returncode == 0 and started.stdout.strip() == "ok"
    assert runtime(url)["settings"] == {
        "display_name": "From the CLI",
        "active_speaker_name": False,
    }
    assert zl(url, "webinar", "livestream", "stop", str(DEMO_WEBINAR)).returncode == 0
    assert runtime(url)["state"] == "stopped"


def test_exit_codes_and_one_line_errors(url: str) -> None:
    missing = zl(url, "webinar", "livestream", "start", "12345678901")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Zoom error 3001: Webinar does not exist: 12345678901."
    usage = zl(url, "webinar", "livestream", "start", str(DEMO_WEBINAR), "--display-name", "x" * 51)
    assert usage.returncode == 2
    unreachable = zl(f"http://127.0.0.1:{free_port()}", "webinar", "get", str(DEMO_WEBINAR))
    assert unreachable.returncode == 3 and "could not reach" in unreachable.stderr


def test_webinar_and_meeting_commands(url: str) -> None:
    made = zl(url, "webinar", "create", "--topic", "CLI webinar", "--json")
    wid = json.loads(made.stdout)["id"]
    assert zl(url, "webinar", "update", str(wid), "--agenda", "A").returncode == 0
    assert "agenda: A" in zl(url, "webinar", "get", str(wid)).stdout
    listed = json.loads(zl(url, "webinar", "list", "--json").stdout)
    assert {w["id"] for w in listed} == {wid, DEMO_WEBINAR}
    assert zl(url, "webinar", "delete", str(wid)).returncode == 0
    meeting = json.loads(zl(url, "meeting", "create", "--topic", "CLI meeting", "--json").stdout)
    mid = meeting["id"]
    httpx.post(f"{url}/_emulator/meetings/{mid}/start")
    zl(
        url,
        "meeting",
        "livestream",
        "configure",
        str(mid),
        "--stream-url",
        "rtmp://127.0.0.1:1935/live",
        "--stream-key",
        "k",
        "--page-url",
        "https://e.com",
    )
    assert zl(url, "meeting", "livestream", "start", str(mid)).returncode == 0
    assert (
        zl(url, "meeting", "livestream", "mode", str(mid), "--layout", "speaker_view").returncode
        == 0
    )
    assert zl(url, "meeting", "end", str(mid)).returncode == 0


def test_bulk_start_and_stop_from_a_csv(url: str, tmp_path: Path) -> None:
    webinars = [
        {
            "host": "host@example.com",
            "topic": f"bulk {i}",
            "status": "started",
            "livestream": {
                "stream_url": "rtmp://127.0.0.1:1935/live",
                "stream_key": f"k{i}",
                "page_url": "https://e.com/p",
            },
        }
        for i in range(300)
    ]
    created = [
        httpx.post(f"{url}/_emulator/accounts/demo-account/webinars", json=w).json()["id"]
        for w in webinars
    ]
    rows = ["id,display_name"] + [f"{wid},Bulk {wid}" for wid in created]
    rows += [f"{10_000_000_000 + i},Ghost" for i in range(20)]  # 20 that do not exist
    sheet = tmp_path / "streams.csv"
    sheet.write_text("\n".join(rows) + "\n")
    first = zl(url, "webinar", "livestream", "start", "--from-file", str(sheet), "--json")
    assert first.returncode == 1
    results = json.loads(first.stdout)
    assert len(results) == 320
    assert sum(r["ok"] for r in results) == 300
    assert {r["code"] for r in results if not r["ok"]} == {3001}
    assert runtime(url, created[7])["settings"]["display_name"] == f"Bulk {created[7]}"
    again = zl(url, "webinar", "livestream", "start", "--from-file", str(sheet))  # safe to re-run
    assert again.returncode == 1 and "300 ok, 20 failed" in again.stdout
    stop_sheet = tmp_path / "stop.csv"
    stop_sheet.write_text("id\n" + "\n".join(str(w) for w in created) + "\n")
    stopped = zl(url, "webinar", "livestream", "stop", "--from-file", str(stop_sheet))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert runtime(url, created[0])["state"] == "stopped"
