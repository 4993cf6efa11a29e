"""Helpers that tests share: processes tied to the test session, free ports, the ffmpeg command
that publishes a test stream, Zoom-shaped error checks, Basic credentials, and a webhook
endpoint. Test modules import these from here, never from each other."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import hmac
import json
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

try:  # resolved once here: between fork and exec only the call itself may run
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


# processes and ports ---------------------------------------------------------------------------


def die_with_parent() -> None:
    """In a child, before exec: the kernel kills it when the test run dies, however it dies
    (a crash of the test process must not leave servers behind)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` for a process that must not outlive the test session."""
    return subprocess.Popen(args, preexec_fn=die_with_parent, **kwargs)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# publishing a test stream ------------------------------------------------------------------------

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def ffmpeg_publish_argv(
    url: str,
    *,
    seconds: float,
    ffmpeg: str = "ffmpeg",
    title: str | None = None,
    text: str | None = None,
    rw_timeout: float | None = None,
) -> list[str]:
    """The ffmpeg command that pushes ``seconds`` of a test stream to the RTMP ``url``: a
    320x180 test pattern at 15 fps (H.264, a keyframe every 30 frames) and a 440 Hz tone (AAC),
    in real time (``-re``: the sources are free-running, ``-t`` bounds the output).

    ``title`` sets the FLV ``onMetaData`` title, ``text`` draws white text in the top-left
    corner, ``rw_timeout`` (seconds) makes ffmpeg give up on a network read or write that hangs.
    """
    argv = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=15",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        str(seconds),
    ]
    if text is not None:
        argv += [
            "-vf",
            f"drawtext=fontfile={FONT}:text={text}:fontsize=40:fontcolor=white:x=10:y=10",
        ]
    argv += [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "30",
        "-b:v",
        "300k",
        "-threads",
        "1",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
    ]
    if title is not None:
        argv += ["-metadata", f"title={title}"]
    if rw_timeout is not None:
        argv += ["-rw_timeout", str(int(rw_timeout * 1_000_000))]
    argv += ["-f", "flv", url]
    return argv


# the Zoom API ------------------------------------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    """An ``Authorization`` header value for the token endpoint."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def assert_error(response: Any, status: int, code: int, message: str | None = None) -> None:
    """A Zoom-shaped error: the status, ``{"code", "message"}`` in JSON, a tracking id."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    if message is not None:
        assert body["message"] == message
    assert response.headers["x-zm-trackingid"]
    assert response.headers["content-type"].startswith("application/json")


# webhooks ----------------------------------------------------------------------------------------

SECRET = "s3cret-token-for-tests"
"""The webhook secret token tests subscribe with."""


class WebhookReceiver:
    """An event endpoint as an integration would write it (no zoomlive code): checks Zoom's
    signature with its own implementation, answers URL validation, can fail the next N and can
    take ``delay`` seconds to answer an event."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_next = 0
        self.delay = 0.0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                stamp = self.headers.get("x-zm-request-timestamp", "")
                message = f"v0:{stamp}:".encode() + raw
                digest = hmac.new(owner.secret.encode(), message, hashlib.sha256).hexdigest()
                good = hmac.compare_digest(self.headers.get("x-zm-signature", ""), "v0=" + digest)
                body = json.loads(raw)
                with owner.lock:
                    if not good:
                        owner.bad_signatures += 1
                    owner.events.append(body)
                    failing = owner.fail_next > 0
                    owner.fail_next -= 1 if failing else 0
                if body["event"] == "endpoint.url_validation":
                    plain = body["payload"]["plainToken"]
                    token = hmac.new(owner.secret.encode(), plain.encode(), hashlib.sha256)
                    answer = json.dumps({"plainToken": plain, "encryptedToken": token.hexdigest()})
                    self._send(200, answer.encode())
                elif failing:
                    self._send(500, b"")
                else:
                    time.sleep(owner.delay)
                    self._send(200, b"")

            def _send(self, code: int, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/zoom/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def named(self, event: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["event"] == event]

    def wait_for(self, event: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.named(event)) < count:
            assert time.monotonic() < deadline, (
                f"no {event}; got {[e['event'] for e in self.events]}"
            )
            time.sleep(0.05)
        return self.named(event)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FeedListener:
    """Reads the emulator's event feed (``/_emulator/events``) in a thread, as the dashboard
    does: ``seen`` holds ``(event, data)`` pairs as they arrive; ``ready`` is set once the feed
    answered. The feed ends when the server stops."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.content_type = ""
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        timeout = httpx.Timeout(5, read=None)
        with (
            httpx.Client(base_url=self.url, timeout=timeout) as http,
            http.stream("GET", "/_emulator/events") as response,
        ):
            self.content_type = response.headers.get("content-type", "")
            kind = ""
            try:
                for line in response.iter_lines():
                    self.ready.set()
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        self.seen.append((kind, json.loads(line[6:])))
            except httpx.HTTPError:
                pass  # the server stopped: the feed ends


FeedEvent = tuple[str | None, str, dict[str, Any]]
"""One server-sent event of the feed: its ``id:`` (None when the frame has none), its
``event:`` and its data."""


class FeedWatcher:
    """A watcher of the event feed with ids, in a thread, as a browser's EventSource reads it:
    ``events`` holds every event in order; ``last_event_id`` is sent as ``Last-Event-ID`` (or,
    with ``query=True``, as ``?last_event_id=``); :meth:`close` hangs up."""

    def __init__(self, url: str, last_event_id: str | None = None, *, query: bool = False) -> None:
        self.events: list[FeedEvent] = []
        self.ready = threading.Event()
        self._sock: socket.socket | None = None
        self._given = last_event_id
        self._query = query
        self._http = httpx.Client(base_url=url, timeout=httpx.Timeout(5, read=None))
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "the feed did not answer"

    def _listen(self) -> None:
        headers, params = {}, {}
        if self._given is not None:
            if self._query:
                params["last_event_id"] = self._given
            else:
                headers["Last-Event-ID"] = self._given
        frame: dict[str, str] = {}
        try:
            with self._http.stream(
                "GET", "/_emulator/events", headers=headers, params=params
            ) as response:
                self._sock = response.extensions["network_stream"].get_extra_info("socket")
                for line in response.iter_lines():
                    self.ready.set()  # the first line comes once the feed has placed us
                    if line:
                        name, _, value = line.partition(": ")
                        frame[name] = value
                    elif "event" in frame:
                        self.events.append(
                            (frame.get("id"), frame["event"], json.loads(frame["data"]))
                        )
                        frame = {}
                    else:
                        frame = {}  # a comment (the greeting, a keepalive)
        except (httpx.HTTPError, OSError):
            pass  # hung up, or the server stopped: the feed ends

    def wait_for(self, count: int, timeout: float = 10.0) -> list[FeedEvent]:
        """The first ``count`` events, once they have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"{count} events expected: {self.events}"
            time.sleep(0.02)
        return self.events[:count]

    def ids(self) -> list[str | None]:
        return [event_id for event_id, _, _ in self.events]

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(10)
        self._http.close()


class LocalServer:
    """A plain HTTP server on 127.0.0.1 that records the paths it is asked for: proof that
    other hosts are not intercepted (tests/testing)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.paths.append(self.path)
                body = b'{"local": true}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
