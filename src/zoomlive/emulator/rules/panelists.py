"""Webinar panelists: add (up to 30 per call), list, remove one or all; a meeting's invitation
text, built from the stored meeting; invite links for named attendees. Choices where Zoom
documents nothing are in docs/fidelity.md ("Registrants and panelists")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from zoomlive.api import registrants as r
from zoomlive.api import wire as w
from zoomlive.api.errors import E
from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import Call, Handler, Result
from zoomlive.emulator.rules.registrants import join_url, load
from zoomlive.emulator.rules.sessions import session_fields
from zoomlive.emulator.rules.views import view
from zoomlive.emulator.store import Session, Tx
from zoomlive.emulator.store.records import InviteLink, Panelist
from zoomlive.emulator.store.schema import INVITE_LINK_TABLES

TABLE = "webinar_panelists"
MAX_PANELISTS = 100
"""Panelists a webinar can have (Zoom's default capacity; larger plans exist)."""


def _panelists(tx: Tx, webinar: Session) -> list[Panelist]:
    rows: list[Panelist] = tx.select(
        TABLE, lambda p: p.session_id == webinar.id, order=lambda p: p.seq
    )
    return rows


def panelist_view(p: Panelist, base_url: str) -> dict[str, Any]:
    return view(
        r.Panelist,
        {
            "id": p.id,
            "email": p.email,
            "name": p.name,
            "join_url": join_url(base_url, "webinar", p.session_id, p.join_token),
            **{name: p.details.get(name, "") for name in r.PANELIST_DETAILS},
        },
    )


def list_panelists(env: Env, tx: Tx, call: Call) -> Result:
    webinar, _ = load(tx, call, "webinar")
    rows = _panelists(tx, webinar)
    items = [panelist_view(p, call.base_url) for p in rows]
    return Result(200, view(r.PanelistList, {"total_records": len(rows), "panelists": items}))


def add_panelists(env: Env, tx: Tx, call: Call) -> Result:
    """New emails become panelists; an email already on the list has its name and name tag
    replaced (one panelist per email)."""
    webinar, _ = load(tx, call, "webinar")
    body = call.body
    assert isinstance(body, r.PanelistCreate)
    now = env.clock.now().replace(microsecond=0)
    current = _panelists(tx, webinar)
    existing = {p.email.lower(): p for p in current}
    seq = current[-1].seq if current else 0
    wanted: dict[str, r.PanelistIn] = {}
    for given in body.panelists:  # the last of one email wins
        wanted[given.email.lower()] = given
    new = [email for email in wanted if email not in existing]
    if len(existing) + len(new) > MAX_PANELISTS:
        raise E.PANELIST_LIMIT.error()
    for email, given in wanted.items():
        details = given.model_dump(exclude_none=True, include=set(r.PANELIST_DETAILS))
        found = existing.get(email)
        if found is not None:
            found.name = given.name
            found.details = {**found.details, **details}
            tx.update(TABLE, found)
            continue
        seq += 1
        tx.insert(
            TABLE,
            Panelist(
                id=env.source.user_id(),
                session_id=webinar.id,
                account_id=webinar.account_id,
                email=given.email,
                name=given.name,
                details=details,
                join_token=env.source.token()[:43],
                created_at=now,
                seq=seq,
            ),
        )
    answer = {"id": str(webinar.id), "updated_at": w.zoom_time(now)}
    return Result(201, view(r.PanelistsAdded, answer))


def delete_panelist(env: Env, tx: Tx, call: Call) -> Result:
    webinar, _ = load(tx, call, "webinar")
    panelist_id = call.path["panelistId"]
    found: Panelist | None = tx.get(TABLE, panelist_id)
    if found is None or found.session_id != webinar.id:
        raise E.PANELIST_NOT_FOUND.error(id=panelist_id)
    tx.delete(TABLE, panelist_id)
    return Result(204)


def delete_panelists(env: Env, tx: Tx, call: Call) -> Result:
    webinar, _ = load(tx, call, "webinar")
    for p in _panelists(tx, webinar):
        tx.delete(TABLE, p.id)
    return Result(204)


# invitations -----------------------------------------------------------------------------------


def _spaced(meeting_id: int) -> str:
    """Zoom writes an 11-digit id as ``123 4567 8901`` (10 digits: ``123 456 7890``)."""
    text = str(meeting_id)
    if len(text) == 11:
        return f"{text[:3]} {text[3:7]} {text[7:]}"
    if len(text) == 10:
        return f"{text[:3]} {text[3:6]} {text[6:]}"
    return text


def invitation_text(meeting: Session, host_name: str, base_url: str) -> str:
    fields = session_fields(meeting, None, base_url)
    start = meeting.start_time
    when = f"{start:%b %d, %Y %I:%M %p} {meeting.timezone or 'UTC'}" if start else ""
    lines = [
        f"{host_name} is inviting you to a scheduled Zoom meeting.",
        "",
        f"Topic: {meeting.topic}",
    ]
    if when:
        lines.append(f"Time: {when}")
    lines += ["", "Join Zoom Meeting", fields["join_url"], "", f"Meeting ID: {_spaced(meeting.id)}"]
    if meeting.password:
        lines.append(f"Passcode: {meeting.password}")
    lines += ["", "---", "", "Join by SIP", f"• {meeting.id}@zoomcrc.com", ""]
    return "\r\n".join(lines)


def meeting_invitation(env: Env, tx: Tx, call: Call) -> Result:
    meeting, host = load(tx, call, "meeting", paid=False)  # any license
    host_name = f"{host.first_name} {host.last_name}".strip() or host.email
    answer = {
        "invitation": invitation_text(meeting, host_name, call.base_url),
        "sip_links": [f"{meeting.id}@zoomcrc.com"],
    }
    return Result(200, view(r.MeetingInvitation, answer))


def invite_links(kind: SessionKind) -> Handler:
    """Join links for named attendees, each with its own token, kept until the session is
    deleted (``ttl`` is when each stops being valid)."""

    def handler(env: Env, tx: Tx, call: Call) -> Result:
        session, _ = load(tx, call, kind, paid=False)
        body = call.body
        assert isinstance(body, r.InviteLinksCreate)
        now = env.clock.now().replace(microsecond=0)
        expires = now + timedelta(seconds=body.ttl)
        out = []
        for attendee in body.attendees:
            link = InviteLink(
                token=env.source.token()[:43],
                session_id=session.id,
                name=attendee.name,
                disable_video=attendee.disable_video,
                disable_audio=attendee.disable_audio,
                created_at=now,
                expires_at=expires,
                kind=kind,
            )
            tx.insert(INVITE_LINK_TABLES[kind], link)
            url = join_url(call.base_url, kind, session.id, link.token)
            out.append({"name": attendee.name, "join_url": url})
        return Result(201, view(r.InviteLinks, {"attendees": out}))

    return handler
