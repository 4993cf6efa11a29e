"""Wire models: what crosses HTTP, shared by the emulator and the SDK.

Request models ignore unknown fields (as Zoom does: public clients send extras) but reject wrong
types and values. Response models keep unknown fields, so a newer Zoom does not break the client.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from zoomlive.api import zoomdoc


def _storable_time(value: datetime | None) -> datetime | None:
    """A time the store and Zoom's format can hold: in UTC within years 1970..9998."""
    if value is None:
        return None
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value
    except OverflowError:
        raise ValueError("out of range") from None
    if not 1970 <= utc.year <= 9998:
        raise ValueError("out of range")
    return value


SessionTime = Annotated[datetime | None, AfterValidator(_storable_time)]


def one_of(*allowed: int) -> AfterValidator:
    """An integer field with a fixed set of values. Declared as ``int`` (not ``Literal``) so
    that JSON must write it as an integer: ``5.0`` is refused here as it is for ``duration``
    (a ``Literal`` would take ``5.0``), while a form field's text ``"5"`` is read as 5."""

    def check(value: int) -> int:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        return value

    return AfterValidator(check)


def zoom_time(value: datetime | None) -> str | None:
    """Zoom's timestamp format: UTC, seconds precision, ``Z`` suffix."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # An f-string, not strftime: every view formats a few of these (a third cheaper).
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


class Request(BaseModel):
    """Base of request bodies: unknown fields ignored, declared fields validated."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class Response(BaseModel):
    """Base of response bodies: unknown fields kept."""

    model_config = ConfigDict(extra="allow", defer_build=True)


# OAuth ---------------------------------------------------------------------------------------
class TokenResponse(Response):
    """``POST /oauth/token`` answer for Server-to-Server OAuth."""

    access_token: str
    """The bearer token for ``/v2`` calls."""
    token_type: str = "bearer"
    """Always ``bearer``."""
    expires_in: int
    """Seconds until the token expires (Zoom: 3599)."""
    scope: str
    """Space-separated scopes the token holds."""
    api_url: str | None = None
    """Base URL to call the API on."""


# Users ---------------------------------------------------------------------------------------
class UserInfo(Response):
    """``GET /users/{userId}``."""

    id: str
    """The user's id."""
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    email: str
    """The user's email address."""
    type: int = 2
    """1 basic, 2 licensed."""
    role_name: str | None = None
    pmi: int | None = None
    use_pmi: bool = False
    timezone: str = ""
    verified: int = 1
    dept: str = ""
    created_at: str | None = None
    user_created_at: str | None = None
    last_login_time: str | None = None
    language: str = "en-US"
    status: str = "active"
    role_id: str | None = None
    account_id: str | None = None
    cluster: str | None = None


# Settings ------------------------------------------------------------------------------------
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


@functools.cache
def documented_settings_schema(operation_id: str) -> dict[str, Any]:
    """The ``settings`` schema of an operation's request body in Zoom's Meetings document."""
    for op in zoomdoc.operations("meetings"):
        if op.operation_id == operation_id:
            content = op.spec.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            found: dict[str, Any] = schema.get("properties", {}).get("settings", {})
            return found
    return {}


def fits_documented(value: Any, schema: Any) -> bool:
    """Does ``value`` have the documented types and enum members? Keys the schema does not
    document are not checked (Zoom ignores them)."""
    if not isinstance(schema, dict) or value is None:
        return True
    if not all(fits_documented(value, part) for part in schema.get("allOf", ())):
        return False
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants and not any(fits_documented(value, v) for v in variants):
        return False
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _JSON_TYPES:
        if not isinstance(value, _JSON_TYPES[kind]):
            return False
        if kind in ("integer", "number") and isinstance(value, bool):
            return False
    if schema.get("enum") and value not in schema["enum"]:
        return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return all(fits_documented(v, props.get(k)) for k, v in value.items())
    if isinstance(value, list) and "items" in schema:
        return all(fits_documented(item, schema["items"]) for item in value)
    return True


class SettingsIn(Request):
    """A session's ``settings`` in a create or update body: the fields declared by a subclass
    are validated by it; every other setting Zoom documents is kept and checked against the
    document's types and enums (Zoom's 300 for a wrong one); undocumented keys are dropped."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    @model_validator(mode="after")
    def _check_documented(self) -> SettingsIn:
        extra = self.__pydantic_extra__ or {}
        if not extra:
            return self
        props = documented_settings_schema(self.operation_for()).get("properties", {})
        for key in list(extra):
            if key not in props:
                del extra[key]
            elif not fits_documented(extra[key], props[key]):
                raise ValueError(f"settings.{key} does not have the documented type")
        return self

    @classmethod
    def operation_for(cls) -> str:
        return "meetingCreate"


# Webinars ------------------------------------------------------------------------------------
WebinarType = Annotated[
    int, one_of(5, 6, 9), WithJsonSchema({"type": "integer", "enum": [5, 6, 9]})
]
ApprovalType = Annotated[
    int, one_of(0, 1, 2), WithJsonSchema({"type": "integer", "enum": [0, 1, 2]})
]


class WebinarSettingsIn(SettingsIn):
    """A webinar's ``settings``: the ones the emulator's rules read are declared here."""

    @classmethod
    def operation_for(cls) -> str:
        return "webinarCreate"

    host_video: bool | None = None
    panelists_video: bool | None = None
    practice_session: bool | None = None
    hd_video: bool | None = None
    approval_type: ApprovalType | None = None
    audio: Literal["both", "telephony", "voip", "thirdParty"] | None = None
    auto_recording: Literal["local", "cloud", "none"] | None = None
    on_demand: bool | None = None
    allow_multiple_devices: bool | None = None
    alternative_hosts: str | None = Field(default=None, max_length=1024)
    contact_name: str | None = Field(default=None, max_length=256)
    contact_email: str | None = Field(default=None, max_length=320)
    registrants_email_notification: bool | None = None
    meeting_authentication: bool | None = None
    add_watermark: bool | None = None


WEBINAR_SETTINGS_DEFAULTS: dict[str, Any] = {
    "host_video": False,
    "panelists_video": False,
    "practice_session": False,
    "hd_video": False,
    "approval_type": 2,
    "audio": "both",
    "auto_recording": "none",
    "on_demand": False,
    "allow_multiple_devices": True,
    "alternative_hosts": "",
    "contact_name": "",
    "contact_email": "",
    "registrants_email_notification": True,
    "meeting_authentication": False,
    "add_watermark": False,
}


class RecurrenceIn(Request):
    """``recurrence`` of a recurring session (meetings type 8, webinars type 9)."""

    type: Annotated[int, one_of(1, 2, 3), WithJsonSchema({"type": "integer", "enum": [1, 2, 3]})]
    """1 daily, 2 weekly, 3 monthly."""
    repeat_interval: int | None = Field(default=None, ge=1, le=99)
    """Every so many days (up to 99), weeks (50) or months (10)."""
    weekly_days: str | None = Field(default=None, pattern=r"^[1-7](,[1-7])*$")
    """Days of the week, ``1`` Sunday to ``7`` Saturday, comma-separated."""
    monthly_day: int | None = Field(default=None, ge=1, le=31)
    monthly_week: Annotated[int, one_of(-1, 1, 2, 3, 4)] | None = None
    monthly_week_day: Annotated[int, one_of(1, 2, 3, 4, 5, 6, 7)] | None = None
    end_times: int | None = Field(default=None, ge=1, le=60)
    """How many occurrences (Zoom: at most 60; default 1)."""
    end_date_time: SessionTime = None
    """The last day an occurrence may start (instead of ``end_times``)."""


class OccurrenceQuery(Request):
    """``occurrence_id`` of a get, update, delete or live-stream call."""

    occurrence_id: str | None = Field(default=None, max_length=32)
    show_previous_occurrences: bool | None = None


class SessionCreate(Request):
    """The fields webinar and meeting creation bodies share. Zoom marks none required."""

    topic: str | None = Field(default=None, max_length=200)
    """The topic."""
    start_time: SessionTime = None
    """Start time (ISO 8601; ``Z`` or an offset)."""
    duration: int | None = Field(default=None, ge=0, le=100_000)
    """Scheduled length in minutes."""
    timezone: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=10)
    agenda: str | None = Field(default=None, max_length=2000)
    template_id: str | None = None
    recurrence: RecurrenceIn | None = None


class WebinarCreate(SessionCreate):
    """``POST /users/{userId}/webinars`` body."""

    type: WebinarType = 5
    """5 webinar, 6 recurring with no fixed time, 9 recurring with a fixed time."""
    settings: WebinarSettingsIn | None = None


class WebinarUpdate(WebinarCreate):
    """``PATCH /webinars/{webinarId}`` body: any field of the create body."""

    type: WebinarType | None = None  # type: ignore[assignment]


class WebinarStatusUpdate(Request):
    """``PUT /webinars/{webinarId}/status`` body."""

    action: Literal["end"]
    """Only ``end``."""


class Webinar(Response):
    """A webinar as ``GET /webinars/{webinarId}`` and the create call return it."""

    id: int
    """The webinar's numeric id (int64)."""
    uuid: str
    host_id: str
    host_email: str | None = None
    topic: str = ""
    type: int = 5
    start_time: str | None = None
    duration: int = 60
    timezone: str = ""
    agenda: str = ""
    created_at: str | None = None
    join_url: str | None = None
    start_url: str | None = None
    password: str | None = None
    registration_url: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    is_simulive: bool = False
    creation_source: str | None = None


class WebinarListItem(Response):
    """One entry of ``GET /users/{userId}/webinars``."""

    id: int
    uuid: str
    host_id: str
    topic: str = ""
    type: int = 5
    start_time: str | None = None
    duration: int = 60
    timezone: str = ""
    agenda: str = ""
    created_at: str | None = None
    join_url: str | None = None
    is_simulive: bool = False


class WebinarList(Response):
    """A page of webinars."""

    page_size: int
    total_records: int
    next_page_token: str = ""
    """Pass back to get the next page; empty on the last page."""
    page_count: int | None = None
    page_number: int | None = None
    webinars: list[WebinarListItem] = Field(default_factory=list)


class WebinarListQuery(Request):
    """Query string of ``GET /users/{userId}/webinars``."""

    type: Literal["scheduled", "upcoming"] = "scheduled"
    page_size: int = Field(default=30, ge=1, le=2**31 - 1)
    next_page_token: str | None = None
    page_number: int | None = Field(default=None, ge=1, le=2**31 - 1)


# Live streams --------------------------------------------------------------------------------
def _check_uri(value: str) -> str:
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError("not a URI")
    return value


class LiveStreamUpdate(Request):
    """``PATCH /webinars/{webinarId}/livestream`` (and the meeting twin) body."""

    stream_url: str = Field(min_length=1, max_length=1024)
    """The RTMP ingest URL, e.g. ``rtmp://live.example.com/app``."""
    stream_key: str = Field(min_length=1, max_length=512)
    """The stream name and key, appended to ``stream_url``."""
    page_url: Annotated[str, AfterValidator(_check_uri)] = Field(max_length=1024)
    """The page where viewers watch the stream."""
    resolution: Literal["720p", "1080p"] | None = None
    """``720p`` or ``1080p``."""


class LiveStreamDetails(Response):
    """``GET /webinars/{webinarId}/livestream`` (and the meeting twin)."""

    stream_url: str = ""
    stream_key: str = ""
    page_url: str = ""
    resolution: str | None = None


class WebinarLiveStreamSettings(Request):
    """Settings of a webinar live stream; only changeable while it is stopped."""

    active_speaker_name: bool | None = None
    """Show the active speaker's name in the stream."""
    display_name: str | None = Field(default=None, min_length=1, max_length=50)
    """The live stream's name (1..50 characters)."""


class WebinarLiveStreamStatus(Request):
    """``PATCH /webinars/{webinarId}/livestream/status`` body."""

    action: Literal["start", "stop"] | None = None
    """``start`` or ``stop`` (case-sensitive)."""
    settings: WebinarLiveStreamSettings | None = None


class MeetingLiveStreamSettings(WebinarLiveStreamSettings):
    """Settings of a meeting live stream; ``layout`` and ``close_caption`` also change live
    with ``action: mode``."""

    layout: Literal["follow_host", "gallery_view", "speaker_view"] | None = None
    """Default ``follow_host``."""
    close_caption: Literal["burnt-in", "embedded", "off"] | None = None
    """Default ``burnt-in``."""


class MeetingLiveStreamStatus(Request):
    """``PATCH /meetings/{meetingId}/livestream/status`` body."""

    action: Literal["start", "stop", "mode"] | None = None
    settings: MeetingLiveStreamSettings | None = None


# Meetings ------------------------------------------------------------------------------------
MeetingType = Annotated[
    int, one_of(1, 2, 3, 8), WithJsonSchema({"type": "integer", "enum": [1, 2, 3, 8]})
]


class MeetingSettingsIn(SettingsIn):
    """A meeting's ``settings``: the ones the emulator's rules read are declared here."""

    host_video: bool | None = None
    participant_video: bool | None = None
    join_before_host: bool | None = None
    mute_upon_entry: bool | None = None
    waiting_room: bool | None = None
    approval_type: ApprovalType | None = None
    audio: Literal["both", "telephony", "voip", "thirdParty"] | None = None
    auto_recording: Literal["local", "cloud", "none"] | None = None
    alternative_hosts: str | None = Field(default=None, max_length=1024)


MEETING_SETTINGS_DEFAULTS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "join_before_host": False,
    "mute_upon_entry": False,
    "waiting_room": False,
    "approval_type": 2,
    "audio": "both",
    "auto_recording": "none",
    "alternative_hosts": "",
}


class MeetingCreate(SessionCreate):
    """``POST /users/{userId}/meetings`` body."""

    type: MeetingType = 2
    """1 instant, 2 scheduled, 3 recurring with no fixed time, 8 recurring with a fixed time."""
    settings: MeetingSettingsIn | None = None


class MeetingUpdate(MeetingCreate):
    """``PATCH /meetings/{meetingId}`` body."""

    type: MeetingType | None = None  # type: ignore[assignment]


class MeetingStatusUpdate(Request):
    """``PUT /meetings/{meetingId}/status`` body."""

    action: Literal["end", "recover"]


class Meeting(Response):
    """A meeting as ``GET /meetings/{meetingId}`` and the create call return it."""

    id: int
    uuid: str
    host_id: str
    host_email: str | None = None
    topic: str = ""
    type: int = 2
    status: str = "waiting"
    start_time: str | None = None
    duration: int = 60
    timezone: str = ""
    agenda: str = ""
    created_at: str | None = None
    join_url: str | None = None
    start_url: str | None = None
    password: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    pre_schedule: bool = False
    pmi: str | None = None
    """The host's personal meeting ID."""


class MeetingListItem(Response):
    id: int
    uuid: str
    host_id: str
    topic: str = ""
    type: int = 2
    start_time: str | None = None
    duration: int = 60
    timezone: str = ""
    agenda: str = ""
    created_at: str | None = None
    join_url: str | None = None
    pmi: str | None = None


class MeetingList(Response):
    page_size: int
    total_records: int
    next_page_token: str = ""
    page_count: int | None = None
    page_number: int | None = None
    meetings: list[MeetingListItem] = Field(default_factory=list)


class MeetingListQuery(Request):
    type: Literal["scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"] = (
        "scheduled"
    )
    page_size: int = Field(default=30, ge=1, le=2**31 - 1)
    next_page_token: str | None = None
    page_number: int | None = Field(default=None, ge=1, le=2**31 - 1)
