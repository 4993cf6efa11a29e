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
import typer.main
from typer.testing import CliRunner

from tests.conftest import DEMO_WEBINAR, Server, get_token
from tests.support.helpers import free_port
from zoomlive.cli import app as cli_app

DEMO_CREDENTIALS = {
    "ZOOM_ACCOUNT_ID": "demo-account",
    "ZOOM_CLIENT_ID": "demo-client-id",
    "ZOOM_CLIENT_SECRET": "demo-client-secret",
}
ZOOM_VARIABLES = (
    "ZOOM_ACCOUNT_ID",
    "ZOOM_CLIENT_ID",
    "ZOOM_CLIENT_SECRET",
    "ZOOM_API_BASE_URL",
    "ZOOM_OAUTH_BASE_URL",
    "ZOOM_ACCESS_TOKEN",
)


def zl(
    server_url: str | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``zoomlive ARGS --base-url SERVER/v2`` with the demo credentials, or with ``env`` (then
    exactly those ZOOM_* variables: none leak in from the test's environment)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")},
        **(DEMO_CREDENTIALS if env is None else env),
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
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = zl(nowhere, "webinar", "get", str(DEMO_WEBINAR))
    assert unreachable.returncode == 3
    assert f"could not reach the server: POST {nowhere}/oauth/token: " in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1


def test_errors_hint_at_the_fix(url: str) -> None:
    no_v2 = zl(None, "webinar", "get", str(DEMO_WEBINAR), "--base-url", url)
    assert no_v2.returncode == 1
    assert no_v2.stderr.strip() == (
        "Zoom error 404: The requested resource was not found. (the API base URL "
        f"{url} does not end in /v2, where Zoom's API is: did you mean {url}/v2?)"
    )
    wrong_account = zl(
        url, "webinar", "get", str(DEMO_WEBINAR), env={**DEMO_CREDENTIALS, "ZOOM_ACCOUNT_ID": "x"}
    )
    assert wrong_account.returncode == 1
    assert wrong_account.stderr.startswith(
        "Zoom error 4735: The owner of the token does not exist. (wrong account id? 'x' "
    )


def test_a_token_instead_of_credentials(url: str) -> None:
    with httpx.Client(base_url=url) as http:
        token = get_token(http)
    by_option = zl(url, "webinar", "get", str(DEMO_WEBINAR), "--token", token, "--json", env={})
    assert by_option.returncode == 0, by_option.stderr
    assert json.loads(by_option.stdout)["id"] == DEMO_WEBINAR
    by_env = zl(
        url, "webinar", "livestream", "get", str(DEMO_WEBINAR), env={"ZOOM_ACCESS_TOKEN": token}
    )
    assert by_env.returncode == 0 and "stream_key: demo-stream-key" in by_env.stdout
    bad = zl(url, "webinar", "get", str(DEMO_WEBINAR), "--token", "nope", env={})
    assert bad.returncode == 1 and bad.stderr.strip() == "Zoom error 124: Invalid access token."
    neither = zl(url, "webinar", "get", str(DEMO_WEBINAR), env={})
    assert neither.returncode == 2 and "--token or ZOOM_ACCESS_TOKEN" in neither.stderr


def zoom_commands() -> list[tuple[str, Any]]:
    """Every command under ``webinar`` and ``meeting`` (all of them call Zoom)."""
    found: list[tuple[str, Any]] = []

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                walk(command, f"{prefix} {name}")
            else:
                found.append((f"{prefix} {name}", command))

    root: Any = typer.main.get_command(cli_app)
    for kind in ("webinar", "meeting"):
        walk(root.commands[kind], kind)
    return found


@pytest.mark.parametrize("path", [name for name, _ in zoom_commands()])
def test_help_names_the_id_and_lists_the_environment(path: str) -> None:
    command = dict(zoom_commands())[path]
    result = CliRunner().invoke(cli_app, [*path.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for variable in ZOOM_VARIABLES:
        assert variable in result.output, variable
    assert "--token" in result.output and "--base-url" in result.output
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    kind = path.split()[0]
    for argument in arguments[:1]:  # the session first; then e.g. REGISTRANT...
        assert argument.metavar == f"{kind.upper()}_ID"
    if arguments:
        assert f"{kind.upper()}_ID" in result.output
    assert "session_id" not in result.output and "SESSION_ID" not in result.output


def test_a_missing_id_is_named() -> None:
    runner = CliRunner()
    missing = runner.invoke(cli_app, ["meeting", "get"], env=DEMO_CREDENTIALS)
    assert missing.exit_code == 2 and "Missing argument 'MEETING_ID'" in missing.output
    neither = runner.invoke(cli_app, ["webinar", "livestream", "start"], env=DEMO_CREDENTIALS)
    assert neither.exit_code == 2 and "give a WEBINAR_ID, or --from-file" in neither.output


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
