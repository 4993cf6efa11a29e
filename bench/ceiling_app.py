"""The ceiling: a minimal ASGI app that answers 204 to every request and does nothing else.

``run_bench.py`` serves it with the same uvicorn settings as the emulator (see ``serve.py``), so
its figures are what the stack (uvicorn, its event loop and HTTP parser, the loopback, and the
load generator) can do on this machine before any application code runs.

It drains the request body (so a PATCH is read to the end, as the emulator reads it) and sends
an empty 204; it also answers the lifespan protocol, as uvicorn runs it for the emulator too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_START: Message = {"type": "http.response.start", "status": 204, "headers": []}
_BODY: Message = {"type": "http.response.body", "body": b""}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect
                return
            more_body = message.get("more_body", False)
        await send(_START)
        await send(_BODY)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
