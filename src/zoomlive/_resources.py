"""The operations, built once as :class:`Spec` objects and sent by whichever client owns them.

``ZoomClient`` runs a spec and returns the model; ``AsyncZoomClient`` returns an awaitable of
the same model. The resource classes are shared, so both clients offer the same calls.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from zoomlive._base_client import Spec, as_form, body_of
from zoomlive.spec import wire as w
from zoomlive.spec.sessions import SessionKind

Run = Callable[[Spec], Any]


def _check(value: int | str) -> str:
    text = str(value)
    if not text or "/" in text:
        raise ValueError(f"not an id: {value!r}")
    return text


class LiveStreams:
    """``client.webinars.livestream`` / ``client.meetings.livestream``."""

    def __init__(self, run: Run, kind: SessionKind) -> None:
        self._run = run
        self._kind = kind
        self._base = "/webinars" if kind == "webinar" else "/meetings"
        self._op = "webinar" if kind == "webinar" else "meeting"

    def get(self, session_id: int | str) -> Any:
        """The live stream configuration: :class:`LiveStreamDetails`."""
        op = (
            "getWebinarLiveStreamDetails"
            if self._kind == "webinar"
            else "getMeetingLiveStreamDetails"
        )
        return self._run(
            Spec(
                op,
                f"{self._base}/{_check(session_id)}/livestream",
                response_model=w.LiveStreamDetails,
            )
        )

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
        op = "webinarLiveStreamUpdate" if self._kind == "webinar" else "meetingLiveStreamUpdate"
        return self._run(
            Spec(op, f"{self._base}/{_check(session_id)}/livestream", json=body_of(body))
        )

    def _status(self, session_id: int | str, body: dict[str, Any], form: bool) -> Any:
        model: type[w.WebinarLiveStreamStatus] | type[w.MeetingLiveStreamStatus] = (
            w.WebinarLiveStreamStatus if self._kind == "webinar" else w.MeetingLiveStreamStatus
        )
        data = body_of(model.model_validate(body))
        op = (
            "webinarLiveStreamStatusUpdate"
            if self._kind == "webinar"
            else "meetingLiveStreamStatusUpdate"
        )
        path = f"{self._base}/{_check(session_id)}/livestream/status"
        if form:
            return self._run(Spec(op, path, form=as_form(data)))
        return self._run(Spec(op, path, json=data))

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
        if self._kind != "meeting":
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
        self._kind = kind
        self._lister = lister
        self._base = "/webinars" if kind == "webinar" else "/meetings"
        self.livestream = LiveStreams(run, kind)
        webinar = kind == "webinar"
        self._create: type[BaseModel] = w.WebinarCreate if webinar else w.MeetingCreate
        self._update: type[BaseModel] = w.WebinarUpdate if webinar else w.MeetingUpdate
        self._model: type[BaseModel] = w.Webinar if webinar else w.Meeting
        self._list: type[BaseModel] = w.WebinarList if webinar else w.MeetingList

    def create(self, user_id: str = "me", **fields: Any) -> Any:
        """Create one for ``user_id`` (``me``, an id or an email)."""
        body = body_of(self._create.model_validate(_times(fields)))
        op = "webinarCreate" if self._kind == "webinar" else "meetingCreate"
        return self._run(
            Spec(op, f"/users/{_check(user_id)}{self._base}", json=body, response_model=self._model)
        )

    def get(self, session_id: int | str) -> Any:
        return self._run(
            Spec(self._kind, f"{self._base}/{_check(session_id)}", response_model=self._model)
        )

    def update(self, session_id: int | str, **fields: Any) -> Any:
        body = body_of(self._update.model_validate(_times(fields)))
        op = "webinarUpdate" if self._kind == "webinar" else "meetingUpdate"
        return self._run(Spec(op, f"{self._base}/{_check(session_id)}", json=body))

    def delete(self, session_id: int | str) -> Any:
        op = "webinarDelete" if self._kind == "webinar" else "meetingDelete"
        return self._run(Spec(op, f"{self._base}/{_check(session_id)}"))

    def end(self, session_id: int | str) -> Any:
        op = "webinarStatus" if self._kind == "webinar" else "meetingStatus"
        return self._run(
            Spec(op, f"{self._base}/{_check(session_id)}/status", json={"action": "end"})
        )

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
        op = "webinars" if self._kind == "webinar" else "meetings"
        return self._run(
            Spec(
                op,
                f"/users/{_check(user_id)}{self._base}",
                params=params,
                response_model=self._list,
            )
        )


class Users:
    def __init__(self, run: Run) -> None:
        self._run = run

    def get(self, user_id: str = "me") -> Any:
        return self._run(Spec("user", f"/users/{_check(user_id)}", response_model=w.UserInfo))


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if isinstance(out.get("start_time"), datetime):
        out["start_time"] = out["start_time"].isoformat()
    return out
