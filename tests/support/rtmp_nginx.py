"""A private nginx-rtmp server on 127.0.0.1 for tests that push real RTMP streams.

``NginxRtmp(workdir, keys)`` writes a self-contained ``nginx.conf`` into ``workdir`` (pid, logs
and temp paths all inside it), runs ``nginx -c CONF -p WORKDIR`` in the foreground as a single
process (``daemon off; master_process off;``) and answers nginx-rtmp's ``on_publish`` callback
from a small threaded HTTP server in the test process: 200 for an accepted key, 403 for any other,
and nginx-rtmp drops a publisher whose callback did not answer 2xx. Every callback is recorded in
``attempts`` (and every ``on_publish_done`` in ``finished``) so tests can check what reached the
server::

    with NginxRtmp(tmp_path, "good-key") as rtmp:
        push(f"{rtmp.url}/good-key")
        assert rtmp.published("good-key")

nginx-rtmp POSTs the callback as ``application/x-www-form-urlencoded`` with the fields ``app``,
``flashver``, ``swfurl``, ``tcurl``, ``pageurl``, ``addr``, ``clientid``, ``call`` (``publish``),
``name`` (the stream key, without any ``?query``) and ``type`` (``live``); the key's query string,
if any, arrives as extra form fields. ``PublishAttempt.fields`` keeps them all.

Needs the ``nginx`` binary and the RTMP module (Debian: ``apt-get install nginx
libnginx-mod-rtmp``); ``start()`` raises ``NginxRtmpUnavailable`` with that hint when either is
missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from tests.support.helpers import free_port, popen

MODULE_CANDIDATES = (
    "/usr/lib/nginx/modules/ngx_rtmp_module.so",
    "/usr/share/nginx/modules/ngx_rtmp_module.so",
    "/usr/lib64/nginx/modules/ngx_rtmp_module.so",
    "/etc/nginx/modules/ngx_rtmp_module.so",
)
INSTALL_HINT = "install them with: apt-get install nginx libnginx-mod-rtmp"


class NginxRtmpUnavailable(RuntimeError):
    """nginx or its RTMP module is not installed."""


@dataclass(frozen=True)
class PublishAttempt:
    """One ``on_publish`` (or ``on_publish_done``) callback from nginx-rtmp."""

    key: str
    app: str
    accepted: bool
    fields: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


def find_nginx(path: str | None = None) -> str:
    """The nginx binary: ``path`` if given, else ``nginx`` on PATH or in the usual sbin dirs."""
    if path is not None:
        if not os.access(path, os.X_OK):
            raise NginxRtmpUnavailable(f"nginx binary {path} is not an executable; {INSTALL_HINT}")
        return path
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise NginxRtmpUnavailable(f"nginx is not installed (not on PATH); {INSTALL_HINT}")
    return found


def find_rtmp_module(path: str | None = None) -> str:
    """The RTMP module: ``path`` if given, else the first of ``MODULE_CANDIDATES`` present."""
    if path is not None:
        if not os.path.isfile(path):
            raise NginxRtmpUnavailable(
                f"the nginx RTMP module {path} does not exist; {INSTALL_HINT}"
            )
        return path
    for candidate in MODULE_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    raise NginxRtmpUnavailable(
        f"the nginx RTMP module (ngx_rtmp_module.so) is not installed; looked in "
        f"{', '.join(MODULE_CANDIDATES)}; {INSTALL_HINT}"
    )


def _owns_listeners(pid: int, ports: Iterable[int]) -> bool:
    """Whether process ``pid`` holds the listening sockets on 127.0.0.1 for all ``ports``
    (Linux ``/proc``; elsewhere assume it does)."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return not os.path.isdir("/proc/self/fd")
    wanted = {f"0100007F:{port:04X}" for port in ports}
    inodes: dict[str, str] = {}
    for line in table:
        cols = line.split()
        if cols[1] in wanted and cols[3] == "0A":  # 0A: LISTEN
            inodes[cols[1]] = f"socket:[{cols[9]}]"
    held = set()
    for fd in fds:
        try:
            held.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return len(inodes) == len(wanted) and set(inodes.values()) <= held


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: NginxRtmp


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        url = urlsplit(self.path)
        fields = dict(parse_qsl(url.query, keep_blank_values=True))
        fields.update(parse_qsl(body, keep_blank_values=True))
        status = self.server.owner._on_hook(url.path, fields)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean; ``attempts`` is the record


class NginxRtmp:
    """nginx with the RTMP module on 127.0.0.1, accepting publishes only for ``keys``.

    ``url`` is the RTMP application URL (``rtmp://127.0.0.1:PORT/live``); publish to
    ``f"{url}/{key}"``. ``stat_url`` serves nginx-rtmp's XML statistics.
    """

    def __init__(
        self,
        workdir: Path | str,
        keys: str | Iterable[str],
        *,
        app: str = "live",
        nginx: str | None = None,
        module: str | None = None,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.keys = frozenset([keys] if isinstance(keys, str) else keys)
        self.app = app
        self._nginx_bin = nginx
        self._module = module
        self.port = 0
        self.http_port = 0
        self.hook_port = 0
        self.conf = self.workdir / "nginx.conf"
        self.error_log = self.workdir / "error.log"
        self.attempts: list[PublishAttempt] = []
        self.finished: list[PublishAttempt] = []
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._server: _HookServer | None = None
        self._hook_thread: threading.Thread | None = None

    # -- public API -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"rtmp://127.0.0.1:{self.port}/{self.app}"

    @property
    def stat_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/stat"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def publish_url(self, key: str) -> str:
        return f"{self.url}/{key}"

    def published(self, key: str) -> bool:
        """Whether a publish with ``key`` reached nginx and was accepted."""
        with self._cond:
            return any(a.key == key and a.accepted for a in self.attempts)

    def wait_for_attempt(
        self, timeout: float = 10.0, *, key: str | None = None, count: int = 1
    ) -> PublishAttempt:
        """Block until ``count`` publish attempts (for ``key``, if given) were seen; return the
        last of them. Raises ``TimeoutError`` otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                seen = [a for a in self.attempts if key is None or a.key == key]
                if len(seen) >= count:
                    return seen[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no publish attempt{'' if key is None else f' for {key!r}'} within "
                        f"{timeout}s; attempts so far: {self.attempts}"
                    )
                self._cond.wait(left)

    def wait_for_done(self, timeout: float = 10.0, *, key: str | None = None) -> PublishAttempt:
        """Block until nginx-rtmp reports a publisher (for ``key``, if given) gone."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for done in self.finished:
                    if key is None or done.key == key:
                        return done
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no on_publish_done within {timeout}s")
                self._cond.wait(left)

    def stat(self) -> str:
        """nginx-rtmp's statistics page (XML)."""
        with urllib.request.urlopen(self.stat_url, timeout=5) as response:
            text: str = response.read().decode()
            return text

    def log(self) -> str:
        """nginx's error log so far (useful in assertion messages)."""
        try:
            return self.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = 10.0) -> NginxRtmp:
        if self._proc is not None:
            raise RuntimeError("NginxRtmp already started")
        nginx = find_nginx(self._nginx_bin)
        module = find_rtmp_module(self._module)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start_hook()
        try:
            # The free ports are only free "a moment ago": retry if nginx loses the race.
            for _ in range(3):
                self.port, self.http_port = free_port(), free_port()
                self.conf.write_text(self._config(module))
                if self._start_nginx(nginx, timeout):
                    break
            else:
                raise RuntimeError(f"nginx kept losing its ports to other processes:\n{self.log()}")
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL nginx (a crash, as the publisher sees it); the hook server stays up."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()

    def revive(self, timeout: float = 10.0) -> None:
        """Start nginx again after :meth:`kill`, on the same ports (the receiver comes back)."""
        if self.running:
            return
        if not self._start_nginx(find_nginx(self._nginx_bin), timeout):
            raise RuntimeError(f"nginx could not get its ports back:\n{self.log()}")

    def stop(self) -> None:
        """Stop nginx (SIGTERM, then SIGKILL) and the hook server; leaves no process behind."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        hook, self._server = self._server, None
        if hook is not None:
            hook.shutdown()
            hook.server_close()
        if self._hook_thread is not None:
            self._hook_thread.join(timeout=5)
            self._hook_thread = None

    def __enter__(self) -> NginxRtmp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------

    def _on_hook(self, path: str, fields: dict[str, str]) -> int:
        key = fields.get("name", "")
        app = fields.get("app", "")
        if path.rstrip("/").endswith("on_publish_done"):
            with self._cond:
                self.finished.append(PublishAttempt(key, app, True, fields))
                self._cond.notify_all()
            return 200
        accepted = key in self.keys and app == self.app
        with self._cond:
            self.attempts.append(PublishAttempt(key, app, accepted, fields))
            self._cond.notify_all()
        return 200 if accepted else 403

    def _start_hook(self) -> None:
        server = _HookServer(("127.0.0.1", 0), _HookHandler)
        server.owner = self
        self.hook_port = int(server.server_address[1])
        self._server = server
        self._hook_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._hook_thread.start()

    def _start_nginx(self, nginx: str, timeout: float) -> bool:
        """Start nginx and wait for the RTMP port; False if a port was taken meanwhile."""
        self.error_log.write_text("")
        with open(self.workdir / "nginx.out", "wb") as out:
            proc = popen(
                [nginx, "-c", str(self.conf), "-p", str(self.workdir), "-e", str(self.error_log)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        self._proc = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self._proc = None
                log = self.log() + (self.workdir / "nginx.out").read_text(errors="replace")
                if "Address already in use" in log:
                    return False
                raise RuntimeError(f"nginx exited with {code} before listening:\n{log}")
            # Another process may hold a port we picked (nginx then retries bind() for ~2.5 s
            # and exits), so a connect alone could reach the wrong listener.
            if _owns_listeners(proc.pid, (self.port, self.http_port)):
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return True
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on 127.0.0.1:{self.port} within {timeout}s")

    def _config(self, module: str) -> str:
        w = self.workdir
        hook = f"http://127.0.0.1:{self.hook_port}"
        return f"""\
load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {w}/nginx.pid;
error_log {self.error_log} info;

events {{
    worker_connections 256;
}}

rtmp {{
    access_log {w}/rtmp_access.log;
    server {{
        listen 127.0.0.1:{self.port};
        chunk_size 4096;
        notify_method post;
        application {self.app} {{
            live on;
            record off;
            on_publish {hook}/on_publish;
            on_publish_done {hook}/on_publish_done;
        }}
    }}
}}

http {{
    access_log {w}/http_access.log;
    client_body_temp_path {w}/client_body_temp;
    proxy_temp_path {w}/proxy_temp;
    fastcgi_temp_path {w}/fastcgi_temp;
    uwsgi_temp_path {w}/uwsgi_temp;
    scgi_temp_path {w}/scgi_temp;
    server {{
        listen 127.0.0.1:{self.http_port};
        location /stat {{
            rtmp_stat all;
        }}
    }}
}}
"""
