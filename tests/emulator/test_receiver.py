"""The local RTMP receiver (``zoomlive.receiver``), fed by the system ``ffmpeg`` CLI."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

av = pytest.importorskip("av")

from tests.support.helpers import ffmpeg_publish_argv, free_port, popen  # noqa: E402
from zoomlive.receiver import (  # noqa: E402
    DecodedFrame,
    PublishSession,
    ReceiverError,
    RtmpReceiver,
    run_receive,
)

FFMPEG = shutil.which("ffmpeg")

pytestmark = pytest.mark.tools("ffmpeg")  # the publisher


@contextlib.contextmanager
def publisher(
    url: str,
    tmp_path: Path,
    *,
    seconds: float = 2.0,
    title: str = "Demo Title",
    text: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """An ffmpeg pushing to ``url``; killed (and reaped) on exit if still running."""
    assert FFMPEG is not None
    argv = ffmpeg_publish_argv(url, seconds=seconds, ffmpeg=FFMPEG, title=title, text=text)
    log = tmp_path / f"ffmpeg-{time.monotonic_ns()}.log"
    with log.open("wb") as err:
        proc = popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.wait(10)


def receiver_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rtmp-receiver-")]


def flv_summary(path: Path) -> tuple[dict[str, str], dict[str, str], int, int]:
    """Metadata, codec per stream type, video frames decoded and audio packets of an FLV."""
    with av.open(str(path)) as container:
        codecs = {s.type: s.codec_context.name for s in container.streams}
        frames = audio = 0
        for packet in container.demux():
            if packet.dts is None:
                continue
            if packet.stream.type == "video":
                frames += len(packet.decode())
            elif packet.stream.type == "audio":
                audio += 1
        return dict(container.metadata), codecs, frames, audio


@pytest.fixture
def port() -> int:
    return free_port()


def test_receives_h264_aac_with_title_and_records_a_playable_flv(port: int, tmp_path: Path) -> None:
    record = tmp_path / "rec"
    with (
        RtmpReceiver(port, key="key", record_dir=record) as receiver,
        publisher(f"rtmp://127.0.0.1:{port}/live/key", tmp_path, seconds=3) as proc,
    ):
        session = receiver.wait_connected(15)
        assert receiver.current is session
        assert session.title == "Demo Title"
        assert (session.video_codec, session.audio_codec) == ("h264", "aac")
        assert (session.width, session.height) == (320, 180)
        assert (session.app, session.key) == ("live", "key")
        assert not session.key_mismatch and not session.app_mismatch
        receiver.wait_first_frame(15)
        assert session.first_video_packet_at is not None
        assert session.first_frame_at is not None
        assert session.first_frame_at >= session.connected_at
        left = receiver.wait_left(15)
        assert proc.wait(10) == 0

    assert left is session and receiver.current is None
    assert receiver.sessions == [session]
    assert session.end_reason == "publisher closed"
    assert session.left_at is not None and session.left_wall is not None
    assert session.connected_at <= session.first_frame_at <= session.left_at
    # All 3 s of the stream arrived, in stream time (the video timestamps).
    assert session.media_seconds is not None and 2.5 < session.media_seconds < 3.1
    # 3 s at 15 fps: 45 video packets; AAC at 44.1 kHz: ~43 packets a second.
    assert 40 <= session.video_packets <= 48
    assert 110 <= session.audio_packets <= 145
    assert session.video_fps is not None and 13.5 < session.video_fps < 16.5
    assert session.keyframes >= 2  # -g 30 at 15 fps: one every 2 s
    assert session.decode_errors == 0

    assert session.flv_path is not None and session.flv_path.parent == record
    metadata, codecs, frames, audio = flv_summary(session.flv_path)
    assert metadata["title"] == "Demo Title"
    assert codecs == {"video": "h264", "audio": "aac"}
    assert frames == session.video_packets
    assert audio == session.audio_packets


def test_two_publishers_in_turn_are_two_sessions(port: int, tmp_path: Path) -> None:
    with RtmpReceiver(port, key="key", record_dir=tmp_path) as receiver:
        url = f"rtmp://127.0.0.1:{port}/live/key"
        with publisher(url, tmp_path, seconds=1.5, title="First") as first:
            one = receiver.wait_connected(15, index=0)
            receiver.wait_left(15, index=0)
            assert first.wait(10) == 0
        receiver.wait_listening(5)
        other = f"rtmp://127.0.0.1:{port}/elsewhere/other-key"
        with publisher(other, tmp_path, seconds=1.5, title="Second") as second:
            two = receiver.wait_connected(15)
            receiver.wait_left(15, index=1)
            assert second.wait(10) == 0

    assert receiver.sessions == [one, two]
    assert (one.index, two.index) == (0, 1)
    assert (one.title, two.title) == ("First", "Second")
    assert one.left_at is not None and one.left_at <= two.connected_at
    assert (one.key, one.key_mismatch, one.app_mismatch) == ("key", False, False)
    # FFmpeg's listener takes any app and key, and only logs them: both are recorded.
    assert (two.app, two.key, two.key_mismatch, two.app_mismatch) == (
        "elsewhere",
        "other-key",
        True,
        True,
    )
    for session in (one, two):
        assert 18 <= session.video_packets <= 25
    assert one.flv_path is not None and two.flv_path is not None
    assert one.flv_path != two.flv_path
    assert flv_summary(one.flv_path)[0]["title"] == "First"
    assert flv_summary(two.flv_path)[0]["title"] == "Second"


def test_without_an_expected_key_the_used_key_is_recorded(port: int, tmp_path: Path) -> None:
    with (
        RtmpReceiver(port, frames="none") as receiver,
        publisher(f"rtmp://127.0.0.1:{port}/live/abc123", tmp_path, seconds=1) as proc,
    ):
        session = receiver.wait_left(15, index=0)
        assert proc.wait(10) == 0
    assert (session.key, session.key_mismatch) == ("abc123", False)
    assert session.frames_decoded == 0 and receiver.latest_frame() is None


def ocr(png: Path, tmp_path: Path) -> str:
    """Tesseract's reading of the overlay corner: cropped, thresholded, upscaled."""
    import numpy as np

    with av.open(str(png)) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    corner = rgb[:70, :220].min(axis=2)  # white text: high in all three channels
    ink = np.where(corner > 200, 0, 255).astype(np.uint8)  # black text on white
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(ink), format="gray")
    big = DecodedFrame(
        frame=frame.reformat(width=ink.shape[1] * 3, height=ink.shape[0] * 3),
        session_index=0,
        at=0.0,
        pts=None,
        keyframe=True,
    )
    crop = big.save_png(tmp_path / "corner.png")
    result = subprocess.run(
        ["tesseract", str(crop), "stdout", "--psm", "6"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_save_frame_writes_a_png_whose_overlay_reads_hello(port: int, tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    with (
        RtmpReceiver(port, keep_frames=3) as receiver,
        publisher(f"rtmp://127.0.0.1:{port}/live/k", tmp_path, seconds=4, text="HELLO"),
    ):
        session = receiver.wait_first_frame(15)
        latest = receiver.latest_frame()
        assert latest is not None and latest.keyframe
        assert (latest.width, latest.height) == (320, 180)
        assert latest.session_index == session.index
        png = receiver.save_frame(tmp_path / "frame.png")
        # A fresh picture decodes the GOP so far: later than the keyframe.
        time.sleep(0.5)
        fresh = receiver.request_frame(5)
        assert fresh.pts is not None and latest.pts is not None and fresh.pts > latest.pts
        fresh_png = receiver.save_frame(tmp_path / "fresh.png", fresh=True)
        assert 1 <= len(receiver.recent_frames()) <= 3

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "HELLO" in ocr(png, tmp_path).upper()
    assert "HELLO" in ocr(fresh_png, tmp_path).upper()


def test_frames_all_decodes_every_packet(port: int, tmp_path: Path) -> None:
    seen: list[DecodedFrame] = []
    with (
        RtmpReceiver(port, frames="all", on_frame=seen.append) as receiver,
        publisher(f"rtmp://127.0.0.1:{port}/live/k", tmp_path, seconds=1) as proc,
    ):
        session = receiver.wait_left(15, index=0)
        assert proc.wait(10) == 0
    assert session.frames_decoded == len(seen) >= session.video_packets - 2
    assert [f.pts for f in seen] == sorted(f.pts for f in seen if f.pts is not None)


# Nothing in the stop tests ends a receiver on its own: no idle timeout, publishers that would
# push for longer than the tests run. A receiver that stops did so because stop() interrupted it.
NEVER = 3600.0
STOP_WAIT = 30.0
"""How long stop() may try before it raises: a bound on the wait, not a measurement."""


def assert_prompt_stop(receiver: RtmpReceiver) -> None:
    """stop() interrupts the receiver thread wherever it blocks (it raises ReceiverError if the
    thread is still alive after STOP_WAIT) and leaves no thread behind."""
    receiver.stop(timeout=STOP_WAIT)
    assert not receiver.running
    assert receiver_threads() == []


def test_stop_is_prompt_while_listening(port: int) -> None:
    receiver = RtmpReceiver(port, idle_timeout=NEVER).start()
    assert receiver.running and len(receiver_threads()) == 1
    time.sleep(0.2)
    assert_prompt_stop(receiver)
    assert receiver.sessions == [] and receiver.error is None
    with pytest.raises(ReceiverError):
        receiver.wait_connected(1)
    # The port is free again.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_stop_is_prompt_mid_stream_and_closes_the_recording(port: int, tmp_path: Path) -> None:
    receiver = RtmpReceiver(port, record_dir=tmp_path, idle_timeout=NEVER).start()
    with publisher(f"rtmp://127.0.0.1:{port}/live/k", tmp_path, seconds=NEVER):
        receiver.wait_first_frame(15)
        time.sleep(1)
        assert_prompt_stop(receiver)
    (session,) = receiver.sessions
    assert session.end_reason == "stopped" and session.left_at is not None
    assert session.flv_path is not None
    assert flv_summary(session.flv_path)[2] >= 10


def test_stop_is_prompt_with_a_stalled_publisher_and_a_silent_client(
    port: int, tmp_path: Path
) -> None:
    receiver = RtmpReceiver(port, idle_timeout=NEVER).start()
    with publisher(f"rtmp://127.0.0.1:{port}/live/k", tmp_path, seconds=NEVER) as proc:
        receiver.wait_connected(15)
        os.kill(proc.pid, signal.SIGSTOP)  # connected, sending nothing
        time.sleep(0.5)
        assert_prompt_stop(receiver)
    assert receiver.sessions[0].end_reason == "stopped"

    port2 = free_port()
    receiver = RtmpReceiver(port2, idle_timeout=NEVER).start()
    # A TCP client that never starts the RTMP handshake: av.open blocks on it.
    with socket.create_connection(("127.0.0.1", port2)):
        time.sleep(0.3)
        assert_prompt_stop(receiver)
    assert receiver.sessions == []


def test_a_publisher_stalled_past_idle_timeout_ends_its_session(port: int, tmp_path: Path) -> None:
    with (
        RtmpReceiver(port, idle_timeout=1.0) as receiver,
        publisher(f"rtmp://127.0.0.1:{port}/live/k", tmp_path, seconds=30) as proc,
    ):
        receiver.wait_first_frame(15)
        os.kill(proc.pid, signal.SIGSTOP)
        session = receiver.wait_left(5, index=0)
        assert session.end_reason == "idle timeout"
        receiver.wait_listening(5)  # and it listens again


def test_a_port_in_use_is_an_error(port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # bound, not listening: a LISTEN socket here would pass
        receiver = RtmpReceiver(port)
        with pytest.raises(ReceiverError, match="cannot listen"):
            receiver.start()
        receiver.stop()
    assert receiver_threads() == []


def test_run_receive_reports_publishers(port: int, tmp_path: Path) -> None:
    lines: list[str] = []
    until = threading.Event()
    png = tmp_path / "now.png"
    errors: list[BaseException] = []

    def main() -> None:
        try:
            run_receive(port, "127.0.0.1", "live", "key", tmp_path, png, lines.append, until=until)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=main)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not any(line.startswith("listening on") for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.02)
        with publisher(f"rtmp://127.0.0.1:{port}/live/key", tmp_path, seconds=2) as proc:
            assert proc.wait(15) == 0
        deadline = time.monotonic() + 10
        while not any(line.startswith("publisher left") for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.02)
    finally:
        until.set()
        thread.join(5)
    assert not thread.is_alive() and errors == []
    assert receiver_threads() == []
    connected = next(line for line in lines if line.startswith("publisher connected"))
    assert "title='Demo Title'" in connected
    assert "video=h264 320x180" in connected and "audio=aac" in connected
    left = next(line for line in lines if line.startswith("publisher left"))
    assert "video packets" in left and "recorded to" in left
    assert any(line.startswith("frame saved to") for line in lines)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_session_numbers_without_a_stream() -> None:
    session = PublishSession(
        index=0,
        url="rtmp://127.0.0.1:1/live/stream",
        connected_at=10.0,
        connected_wall=0.0,
        app="live",
        key="stream",
    )
    assert session.active and session.title is None
    assert session.video_fps is None and session.media_seconds is None
    session.first_video_pts, session.last_video_pts, session.video_packets = 0.0, 2.0, 31
    session.left_at = 13.0
    assert session.video_fps == 15.0 and session.duration == 3.0 and not session.active
    with pytest.raises(ValueError):
        RtmpReceiver(0)
