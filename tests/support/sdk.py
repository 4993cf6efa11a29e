"""The SDK under test, both ways: one test body drives ``ZoomClient`` or ``AsyncZoomClient``."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from zoomlive import AsyncZoomClient, ZoomClient

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class Both:
    """One test body for both clients: ``run(x)`` is ``x`` (sync) or awaits it (async)."""

    @classmethod
    def mocked(cls, kind: str, handler: Handler, **options: Any) -> Both:
        """A client of ``kind`` whose requests go to ``handler`` (``httpx.MockTransport``); the
        handler may be a coroutine function for the async client."""
        transport = httpx.MockTransport(handler)
        http: Any = (
            httpx.AsyncClient(transport=transport)
            if kind == "async"
            else httpx.Client(transport=transport)
        )
        both = cls(kind, "http://zoom.test", http_client=http, **options)
        both.client._own_http = True  # closed with the client
        return both

    def __init__(self, kind: str, server_url: str, **options: Any) -> None:
        self.kind = kind
        self.loop = asyncio.new_event_loop() if kind == "async" else None
        creds = {
            "account_id": "demo-account",
            "client_id": "demo-client-id",
            "client_secret": "demo-client-secret",
            "base_url": server_url + "/v2",
            "oauth_base_url": server_url,
            **options,
        }
        self.client: Any = AsyncZoomClient(**creds) if kind == "async" else ZoomClient(**creds)

    def run(self, value: Any) -> Any:
        if self.loop is None:
            return value
        return self.loop.run_until_complete(value)

    def collect(self, iterator: Any) -> list[Any]:
        if self.loop is None:
            return list(iterator)

        async def gather() -> list[Any]:
            return [item async for item in iterator]

        items: list[Any] = self.run(gather())
        return items

    def run_all(self, calls: list[Callable[[], Any]]) -> list[Any]:
        """The calls at once: on 8 threads (sync), or as concurrent tasks (async)."""
        if self.loop is None:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                return list(pool.map(lambda call: call(), calls))

        async def gather() -> list[Any]:
            return list(await asyncio.gather(*(call() for call in calls)))

        results: list[Any] = self.run(gather())
        return results

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.run(self.client.aclose())
            self.loop.close()
