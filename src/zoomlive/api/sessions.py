"""The two kinds of session Zoom streams from, webinars and meetings, and what differs between
them on the wire: one table, read by the SDK and the emulator, instead of ``kind == "webinar"``
ternaries. What differs in the emulator's rules (plan gates, error statuses) is in its own table,
``zoomlive.emulator.rules.sessions.RULES``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from zoomlive.api import wire as w

SessionKind = Literal["webinar", "meeting"]
SESSION_KINDS: tuple[SessionKind, ...] = ("webinar", "meeting")


@dataclass(frozen=True)
class KindSpec:
    """One kind of session, as Zoom's API shows it."""

    kind: SessionKind
    noun: str
    """``Webinar`` / ``Meeting``, as Zoom's messages write it."""
    plural: str
    """``webinars`` / ``meetings``: the path segment and the list field."""
    id_param: str
    """The path parameter: ``webinarId`` / ``meetingId``."""
    invalid_id: str
    """Zoom's 400 code 300 message for an id that is no int64 (Zoom words them differently)."""
    operations: dict[str, str]
    """Zoom's operationIds by what they do: ``create``, ``list``, ``get``, ``update``,
    ``delete``, ``status``, ``livestream_get``, ``livestream_update``, ``livestream_status``."""
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    model: type[BaseModel]
    """The session as Zoom returns it."""
    list_model: type[BaseModel]
    list_item_model: type[BaseModel]
    livestream_status_model: type[BaseModel]
    settings_defaults: dict[str, Any]
    """The ``settings`` Zoom shows for fields nobody set."""
    default_topic: str
    default_type: int
    join_path: str
    """``w`` / ``j``: ``{base}/{join_path}/{id}`` is the join URL."""
    started_event: str
    ended_event: str
    """Webhook events when the host starts or ends the session."""
    streaming_events: tuple[str, str] | None
    """``*.live_streaming_started`` / ``stopped`` where Zoom sends them (meetings only)."""

    def operation(self, action: str) -> str:
        return self.operations[action]


WEBINAR = KindSpec(
    kind="webinar",
    noun="Webinar",
    plural="webinars",
    id_param="webinarId",
    invalid_id="Invalid webinar ID.",
    operations={
        "create": "webinarCreate",
        "list": "webinars",
        "get": "webinar",
        "update": "webinarUpdate",
        "delete": "webinarDelete",
        "status": "webinarStatus",
        "livestream_get": "getWebinarLiveStreamDetails",
        "livestream_update": "webinarLiveStreamUpdate",
        "livestream_status": "webinarLiveStreamStatusUpdate",
    },
    create_model=w.WebinarCreate,
    update_model=w.WebinarUpdate,
    model=w.Webinar,
    list_model=w.WebinarList,
    list_item_model=w.WebinarListItem,
    livestream_status_model=w.WebinarLiveStreamStatus,
    settings_defaults=w.WEBINAR_SETTINGS_DEFAULTS,
    default_topic="Zoom Webinar",
    default_type=5,
    join_path="w",
    started_event="webinar.started",
    ended_event="webinar.ended",
    streaming_events=None,  # Zoom sends no webinar live-stream event
)

MEETING = KindSpec(
    kind="meeting",
    noun="Meeting",
    plural="meetings",
    id_param="meetingId",
    invalid_id="Invalid meetingId.",
    operations={
        "create": "meetingCreate",
        "list": "meetings",
        "get": "meeting",
        "update": "meetingUpdate",
        "delete": "meetingDelete",
        "status": "meetingStatus",
        "livestream_get": "getMeetingLiveStreamDetails",
        "livestream_update": "meetingLiveStreamUpdate",
        "livestream_status": "meetingLiveStreamStatusUpdate",
    },
    create_model=w.MeetingCreate,
    update_model=w.MeetingUpdate,
    model=w.Meeting,
    list_model=w.MeetingList,
    list_item_model=w.MeetingListItem,
    livestream_status_model=w.MeetingLiveStreamStatus,
    settings_defaults=w.MEETING_SETTINGS_DEFAULTS,
    default_topic="Zoom Meeting",
    default_type=2,
    join_path="j",
    started_event="meeting.started",
    ended_event="meeting.ended",
    streaming_events=("meeting.live_streaming_started", "meeting.live_streaming_stopped"),
)

KINDS: dict[SessionKind, KindSpec] = {"webinar": WEBINAR, "meeting": MEETING}
BY_ID_PARAM: dict[str, KindSpec] = {spec.id_param: spec for spec in KINDS.values()}
