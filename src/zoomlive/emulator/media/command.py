"""Building the ffmpeg command: a synthetic webinar picture and tone, with the live stream's
overlays, pushed as FLV to ``stream_url/stream_key``.

Overlay texts go through files (drawtext ``textfile`` with ``expansion=none``), so any display
name renders exactly (quotes, colons, backslashes, emoji, any script) with no escaping; files
marked ``reload`` are re-read every frame, so the active speaker and a meeting's view change
live without restarting the stream. Arguments are a list: no shell is ever involved.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
)


FFMPEG_MISSING = (
    "ffmpeg missing: install it (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install "
    "ffmpeg) or set ZOOMLIVE_FFMPEG to its path"
)


class MediaUnavailable(Exception):
    """ffmpeg (or a font for it) cannot be found."""


def find_ffmpeg() -> str:
    """``ZOOMLIVE_FFMPEG``, else the system ``ffmpeg`` on ``PATH``."""
    explicit = os.environ.get("ZOOMLIVE_FFMPEG")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise MediaUnavailable(f"ZOOMLIVE_FFMPEG={explicit} is not an executable")
        return explicit
    system = shutil.which("ffmpeg")
    if system:
        return system
    raise MediaUnavailable(FFMPEG_MISSING)


def find_font() -> str:
    """``ZOOMLIVE_FONT``, else a common free TrueType font (DejaVu Sans first)."""
    explicit = os.environ.get("ZOOMLIVE_FONT")
    if explicit:
        return explicit
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise MediaUnavailable("no TrueType font found: apt-get install fonts-dejavu-core")


@dataclass(frozen=True)
class Profile:
    """Picture size, frame rate and bitrates."""

    width: int
    height: int
    fps: int
    video_kbps: int
    audio_kbps: int = 64

    @property
    def font_size(self) -> int:
        return max(12, self.height // 14)


PROFILES: dict[str, Profile] = {
    "720p": Profile(1280, 720, 30, 2500),
    "1080p": Profile(1920, 1080, 30, 4500),
    "small": Profile(320, 180, 15, 300),
    "medium": Profile(640, 360, 15, 700),
}


def profile_for(resolution: str | None, override: str | None) -> Profile:
    """The stream's ``resolution`` (default 720p), unless the server forces a profile."""
    if override:
        return PROFILES[override]
    return PROFILES.get(resolution or "720p", PROFILES["720p"])


@dataclass(frozen=True)
class OverlayFiles:
    """Text files the drawtext filters read."""

    title: Path
    speaker: Path | None
    view: Path | None


def rtmp_target(stream_url: str, stream_key: str) -> str:
    """``stream_url`` + ``/`` + ``stream_key``, as custom streaming services expect."""
    return stream_url.rstrip("/") + "/" + stream_key


def tls_options(target: str) -> list[str]:
    """ffmpeg's options for an ``rtmps://`` target: the receiver's certificate is verified
    (``ZOOMLIVE_MEDIA_TLS_VERIFY=0`` turns that off), against the system's trust store or, with
    ``ZOOMLIVE_MEDIA_CA_FILE``, against the CA certificates in that PEM file only (a receiver's
    self-signed certificate, e.g. ``zoomlive receive --tls``). Nothing for ``rtmp://``."""
    if not target.lower().startswith("rtmps://"):
        return []
    verify = os.environ.get("ZOOMLIVE_MEDIA_TLS_VERIFY", "1").strip().lower()
    if verify in ("0", "false", "no", "off"):
        return ["-tls_verify", "0"]
    options = ["-tls_verify", "1"]
    ca_file = os.environ.get("ZOOMLIVE_MEDIA_CA_FILE")
    if ca_file:
        if not os.access(ca_file, os.R_OK) or not Path(ca_file).is_file():
            raise MediaUnavailable(f"ZOOMLIVE_MEDIA_CA_FILE={ca_file} is not a readable file")
        options += ["-ca_file", ca_file]
    return options


def _drawtext(font: str, textfile: Path, size: int, y: str, color: str, reload: bool) -> str:
    # Paths are ours (a temp dir without ':' or quotes), so they need no filter escaping.
    parts = [
        f"fontfile={font}",
        f"textfile={textfile}",
        "expansion=none",
        f"fontsize={size}",
        f"fontcolor={color}",
        "box=1",
        "boxcolor=black@0.8",
        "boxborderw=6",
        "x=(w-text_w)/2",
        f"y={y}",
    ]
    if reload:
        parts.append("reload=1")
    return "drawtext=" + ":".join(parts)


def build_command(
    ffmpeg: str,
    font: str,
    profile: Profile,
    overlays: OverlayFiles,
    title: str,
    target: str,
    *,
    thumbnail: Path | None = None,
    rw_timeout_s: float = 5.0,
) -> list[str]:
    """The full argv. Progress goes to stdout (``-progress pipe:1``) for the supervisor."""
    size = profile.font_size
    filters = [_drawtext(font, overlays.title, size, "h*0.08", "white", reload=False)]
    if overlays.speaker is not None:
        filters.append(
            _drawtext(font, overlays.speaker, max(10, size * 3 // 4), "h*0.80", "white", True)
        )
    if overlays.view is not None:
        filters.append(
            _drawtext(font, overlays.view, max(10, size * 2 // 3), "h*0.66", "white", True)
        )
    video = ",".join(filters)
    argv = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-progress",
        "pipe:1",
        "-stats_period",
        "0.5",
        "-re",
        "-f",
        "lavfi",
        "-i",
        # Picture and tone from one input: ffmpeg reads next for the output stream that is
        # furthest behind, and the 1 fps thumbnail stays behind for a second at a time; with
        # the tone as a second input it went unread meanwhile, and the FLV muxer held the
        # video back until audio came (0.35 s more to the first frame; docs/benchmarks.md).
        f"testsrc2=size={profile.width}x{profile.height}:rate={profile.fps}[out0];"
        "sine=frequency=440:sample_rate=44100[out1]",
        "-filter_complex",
        f"[0:v]{video},split=2[out][thumb]" if thumbnail else f"[0:v]{video}[out]",
        "-map",
        "[out]",
        "-map",
        "0:a",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(profile.fps * 2),
        "-b:v",
        f"{profile.video_kbps}k",
        "-threads",
        "1",
        "-c:a",
        "aac",
        "-b:a",
        f"{profile.audio_kbps}k",
        "-ar",
        "44100",
        "-metadata",
        f"title={title}",
        "-rw_timeout",
        str(int(rw_timeout_s * 1_000_000)),
        *tls_options(target),
        "-f",
        "flv",
        target,
    ]
    if thumbnail is not None:
        argv += [
            "-map",
            "[thumb]",
            "-r",
            "1",
            "-update",
            "1",
            "-q:v",
            "5",
            "-y",
            str(thumbnail),
        ]
    return argv
