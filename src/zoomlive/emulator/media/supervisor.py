"""The media supervisor: one ffmpeg per live stream, started when a ``start`` commits, stopped
when a ``stop`` (or the end of the webinar or meeting) commits, and when the emulator shuts
down. It moves the stream along the declared state machine: ``starting`` until ffmpeg reports
its first frame sent, ``live`` then, ``failed`` (with the reason) when ffmpeg dies without being
asked, and ``starting`` again after a back-off while the stream is still wanted.

No orphans: every ffmpeg runs in its own process group, is told by the kernel to die with the
emulator (``PR_SET_PDEATHSIG``, so even ``kill -9`` of the server takes it along), and is stopped
with SIGINT, then SIGKILL after a grace period.

Modes: ``ffmpeg`` (real RTMP), ``fake`` (the same state machine, no process: starting → live at
once, for fast tests and benchmarks), ``off`` (no supervisor; the backend marks a stream live in
the start transaction itself), ``remote`` (no ffmpeg in the API process: media workers push the
streams, ``remote.py`` and ``worker.py``; each worker runs a supervisor of its own, limited to
the streams it holds a lease on).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.clock import Clock
from zoomlive.emulator.concurrency import to_thread, wait_at_most
from zoomlive.emulator.media.command import (
    MediaUnavailable,
    OverlayFiles,
    build_command,
    find_ffmpeg,
    find_font,
    profile_for,
    rtmp_target,
)
from zoomlive.emulator.store import LiveStream, Store
from zoomlive.emulator.store.records import StreamEffect

log = logging.getLogger("zoomlive.media")

MediaMode = Literal["ffmpeg", "fake", "off", "remote"]
Key = tuple[SessionKind, int]
STOP_GRACE_S = 5.0
BACKOFF_MAX_S = 10.0
STABLE_AFTER_S = 10.0  # a stream live this long resets the back-off


try:  # resolved once here: between fork and exec only the call itself may run
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: ask the kernel for SIGKILL when the emulator dies."""
    if _PRCTL is None:
        return
    _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def die_with_parent() -> None:
    """In a process already running (a worker): SIGKILL when its parent dies."""
    parent = os.getppid()
    if parent > 1:
        _die_with_parent(parent)


def classify(stderr: str, saw_frames: bool, returncode: int) -> str:
    """A short reason for an ffmpeg that ended on its own."""
    if returncode < 0:
        return f"ffmpeg crashed (signal {-returncode})"
    text = stderr.lower()
    if "connection refused" in text:
        return "connection refused"
    if "[tls @" in text or "tls://" in text:
        return _tls_reason(stderr)
    if "timed out" in text or "timeout" in text:
        return "receiver silent (I/O timeout)"
    if not saw_frames:
        if "input/output error" in text or "broken pipe" in text or "reset by peer" in text:
            return "stream key rejected by the receiver"
        if "no such file" in text or "invalid argument" in text:
            return "invalid stream URL"
        return f"ffmpeg could not start the stream (exit {returncode})"
    return "connection lost"


def _tls_reason(stderr: str) -> str:
    """An ``rtmps://`` push that failed in TLS: the sender refused the receiver's certificate
    (GnuTLS-built ffmpeg: "Peer certificate failed verification"; OpenSSL-built: "certificate
    verify failed"), or the handshake itself failed (e.g. a plain RTMP receiver)."""
    text = stderr.lower()
    if "failed verification" in text or "verify failed" in text or "unable to verify" in text:
        return "TLS handshake failed: certificate verify failed"
    if "does not match hostname" in text or "hostname mismatch" in text:
        return "TLS handshake failed: certificate does not match the host"
    if "timed out" in text or "timeout" in text:
        return "TLS handshake failed: receiver silent (I/O timeout)"
    for line in stderr.splitlines():
        if line.lower().startswith("[tls @"):
            detail = line.split("]", 1)[1].strip().rstrip(".")
            return f"TLS handshake failed: {detail}"[:120]
    return "TLS handshake failed"


@dataclass
class StreamPlan:
    """What one ffmpeg run pushes."""

    target: str
    resolution: str | None
    title: str
    speaker: str | None
    view: str | None


@dataclass
class Job:
    key: Key
    workdir: Path
    wanted: bool = True
    process: asyncio.subprocess.Process | None = None
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    speaker_name: str | None = None
    attempts: int = 0
    frames: int = 0
    bitrate_kbps: float | None = None
    target_kbps: int | None = None
    speed: float | None = None
    fps: float | None = None
    live_since: float | None = None
    last_progress: float | None = None
    last_error: str | None = None
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=40))

    def metrics(self) -> dict[str, Any]:
        return {
            "pid": self.process.pid if self.process and self.process.returncode is None else None,
            "attempts": self.attempts,
            "frames": self.frames,
            "bitrate_kbps": self.bitrate_kbps,
            "target_kbps": self.target_kbps,
            "fps": self.fps,
            "speed": self.speed,
            "last_error": self.last_error,
        }


class MediaSupervisor:
    """Runs in the server's event loop; the store's commit hook feeds it effects."""

    def __init__(
        self,
        store: Store,
        mode: MediaMode,
        *,
        profile: str | None = None,
        workdir: Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or Clock()
        self.mode = mode
        self.profile = profile
        self._own_dir = workdir is None
        self._workdir = workdir
        self._dir_lock: int | None = None
        self.jobs: dict[Key, Job] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[StreamEffect] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ffmpeg: str | None = None
        self._font: str | None = None
        self.holds: Callable[[Key], bool] | None = None
        """In a media worker: whether it holds the stream's lease (it pushes no other)."""
        self.speakers: dict[Key, str] = {}
        """Active speakers to start streams with (a media worker taking a stream over)."""
        self._versions: dict[Key, int] = {}
        """The newest committed version of each stream an effect brought."""

    # lifecycle --------------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        """Overlay, thumbnail and progress files of the streams; made on first use."""
        if self._workdir is None:
            self._workdir, self._dir_lock = make_workdir()
        return self._workdir

    async def start(self, *, follow_store: bool = True) -> None:
        """Follow the store's commits and resume the streams that were running; a media worker
        (``follow_store=False``) is told what to reconcile instead (:meth:`submit`)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._runner = asyncio.create_task(self._run(), name="zoomlive-media")
        if self.mode == "ffmpeg" and self._own_dir:
            await to_thread(sweep_dead_workdirs)
        if self.mode == "ffmpeg":
            try:
                find_ffmpeg()
            except MediaUnavailable as exc:  # said once now; each start fails "ffmpeg missing"
                log.warning("%s; live streams will fail until then", exc)
        if follow_store:
            self.store.on_commit.append(self.on_commit)
            await to_thread(self._resume)

    def submit(self, effect: StreamEffect) -> None:
        """Reconcile one stream (and rewrite its overlays for ``update``), in order with the
        rest; from the supervisor's event loop."""
        if self._queue is not None:
            self._queue.put_nowait(effect)

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.on_commit.remove(self.on_commit)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        await asyncio.gather(*(self._stop_job(key) for key in list(self.jobs)))
        if self._own_dir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        if self._dir_lock is not None:
            os.close(self._dir_lock)
            self._dir_lock = None

    def _resume(self) -> None:
        """Streams that were running when the emulator last stopped are pushed again."""
        with self.store.read() as tx:
            running = [s for s in tx.list_livestreams() if s.state != "stopped"]
        for stream in running:
            with self.store.write() as tx:
                row = tx.get_livestream(stream.kind, stream.owner_id, for_update=True)
                if row is None or row.state == "stopped":
                    continue
                now = self.clock.now()
                if row.state != "starting":
                    row.reconnect(now, "emulator restarted")
                if self.mode == "fake":  # no media to start: live again at once
                    row.media_live(now, "fake media")
                else:
                    tx.effects.append(StreamEffect("start", row.kind, row.owner_id))
                tx.save_livestream(row)

    # effects ----------------------------------------------------------------------------------
    def on_commit(self, effects: list[Any]) -> None:
        """Called by the store after a commit, from any thread."""
        for effect in effects:
            if not isinstance(effect, StreamEffect):
                continue
            if self.mode == "fake":  # the rules move a stream to live themselves
                if effect.action == "stop":  # the next start shows the host again
                    self.speakers.pop((effect.kind, effect.owner_id), None)
                continue
            if self._loop is not None and self._queue is not None:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, effect)

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            effect = await self._queue.get()
            key: Key = (effect.kind, effect.owner_id)
            try:
                await self._reconcile(key, effect.stream)
                if effect.action == "update":
                    await to_thread(self._write_overlays, key)
            except Exception:
                log.exception("media effect %s failed", effect)

    async def _reconcile(self, key: Key, committed: LiveStream | None = None) -> None:
        """Make the processes match the store, whatever order effects arrived in: a stream
        the store wants pushed has a job; one it does not has none. ``committed``: the stream
        as the effect's transaction left it (no need to read it back), unless a newer version
        was seen already."""
        seen = self._versions.get(key, 0)
        if committed is not None and committed.version >= seen:
            self._versions[key] = committed.version
            state: str | None = committed.state
        else:
            state = await to_thread(self._read_state, key)
        if self.holds is not None and not self.holds(key):
            state = None  # another worker's stream, or nobody's yet
        job = self.jobs.get(key)
        alive = job is not None and job.wanted and job.task is not None and not job.task.done()
        if state in ("starting", "live", "failed"):
            if alive:
                assert job is not None
                job.wake.set()  # e.g. a start during a retry back-off: try again now
                return
            if job is not None:
                await self._stop_job(key)
            await self._start_job(key)
        elif job is not None:
            await self._stop_job(key)

    def _read_state(self, key: Key) -> str | None:
        with self.store.read() as tx:
            stream = tx.get_livestream(*key)
        return None if stream is None else stream.state

    # jobs -------------------------------------------------------------------------------------
    async def _start_job(self, key: Key) -> None:
        job = Job(key=key, workdir=self.workdir / f"{key[0]}-{key[1]}")
        job.speaker_name = self.speakers.pop(key, None)
        job.workdir.mkdir(parents=True, exist_ok=True)
        self.jobs[key] = job
        job.task = asyncio.create_task(self._push(job), name=f"zoomlive-push-{key[0]}-{key[1]}")

    async def _stop_job(self, key: Key) -> None:
        job = self.jobs.get(key)
        if job is None:
            return
        job.wanted = False
        job.wake.set()
        await self._terminate(job)
        if job.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await wait_at_most(job.task, STOP_GRACE_S + 2)
        await self._terminate(job)  # a process spawned while we waited
        if self.jobs.get(key) is job:
            self.jobs.pop(key, None)

    async def _terminate(self, job: Job) -> None:
        proc = job.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        if not await wait_at_most(proc.wait(), STOP_GRACE_S):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    async def _push(self, job: Job) -> None:
        try:
            await self._push_loop(job)
        except asyncio.CancelledError:
            await self._terminate(job)
            raise
        except Exception as exc:
            log.exception("stream %s-%s: supervisor error", job.key[0], job.key[1])
            await self._terminate(job)
            reason = f"internal error: {exc.__class__.__name__}"
            await to_thread(
                self._transition, job.key[0], job.key[1], ("starting", "live"), "failed", reason
            )

    async def _push_loop(self, job: Job) -> None:
        backoff = 0.5
        while job.wanted:
            plan = await to_thread(self._load_plan, job.key)
            if plan is None:
                break
            job.attempts += 1
            started = time.monotonic()
            reason = await self._run_ffmpeg(job, plan)
            if not job.wanted:
                break
            job.last_error = reason
            log.warning("stream %s-%s: %s", job.key[0], job.key[1], reason)
            moved = await to_thread(
                self._transition, job.key[0], job.key[1], ("starting", "live"), "failed", reason
            )
            if not moved or reason == "ffmpeg missing" or reason.startswith("invalid stream URL"):
                break
            if job.live_since is not None and time.monotonic() - started > STABLE_AFTER_S:
                backoff = 0.5
            await wait_at_most(job.wake.wait(), backoff)
            backoff = min(BACKOFF_MAX_S, backoff * 2)
            if not job.wanted:
                break
            again = await to_thread(self._retry, job.key)
            if not again:
                break

    async def _run_ffmpeg(self, job: Job, plan: StreamPlan) -> str:
        if not plan.target.lower().startswith(("rtmp://", "rtmps://")):
            # Only RTMP(S), as Zoom's custom streaming: never let ffmpeg write a local file or
            # speak another protocol because a stream_url said so.
            return "invalid stream URL (rtmp:// or rtmps:// only)"
        try:
            self._ffmpeg = self._ffmpeg or find_ffmpeg()
            self._font = self._font or find_font()
        except MediaUnavailable as exc:
            log.error("%s", exc)
            return "ffmpeg missing"
        overlays = self._overlay_files(job, plan)
        profile = profile_for(plan.resolution, self.profile)
        job.target_kbps = profile.video_kbps + profile.audio_kbps
        try:
            argv = build_command(
                self._ffmpeg,
                self._font,
                profile,
                overlays,
                plan.title,
                plan.target,
                thumbnail=job.workdir / "thumb.jpg",
            )
        except MediaUnavailable as exc:  # a CA file that is not there (yet)
            return f"TLS: {exc}"
        parent = os.getpid()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=lambda: _die_with_parent(parent),
            )
        except OSError as exc:
            log.error("cannot run ffmpeg: %s", exc)
            return "ffmpeg missing"
        job.process = proc
        if not job.wanted:  # stopped while we were spawning it
            await self._terminate(job)
        job.frames = 0
        job.live_since = None
        saw_frames = await asyncio.gather(
            self._read_progress(job, proc), self._read_errors(job, proc)
        )
        await proc.wait()
        job.process = None
        return classify("\n".join(job.stderr), bool(saw_frames[0]), proc.returncode or 0)

    def inject(self, kind: SessionKind, owner_id: int, fault: str) -> None:
        """Media faults on demand: ``ffmpeg_crash`` (SIGKILL the pusher) or
        ``receiver_disconnect`` (the kernel aborts the pusher's TCP connection, as a receiver
        going away would). The supervisor then reacts as to the real thing. Thread-safe."""
        job = self.jobs.get((kind, owner_id))
        proc = job.process if job is not None else None
        if proc is None or proc.returncode is not None:
            raise LookupError("not being pushed")
        if fault == "ffmpeg_crash":
            os.kill(proc.pid, signal.SIGKILL)
            return
        ports = _local_ports(proc.pid)
        if not ports:
            raise LookupError("no connection to cut")
        for port in ports:
            subprocess.run(
                ["ss", "-K", "src", "127.0.0.1", "sport", "=", f":{port}"],
                capture_output=True,
                timeout=5,
                check=False,
            )

    async def _read_errors(self, job: Job, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                job.stderr.append(line)

    async def _read_progress(self, job: Job, proc: asyncio.subprocess.Process) -> bool:
        """``-progress pipe:1`` blocks: the first with frames sent means the receiver took the
        stream, so it is live."""
        assert proc.stdout is not None
        saw_frames = False
        async for raw in proc.stdout:
            name, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if name == "frame":
                job.frames = int(value) if value.isdigit() else job.frames
                job.last_progress = time.monotonic()
                if job.frames > 0 and not saw_frames:
                    saw_frames = True
                    job.live_since = time.monotonic()
                    await to_thread(
                        self._transition,
                        job.key[0],
                        job.key[1],
                        ("starting",),
                        "live",
                        "frames sent",
                    )
            elif name == "fps":
                job.fps = _float(value)
            elif name == "bitrate":
                match = re.match(r"([\d.]+)kbits/s", value)
                job.bitrate_kbps = float(match.group(1)) if match else None
            elif name == "speed":
                job.speed = _float(value.rstrip("x"))
        return saw_frames

    # state and overlays -----------------------------------------------------------------------
    def _transition(
        self, kind: SessionKind, owner_id: int, from_states: tuple[str, ...], to: str, detail: str
    ) -> bool:
        """Move the stream if it is still in one of ``from_states`` (a stop may have won)."""
        with self.store.write() as tx:
            stream = tx.get_livestream(kind, owner_id, for_update=True)
            if stream is None or stream.state not in from_states:
                return False
            now = self.clock.now()
            if to == "failed":
                stream.media_failed(now, detail)
            else:
                stream.media_live(now, detail)
            tx.save_livestream(stream)
            return True

    def _retry(self, key: Key) -> bool:
        """After a back-off: ``failed`` → ``starting`` (a user's start may have done it)."""
        with self.store.write() as tx:
            stream = tx.get_livestream(*key, for_update=True)
            if stream is None or stream.state not in ("failed", "starting"):
                return False
            if stream.state == "failed":
                stream.reconnect(self.clock.now(), "reconnecting")
                tx.save_livestream(stream)
            return True

    def _load_plan(self, key: Key) -> StreamPlan | None:
        kind, owner_id = key
        with self.store.read() as tx:
            stream = tx.get_livestream(kind, owner_id)
            owner = tx.get_session(kind, owner_id)
            if stream is None or owner is None or stream.state not in ("starting", "live"):
                return None
            host = tx.get_user(owner.host_id)
        job = self.jobs.get(key)
        if job is not None and job.speaker_name is None and host is not None:
            job.speaker_name = f"{host.first_name} {host.last_name}".strip() or host.email
        return StreamPlan(
            target=rtmp_target(stream.stream_url or "", stream.stream_key or ""),
            resolution=stream.resolution,
            title=stream.display_name or owner.topic,
            speaker=job.speaker_name if job and stream.active_speaker_name else None,
            view=_view_text(stream) if kind == "meeting" else None,
        )

    def _overlay_files(self, job: Job, plan: StreamPlan) -> OverlayFiles:
        title = job.workdir / "title.txt"
        _write_atomic(title, plan.title)
        speaker = view = None
        if plan.speaker is not None:
            speaker = job.workdir / "speaker.txt"
            _write_atomic(speaker, f"Speaking: {plan.speaker}")
        if plan.view is not None:
            view = job.workdir / "view.txt"
            _write_atomic(view, plan.view)
        return OverlayFiles(title=title, speaker=speaker, view=view)

    def _write_overlays(self, key: Key) -> None:
        """Rewrite the live overlay files (speaker, meeting view); ffmpeg re-reads them."""
        job = self.jobs.get(key)
        if job is None:
            return
        with self.store.read() as tx:
            stream = tx.get_livestream(*key)
        if stream is None:
            return
        if stream.kind == "meeting":
            _write_atomic(job.workdir / "view.txt", _view_text(stream))
        if job.speaker_name is not None:
            _write_atomic(job.workdir / "speaker.txt", f"Speaking: {job.speaker_name}")

    def set_speaker(self, kind: SessionKind, owner_id: int, name: str) -> bool:
        """The host switches the active speaker: the overlay follows within a frame or two.
        With fake media there is no overlay; the name is kept while the stream runs, so fast
        tests can switch it and read it back in the stream's metrics."""
        if self.mode == "fake":
            if self._read_state((kind, owner_id)) not in ("starting", "live", "failed"):
                self.speakers.pop((kind, owner_id), None)
                return False
            self.speakers[(kind, owner_id)] = name
            return True
        job = self.jobs.get((kind, owner_id))
        if job is None:
            return False
        job.speaker_name = name
        path = job.workdir / "speaker.txt"
        if path.exists():
            _write_atomic(path, f"Speaking: {name}")
        return True

    def metrics(self, kind: SessionKind, owner_id: int) -> dict[str, Any] | None:
        if self.mode == "fake":  # (called inside the caller's read: no store access here)
            name = self.speakers.get((kind, owner_id))
            return None if name is None else {"active_speaker": name}
        job = self.jobs.get((kind, owner_id))
        if job is None:
            return None
        data = job.metrics()
        data["active_speaker"] = job.speaker_name
        return data

    def thumbnail(self, kind: SessionKind, owner_id: int) -> bytes | None:
        """The latest JPEG frame ffmpeg wrote for the stream (one a second), if any."""
        job = self.jobs.get((kind, owner_id))
        if job is None:
            return None
        try:
            data = (job.workdir / "thumb.jpg").read_bytes()
        except OSError:
            return None
        # ffmpeg rewrites the file in place: a read can catch it half written.
        return data if data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9") else None

    def pids(self) -> list[int]:
        return [
            job.process.pid
            for job in self.jobs.values()
            if job.process is not None and job.process.returncode is None
        ]


WORKDIR_PREFIX = "zoomlive-media-"
_LOCK_NAME = ".owner.lock"


def make_workdir() -> tuple[Path, int]:
    """A fresh temp folder for this emulator's streams, held by an ``flock`` on a file inside
    it for as long as the emulator lives. It is made under another name and renamed once
    locked, so a sweep never sees it unlocked."""
    staging = Path(tempfile.mkdtemp(prefix=".zoomlive-staging-"))
    fd = os.open(staging / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    while True:
        path = staging.with_name(WORKDIR_PREFIX + secrets.token_hex(6))
        try:
            os.rename(staging, path)  # fails if a folder of that name exists and is not empty
        except OSError:
            continue
        return path, fd


def sweep_dead_workdirs(root: Path | None = None) -> list[Path]:
    """Remove the media folders in ``root`` (the temp dir) whose emulator is gone: their lock
    is free, since the kernel drops an ``flock`` when its process dies, however it dies."""
    removed: list[Path] = []
    base = root or Path(tempfile.gettempdir())
    for path in base.glob(WORKDIR_PREFIX + "*"):
        if not path.is_dir() or path.is_symlink():
            continue
        try:
            fd = os.open(path / _LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:
            fd = None  # made by a version without the lock: nobody can hold it
        except OSError:
            continue
        try:
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its emulator is alive
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            if fd is not None:
                os.close(fd)
    return removed


def _local_ports(pid: int) -> list[int]:
    """Local TCP ports of the process's sockets (from /proc)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[9] in inodes and fields[3] == "01":  # ESTABLISHED
                    ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _view_text(stream: LiveStream) -> str:
    layout = (stream.layout or "follow_host").replace("_", " ")
    caption = stream.close_caption or "burnt-in"
    text = f"Layout: {layout} | Captions: {caption}"
    if caption == "burnt-in":
        text += "\n[CC] This is a live caption."
    return text


def _write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` in one step (ffmpeg re-reads it every frame); a temp file per write."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
