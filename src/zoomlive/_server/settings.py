"""The emulator's configuration, resolved once: argument, then environment, then default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class Settings:
    """Everything ``create_app`` needs. ``from_env`` fills unset values from ``ZOOMLIVE_*``."""

    db: str = "zoomlive.db"
    """SQLite path, ``:memory:``, or an SQLAlchemy URL (``postgresql://...``)."""
    demo: bool = True
    """Seed the demo account when the store is empty."""
    admin_key: str | None = None
    """When set, the control API (``/_emulator``) requires it in ``X-Admin-Key``."""
    token_ttl: int = 3599
    """Lifetime of issued access tokens, in seconds (Zoom: 3599)."""
    seed: int | None = None
    """Seed for ids and tokens, for reproducible runs."""
    max_body_bytes: int = 1 << 20
    """Requests with a larger body get 413."""
    webinar_daily_cap: int = 100
    """Per-host creates/updates of webinars per UTC day (Zoom: 100)."""
    media: Literal["ffmpeg", "fake", "off"] = "ffmpeg"
    """``ffmpeg`` pushes real RTMP; ``fake`` drives the stream states without it; ``off``."""
    media_profile: str | None = None
    """Force a media profile (``small`` 320x180@15, ``medium``, ``720p``, ``1080p``)."""
    public_url: str | None = None
    """Base URL to advertise as ``api_url`` and in join links; default: the request's own."""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "db": os.environ.get("ZOOMLIVE_DB", "zoomlive.db"),
            "admin_key": os.environ.get("ZOOMLIVE_ADMIN_KEY") or None,
            "token_ttl": _env_int("ZOOMLIVE_TOKEN_TTL", 3599),
            "public_url": os.environ.get("ZOOMLIVE_PUBLIC_URL") or None,
            "media": os.environ.get("ZOOMLIVE_MEDIA") or "ffmpeg",
            "media_profile": os.environ.get("ZOOMLIVE_MEDIA_PROFILE") or None,
        }
        if os.environ.get("ZOOMLIVE_SEED"):
            values["seed"] = int(os.environ["ZOOMLIVE_SEED"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
