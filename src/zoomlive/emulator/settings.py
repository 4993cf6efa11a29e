"""The emulator's configuration, resolved once: argument, then environment, then default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_HEADER_TIMEOUT_S = 10.0
"""``zoomlive serve`` closes a connection that has not sent a request's headers by then."""
DEFAULT_BODY_TIMEOUT_S = 10.0
"""... and one whose request's body has not arrived in full this long after its headers."""
DEFAULT_KEEPALIVE_S = 5.0
"""... and an idle keep-alive connection after this long."""
DEFAULT_MAX_CONNECTIONS = 1000
"""... and accepts at most this many connections at once."""

BODY_TIMED_OUT = "zoomlive.body_timed_out"
"""Set in a request's ASGI scope when ``zoomlive serve`` closed its connection because the body
did not arrive in time (already logged): whoever was reading the body says nothing more."""


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
    media: Literal["ffmpeg", "fake", "off", "remote"] = "ffmpeg"
    """``ffmpeg`` pushes real RTMP; ``fake`` drives the stream states without it; ``off``;
    ``remote``: media workers push (``zoomlive media-worker``, PostgreSQL only)."""
    media_profile: str | None = None
    """Force a media profile (``small`` 320x180@15, ``medium``, ``720p``, ``1080p``)."""
    rate_limits: str = "zoom"
    """``zoom`` (Zoom's numbers by plan), ``off``, or a JSON file of custom numbers."""
    redis_url: str | None = None
    """Keep rate-limit counters in Redis, shared by every worker process."""
    webhook_time_scale: float = 1.0
    """Multiplies Zoom's webhook delays (retries at +5/+20/+60 min, revalidation every 72 h)."""
    history_events: int = 10_000
    """Stream state changes kept in the store's log (the newest); sent or failed webhook
    deliveries are kept as many. Older ones are pruned as the emulator runs."""
    history_days: float = 7.0
    """Nothing older than this many days (by the machine's clock) is kept in those logs."""
    public_url: str | None = None
    """Base URL to advertise as ``api_url`` and in join links; default: the request's own."""
    host: str | None = None
    """The address ``zoomlive serve`` listens on (None in process): its name is accepted in
    ``Host`` headers, and a wildcard address accepts any."""
    port: int | None = None
    """The port ``zoomlive serve`` listens on: the demo's links point at it."""
    allowed_hosts: list[str] = field(default_factory=list)
    """More host names to answer to besides the loopback names, ``host`` and ``public_url``'s
    (``*``: any). Requests naming another host in ``Host`` get 403 (DNS rebinding)."""
    cheap_secrets: bool = field(
        default_factory=lambda: os.environ.get("ZOOMLIVE_CHEAP_SECRETS", "") == "1"
    )
    """For test suites only: hash new client secrets with a trivial work factor, so that seeding
    and token requests cost microseconds, not tens of milliseconds (``ZOOMLIVE_CHEAP_SECRETS=1``;
    like stamina's testing mode). Never for an emulator reachable by others."""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def advertised_url(self) -> str:
        """Where users reach this emulator: ``public_url``, else the address it serves on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host and self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port or 8080}"

    def to_env(self) -> dict[str, str]:
        """The ``ZOOMLIVE_*`` variables that make ``from_env`` rebuild these settings."""
        pairs = {
            "ZOOMLIVE_DB": self.db,
            "ZOOMLIVE_DEMO": "1" if self.demo else "0",
            "ZOOMLIVE_ADMIN_KEY": self.admin_key or "",
            "ZOOMLIVE_TOKEN_TTL": str(self.token_ttl),
            "ZOOMLIVE_SEED": "" if self.seed is None else str(self.seed),
            "ZOOMLIVE_PUBLIC_URL": self.public_url or "",
            "ZOOMLIVE_MEDIA": self.media,
            "ZOOMLIVE_MEDIA_PROFILE": self.media_profile or "",
            "ZOOMLIVE_RATE_LIMITS": self.rate_limits,
            "ZOOMLIVE_REDIS_URL": self.redis_url or "",
            "ZOOMLIVE_WEBHOOK_TIME_SCALE": str(self.webhook_time_scale),
            "ZOOMLIVE_HISTORY_EVENTS": str(self.history_events),
            "ZOOMLIVE_HISTORY_DAYS": str(self.history_days),
            "ZOOMLIVE_HOST": self.host or "",
            "ZOOMLIVE_PORT": "" if self.port is None else str(self.port),
            "ZOOMLIVE_ALLOWED_HOSTS": ",".join(self.allowed_hosts),
            "ZOOMLIVE_CHEAP_SECRETS": "1" if self.cheap_secrets else "",
        }
        return pairs

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "db": os.environ.get("ZOOMLIVE_DB", "zoomlive.db"),
            "admin_key": os.environ.get("ZOOMLIVE_ADMIN_KEY") or None,
            "token_ttl": _env_int("ZOOMLIVE_TOKEN_TTL", 3599),
            "public_url": os.environ.get("ZOOMLIVE_PUBLIC_URL") or None,
            "media": os.environ.get("ZOOMLIVE_MEDIA") or "ffmpeg",
            "rate_limits": os.environ.get("ZOOMLIVE_RATE_LIMITS") or "zoom",
            "redis_url": os.environ.get("ZOOMLIVE_REDIS_URL") or None,
            "media_profile": os.environ.get("ZOOMLIVE_MEDIA_PROFILE") or None,
            "host": os.environ.get("ZOOMLIVE_HOST") or None,
            "allowed_hosts": [
                h.strip()
                for h in os.environ.get("ZOOMLIVE_ALLOWED_HOSTS", "").split(",")
                if h.strip()
            ],
        }
        if os.environ.get("ZOOMLIVE_PORT"):
            values["port"] = int(os.environ["ZOOMLIVE_PORT"])
        if os.environ.get("ZOOMLIVE_WEBHOOK_TIME_SCALE"):
            values["webhook_time_scale"] = float(os.environ["ZOOMLIVE_WEBHOOK_TIME_SCALE"])
        if os.environ.get("ZOOMLIVE_HISTORY_EVENTS"):
            values["history_events"] = int(os.environ["ZOOMLIVE_HISTORY_EVENTS"])
        if os.environ.get("ZOOMLIVE_HISTORY_DAYS"):
            values["history_days"] = float(os.environ["ZOOMLIVE_HISTORY_DAYS"])
        if os.environ.get("ZOOMLIVE_DEMO"):
            values["demo"] = os.environ["ZOOMLIVE_DEMO"] != "0"
        if os.environ.get("ZOOMLIVE_SEED"):
            values["seed"] = int(os.environ["ZOOMLIVE_SEED"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
