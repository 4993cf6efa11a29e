"""The private nginx-rtmp helper: ffmpeg can publish with the accepted key and is refused with
any other."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engines import tool
from tests.support.helpers import ffmpeg_publish_argv
from tests.support.rtmp_nginx import NginxRtmp

KEY = "good-stream-key"


def push(url: str, seconds: float) -> subprocess.CompletedProcess[str]:
    ffmpeg = tool("ffmpeg")
    args = ffmpeg_publish_argv(url, seconds=seconds, ffmpeg=ffmpeg, rw_timeout=5)
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
