"""The emulator's configuration, one validated model: argument, then ``ZOOMLIVE_*`` variable,
then default. ``zoomlive serve`` passes the flags it was given, the testing kit and programmatic
users their arguments; every value is checked here, once, and a bad one is named with what it
may be (:func:`explain` makes that one line)."""

from __future__ import annotations

import contextlib
import json
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from zoomlive.emulator.media.command import PROFILES

SETTINGS_ERRORS = (ValidationError, SettingsError)
"""What building :class:`Settings` raises for a value it refuses (the CLI says it in a line)."""

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

ENV_PREFIX = "ZOOMLIVE_"

Media = Literal["ffmpeg", "fake", "off", "remote"]
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]

RULES = {
    "media_profile": "must be one of " + ", ".join(PROFILES),
    "rate_limits": "must be zoom, off, or a JSON file that exists",
    "host_needs_admin_key": "off loopback exposes the control API: give {admin_key}",
    "remote_media_needs_postgresql": "remote needs PostgreSQL: {db} postgresql://...",
    # The SQLite store is one process's truth (in memory, journaled): workers, and the clock,
    # faults and feed they share, need PostgreSQL.
    "workers_need_postgresql": "above 1 needs PostgreSQL: {db} postgresql://...",
    # Each worker would start its own ffmpeg for the streams it was asked about, and none would
    # know of the others': media workers stream for several API workers.
    "workers_need_media_workers": "above 1 streams through media workers: {media} remote "
    "(or fake, off)",
    # Counters in each worker would let N times the limit through, silently.
    "workers_need_redis": "above 1 counts rate limits in Redis: {redis_url}, or {rate_limits} off",
}
"""The rules beyond a value's type and range, by the error type they raise. ``{name}`` names
another setting: :func:`explain` says it as its caller does (``--db (ZOOMLIVE_DB)``)."""

_read_env: ContextVar[bool] = ContextVar("zoomlive_settings_read_env", default=True)


def _broken(rule: str) -> PydanticCustomError:
    """The error for ``RULES[rule]``, its other settings named by their field names."""
    names = {field for _, field, _, _ in string.Formatter().parse(RULES[rule]) if field}
    return PydanticCustomError(rule, RULES[rule], {name: name for name in names})


def _is_sqlite(db: str) -> bool:
    from zoomlive.emulator.store import is_sqlite

    return is_sqlite(db)


class Settings(BaseSettings):
    """Everything ``create_app`` and ``zoomlive serve`` need, validated. A value not given as an
    argument is read from its ``ZOOMLIVE_*`` variable (``token_ttl``: ``ZOOMLIVE_TOKEN_TTL``;
    empty counts as unset), else takes its default. A bad value raises pydantic's
    ``ValidationError`` (a ``ValueError``) naming the setting; assignments are checked too."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        validate_assignment=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
        extra="forbid",
    )

    db: Annotated[str, Field(min_length=1)] = "zoomlive.db"
    """SQLite path, ``:memory:``, or an SQLAlchemy URL (``postgresql://...``)."""
    demo: bool = True
    """Seed the demo account when the store is empty."""
    admin_key: Annotated[str | None, Field(repr=False)] = None
    """When set, the control API (``/_emulator``) requires it in ``X-Admin-Key``."""
    token_ttl: Annotated[int, Field(ge=1)] = 3599
    """Lifetime of issued access tokens, in seconds (Zoom: 3599)."""
    seed: int | None = None
    """Seed for ids and tokens, for reproducible runs."""
    max_body_bytes: Annotated[int, Field(ge=1)] = 1 << 20
    """Requests with a larger body get 413."""
    webinar_daily_cap: Annotated[int, Field(ge=0)] = 100
    """Per-host creates/updates of webinars per UTC day (Zoom: 100)."""
    media: Media = "ffmpeg"
    """``ffmpeg`` pushes real RTMP; ``fake`` drives the stream states without it; ``off``;
    ``remote``: media workers push (``zoomlive media-worker``, PostgreSQL only)."""
    media_profile: str | None = None
    """Force a media profile (``small`` 320x180@15, ``medium``, ``720p``, ``1080p``)."""
    rate_limits: str = "zoom"
    """``zoom`` (Zoom's numbers by plan), ``off``, or a JSON file of custom numbers."""
    redis_url: str | None = None
    """Keep rate-limit counters in Redis, shared by every worker process."""
    webhook_time_scale: Annotated[float, Field(gt=0)] = 1.0
    """Multiplies Zoom's webhook delays (retries at +5/+20/+60 min, revalidation every 72 h)."""
    history_events: Annotated[int, Field(ge=1)] = 10_000
    """Stream state changes kept in the store's log (the newest); sent or failed webhook
    deliveries are kept as many. Older ones are pruned as the emulator runs."""
    history_days: Annotated[float, Field(gt=0, le=36_500)] = 7.0
    """Nothing older than this many days (by the machine's clock) is kept in those logs."""
    public_url: str | None = None
    """Base URL to advertise as ``api_url`` and in join links; default: the request's own."""
    host: Annotated[str | None, Field(min_length=1)] = None
    """The address ``zoomlive serve`` listens on (None in process; ``zoomlive serve``:
    127.0.0.1): its name is accepted in ``Host`` headers, and a wildcard address accepts any.
    Off loopback, ``admin_key`` is required."""
    port: Annotated[int | None, Field(ge=0, le=65535)] = None
    """The port ``zoomlive serve`` listens on (``zoomlive serve``: 8080): the demo's links point
    at it."""
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """More host names to answer to besides the loopback names, ``host`` and ``public_url``'s
    (``*``: any). Requests naming another host in ``Host`` get 403 (DNS rebinding). In the
    environment: comma-separated."""
    cheap_secrets: bool = False
    """For test suites only: hash new client secrets with a trivial work factor, so that seeding
    and token requests cost microseconds, not tens of milliseconds (``ZOOMLIVE_CHEAP_SECRETS=1``;
    like stamina's testing mode). Never for an emulator reachable by others."""
    extra: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Free-form values for code built on the emulator (the emulator reads none). In the
    environment: a JSON object."""

    demo_receiver: bool | None = None
    """Also receive the demo webinar's target (``rtmp://127.0.0.1:1935/live/demo-stream-key``)
    with an embedded receiver, watchable in the dashboard (docs/watch.md). None: on for
    ``zoomlive serve`` with the demo account and ``media`` ffmpeg, off in process."""
    watch_player: str | None = None
    """mpegts.js, the dashboard's video player; default: where ``scripts/player`` installs it
    (``web/node_modules/mpegts.js/dist/mpegts.js`` of the clone)."""

    # How ``zoomlive serve`` serves (serving.py); the app itself reads none of them.
    header_timeout: Annotated[float, Field(gt=0)] = DEFAULT_HEADER_TIMEOUT_S
    """Seconds a connection has to send a request's headers (from its start, or its previous
    answer) before it is closed."""
    body_timeout: Annotated[float, Field(gt=0)] = DEFAULT_BODY_TIMEOUT_S
    """Seconds a request's body has to arrive in full, from its headers."""
    keepalive_timeout: Annotated[float, Field(gt=0)] = DEFAULT_KEEPALIVE_S
    """Seconds after which an idle keep-alive connection is closed."""
    max_connections: Annotated[int, Field(ge=1)] = DEFAULT_MAX_CONNECTIONS
    """Open connections at most; more are closed at once."""
    log_level: LogLevel = "warning"
    """How much ``zoomlive serve`` logs (no secret is logged at any level)."""
    workers: Annotated[int, Field(ge=1)] = 1
    """Worker processes. Above 1: PostgreSQL, ``media`` remote, fake or off, and ``redis_url``
    unless ``rate_limits`` is off."""

    # sources -----------------------------------------------------------------------------------
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment; no ``.env`` file, no secrets directory."""
        return (init_settings, env_settings) if _read_env.get() else (init_settings,)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """These settings, the rest from ``ZOOMLIVE_*``; an override of None counts as not
        given (the CLI's unset flags)."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def without_env(cls, **values: Any) -> Settings:
        """These settings, the rest their defaults: no ``ZOOMLIVE_*`` variable is read (the
        testing kit's emulator, whatever the developer's shell has set for ``zoomlive serve``)."""
        with _no_env():
            return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The ``ZOOMLIVE_*`` variables that make ``from_env`` rebuild these settings."""
        return {env_var(name): _env_text(getattr(self, name)) for name in type(self).model_fields}

    # rules -------------------------------------------------------------------------------------
    @field_validator(
        "admin_key", "public_url", "redis_url", "media_profile", "watch_player", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        if isinstance(value, str) and value.lower() in get_args(LogLevel):
            return value.lower()
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        return [h.strip() for item in items for h in str(item).split(",") if h.strip()]

    @field_validator("extra", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return json.loads(value)
        return value

    @field_validator("media_profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        if value is not None and value not in PROFILES:
            raise _broken("media_profile")
        return value

    @field_validator("rate_limits")
    @classmethod
    def _limits(cls, value: str) -> str:
        if value not in ("zoom", "off") and not Path(value).is_file():
            raise _broken("rate_limits")
        return value

    @field_validator("media")
    @classmethod
    def _remote_media(cls, value: str, info: ValidationInfo) -> str:
        db = info.data.get("db")
        if value == "remote" and db is not None and _is_sqlite(db):
            raise _broken("remote_media_needs_postgresql")
        return value

    @field_validator("host")
    @classmethod
    def _guarded_off_loopback(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value not in LOOPBACK_HOSTS and not info.data.get("admin_key"):
            raise _broken("host_needs_admin_key")
        return value

    @field_validator("workers")
    @classmethod
    def _shared_by_workers(cls, value: int, info: ValidationInfo) -> int:
        if value == 1:
            return value
        data = info.data
        if "db" in data and _is_sqlite(data["db"]):
            raise _broken("workers_need_postgresql")
        if data.get("media") == "ffmpeg":
            raise _broken("workers_need_media_workers")
        if data.get("rate_limits", "off") != "off" and not data.get("redis_url"):
            raise _broken("workers_need_redis")
        return value

    # derived -----------------------------------------------------------------------------------
    @property
    def advertised_url(self) -> str:
        """Where users reach this emulator: ``public_url``, else the address it serves on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host and self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port or 8080}"


@contextmanager
def _no_env() -> Iterator[None]:
    token = _read_env.set(False)
    try:
        yield
    finally:
        _read_env.reset(token)


def env_var(name: str) -> str:
    """The variable a setting is read from: ``token_ttl`` -> ``ZOOMLIVE_TOKEN_TTL``."""
    return ENV_PREFIX + name.upper()


def _env_text(value: object) -> str:
    if value is None:
        return ""  # empty is unset: the default, None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return json.dumps(value) if value else ""
    return str(value)  # a float's str() reads back as the same float


# explaining ------------------------------------------------------------------------------------


def accepts(name: str) -> str:
    """What a setting accepts, from its type and bounds: ``a whole number, at least 1``."""
    field = Settings.model_fields[name]
    kinds = [field.annotation]
    while kinds and get_origin(kinds[0]) in (Union, UnionType):
        kinds = [k for k in get_args(kinds[0]) if k is not NoneType]
    kind = kinds[0] if kinds else str
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(str(v) for v in get_args(kind))
    if kind is bool:
        return "1 or 0 (true or false)"
    if get_origin(kind) is dict:
        return "a JSON object of text values"
    ge = gt = le = None
    for bound in field.metadata:
        if isinstance(bound, annotated_types.Ge):
            ge = bound.ge
        elif isinstance(bound, annotated_types.Gt):
            gt = bound.gt
        elif isinstance(bound, annotated_types.Le):
            le = bound.le
        elif isinstance(bound, annotated_types.MinLen):
            return "text, not empty"
    noun = "a whole number" if kind is int else "a number" if kind is float else "text"
    if ge is not None and le is not None:
        return f"{noun} from {ge} to {le}"
    bounds = [f"at least {ge}"] if ge is not None else [f"above {gt}"] if gt is not None else []
    bounds += [f"at most {le}"] if le is not None else []
    return ", ".join([noun, *bounds])


def explain(exc: ValidationError, name: Callable[[str], str] | None = None) -> str:
    """One line for the first error of ``exc``: the setting, what it may be, what it got.
    ``name`` says a setting as the caller's user knows it (default: ``token_ttl
    (ZOOMLIVE_TOKEN_TTL)``)."""
    say = name or (lambda field: f"{field} ({env_var(field)})")
    error = exc.errors(include_url=False)[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    if field not in Settings.model_fields:
        return f"{say(field) if field else 'settings'}: {error['msg']}"
    if error["type"] in RULES:
        names = {key: say(key) for key in error.get("ctx", {})}
        rule = RULES[error["type"]].format_map(names)
    else:
        rule = "must be " + accepts(field)
    return f"{say(field)} {rule}; got {error['input']!r}"
