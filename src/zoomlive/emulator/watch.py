"""The demo receiver and watching its stream in the dashboard (docs/watch.md).

``zoomlive serve`` with the demo account (and ``--media ffmpeg``, one worker) also receives the
demo webinar's target, ``rtmp://127.0.0.1:1935/live/demo-stream-key``, with an embedded
:class:`~zoomlive.receiver.RtmpReceiver` (PyAV, the ``media`` extra): the README's reference
call then goes ``live`` with no other command. ``--no-demo-receiver`` turns it off; without
PyAV, or when the port is taken, one line says so and the emulator carries on.

What it receives is relayed as live FLV (:class:`zoomlive.relay.FlvRelay`,
stream copy) at ``GET /_emulator/watch/{app}/{key}.flv``, which the dashboard plays with
mpegts.js (served at ``/_dashboard/player.js`` from ``--watch-player``, installed by
``scripts/player``).
``GET /_emulator/watch`` lists the receivers and where the player is.
"""

from __future__ import annotations

import errno
import hmac
import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from zoomlive.api.errors import E, ZoomError
from zoomlive.emulator.control.endpoints import check_admin
from zoomlive.emulator.control.seed import DEMO_STREAM_KEY, DEMO_STREAM_URL
from zoomlive.emulator.http import error_response, get_env
from zoomlive.emulator.settings import Settings

log = logging.getLogger("zoomlive.server")

PLAYER = Path("web") / "node_modules" / "mpegts.js" / "dist" / "mpegts.js"
"""Where ``scripts/player`` installs mpegts.js (``npm ci --prefix web``), from a clone's root."""
PLAYER_HINT = "The video player is not installed: run scripts/player (npm ci --prefix web)."


class DemoReceiver:
    """The embedded receiver of the demo target, and the relay its viewers watch."""

    def __init__(self, url: str = DEMO_STREAM_URL, key: str = DEMO_STREAM_KEY) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1935
        self.app = parts.path.strip("/") or "live"
        self.key = key
        self.url = f"rtmp://{self.host}:{self.port}/{self.app}"
        self.receiver: Any = None
        self.relay: Any = None

    def start(self) -> bool:
        """Listen, or say in one line why not (no PyAV, port taken) and return False."""
        try:
            from zoomlive.receiver import RtmpReceiver
            from zoomlive.relay import FlvRelay
        except ImportError:
            log.warning(
                "demo receiver off: it needs PyAV (pip install 'zoomlive[media]'); "
                "streams to %s/%s fail until something listens there",
                self.url,
                self.key,
            )
            return False
        if not _free(self.host, self.port):
            log.warning(
                "demo receiver off: %s:%d is taken (another receiver?); the emulator carries on",
                self.host,
                self.port,
            )
            return False
        relay = FlvRelay()
        receiver = RtmpReceiver(
            self.port,
            host=self.host,
            app=self.app,
            key=self.key,
            frames="none",
            on_connect=relay.on_connect,
            on_leave=relay.on_leave,
            on_packet=relay.on_packet,
        )
        try:
            receiver.start(wait=5.0)
        except Exception as exc:  # lost a race for the port, or FFmpeg refused it
            log.warning("demo receiver off: %s; the emulator carries on", exc)
            receiver.stop()
            return False
        self.receiver, self.relay = receiver, relay
        return True

    def stop(self) -> None:
        """Stop the thread and free the port (ends every viewer)."""
        if self.relay is not None:
            self.relay.close()
        if self.receiver is not None:
            self.receiver.stop(timeout=5.0)
        self.receiver = self.relay = None

    @property
    def flv_path(self) -> str:
        return f"/_emulator/watch/{self.app}/{self.key}.flv"

    def describe(self) -> dict[str, Any]:
        relay, receiver = self.relay, self.receiver
        session = receiver.current if receiver is not None else None
        return {
            "url": self.url,
            "key": self.key,
            "listening": receiver is not None and receiver.running,
            "live": relay is not None and relay.live,
            "publisher_key": session.key if session is not None else None,
            "video": (
                f"{session.video_codec} {session.width}x{session.height}"
                if session is not None
                else None
            ),
            "fps": round(session.video_fps, 1) if session and session.video_fps else None,
            "unsupported": relay.unsupported if relay is not None else None,
            "viewers": relay.viewers if relay is not None else 0,
            "flv": self.flv_path,
        }


def _free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be listened on (as FFmpeg's listener binds: reusing an
    address some closed connection still holds in TIME_WAIT)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)
    return True


def wanted(settings: Settings) -> bool:
    """Whether this app runs the demo receiver: asked for (``zoomlive serve``'s default), with
    the demo account, and streams pushed by this process (``--media ffmpeg``, one worker)."""
    return bool(
        settings.demo_receiver
        and settings.demo
        and settings.media == "ffmpeg"
        and settings.workers == 1
    )


async def start_demo_receiver(settings: Settings) -> DemoReceiver | None:
    if not wanted(settings):
        return None
    demo = DemoReceiver()
    started = await anyio.to_thread.run_sync(demo.start)
    return demo if started else None


async def stop_demo_receiver(demo: DemoReceiver | None) -> None:
    if demo is not None:
        await anyio.to_thread.run_sync(demo.stop)


def player_file(settings: Settings) -> Path | None:
    """mpegts.js as the settings name it, else as ``scripts/player`` installs it in the clone
    this package runs from (an editable install), else in the current directory's."""
    if settings.watch_player:
        path = Path(settings.watch_player)
        return path if path.is_file() else None
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (root / PLAYER).is_file():
            return root / PLAYER
    return None


# routes ----------------------------------------------------------------------------------------


def _admitted(request: Request) -> ZoomError | None:
    """The admin key, from the header or (a player's request) the ``admin_key`` query."""
    env = get_env(request)
    key = env.settings.admin_key
    given = request.query_params.get("admin_key")
    if key is not None and given is not None and hmac.compare_digest(given.encode(), key.encode()):
        return None
    try:
        check_admin(env, request)
    except ZoomError as err:
        return err
    return None


async def watch_list(request: Request) -> Response:
    """``GET /_emulator/watch``: the receivers whose streams can be watched, and the player."""
    if (err := _admitted(request)) is not None:
        return error_response(err)
    env = get_env(request)
    demo: DemoReceiver | None = env.watch
    player = player_file(env.settings)
    return JSONResponse(
        {
            "receivers": [demo.describe()] if demo is not None else [],
            "player": "/_dashboard/player.js" if player is not None else None,
            "player_hint": None if player is not None else PLAYER_HINT,
        }
    )


async def watch_flv(request: Request) -> Response:
    """``GET /_emulator/watch/{app}/{key}.flv``: the stream being received, as live FLV."""
    if (err := _admitted(request)) is not None:
        return error_response(err)
    env = get_env(request)
    demo: DemoReceiver | None = env.watch
    app, key = request.path_params["app"], request.path_params["key"]
    if demo is None or demo.relay is None or (app, key) != (demo.app, demo.key):
        return error_response(E.CONTROL_NOT_FOUND.error(what="Receiver", id=f"{app}/{key}"))
    relay = demo.relay
    if not relay.live:
        return error_response(E.CONTROL_NOT_FOUND.error(what="Live stream at", id=f"{app}/{key}"))
    viewer = relay.subscribe()
    return StreamingResponse(
        relay.stream(viewer),
        media_type="video/x-flv",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def player_js(request: Request) -> Response:
    """``GET /_dashboard/player.js``: mpegts.js, from where ``scripts/player`` put it."""
    path = player_file(get_env(request).settings)
    if path is None:
        return Response(PLAYER_HINT, status_code=404, media_type="text/plain")
    data = await anyio.to_thread.run_sync(path.read_bytes)
    return Response(
        data,
        media_type="text/javascript; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


def watch_routes() -> list[BaseRoute]:
    return [
        Route("/_emulator/watch", watch_list, methods=["GET"]),
        Route("/_emulator/watch/{app}/{key}.flv", watch_flv, methods=["GET"]),
        Route("/_dashboard/player.js", player_js, methods=["GET"]),
    ]
