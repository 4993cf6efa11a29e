"""The operations, built once as :class:`PreparedCall` objects and sent by whichever client owns
them.

``ZoomClient`` runs a call and returns the model; ``AsyncZoomClient`` returns an awaitable of
the same model. The resource classes are shared, so both clients offer the same calls. What a
webinar and a meeting differ in (operation ids, path parameter, request models) is read from
:data:`zoomlive.api.sessions.KINDS`; methods and paths from the operation catalog.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from zoomlive._base_client import PreparedCall, as_form, body_of
from zoomlive.api import wire as w
from zoomlive.api.sessions import KINDS, KindSpec, SessionKind

Run = Callable[[PreparedCall], Any]


def _check(value: int | str) -> str:
    text = str(value)
    if not text or "/" in text:
        raise ValueError(f"not an id: {value!r}")
    return text


class LiveStreams:
    """``client.webinars.livestream`` / ``client.meetings.livestream``."""

    def __init__(self, run: Run, kind: SessionKind) -> None:
        self._run = run
        self._spec: KindSpec = KINDS[kind]

    def _call(self, action: str, session_id: int | str, **kwargs: Any) -> Any:
        path_params = {self._spec.id_param: _check(session_id)}
        return self._run(PreparedCall.of(self._spec.operation(action), path_params, **kwargs))

    def get(self, session_id: int | str) -> Any:
        """The live stream configuration: :class:`LiveStreamDetails`."""
        return self._call("livestream_get", session_id)

    def update(
        self,
        session_id: int | str,
        *,
        stream_url: str,
        stream_key: str,
        page_url: str,
        resolution: Literal["720p", "1080p"] | None = None,
    ) -> Any:
        """Configure the custom live stream (validated before sending)."""
        body = w.LiveStreamUpdate(
            stream_url=stream_url, stream_key=stream_key, page_url=page_url, resolution=resolution
        )
        return self._call("livestream_update", session_id, json=body_of(body))

    def _status(self, session_id: int | str, body: dict[str, Any], form: bool) -> Any:
        data = body_of(self._spec.livestream_status_model.model_validate(body))
        if form:
            return self._call("livestream_status", session_id, form=as_form(data))
        return self._call("livestream_status", session_id, json=data)

    def start(
        self,
        session_id: int | str,
        *,
        display_name: str | None = None,
        active_speaker_name: bool | None = None,
        layout: str | None = None,
        close_caption: str | None = None,
        form: bool = False,
    ) -> Any:
        """Start the live stream, with its settings (``form=True`` sends multipart)."""
        settings = {
            "display_name": display_name,
            "active_speaker_name": active_speaker_name,
            "layout": layout,
            "close_caption": close_caption,
        }
        settings = {k: v for k, v in settings.items() if v is not None}
        body: dict[str, Any] = {"action": "start"}
        if settings:
            body["settings"] = settings
        return self._status(session_id, body, form)

    def stop(self, session_id: int | str, *, form: bool = False) -> Any:
        """Stop the live stream."""
        return self._status(session_id, {"action": "stop"}, form)

    def mode(
        self, session_id: int | str, *, layout: str | None = None, close_caption: str | None = None
    ) -> Any:
        """Meetings: change a running stream's layout and captions."""
        if self._spec.kind != "meeting":
            raise ValueError("mode exists for meeting live streams only")
        settings = {"layout": layout, "close_caption": close_caption}
        body = {"action": "mode", "settings": {k: v for k, v in settings.items() if v}}
        return self._status(session_id, body, False)


class Sessions:
    """``client.webinars`` / ``client.meetings``."""

    def __init__(
        self, run: Run, kind: SessionKind, lister: Callable[..., Any] | None = None
    ) -> None:
        self._run = run
        self._spec: KindSpec = KINDS[kind]
        self._lister = lister
        self.livestream = LiveStreams(run, kind)

    def _call(self, action: str, path_params: dict[str, str], **kwargs: Any) -> Any:
        return self._run(PreparedCall.of(self._spec.operation(action), path_params, **kwargs))

    def _session(self, session_id: int | str) -> dict[str, str]:
        return {self._spec.id_param: _check(session_id)}

    def create(self, user_id: str = "me", **fields: Any) -> Any:
        """Create one for ``user_id`` (``me``, an id or an email)."""
        body = body_of(self._spec.create_model.model_validate(_times(fields)))
        return self._call("create", {"userId": _check(user_id)}, json=body)

    def get(self, session_id: int | str) -> Any:
        """One by id (or UUID): :class:`Webinar` / :class:`Meeting`."""
        return self._call("get", self._session(session_id))

    def update(self, session_id: int | str, **fields: Any) -> Any:
        """Change the given fields (validated before sending)."""
        body = body_of(self._spec.update_model.model_validate(_times(fields)))
        return self._call("update", self._session(session_id), json=body)

    def delete(self, session_id: int | str) -> Any:
        """Delete one."""
        return self._call("delete", self._session(session_id))

    def end(self, session_id: int | str) -> Any:
        """End it (``PUT .../status`` with ``action: end``)."""
        return self._call("status", self._session(session_id), json={"action": "end"})

    def list(self, user_id: str = "me", **options: Any) -> Any:
        """Every one of the user's, page after page: an iterator (an async iterator on
        ``AsyncZoomClient``)."""
        assert self._lister is not None
        return self._lister(user_id, **options)

    def page(
        self,
        user_id: str = "me",
        *,
        type: str = "scheduled",
        page_size: int = 300,
        next_page_token: str | None = None,
    ) -> Any:
        """One page of the list (``list`` on the client iterates over all pages)."""
        params: dict[str, Any] = {"type": type, "page_size": page_size}
        if next_page_token:
            params["next_page_token"] = next_page_token
        return self._call("list", {"userId": _check(user_id)}, params=params)


class Users:
    """``client.users``."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def get(self, user_id: str = "me") -> Any:
        """A user (``me``, an id or an email): :class:`UserInfo`."""
        return self._run(PreparedCall.of("user", {"userId": _check(user_id)}))


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if isinstance(out.get("start_time"), datetime):
        out["start_time"] = out["start_time"].isoformat()
    return out
