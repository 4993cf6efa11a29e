"""Real media: ``zoomlive serve --media ffmpeg`` pushes RTMP that real listeners on 127.0.0.1
receive; supervision (failures, reconnects, no orphans) observed from outside."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_WEBINAR, Server, get_token
from tests.support.engines import tool
from tests.support.helpers import free_port, popen
from tests.support.ocr import read_band, reads
from tests.support.rtmp_nginx import NginxRtmp
from zoomlive.receiver import RtmpReceiver

STATUS = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"


class MediaServer:
    """A ``zoomlive serve --media ffmpeg`` process and a client for it."""

    def __init__(
        self, tmp: Path, env: dict[str, str] | None = None, profile: str = "small"
    ) -> None:
        self.server = Server(
            tmp / "media.db", "--media", "ffmpeg", "--media-profile", profile, env=env
        ).start()
        self.http = httpx.Client(base_url=self.server.url, timeout=30)
        self.auth = {"Authorization": f"Bearer {get_token(self.http)}"}

    def configure(self, stream_url: str, key: str = "key", webinar: int = DEMO_WEBINAR) -> None:
        body = {"stream_url": stream_url, "stream_key": key, "page_url": "https://example.com/w"}
        response = self.http.patch(
            f"/v2/webinars/{webinar}/livestream", json=body, headers=self.auth
        )
        assert response.status_code == 204, response.text

    def status(self, body: dict[str, Any]) -> None:
        response = self.http.patch(STATUS, json=body, headers=self.auth)
        assert response.status_code == 204, response.text

    def runtime(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(
            f"/_emulator/webinars/{DEMO_WEBINAR}/livestream"
        ).json()
        return data

    def wait_for(self, check: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            now = self.runtime()
            if check(now):
                return now
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last runtime state: {now}")
            time.sleep(0.1)

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture
def media(tmp_path: Path) -> Iterator[MediaServer]:
    tool("ffmpeg")
    srv = MediaServer(tmp_path)
    yield srv
    srv.close()


def ffmpeg_listener(port: int, out: Path, seconds: int = 30) -> subprocess.Popen[bytes]:
    """The simplest real RTMP receiver: ffmpeg in listen mode, copying to an FLV file."""
    proc = popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-listen",
            "1",
            "-timeout",
            str(seconds),
            "-i",
            f"rtmp://127.0.0.1:{port}/live/key",
            "-c",
            "copy",
            "-y",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if f":{port:04X} 00000000:0000 0A" in Path("/proc/net/tcp").read_text():
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("listener did not start")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        Path(f"/proc/{pid}").exists()
        and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    )


def test_connection_refused_fails_with_the_reason_then_retries(media: MediaServer) -> None:
    port = free_port()  # nobody listens here
    media.configure(f"rtmp://127.0.0.1:{port}/live")
    media.status({"action": "start"})
    failed = media.wait_for(lambda s: s["state"] == "failed", 10)
    assert failed["last_error"] == "connection refused"
    retried = media.wait_for(lambda s: (s["media"] or {}).get("attempts", 0) >= 2, 10)
    assert retried["state"] in ("starting", "failed")
    media.status({"action": "stop"})
    stopped = media.wait_for(lambda s: s["state"] == "stopped" and s["media"] is None, 10)
    moves = [(e["from"], e["to"]) for e in stopped["events"]]
    assert ("starting", "failed") in moves and ("failed", "starting") in moves


def test_emulator_killed_while_streaming_leaves_no_ffmpeg(tmp_path: Path) -> None:
    port = free_port()
    listener = ffmpeg_listener(port, tmp_path / "in.flv")
    srv = MediaServer(tmp_path)
    try:
        srv.configure(f"rtmp://127.0.0.1:{port}/live")
        srv.status({"action": "start"})
        live = srv.wait_for(lambda s: s["state"] == "live", 10)
        pid = live["media"]["pid"]
        assert pid and pid_alive(pid)
        srv.server.stop("kill")  # SIGKILL: no shutdown code runs
        deadline = time.monotonic() + 3
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(pid), "ffmpeg outlived the emulator"
    finally:
        srv.http.close()
        srv.server.stop()
        listener.kill()
        listener.wait()


def test_ffmpeg_missing_is_a_failure_reason(tmp_path: Path) -> None:
    srv = MediaServer(tmp_path, env={"ZOOMLIVE_FFMPEG": str(tmp_path / "no-ffmpeg-here")})
    try:
        srv.configure(f"rtmp://127.0.0.1:{free_port()}/live")
        srv.status({"action": "start"})
        failed = srv.wait_for(lambda s: s["state"] == "failed", 10)
        assert failed["last_error"] == "ffmpeg missing"
    finally:
        srv.close()
    # Said once at start, before any stream: what is missing and that streams will fail.
    [warning] = [line for line in srv.server.output.splitlines() if "will fail until" in line]
    assert "ZOOMLIVE_FFMPEG=" in warning and "is not an executable" in warning


def test_clean_shutdown_stops_every_ffmpeg(tmp_path: Path) -> None:
    port = free_port()
    listener = ffmpeg_listener(port, tmp_path / "in.flv")
    srv = MediaServer(tmp_path)
    try:
        srv.configure(f"rtmp://127.0.0.1:{port}/live")
        srv.status({"action": "start"})
        pid = srv.wait_for(lambda s: s["state"] == "live", 10)["media"]["pid"]
        srv.http.close()
        srv.server.stop()  # SIGTERM: the lifespan stops the media
        assert not pid_alive(pid)
        assert listener.wait(timeout=10) == 0  # the publisher left cleanly
    finally:
        srv.server.stop()
        if listener.poll() is None:
            listener.send_signal(signal.SIGKILL)
            listener.wait()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[NginxRtmp]:
    with NginxRtmp(tmp_path / "nginx", "good-key") as server:
        yield server


def test_wrong_stream_key_is_rejected_and_the_stream_fails(
    media: MediaServer, nginx: NginxRtmp
) -> None:
    media.configure(nginx.url, key="bad-key")
    media.status({"action": "start"})
    failed = media.wait_for(lambda s: s["state"] == "failed", 10)
    assert failed["last_error"] == "stream key rejected by the receiver"
    attempt = nginx.wait_for_attempt(5, key="bad-key")
    assert not attempt.accepted
    assert not nginx.published("bad-key")


def test_receiver_killed_mid_stream_then_back_reconnects(
    media: MediaServer, nginx: NginxRtmp
) -> None:
    media.configure(nginx.url, key="good-key")
    media.status({"action": "start", "settings": {"display_name": "Resilient"}})
    media.wait_for(lambda s: s["state"] == "live", 10)
    assert nginx.wait_for_attempt(5, key="good-key").accepted
    nginx.kill()
    lost = media.wait_for(lambda s: s["state"] in ("failed", "starting") and s["last_error"], 10)
    assert lost["last_error"] in ("connection lost", "connection refused")
    # a reconnect that fails while the receiver is down
    media.wait_for(
        lambda s: s["state"] == "failed" and (s["media"] or {}).get("attempts", 0) >= 2, 15
    )
    nginx.revive()
    back = media.wait_for(lambda s: s["state"] == "live", 15)
    assert back["media"]["attempts"] >= 2
    assert sum(1 for a in nginx.attempts if a.accepted and a.key == "good-key") >= 2
    moves = [(e["from"], e["to"]) for e in back["events"]]
    assert moves[-1] == ("starting", "live") and ("live", "failed") in moves


def frame_text(receiver: RtmpReceiver, tmp: Path) -> tuple[str, str, str]:
    """OCR of a fresh frame: (title band, view band, speaker band)."""
    frame = receiver.request_frame(5)
    rgb = frame.to_ndarray()
    return (
        read_band(rgb, 0.0, 0.2, tmp),
        read_band(rgb, 0.6, 0.76, tmp, lines=2),
        read_band(rgb, 0.76, 0.97, tmp),
    )


def wait_for_text(
    receiver: RtmpReceiver, tmp: Path, band: int, expected: str, timeout: float = 20.0
) -> str:
    """The OCR of ``band`` (an index into :func:`frame_text`) once a fresh frame reads
    ``expected``: an overlay changes on the next frames drawn, at no set moment. ``timeout``
    only bounds the wait."""
    deadline = time.monotonic() + timeout
    while True:
        text = frame_text(receiver, tmp)[band]
        if reads(expected, text):
            return text
        assert time.monotonic() < deadline, f"never read {expected!r}; last read {text!r}"
        time.sleep(0.2)


@pytest.fixture
def receiver() -> Iterator[RtmpReceiver]:
    with RtmpReceiver(port=free_port(), key="key") as listening:
        yield listening


def test_a_started_webinar_stream_arrives_with_its_overlays(
    tmp_path: Path, receiver: RtmpReceiver
) -> None:
    srv = MediaServer(tmp_path, profile="medium")
    try:
        srv.configure(f"rtmp://127.0.0.1:{receiver.port}/live", key="key")
        settings = {"display_name": "Quarterly Review", "active_speaker_name": True}
        assert receiver.sessions == []  # nothing arrives before the start
        srv.status({"action": "start", "settings": settings})
        session = receiver.wait_first_frame(30)
        assert receiver.sessions == [session]  # the start's stream, in one session
        assert (session.video_codec, session.audio_codec) == ("h264", "aac")
        assert session.title == "Quarterly Review"
        assert (session.width, session.height) == (640, 360)
        assert srv.wait_for(lambda s: s["state"] == "live", 5)["media"]["frames"] > 0
        title, _, speaker = frame_text(receiver, tmp_path)
        assert reads("Quarterly Review", title)
        assert reads("Speaking: Demo Host", speaker)  # the host speaks first
        switched = srv.http.post(
            f"/_emulator/webinars/{DEMO_WEBINAR}/speaker", json={"name": "Jane Doe"}
        )
        assert switched.status_code == 200
        wait_for_text(receiver, tmp_path, 2, "Speaking: Jane Doe")
        assert session.key == "key"
        srv.status({"action": "stop"})
        left = receiver.wait_left(30)
        # The stop ended the push: the publisher closed the connection (the receiver did not
        # give up on a silent one), and no other push began.
        assert left is session and left.end_reason == "publisher closed"
        assert receiver.sessions == [session]
        assert srv.runtime()["state"] == "stopped"
    finally:
        srv.close()


def test_display_names_render_exactly(tmp_path: Path, receiver: RtmpReceiver) -> None:
    name = 'Q3: O\'Brien \\ "100%" ; [x]'
    srv = MediaServer(tmp_path)
    try:
        srv.configure(f"rtmp://127.0.0.1:{receiver.port}/live", key="key")
        srv.status({"action": "start", "settings": {"display_name": name}})
        assert receiver.wait_first_frame(10).title == name
    finally:
        srv.close()


def test_a_meeting_stream_shows_its_view_and_mode_changes_it(
    tmp_path: Path, receiver: RtmpReceiver
) -> None:
    srv = MediaServer(tmp_path, profile="medium")
    try:
        made = srv.http.post(
            "/_emulator/accounts/demo-account/meetings",
            json={"host": "host@example.com", "topic": "Standup", "status": "started"},
        )
        mid = made.json()["id"]
        body = {
            "stream_url": f"rtmp://127.0.0.1:{receiver.port}/live",
            "stream_key": "key",
            "page_url": "https://example.com/m",
        }
        path = f"/v2/meetings/{mid}/livestream"
        assert srv.http.patch(path, json=body, headers=srv.auth).status_code == 204
        start = {"action": "start", "settings": {"display_name": "Standup"}}
        assert srv.http.patch(path + "/status", json=start, headers=srv.auth).status_code == 204
        receiver.wait_first_frame(10)
        view = frame_text(receiver, tmp_path)[1]
        assert reads("Layout: follow host | Captions: burnt-in", view)
        assert reads("[CC] This is a live caption.", view)
        mode = {"action": "mode", "settings": {"layout": "gallery_view", "close_caption": "off"}}
        assert srv.http.patch(path + "/status", json=mode, headers=srv.auth).status_code == 204
        view = wait_for_text(receiver, tmp_path, 1, "Layout: gallery view | Captions: off")
        assert not reads("[CC] This is a live caption.", view)
        assert len(receiver.sessions) == 1  # changed live, not by restarting the stream
    finally:
        srv.close()


def test_only_rtmp_targets_are_pushed(media: MediaServer, tmp_path: Path) -> None:
    target = tmp_path / "not-a-stream"
    media.configure(f"file:{target}")
    media.status({"action": "start"})
    failed = media.wait_for(lambda s: s["state"] == "failed", 10)
    assert failed["last_error"] == "invalid stream URL (rtmp:// or rtmps:// only)"
    assert not list(tmp_path.glob("not-a-stream*"))


def test_a_silent_receiver_cannot_hang_the_stream(media: MediaServer) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        media.configure(f"rtmp://127.0.0.1:{silent.getsockname()[1]}/live")
        media.status({"action": "start"})
        failed = media.wait_for(lambda s: s["state"] == "failed", 15)
        assert failed["last_error"] == "receiver silent (I/O timeout)"


def test_without_ffmpeg_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pusher is the system ffmpeg (no wheel bundles one): missing, it says how to get it."""
    from zoomlive.emulator.media.command import MediaUnavailable, find_ffmpeg

    monkeypatch.delenv("ZOOMLIVE_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MediaUnavailable) as caught:
        find_ffmpeg()
    message = str(caught.value)
    assert message.startswith("ffmpeg missing: ") and "apt-get install ffmpeg" in message
    assert "ZOOMLIVE_FFMPEG" in message and "zoomlive[" not in message


def test_a_start_during_the_retry_back_off_takes_effect(media: MediaServer, tmp_path: Path) -> None:
    port = free_port()
    media.configure(f"rtmp://127.0.0.1:{port}/live")
    media.status({"action": "start"})
    media.wait_for(lambda s: s["state"] == "failed", 10)
    listener = ffmpeg_listener(port, tmp_path / "late.flv")
    try:
        media.status({"action": "start"})  # the receiver is there now: try again at once
        media.wait_for(lambda s: s["state"] == "live", 5)
    finally:
        listener.kill()
        listener.wait()


def test_reset_stops_the_streams_it_forgets(media: MediaServer, tmp_path: Path) -> None:
    port = free_port()
    listener = ffmpeg_listener(port, tmp_path / "reset.flv")
    try:
        media.configure(f"rtmp://127.0.0.1:{port}/live")
        media.status({"action": "start"})
        pid = media.wait_for(lambda s: s["state"] == "live", 10)["media"]["pid"]
        assert media.http.post("/_emulator/reset", json={"demo": True}).status_code == 200
        deadline = time.monotonic() + 8
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(pid)
        assert listener.wait(timeout=10) == 0
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("ffmpeg_crash", "ffmpeg crashed (signal 9)"), ("receiver_disconnect", "connection lost")],
)
def test_media_faults_on_demand_fail_then_reconnect(
    media: MediaServer, nginx: NginxRtmp, fault: str, reason: str
) -> None:
    media.configure(nginx.url, key="good-key")
    media.status({"action": "start"})
    media.wait_for(lambda s: s["state"] == "live", 10)
    injected = media.http.post(
        f"/_emulator/webinars/{DEMO_WEBINAR}/livestream/fault", json={"kind": fault}
    )
    assert injected.status_code == 200, injected.text
    back = media.wait_for(
        lambda s: s["state"] == "live" and (s["media"] or {}).get("attempts", 0) >= 2, 15
    )
    moves = [(e["from"], e["to"], e["detail"]) for e in back["events"]]
    assert ("live", "failed", reason) in moves
    assert sum(1 for a in nginx.attempts if a.accepted) >= 2


def test_a_live_stream_has_a_thumbnail_every_second(tmp_path: Path, receiver: RtmpReceiver) -> None:
    srv = MediaServer(tmp_path)
    try:
        thumb = f"/_emulator/webinars/{DEMO_WEBINAR}/thumbnail.jpg"
        assert srv.http.get(thumb).status_code == 404  # nothing pushed yet
        srv.configure(f"rtmp://127.0.0.1:{receiver.port}/live", key="key")
        srv.status({"action": "start", "settings": {"display_name": "Thumbs"}})
        receiver.wait_first_frame(10)
        deadline = time.monotonic() + 5
        while (response := srv.http.get(thumb)).status_code != 200:
            assert time.monotonic() < deadline, response.text
            time.sleep(0.2)
        assert response.headers["content-type"] == "image/jpeg"
        path = tmp_path / "thumb.jpg"
        path.write_bytes(response.content)
        import av

        with av.open(str(path)) as container:
            picture = next(container.decode(video=0))
        assert (picture.width, picture.height) == (320, 180)
    finally:
        srv.close()
