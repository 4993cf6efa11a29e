"""The emulator's state as the control API shows it: a live stream's runtime view, and the whole
store as JSON-ready data (secrets and token hashes left out)."""

from __future__ import annotations

from typing import Any

from zoomlive.api import wire as w
from zoomlive.api.sessions import KINDS, SESSION_KINDS
from zoomlive.emulator.rules.sessions import session_record
from zoomlive.emulator.store import Account, App, LiveStream, Tx, User


def stream_state(stream: LiveStream) -> dict[str, Any]:
    """A live stream's runtime view (Zoom's GET shows only the configuration)."""
    return {
        "kind": stream.kind,
        "id": stream.owner_id,
        "account_id": stream.account_id,
        "configured": stream.configured,
        "stream_url": stream.stream_url,
        "stream_key": stream.stream_key,
        "page_url": stream.page_url,
        "resolution": stream.resolution,
        "state": stream.state,
        "settings": {
            "display_name": stream.display_name,
            "active_speaker_name": stream.active_speaker_name,
            **(
                {"layout": stream.layout, "close_caption": stream.close_caption}
                if stream.kind == "meeting"
                else {}
            ),
        },
        "started_at": w.zoom_time(stream.started_at),
        "stopped_at": w.zoom_time(stream.stopped_at),
        "last_error": stream.last_error,
        "version": stream.version,
    }


def account_record(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "plan": a.plan,
        "webinar_addon": a.webinar_addon,
        "custom_live_streaming": a.custom_live_streaming,
        "created_at": w.zoom_time(a.created_at),
    }


def user_record(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "account_id": u.account_id,
        "email": u.email,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "type": u.type,
        "timezone": u.timezone,
        "status": u.status,
        "role_id": u.role_id,
        "profile": u.profile,
        "settings": u.settings,
    }


def app_record(a: App) -> dict[str, Any]:
    return {
        "client_id": a.client_id,
        "account_id": a.account_id,
        "name": a.name,
        "scopes": a.scopes,
        "enabled": a.enabled,
    }


def state_dump(tx: Tx) -> dict[str, Any]:
    """The whole state as JSON-ready data (secrets and token hashes left out)."""
    return {
        "accounts": [account_record(a) for a in tx.list_accounts()],
        "users": [user_record(u) for u in tx.list_users()],
        "apps": [app_record(a) for a in tx.list_apps()],
        **{
            KINDS[kind].plural: [session_record(x) for x in tx.list_sessions(kind)[0]]
            for kind in SESSION_KINDS
        },
        "livestreams": [stream_state(s) for s in tx.list_livestreams()],
        "tokens": tx.count_tokens(),
        "counters": [{"key": k, "day": d, "count": n} for k, d, n in tx.list_counters()],
    }
