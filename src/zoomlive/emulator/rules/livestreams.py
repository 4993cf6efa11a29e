"""Live streams of webinars and meetings: configuration (Zoom's GET/PATCH ``/livestream``) and
status (``/livestream/status``: start, stop, settings, and for meetings ``mode``).

Checks run in Zoom's order (after token, scope, id and body, done by the route): existence and
ownership (3001), host user (1001), plan and feature (200), configured (3000), running (200).
Each change, state included, is one transaction; the row is locked (PostgreSQL) or the store's
writer lock is held (SQLite), so concurrent starts and stops serialise.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from zoomlive.api import wire as w
from zoomlive.api.errors import E, ZoomError, by_words
from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import Call, Handler, Result
from zoomlive.emulator.rules.sessions import RULES, load_session, streaming_event
from zoomlive.emulator.store import LiveStream, Session, Tx

DEFAULT_LAYOUT = "follow_host"
DEFAULT_CLOSE_CAPTION = "burnt-in"


def settings_only_while_stopped() -> ZoomError:
    # Zoom: "You can only update settings for a stopped live stream." The answer to a violation
    # is undocumented; the emulator refuses it with code 300 and that sentence (a choice).
    return E.LIVESTREAM_SETTINGS_WHILE_RUNNING.error()


def gate(tx: Tx, call: Call, kind: SessionKind, *, for_update: bool = False) -> Session:
    """Existence, host user, plan and the custom live streaming feature, in Zoom's order."""
    rules = RULES[kind]
    found = load_session(
        tx,
        call,
        kind,
        status=rules.livestream_not_found_status,
        message=rules.not_found,
        for_update=for_update,
    )
    account = rules.livestream_gate(tx, found)
    if not account.custom_live_streaming:
        raise by_words(400, 200, rules.feature_missing).error()
    return found


def require_streaming_setting(tx: Tx, owner: Session) -> None:
    """The host's settings must allow live streaming (``in_meeting.allow_live_streaming`` and
    ``custom_live_streaming_service``; for webinars also the custom service among the webinar
    live-streaming services): else the same 200 as an account without the feature."""
    if not tx.live_streaming_allowed(owner.host_id, owner.kind):
        raise by_words(400, 200, RULES[owner.kind].feature_missing).error()


_BOOKKEEPING = frozenset({"updated_at", "version", "events", "effects"})
_OBSERVABLE = attrgetter(*(f.name for f in fields(LiveStream) if f.name not in _BOOKKEEPING))
"""What a caller can observe of a stream: all but its bookkeeping."""


def _snapshot(stream: LiveStream) -> Any:
    return _OBSERVABLE(stream)


def _save_if_changed(tx: Tx, stream: LiveStream, before: Any, now: datetime) -> None:
    """No change, no write: no version bump, no event, nothing for the media or the feed."""
    if _snapshot(stream) == before and not stream.events and not stream.effects:
        return
    stream.updated_at = now
    tx.save_livestream(stream)


def stream_of(tx: Tx, owner: Session, *, for_update: bool = False) -> LiveStream:
    stream = tx.get_livestream(owner.kind, owner.id, for_update=for_update)
    return stream or LiveStream(kind=owner.kind, owner_id=owner.id, account_id=owner.account_id)


def details(kind: SessionKind) -> Handler:
    def get_details(env: Env, tx: Tx, call: Call) -> Result:
        owner = gate(tx, call, kind)
        stream = stream_of(tx, owner)
        return Result(
            200,
            w.LiveStreamDetails(
                stream_url=stream.stream_url or "",
                stream_key=stream.stream_key or "",
                page_url=stream.page_url or "",
                # Zoom streams at 720p unless told 1080p, and says so (docs/fidelity.md)
                resolution=stream.resolution or "720p",
            ),
        )

    return get_details


def configure(kind: SessionKind) -> Handler:
    def update_config(env: Env, tx: Tx, call: Call) -> Result:
        body = call.body
        assert isinstance(body, w.LiveStreamUpdate)
        owner = gate(tx, call, kind, for_update=True)
        require_streaming_setting(tx, owner)
        stream = stream_of(tx, owner, for_update=True)
        before = _snapshot(stream) if stream.version else None
        stream.stream_url = body.stream_url
        stream.stream_key = body.stream_key
        stream.page_url = body.page_url
        if "resolution" in body.model_fields_set:
            stream.resolution = body.resolution
        _save_if_changed(tx, stream, before, env.clock.now())
        return Result(204)

    return update_config


def _given(settings: w.WebinarLiveStreamSettings | None) -> dict[str, Any]:
    """The settings a call sets (null means absent)."""
    if settings is None:
        return {}
    return settings.model_dump(exclude_unset=True, exclude_none=True)


def _changes(stream: LiveStream, given: dict[str, Any]) -> bool:
    """Would these settings change what is in force?"""
    return any(getattr(stream, name) != value for name, value in given.items())


def _apply(stream: LiveStream, given: dict[str, Any]) -> None:
    for name, value in given.items():
        setattr(stream, name, value)


def _start(env: Env, stream: LiveStream, owner: Session, now: datetime) -> None:
    if stream.display_name is None:
        stream.display_name = owner.topic[:50] or "Zoom"  # a choice: the session's topic
    if stream.active_speaker_name is None:
        stream.active_speaker_name = False
    if owner.kind == "meeting":
        stream.layout = stream.layout or DEFAULT_LAYOUT
        stream.close_caption = stream.close_caption or DEFAULT_CLOSE_CAPTION
    # Without media to connect: Zoom's "live" as soon as it accepts, in the same change.
    stream.request_start(
        now,
        pushed=env.settings.media in ("ffmpeg", "remote"),
        detail="media off" if env.settings.media == "off" else "fake media",
    )


def update_status(kind: SessionKind) -> Handler:
    def status(env: Env, tx: Tx, call: Call) -> Result:
        body = call.body
        assert isinstance(body, w.WebinarLiveStreamStatus | w.MeetingLiveStreamStatus)
        rules = RULES[kind]
        owner = gate(tx, call, kind, for_update=True)
        stream = stream_of(tx, owner, for_update=True)
        before = _snapshot(stream) if stream.version else None
        now = env.clock.now()
        running = stream.state in ("starting", "live")
        settings = body.settings
        given = _given(settings)
        if body.action == "start":
            require_streaming_setting(tx, owner)
            throttle = rules.start_throttle
            last = stream.last_start_request_at
            if throttle is not None and last is not None and now - last < throttle:
                raise E.LIVESTREAM_START_THROTTLED.error(id=owner.id)
            if not stream.configured:
                raise by_words(400, 3000, rules.not_configured).error()
            if owner.status != "started":
                raise E.SESSION_NOT_STARTED.error(noun=rules.spec.noun, id=owner.id)
            if running:
                if _changes(stream, given):
                    raise settings_only_while_stopped()
                if throttle is not None:  # a start still counts towards the throttle
                    stream.last_start_request_at = now
                    _save_if_changed(tx, stream, before, now)
                return Result(204)  # already streaming: nothing to do (a choice)
            _apply(stream, given)
            _start(env, stream, owner, now)
            streaming_event(tx, now, owner, stream, started=True)
        elif body.action == "stop":
            if running or stream.state == "failed":
                stream.request_stop(now)
                streaming_event(tx, now, owner, stream, started=False)
            _apply(stream, given)  # stopped now, so settings may change
        elif body.action == "mode":
            if not running:
                raise E.LIVESTREAM_NOT_STARTED.error()
            assert isinstance(settings, w.MeetingLiveStreamSettings | None)
            if settings is not None:
                if settings.layout is not None:
                    stream.layout = settings.layout
                if settings.close_caption is not None:
                    stream.close_caption = settings.close_caption
                if _snapshot(stream) != before:
                    stream.overlays_changed()
        else:
            if running and _changes(stream, given):
                raise settings_only_while_stopped()
            _apply(stream, given)
        _save_if_changed(tx, stream, before, now)
        return Result(204)

    return status
