"""``ZoomClient`` and ``AsyncZoomClient``: they only send and sleep; everything else is in
``_base_client`` and ``_resources``, shared.

    client = ZoomClient()  # ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET
    client.webinars.livestream.start(68423085, display_name="Q3 earnings")
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from zoomlive._base_client import BaseZoomClient, PreparedCall, Tries

if TYPE_CHECKING:
    # Only the type checker reads these: `import zoomlive` loads no pydantic model.
    import asyncio

    from zoomlive._resources import (
        AsyncMeetingSessions,
        AsyncUsers,
        AsyncWebinarSessions,
        MeetingSessions,
        Users,
        WebinarSessions,
    )
    from zoomlive.api.wire import MeetingListItem, WebinarListItem

T = TypeVar("T")


class ZoomClient(BaseZoomClient):
    """Zoom's live-stream, webinar, meeting and user calls, synchronously (thread-safe). Every
    call returns its answer as a pydantic model (``webinars.get`` a ``Webinar``), or ``None``
    where Zoom answers 204."""

    webinars: WebinarSessions
    meetings: MeetingSessions
    users: Users

    def __init__(self, *, http_client: httpx.Client | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._own_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)
        # The resources (and the models they validate with) load with the first client.
        from zoomlive._resources import MEETINGS, WEBINARS, Sessions, Users, WebinarSessions

        self.webinars = WebinarSessions(self._run, WEBINARS)
        self.meetings = Sessions(self._run, MEETINGS)
        self.users = Users(self._run)

    def __enter__(self) -> ZoomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def iter_webinars(self, user_id: str = "me", **options: Any) -> Iterator[WebinarListItem]:
        """Every webinar of the user, page after page (``webinars.list``)."""
        return self.webinars.list(user_id, **options)

    def iter_meetings(self, user_id: str = "me", **options: Any) -> Iterator[MeetingListItem]:
        """Every meeting of the user, page after page (``meetings.list``)."""
        return self.meetings.list(user_id, **options)

    # sending ----------------------------------------------------------------------------------
    def _ensure_token(self, force: bool = False) -> None:
        state = self._token
        if state.static or (state.valid() and not force):
            return
        stale = state.token
        with state.lock:  # one fetch for every thread waiting here
            if state.valid() and not (force and state.token == stale):
                return
            self._store_token(self._send_raw(self._token_request()))

    def _send_raw(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._http.send(request)
        except httpx.TransportError as exc:
            raise self._connection_error(exc, request) from exc

    def _run(self, call: PreparedCall[T]) -> T:
        renewed = False
        tries = Tries()
        while True:
            self._ensure_token()
            if self.pacer is not None:
                wait = self.pacer.reserve(call.label)
                if wait > 0:
                    time.sleep(wait)
            request = self._request(call)
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                time.sleep(self._after_failure(call, tries, exc, request))  # or raises
                continue
            if self._is_expired_token(response) and not renewed and not self._token.static:
                renewed = True
                self._ensure_token(force=True)
                continue
            delay = self._after_answer(call, tries, response)
            if delay is None:
                return self._result(call, response, tries)
            time.sleep(delay)


class AsyncZoomClient(BaseZoomClient):
    """The same calls as :class:`ZoomClient`, for asyncio; every call returns an awaitable of the
    same model (``await webinars.get(...)`` is a ``Webinar``)."""

    webinars: AsyncWebinarSessions
    meetings: AsyncMeetingSessions
    users: AsyncUsers

    def __init__(self, *, http_client: httpx.AsyncClient | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._own_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)
        self._lock: asyncio.Lock | None = None
        # The resources (and the models they validate with) load with the first client.
        from zoomlive._resources import (
            MEETINGS,
            WEBINARS,
            AsyncSessions,
            AsyncUsers,
            AsyncWebinarSessions,
        )

        self.webinars = AsyncWebinarSessions(self._run, WEBINARS)
        self.meetings = AsyncSessions(self._run, MEETINGS)
        self.users = AsyncUsers(self._run)

    async def __aenter__(self) -> AsyncZoomClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    def iter_webinars(self, user_id: str = "me", **options: Any) -> AsyncIterator[WebinarListItem]:
        """Every webinar of the user, page after page (``webinars.list``)."""
        return self.webinars.list(user_id, **options)

    def iter_meetings(self, user_id: str = "me", **options: Any) -> AsyncIterator[MeetingListItem]:
        """Every meeting of the user, page after page (``meetings.list``)."""
        return self.meetings.list(user_id, **options)

    async def _ensure_token(self, force: bool = False) -> None:
        state = self._token
        if state.static or (state.valid() and not force):
            return
        if self._lock is None:
            self._lock = _asyncio().Lock()
        stale = state.token
        async with self._lock:  # one fetch for every task waiting here
            if state.valid() and not (force and state.token == stale):
                return
            self._store_token(await self._send_raw(self._token_request()))

    async def _send_raw(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._http.send(request)
        except httpx.TransportError as exc:
            raise self._connection_error(exc, request) from exc

    async def _run(self, call: PreparedCall[T]) -> T:
        renewed = False
        tries = Tries()
        while True:
            await self._ensure_token()
            if self.pacer is not None:
                wait = self.pacer.reserve(call.label)
                if wait > 0:
                    await _asyncio().sleep(wait)
            request = self._request(call)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                await _asyncio().sleep(self._after_failure(call, tries, exc, request))  # or raises
                continue
            if self._is_expired_token(response) and not renewed and not self._token.static:
                renewed = True
                await self._ensure_token(force=True)
                continue
            delay = self._after_answer(call, tries, response)
            if delay is None:
                return self._result(call, response, tries)
            await _asyncio().sleep(delay)


def _asyncio() -> Any:
    # asyncio is imported on first use by the async client: an SDK user who only calls
    # ZoomClient does not pay for it in `import zoomlive`.
    import asyncio

    return asyncio
