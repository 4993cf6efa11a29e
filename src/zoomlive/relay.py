"""Watching what an :class:`~zoomlive.receiver.RtmpReceiver` receives: a live FLV relay.

:class:`FlvRelay` takes each packet the receiver demuxes (stream copy, nothing is decoded or
encoded) and hands it, as FLV tags, to every viewer subscribed to it: a browser plays that with
mpegts.js (the emulator's dashboard; docs/watch.md) about half a second behind the receiver,
since each tag leaves as soon as its packet arrived.

A viewer joining mid-stream gets a playable start: the FLV header, an ``onMetaData`` tag, the
codecs' configuration (H.264 ``avcC``, AAC ``AudioSpecificConfig``) and every tag since the last
video keyframe. Its timestamps start at 0 at that keyframe, and the ``onMetaData`` tag carries
``zoomlive_base_wall``: the wall clock (``time.time()``) at which that keyframe reached the
receiver, so a player can tell how far behind the sender it is (now - base - its current time).

Only H.264 video and AAC audio are relayed (what the emulator pushes, and what FLV players play);
a session with another codec is :attr:`FlvRelay.unsupported`. Viewers are asyncio consumers
(:meth:`FlvRelay.subscribe` in the event loop); the receiver's thread feeds them through the
loop's ``call_soon_threadsafe``. A viewer that falls :data:`MAX_BEHIND` tags behind is dropped.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from av.packet import Packet
    from av.stream import Stream


class PublishSession(Protocol):
    """What the relay reads of a receiver's publish session
    (:class:`zoomlive.receiver.PublishSession`): its codecs and picture size."""

    @property
    def video_codec(self) -> str | None: ...

    @property
    def audio_codec(self) -> str | None: ...

    @property
    def width(self) -> int | None: ...

    @property
    def height(self) -> int | None: ...


__all__ = ["FlvRelay", "FlvServer", "Viewer"]

MAX_BEHIND = 2000
"""Tags a viewer may have queued (a minute at 30 fps with audio) before it is dropped."""
_GOP_LIMIT = 1500
_AUDIO, _VIDEO, _SCRIPT = 8, 9, 18
_CODECS = {"video": "h264", "audio": "aac"}


@dataclass
class _Tag:
    kind: int
    dts_ms: int
    body: bytes
    keyframe: bool = False
    wall: float = 0.0


@dataclass
class Viewer:
    """One subscriber: its queue of bytes (None ends it) and its time base."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    base_ms: int | None = None
    """The dts of the keyframe it started at (its time 0); None until it started."""
    ended: bool = False

    def put(self, data: bytes | None) -> None:
        if self.ended:
            return
        if data is None or self.queue.qsize() > MAX_BEHIND:
            self.ended = True
            data = None
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, data)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.ended = True


class FlvRelay:
    """Relays one receiver's sessions to viewers as live FLV. Attach it with
    ``RtmpReceiver(on_connect=relay.on_connect, on_packet=relay.on_packet,
    on_leave=relay.on_leave)``; the ``on_*`` methods run on the receiver's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._viewers: list[Viewer] = []
        self._gop: list[_Tag] = []
        self._video_config: bytes | None = None
        self._audio_config: bytes | None = None
        self._has_audio = False
        self._configured = False
        self.session: PublishSession | None = None
        """The session being relayed (None between sessions)."""
        self.unsupported: str | None = None
        """Why the current session cannot be relayed (a codec FLV players do not play)."""
        self.last_wall: float | None = None
        """When the last packet arrived (``time.time()``)."""

    # -- state -------------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """A session is in progress and viewers can start (a keyframe arrived)."""
        with self._lock:
            return self.session is not None and self.unsupported is None and bool(self._gop)

    @property
    def viewers(self) -> int:
        with self._lock:
            return sum(1 for v in self._viewers if not v.ended)

    # -- the receiver's side -----------------------------------------------------------------

    def on_connect(self, session: PublishSession) -> None:
        with self._lock:
            self._end_viewers()
            self.session = session
            self._gop = []
            self._configured = False
            self._video_config = self._audio_config = None
            self.unsupported = None
            for kind, codec in (("video", session.video_codec), ("audio", session.audio_codec)):
                if codec is not None and codec != _CODECS[kind]:
                    self.unsupported = f"{kind} codec {codec} (a browser plays h264 and aac)"
            if session.video_codec is None:
                self.unsupported = "no video"
            self._has_audio = session.audio_codec is not None

    def on_leave(self, session: PublishSession) -> None:
        with self._lock:
            if self.session is session:
                self.session = None
                self._gop = []
            self._end_viewers()

    def on_packet(self, session: PublishSession, packet: Packet[Stream]) -> None:
        if self.unsupported is not None or packet.dts is None or packet.time_base is None:
            return
        kind = packet.stream.type
        if kind not in ("video", "audio"):
            return
        if not self._configured:
            self._configure(packet)
        dts_ms = round(float(packet.dts * packet.time_base) * 1000)
        wall = time.time()
        self.last_wall = wall
        if kind == "video":
            pts = packet.pts if packet.pts is not None else packet.dts
            cts = round(float((pts - packet.dts) * packet.time_base) * 1000)
            key = bool(packet.is_keyframe)
            head = bytes([(0x10 if key else 0x20) | 7, 1]) + cts.to_bytes(3, "big", signed=True)
            tag = _Tag(_VIDEO, dts_ms, head + bytes(packet), key, wall)
        else:
            tag = _Tag(_AUDIO, dts_ms, b"\xaf\x01" + bytes(packet), False, wall)
        with self._lock:
            if tag.keyframe:
                self._gop = [tag]
            elif self._gop and len(self._gop) < _GOP_LIMIT:
                self._gop.append(tag)
            elif self._gop:
                self._gop = []  # a GOP too long to keep: joiners wait for the next keyframe
            for viewer in self._viewers:
                if viewer.base_ms is not None:
                    viewer.put(_encode(tag, viewer.base_ms))
                elif tag.keyframe:
                    self._start(viewer)
            self._viewers = [v for v in self._viewers if not v.ended]

    def _configure(self, packet: Packet[Stream]) -> None:
        container: Any = packet.stream.container
        for stream in container.streams:
            extradata = stream.codec_context.extradata
            if stream.type == "video" and extradata:
                self._video_config = bytes(extradata)
            elif stream.type == "audio" and extradata:
                self._audio_config = bytes(extradata)
        self._configured = True

    # -- the viewers' side -------------------------------------------------------------------

    def subscribe(self) -> Viewer:
        """A new viewer (in the running event loop): it starts at the current GOP's keyframe,
        or at the next keyframe."""
        viewer = Viewer(asyncio.get_running_loop())
        with self._lock:
            self._viewers.append(viewer)
            if self.session is None or self.unsupported is not None:
                viewer.put(None)
            elif self._gop:
                self._start(viewer)
        return viewer

    def unsubscribe(self, viewer: Viewer) -> None:
        with self._lock:
            viewer.ended = True
            self._viewers = [v for v in self._viewers if v is not viewer]

    async def stream(self, viewer: Viewer) -> AsyncIterator[bytes]:
        """The viewer's bytes until the session ends (or the viewer is dropped)."""
        try:
            while True:
                data = await viewer.queue.get()
                if data is None:
                    return
                yield data
        finally:
            self.unsubscribe(viewer)

    def close(self) -> None:
        """End every viewer (the receiver stopped)."""
        with self._lock:
            self.session = None
            self._gop = []
            self._end_viewers()

    # -- helpers (under the lock) ------------------------------------------------------------

    def _start(self, viewer: Viewer) -> None:
        first = self._gop[0]
        viewer.base_ms = first.dts_ms
        flags = 0x01 | (0x04 if self._has_audio else 0)
        out = [b"FLV\x01" + bytes([flags]) + struct.pack(">I", 9) + b"\x00\x00\x00\x00"]
        meta = {"zoomlive_base_wall": first.wall}
        if self.session is not None and self.session.width and self.session.height:
            meta |= {"width": float(self.session.width), "height": float(self.session.height)}
        out.append(_tag(_SCRIPT, 0, _on_metadata(meta)))
        if self._video_config is not None:
            out.append(_tag(_VIDEO, 0, b"\x17\x00\x00\x00\x00" + self._video_config))
        if self._has_audio and self._audio_config is not None:
            out.append(_tag(_AUDIO, 0, b"\xaf\x00" + self._audio_config))
        out += [_encode(tag, first.dts_ms) for tag in self._gop]
        viewer.put(b"".join(out))

    def _end_viewers(self) -> None:
        for viewer in self._viewers:
            viewer.put(None)
        self._viewers = []


def _encode(tag: _Tag, base_ms: int) -> bytes:
    return _tag(tag.kind, max(0, tag.dts_ms - base_ms), tag.body)


def _tag(kind: int, ts_ms: int, body: bytes) -> bytes:
    """One FLV tag and the size field after it."""
    ts = ts_ms & 0xFFFFFFFF
    head = (
        bytes([kind])
        + len(body).to_bytes(3, "big")
        + (ts & 0xFFFFFF).to_bytes(3, "big")
        + bytes([ts >> 24])
        + b"\x00\x00\x00"
    )
    return head + body + struct.pack(">I", 11 + len(body))


def _on_metadata(values: dict[str, float]) -> bytes:
    """AMF0: the string ``onMetaData`` and an ECMA array of numbers."""
    out = [b"\x02" + _amf_name("onMetaData"), b"\x08" + struct.pack(">I", len(values))]
    for name, value in values.items():
        out.append(_amf_name(name) + b"\x00" + struct.pack(">d", value))
    out.append(b"\x00\x00\x09")
    return b"".join(out)


def _amf_name(name: str) -> bytes:
    raw = name.encode()
    return struct.pack(">H", len(raw)) + raw


class FlvServer:
    """A minimal HTTP server for one relay, on its own thread and event loop:
    ``GET /{app}/{key}.flv`` answers the live FLV (``zoomlive receive --watch-port``; play it
    with ffplay, VLC or mpegts.js). Anything else is 404; so is the stream between sessions."""

    def __init__(self, relay: FlvRelay, path: str, host: str = "127.0.0.1", port: int = 0):
        self.relay = relay
        self.path = path
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def start(self) -> FlvServer:
        """Listen (raises ``OSError`` when the port cannot be listened on)."""
        self._thread = threading.Thread(target=self._run, name="flv-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._answer, self.host, self.port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, target, *_ = [*head.split(b"\r\n", 1)[0].decode("latin-1").split(" "), ""]
            if method != "GET" or target.split("?", 1)[0] != self.path or not self.relay.live:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nCache-Control: no-store\r\n"
                b"Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n"
            )
            viewer = self.relay.subscribe()
            try:
                while (data := await viewer.queue.get()) is not None:
                    writer.write(data)
                    await writer.drain()
            finally:
                self.relay.unsubscribe(viewer)
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
            pass  # the viewer left, or sent no request
        finally:
            writer.close()
