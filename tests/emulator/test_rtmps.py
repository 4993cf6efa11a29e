"""RTMPS: a live stream whose ``stream_url`` is ``rtmps://`` is pushed over TLS by the system
ffmpeg, verifying the receiver's certificate; ``zoomlive receive --tls`` (a self-signed
certificate by default) receives it; a certificate the sender refuses is a clear failure
reason on the stream. One emulator and one ``zoomlive receive --tls`` serve the module."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from tests.emulator.test_media import MediaServer
from tests.support.helpers import free_port, popen
from tests.support.ocr import read_band, reads
from zoomlive.emulator.media.supervisor import classify
from zoomlive.receiver import RtmpReceiver
from zoomlive.tls import self_signed

pytestmark = pytest.mark.tools("ffmpeg")


class Receive:
    """``zoomlive receive --tls`` as a user runs it, its output collected line by line."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.frame = tmp / "frame.png"
        self.cache = tmp / "cache"
        command = [sys.executable, "-m", "zoomlive", "receive", "--tls", "--port", str(self.port)]
        command += ["--key", "key", "--frame", str(self.frame)]
        env = {**os.environ, "XDG_CACHE_HOME": str(self.cache)}
        self.proc = popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait_line("listening on rtmps://")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def wait_line(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines if text in line]
            if found:
                return found[-1]
            assert self.proc.poll() is None or time.monotonic() < deadline, self.lines
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.05)

    @property
    def cert(self) -> Path:
        return self.cache / "zoomlive" / "tls" / "receiver-cert.pem"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.reader.join(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def receive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receive]:
    running = Receive(tmp_path_factory.mktemp("receive"))
    yield running
    running.close()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, receive: Receive) -> Iterator[MediaServer]:
    # The emulator trusts the receiver's self-signed certificate, as docs/fidelity.md says.
    env = {"ZOOMLIVE_MEDIA_CA_FILE": str(receive.cert)}
    srv = MediaServer(tmp_path_factory.mktemp("media"), env=env)
    yield srv
    srv.close()


def stop(media: MediaServer) -> None:
    media.status({"action": "stop"})
    media.wait_for(lambda s: s["state"] == "stopped" and s["media"] is None, 10)


def test_an_rtmps_stream_arrives_at_zoomlive_receive_tls(
    media: MediaServer, receive: Receive, tmp_path: Path
) -> None:
    assert receive.cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    media.configure(f"rtmps://127.0.0.1:{receive.port}/live", key="key")
    media.status({"action": "start", "settings": {"display_name": "Secure Stream"}})
    live = media.wait_for(lambda s: s["state"] == "live", 15)
    assert live["last_error"] is None and live["media"]["frames"] > 0
    connected = receive.wait_line("publisher connected")
    assert "key=key" in connected and "title='Secure Stream'" in connected
    assert "video=h264 320x180" in connected and "audio=aac" in connected
    receive.wait_line("frame saved to")
    with av.open(str(receive.frame)) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert reads("Secure Stream", read_band(rgb, 0.0, 0.2, tmp_path))
    stop(media)
    assert "publisher closed" in receive.wait_line("publisher left")


def test_a_certificate_the_sender_refuses_fails_the_stream_with_the_reason(
    media: MediaServer, tmp_path: Path
) -> None:
    # Another receiver, with a certificate the emulator was not told to trust.
    other = self_signed(tmp_path / "other")
    with RtmpReceiver(port=free_port(), key="key", tls=other) as untrusted:
        assert untrusted.url.startswith("rtmps://")
        media.configure(f"rtmps://127.0.0.1:{untrusted.port}/live", key="key")
        media.status({"action": "start"})
        failed = media.wait_for(lambda s: s["state"] == "failed", 15)
        assert failed["last_error"] == "TLS handshake failed: certificate verify failed"
        stop(media)
        assert untrusted.sessions == []  # nothing reached the RTMP listener
        assert untrusted.front is not None and untrusted.front.refused
    moves = [(e["from"], e["to"], e["detail"]) for e in failed["events"]]
    assert ("starting", "failed", "TLS handshake failed: certificate verify failed") in moves


def test_nothing_listening_at_an_rtmps_target_is_connection_refused(media: MediaServer) -> None:
    media.configure(f"rtmps://127.0.0.1:{free_port()}/live")
    media.status({"action": "start"})
    failed = media.wait_for(lambda s: s["state"] == "failed", 10)
    assert failed["last_error"] == "connection refused"
    stop(media)


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        (
            "[tls @ 0x1] Peer certificate failed verification\n"
            "[rtmps @ 0x2] Cannot open connection tls://127.0.0.1:1935\n"
            "rtmps://127.0.0.1:1935/live/key: Input/output error",
            "TLS handshake failed: certificate verify failed",
        ),
        (  # an ffmpeg built with OpenSSL says it its way
            "[tls @ 0x1] error:0A000086:SSL routines::certificate verify failed",
            "TLS handshake failed: certificate verify failed",
        ),
        (
            "[tls @ 0x1] The certificate's owner does not match hostname example.test",
            "TLS handshake failed: certificate does not match the host",
        ),
        (
            "[tls @ 0x1] An unexpected TLS packet was received.",
            "TLS handshake failed: An unexpected TLS packet was received",
        ),
    ],
)
def test_tls_failures_are_named(stderr: str, reason: str) -> None:
    assert classify(stderr, False, 1) == reason


def test_receive_tls_takes_a_certificate_and_its_key_together(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zoomlive", "receive", "--tls", "--cert", str(tmp_path / "c.pem")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--cert and --key-file go together" in done.stderr
