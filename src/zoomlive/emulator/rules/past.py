"""Past webinars and meetings: their instances, details and participants, once they ended.

A session the emulator ran has one instance (it starts and ends once). Before it has ended it
has no past instance: its instances list is empty and its details and participants answer
Zoom's 3001, as for a meeting Zoom has no record of. The participants the emulator knows are
the host, who joined at the start and left at the end.
"""

from __future__ import annotations

from typing import Any

from zoomlive.api import users as u
from zoomlive.api import wire as w
from zoomlive.api.errors import by_words
from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import MAX_PAGE_SIZE, Call, Handler, Result, page_info
from zoomlive.emulator.rules.common import _page_offset as page_offset
from zoomlive.emulator.rules.sessions import RULES, load_session
from zoomlive.emulator.store import Session, Tx


def _ended(tx: Tx, call: Call, kind: SessionKind) -> Session:
    rules = RULES[kind]
    session = load_session(tx, call, kind, status=404, message=rules.not_found)
    if session.status != "ended" or session.ended_at is None:
        raise by_words(404, 3001, rules.not_found).error(id=call.path[rules.spec.id_param])
    return session


def _minutes(session: Session) -> int:
    start = session.started_at or session.ended_at
    assert start is not None and session.ended_at is not None
    return max(0, round((session.ended_at - start).total_seconds() / 60))


def instances(kind: SessionKind) -> Handler:
    def list_instances(env: Env, tx: Tx, call: Call) -> Result:
        rules = RULES[kind]
        session = load_session(tx, call, kind, status=404, message=rules.not_found)
        ended = session.status == "ended" and session.ended_at is not None
        items = (
            [
                {
                    "uuid": session.uuid,
                    "start_time": w.zoom_time(session.started_at or session.ended_at),
                }
            ]
            if ended
            else []
        )
        return Result(200, {rules.spec.plural: items})

    return list_instances


def details(kind: SessionKind) -> Handler:
    def get_details(env: Env, tx: Tx, call: Call) -> Result:
        session = _ended(tx, call, kind)
        host = tx.get_user(session.host_id)
        minutes = _minutes(session)
        body: dict[str, Any] = {
            "id": session.id,
            "uuid": session.uuid,
            "duration": minutes,
            "start_time": w.zoom_time(session.started_at or session.ended_at),
            "end_time": w.zoom_time(session.ended_at),
            "host_id": session.host_id,
            "dept": "" if host is None else str(host.profile.get("dept", "")),
            "participants_count": 1,
            "source": "Zoom",
            "topic": session.topic,
            "total_minutes": minutes,
            "type": session.type,
            "user_email": "" if host is None else host.email,
            "user_name": "" if host is None else f"{host.first_name} {host.last_name}".strip(),
        }
        return Result(200, body)

    return get_details


def participants(kind: SessionKind) -> Handler:
    def list_participants(env: Env, tx: Tx, call: Call) -> Result:
        query = call.query
        assert isinstance(query, u.PastListQuery)
        session = _ended(tx, call, kind)
        page_size = min(query.page_size, MAX_PAGE_SIZE)
        offset = page_offset(query.next_page_token) if query.next_page_token else 0
        host = tx.get_user(session.host_id)
        everyone: list[dict[str, Any]] = []
        if host is not None:
            start = session.started_at or session.ended_at
            assert start is not None and session.ended_at is not None
            everyone.append(
                {
                    "id": host.id,
                    "name": f"{host.first_name} {host.last_name}".strip() or host.email,
                    "user_id": "16778240",
                    "registrant_id": "",
                    "user_email": host.email,
                    "join_time": w.zoom_time(start),
                    "leave_time": w.zoom_time(session.ended_at),
                    "duration": int((session.ended_at - start).total_seconds()),
                    "failover": False,
                    "status": "in_meeting",
                    "internal_user": True,
                }
            )
        page = everyone[offset : offset + page_size]
        info = page_info(offset, page_size, len(page), len(everyone))
        return Result(
            200,
            {
                "page_count": info["page_count"],
                "page_size": page_size,
                "total_records": len(everyone),
                "next_page_token": info["next_page_token"],
                "participants": page,
            },
        )

    return list_participants
