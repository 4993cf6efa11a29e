"""Webinars and meetings alike: the per-kind rules table, a new session with Zoom's defaults,
the session as Zoom shows it and as the emulator records it, and the host's start and end
(which the control API and seed files play, since hosts start sessions in the Zoom app)."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from zoomlive.api import wire as w
from zoomlive.api import zoomdoc
from zoomlive.api.errors import E, by_words
from zoomlive.api.sessions import KINDS, KindSpec, SessionKind
from zoomlive.emulator import webhooks
from zoomlive.emulator.env import Env
from zoomlive.emulator.feed import FeedItem
from zoomlive.emulator.rules.common import Call, require_webinar_plan
from zoomlive.emulator.rules.views import view
from zoomlive.emulator.store import Account, LiveStream, Session, Tx, User

M = TypeVar("M", bound=BaseModel)


def _meeting_gate(tx: Tx, meeting: Session) -> Account:
    pair = tx.get_user_and_account(meeting.host_id)
    if pair is None:
        raise E.HOST_NOT_FOUND.error(id=meeting.host_id)
    account = pair[1]
    if account.plan == "free":
        # Zoom: "Meeting host must have a Pro license." Code 200 is Zoom's "no permission".
        raise E.PRO_LICENSE_REQUIRED.error()
    return account


def _webinar_gate(tx: Tx, webinar: Session) -> Account:
    return require_webinar_plan(tx, webinar)[1]


# Zoom's defaults for every documented field ---------------------------------------------------


def fold(schema: Any) -> Any:
    """The spec tier's ``allOf`` folding (imported late: the spec tier imports these rules)."""
    from zoomlive.emulator.spec.schemas import fold as fold_all_of

    return fold_all_of(schema)


def _zoom_default(schema: Any, depth: int = 0) -> Any:
    """The value Zoom shows for a field nobody set, read from its schema: its ``default``, else
    its ``example`` where that has the field's type, else its first ``enum`` member, else the
    type's empty value. An object gets every documented property; an array of objects one item
    built the same way (Zoom's documented shape, e.g. a dial-in number), other arrays none."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
        props: dict[str, Any] = dict(merged.get("properties", {}))
        for variant in variants:
            variant = fold(variant)
            for name, sub in variant.get("properties", {}).items():
                props.setdefault(name, sub)
            for key in ("type", "enum", "items"):
                if key in variant:
                    merged.setdefault(key, variant[key])
        if props:
            merged["properties"] = props
            merged.setdefault("type", "object")
        schema = merged
    kind = schema.get("type") or ("object" if "properties" in schema else "string")
    if kind == "object":
        return {
            name: _zoom_default(fold(sub), depth + 1)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        items = fold(schema.get("items", {}))
        if isinstance(items, dict) and (items.get("type") == "object" or "properties" in items):
            return [_zoom_default(items, depth + 1)]
        return []
    types: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
    }
    allowed = types.get(kind, (str,))
    enum = schema.get("enum")
    for key in ("default", "example"):
        value = schema.get(key)
        typed = isinstance(value, allowed) and (kind == "boolean" or not isinstance(value, bool))
        if typed and (not enum or value in enum):
            return value
    if enum:
        return enum[0]
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(kind, "")


@functools.cache
def documented(operation_id: str) -> dict[str, Any]:
    """Zoom's defaults for every field of an operation's success answer (cached: copy before
    changing)."""
    for op in zoomdoc.operations("meetings"):
        if op.operation_id == operation_id:
            for status, response in op.spec.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if str(status).startswith("2") and schema is not None:
                    value = _zoom_default(fold(schema))
                    return value if isinstance(value, dict) else {}
    return {}


def _deep(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on ``base``, objects merged key by key (Zoom's PATCH of ``settings``)."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        out[key] = _deep(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


@functools.cache
def documented_settings(kind: SessionKind) -> dict[str, Any]:
    """A session's full ``settings`` with Zoom's defaults (the known ones over the document's)."""
    base = documented(KINDS[kind].operation("get")).get("settings", {})
    return _deep(base, KINDS[kind].settings_defaults)


# Fields that only make sense for objects the emulator does not hold, left out on purpose
# (docs/fidelity.md "Fields of webinars and meetings").
_LEFT_OUT = frozenset({"occurrences", "recurrence", "assistant_id", "record_file_id"})


@functools.cache
def _top_defaults(operation_id: str) -> dict[str, Any]:
    out = {k: v for k, v in documented(operation_id).items() if k not in _LEFT_OUT}
    out.pop("settings", None)
    out["tracking_fields"] = []
    out["template_id"] = ""
    out["dynamic_host_key"] = ""
    return out


def passcode_fields(session: Session) -> dict[str, str]:
    """The passcode in Zoom's other forms: ``encrypted`` (the ``pwd`` of join links) and the
    numeric one H.323 and phone dial-in take (the passcode itself when it is digits)."""
    password = session.password
    if not password:
        return {"encrypted": "", "numeric": ""}
    digest = hashlib.sha256(f"{session.uuid}\x1f{password}".encode()).digest()
    encrypted = (
        base64.urlsafe_b64encode(digest).decode().rstrip("=").replace("-", "").replace("_", "")
    )
    numeric = (
        password if password.isdigit() else str(int.from_bytes(digest[:8], "big"))[:6].rjust(6, "0")
    )
    return {"encrypted": encrypted[:32], "numeric": numeric}


def host_pmi(host_id: str) -> str:
    """The host's personal meeting ID: ten digits, stable for the host (the emulator's users
    keep none of their own yet)."""
    digest = hashlib.sha256(f"pmi\x1f{host_id}".encode()).digest()
    return str(1_000_000_000 + int.from_bytes(digest[:8], "big") % 9_000_000_000)


def generated_passcode(session: Session) -> str:
    """The passcode Zoom makes up when the account requires one and the body sets none: six
    letters and digits, stable for the session."""
    digest = hashlib.sha256(f"passcode\x1f{session.uuid}".encode()).digest()
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:6])


def _webinar_view(fields: dict[str, Any], session: Session) -> dict[str, Any]:
    codes = passcode_fields(session)
    extra = {
        **_top_defaults("webinar"),
        "is_simulive": False,
        "creation_source": "open_api",
        "encrypted_passcode": codes["encrypted"],
        "h323_passcode": codes["numeric"],
        "registration_url": f"{fields['join_url'].replace('/w/', '/webinar/register/')}",
    }
    return view(w.Webinar, {**extra, **fields})


def _meeting_view(fields: dict[str, Any], session: Session) -> dict[str, Any]:
    codes = passcode_fields(session)
    extra = {
        **_top_defaults("meeting"),
        "creation_source": "open_api",
        "encrypted_password": codes["encrypted"],
        "h323_password": codes["numeric"],
        "pstn_password": codes["numeric"],
        "pre_schedule": False,
        "chat_join_url": f"{fields['join_url'].replace('/j/', '/launch/jc/')}",
        "registration_url": f"{fields['join_url'].replace('/j/', '/meeting/register/')}",
    }
    return view(w.Meeting, {**extra, **fields, "status": session.status})


@dataclass(frozen=True)
class KindRules:
    """What differs between webinars and meetings in Zoom's rules (the wire differences are in
    :data:`zoomlive.api.sessions.KINDS`)."""

    spec: KindSpec
    not_found: str
    """Zoom's 3001 text for a session that does not exist (or is another account's)."""
    livestream_not_found_status: int
    """HTTP status of that 3001 on the live-stream operations (Zoom: 400 webinars, 404)."""
    livestream_gate: Callable[[Tx, Session], Account]
    """Host and plan checks of the live-stream operations, in Zoom's order."""
    feature_missing: str
    """Zoom's text when the account has no custom live streaming."""
    not_configured: str
    """Zoom's 3000 text for a start before ``PATCH .../livestream``."""
    view: Callable[[dict[str, Any], Session], dict[str, Any]]
    """The session as Zoom's ``GET`` returns it (JSON-ready), from :func:`session_fields`."""
    start_throttle: timedelta | None
    """Zoom refuses a live-stream start this soon after the previous one (meetings: 30 s)."""
    daily_cap: str
    """Zoom's 429 text once a host is past the day's creates and updates (``{cap}``)."""


RULES: dict[SessionKind, KindRules] = {
    "webinar": KindRules(
        spec=KINDS["webinar"],
        not_found="Webinar does not exist: {id}.",
        livestream_not_found_status=400,
        livestream_gate=_webinar_gate,
        feature_missing=(
            "The current user has not enabled the custom live streaming feature of the webinar."
        ),
        not_configured="The current webinar is not configured with a custom streaming service.",
        view=_webinar_view,
        start_throttle=None,
        daily_cap=(
            "A maximum of ({cap}) webinars can be created and updated for a single user in one day."
        ),
    ),
    "meeting": KindRules(
        spec=KINDS["meeting"],
        not_found="Meeting does not exist: {id}.",
        livestream_not_found_status=404,
        livestream_gate=_meeting_gate,
        feature_missing=(
            "The current user has not enabled the custom live streaming feature of the meeting."
        ),
        not_configured="Cannot access webinar info.",  # sic: Zoom's text for meetings too
        view=_meeting_view,
        start_throttle=timedelta(seconds=30),
        daily_cap=(
            "You have exceeded the daily rate limit ({cap}) of Meeting Create/Update API requests "
            "permitted for this particular user. You may resume these requests at GMT 00:00:00."
        ),
    ),
}


def load_session(
    tx: Tx, call: Call, kind: SessionKind, *, status: int, message: str, for_update: bool = False
) -> Session:
    """The caller's webinar or meeting, or Zoom's 3001 (another account's does not exist
    either). ``for_update`` locks the row (PostgreSQL) so concurrent changes serialise."""
    if call.session_id is not None:
        found = tx.get_session(kind, call.session_id, for_update=for_update)
    else:
        found = tx.get_session_by_uuid(kind, call.session_uuid or "")
    if found is None or found.account_id != call.principal.account_id:
        shown = call.path.get(KINDS[kind].id_param, "")
        raise by_words(status, 3001, message).error(id=shown)
    return found


def count_create_update(env: Env, tx: Tx, host: User, kind: SessionKind) -> None:
    """Zoom's per-host cap on creates and updates per UTC day (429 once past it)."""
    now = env.clock.now()
    count = tx.bump_counter(f"{kind}_create_update:{host.id}", now.strftime("%Y-%m-%d"))
    cap = env.settings.webinar_daily_cap
    if count > cap:
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        retry = {"Retry-After": w.zoom_time(midnight) or ""}
        raise by_words(429, 429, RULES[kind].daily_cap).error(cap=cap, headers=retry)


# a new session -----------------------------------------------------------------------------


def new_session_id(env: Env, tx: Tx, kind: SessionKind) -> int:
    while True:
        candidate = env.source.webinar_id()
        if tx.get_session(kind, candidate) is None:
            return candidate


def new_session(env: Env, tx: Tx, kind: SessionKind, host: User, session_id: int | None) -> Session:
    """A webinar or meeting of ``host`` with Zoom's defaults, not yet stored."""
    spec = KINDS[kind]
    now = env.clock.now().replace(microsecond=0)
    session = Session(
        id=session_id or new_session_id(env, tx, kind),
        uuid=env.source.zoom_uuid(),
        account_id=host.account_id,
        host_id=host.id,
        topic=spec.default_topic,
        type=spec.default_type,
        start_time=now,
        duration=60,
        timezone=host.timezone,
        agenda="",
        password="",
        settings={},
        status="waiting",
        created_at=now,
        updated_at=now,
        kind=kind,
    )
    # Zoom makes up a passcode when the account requires one (Zoom's default) and none is given
    session.password = generated_passcode(session)
    return session


def apply_fields(session: Session, body: w.SessionCreate) -> None:
    """The fields a create or update body sets; absent (or null) ones keep their value."""
    given = body.model_fields_set
    for name in ("topic", "type", "duration", "timezone", "password", "agenda"):
        value = getattr(body, name, None)
        if name in given and value is not None:
            setattr(session, name, value)
    if "start_time" in given and body.start_time is not None:
        start = body.start_time
        if start.tzinfo is None:  # Zoom reads a naive time in the session's timezone; we use UTC
            start = start.replace(tzinfo=session.created_at.tzinfo)
        session.start_time = start
    apply_recurrence(session, body)
    settings = getattr(body, "settings", None)
    if isinstance(settings, BaseModel):
        session.settings = _deep(
            session.settings, settings.model_dump(exclude_unset=True, exclude_none=True)
        )


# views -------------------------------------------------------------------------------------


def session_fields(session: Session, host: User | None, base_url: str) -> dict[str, Any]:
    """What Zoom's webinar and meeting objects share (join links point at the emulator)."""
    spec = KINDS[session.kind]
    return {
        "id": session.id,
        "uuid": session.uuid,
        "host_id": session.host_id,
        "host_email": host.email if host else None,
        "topic": session.topic,
        "type": session.type,
        "start_time": w.zoom_time(session.start_time),
        "duration": session.duration,
        "timezone": session.timezone,
        "agenda": session.agenda,
        "created_at": w.zoom_time(session.created_at),
        "join_url": f"{base_url}/{spec.join_path}/{session.id}",
        "start_url": f"{base_url}/s/{session.id}",
        "password": session.password,
        "settings": _deep(documented_settings(session.kind), session.settings),
        "pmi": host_pmi(session.host_id) if session.kind == "meeting" else None,
    }


def session_view(
    session: Session,
    host: User | None,
    base_url: str,
    query: w.OccurrenceQuery | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The session as Zoom's ``GET`` and create calls return it (for one occurrence when the
    query names one)."""
    out = RULES[session.kind].view(session_fields(session, host, base_url), session)
    if session.recurrence is not None:
        oid = query.occurrence_id if query else None
        previous = bool(query and query.show_previous_occurrences)
        out.update(recurring_fields(session, oid, previous=previous or now is None, now=now))
    elif query is not None and query.occurrence_id is not None:
        raise E.INVALID_OCCURRENCE.error()
    return out


def list_item(model: type[BaseModel], session: Session, base_url: str) -> dict[str, Any]:
    """A list entry: the fields of ``session_fields`` that the list's model has."""
    fields = session_fields(session, host=None, base_url=base_url)
    return view(model, {k: v for k, v in fields.items() if k in model.model_fields})


def session_record(session: Session) -> dict[str, Any]:
    """The session as the emulator records it (control API, webhook payloads)."""
    return {
        "id": session.id,
        "kind": session.kind,
        "uuid": session.uuid,
        "account_id": session.account_id,
        "host_id": session.host_id,
        "topic": session.topic,
        "type": session.type,
        "status": session.status,
        "start_time": w.zoom_time(session.start_time),
        "duration": session.duration,
        "timezone": session.timezone,
        "agenda": session.agenda,
        "settings": session.settings,
        "started_at": w.zoom_time(session.started_at),
        "ended_at": w.zoom_time(session.ended_at),
    }


def webhook_object(
    session: Session, host: User | None = None, base_url: str | None = None
) -> dict[str, Any]:
    """What webhook payloads are built from: the session as Zoom's ``GET`` shows it (join links
    only when ``base_url`` is known) over the emulator's record of it. Each event takes the
    fields its document lists (``webhook_payloads.payload_for``)."""
    fields = session_view(session, host, base_url or "")
    if base_url is None:
        fields.pop("join_url", None)
        fields.pop("start_url", None)
    return {**session_record(session), **fields}


# the host ----------------------------------------------------------------------------------


def streaming_event(
    tx: Tx, now: datetime, session: Session, stream: LiveStream, started: bool
) -> None:
    """Zoom's ``meeting.live_streaming_started/stopped``; nothing where Zoom sends nothing
    (webinars)."""
    events = KINDS[session.kind].streaming_events
    if events is None:
        return
    webhooks.emit(
        tx,
        now,
        session.account_id,
        events[0] if started else events[1],
        {
            **webhook_object(session, tx.get_user(session.host_id)),
            "live_streaming": {
                "service": "Custom_Live_Streaming_Service",
                "custom_live_streaming_settings": {
                    "stream_url": stream.stream_url,
                    "stream_key": stream.stream_key,
                    "page_url": stream.page_url,
                    **({"resolution": stream.resolution} if stream.resolution else {}),
                },
                "date_time": w.zoom_time(now),
            },
        },
        operator=webhooks.owner_of(tx, session.account_id),
    )


def start_session(env: Env, tx: Tx, session: Session) -> None:
    """The host starts the webinar or meeting in the Zoom app (the control API plays the
    host)."""
    now = env.clock.now()
    session.status = "started"
    session.started_at = now
    session.ended_at = None
    session.updated_at = now
    tx.update_session(session)
    tx.effects.append(FeedItem("host", {"action": "start", "kind": session.kind, "id": session.id}))
    webhooks.emit(
        tx,
        now,
        session.account_id,
        KINDS[session.kind].started_event,
        {**webhook_object(session, tx.get_user(session.host_id)), "start_time": w.zoom_time(now)},
    )


def end_session(env: Env, tx: Tx, session: Session) -> None:
    """End a webinar or meeting; its live stream stops with it, in the same transaction."""
    now = env.clock.now()
    session.status = "ended"
    session.ended_at = now
    session.updated_at = now
    tx.update_session(session)
    tx.effects.append(FeedItem("host", {"action": "end", "kind": session.kind, "id": session.id}))
    webhooks.emit(
        tx,
        now,
        session.account_id,
        KINDS[session.kind].ended_event,
        {**webhook_object(session, tx.get_user(session.host_id)), "end_time": w.zoom_time(now)},
    )
    stream = tx.get_livestream(session.kind, session.id, for_update=True)
    if stream is not None and stream.session_ended(now):
        tx.save_livestream(stream)
        streaming_event(tx, now, session, stream, started=False)


# recurring sessions ------------------------------------------------------------------------

FIXED_TIME_RECURRING = {"meeting": 8, "webinar": 9}
"""The type of a recurring session with a fixed time, whose occurrences Zoom lists."""
MAX_OCCURRENCES = 60


def _month_day(year: int, month: int, week: int, weekday: int) -> int | None:
    """The day of the month of its ``week``-th (``-1``: last) ``weekday`` (1 Sunday..7)."""
    first = datetime(year, month, 1)
    days = (datetime(year + month // 12, month % 12 + 1, 1) - first).days
    wanted = (weekday + 5) % 7  # Python's Monday=0
    matches = [d for d in range(1, days + 1) if first.replace(day=d).weekday() == wanted]
    if week == -1:
        return matches[-1]
    return matches[week - 1] if week - 1 < len(matches) else None


def occurrence_starts(session: Session) -> list[datetime]:
    """The starts the recurrence rule gives, from the session's start (Zoom's order and limits:
    ``end_times`` (default 1) or every start up to ``end_date_time``, never more than 60)."""
    rule = session.recurrence
    if not rule or session.start_time is None or session.type != FIXED_TIME_RECURRING[session.kind]:
        return []
    start = session.start_time
    interval = int(rule.get("repeat_interval") or 1)
    until = rule.get("end_date_time")
    end = datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None
    count = MAX_OCCURRENCES if end is not None else int(rule.get("end_times") or 1)
    out: list[datetime] = []

    def take(at: datetime) -> bool:
        if end is not None and at > end:
            return False
        if at >= start:
            out.append(at)
        return len(out) < count

    kind = rule.get("type")
    if kind == 1:
        step = 0
        while take(start + timedelta(days=step * interval)):
            step += 1
    elif kind == 2:
        days = sorted({int(d) for d in str(rule.get("weekly_days") or "1").split(",")})
        week_start = start - timedelta(days=(start.weekday() + 1) % 7)  # the Sunday before
        week = 0
        while week < 400:
            base = week_start + timedelta(weeks=week * interval)
            if not all(take(base + timedelta(days=d - 1)) for d in days):
                break
            week += 1
    elif kind == 3:
        month = 0
        while month < 400:
            total = start.month - 1 + month * interval
            year, mon = start.year + total // 12, total % 12 + 1
            if rule.get("monthly_week") is not None:
                day = _month_day(
                    year, mon, int(rule["monthly_week"]), int(rule.get("monthly_week_day") or 1)
                )
            else:
                day = int(rule.get("monthly_day") or 1)
            month += 1
            try:
                at = start.replace(year=year, month=mon, day=day or 0)
            except ValueError:
                continue  # no such day in this month (the 31st of April): Zoom skips it
            if not take(at):
                break
    return out


def occurrence_id(at: datetime) -> str:
    """Zoom's occurrence id: the occurrence's start in milliseconds since the epoch."""
    return str(int(at.timestamp()) * 1000)


def occurrences(
    session: Session, *, previous: bool = False, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The occurrences Zoom lists (deleted ones left out; past ones only with ``previous``)."""
    changes = session.occurrence_changes or {}
    out: list[dict[str, Any]] = []
    for at in occurrence_starts(session):
        oid = occurrence_id(at)
        change = changes.get(oid, {})
        if change.get("deleted"):
            continue
        start = change.get("start_time") or w.zoom_time(at)
        if not previous and now is not None and at + timedelta(minutes=session.duration) < now:
            continue
        out.append(
            {
                "occurrence_id": oid,
                "start_time": start,
                "duration": change.get("duration", session.duration),
                "status": "available",
            }
        )
    return out


def find_occurrence(session: Session, oid: str | None) -> dict[str, Any] | None:
    """The occurrence ``oid`` names, ``None`` without one, or Zoom's 400 code 300."""
    if oid is None:
        return None
    for item in occurrences(session, previous=True):
        if item["occurrence_id"] == oid:
            return item
    raise E.INVALID_OCCURRENCE.error()


def apply_recurrence(session: Session, body: w.SessionCreate) -> None:
    """A create or update body's ``recurrence``; a session no longer recurring drops it."""
    if "recurrence" in body.model_fields_set and body.recurrence is not None:
        rule = body.recurrence.model_dump(mode="json", exclude_none=True)
        # Zoom's defaults: every day/week/month, one occurrence unless an end date is given
        rule.setdefault("repeat_interval", 1)
        if "end_date_time" not in rule:
            rule.setdefault("end_times", 1)
        if rule.get("end_date_time"):
            rule["end_date_time"] = w.zoom_time(body.recurrence.end_date_time)
        session.recurrence = rule
    if session.type not in (3, 6, 8, 9):
        session.recurrence = None
        session.occurrence_changes = None


def change_occurrence(session: Session, oid: str, body: w.SessionCreate) -> None:
    """An update of one occurrence: its start and length only, the series keeps its own."""
    changes = dict(session.occurrence_changes or {})
    change = dict(changes.get(oid, {}))
    if body.start_time is not None:
        start = body.start_time
        if start.tzinfo is None:
            start = start.replace(tzinfo=session.created_at.tzinfo)
        change["start_time"] = w.zoom_time(start)
    if body.duration is not None:
        change["duration"] = body.duration
    changes[oid] = change
    session.occurrence_changes = changes


def delete_occurrence(session: Session, oid: str) -> bool:
    """Marks one occurrence deleted; ``True`` when none is left (Zoom then deletes the
    session)."""
    changes = dict(session.occurrence_changes or {})
    changes[oid] = {"deleted": True}
    session.occurrence_changes = changes
    return not occurrences(session, previous=True)


def recurring_fields(
    session: Session, oid: str | None = None, previous: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """``recurrence`` and ``occurrences`` of a recurring session's answer; for ``oid`` the
    occurrence's own start and length too."""
    if session.recurrence is None:
        return {}
    out: dict[str, Any] = {"recurrence": session.recurrence}
    listed = occurrences(session, previous=previous, now=now)
    if listed:
        out["occurrences"] = listed
    found = find_occurrence(session, oid)
    if found is not None:
        out["start_time"] = found["start_time"]
        out["duration"] = found["duration"]
        out["occurrences"] = [found]
    return out


def occurrence_query(call: Call) -> w.OccurrenceQuery | None:
    """The call's ``occurrence_id`` query, where its operation takes one."""
    return call.query if isinstance(call.query, w.OccurrenceQuery) else None


def update_occurrence_or_series(session: Session, call: Call, body: w.SessionCreate) -> None:
    """An update: of the occurrence the query names (its start and length), else the series."""
    query = occurrence_query(call)
    oid = query.occurrence_id if query else None
    if oid is None:
        apply_fields(session, body)
        return
    if session.recurrence is None:
        raise E.INVALID_OCCURRENCE.error()
    find_occurrence(session, oid)
    change_occurrence(session, oid, body)


def delete_occurrence_only(tx: Tx, session: Session, call: Call) -> bool:
    """A delete naming an occurrence removes that one (``True``: done, the session stays);
    deleting the last one deletes the session as Zoom does (``False``)."""
    query = occurrence_query(call)
    oid = query.occurrence_id if query else None
    if oid is None:
        return False
    if session.recurrence is None:
        raise E.INVALID_OCCURRENCE.error()
    find_occurrence(session, oid)
    if delete_occurrence(session, oid):
        return False
    tx.update_session(session)
    return True
