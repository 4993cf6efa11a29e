"""``zoomlive demo`` and ``zoomlive receive`` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av


def test_demo_streams_end_to_end_and_saves_a_frame(tmp_path: Path) -> None:
    frame = tmp_path / "demo.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoomlive",
            "demo",
            "--seconds",
            "2",
            "--frame",
            str(frame),
            "--profile",
            "small",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "-> 204 (start)" in out and "-> 204 (stop)" in out
    assert "title='zoomlive demo webinar' video=h264 320x180 audio=aac" in out
    assert "stopped->starting, starting->live, live->stopped" in out
    with av.open(str(frame)) as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (320, 180)
