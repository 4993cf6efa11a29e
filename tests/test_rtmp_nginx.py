"""The private nginx-rtmp helper: ffmpeg can publish with the accepted key and is refused with
any other."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rtmp_nginx import NginxRtmp

KEY = "good-stream-key"


def push(url: str, seconds: float) -> subprocess.CompletedProcess[str]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.fail("ffmpeg is not installed; install it with: apt-get install ffmpeg")
    # The test sources are free-running (-re); -t bounds the output.
    args = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=15",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "30",
        "-b:v",
        "300k",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-t",
        str(seconds),
        "-rw_timeout",
        "5000000",
        "-f",
        "flv",
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30)


@pytest.fixture
def rtmp(tmp_path: Path) -> Iterator[NginxRtmp]:
    with NginxRtmp(tmp_path / "nginx", KEY) as server:
        yield server


def test_accepted_key_streams(rtmp: NginxRtmp) -> None:
    result = push(rtmp.publish_url(KEY), 2)
    assert result.returncode == 0, result.stderr + rtmp.log()
    assert rtmp.published(KEY)
    [attempt] = rtmp.attempts
    assert (attempt.key, attempt.app, attempt.accepted) == (KEY, "live", True)
    assert attempt.fields["tcurl"] == rtmp.url
    assert rtmp.wait_for_done(5, key=KEY).key == KEY


def test_rejected_key_fails(rtmp: NginxRtmp) -> None:
    result = push(rtmp.publish_url("wrong-key"), 2)
    assert result.returncode != 0
    assert "Input/output error" in result.stderr
    assert not rtmp.published("wrong-key")
    [attempt] = rtmp.attempts
    assert (attempt.key, attempt.app, attempt.accepted) == ("wrong-key", "live", False)
    assert rtmp.running  # nginx refused the publisher, it did not fall over
