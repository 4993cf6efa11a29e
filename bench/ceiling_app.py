"""The ceiling: an ASGI app that does nothing, served as ``zoomlive serve`` serves the emulator.

    python bench/ceiling_app.py --port 8081

It reads each request's body to its end, then answers ``GET`` with a small JSON object (200)
and anything else with an empty 204. It runs on zoomlive's own server stack
(``zoomlive.emulator.serving``: the same bound socket, uvicorn config, event loop and HTTP
parser), so its figures are what the stack, the loopback and wrk allow on this machine before
any of the emulator's code runs.
"""

from __future__ import annotations

import argparse
from typing import Any

_JSON = b'{"id":68423085,"topic":"ceiling","status":"started"}'
_GET = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_JSON))],
}
_204 = {"type": "http.response.start", "status": 204, "headers": []}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return
        more = message.get("more_body", False)
    get = scope["method"] == "GET"
    await send(_GET if get else _204)
    await send({"type": "http.response.body", "body": _JSON if get else b""})


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    from zoomlive.emulator.serving import ServeOptions, bind, run

    sock = bind("127.0.0.1", port)
    try:
        run(app, sock, ServeOptions())
    finally:
        sock.close()


if __name__ == "__main__":
    main()
