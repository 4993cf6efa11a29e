"""Registrants and registration questions of webinars and meetings: register, list, get, approve,
deny or cancel, delete; the form's questions. Zoom's codes and messages are its Meetings API
document's; choices where it documents nothing are in docs/fidelity.md ("Registrants and
panelists").

Registration is on when the session's ``settings.approval_type`` is 0 (approve at once) or 1
(the host approves); 2, Zoom's default, means no registration.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from zoomlive.api import registrants as r
from zoomlive.api import wire as w
from zoomlive.api.errors import E, ZoomErrorSpec, by_words
from zoomlive.api.sessions import KINDS, SessionKind
from zoomlive.emulator import webhooks
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import (
    Call,
    Handler,
    Result,
    page_info,
    page_window,
    require_webinar_plan,
)
from zoomlive.emulator.rules.sessions import RULES, load_session, webhook_object
from zoomlive.emulator.rules.views import view
from zoomlive.emulator.store import Session, Tx, User
from zoomlive.emulator.store.records import Registrant, RegistrationQuestions
from zoomlive.emulator.store.schema import QUESTION_TABLES, REGISTRANT_TABLES

EVENTS: tuple[str, ...] = tuple(
    f"{kind}.registration_{what}"
    for kind in ("webinar", "meeting")
    for what in ("created", "approved", "denied", "cancelled")
)
"""The webhook events these rules send (Zoom's names)."""

_REGISTRANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
INVALID_REGISTRANT_ID = (
    "The value that you entered for the Registrant ID field is invalid. Enter a valid value and "
    "try again."
)
NOT_ENABLED = {
    "webinar": (3000, "Registration has not been enabled for this webinar: {id}."),
    "meeting": (300, "Registration has not been enabled for this meeting: {id}."),
}
"""Zoom's code and text when a call needs registration and the session has none."""
NOT_REQUIRED = {
    "webinar": (3000, "This webinar does not have registration as required: {id}."),
    "meeting": (300, "Registration has not been enabled for this meeting: {id}."),
}
"""...and for a registration itself."""


# the session ---------------------------------------------------------------------------------


def load(tx: Tx, call: Call, kind: SessionKind, *, paid: bool = True) -> tuple[Session, User]:
    """The caller's webinar or meeting (404 code 3001) and its host, through the plan gate:
    webinars need the webinar plan (code 200), meetings a paid host (code 200) where ``paid``."""
    session = load_session(tx, call, kind, status=404, message=RULES[kind].not_found)
    if kind == "webinar":
        host, _ = require_webinar_plan(tx, session)
        return session, host
    pair = tx.get_user_and_account(session.host_id)
    if pair is None:
        raise E.HOST_NOT_FOUND.error(id=session.host_id)
    host, account = pair
    if paid and account.plan == "free":
        raise E.PAID_USERS_ONLY.error(id=host.id)
    return session, host


def approval_type(session: Session) -> int:
    """The stored ``settings.approval_type`` (Zoom's default 2: no registration)."""
    value = session.settings.get("approval_type", 2)
    return value if isinstance(value, int) else 2


def require_registration(session: Session, call: Call, table: dict[str, tuple[int, str]]) -> None:
    if approval_type(session) == 2:
        code, message = table[session.kind]
        shown = call.path.get(KINDS[session.kind].id_param, str(session.id))
        raise by_words(400, code, message).error(id=shown)


# views ---------------------------------------------------------------------------------------


def join_url(base_url: str, kind: SessionKind, sid: int, tk: str) -> str:
    """A registrant's (or panelist's) own join link."""
    return f"{base_url}/{KINDS[kind].join_path}/{sid}?tk={tk}"


def registrant_view(reg: Registrant, base_url: str) -> dict[str, Any]:
    """A registrant as Zoom's get and list show it: every documented field."""
    fields: dict[str, Any] = {name: reg.details.get(name, "") for name in r.DETAIL_FIELDS}
    return view(
        r.Registrant,
        {
            "id": reg.id,
            "first_name": reg.first_name,
            "last_name": reg.last_name,
            "email": reg.email,
            **fields,
            "custom_questions": list(reg.details.get("custom_questions", [])),
            "language": reg.details.get("language", "en-US"),
            "status": reg.status,
            "create_time": w.zoom_time(reg.create_time),
            "join_url": join_url(base_url, reg.kind, reg.session_id, reg.join_token),
            "participant_pin_code": reg.pin_code if reg.kind == "meeting" else None,
        },
    )


# webhooks ------------------------------------------------------------------------------------


def send_event(
    tx: Tx,
    now: datetime,
    session: Session,
    host: User,
    reg: Registrant,
    what: str,
    base_url: str,
    *,
    by_host: bool,
) -> None:
    """``{kind}.registration_{what}`` with the session and the registrant, as Zoom's webhook
    document lists them (the one place these payloads are put together)."""
    record = {
        **webhook_object(session, host, base_url),
        "registrant": registrant_view(reg, base_url),
    }
    webhooks.emit(
        tx,
        now,
        session.account_id,
        f"{session.kind}.registration_{what}",
        record,
        operator=(host.email, host.id) if by_host else None,
    )


# handlers ------------------------------------------------------------------------------------


def _find(tx: Tx, session: Session, registrant_id: str) -> Registrant | None:
    found: Registrant | None = tx.get(REGISTRANT_TABLES[session.kind], registrant_id)
    if found is None or found.session_id != session.id:
        return None
    return found


def _all(tx: Tx, session: Session) -> list[Registrant]:
    """The session's registrants in registration order."""
    rows: list[Registrant] = tx.select(
        REGISTRANT_TABLES[session.kind],
        lambda x: x.session_id == session.id,
        order=lambda x: x.seq,
    )
    return rows


def _by_email(tx: Tx, session: Session, email: str) -> Registrant | None:
    wanted = email.lower()
    return next((x for x in _all(tx, session) if x.email.lower() == wanted), None)


def _registrant_id(call: Call) -> str:
    value = call.path["registrantId"]
    if not _REGISTRANT_ID.fullmatch(value):
        raise E.INVALID_REGISTRANT_ID.error()
    return value


def _register(
    env: Env,
    tx: Tx,
    session: Session,
    host: User,
    person: r.RegistrantCreate | r.BatchPerson,
    auto_approve: bool | None,
    base_url: str,
) -> Registrant:
    """A new registration (pending, or approved where the session approves at once or the
    caller asks), or the one this email already has; the host cannot register."""
    if person.email.lower() == host.email.lower():
        raise E.HOST_CANNOT_REGISTER.error()
    everyone = _all(tx, session)
    wanted = person.email.lower()
    found = next((x for x in everyone if x.email.lower() == wanted), None)
    if found is not None:
        return found
    now = env.clock.now().replace(microsecond=0)
    auto = approval_type(session) == 0 or auto_approve is True
    details = person.model_dump(
        exclude_none=True,
        exclude={"first_name", "last_name", "email", "auto_approve", "source_id"},
    )
    reg = Registrant(
        id=env.source.user_id(),
        session_id=session.id,
        account_id=session.account_id,
        email=person.email,
        first_name=person.first_name,
        last_name=person.last_name,
        status="approved" if auto else "pending",
        details=details,
        join_token=env.source.token()[:43],
        pin_code=int(env.source.webinar_id()) % 90_000_000 + 10_000_000,
        create_time=now,
        updated_at=now,
        seq=everyone[-1].seq + 1 if everyone else 1,
        kind=session.kind,
    )
    tx.insert(REGISTRANT_TABLES[session.kind], reg)
    send_event(tx, now, session, host, reg, "created", base_url, by_host=False)
    return reg


def create(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        session, host = load(tx, call, kind)
        body = call.body
        assert isinstance(body, r.RegistrantCreate)
        require_registration(session, call, NOT_REQUIRED)
        if session.status == "ended":
            raise E.SESSION_OVER_REGISTER.error(
                noun=KINDS[kind].noun,
                kind=kind,
            )
        auto = getattr(body, "auto_approve", None)
        reg = _register(env, tx, session, host, body, auto, call.base_url)
        answer = {
            "id": session.id,
            "registrant_id": reg.id,
            "join_url": join_url(call.base_url, kind, session.id, reg.join_token),
            "topic": session.topic,
            "start_time": w.zoom_time(session.start_time),
            "participant_pin_code": reg.pin_code if kind == "meeting" else None,
        }
        return Result(201, view(r.RegistrantCreated, answer))

    return handler


BATCH_RULES: dict[SessionKind, dict[str, tuple[int, str]]] = {
    "webinar": {
        "type": (
            300,
            "This API can only be used for scheduled webinars (type 5). Batch registration is "
            "not supported for other webinar types.",
        ),
        "off": (3000, "Registration has not been enabled for this webinar: {id}."),
        "over": (
            3038,
            "The webinar is over. You cannot register now. If you have any questions, contact "
            "the webinar's host.",
        ),
    },
    "meeting": {
        "type": (
            303,
            "This API can only be used for scheduled meeting(meeting type: 2). Batch "
            "registration is not supported for other meeting types.",
        ),
        "off": (404, "Registration has not been enabled for this meeting: {id}."),
        "over": (
            3038,
            "Meeting is over, you can not register now. If you have any questions, please "
            "contact the Meeting host.",
        ),
    },
}
"""Zoom's codes and texts for a batch registration it refuses, per kind."""
BATCH_TYPES: dict[SessionKind, int] = {"webinar": 5, "meeting": 2}


def create_batch(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        session, host = load(tx, call, kind)
        body = call.body
        assert isinstance(body, r.BatchRegistrantCreate)
        words = BATCH_RULES[kind]
        if session.type != BATCH_TYPES[kind]:
            raise by_words(400, *words["type"]).error()
        require_registration(session, call, {kind: words["off"]})
        if session.status == "ended":
            raise by_words(400, *words["over"]).error()
        made = [
            _register(env, tx, session, host, person, body.auto_approve, call.base_url)
            for person in body.registrants or []
        ]
        items = [
            {
                "email": reg.email,
                "registrant_id": reg.id,
                "join_url": join_url(call.base_url, kind, session.id, reg.join_token),
                **({"participant_pin_code": reg.pin_code} if kind == "meeting" else {}),
            }
            for reg in made
        ]
        return Result(201, view(r.BatchRegistrants, {"registrants": items}))

    return handler


def list_all(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        session, _ = load(tx, call, kind)
        query = call.query
        assert isinstance(query, r.RegistrantListQuery)
        offset, page_size = page_window(cast(w.WebinarListQuery, query))
        rows = [x for x in _all(tx, session) if x.status == query.status]
        page = rows[offset : offset + page_size]
        items = [registrant_view(x, call.base_url) for x in page]
        return Result(
            200,
            view(
                r.RegistrantList,
                {**page_info(offset, page_size, len(page), len(rows)), "registrants": items},
            ),
        )

    return handler


def _the_registrant(tx: Tx, call: Call, kind: SessionKind, unknown: ZoomErrorSpec) -> Registrant:
    """The registrant the path names, in a session with registration on; ``unknown`` answers
    an id it does not have (Zoom words it differently for a get and a delete)."""
    session, _ = load(tx, call, kind)
    registrant_id = _registrant_id(call)
    require_registration(session, call, NOT_ENABLED)
    reg = _find(tx, session, registrant_id)
    if reg is None:
        raise unknown.error(id=registrant_id)
    return reg


def get(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        reg = _the_registrant(tx, call, kind, E.REGISTRANT_DOES_NOT_EXIST)
        return Result(200, registrant_view(reg, call.base_url))

    return handler


def delete(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        reg = _the_registrant(tx, call, kind, E.REGISTRANT_NOT_FOUND)
        tx.delete(REGISTRANT_TABLES[kind], reg.id)
        return Result(204)

    return handler


_MOVES: dict[str, tuple[frozenset[str], str, str]] = {
    "approve": (frozenset({"pending", "denied"}), "approved", "approved"),
    "deny": (frozenset({"pending"}), "denied", "denied"),
    "cancel": (frozenset({"approved", "pending"}), "denied", "cancelled"),
}
"""action -> (statuses it applies to, the new status, the event it sends)."""


def update_status(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        session, host = load(tx, call, kind)
        body = call.body
        assert isinstance(body, r.RegistrantStatusUpdate)
        require_registration(
            session,
            call,
            {k: (300, "Registration has not been enabled for this meeting: {id}.") for k in KINDS},
        )
        applies, new_status, event = _MOVES[body.action]
        now = env.clock.now().replace(microsecond=0)
        seen: set[str] = set()
        for ref in body.registrants or []:
            reg = None
            if ref.id:
                reg = _find(tx, session, ref.id)
            elif ref.email:
                reg = _by_email(tx, session, ref.email)
            if reg is None or reg.id in seen or reg.status not in applies:
                continue
            seen.add(reg.id)
            reg.status = new_status
            reg.updated_at = now
            tx.update(REGISTRANT_TABLES[kind], reg)
            send_event(tx, now, session, host, reg, event, call.base_url, by_host=True)
        return Result(204)

    return handler


# questions -----------------------------------------------------------------------------------

DEFAULT_FORM: dict[str, Any] = {"questions": [], "custom_questions": []}


def questions_get(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        session, _ = load(tx, call, kind)
        require_registration(session, call, NOT_ENABLED)
        found: RegistrationQuestions | None = tx.get(QUESTION_TABLES[kind], session.id)
        form = found.form if found is not None else DEFAULT_FORM
        return Result(200, view(r.RegistrationQuestions, {**DEFAULT_FORM, **form}))

    return handler


def questions_update(kind: SessionKind) -> Handler:
    def handler(env: Env, tx: Tx, call: Call) -> Result:
        session, _ = load(tx, call, kind)
        body = call.body
        assert isinstance(body, r.QuestionsUpdate)
        require_registration(session, call, NOT_ENABLED)
        table = QUESTION_TABLES[kind]
        found: RegistrationQuestions | None = tx.get(table, session.id)
        form = dict(found.form) if found is not None else dict(DEFAULT_FORM)
        form.update(body.model_dump(mode="json", exclude_none=True))
        record = RegistrationQuestions(session.id, form, env.clock.now(), kind)
        if found is None:
            tx.insert(table, record)
        else:
            tx.update(table, record)
        return Result(204)

    return handler
