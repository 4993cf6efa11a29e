"""A bare ASGI app on zoomlive's own server stack, the floor of ``reference_bench.py``.

    python bench/bare_app.py --port 8081

It is served exactly as ``zoomlive serve`` serves the emulator: the socket from
``zoomlive.emulator.serving.bind`` and ``serving.run`` with the default ``ServeOptions``, so the
same uvicorn ``Config`` (``uvicorn_config``: the guarded HTTP protocol class from
``protocol_class()``, the log config, no access log, the keep-alive and graceful-shutdown
timeouts). Whatever the emulator costs beyond these figures is the emulator's own work.

What it answers, after reading the request body to its end:

* ``Authorization: Bearer bad-token`` (``BAD_TOKEN``): 401 with Zoom's small JSON error;
* ``GET`` (any path): 200 with a small JSON object;
* anything else: 204, no body.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HOST = "127.0.0.1"
BAD_TOKEN = "bad-token"
"""The bearer token of the 401 target; the bare app refuses it (and only it)."""

_BAD_AUTH = f"Bearer {BAD_TOKEN}".encode()
_JSON_BODY = b'{"id":68423085,"topic":"bare","status":"started"}'
_401_BODY = b'{"code":124,"message":"Invalid access token."}'


def _json_start(status: int, body: bytes) -> Message:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json;charset=UTF-8"),
            (b"content-length", str(len(body)).encode()),
        ],
    }


_GET_START = _json_start(200, _JSON_BODY)
_GET_BODY: Message = {"type": "http.response.body", "body": _JSON_BODY}
_401_START = _json_start(401, _401_BODY)
_401_MESSAGE: Message = {"type": "http.response.body", "body": _401_BODY}
_204_START: Message = {"type": "http.response.start", "status": 204, "headers": []}
_EMPTY: Message = {"type": "http.response.body", "body": b""}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect
                return
            more_body = message.get("more_body", False)
        bad = any(
            name == b"authorization" and value == _BAD_AUTH for name, value in scope["headers"]
        )
        if bad:
            await send(_401_START)
            await send(_401_MESSAGE)
        elif scope["method"] == "GET":
            await send(_GET_START)
            await send(_GET_BODY)
        else:
            await send(_204_START)
            await send(_EMPTY)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    from zoomlive.emulator.serving import ServeOptions, bind, run

    sock = bind(HOST, args.port)
    try:
        run(app, sock, ServeOptions())
    finally:
        sock.close()


if __name__ == "__main__":
    main()
