"""Join tokens of webinars and meetings (``GET .../jointoken/{purpose}``): what a live-streaming
(or local recording / archiving) app joins with. Each is stored with its expiry, so the
emulator can tell later whether a token was handed out and still holds (:func:`valid`).
"""

from __future__ import annotations

from datetime import timedelta

from zoomlive.api import users as u
from zoomlive.api.errors import by_words
from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import Call, Handler, Result
from zoomlive.emulator.rules.sessions import RULES, load_session
from zoomlive.emulator.store import Tx
from zoomlive.emulator.store.records import JoinToken

EXPIRE_IN = 120
"""Zoom: "This value always returns `120`" (seconds)."""

NOT_ALLOWED = {
    "meeting": (
        'Not allowed to start live streaming. To use this feature, enable the "Allow '
        'livestreaming of meetings" setting in the "Settings" page of the Zoom web portal.'
    ),
    # The document words it for meetings only; the webinar's names webinars (a choice).
    "webinar": (
        'Not allowed to start live streaming. To use this feature, enable the "Allow '
        'livestreaming of webinars" setting in the "Settings" page of the Zoom web portal.'
    ),
}


def join_token(kind: SessionKind, purpose: str) -> Handler:
    def issue(env: Env, tx: Tx, call: Call) -> Result:
        rules = RULES[kind]
        session = load_session(tx, call, kind, status=404, message=rules.not_found)
        if purpose == "live_streaming" and not tx.live_streaming_allowed(session.host_id, kind):
            raise by_words(400, 3000, NOT_ALLOWED[kind]).error()
        now = env.clock.now()
        for old in tx.select("join_tokens", lambda t: t.expires_at <= now):
            # expired (their sessions' or a deleted session's): nothing can check them any more
            tx.delete("join_tokens", old.token)
        token = JoinToken(
            token=env.source.token(),
            account_id=session.account_id,
            kind=kind,
            session_id=session.id,
            purpose=purpose,
            created_at=now,
            expires_at=now + timedelta(seconds=EXPIRE_IN),
        )
        tx.insert("join_tokens", token)
        return Result(200, u.JoinTokenAnswer(token=token.token, expire_in=EXPIRE_IN))

    return issue


def valid(env: Env, tx: Tx, token: str, kind: SessionKind, session_id: int, purpose: str) -> bool:
    """Was this token handed out for this session and purpose, and does it still hold?"""
    found: JoinToken | None = tx.get("join_tokens", token)
    return (
        found is not None
        and (found.kind, found.session_id, found.purpose) == (kind, session_id, purpose)
        and env.clock.now() < found.expires_at
    )
