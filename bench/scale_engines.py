"""The engines ``scale_bench.py`` runs against, each private to one run, on 127.0.0.1 only, in a
temporary folder: a PostgreSQL (``initdb`` + ``postgres``), a Redis, and nginx with the RTMP
module (the receiver of the streams, with its statistics page and publish callbacks).

Self-contained on purpose (the bench does not import the test suite). Every process is started
with ``PR_SET_PDEATHSIG``, so even a ``kill -9`` of the bench takes them along; ``stop()`` ends
them otherwise, and removes their folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl

HOST = "127.0.0.1"

try:  # resolved once here: between fork and exec only the call itself may run
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


class EngineError(RuntimeError):
    """An engine is missing or did not start (the bench's setup failed)."""


def die_with_parent() -> None:
    """In a child, before exec: SIGKILL when the bench dies, however it dies."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


PREFIX = "zoomlive-scale-"
_OWNER = ".bench-pid"


def private_dir(kind: str) -> Path:
    """A temp folder of this run (``zoomlive-scale-<kind>-...``), marked with the bench's pid."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-"))
    (path / _OWNER).write_text(str(os.getpid()))
    return path


def sweep_stale_dirs() -> list[Path]:
    """Remove the folders of earlier runs whose bench is gone (a ``kill -9`` leaves them: its
    processes die with it, by ``PR_SET_PDEATHSIG``, but nothing removes their files)."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((path / _OWNER).read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being made
        if pid == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineError(f"{what} exited with status {proc.returncode} while starting")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise EngineError(f"{what} did not listen on {HOST}:{port} within {timeout:.0f} s")


def end_process(proc: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# PostgreSQL -------------------------------------------------------------------------------------


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise EngineError(f"PostgreSQL's {name} not found (Debian: apt-get install postgresql)")
    return found[-1]


class Postgres:
    """``initdb`` in a temp folder and one ``postgres`` on a free port, user ``zoomlive``, trust
    authentication on 127.0.0.1. Durability as PostgreSQL ships it (``fsync`` and
    ``synchronous_commit`` on): a 2xx means the change is on disk, as with the SQLite store.
    As root it runs as the ``postgres`` user (it refuses root)."""

    def __init__(self) -> None:
        self.root = private_dir("pg")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.version = ""
        self._as: dict[str, Any] = {}
        self._log: IO[bytes] | None = None
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def url(self, database: str) -> str:
        return f"postgresql://zoomlive@{HOST}:{self.port}/{database}"

    def start(self) -> Postgres:
        data = self.root / "data"
        done = subprocess.run(
            [pg_bin("initdb"), "-D", str(data), "-U", "zoomlive", "--auth=trust", "-E", "UTF8",
             "--locale=C"],
            capture_output=True,
            timeout=120,
            check=False,
            **self._as,
        )  # fmt: skip
        if done.returncode != 0:
            raise EngineError(f"initdb failed: {done.stderr.decode(errors='replace')}")
        self._log = (self.root / "postgres.log").open("wb")
        self.proc = subprocess.Popen(
            [pg_bin("postgres"), "-D", str(data), "-p", str(self.port),
             "-c", f"listen_addresses={HOST}", "-c", f"unix_socket_directories={self.root}",
             "-c", "max_connections=400"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            preexec_fn=die_with_parent,
            **self._as,
        )  # fmt: skip
        wait_port(self.port, self.proc, "postgres")
        version = subprocess.run(
            [pg_bin("postgres"), "--version"], capture_output=True, text=True, check=False
        )
        self.version = version.stdout.strip()
        return self

    def createdb(self, name: str) -> str:
        """A fresh database; its URL."""
        deadline = time.monotonic() + 30
        while True:
            done = subprocess.run(
                [pg_bin("createdb"), "-h", HOST, "-p", str(self.port), "-U", "zoomlive", name],
                capture_output=True,
                timeout=30,
                check=False,
            )
            if done.returncode == 0:
                return self.url(name)
            if time.monotonic() > deadline:
                raise EngineError(f"createdb {name}: {done.stderr.decode(errors='replace')}")
            time.sleep(0.2)  # still starting up

    def pids(self) -> list[int]:
        """The postmaster and every backend (for their CPU time)."""
        if self.proc is None:
            return []
        return descendants(self.proc.pid)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            text = (self.root / "postgres.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        # SIGTERM is a "smart" shutdown that waits for clients; SIGINT is the fast one.
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.root, ignore_errors=True)


# Redis ------------------------------------------------------------------------------------------


class Redis:
    """A ``redis-server`` on a free port, nothing saved to disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.version = ""

    def start(self) -> Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise EngineError("redis-server not found (Debian: apt-get install redis-server)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly",
             "no", "--dir", str(self.root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )  # fmt: skip
        wait_port(self.port, self.proc, "redis-server")
        self.version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        return self

    def stop(self) -> None:
        end_process(self.proc)
        self.proc = None


# nginx-rtmp -------------------------------------------------------------------------------------

RTMP_MODULES = (
    "/usr/lib/nginx/modules/ngx_rtmp_module.so",
    "/usr/share/nginx/modules/ngx_rtmp_module.so",
    "/usr/lib64/nginx/modules/ngx_rtmp_module.so",
)


@dataclass(frozen=True)
class Hook:
    """One callback from nginx-rtmp: ``publish`` (a publisher connected and asked to publish)
    or ``done`` (it is gone), with the bench's monotonic clock when it arrived."""

    event: str
    key: str
    at: float


@dataclass(frozen=True)
class Publisher:
    """One publishing client on the statistics page."""

    key: str
    client_id: int
    timestamp_ms: int
    """The stream's media time as last received (RTMP timestamp), ms."""
    time_ms: int
    """How long the stream has been open, ms (nginx's clock)."""
    bytes_in: int


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    record: Callable[[str, str, float], None]


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        at = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        name = dict(parse_qsl(body, keep_blank_values=True)).get("name", "")
        event = "done" if self.path.rstrip("/").endswith("done") else "publish"
        self.server.record(event, name, at)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class NginxRtmp:
    """nginx with the RTMP module, one process (``master_process off``), ``live on; record
    off``: it accepts any key, keeps nothing, and tells the bench of every publish and every
    publisher gone (``on_publish`` / ``on_publish_done`` to a small HTTP server here)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = 0
        self.http_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.hooks: list[Hook] = []
        self._cond = threading.Condition()
        self._server: _HookServer | None = None
        self._thread: threading.Thread | None = None
        self.version = ""

    @property
    def url(self) -> str:
        return f"rtmp://{HOST}:{self.port}/live"

    def _record(self, event: str, key: str, at: float) -> None:
        with self._cond:
            self.hooks.append(Hook(event, key, at))
            self._cond.notify_all()

    def start(self) -> NginxRtmp:
        nginx = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)),
            None,
        )
        module = next((m for m in RTMP_MODULES if os.path.isfile(m)), None)
        if nginx is None or module is None:
            raise EngineError(
                "nginx with the RTMP module is needed (Debian: apt-get install nginx "
                "libnginx-mod-rtmp)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        server = _HookServer((HOST, 0), _HookHandler)
        server.record = self._record
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        for _ in range(3):  # a free port is only free "a moment ago"
            self.port, self.http_port = free_port(), free_port()
            conf = self.root / "nginx.conf"
            conf.write_text(self._config(module, int(server.server_address[1])))
            log = (self.root / "nginx.out").open("wb")
            self.proc = subprocess.Popen(
                [nginx, "-c", str(conf), "-p", str(self.root), "-e", str(self.root / "error.log")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                preexec_fn=die_with_parent,
            )
            log.close()
            try:
                wait_port(self.port, self.proc, "nginx", timeout=10)
                wait_port(self.http_port, self.proc, "nginx", timeout=10)
                break
            except EngineError:
                end_process(self.proc)
                self.proc = None
        else:
            raise EngineError(
                "nginx did not start:\n"
                + (self.root / "nginx.out").read_text(errors="replace")
                + (self.root / "error.log").read_text(errors="replace")
            )
        done = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
        self.version = done.stderr.strip().replace("nginx version: ", "")
        return self

    def stop(self) -> None:
        end_process(self.proc, grace=5)
        self.proc = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stat(self) -> dict[str, Publisher]:
        """The publishers now, by key (from the XML statistics page)."""
        with urllib.request.urlopen(f"http://{HOST}:{self.http_port}/stat", timeout=5) as answer:
            root = ET.fromstring(answer.read())
        out: dict[str, Publisher] = {}
        for stream in root.iter("stream"):
            key = stream.findtext("name") or ""
            for client in stream.iter("client"):
                if client.find("publishing") is None:
                    continue
                out[key] = Publisher(
                    key=key,
                    client_id=int(client.findtext("id") or 0),
                    timestamp_ms=int(client.findtext("timestamp") or 0),
                    time_ms=int(stream.findtext("time") or 0),
                    bytes_in=int(stream.findtext("bytes_in") or 0),
                )
        return out

    def hooks_since(self, since: float, event: str) -> dict[str, float]:
        """The first ``event`` per key at or after ``since`` (monotonic)."""
        with self._cond:
            first: dict[str, float] = {}
            for hook in self.hooks:
                if hook.event == event and hook.at >= since and hook.key not in first:
                    first[hook.key] = hook.at
            return first

    def wait_hooks(self, since: float, event: str, keys: set[str], timeout: float) -> bool:
        """Until every key in ``keys`` has had ``event`` since ``since``; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = {h.key for h in self.hooks if h.event == event and h.at >= since}
                if keys <= seen:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    def _config(self, module: str, hook_port: int) -> str:
        r = self.root
        hook = f"http://{HOST}:{hook_port}"
        return f"""\
load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {r}/nginx.pid;
error_log {r}/error.log warn;
worker_rlimit_nofile 8192;

events {{
    worker_connections 4096;
}}

rtmp {{
    server {{
        listen {HOST}:{self.port};
        chunk_size 4096;
        notify_method post;
        application live {{
            live on;
            record off;
            on_publish {hook}/on_publish;
            on_publish_done {hook}/on_publish_done;
        }}
    }}
}}

http {{
    access_log off;
    client_body_temp_path {r}/client_body_temp;
    proxy_temp_path {r}/proxy_temp;
    fastcgi_temp_path {r}/fastcgi_temp;
    uwsgi_temp_path {r}/uwsgi_temp;
    scgi_temp_path {r}/scgi_temp;
    server {{
        listen {HOST}:{self.http_port};
        location /stat {{
            rtmp_stat all;
        }}
    }}
}}
"""


# CPU time ---------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    return text.rsplit(")", 1)[1].split()


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (by parent pid), alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process (those still alive)."""
    out = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two ``cpu_seconds`` snapshots: per process, what it gained
    (all of it for a process born in between). A process that died in between is lost."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def machine_jiffies() -> tuple[float, float]:
    """(busy, total) of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)
