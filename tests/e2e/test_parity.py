"""Record and compare: ``zoomlive record`` in front of an upstream that answers like Zoom (a
second ``zoomlive serve``, on loopback), the SDK driven through it, the cassette checked for
secrets, then ``zoomlive parity`` replaying it against a fresh emulator, with and without a
deliberate divergence. Every process is a real one, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import zoomlive
from tests.conftest import Server
from tests.support.helpers import free_port, popen
from zoomlive.cli import app as cli_app
from zoomlive.parity import document
from zoomlive.parity.cassette import REDACTED, Redactor, load
from zoomlive.parity.proxy import Recorder
from zoomlive.testing import ZoomEmulator

pytestmark = pytest.mark.socket

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "tests" / "data" / "cassettes"
SECRET = "demo-client-secret"
HOST_EMAIL = "host@example.com"
PERSON_EMAIL = "ada.lovelace@analytical.test"
STREAM_KEY = "sk-live-7f3a9c"


def zoomlive_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``zoomlive ...`` as a process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "zoomlive", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@dataclass
class Recording:
    path: Path
    upstream: Server
    token: str
    webinar_id: int
    registrant_id: str
    violations: str
    log: str


class RecordProxy:
    """``zoomlive record`` as a process on a free loopback port."""

    def __init__(self, upstream: str, out: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = popen(
            [
                sys.executable,
                "-m",
                "zoomlive",
                "record",
                "--upstream",
                upstream,
                "--out",
                str(out),
                "--port",
                str(self.port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )

    def wait(self) -> RecordProxy:
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, self.stop()
            try:
                assert httpx.get(self.url + "/_zoomlive/health", timeout=1).status_code == 200
                return self
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "zoomlive record did not start"
                time.sleep(0.1)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        return str(out)


@pytest.fixture(scope="module")
def recording(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """The SDK through the proxy: OAuth, a webinar created, read, its live stream configured,
    a registrant, the host starts it, the stream starts and stops, an unknown id and a bad
    body. The upstream is the session's ``zoomlive serve``, reset to the demo seed."""
    folder = tmp_path_factory.mktemp("parity")
    upstream = server
    assert httpx.post(upstream.url + "/_emulator/reset", json={"demo": True}).is_success
    out = folder / "webinar.json"
    proxy = RecordProxy(upstream.url, out)
    try:
        proxy.wait()
        client = zoomlive.ZoomClient(
            account_id="demo-account",
            client_id="demo-client-id",
            client_secret=SECRET,
            base_url=proxy.url + "/v2",
            oauth_base_url=proxy.url,
            max_retries=0,
        )
        with client:
            made = client.webinars.create(
                topic="Parity check", type=5, duration=30, settings={"approval_type": 0}
            )
            webinar = client.webinars.get(made.id)
            assert webinar.topic == "Parity check"
            client.webinars.livestream.update(
                made.id,
                stream_url="rtmp://127.0.0.1/live",
                stream_key=STREAM_KEY,
                page_url="https://example.com/live",
            )
            person = client.webinars.registrants.create(
                made.id, email=PERSON_EMAIL, first_name="Ada", last_name="Lovelace"
            )
            client.webinars.registrants.get(made.id, person.registrant_id)
            with pytest.raises(zoomlive.BadRequestError) as early:
                client.webinars.livestream.start(made.id, display_name="Too early")
            assert early.value.message == f"Webinar {made.id} has not started."
            # The host starts the webinar in the Zoom app (here: the upstream's control API),
            # and tells the recorder, which no API call shows.
            assert httpx.post(f"{upstream.url}/_emulator/webinars/{made.id}/start").is_success
            step = httpx.post(
                proxy.url + "/_zoomlive/host", json={"action": "start", "webinar": made.id}
            )
            assert step.status_code == 204
            client.webinars.livestream.start(made.id, display_name="Parity")
            client.webinars.livestream.stop(made.id)
            with pytest.raises(zoomlive.NotFoundError) as missing:
                client.webinars.get(98765432109)
            assert missing.value.code == 3001
            token = client._token.token
            assert token
        headers = {"Authorization": f"Bearer {token}"}
        bad = httpx.patch(
            f"{proxy.url}/v2/webinars/{made.id}/livestream",
            json={"stream_url": 5, "stream_key": STREAM_KEY, "page_url": "https://example.com"},
            headers=headers,
        )
        assert bad.status_code == 400 and bad.json()["code"] == 300
        violations = bad.headers.get("x-zoomlive-violations", "")
    finally:
        log = proxy.stop()
    yield Recording(out, upstream, token, made.id, person.registrant_id, violations, log)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ZoomEmulator]:
    """A fresh emulator the cassettes are replayed against, on loopback in this process (each
    replay makes its own account, so replays do not meet)."""
    emu = ZoomEmulator(rate_limits="off").start()
    yield emu
    emu.stop()


def parity(*args: str) -> tuple[int, str, str]:
    """``zoomlive parity ...`` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli_app, ["parity", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_cassette_keeps_each_exchange_and_no_secret(recording: Recording) -> None:
    text = recording.path.read_text()
    cassette = load(recording.path)
    calls = [(e.method, e.path, e.status) for e in cassette.exchanges]
    wid = recording.webinar_id
    assert calls == [
        ("POST", "/oauth/token", 200),
        ("POST", "/v2/users/me/webinars", 201),
        ("GET", f"/v2/webinars/{wid}", 200),
        ("PATCH", f"/v2/webinars/{wid}/livestream", 204),
        ("POST", f"/v2/webinars/{wid}/registrants", 201),
        ("GET", f"/v2/webinars/{wid}/registrants/{recording.registrant_id}", 200),
        ("PATCH", f"/v2/webinars/{wid}/livestream/status", 400),
        ("PATCH", f"/v2/webinars/{wid}/livestream/status", 204),
        ("PATCH", f"/v2/webinars/{wid}/livestream/status", 204),
        ("GET", "/v2/webinars/98765432109", 404),
        ("PATCH", f"/v2/webinars/{wid}/livestream", 400),
    ]
    assert [e.to_json()["kind"] for e in cassette.entries].count("host") == 1
    for secret in (
        recording.token,
        SECRET,
        "demo-client-id:",
        HOST_EMAIL,
        PERSON_EMAIL,
        "Lovelace",
        STREAM_KEY,
        "demo-account",
    ):
        assert secret not in text, secret
    oauth = cassette.exchanges[0]
    assert oauth.auth == "basic" and oauth.response.value["access_token"] == REDACTED
    assert oauth.request.value["account_id"] == REDACTED
    created = cassette.exchanges[1].response.value
    assert created["host_email"].endswith("@example.com") and created["host_email"] != HOST_EMAIL
    assert "pwd=" not in created["join_url"] or "pwd=REDACTED" in created["join_url"]
    assert created["password"] in (REDACTED, "")
    assert cassette.exchanges[3].request.value["stream_key"] == REDACTED


def test_violations_are_flagged_in_a_header_and_kept(recording: Recording) -> None:
    assert "request: stream_url: Invalid field." in recording.violations
    assert "violates Zoom's document: request: stream_url" in recording.log, recording.log
    last = load(recording.path).exchanges[-1]
    assert "request: stream_url: Invalid field." in last.violations
    # What the document accepts both ways is not flagged.
    assert load(recording.path).exchanges[7].violations == []


def test_parity_with_a_fresh_emulator(recording: Recording, emulator: ZoomEmulator) -> None:
    result = zoomlive_cli("parity", str(recording.path), "--url", emulator.url, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["exchanges"] == 11 and report["host_steps"] == 1
    # The webinar the emulator created stood for the recorded one (paths, the host step, the
    # "has not started" message).
    mapped = report["ids"][str(recording.webinar_id)]
    assert mapped != str(recording.webinar_id)
    assert report["differences"] == []
    code, out, _ = parity(str(recording.path), "--url", emulator.url)
    assert code == 0 and "11 exchanges and 1 host steps replayed: 0 differences" in out, out


def test_a_divergence_is_reported(
    recording: Recording, emulator: ZoomEmulator, tmp_path: Path
) -> None:
    data: dict[str, Any] = json.loads(recording.path.read_text())
    exchanges = [e for e in data["entries"] if e["kind"] == "exchange"]
    exchanges[2]["response"]["json"]["zoom_only_field"] = "x"  # the GET of the webinar
    del exchanges[2]["response"]["json"]["topic"]
    exchanges[9]["response"]["json"]["message"] = "Webinar does not exist: 98765432109"
    exchanges[7]["response"]["status"] = 202
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    code, out, err = parity(str(edited), "--url", emulator.url, "--json")
    assert code == 1, out + err
    found = {(d["what"], d["where"]) for d in json.loads(out)["differences"]}
    assert found == {
        ("missing", "zoom_only_field"),
        ("extra", "topic"),
        ("message", "message"),
        ("status", ""),
    }
    code, out, _ = parity(str(edited), "--url", emulator.url)
    assert code == 1 and "4 differences" in out
    assert "Webinar does not exist" in out


def test_an_emulator_that_answers_otherwise_is_reported(
    recording: Recording, emulator: ZoomEmulator
) -> None:
    """The other way round: the cassette as recorded, the emulator told (a fault rule) to
    answer the webinar's GET with a 503."""
    emulator.control.set_fault("error", operation="webinar", status=503, count=1)
    try:
        code, out, err = parity(str(recording.path), "--url", emulator.url, "--json")
    finally:
        emulator.control.clear_faults()
    assert code == 1, out + err
    differences = json.loads(out)["differences"]
    assert [(d["entry"], d["what"], d["recorded"], d["emulator"]) for d in differences] == [
        (2, "status", "200", "503")
    ]


def test_values_are_compared_when_asked_with_volatile_ones_masked(
    recording: Recording, emulator: ZoomEmulator, tmp_path: Path
) -> None:
    data: dict[str, Any] = json.loads(recording.path.read_text())
    get = [e for e in data["entries"] if e["kind"] == "exchange"][2]["response"]["json"]
    get["duration"] = 45
    edited = tmp_path / "values.json"
    edited.write_text(json.dumps(data))
    code, out, _ = parity(str(edited), "--url", emulator.url, "--json")
    assert code == 0, out
    code, out, err = parity(str(edited), "--url", emulator.url, "--json", "--values")
    assert code == 1, out + err
    differences = json.loads(out)["differences"]
    assert [(d["where"], d["recorded"], d["emulator"]) for d in differences] == [
        ("duration", "45", "30")
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not JSON"),
        ('{"format": "zoomlive-cassette", "version": 9, "entries": []}', "version 9"),
        ('{"format": "zoomlive-cassette", "version": 1, "entries": [{"kind": "x"}]}', "kind"),
        ("[]", "not a zoomlive cassette"),
    ],
)
def test_a_malformed_cassette_is_one_line_and_exit_2(
    tmp_path: Path, content: str, says: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, _, err = parity(str(bad), "--url", "http://127.0.0.1:9")
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith("zoomlive: ") and says in line, line


def test_a_missing_emulator_and_a_bad_out_folder_are_one_line(tmp_path: Path) -> None:
    code, _, err = parity(
        str(CASSETTES / "example-emulator-webinar-livestream.json"),
        "--url",
        f"http://127.0.0.1:{free_port()}",
    )
    assert code == 3 and err.startswith("zoomlive: cannot reach the emulator"), err
    assert len(err.strip().splitlines()) == 1
    result = CliRunner().invoke(cli_app, ["record", "--out", str(tmp_path / "no" / "c.json")])
    assert result.exit_code == 2 and "not a file in an existing folder" in result.stderr


def test_record_needs_the_emulator_extra_and_parity_only_the_base(tmp_path: Path) -> None:
    """Without the emulator's modules, ``record`` names the extra in one line; ``parity`` runs
    (here it reads a cassette and refuses it)."""
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    code = (
        "import sys\n"
        "for name in ['starlette', 'uvicorn', 'jsonschema_rs', 'sqlalchemy']: "
        "sys.modules[name] = None\n"
        "sys.argv = ['zoomlive', *sys.argv[1:]]\n"
        "from zoomlive.cli import main\n"
        "main()\n"
    )
    for argv, says in (
        (["record", "--out", str(tmp_path / "c.json")], "pip install 'zoomlive[emulator]'"),
        (["parity", str(bad)], "is not a zoomlive cassette"),
    ):
        result = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert says in line, line


def test_the_document_check_both_ways() -> None:
    """What the recorder flags: an undocumented status, an answer off its schema, a path Zoom
    does not document, a query value of the wrong type; nothing for a good exchange."""
    ok = json.dumps({"code": 3001, "message": "Webinar does not exist: 1."}).encode()
    assert document.check("GET", "/v2/webinars/1", "", None, b"", 404, ok) == []
    assert document.check("GET", "/v2/webinars/1", "", None, b"", 503, ok) == [
        "response: status 503 is not documented (200, 400, 404, 429)"
    ]
    assert document.check("GET", "/v2/webinars/1", "", None, b"", 200, b'{"id": "x"}') == [
        "response: id: Invalid field."
    ]
    assert document.check("GET", "/v2/nowhere", "", None, b"", 404, ok) == [
        "request: GET /v2/nowhere is not in Zoom's documents"
    ]
    error = json.dumps({"code": 300, "message": "Validation Failed."}).encode()
    listed = document.check("GET", "/v2/users/me/webinars", "page_size=many", None, b"", 400, error)
    assert listed == ["request: query page_size: Invalid field."]
    assert document.check("GET", "/v2/webinars/1", "", None, b"", 404, b"oops") == [
        "response: an error without Zoom's JSON body"
    ]


def test_host_steps_that_make_no_sense_are_refused(tmp_path: Path) -> None:
    recorder = Recorder("http://127.0.0.1:9", tmp_path / "c.json")

    async def post(body: bytes) -> httpx.Response:
        transport = httpx.ASGITransport(app=recorder)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as http:
            return await http.post("/_zoomlive/host", content=body)

    assert asyncio.run(post(b'{"action": "pause", "webinar": 1}')).status_code == 400
    assert asyncio.run(post(b"[]")).status_code == 400
    assert load(tmp_path / "c.json").entries == []
    assert asyncio.run(post(b'{"action": "end", "meeting": 5}')).status_code == 204
    assert [e.to_json() for e in load(tmp_path / "c.json").entries] == [
        {"kind": "host", "action": "end", "session": "meeting", "id": 5}
    ]


def test_redaction_of_values() -> None:
    redactor = Redactor()
    got = redactor.value(
        {
            "join_url": "https://zoom.us/j/123?pwd=abc&x=1",
            "start_url": "https://zoom.us/s/123?zak=eyJ.secret",
            "h323_password": "123456",
            "email": "a@b.example",
            "note": "write to a@b.example or c@d.example",
            "settings": {"contact_email": "c@d.example", "audio": "both"},
            "phone": 5551234,
        }
    )
    assert got == {
        "join_url": "https://zoom.us/j/123?pwd=REDACTED&x=1",
        "start_url": "https://zoom.us/s/123?zak=REDACTED",
        "h323_password": REDACTED,
        "email": "person1@example.com",
        "note": "write to person1@example.com or person2@example.com",
        "settings": {"contact_email": "person2@example.com", "audio": "both"},
        "phone": 0,
    }
    assert redactor.text("Authorization: Bearer eyJhbGciOi.x.y") == "Authorization: Bearer REDACTED"


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.json")), ids=lambda p: p.name)
def test_every_contributed_cassette_has_parity(path: Path, emulator: ZoomEmulator) -> None:
    code, out, err = parity(str(path), "--url", emulator.url, "--json")
    assert code == 0, out + err
    assert json.loads(out)["exchanges"] > 0
