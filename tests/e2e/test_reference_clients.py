"""The reference page's three clients (curl, Postman via newman, Chilkat via chilkat2), each as
written on the page with only host, port, token and webinar id substituted, against
``zoomlive serve`` over real HTTP on 127.0.0.1; and Zoom's Node SDK (@zoom/rivet) receiving the
emulator's webhooks.

The requests come from the repo's copies in ``tests/support/reference/`` (see its README), so these
tests run from any clone. Only ``test_reference_data_matches_the_page`` reads the page itself,
to check that the copies still match it, and it is skipped when the page is absent."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_WEBINAR, Api, Server
from tests.support.engines import EngineMissing, tool
from tests.support.webhook_events import TOPIC, drive_every_event, node_receiver, subscribe
from zoomlive.emulator import webhooks
from zoomlive.testing import sign_webhook

ROOT = Path(__file__).resolve().parents[2]
PAGE = Path(
    os.environ.get(
        "ZOOMLIVE_REFERENCE_PAGE",
        ROOT.parent / "shared" / "reference" / "update-live-stream-status.txt",
    )
)
HERE = Path(__file__).resolve().parents[1] / "support" / "reference"
CURL_COMMAND = HERE / "curl_command.txt"
POSTMAN_ITEM = HERE / "postman_item.json"
CURL_HEADING = "Curl Command"
POSTMAN_HEADING = "Postman Collection Item JSON"
NODE_MODULES = ROOT / ".cache" / "npm" / "node_modules"
FIXED_SETTINGS = '{"active_speaker_name":false,"display_name":"reprehender"}'


def page_sections(text: str) -> tuple[str, str]:
    """The page's curl command and Postman item: the text under each heading line.

    The curl command runs from its heading to the Postman heading, and the item runs to the
    end of the page. Blank lines around each section are trimmed, because the data files hold
    only the section itself, ending with one newline.
    """
    _, found, rest = text.partition(f"\n{CURL_HEADING}\n")
    assert found, f"no {CURL_HEADING!r} heading on the page: {PAGE}"
    curl, found, item = rest.partition(f"\n{POSTMAN_HEADING}\n")
    assert found, f"no {POSTMAN_HEADING!r} heading on the page: {PAGE}"
    return curl.strip("\n"), item.strip("\n")


def test_reference_data_matches_the_page() -> None:
    """The repo's copies must still be the page's requests, byte for byte.

    Whitespace counts here too, because the curl command is split the way a shell would split it.
    """
    if not PAGE.is_file():
        pytest.skip(f"reference page absent: {PAGE} (set ZOOMLIVE_REFERENCE_PAGE)")
    curl, item = page_sections(PAGE.read_text(encoding="utf-8"))
    assert CURL_COMMAND.read_text(encoding="utf-8") == curl + "\n"
    assert POSTMAN_ITEM.read_text(encoding="utf-8") == item + "\n"


def page_curl_argv(server: Server, token: str, webinar_id: str) -> list[str]:
    """The page's curl command, with host, port, token and webinar id substituted."""
    command = CURL_COMMAND.read_text(encoding="utf-8")
    command = (
        command.replace("https://api.zoom.us", server.url)
        .replace("<access_token>", token)
        .replace(":webinarId", webinar_id)
    )
    argv = shlex.split(" ".join(command.split("\n")))
    assert argv[0] == "curl" and argv[-1].startswith(server.url)
    return argv


def run_curl(argv: list[str]) -> tuple[int, str]:
    # Only reporting flags are added: silence progress, print the status after the body.
    result = subprocess.run(
        [*argv, "--silent", "--show-error", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def stream(api: Api, webinar_id: int = DEMO_WEBINAR) -> dict[str, Any]:
    response = api.control("GET", f"/webinars/{webinar_id}/livestream")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    data.pop("events")
    return data


def test_curl_as_written_gets_validation_failed_naming_settings(live: Api, server: Server) -> None:
    before = live.state()
    status, body = run_curl(page_curl_argv(server, live.token, str(DEMO_WEBINAR)))
    assert status == 400
    assert json.loads(body) == {
        "code": 300,
        "message": "Validation Failed.",
        "errors": [{"field": "settings", "message": "Invalid field."}],
    }
    assert live.state() == before
    assert stream(live)["state"] == "stopped"


def test_curl_with_settings_fixed_starts_the_stream(live: Api, server: Server) -> None:
    argv = page_curl_argv(server, live.token, str(DEMO_WEBINAR))
    argv = [a.replace("settings=start{", "settings={") for a in argv]
    assert f"settings={FIXED_SETTINGS}" in argv
    status, body = run_curl(argv)
    assert (status, body) == (204, "")
    now = stream(live)
    assert now["state"] == "live"
    assert now["settings"] == {"display_name": "reprehender", "active_speaker_name": False}
    assert now["started_at"]


def run_newman(server: Server, token: str, webinar_id: str | None = None) -> list[dict[str, Any]]:
    node = tool("node", "node (Debian: nodejs)")
    if not (NODE_MODULES / "newman").is_dir():
        raise EngineMissing("newman in .cache/npm (scripts/test installs it)")
    args = [node, str(HERE / "newman_run.js"), str(POSTMAN_ITEM), f"{server.url}/v2", token]
    if webinar_id:
        args.append(webinar_id)
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_postman_item_run_by_newman_gets_204(live: Api, server: Server) -> None:
    [run] = run_newman(server, live.token)
    assert run["method"] == "PATCH"
    assert run["url"] == f"{server.url}/v2/webinars/{DEMO_WEBINAR}/livestream/status"
    assert run["contentType"].startswith("multipart/form-data")
    assert run["status"] == 204
    assert stream(live)["settings"]["display_name"] == "reprehender"
    assert stream(live)["state"] == "live"


def test_postman_documented_400_with_an_unknown_webinar(live: Api, server: Server) -> None:
    before = live.state()
    [run] = run_newman(server, live.token, "12345678901")
    assert run["status"] == 400
    assert json.loads(run["body"]) == {
        "code": 3001,
        "message": "Webinar does not exist: 12345678901.",
    }
    assert live.state() == before


def run_chilkat(server: Server, path: str, token: str, settings: str | None = None) -> str:
    args = [
        sys.executable,
        str(HERE / "chilkat_update_live_stream_status.py"),
        "127.0.0.1",
        str(server.port),
        path,
        token,
    ]
    if settings is not None:
        args.append(settings)
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def test_chilkat_program_with_settings_fixed_succeeds(live: Api, server: Server) -> None:
    path = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"
    out = run_chilkat(server, path, live.token, FIXED_SETTINGS)
    assert "Response Status Code = 204" in out
    assert out.rstrip().endswith("Success.")
    assert stream(live)["state"] == "live"


def test_chilkat_program_as_written_is_refused_like_curl(live: Api, server: Server) -> None:
    out = run_chilkat(server, f"/v2/webinars/{DEMO_WEBINAR}/livestream/status", live.token)
    assert "Response Status Code = 400" in out
    assert '"field":"settings"' in out and out.rstrip().endswith("Failed.")
    assert stream(live)["state"] == "stopped"


def test_chilkat_program_with_the_pages_literal_path_gets_invalid_id(
    live: Api, server: Server
) -> None:
    before = live.state()
    out = run_chilkat(
        server, "/v2/webinars/:webinarId/livestream/status", live.token, FIXED_SETTINGS
    )
    assert "Response Status Code = 400" in out
    assert '{"code":300,"message":"Invalid webinar ID."}' in out
    assert live.state() == before


# Zoom's official Node SDK as a webhook receiver ----------------------------------------------

RIVET_SECRET = "rivet-webhook-secret"


def test_rivets_webhook_receiver_accepts_every_event_the_emulator_sends(live: Api) -> None:
    """@zoom/rivet's HttpReceiver (unchanged; it verifies over ``JSON.stringify`` of the parsed
    body) is the endpoint: it answers Zoom's URL validation, and every event the emulator sends,
    non-ASCII topics included, reaches its listeners and is answered 200."""
    events = list(webhooks.EVENTS)
    with node_receiver("rivet_receiver.js", RIVET_SECRET, *events, needs="@zoom/rivet") as rivet:
        subscribe(live, rivet.url, RIVET_SECRET)  # validated by Rivet's answer
        ids = drive_every_event(live)
        got = rivet.wait_for(set(events))
        deliveries = live.control("GET", "/webhooks/deliveries").json()
        # The body as the emulator used to send it (\u escapes, signed over those bytes): Rivet
        # refuses it, so this test tells the two apart.
        escaped = json.dumps({"event": "meeting.started", "payload": {"object": {"topic": TOPIC}}})
        old = sign_webhook(escaped.encode(), RIVET_SECRET)
        refused = httpx.post(rivet.url, content=old.body, headers=old.headers, timeout=10)
        assert refused.status_code == 400
        assert refused.json() == {"error": "Failed to verify event originated from Zoom."}
    started = got["meeting.started"]["body"]["payload"]["object"]
    assert started["topic"] == TOPIC and started["id"] == str(ids["meeting"])
    assert got["webinar.created"]["body"]["payload"]["object"]["topic"] == TOPIC
    sent = [d for d in deliveries if d["url"] == rivet.url]
    assert {d["event"] for d in sent} == set(events)
    assert all(a["status_code"] == 200 for d in sent for a in d["attempts"]), sent
