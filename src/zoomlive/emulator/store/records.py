"""Domain records: what the store keeps, independent of HTTP shapes and of SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from zoomlive.api.sessions import SessionKind

Plan = Literal["free", "pro", "business", "enterprise"]
PLANS: tuple[Plan, ...] = ("free", "pro", "business", "enterprise")
WebinarStatus = Literal["waiting", "started", "ended"]
WEBINAR_STATUSES: tuple[WebinarStatus, ...] = ("waiting", "started", "ended")


@dataclass(slots=True)
class Account:
    id: str
    name: str
    plan: Plan
    webinar_addon: bool
    custom_live_streaming: bool
    created_at: datetime


@dataclass(slots=True)
class User:
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    type: int
    timezone: str
    created_at: datetime
    status: str = "active"
    """Zoom's ``active``, ``inactive`` (deactivated) or ``pending`` (invited, not yet in)."""
    role_id: str = "0"
    """Zoom's role: ``0`` owner, ``1`` admin, ``2`` member."""
    profile: dict[str, Any] = field(default_factory=dict)
    """The user's other documented fields as set by create and update (language, dept, ...)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """The user's settings that differ from Zoom's defaults, by section."""
    meeting_live_streaming: bool = True
    """``in_meeting.allow_live_streaming`` and ``custom_live_streaming_service`` both on."""
    webinar_live_streaming: bool = True
    """The same, with the webinar live-streaming services naming the custom one."""


@dataclass(slots=True)
class JoinToken:
    """A join token handed out for a webinar or meeting (``GET .../jointoken/{purpose}``)."""

    token: str
    account_id: str
    kind: str
    session_id: int
    purpose: str
    """``live_streaming``, ``local_recording`` or ``local_archiving``."""
    created_at: datetime
    expires_at: datetime


@dataclass(slots=True)
class App:
    client_id: str
    account_id: str
    name: str
    secret_hash: str
    scopes: list[str]
    enabled: bool
    created_at: datetime


@dataclass(slots=True)
class Token:
    token_hash: str
    client_id: str
    account_id: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime


@dataclass(slots=True)
class Session:
    """A webinar or a meeting (same shape, one table each)."""

    id: int
    uuid: str
    account_id: str
    host_id: str
    topic: str
    type: int
    start_time: datetime | None
    duration: int
    timezone: str
    agenda: str
    password: str
    settings: dict[str, Any]
    status: WebinarStatus
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    kind: SessionKind = "webinar"
    recurrence: dict[str, Any] | None = None
    """Zoom's ``recurrence`` of a recurring session (types 8 and 9), else ``None``."""
    occurrence_changes: dict[str, Any] | None = None
    """Per occurrence id (start in ms, as text): the ``start_time``/``duration`` an update of
    that occurrence set, or ``{"deleted": true}``."""


Webinar = Session
Meeting = Session

# Live streams ---------------------------------------------------------------------------------
StreamState = Literal["stopped", "starting", "live", "failed"]
STREAM_STATES: tuple[StreamState, ...] = ("stopped", "starting", "live", "failed")
# The one declaration of a stream's state machine: enforced by LiveStream.move_to, and the states
# by a CHECK constraint in the database.
STREAM_TRANSITIONS: dict[StreamState, frozenset[StreamState]] = {
    "stopped": frozenset({"starting"}),
    "starting": frozenset({"live", "failed", "stopped"}),
    "live": frozenset({"stopped", "failed", "starting"}),  # starting again = reconnecting
    "failed": frozenset({"starting", "stopped"}),
}


class IllegalTransition(Exception):
    pass


@dataclass(slots=True)
class StreamEvent:
    kind: SessionKind
    owner_id: int
    from_state: StreamState
    to_state: StreamState
    at: datetime
    detail: str = ""
    id: int = 0
    """Its number in the log (0 until written): later events have larger numbers."""


@dataclass(slots=True)
class LiveStream:
    """A webinar's or meeting's custom live stream: Zoom's configuration plus runtime state."""

    kind: SessionKind
    owner_id: int
    account_id: str
    stream_url: str | None = None
    stream_key: str | None = None
    page_url: str | None = None
    resolution: str | None = None
    state: StreamState = "stopped"
    display_name: str | None = None
    active_speaker_name: bool | None = None
    layout: str | None = None
    close_caption: str | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    last_start_request_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime | None = None
    version: int = 0
    events: list[StreamEvent] = field(default_factory=list)
    effects: list[Any] = field(default_factory=list)
    """What must happen outside the store once the change commits (e.g. start the media)."""

    @property
    def configured(self) -> bool:
        return bool(self.stream_url)

    def move_to(self, state: StreamState, now: datetime, detail: str = "") -> None:
        """Change state along the declared machine, or raise IllegalTransition."""
        if state not in STREAM_TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state} -> {state}")
        self.events.append(StreamEvent(self.kind, self.owner_id, self.state, state, now, detail))
        self.state = state
        self.updated_at = now

    # The stream's life, one verb per event: each owns its timestamps and its effects.

    def request_start(self, now: datetime, *, pushed: bool, detail: str = "") -> None:
        """A user's start: ``starting`` until media says it is live (``pushed``), else live at
        once (no media to wait for: ``detail`` says why)."""
        self.move_to("starting", now, "start requested")
        self.started_at = now
        self.last_start_request_at = now
        self.stopped_at = None
        self.last_error = None
        if pushed:
            self.effects.append(StreamEffect("start", self.kind, self.owner_id))
        else:
            self.move_to("live", now, detail)

    def request_stop(self, now: datetime, reason: str = "stop requested") -> None:
        """A user's stop, or the end of its webinar or meeting: media stops."""
        self.move_to("stopped", now, reason)
        self.stopped_at = now
        self.effects.append(StreamEffect("stop", self.kind, self.owner_id))

    def session_ended(self, now: datetime) -> bool:
        """Its webinar or meeting ended: the stream stops with it (False if it was not on)."""
        if self.state == "stopped":
            return False
        self.request_stop(now, f"{self.kind} ended")
        return True

    def media_live(self, now: datetime, detail: str) -> None:
        """Media sent its first frame."""
        self.move_to("live", now, detail)
        self.last_error = None

    def media_failed(self, now: datetime, reason: str) -> None:
        """Media ended without being asked (the reason is kept for the user)."""
        self.move_to("failed", now, reason)
        self.last_error = reason

    def reconnect(self, now: datetime, detail: str) -> None:
        """Media connects anew: after a failure's back-off, a restart, or a takeover."""
        self.move_to("starting", now, detail)

    def overlays_changed(self) -> None:
        """What the picture shows changed while it runs (a meeting's layout, captions)."""
        self.effects.append(StreamEffect("update", self.kind, self.owner_id))


@dataclass(frozen=True)
class StreamEffect:
    """A committed change's notice to the media side: ``start`` (push this stream), ``stop``
    (stop pushing it), ``update`` (its overlays changed). The store carries it, as it carries
    any effect, to the listeners of the commit; it knows nothing of what they do with it."""

    action: Literal["start", "stop", "update"]
    kind: SessionKind
    owner_id: int
    stream: LiveStream | None = None
    """The stream as the transaction committed it (None where it was deleted), so that media
    never reads back what the transaction just wrote."""


@dataclass(frozen=True)
class StreamStateChanged:
    """A committed change of a stream's state, handed to the commit's listeners (the event feed
    announces it)."""

    event: StreamEvent
    last_error: str | None


@dataclass(slots=True)
class DailyCount:
    """A per-day counter (e.g. a user's webinar creates and updates today, for Zoom's cap)."""

    key: str
    day: str
    count: int


# Webhooks ------------------------------------------------------------------------------------


@dataclass(slots=True)
class WebhookSubscription:
    """An S2S app's event subscription: where events go, signed with which secret."""

    client_id: str
    account_id: str
    url: str
    secret_token: str
    events: list[str]
    created_at: datetime
    validated_at: datetime | None = None
    validation_error: str | None = None


@dataclass(slots=True)
class WebhookAttempt:
    """One try at sending a delivery, and what the endpoint answered."""

    at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    request_timestamp: str
    signature: str


@dataclass(slots=True)
class WebhookDelivery:
    """One event for one subscription (the outbox row)."""

    id: int
    client_id: str
    url: str
    event: str
    body: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None = None
    secret_token: str = ""
    """The subscription's secret, where the delivery was claimed for sending."""


# The spec tier --------------------------------------------------------------------------------


@dataclass(slots=True)
class SpecResource:
    """A resource of a spec-tier operation that a write named (emulator/spec/memory.py): what
    was written to one path (merged into later reads of it), or that it was deleted."""

    account_id: str
    path: str
    """The concrete path under ``/v2`` (its ids resolved: a user's id, not ``me``)."""
    body: dict[str, Any]
    deleted: bool
    seq: int
    """Creation order, for listing a collection's items as they were added."""
    updated_at: datetime


# Registrants, registration questions, panelists ----------------------------------------------


@dataclass(slots=True)
class Registrant:
    """Someone registered to a webinar or meeting (one table per kind)."""

    id: str
    session_id: int
    account_id: str
    email: str
    first_name: str
    last_name: str
    status: str
    """``pending``, ``approved`` or ``denied`` (a cancelled registration is denied)."""
    details: dict[str, Any]
    """The other fields of Zoom's registration form (address, custom_questions, language...)."""
    join_token: str
    """The ``tk`` of the registrant's own join link."""
    pin_code: int
    """A meeting registrant's ``participant_pin_code``."""
    create_time: datetime
    updated_at: datetime
    seq: int
    """Its place in the session's registration order (lists keep that order)."""
    kind: SessionKind = "webinar"


@dataclass(slots=True)
class RegistrationQuestions:
    """A webinar's or meeting's registration form: ``questions`` and ``custom_questions``."""

    session_id: int
    form: dict[str, Any]
    updated_at: datetime
    kind: SessionKind = "webinar"


@dataclass(slots=True)
class InviteLink:
    """A join link made for one named attendee (``POST .../invite_links``)."""

    token: str
    session_id: int
    name: str
    disable_video: bool
    disable_audio: bool
    created_at: datetime
    expires_at: datetime
    kind: SessionKind = "webinar"


@dataclass(slots=True)
class Panelist:
    """A webinar's panelist."""

    id: str
    session_id: int
    account_id: str
    email: str
    name: str
    details: dict[str, Any]
    """``virtual_background_id`` and the name tag's fields, as given."""
    join_token: str
    created_at: datetime
    seq: int
    """Its place in the order panelists were added (the list keeps it)."""
