"""A local RTMP receiver built on PyAV: the far end of the streams the emulator pushes.

FFmpeg's RTMP demuxer in listen mode (``options={"listen": "1"}``) accepts exactly one
publisher per ``av.open``; :class:`RtmpReceiver` runs that in a loop on a background thread,
counts what each publish session sends, optionally remuxes it to an FLV file (stream copy, no
re-encoding), and decodes just enough video to show a current picture:

- ``frames="keyframes"`` (the default) decodes each keyframe alone (one frame per GOP, a tiny
  CPU cost) and keeps the packets since the last keyframe, so :meth:`RtmpReceiver.request_frame`
  can decode the GOP on demand when a picture of *now* is needed;
- ``frames="all"`` decodes every video packet;
- ``frames="none"`` decodes only on request.

Stopping. The listening ``av.open`` blocks in FFmpeg with no way in from Python (PyAV's
interrupt callback only knows timeouts), and so does a read from a publisher that went silent.
:meth:`RtmpReceiver.stop` therefore finds this process's own sockets on the receiver's port
(``/proc/self/fd`` against ``/proc/net/tcp``) and ``shutdown()``s them: the blocked accept or
read fails at once and the thread sees the stop flag. Where ``/proc`` is missing it connects a
dummy client instead, which ends a listen (a silent session then ends at ``idle_timeout``).

Stream keys. FFmpeg's listener does not enforce the app or the stream key: it logs "App field
don't match up" / "Unexpected stream KEY, expecting ..." and carries on. The receiver captures
those logs (PyAV's ``av.logging.Capture``, local to its thread) and records the app and key the
publisher actually used, with ``app_mismatch`` / ``key_mismatch``. To see those logs at all,
PyAV's log level must be at least WARNING: :class:`RtmpReceiver` raises it to WARNING if it is
lower (PyAV's default ``None`` drops every FFmpeg log), a process-wide PyAV setting.

Between two publish sessions the port is briefly not listening (FFmpeg binds anew for each),
so a publisher connecting in that gap is refused; :meth:`RtmpReceiver.wait_listening` tells
when it is safe to connect.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import av
import av.logging
from av.video.codeccontext import VideoCodecContext

if TYPE_CHECKING:
    from av.container import InputContainer, OutputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.stream import VideoStream

    from zoomlive.tls import ServerTls, TlsFront

__all__ = [
    "DecodedFrame",
    "FrameMode",
    "ReceiverError",
    "RtmpReceiver",
    "PublishSession",
    "run_receive",
]

log = logging.getLogger(__name__)

FrameMode = Literal["keyframes", "all", "none"]

#: Errors from the listening ``av.open`` that mean the port cannot be served at all.
_FATAL_ERRNOS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})
#: Packets kept since the last keyframe for on-demand decoding (a GOP longer than this is
#: not kept, and a request then waits for the next keyframe).
_GOP_LIMIT = 1200
_WARNINGS_KEPT = 100
_KEY_RE = re.compile(r"Unexpected stream (\S+), expecting (\S+)")
_APP_RE = re.compile(r"App field don't match up: (\S*) <-> (\S*)")
_TCP_LISTEN = "0A"


class ReceiverError(Exception):
    """The receiver cannot listen (port in use, no permission) or has stopped."""


@dataclass
class PublishSession:
    """One publish session: a publisher connected, sent FLV, and left.

    The receiver thread updates it while it is in progress (``left_at is None``); times named
    ``*_at`` are ``time.monotonic()``, ``*_wall`` are ``time.time()``. "Connected" is when the
    stream's probe ended (``probe_seconds`` of media after the RTMP handshake): the metadata,
    codecs and picture size are known from then on.
    """

    index: int
    url: str
    connected_at: float
    connected_wall: float
    app: str
    key: str
    app_mismatch: bool = False
    key_mismatch: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    audio_sample_rate: int | None = None
    video_packets: int = 0
    audio_packets: int = 0
    video_bytes: int = 0
    audio_bytes: int = 0
    keyframes: int = 0
    first_video_packet_at: float | None = None
    first_frame_at: float | None = None
    first_video_pts: float | None = None
    last_video_pts: float | None = None
    frames_decoded: int = 0
    decode_errors: int = 0
    flv_path: Path | None = None
    record_error: str | None = None
    left_at: float | None = None
    left_wall: float | None = None
    end_reason: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def title(self) -> str | None:
        """The FLV ``onMetaData`` title (ffmpeg's ``-metadata title=...``)."""
        return self.metadata.get("title")

    @property
    def active(self) -> bool:
        return self.left_at is None

    @property
    def duration(self) -> float:
        """Seconds from connect to leave (or to now while in progress)."""
        end = self.left_at if self.left_at is not None else time.monotonic()
        return end - self.connected_at

    @property
    def media_seconds(self) -> float | None:
        """Span of the video timestamps received, in seconds."""
        if self.first_video_pts is None or self.last_video_pts is None:
            return None
        return self.last_video_pts - self.first_video_pts

    @property
    def video_fps(self) -> float | None:
        """Video packets per second of stream time (one packet per frame in FLV)."""
        span = self.media_seconds
        if span is None or span <= 0 or self.video_packets < 2:
            return None
        return (self.video_packets - 1) / span


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded video frame, with where and when it came from."""

    frame: av.VideoFrame
    session_index: int
    at: float
    pts: float | None
    keyframe: bool

    @property
    def width(self) -> int:
        return self.frame.width

    @property
    def height(self) -> int:
        return self.frame.height

    def to_ndarray(self) -> Any:
        """An RGB ``numpy`` array, height x width x 3 (needs numpy)."""
        return self.frame.to_ndarray(format="rgb24")

    def to_image(self) -> Any:
        """A ``PIL.Image.Image`` (needs Pillow)."""
        return self.frame.to_image()  # type: ignore[no-untyped-call]

    def png_bytes(self) -> bytes:
        """The frame as a PNG, encoded by FFmpeg's PNG encoder (no Pillow needed)."""
        return encode_png(self.frame)

    def save_png(self, path: Path | str) -> Path:
        """Write :meth:`png_bytes` to ``path`` atomically (temp file and rename)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(self.png_bytes())
        os.replace(tmp, target)
        return target


def encode_png(frame: av.VideoFrame) -> bytes:
    """One frame as PNG bytes, with PyAV's bundled PNG encoder."""
    rgb = frame.reformat(format="rgb24")
    encoder = av.CodecContext.create("png", "w")
    encoder.width = rgb.width
    encoder.height = rgb.height
    encoder.pix_fmt = "rgb24"
    encoder.time_base = Fraction(1, 25)
    packets = encoder.encode(rgb) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)


class RtmpReceiver:
    """Listens on ``rtmp://host:port/app/key`` and records each publish session.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Callbacks run on the
    receiver thread; an exception in one is logged and ignored.
    """

    def __init__(
        self,
        port: int = 1935,
        *,
        host: str = "127.0.0.1",
        app: str = "live",
        key: str | None = None,
        record_dir: Path | str | None = None,
        frames: FrameMode = "keyframes",
        keep_frames: int = 1,
        idle_timeout: float = 10.0,
        probe_seconds: float = 0.5,
        on_connect: Callable[[PublishSession], None] | None = None,
        on_leave: Callable[[PublishSession], None] | None = None,
        on_frame: Callable[[DecodedFrame], None] | None = None,
        on_packet: Callable[[PublishSession, Packet[Stream]], None] | None = None,
        tls: ServerTls | None = None,
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"port must be 1-65535, not {port}")
        if frames not in ("keyframes", "all", "none"):
            raise ValueError(f"frames must be 'keyframes', 'all' or 'none', not {frames!r}")
        self.host = host
        self.port = port
        self.app = app
        self.key = key
        self.record_dir = Path(record_dir) if record_dir is not None else None
        self.frames = frames
        self.idle_timeout = idle_timeout
        self.probe_seconds = probe_seconds
        self.on_connect = on_connect
        self.on_leave = on_leave
        self.on_frame = on_frame
        self.on_packet = on_packet
        """Called with each audio and video packet as demuxed (before it is recorded), e.g.
        :meth:`zoomlive.relay.FlvRelay.on_packet`; it must not keep the
        packet's stream."""
        self.tls = tls
        """With a certificate: ``rtmps://`` through a TLS front (zoomlive.tls) on ``port``,
        the plain listener on another loopback port."""
        self.front: TlsFront | None = None
        self._listen_port = port

        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._sessions: list[PublishSession] = []
        self._current: PublishSession | None = None
        self._frames: deque[DecodedFrame] = deque(maxlen=max(1, keep_frames))
        self._frame_seq = 0
        self._frame_wanted = False
        self._state: Literal["new", "listening", "session", "stopped"] = "new"
        self._error: str | None = None

    # -- public state --------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL a publisher pushes to (any key is accepted; see :attr:`PublishSession.key`)."""
        scheme = "rtmps" if self.tls is not None else "rtmp"
        return f"{scheme}://{self.host}:{self.port}/{self.app}/{self.key or 'stream'}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def error(self) -> str | None:
        """Why the receiver thread gave up, if it did."""
        return self._error

    @property
    def sessions(self) -> list[PublishSession]:
        """All publish sessions so far, oldest first (the last may be in progress)."""
        with self._cond:
            return list(self._sessions)

    @property
    def current(self) -> PublishSession | None:
        """The session in progress, if any."""
        with self._cond:
            return self._current

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, *, wait: float | None = 5.0) -> Self:
        """Start the receiver thread; unless ``wait`` is None, wait until the port listens."""
        if self._thread is not None:
            raise ReceiverError("receiver already started")
        level = av.logging.get_level()
        if level is None or level < av.logging.WARNING:
            av.logging.set_level(av.logging.WARNING)
        if self.tls is not None:
            from zoomlive.tls import TlsFront

            with socket.socket() as probe:  # a free loopback port for the plain listener
                probe.bind(("127.0.0.1", 0))
                self._listen_port = probe.getsockname()[1]
            try:  # a bad certificate or key (ssl.SSLError), the port taken
                self.front = TlsFront(self.host, self.port, self._listen_port, self.tls)
                self.front.start()
            except OSError as exc:
                raise ReceiverError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        self._thread = threading.Thread(
            target=self._run, name=f"rtmp-receiver-{self.port}", daemon=True
        )
        self._thread.start()
        if wait is not None:
            self.wait_listening(wait)
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop listening, end any session (closing its FLV), and join the thread."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self.front is not None:
            self.front.stop()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            self._interrupt()
            thread.join(0.05)
        if thread.is_alive():
            raise ReceiverError(f"receiver thread did not stop within {timeout} s")

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- waiting -------------------------------------------------------------------------

    def wait_listening(self, timeout: float = 5.0) -> None:
        """Wait until the port accepts a publisher (it does not between two sessions)."""
        deadline = time.monotonic() + timeout
        while True:
            stopped = not self.running and self._state != "new"
            if self._error is not None:
                raise ReceiverError(self._error)
            if stopped:
                raise ReceiverError("receiver is not running")
            if self._state == "listening" and _is_listening(self._listen_port):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.url} not listening within {timeout} s")
            time.sleep(0.01)

    def wait_connected(self, timeout: float = 10.0, index: int | None = None) -> PublishSession:
        """The session ``index`` once its publisher has connected.

        Without ``index``: the session in progress, or else the next one to connect. Each
        ``wait_*`` returns the live :class:`PublishSession` and raises ``TimeoutError``.
        """
        i = self._resolve(index)
        return self._wait(lambda: self._get(i), timeout, f"session {i} to connect")

    def wait_first_frame(self, timeout: float = 10.0, index: int | None = None) -> PublishSession:
        """The session ``index`` once a first video frame of it was decoded."""
        i = self._resolve(index)

        def ready() -> PublishSession | None:
            session = self._get(i)
            return session if session is not None and session.first_frame_at else None

        return self._wait(ready, timeout, f"a first frame of session {i}")

    def wait_left(self, timeout: float = 10.0, index: int | None = None) -> PublishSession:
        """The session ``index`` once its publisher has left (and its FLV is closed)."""
        i = self._resolve(index)

        def ready() -> PublishSession | None:
            session = self._get(i)
            return session if session is not None and session.left_at is not None else None

        return self._wait(ready, timeout, f"session {i} to end")

    # -- frames --------------------------------------------------------------------------

    def latest_frame(self) -> DecodedFrame | None:
        """The most recently decoded video frame (``.to_image()``, ``.to_ndarray()``)."""
        with self._cond:
            return self._frames[-1] if self._frames else None

    def recent_frames(self) -> list[DecodedFrame]:
        """The last ``keep_frames`` decoded frames, oldest first."""
        with self._cond:
            return list(self._frames)

    def request_frame(self, timeout: float = 5.0) -> DecodedFrame:
        """Decode a picture of now: the packets since the last keyframe, at the next video
        packet (with ``frames="all"``, simply the next decoded frame)."""
        with self._cond:
            seq = self._frame_seq
            self._frame_wanted = True
            deadline = time.monotonic() + timeout
            while self._frame_seq == seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.running:
                    raise TimeoutError(f"no video frame decoded within {timeout} s")
                self._cond.wait(min(remaining, 0.25))
            return self._frames[-1]

    def save_frame(self, path: Path | str, *, fresh: bool = False, timeout: float = 5.0) -> Path:
        """Write the latest frame (with ``fresh``, a just-decoded one) to ``path`` as PNG."""
        frame = self.request_frame(timeout) if fresh else self.latest_frame()
        if frame is None:
            raise LookupError("no video frame decoded yet")
        return frame.save_png(path)

    # -- internals: waiting --------------------------------------------------------------

    def _resolve(self, index: int | None) -> int:
        with self._cond:
            if index is not None:
                return index
            if self._current is not None:
                return self._current.index
            return len(self._sessions)

    def _get(self, index: int) -> PublishSession | None:
        return self._sessions[index] if 0 <= index < len(self._sessions) else None

    def _wait(
        self, ready: Callable[[], PublishSession | None], timeout: float, what: str
    ) -> PublishSession:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                session = ready()
                if session is not None:
                    return session
                if self._error is not None:
                    raise ReceiverError(self._error)
                if self._state == "stopped":
                    raise ReceiverError(f"receiver stopped while waiting for {what}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
                self._cond.wait(min(remaining, 0.25))

    def _interrupt(self) -> None:
        """Unblock the receiver thread's accept or read (see the module docstring)."""
        if _PROC_NET:
            for fd, _state in _own_sockets(self._listen_port):
                _shutdown_fd(fd, self._listen_port)
        elif self._state == "listening":
            with contextlib.suppress(OSError):
                socket.create_connection((self.host, self._listen_port), timeout=0.2).close()

    # -- internals: the receiver thread --------------------------------------------------

    def _run(self) -> None:
        options = {
            "listen": "1",
            "analyzeduration": str(int(self.probe_seconds * 1_000_000)),
        }
        try:
            with av.logging.Capture(local=True) as logs:
                while not self._stopping.is_set():
                    # A marker resets PyAV's "skip repeated logs", so a key mismatch that
                    # repeats the previous session's is still captured.
                    av.logging.log(av.logging.WARNING, "zoomlive", f"listen {time.monotonic()}")
                    logs.clear()
                    with self._cond:
                        self._state = "listening"
                        self._cond.notify_all()
                    try:
                        key = self.key or "stream"
                        plain = f"rtmp://127.0.0.1:{self._listen_port}/{self.app}/{key}"
                        container = av.open(
                            self.url if self.tls is None else plain,
                            mode="r",
                            format="flv",
                            options=options,
                            timeout=(None, self.idle_timeout),
                        )
                    except av.FFmpegError as exc:
                        if self._stopping.is_set():
                            break
                        if exc.errno in _FATAL_ERRNOS:
                            self._error = f"cannot listen on {self.host}:{self.port}: {exc}"
                            log.error("%s", self._error)
                            break
                        log.debug("publisher failed to connect: %s", exc)
                        time.sleep(0.02)
                        continue
                    try:
                        self._serve(container, logs)
                    finally:
                        container.close()
        except Exception as exc:  # pragma: no cover - a bug; keep waiters from hanging
            self._error = f"receiver thread crashed: {exc!r}"
            log.exception("RTMP receiver thread crashed")
        finally:
            with self._cond:
                self._state = "stopped"
                self._current = None
                self._cond.notify_all()

    def _serve(self, container: InputContainer, logs: list[tuple[int, str, str]]) -> None:
        now, wall = time.monotonic(), time.time()
        session = PublishSession(
            index=len(self._sessions),
            url=self.url,
            connected_at=now,
            connected_wall=wall,
            app=self.app,
            key=self.key or "stream",
            metadata=dict(container.metadata),
        )
        for _level, _name, message in logs:
            if match := _KEY_RE.search(message):
                session.key = match.group(1)
                session.key_mismatch = self.key is not None
            elif match := _APP_RE.search(message):
                session.app = match.group(1)
                session.app_mismatch = True
        logs.clear()
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is not None:
            session.video_codec = video.codec_context.name
            session.width = video.codec_context.width or None
            session.height = video.codec_context.height or None
        if audio is not None:
            session.audio_codec = audio.codec_context.name
            session.audio_sample_rate = audio.codec_context.sample_rate or None

        recorder: _Recorder | None = None
        if self.record_dir is not None:
            stamp = datetime.fromtimestamp(wall).strftime("%Y%m%d-%H%M%S")
            path = self.record_dir / f"rtmp-{stamp}-{session.index:03d}.flv"
            try:
                recorder = _Recorder(path, container, session.metadata)
                session.flv_path = path
            except (OSError, av.FFmpegError) as exc:
                session.record_error = str(exc)
                log.warning("cannot record to %s: %s", path, exc)

        with self._cond:
            self._sessions.append(session)
            self._current = session
            self._state = "session"
            self._cond.notify_all()
        self._call(self.on_connect, session)

        decoder = _VideoDecoder(self, session, video) if video is not None else None
        reason = "publisher closed"
        try:
            for packet in container.demux():
                if self._stopping.is_set():
                    reason = "stopped"
                    break
                if packet.dts is None:  # PyAV's flush packets at EOF
                    continue
                stream_type = packet.stream.type
                if stream_type == "video":
                    session.video_packets += 1
                    session.video_bytes += packet.size
                    pts = _seconds(packet)
                    if session.first_video_packet_at is None:
                        session.first_video_packet_at = time.monotonic()
                        session.first_video_pts = pts
                    if pts is not None:
                        session.last_video_pts = pts
                    if packet.is_keyframe:
                        session.keyframes += 1
                    if decoder is not None and packet.stream is video:
                        decoder.feed(packet, pts)
                elif stream_type == "audio":
                    session.audio_packets += 1
                    session.audio_bytes += packet.size
                if self.on_packet is not None and stream_type in ("video", "audio"):
                    try:
                        self.on_packet(session, packet)
                    except Exception:
                        log.exception("RTMP receiver packet hook failed")
                if recorder is not None:
                    recorder.mux(packet, session)
                if logs:
                    _keep_warnings(session, logs)
            else:
                reason = "end of stream"
        except av.error.ExitError:
            reason = "stopped" if self._stopping.is_set() else "idle timeout"
        except av.FFmpegError as exc:
            if self._stopping.is_set():
                reason = "stopped"
            elif exc.errno != errno.EIO:  # EIO: the publisher closed its connection
                reason = f"error: {exc}"
        finally:
            if logs:
                _keep_warnings(session, logs)
            if recorder is not None:
                recorder.close(session)
            session.end_reason = reason
            session.left_wall = time.time()
            with self._cond:
                session.left_at = time.monotonic()
                self._current = None
                self._cond.notify_all()
            self._call(self.on_leave, session)

    def _publish(
        self, session: PublishSession, frame: av.VideoFrame, pts: float | None, key: bool
    ) -> None:
        decoded = DecodedFrame(
            frame=frame, session_index=session.index, at=time.monotonic(), pts=pts, keyframe=key
        )
        with self._cond:
            self._frames.append(decoded)
            self._frame_seq += 1
            self._frame_wanted = False
            session.frames_decoded += 1
            session.width, session.height = frame.width, frame.height
            if session.first_frame_at is None:
                session.first_frame_at = decoded.at
            self._cond.notify_all()
        self._call(self.on_frame, decoded)

    def _call(self, callback: Callable[[Any], None] | None, arg: object) -> None:
        if callback is None:
            return
        try:
            callback(arg)
        except Exception:
            log.exception("RTMP receiver callback %r failed", callback)


class _VideoDecoder:
    """Decodes what :attr:`RtmpReceiver.frames` asks for, and on request."""

    def __init__(self, owner: RtmpReceiver, session: PublishSession, stream: VideoStream) -> None:
        self.owner = owner
        self.session = session
        self.stream = stream
        self.gop: list[Packet[Stream]] = []
        self.gop_pts: float | None = None

    def feed(self, packet: Packet[Stream], pts: float | None) -> None:
        owner = self.owner
        if owner.frames == "all":
            self._emit(self._decode_with(self.stream.codec_context, [packet]), pts, False)
            return
        if packet.is_keyframe:
            self.gop = [packet]
            if owner.frames == "keyframes":
                self._emit(self._decode_fresh([packet]), pts, True)
        elif self.gop and len(self.gop) < _GOP_LIMIT:
            self.gop.append(packet)
        else:
            self.gop = []
        if owner._frame_wanted and self.gop:
            self._emit(self._decode_fresh(self.gop), pts, len(self.gop) == 1)

    def _emit(self, frames: list[av.VideoFrame], pts: float | None, key: bool) -> None:
        if frames:
            self.owner._publish(self.session, frames[-1], pts, key)

    def _decode_fresh(self, packets: list[Packet[Stream]]) -> list[av.VideoFrame]:
        """A new single-threaded decoder per call: no state, no reference-frame trouble, and
        draining it returns the frames at once whatever the codec's delay."""
        template = self.stream.codec_context
        try:
            context = av.CodecContext.create(template.name, "r")
            context.extradata = template.extradata
            context.thread_count = 1
        except av.FFmpegError:
            self.session.decode_errors += 1
            return []
        if not isinstance(context, VideoCodecContext):
            return []
        frames = self._decode_with(context, packets)
        with contextlib.suppress(av.FFmpegError):
            frames += [f for f in context.decode(None) if isinstance(f, av.VideoFrame)]
        return frames

    def _decode_with(
        self, context: VideoCodecContext, packets: list[Packet[Stream]]
    ) -> list[av.VideoFrame]:
        frames: list[av.VideoFrame] = []
        for packet in packets:
            try:
                frames += [f for f in context.decode(packet) if isinstance(f, av.VideoFrame)]
            except av.FFmpegError:
                self.session.decode_errors += 1
        return frames


class _Recorder:
    """Stream copy of one session into an FLV file."""

    def __init__(self, path: Path, source: InputContainer, metadata: dict[str, str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.output: OutputContainer = av.open(str(path), mode="w", format="flv")
        for name in ("title", "comment", "artist"):
            if name in metadata:
                self.output.metadata[name] = metadata[name]
        self.streams: dict[int, Stream] = {}
        for stream in source.streams:
            if stream.type in ("video", "audio"):
                self.streams[stream.index] = self.output.add_stream_from_template(stream)

    def mux(self, packet: Packet[Stream], session: PublishSession) -> None:
        target = self.streams.get(packet.stream.index)
        if target is None or session.record_error is not None:
            return
        packet.stream = target
        try:
            self.output.mux(packet)
        except av.FFmpegError as exc:  # e.g. non-monotonic timestamps: skip the packet
            session.warnings.append(f"record: {exc}")
            del session.warnings[:-_WARNINGS_KEPT]

    def close(self, session: PublishSession) -> None:
        try:
            self.output.close()
        except av.FFmpegError as exc:
            session.record_error = str(exc)


def _seconds(packet: Packet[Stream]) -> float | None:
    if packet.pts is None or packet.time_base is None:
        return None
    return float(packet.pts * packet.time_base)


def _keep_warnings(session: PublishSession, logs: list[tuple[int, str, str]]) -> None:
    session.warnings.extend(f"{name}: {message.strip()}" for _level, name, message in logs)
    del session.warnings[:-_WARNINGS_KEPT]
    logs.clear()


# -- this process's sockets on a port (Linux /proc) ---------------------------------------

_PROC_NET = os.path.exists("/proc/net/tcp") and os.path.isdir("/proc/self/fd")


def _own_sockets(port: int) -> list[tuple[int, str]]:
    """``(fd, tcp state)`` of this process's sockets whose local port is ``port``."""
    inodes: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines, None)
            for line in lines:
                parts = line.split()
                if len(parts) > 9 and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes[parts[9]] = parts[3]
    if not inodes:
        return []
    found = []
    for fd in _fds():
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            found.append((fd, inodes[target[8:-1]]))
    return found


def _fds() -> Iterator[int]:
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            if name.isdigit():
                yield int(name)


def _shutdown_fd(fd: int, port: int) -> None:
    """``shutdown()`` the socket behind ``fd`` if it still is one bound to ``port`` (the fd
    may have been closed and reused since it was listed)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        if sock.type == socket.SOCK_STREAM and sock.getsockname()[1] == port:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


def _is_listening(port: int) -> bool:
    if not _PROC_NET:
        return True
    return any(state == _TCP_LISTEN for _fd, state in _own_sockets(port))


# -- the CLI entry point -------------------------------------------------------------------


def run_receive(
    port: int = 1935,
    host: str = "127.0.0.1",
    app: str = "live",
    key: str | None = None,
    record_dir: Path | None = None,
    frame_png: Path | None = None,
    echo: Callable[[str], None] = print,
    *,
    until: threading.Event | None = None,
    watch_port: int | None = None,
    tls: ServerTls | None = None,
) -> None:
    """``zoomlive receive``: listen, report each publisher, until Ctrl-C (or ``until``).

    With ``record_dir``, each session is copied to an FLV file there; with ``frame_png``, each
    decoded keyframe (about one per GOP) is written there as PNG, replacing the last. With
    ``watch_port``, what arrives is served as live FLV at
    ``http://host:watch_port/{app}/{key}.flv`` (docs/watch.md).
    """
    from zoomlive.relay import FlvRelay, FlvServer

    relay = FlvRelay() if watch_port is not None else None

    def connected(session: PublishSession) -> None:
        if relay is not None:
            relay.on_connect(session)
        parts = [
            f"publisher connected: app={session.app} key={session.key}",
            f"title={session.title!r}",
            f"video={session.video_codec} {session.width}x{session.height}",
            f"audio={session.audio_codec}",
        ]
        if session.app_mismatch:
            parts.append(f"(expected app {app!r})")
        if session.key_mismatch:
            parts.append(f"(expected key {key!r})")
        echo(" ".join(parts))

    def left(session: PublishSession) -> None:
        if relay is not None:
            relay.on_leave(session)
        fps = session.video_fps
        line = (
            f"publisher left after {session.duration:.1f} s ({session.end_reason}): "
            f"{session.video_packets} video packets"
            + (f" ({fps:.1f} fps)" if fps is not None else "")
            + f", {session.audio_packets} audio packets"
        )
        if session.flv_path is not None:
            line += f", recorded to {session.flv_path}"
        if session.record_error:
            line += f", recording failed: {session.record_error}"
        echo(line)

    saved: set[int] = set()

    def frame(decoded: DecodedFrame) -> None:
        if frame_png is None:
            return
        decoded.save_png(frame_png)
        if decoded.session_index not in saved:
            saved.add(decoded.session_index)
            echo(f"frame saved to {frame_png} ({decoded.width}x{decoded.height})")

    receiver = RtmpReceiver(
        port,
        host=host,
        app=app,
        key=key,
        record_dir=record_dir,
        on_connect=connected,
        on_leave=left,
        on_frame=frame if frame_png is not None else None,
        on_packet=relay.on_packet if relay is not None else None,
        tls=tls,
    )
    receiver.start()
    scheme = "rtmp" if tls is None else "rtmps"
    echo(f"listening on {scheme}://{host}:{port}/{app}/{key or '<any key>'} (Ctrl-C to stop)")
    if tls is not None:
        echo(f"certificate: {tls.cert} (the emulator trusts it with ZOOMLIVE_MEDIA_CA_FILE)")
    server = None
    if relay is not None and watch_port is not None:
        server = FlvServer(relay, f"/{app}/{key or 'stream'}.flv", host, watch_port)
        try:
            server.start()
        except OSError as exc:
            receiver.stop()
            raise ReceiverError(f"cannot listen on {host}:{watch_port} to watch: {exc}") from None
        echo(f"watch it at {server.url} (e.g. ffplay {server.url})")
    refused = 0
    try:
        while receiver.running:
            if receiver.front is not None and len(receiver.front.refused) > refused:
                for reason in receiver.front.refused[refused:]:
                    echo(reason)
                refused = len(receiver.front.refused)
            if until is not None:
                if until.wait(0.25):
                    break
            else:
                time.sleep(0.25)
    except KeyboardInterrupt:
        echo("stopping")
    finally:
        if relay is not None:
            relay.close()
        if server is not None:
            server.stop()
        receiver.stop()
    if receiver.error is not None:
        raise ReceiverError(receiver.error)
