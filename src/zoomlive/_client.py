"""``ZoomClient`` and ``AsyncZoomClient``: they only send and sleep; everything else is in
``_base_client`` and ``_resources``, shared.

    client = ZoomClient()  # ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET
    client.webinars.livestream.start(68423085, display_name="Q3 earnings")
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from zoomlive._base_client import BaseZoomClient, PreparedCall, Tries

if TYPE_CHECKING:
    import asyncio

    from zoomlive._resources import Sessions
    from zoomlive.api.sessions import SessionKind


class ZoomClient(BaseZoomClient):
    """Zoom's live-stream, webinar, meeting and user calls, synchronously (thread-safe)."""

    def __init__(self, *, http_client: httpx.Client | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._own_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)
        # The resources (and the models they validate with) load with the first client.
        from zoomlive._resources import Sessions, Users

        self.webinars = Sessions(self._run, "webinar", self.iter_webinars)
        self.meetings = Sessions(self._run, "meeting", self.iter_meetings)
        self.users = Users(self._run)

    def __enter__(self) -> ZoomClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def iter_webinars(self, user_id: str = "me", **options: Any) -> Iterator[Any]:
        """Every webinar of the user, page after page."""
        yield from self._iterate(self.webinars, "webinar", user_id, options)

    def iter_meetings(self, user_id: str = "me", **options: Any) -> Iterator[Any]:
        """Every meeting of the user, page after page."""
        yield from self._iterate(self.meetings, "meeting", user_id, options)

    def _iterate(
        self, sessions: Sessions, kind: SessionKind, user_id: str, options: dict[str, Any]
    ) -> Iterator[Any]:
        from zoomlive.api.sessions import KINDS

        field = KINDS[kind].plural  # the list's field: ``webinars`` / ``meetings``
        token: str | None = None
        while True:
            page = sessions.page(user_id, next_page_token=token, **options)
            yield from getattr(page, field)
            token = page.next_page_token
            if not token:
                return

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

    def _run(self, call: PreparedCall) -> Any:
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
    """The same calls as :class:`ZoomClient`, for asyncio; every call returns an awaitable."""

    def __init__(self, *, http_client: httpx.AsyncClient | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._own_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)
        self._lock: asyncio.Lock | None = None
        # The resources (and the models they validate with) load with the first client.
        from zoomlive._resources import Sessions, Users

        self.webinars = Sessions(self._run, "webinar", self.iter_webinars)
        self.meetings = Sessions(self._run, "meeting", self.iter_meetings)
        self.users = Users(self._run)

    async def __aenter__(self) -> AsyncZoomClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def iter_webinars(self, user_id: str = "me", **options: Any) -> AsyncIterator[Any]:
        """Every webinar of the user, page after page."""
        async for item in self._iterate(self.webinars, "webinar", user_id, options):
            yield item

    async def iter_meetings(self, user_id: str = "me", **options: Any) -> AsyncIterator[Any]:
        """Every meeting of the user, page after page."""
        async for item in self._iterate(self.meetings, "meeting", user_id, options):
            yield item

    async def _iterate(
        self, sessions: Sessions, kind: SessionKind, user_id: str, options: dict[str, Any]
    ) -> AsyncIterator[Any]:
        from zoomlive.api.sessions import KINDS

        field = KINDS[kind].plural
        token: str | None = None
        while True:
            page = await sessions.page(user_id, next_page_token=token, **options)
            for item in getattr(page, field):
                yield item
            token = page.next_page_token
            if not token:
                return

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

    async def _run(self, call: PreparedCall) -> Any:
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
