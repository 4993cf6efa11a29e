"""Live out of the box, and watched in the dashboard (docs/watch.md): ``zoomlive serve`` with
its demo receiver on 127.0.0.1:1935, the README's reference call, and the stream played in
headless Chromium with mpegts.js, its picture read back with tesseract.

One stream for the module. The demo target's port is fixed (1935): the last test stops the
module's server and checks that the port is free again."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, sync_playwright
from starlette.testclient import TestClient

from tests.conftest import DEMO_BASIC, DEMO_WEBINAR, Server
from tests.support.engines import EngineMissing, tool
from tests.support.helpers import ffmpeg_publish_argv, free_port, popen
from tests.support.ocr import read_band, reads
from zoomlive.emulator import Settings, create_app
from zoomlive.receiver import run_receive

ROOT = Path(__file__).resolve().parents[2]
PLAYER = ROOT / "web" / "node_modules" / "mpegts.js" / "dist" / "mpegts.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
DEMO_PORT = 1935
DISPLAY_NAME = "reprehender"
STATUS = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"
RUNTIME = f"/_emulator/webinars/{DEMO_WEBINAR}/livestream"
ONE_LINE = "demo receiver off: 127.0.0.1:1935 is taken"

pytestmark = pytest.mark.tools("ffmpeg", "tesseract")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def listening_sockets(pid: int, port: int) -> list[str]:
    """The sockets process ``pid`` listens with on ``port`` (its fds against /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":
            inodes.add(parts[9])
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            found.append(target)
    return found


def wait_for(http: httpx.Client, check: Any, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        now: dict[str, Any] = http.get(RUNTIME).json()
        if check(now):
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last runtime state: {now}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``zoomlive serve`` with its demo receiver, after the README's reference call."""
    tool("ffmpeg")
    if not port_free(DEMO_PORT):
        raise AssertionError(f"127.0.0.1:{DEMO_PORT} is taken: the demo receiver needs it")
    db = tmp_path_factory.mktemp("watch") / "watch.db"
    # zoomlive serve's default (tests/conftest.py turns it off for the other tests' servers).
    on = {"ZOOMLIVE_DEMO_RECEIVER": ""}
    srv = Server(db, "--media", "ffmpeg", "--media-profile", "medium", env=on).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            token = http.post(
                "/oauth/token",
                params={"grant_type": "account_credentials", "account_id": "demo-account"},
                headers={"Authorization": DEMO_BASIC},
            ).json()["access_token"]
            # The README's curl: multipart/form-data, settings as a JSON string.
            settings = json.dumps({"active_speaker_name": False, "display_name": DISPLAY_NAME})
            answer = http.patch(
                STATUS,
                files={"action": (None, "start"), "settings": (None, settings)},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert answer.status_code == 204, answer.text
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        raise EngineMissing("Chromium at /usr/bin/chromium (Debian: chromium)")
    if not PLAYER.is_file():
        raise EngineMissing("mpegts.js in web/node_modules (scripts/player)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def test_the_reference_call_goes_live_with_no_other_receiver(demo: Server) -> None:
    with httpx.Client(base_url=demo.url, timeout=10) as http:
        live = wait_for(http, lambda s: s["state"] == "live", 20)
        assert live["last_error"] is None
        assert (live["stream_url"], live["stream_key"]) == (
            "rtmp://127.0.0.1:1935/live",
            "demo-stream-key",
        )
        # The receiver has it too (once it has probed the stream, a moment later).
        deadline = time.monotonic() + 10
        while not (receivers := http.get("/_emulator/watch").json()["receivers"])[0]["live"]:
            assert time.monotonic() < deadline, receivers
            time.sleep(0.1)
    (receiver,) = receivers
    assert receiver["publisher_key"] == "demo-stream-key"
    assert receiver["video"] == "h264 640x360"


def test_the_relay_starts_a_viewer_at_a_keyframe_with_the_senders_clock(demo: Server) -> None:
    """What the player gets: FLV that decodes from its first frame, timestamps from 0, and the
    wall clock at which that first frame reached the receiver."""
    received = b""
    with (
        httpx.Client(base_url=demo.url, timeout=10) as http,
        http.stream("GET", "/_emulator/watch/live/demo-stream-key.flv") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "video/x-flv"
        for chunk in response.iter_bytes():
            received += chunk
            if len(received) > 60_000:
                break
    asked_at = time.time()
    with av.open(io.BytesIO(received), format="flv") as flv:
        base = float(flv.metadata["zoomlive_base_wall"])
        video = flv.streams.video[0]
        frames = []
        try:
            for frame in flv.decode(video):
                frames.append(frame)
        except av.FFmpegError:
            pass  # the last tag was cut short by the reader
    assert frames and frames[0].key_frame and frames[0].time == 0
    # The joiner starts at the current GOP (2 s at most); FFmpeg shows the number rounded.
    assert -1 < asked_at - base < 4, (asked_at, base)


def test_the_dashboard_plays_the_stream_and_the_frame_shows_the_display_name(
    demo: Server, page: Page, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(demo.url + "/")
    page.click(f"#row-webinar-{DEMO_WEBINAR}")
    video = page.locator("#watch-video")
    page.wait_for_function(
        "() => document.getElementById('watch-video').currentTime > 0.5", timeout=15_000
    )
    first = video.evaluate("v => v.currentTime")
    time.sleep(2.0)
    later = video.evaluate("v => v.currentTime")
    assert later > first + 0.5, (first, later)  # it plays, not a still
    assert video.evaluate("v => !v.paused && v.videoWidth") == 640

    png = video.evaluate(
        """v => { const c = document.createElement('canvas');
            c.width = v.videoWidth; c.height = v.videoHeight;
            c.getContext('2d').drawImage(v, 0, 0); return c.toDataURL('image/png'); }"""
    )
    data = base64.b64decode(png.split(",", 1)[1])
    (tmp_path / "watched.png").write_bytes(data)
    with av.open(io.BytesIO(data), format="png_pipe") as image:
        rgb = np.asarray(next(image.decode(video=0)).to_ndarray(format="rgb24"))
    text = read_band(rgb, 0.0, 0.25, tmp_path)
    assert reads(DISPLAY_NAME, text), text

    # Beside it: how far behind the sender, bitrate, fps and the active speaker.
    page.wait_for_function(
        "() => document.getElementById('watch-latency').dataset.seconds !== undefined"
    )
    behind = float(page.locator("#watch-latency").get_attribute("data-seconds") or "nan")
    # Measured from the wall time the first keyframe reached the receiver: a keyframe that came
    # a little late against the frames after it (the encoder's start) reads a few ms ahead.
    assert -0.25 < behind < 3.0, behind
    page.wait_for_function("() => document.getElementById('watch-fps').textContent !== ''")
    assert "kbit/s" in page.locator("#watch-bitrate").inner_text()
    assert page.locator("#watch-fps").inner_text().endswith("fps")
    assert page.locator("#watch-speaker").inner_text() == "Demo Host"
    assert not errors, errors
    print(f"watched {behind:.2f} s behind the sender")


def test_stopping_serve_frees_the_demo_port(demo: Server) -> None:
    """Last of the module's stream: the stream stops, the receiver listens again, and stopping
    ``zoomlive serve`` ends its thread and frees the port."""
    assert demo.proc is not None
    with httpx.Client(base_url=demo.url, timeout=10) as http:
        token = http.post(
            "/oauth/token",
            params={"grant_type": "account_credentials", "account_id": "demo-account"},
            headers={"Authorization": DEMO_BASIC},
        ).json()["access_token"]
        stop = http.patch(
            STATUS, json={"action": "stop"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert stop.status_code == 204
        wait_for(http, lambda s: s["state"] == "stopped", 10)
    deadline = time.monotonic() + 10
    while not listening_sockets(demo.proc.pid, DEMO_PORT):  # FFmpeg listens anew
        assert time.monotonic() < deadline, "the demo receiver did not listen again"
        time.sleep(0.05)
    demo.stop()
    assert port_free(DEMO_PORT)
    assert "Traceback" not in demo.output and "ERROR" not in demo.output, demo.output


def test_port_taken_is_one_line_and_the_emulator_carries_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Also: without the player, the dashboard is told in one line how to get it."""
    settings = Settings(
        db=":memory:",
        media="ffmpeg",
        demo_receiver=True,
        rate_limits="off",
        watch_player=str(tmp_path / "absent.js"),
    )
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", DEMO_PORT))
        holder.listen(1)
        with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as http:
            assert http.get("/_emulator/health").status_code == 200
            watch = http.get("/_emulator/watch").json()
            assert watch["receivers"] == []
            assert watch["player"] is None
            assert watch["player_hint"] == (
                "The video player is not installed: run scripts/player (npm ci --prefix web)."
            )
            assert http.get("/_dashboard/player.js").status_code == 404
    lines = [r.getMessage() for r in caplog.records if "demo receiver" in r.getMessage()]
    assert len(lines) == 1 and ONE_LINE in lines[0], lines


def test_no_demo_receiver_listens_on_nothing() -> None:
    """Also: the watch routes are the control API's, behind its admin key."""
    settings = Settings(
        db=":memory:", media="ffmpeg", demo_receiver=False, rate_limits="off", admin_key="k"
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as http:
        assert port_free(DEMO_PORT)
        assert listening_sockets(os.getpid(), DEMO_PORT) == []
        refused = http.get("/_emulator/watch")
        assert refused.status_code == 401 and refused.json()["code"] == 401
        assert http.get("/_emulator/watch/live/demo-stream-key.flv").status_code == 401
        watch = http.get("/_emulator/watch", headers={"X-Admin-Key": "k"}).json()
        assert watch["receivers"] == []
        missing = http.get("/_emulator/watch/live/demo-stream-key.flv?admin_key=k")
        assert missing.status_code == 404
        assert missing.json() == {
            "code": 404,
            "message": "Receiver live/demo-stream-key does not exist.",
        }


def test_zoomlive_receive_serves_what_arrives_to_watch() -> None:
    """``zoomlive receive --watch-port``: the same relay, on its own HTTP port."""
    rtmp, http_port = free_port(), free_port()
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=run_receive,
        kwargs={
            "port": rtmp,
            "key": "key",
            "echo": lines.append,
            "until": stop,
            "watch_port": http_port,
        },
    )
    thread.start()
    url = f"http://127.0.0.1:{http_port}/live/key.flv"
    pusher = None
    try:
        deadline = time.monotonic() + 10
        while f"watch it at {url} (e.g. ffplay {url})" not in lines:
            assert time.monotonic() < deadline and thread.is_alive(), lines
            time.sleep(0.02)
        assert httpx.get(url).status_code == 404  # nothing arrives yet
        pusher = popen(ffmpeg_publish_argv(f"rtmp://127.0.0.1:{rtmp}/live/key", seconds=6))
        received = b""
        while not received:
            assert time.monotonic() < deadline + 10, lines
            with httpx.stream("GET", url, timeout=10) as response:
                if response.status_code == 404:  # not live yet
                    time.sleep(0.1)
                    continue
                assert response.headers["content-type"] == "video/x-flv"
                for chunk in response.iter_bytes():
                    received += chunk
                    if len(received) > 30_000:
                        break
    finally:
        if pusher is not None:
            pusher.kill()
            pusher.wait()
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    with av.open(io.BytesIO(received), format="flv") as flv:
        frame = next(flv.decode(video=0))
    assert frame.key_frame and (frame.width, frame.height) == (320, 180)
