"""The operations: each declared once as a builder of a typed :class:`PreparedCall`, and offered
by two thin facades, one per client.

The builders (:class:`SessionCalls`, :class:`LiveStreamCalls`, :class:`UserCalls`) are the one
source of truth for a call: its operation, path parameters, request body (validated before
sending) and result type, ``PreparedCall[Webinar]``, ``PreparedCall[None]`` for Zoom's 204
answers. What a webinar and a meeting differ in (operation ids, path parameter, request models)
is read from :data:`zoomlive.api.sessions.KINDS`; methods, paths and response models from the
operation catalog.

The facades only hand a built call to their client's ``run``: :class:`Sessions`,
:class:`LiveStreams` and :class:`Users` for ``ZoomClient`` return the model;
:class:`AsyncSessions`, :class:`AsyncLiveStreams` and :class:`AsyncUsers` for
``AsyncZoomClient`` return a coroutine of the same model. Their methods are plain functions, so
bad arguments raise when the call is made, on both clients, before anything is awaited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from zoomlive._base_client import PreparedCall, as_form, body_of
from zoomlive.api import wire as w
from zoomlive.api.sessions import KINDS, KindSpec, SessionKind

T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)
"""The session as Zoom returns it: :class:`Webinar` / :class:`Meeting`."""
L = TypeVar("L", bound=BaseModel)
"""One page of the list: :class:`WebinarList` / :class:`MeetingList`."""
I = TypeVar("I", bound=BaseModel)  # noqa: E741
"""One item of a page: :class:`WebinarListItem` / :class:`MeetingListItem`."""


class Run(Protocol):
    """``ZoomClient._run``: sends a call, returns its result."""

    def __call__(self, call: PreparedCall[T], /) -> T: ...


class AsyncRun(Protocol):
    """``AsyncZoomClient._run``: a coroutine that sends a call and returns its result."""

    def __call__(self, call: PreparedCall[T], /) -> Coroutine[Any, Any, T]: ...


def _check(value: int | str) -> str:
    text = str(value)
    if not text or "/" in text:
        raise ValueError(f"not an id: {value!r}")
    return text


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if isinstance(out.get("start_time"), datetime):
        out["start_time"] = out["start_time"].isoformat()
    return out


# The calls, declared once ---------------------------------------------------------------------


class LiveStreamCalls:
    """The live-stream calls of one kind of session."""

    def __init__(self, kind: SessionKind) -> None:
        self._spec: KindSpec = KINDS[kind]

    def _call(self, action: str, session_id: int | str, **kwargs: Any) -> PreparedCall[Any]:
        path_params = {self._spec.id_param: _check(session_id)}
        return PreparedCall.of(self._spec.operation(action), path_params, **kwargs)

    def get(self, session_id: int | str) -> PreparedCall[w.LiveStreamDetails]:
        return self._call("livestream_get", session_id)

    def update(
        self,
        session_id: int | str,
        *,
        stream_url: str,
        stream_key: str,
        page_url: str,
        resolution: Literal["720p", "1080p"] | None = None,
    ) -> PreparedCall[None]:
        body = w.LiveStreamUpdate(
            stream_url=stream_url, stream_key=stream_key, page_url=page_url, resolution=resolution
        )
        return self._call("livestream_update", session_id, json=body_of(body))

    def _status(
        self, session_id: int | str, body: dict[str, Any], form: bool
    ) -> PreparedCall[None]:
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
    ) -> PreparedCall[None]:
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

    def stop(self, session_id: int | str, *, form: bool = False) -> PreparedCall[None]:
        return self._status(session_id, {"action": "stop"}, form)

    def mode(
        self, session_id: int | str, *, layout: str | None = None, close_caption: str | None = None
    ) -> PreparedCall[None]:
        if self._spec.kind != "meeting":
            raise ValueError("mode exists for meeting live streams only")
        settings = {"layout": layout, "close_caption": close_caption}
        body = {"action": "mode", "settings": {k: v for k, v in settings.items() if v}}
        return self._status(session_id, body, False)


class SessionCalls(Generic[S, L, I]):
    """The calls of one kind of session; ``S``, ``L``, ``I`` are its models (see
    :data:`WEBINARS` and :data:`MEETINGS`)."""

    def __init__(self, kind: SessionKind) -> None:
        self._spec: KindSpec = KINDS[kind]
        self.livestream = LiveStreamCalls(kind)

    def _call(self, action: str, path_params: dict[str, str], **kwargs: Any) -> PreparedCall[Any]:
        return PreparedCall.of(self._spec.operation(action), path_params, **kwargs)

    def _session(self, session_id: int | str) -> dict[str, str]:
        return {self._spec.id_param: _check(session_id)}

    def create(self, user_id: str, fields: dict[str, Any]) -> PreparedCall[S]:
        body = body_of(self._spec.create_model.model_validate(_times(fields)))
        return self._call("create", {"userId": _check(user_id)}, json=body)

    def get(self, session_id: int | str) -> PreparedCall[S]:
        return self._call("get", self._session(session_id))

    def update(self, session_id: int | str, fields: dict[str, Any]) -> PreparedCall[None]:
        body = body_of(self._spec.update_model.model_validate(_times(fields)))
        return self._call("update", self._session(session_id), json=body)

    def delete(self, session_id: int | str) -> PreparedCall[None]:
        return self._call("delete", self._session(session_id))

    def end(self, session_id: int | str) -> PreparedCall[None]:
        return self._call("status", self._session(session_id), json={"action": "end"})

    def page(
        self, user_id: str, *, type: str, page_size: int, next_page_token: str | None
    ) -> PreparedCall[L]:
        params: dict[str, Any] = {"type": type, "page_size": page_size}
        if next_page_token:
            params["next_page_token"] = next_page_token
        return self._call("list", {"userId": _check(user_id)}, params=params)

    def items(self, page: L) -> list[I]:
        """The page's sessions (its ``webinars`` / ``meetings``)."""
        found: list[I] = getattr(page, self._spec.plural)
        return found

    @staticmethod
    def next_page_token(page: L) -> str | None:
        token: str | None = getattr(page, "next_page_token", None)
        return token or None


class UserCalls:
    def get(self, user_id: str) -> PreparedCall[w.UserInfo]:
        return PreparedCall.of("user", {"userId": _check(user_id)})


WEBINARS: SessionCalls[w.Webinar, w.WebinarList, w.WebinarListItem] = SessionCalls("webinar")
MEETINGS: SessionCalls[w.Meeting, w.MeetingList, w.MeetingListItem] = SessionCalls("meeting")
USERS = UserCalls()


# ZoomClient's facades -------------------------------------------------------------------------


class LiveStreams:
    """``client.webinars.livestream`` / ``client.meetings.livestream``."""

    def __init__(self, run: Run, calls: LiveStreamCalls) -> None:
        self._run = run
        self._calls = calls

    def get(self, session_id: int | str) -> w.LiveStreamDetails:
        """The live stream configuration."""
        return self._run(self._calls.get(session_id))

    def update(
        self,
        session_id: int | str,
        *,
        stream_url: str,
        stream_key: str,
        page_url: str,
        resolution: Literal["720p", "1080p"] | None = None,
    ) -> None:
        """Configure the custom live stream (validated before sending)."""
        call = self._calls.update(
            session_id,
            stream_url=stream_url,
            stream_key=stream_key,
            page_url=page_url,
            resolution=resolution,
        )
        return self._run(call)

    def start(
        self,
        session_id: int | str,
        *,
        display_name: str | None = None,
        active_speaker_name: bool | None = None,
        layout: str | None = None,
        close_caption: str | None = None,
        form: bool = False,
    ) -> None:
        """Start the live stream, with its settings (``form=True`` sends multipart)."""
        call = self._calls.start(
            session_id,
            display_name=display_name,
            active_speaker_name=active_speaker_name,
            layout=layout,
            close_caption=close_caption,
            form=form,
        )
        return self._run(call)

    def stop(self, session_id: int | str, *, form: bool = False) -> None:
        """Stop the live stream."""
        return self._run(self._calls.stop(session_id, form=form))

    def mode(
        self, session_id: int | str, *, layout: str | None = None, close_caption: str | None = None
    ) -> None:
        """Meetings: change a running stream's layout and captions."""
        return self._run(self._calls.mode(session_id, layout=layout, close_caption=close_caption))


class Sessions(Generic[S, L, I]):
    """``client.webinars`` / ``client.meetings``."""

    def __init__(self, run: Run, calls: SessionCalls[S, L, I]) -> None:
        self._run = run
        self._calls = calls
        self.livestream = LiveStreams(run, calls.livestream)

    def create(self, user_id: str = "me", **fields: Any) -> S:
        """Create one for ``user_id`` (``me``, an id or an email)."""
        return self._run(self._calls.create(user_id, fields))

    def get(self, session_id: int | str) -> S:
        """One by id (or UUID)."""
        return self._run(self._calls.get(session_id))

    def update(self, session_id: int | str, **fields: Any) -> None:
        """Change the given fields (validated before sending)."""
        return self._run(self._calls.update(session_id, fields))

    def delete(self, session_id: int | str) -> None:
        """Delete one."""
        return self._run(self._calls.delete(session_id))

    def end(self, session_id: int | str) -> None:
        """End it (``PUT .../status`` with ``action: end``)."""
        return self._run(self._calls.end(session_id))

    def list(self, user_id: str = "me", **options: Any) -> Iterator[I]:
        """Every one of the user's, page after page."""
        token: str | None = None
        while True:
            page = self.page(user_id, next_page_token=token, **options)
            yield from self._calls.items(page)
            token = self._calls.next_page_token(page)
            if not token:
                return

    def page(
        self,
        user_id: str = "me",
        *,
        type: str = "scheduled",
        page_size: int = 300,
        next_page_token: str | None = None,
    ) -> L:
        """One page of the list (``list`` iterates over all pages)."""
        call = self._calls.page(
            user_id, type=type, page_size=page_size, next_page_token=next_page_token
        )
        return self._run(call)


class Users:
    """``client.users``."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def get(self, user_id: str = "me") -> w.UserInfo:
        """A user (``me``, an id or an email)."""
        return self._run(USERS.get(user_id))


# AsyncZoomClient's facades: the same, each returning a coroutine -------------------------------


class AsyncLiveStreams:
    """``async_client.webinars.livestream`` / ``async_client.meetings.livestream``."""

    def __init__(self, run: AsyncRun, calls: LiveStreamCalls) -> None:
        self._run = run
        self._calls = calls

    def get(self, session_id: int | str) -> Coroutine[Any, Any, w.LiveStreamDetails]:
        """The live stream configuration."""
        return self._run(self._calls.get(session_id))

    def update(
        self,
        session_id: int | str,
        *,
        stream_url: str,
        stream_key: str,
        page_url: str,
        resolution: Literal["720p", "1080p"] | None = None,
    ) -> Coroutine[Any, Any, None]:
        """Configure the custom live stream (validated before sending)."""
        call = self._calls.update(
            session_id,
            stream_url=stream_url,
            stream_key=stream_key,
            page_url=page_url,
            resolution=resolution,
        )
        return self._run(call)

    def start(
        self,
        session_id: int | str,
        *,
        display_name: str | None = None,
        active_speaker_name: bool | None = None,
        layout: str | None = None,
        close_caption: str | None = None,
        form: bool = False,
    ) -> Coroutine[Any, Any, None]:
        """Start the live stream, with its settings (``form=True`` sends multipart)."""
        call = self._calls.start(
            session_id,
            display_name=display_name,
            active_speaker_name=active_speaker_name,
            layout=layout,
            close_caption=close_caption,
            form=form,
        )
        return self._run(call)

    def stop(self, session_id: int | str, *, form: bool = False) -> Coroutine[Any, Any, None]:
        """Stop the live stream."""
        return self._run(self._calls.stop(session_id, form=form))

    def mode(
        self, session_id: int | str, *, layout: str | None = None, close_caption: str | None = None
    ) -> Coroutine[Any, Any, None]:
        """Meetings: change a running stream's layout and captions."""
        return self._run(self._calls.mode(session_id, layout=layout, close_caption=close_caption))


class AsyncSessions(Generic[S, L, I]):
    """``async_client.webinars`` / ``async_client.meetings``."""

    def __init__(self, run: AsyncRun, calls: SessionCalls[S, L, I]) -> None:
        self._run = run
        self._calls = calls
        self.livestream = AsyncLiveStreams(run, calls.livestream)

    def create(self, user_id: str = "me", **fields: Any) -> Coroutine[Any, Any, S]:
        """Create one for ``user_id`` (``me``, an id or an email)."""
        return self._run(self._calls.create(user_id, fields))

    def get(self, session_id: int | str) -> Coroutine[Any, Any, S]:
        """One by id (or UUID)."""
        return self._run(self._calls.get(session_id))

    def update(self, session_id: int | str, **fields: Any) -> Coroutine[Any, Any, None]:
        """Change the given fields (validated before sending)."""
        return self._run(self._calls.update(session_id, fields))

    def delete(self, session_id: int | str) -> Coroutine[Any, Any, None]:
        """Delete one."""
        return self._run(self._calls.delete(session_id))

    def end(self, session_id: int | str) -> Coroutine[Any, Any, None]:
        """End it (``PUT .../status`` with ``action: end``)."""
        return self._run(self._calls.end(session_id))

    async def list(self, user_id: str = "me", **options: Any) -> AsyncIterator[I]:
        """Every one of the user's, page after page: an async iterator."""
        token: str | None = None
        while True:
            page = await self.page(user_id, next_page_token=token, **options)
            for item in self._calls.items(page):
                yield item
            token = self._calls.next_page_token(page)
            if not token:
                return

    def page(
        self,
        user_id: str = "me",
        *,
        type: str = "scheduled",
        page_size: int = 300,
        next_page_token: str | None = None,
    ) -> Coroutine[Any, Any, L]:
        """One page of the list (``list`` iterates over all pages)."""
        call = self._calls.page(
            user_id, type=type, page_size=page_size, next_page_token=next_page_token
        )
        return self._run(call)


class AsyncUsers:
    """``async_client.users``."""

    def __init__(self, run: AsyncRun) -> None:
        self._run = run

    def get(self, user_id: str = "me") -> Coroutine[Any, Any, w.UserInfo]:
        """A user (``me``, an id or an email)."""
        return self._run(USERS.get(user_id))


WebinarSessions = Sessions[w.Webinar, w.WebinarList, w.WebinarListItem]
MeetingSessions = Sessions[w.Meeting, w.MeetingList, w.MeetingListItem]
AsyncWebinarSessions = AsyncSessions[w.Webinar, w.WebinarList, w.WebinarListItem]
AsyncMeetingSessions = AsyncSessions[w.Meeting, w.MeetingList, w.MeetingListItem]
