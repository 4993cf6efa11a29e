"""zoomlive serve against Prism 5 and a bare ASGI app: throughput, latency, memory, cold start.

    python bench/reference_bench.py [--duration 10] [--rounds 3] [--warmup 2] [--connections 32]
                                    [--threads 2] [--cold-starts 3] [--spec FILE]
                                    [--db postgresql://...] [--json results.json]

In one invocation it starts four servers on free 127.0.0.1 ports:

    zoomlive         zoomlive serve --db FILE --media off --rate-limits off --port P
                     (the console script, as a user starts it; a fresh SQLite file)
    zoomlive+limits  the same with --rate-limits FILE: Zoom's limits with numbers no load here
                     reaches, so the limiter does all its work and never refuses
    bare             bare_app.py: a do-nothing ASGI app on zoomlive's own server stack
                     (zoomlive.emulator.serving: bind, ServeOptions, uvicorn_config, run)
    Prism            prism mock -h 127.0.0.1 -p P SPEC (@stoplight/prism-cli@5, installed into
                     .cache/prism by this script), SPEC the reference mock OpenAPI file

and drives six targets with wrk (-t2 -c32), each on the servers that answer it as expected:

    reference JSON   PATCH /v2/webinars/68423085/livestream/status, the reference page's body (204)
    settings vary    the same, display_name changing on every request: a write each time (204)
    multipart        the same call as multipart/form-data (action, settings) (204)
    start+stop       {"action":"start"} and {"action":"stop"} alternating (204)
    GET webinar      GET /v2/webinars/68423085 (200)
    GET livestream   GET /v2/webinars/68423085/livestream (200; Prism's only GET)
    bad token        GET /v2/webinars/68423085 with a bad bearer token (401)

Rounds are interleaved (round 1 of every server x target, then round 2, ...); the table shows
the median of the rounds, each figure also as a ratio to Prism and to the bare app, plus each
server's RSS after the load and its cold start (process start to first 2xx answer, median of
--cold-starts starts). Any unexpected status or socket error marks the row INVALID and the exit
status is 1 (2 if setup failed). The servers are always stopped (their whole process groups).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bare_app import BAD_TOKEN, HOST

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "reference_wrk.lua"
BARE_APP = BENCH_DIR / "bare_app.py"
DEFAULT_SPEC = ROOT.parent / "shared" / "reference" / "zoom-livestream-mock.openapi.json"
PRISM_DIR = ROOT / ".cache" / "prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
ACCOUNT_ID = "demo-account"
WEBINAR_ID = 68423085
STATUS_PATH = f"/webinars/{WEBINAR_ID}/livestream/status"
WEBINAR_PATH = f"/webinars/{WEBINAR_ID}"
API_PREFIX = "/v2"
REFERENCE_SETTINGS = '{"active_speaker_name":false,"display_name":"reprehender"}'
REFERENCE_BODY = '{"action":"stop","settings":' + REFERENCE_SETTINGS + "}"
MULTIPART_BOUNDARY = "zoomlivebenchboundary7MA4YWxkTrZu0gW"
"""The same as in reference_wrk.lua."""
HUGE_RATE = 1_000_000
HUGE_DAILY = 1_000_000_000
NAGLE_MS = 20.0
"""A keep-alive round trip above this on an idle server is a delayed-ACK stall, not work."""


class BenchError(RuntimeError):
    """Setup failed: the run stops (exit status 2)."""


# Requests -------------------------------------------------------------------------------------


def multipart_body(fields: Sequence[tuple[str, str]]) -> bytes:
    """multipart/form-data with the fixed boundary, byte for byte what reference_wrk.lua sends."""
    lines: list[str] = []
    for name, value in fields:
        lines += [f"--{MULTIPART_BOUNDARY}", f'Content-Disposition: form-data; name="{name}"', ""]
        lines.append(value)
    lines += [f"--{MULTIPART_BOUNDARY}--", ""]
    return "\r\n".join(lines).encode()


@dataclass(frozen=True)
class Call:
    """One request by hand (preflight), without the Authorization header."""

    method: str
    content_type: str | None = None
    body: bytes | None = None


JSON = "application/json"


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    path: str
    """After the server's API prefix (``/v2``, or none for Prism)."""
    expect: int
    wrk_args: tuple[str, ...]
    preflight: tuple[Call, ...]
    bad_token: bool = False


LIVESTREAM_PATH = WEBINAR_PATH + "/livestream"


TARGETS: tuple[Target, ...] = (
    Target(
        "reference_json",
        "reference JSON",
        STATUS_PATH,
        204,
        ("fixed", "PATCH", JSON, REFERENCE_BODY),
        (Call("PATCH", JSON, REFERENCE_BODY.encode()),),
    ),
    Target(
        "settings_vary",
        "settings vary",
        STATUS_PATH,
        204,
        ("vary", "stop", "false", "reprehender"),
        (
            Call(
                "PATCH",
                JSON,
                b'{"action":"stop","settings":{"active_speaker_name":false,'
                b'"display_name":"reprehender-preflight"}}',
            ),
        ),
    ),
    Target(
        "multipart",
        "multipart",
        STATUS_PATH,
        204,
        ("multipart", "stop", REFERENCE_SETTINGS),
        (
            Call(
                "PATCH",
                f"multipart/form-data; boundary={MULTIPART_BOUNDARY}",
                multipart_body([("action", "stop"), ("settings", REFERENCE_SETTINGS)]),
            ),
        ),
    ),
    Target(
        "start_stop",
        "start+stop",
        STATUS_PATH,
        204,
        ("startstop",),
        (Call("PATCH", JSON, b'{"action":"start"}'), Call("PATCH", JSON, b'{"action":"stop"}')),
    ),
    Target("get_webinar", "GET webinar", WEBINAR_PATH, 200, ("fixed", "GET"), (Call("GET"),)),
    Target(
        "get_livestream",
        "GET livestream",
        LIVESTREAM_PATH,
        200,
        ("fixed", "GET"),
        (Call("GET"),),
    ),
    Target(
        "bad_token",
        "bad token (401)",
        WEBINAR_PATH,
        401,
        ("fixed", "GET"),
        (Call("GET"),),
        bad_token=True,
    ),
)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def http_call(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> Answer:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        payload = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)
    finally:
        conn.close()


def keepalive_ms(port: int, path: str, headers: dict[str, str], n: int = 5) -> float:
    """Median round trip of ``n`` GETs on one keep-alive connection (after one to open it)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    times = []
    try:
        for i in range(n + 1):
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            if i:
                times.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
    return statistics.median(times)


def get_token(port: int) -> str:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    path = f"/oauth/token?grant_type=account_credentials&account_id={ACCOUNT_ID}"
    answer = http_call(port, "POST", path, {"Authorization": f"Basic {basic}"})
    if answer.status != 200:
        raise BenchError(f"POST /oauth/token: {answer.status} {answer.body[:300]!r}")
    token: str = json.loads(answer.body)["access_token"]
    return token


# Servers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    key: str
    label: str
    kind: str
    """``emulator``, ``bare`` or ``prism``."""
    prefix: str
    rate_limits: str = "off"


@dataclass
class Context:
    """What the server commands need, decided once per run."""

    workdir: Path
    zoomlive: list[str]
    db: str | None
    limits_file: Path
    spec: Path | None
    prism_prefix: str
    prism_log_level: str | None = None
    starts: int = 0

    def command(self, server: ServerSpec, port: int) -> list[str]:
        if server.kind == "bare":
            return [sys.executable, str(BARE_APP), "--port", str(port)]
        if server.kind == "prism":
            assert self.spec is not None
            level = ["-v", self.prism_log_level] if self.prism_log_level else []
            return [str(PRISM_BIN), "mock", "-h", HOST, "-p", str(port), *level, str(self.spec)]
        self.starts += 1
        db = self.db
        if db is None:  # a fresh SQLite file for every start
            fresh = self.workdir / f"{server.key}-{self.starts}"
            fresh.mkdir()
            db = str(fresh / "zoomlive.db")
        rate_limits = str(self.limits_file) if server.rate_limits == "file" else "off"
        return [
            *self.zoomlive,
            "serve",
            "--db",
            db,
            "--media",
            "off",
            "--rate-limits",
            rate_limits,
            "--port",
            str(port),
        ]


@dataclass
class Process:
    server: ServerSpec
    port: int
    popen: subprocess.Popen[bytes]
    log_path: Path
    started_at: float
    command: list[str]

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_text(self, since: int = 0) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(since)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start(server: ServerSpec, ctx: Context, tag: str) -> Process:
    port = free_port()
    command = ctx.command(server, port)
    log_path = ctx.workdir / f"{server.key}-{tag}.log"
    with log_path.open("ab") as log:
        started_at = time.perf_counter()
        popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    return Process(server, port, popen, log_path, started_at, command)


def stop(process: Process) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s; then SIGKILL to anything left in it."""
    pgid = process.popen.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    try:
        process.popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        process.popen.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def probe(process: Process, timeout: float) -> Answer:
    """The request whose first 2xx answer ends a cold start."""
    kind = process.server.kind
    if kind == "emulator":  # the first thing any client does
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        path = f"/oauth/token?grant_type=account_credentials&account_id={ACCOUNT_ID}"
        return http_call(
            process.port, "POST", path, {"Authorization": f"Basic {basic}"}, None, timeout
        )
    if kind == "bare":
        return http_call(process.port, "GET", "/", None, None, timeout)
    # Prism has no health route: the reference call itself.
    headers = {"Authorization": "Bearer prism-probe", "Content-Type": JSON}
    path = process.server.prefix + STATUS_PATH
    return http_call(process.port, "PATCH", path, headers, REFERENCE_BODY.encode(), timeout)


def wait_first_2xx(process: Process, timeout: float = 60.0) -> float:
    """Seconds from the process's start to its first 2xx answer to ``probe``."""
    deadline = process.started_at + timeout
    last = "no answer"
    while (now := time.perf_counter()) < deadline:
        if process.popen.poll() is not None:
            raise BenchError(
                f"{process.server.label} exited with status {process.popen.returncode} while "
                f"starting ({' '.join(process.command)}):\n{process.log_tail()}"
            )
        try:
            answer = probe(process, timeout=max(0.1, deadline - now))
        except (ConnectionError, OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.005)
            continue
        if 200 <= answer.status < 300:
            return time.perf_counter() - process.started_at
        last = f"{answer.status} {answer.body[:200]!r}"
        time.sleep(0.01)
    raise BenchError(
        f"{process.server.label}: no 2xx within {timeout:.0f}s (last: {last}):\n"
        + process.log_tail()
    )


def rss(pgid: int) -> dict[str, float]:
    """VmRSS of the process and of its whole process group, and the process's VmHWM, in MiB."""

    def status_kib(pid: int, field_name: str) -> int:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return 0
        match = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
        return int(match.group(1)) if match else 0

    group_kib = 0
    members = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
            group_kib += status_kib(int(entry.name), "VmRSS")
            members += 1
    return {
        "rss_mib": round(status_kib(pgid, "VmRSS") / 1024, 1),
        "group_rss_mib": round(group_kib / 1024, 1),
        "group_processes": members,
        "hwm_mib": round(status_kib(pgid, "VmHWM") / 1024, 1),
    }


# wrk ------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One wrk run, as reference_wrk.lua's ``done`` reports it (times in microseconds)."""

    duration_us: int
    requests: int
    bytes: int
    statuses: dict[str, int]
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    latency_min_us: int
    latency_max_us: int
    latency_mean_us: float
    latency_stdev_us: float
    latency_percentiles_us: dict[str, int]
    round: int = 0
    rss_mib_after: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    def unexpected(self, expect: int) -> int:
        return sum(n for status, n in self.statuses.items() if status != str(expect))

    def ms(self, p: str) -> float:
        return self.latency_percentiles_us[p] / 1000


@dataclass
class WrkOptions:
    wrk: str
    threads: int
    connections: int
    timeout: int


def run_wrk(options: WrkOptions, url: str, token: str, target: Target, duration: int) -> Run:
    command = [
        options.wrk,
        f"--threads={options.threads}",
        f"--connections={options.connections}",
        f"--duration={duration}s",
        f"--timeout={options.timeout}s",
        "--header",
        f"Authorization: Bearer {token}",
        "--script",
        str(LUA_SCRIPT),
        url,
        "--",
        *target.wrk_args,
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=duration + options.timeout + 60,
        check=False,
    )
    match = re.search(r"^BENCH_RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise BenchError(
            f"wrk failed on {url} (status {completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return Run(**json.loads(match.group(1)))


# Cells: one server x one target ---------------------------------------------------------------


@dataclass
class Cell:
    server: ServerSpec
    target: Target
    runs: list[Run] = field(default_factory=list)
    warmup: list[Run] = field(default_factory=list)
    preflight: list[dict[str, Any]] = field(default_factory=list)
    not_answered: str | None = None
    """Prism only: what it answers instead of the expected status; the cell is not measured."""
    failure: str | None = None
    """zoomlive or bare: the preflight's unexpected answer; the cell is INVALID, not measured."""

    @property
    def measured(self) -> bool:
        return self.not_answered is None and self.failure is None

    @property
    def unexpected(self) -> int:
        return sum(run.unexpected(self.target.expect) for run in self.runs + self.warmup)

    @property
    def socket_errors(self) -> int:
        return sum(run.socket_errors for run in self.runs + self.warmup)

    @property
    def invalid(self) -> bool:
        return self.failure is not None or bool(self.unexpected or self.socket_errors)

    def median(self, figure: str) -> float | None:
        if not self.measured or not self.runs:
            return None
        if figure == "rps":
            return statistics.median(run.rps for run in self.runs)
        return statistics.median(run.ms(figure) for run in self.runs)


def preflight(cell: Cell, port: int, token: str) -> None:
    """The target's request(s) once by hand: the load must get the expected status."""
    server, target = cell.server, cell.target
    auth = f"Bearer {BAD_TOKEN if target.bad_token else token}"
    for call in target.preflight:
        headers = {"Authorization": auth}
        if call.content_type:
            headers["Content-Type"] = call.content_type
        log_from = 0
        if server.kind == "prism":
            log_from = cell_log_size(server)
        answer = http_call(port, call.method, server.prefix + target.path, headers, call.body)
        record: dict[str, Any] = {
            "request": f"{call.method} {server.prefix + target.path}",
            "status": answer.status,
            "body": answer.body[:300].decode(errors="replace"),
        }
        cell.preflight.append(record)
        if answer.status != target.expect:
            reason = describe(answer, server, log_from)
            record["reason"] = reason
            if server.kind == "prism":
                cell.not_answered = f"{answer.status}" + (f" ({reason})" if reason else "")
            else:
                cell.failure = f"preflight answered {answer.status}, expected {target.expect}"
                cell.failure += f": {reason}" if reason else ""
            return
        limited = "x-ratelimit-limit" in answer.headers
        if (
            server.kind == "emulator"
            and not target.bad_token
            and limited != (server.rate_limits != "off")
        ):
            cell.failure = (
                f"rate limiter {'on' if limited else 'off'} (X-RateLimit-Limit "
                f"{'present' if limited else 'absent'}), expected the opposite"
            )
            return


_PRISM_LOGS: dict[str, Process] = {}
"""The running Prism, for ``describe`` to read why it refused a request."""


def cell_log_size(server: ServerSpec) -> int:
    process = _PRISM_LOGS.get(server.key)
    return process.log_size() if process else 0


def describe(answer: Answer, server: ServerSpec, log_from: int) -> str:
    """A short reason for an unexpected answer: Prism's log (its 400s have no body), or the
    body's ``detail`` or ``message``."""
    if server.kind == "prism" and (process := _PRISM_LOGS.get(server.key)):
        time.sleep(0.3)  # Prism logs after it answers
        reasons = []
        for line in process.log_text(log_from).splitlines():
            if "✖" in line and "Violation:" not in line:
                reason = re.sub(r"^.*?✖\s+error\s+", "", line).strip()
                reason = re.sub(r"^Request terminated with error: \S+: ", "", reason)
                if reason not in reasons:
                    reasons.append(reason)
        if reasons:
            return "; ".join(reasons)
    with contextlib.suppress(ValueError):
        parsed = json.loads(answer.body)
        if isinstance(parsed, dict):
            return str(parsed.get("detail") or parsed.get("message") or "")[:200]
    return answer.body[:200].decode(errors="replace")


# Environment ----------------------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment(wrk: str, prism: str | None) -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    from zoomlive.emulator.serving import protocol_class

    node = shutil.which("node")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "zoomlive": version("zoomlive"),
        "zoomlive_commit": git_commit(),
        "uvicorn": version("uvicorn"),
        "httptools": version("httptools"),
        "uvloop": version("uvloop"),
        "starlette": version("starlette"),
        "uvicorn_http_protocol": protocol_class().__name__,
        "uvicorn_loop": "uvloop" if version("uvloop") != "not installed" else "asyncio",
        "wrk": subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        .stdout.split(" Copyright")[0]
        .strip(),
        "node": (
            subprocess.run(
                [node, "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
            if node
            else None
        ),
        "prism": prism,
    }


def git_commit() -> str | None:
    """The checkout's commit (read only), ``-dirty`` when src/ has changes."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
            )
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--", "src"):
        commit += "-dirty"
    return commit


def zoomlive_command() -> list[str]:
    """The console script next to this Python (the venv's), else on PATH, else -m."""
    beside = Path(sys.executable).parent / "zoomlive"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("zoomlive")
    return [found] if found else [sys.executable, "-m", "zoomlive"]


def write_limits(path: Path) -> None:
    """Zoom's limits table (every plan and label, the same windows, a daily cap where Zoom has
    one) with numbers no load here reaches: every request is counted and none refused."""
    from zoomlive.emulator.ratelimit import ZOOM_LIMITS

    table = {
        plan: {
            label: {
                "rate": HUGE_RATE,
                "window": limit.window,
                "daily": HUGE_DAILY if limit.daily is not None else None,
            }
            for label, limit in labels.items()
        }
        for plan, labels in ZOOM_LIMITS.items()
    }
    path.write_text(json.dumps(table, indent=1))


def spec_operations(spec: Path) -> tuple[list[str], str]:
    """The spec's operations (``METHOD /path``) and the path prefix its live-stream status
    operation sits under. Prism routes on the paths only (not the servers' ``/v2``)."""
    document = json.loads(spec.read_text())
    operations = []
    prefix = ""
    for path, item in document.get("paths", {}).items():
        for method in item:
            if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                operations.append(f"{method.upper()} {path}")
        match = re.match(r"^(.*)/webinars/\{[^/}]+\}/livestream/status$", path)
        if match:
            prefix = match.group(1)
    return operations, prefix


def ensure_prism() -> str | None:
    """Install Prism into .cache/prism when missing; its version, or None (with a message)."""
    if not PRISM_BIN.exists():
        npm = shutil.which("npm")
        if npm is None:
            print("Prism skipped: npm not found (install Node.js and npm)", file=sys.stderr)
            return None
        print(f"installing {PRISM_PACKAGE} into {PRISM_DIR} ...", file=sys.stderr)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(PRISM_DIR), PRISM_PACKAGE],
            stdout=sys.stderr,
            stderr=sys.stderr,
            check=False,
        )
        if done.returncode != 0 or not PRISM_BIN.exists():
            print(f"Prism skipped: npm install failed (status {done.returncode})", file=sys.stderr)
            return None
    package = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    try:
        prism_version: str = json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        prism_version = "unknown"
    return prism_version


# Table ----------------------------------------------------------------------------------------


@dataclass
class Results:
    servers: list[ServerSpec]
    cells: dict[tuple[str, str], Cell]
    cold_starts: dict[str, list[float]]
    memory: dict[str, dict[str, float]]
    keepalive: dict[str, float]

    def cell(self, server: str, target: str) -> Cell | None:
        return self.cells.get((server, target))

    def has(self, server: str) -> bool:
        return any(s.key == server for s in self.servers)

    def figure(self, server: str, row: tuple[str, str]) -> float | None:
        kind, name = row
        if kind == "server":
            if name == "rss":
                memory = self.memory.get(server)
                return memory["group_rss_mib"] if memory else None
            starts = self.cold_starts.get(server)
            return statistics.median(starts) if starts else None
        cell = self.cell(server, kind)
        return cell.median(name) if cell else None


FIGURES = (("rps", "req/s"), ("50", "p50 ms"), ("99", "p99 ms"))
SERVER_FIGURES = (("rss", "RSS after load MiB"), ("cold", "cold start s"))


def rows() -> list[tuple[str, tuple[str, str]]]:
    out: list[tuple[str, tuple[str, str]]] = []
    for target in TARGETS:
        for n, (name, unit) in enumerate(FIGURES):
            label = f"{target.label if n == 0 else '':<16} {unit}"
            out.append((label, (target.key, name)))
    for name, label in SERVER_FIGURES:
        out.append((label, ("server", name)))
    return out


def fmt_value(value: float, figure: str) -> str:
    if figure == "rps":
        return f"{value:,.0f}"
    if figure == "cold":
        return f"{value:.2f}"
    if figure == "rss":
        return f"{value:.1f}"
    return f"{value:.2f}" if value < 100 else f"{value:.1f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    if r >= 100:
        return f"{r:.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


def render_table(results: Results) -> str:
    # (header, server whose value, server to divide by or None)
    columns: list[tuple[str, str, str | None]] = []
    order = [
        ("zoomlive", ["prism", "bare"]),
        ("zoomlive_limits", ["prism", "bare", "zoomlive"]),
        ("bare", ["prism"]),
        ("prism", ["bare"]),
    ]
    labels = {s.key: s.label for s in results.servers}
    short = {"prism": "/Prism", "bare": "/bare", "zoomlive": "/zoomlive"}
    for server, ratios in order:
        if not results.has(server):
            continue
        columns.append((labels[server], server, None))
        for other in ratios:
            if results.has(other):
                columns.append((short[other], server, other))

    header = ["figure", *(c[0] for c in columns)]
    table: list[list[str]] = [header]
    for label, row in rows():
        line = [label]
        for _, key, base in columns:
            value = results.figure(key, row)
            if base is not None:
                line.append(fmt_ratio(value, results.figure(base, row)))
                continue
            cell = results.cell(key, row[0]) if row[0] != "server" else None
            if cell is not None and cell.not_answered is not None:
                line.append(f"({cell.not_answered.split()[0]})")
            elif cell is not None and cell.failure is not None:
                line.append("INVALID")
            elif value is None:
                line.append("-")
            else:
                mark = " !" if cell is not None and cell.invalid else ""
                line.append(fmt_value(value, row[1]) + mark)
        table.append(line)

    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    out = []
    for n, r in enumerate(table):
        cells = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
        elif n < len(table) - 1 and n % len(FIGURES) == 0 and n <= len(TARGETS) * len(FIGURES):
            out.append("")
    return "\n".join(out)


def notes(results: Results) -> list[str]:
    out = []
    for cell in results.cells.values():
        if cell.not_answered is not None:
            out.append(
                f"Prism does not answer {cell.target.label} as expected ({cell.target.expect}): "
                f"it answers {cell.not_answered}; not measured."
            )
    for cell in results.cells.values():
        if cell.invalid:
            what = cell.failure or (
                f"{cell.unexpected} unexpected statuses, {cell.socket_errors} socket errors"
            )
            out.append(f"INVALID: {cell.server.label} / {cell.target.label}: {what}")
    for server, ms in results.keepalive.items():
        if ms > NAGLE_MS:
            label = next(s.label for s in results.servers if s.key == server)
            out.append(
                f"{label}: a GET with a body takes {ms:.0f} ms on an idle keep-alive connection "
                "(a delayed-ACK stall, as when TCP_NODELAY is off on its connections: "
                "see bench/README.md)."
            )
    return out


def verdicts(results: Results) -> list[str]:
    """The issue's targets, for the zoomlive server (rate limits off) unless said otherwise."""

    def fig(server: str, target: str, figure: str) -> float | None:
        return results.figure(server, (target, figure))

    def vs_prism(target: str, factor: float, prism_target: str | None = None) -> str:
        """``prism_target``: Prism's figure for another target, where it cannot answer this
        one (the spec has no such operation, or Prism refuses the content type)."""
        ours = fig("zoomlive", target, "rps")
        prism = fig("prism", prism_target or target, "rps")
        name = next(t.label for t in TARGETS if t.key == target)
        if prism_target is not None:
            other = next(t.label for t in TARGETS if t.key == prism_target)
            name = f"{name} (Prism: {other})"
        if ours is None or prism is None:
            cell = results.cell("prism", target)
            if not results.has("prism"):
                why = "no Prism in this run"
            elif cell and cell.not_answered:
                why = f"Prism answers {cell.not_answered}"
            else:
                why = "no valid figure"
            return f"{name} >= {factor:g}x Prism req/s: n/a ({why})"
        ratio = ours / prism
        ok = "met" if ratio >= factor else "NOT MET"
        return f"{name} >= {factor:g}x Prism req/s: {ratio:.2f}x  {ok}"

    out = [vs_prism("reference_json", 4)]
    p99 = fig("zoomlive", "reference_json", "99")
    if p99 is not None:
        out.append(
            f"reference JSON p99 <= 15 ms: {p99:.2f} ms  {'met' if p99 <= 15 else 'NOT MET'}"
        )
    # Prism refuses multipart (its validator takes JSON only) and its spec has no
    # GET /webinars/{id}: the same call in JSON, and its only GET, stand in for them.
    out += [
        vs_prism("multipart", 3, "reference_json"),
        vs_prism("start_stop", 2),
        vs_prism("get_webinar", 6, "get_livestream"),
        vs_prism("get_livestream", 6),
    ]

    slowdowns = []
    for target in TARGETS:
        off, on = fig("zoomlive", target.key, "rps"), fig("zoomlive_limits", target.key, "rps")
        if off and on is not None and not target.bad_token:  # a 401 never reaches the limiter
            slowdowns.append((1 - on / off, target.label))
    if slowdowns:
        worst, name = max(slowdowns)
        ok = "met" if worst <= 0.10 else "NOT MET"
        out.append(
            f"rate limits on <= 10% slower: at worst {worst:+.1%} slower ({name})  {ok}"
            + f"  [{', '.join(f'{n} {s:+.1%}' for s, n in slowdowns)}]"
        )
    for server in ("zoomlive", "zoomlive_limits"):
        memory = results.memory.get(server)
        if memory:
            mib = memory["group_rss_mib"]
            label = next(s.label for s in results.servers if s.key == server)
            out.append(
                f"{label} RSS after load <= 120 MiB: {mib:.1f} MiB  "
                f"{'met' if mib <= 120 else 'NOT MET'}"
            )
    cold = results.figure("zoomlive", ("server", "cold"))
    prism_cold = results.figure("prism", ("server", "cold"))
    if cold is not None:
        cold_ok = cold <= 1.0 and (prism_cold is None or cold < prism_cold)
        against = f" vs Prism {prism_cold:.2f} s" if prism_cold is not None else " (no Prism)"
        out.append(
            f"cold start <= 1.0 s and below Prism's: {cold:.2f} s{against}  "
            f"{'met' if cold_ok else 'NOT MET'}"
        )
    return out


def as_json(results: Results, env: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    cells = []
    for cell in results.cells.values():
        prism = results.cell("prism", cell.target.key)
        bare = results.cell("bare", cell.target.key)
        entry: dict[str, Any] = {
            "server": cell.server.key,
            "target": cell.target.key,
            "expect": cell.target.expect,
            "preflight": cell.preflight,
            "not_answered": cell.not_answered,
            "failure": cell.failure,
            "invalid": cell.invalid,
            "unexpected_statuses": cell.unexpected,
            "socket_errors": cell.socket_errors,
        }
        for figure, name in (
            ("rps", "rps"),
            ("50", "p50_ms"),
            ("99", "p99_ms"),
            ("99.9", "p999_ms"),
        ):
            value = cell.median(figure)
            entry[f"{name}_median"] = value
            for other_name, other in (("prism", prism), ("bare", bare)):
                base = other.median(figure) if other else None
                entry[f"{name}_vs_{other_name}"] = (
                    round(value / base, 4) if value is not None and base else None
                )
        entry["rounds"] = [asdict(run) | {"rps": round(run.rps, 1)} for run in cell.runs]
        entry["warmup"] = [asdict(run) | {"rps": round(run.rps, 1)} for run in cell.warmup]
        cells.append(entry)
    return {
        "environment": env,
        "parameters": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "connections": args.connections,
            "threads": args.threads,
            "timeout_s": args.timeout,
            "cold_starts": args.cold_starts,
            "db": args.db or "a fresh SQLite file per emulator start",
            "spec": str(args.spec),
            "prism_log_level": args.prism_log_level or "Prism's default (info)",
        },
        "servers": {
            s.key: {
                "label": s.label,
                "prefix": s.prefix,
                "cold_start_s": results.cold_starts.get(s.key, []),
                "cold_start_s_median": results.figure(s.key, ("server", "cold")),
                "memory_after_load": results.memory.get(s.key),
                "keepalive_get_ms": results.keepalive.get(s.key),
            }
            for s in results.servers
        },
        "results": cells,
        "verdicts": verdicts(results),
    }


# Main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--warmup", type=int, default=2, help="unrecorded seconds per cell (2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, median (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--timeout", type=int, default=10, help="wrk request timeout, s (10)")
    parser.add_argument(
        "--cold-starts", type=int, default=3, help="starts per server for the cold start (3)"
    )
    parser.add_argument(
        "--spec", type=Path, default=DEFAULT_SPEC, help="the OpenAPI file Prism serves"
    )
    parser.add_argument(
        "--db", help="a database URL for both emulators (postgresql://...); default SQLite files"
    )
    parser.add_argument("--json", type=Path, help="also write every raw figure to this file")
    parser.add_argument("--wrk", default="/usr/bin/wrk", help="wrk executable (/usr/bin/wrk)")
    parser.add_argument("--no-prism", action="store_true", help="leave Prism out")
    parser.add_argument(
        "--prism-log-level",
        help="pass -v LEVEL to prism mock (default: not passed, Prism's own default: info)",
    )
    args = parser.parse_args(argv)
    for name in ("duration", "rounds", "connections", "threads", "timeout", "cold_starts"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    if args.db is not None and "://" not in args.db:
        parser.error("--db takes a database URL (postgresql://...); SQLite files are made per run")
    return args


def interrupt_on_signals() -> None:
    """SIGTERM, SIGHUP (and SIGINT, ignored in background jobs) raise KeyboardInterrupt."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, handler)


@contextlib.contextmanager
def no_signals() -> Iterator[None]:
    """A second signal must not interrupt the stopping of the servers."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure_cold_starts(servers: list[ServerSpec], ctx: Context, n: int) -> dict[str, list[float]]:
    """``n`` interleaved starts of each server, alone: process start to first 2xx answer."""
    samples: dict[str, list[float]] = {s.key: [] for s in servers}
    for i in range(1, n + 1):
        for server in servers:
            process = start(server, ctx, f"cold{i}")
            try:
                seconds = wait_first_2xx(process)
            finally:
                with no_signals():
                    stop(process)
                interrupt_on_signals()
            samples[server.key].append(round(seconds, 4))
            log(f"  cold start {i}/{n}  {server.label:<16} {seconds:6.3f} s")
    return samples


def bench(
    args: argparse.Namespace,
    ctx: Context,
    servers: list[ServerSpec],
    wrk: WrkOptions,
    cells: dict[tuple[str, str], Cell],
    processes: dict[str, Process],
) -> Results:
    log(f"cold starts: {args.cold_starts} per server, one server at a time")
    cold = measure_cold_starts(servers, ctx, args.cold_starts)

    log("starting the servers for the load")
    for server in servers:
        processes[server.key] = start(server, ctx, "load")
        if server.kind == "prism":
            _PRISM_LOGS[server.key] = processes[server.key]
    for server in servers:
        wait_first_2xx(processes[server.key])

    emulator_token = {
        s.key: get_token(processes[s.key].port) for s in servers if s.kind == "emulator"
    }
    shared_token = next(iter(emulator_token.values()))

    def token_for(server: ServerSpec) -> str:
        if server.kind == "emulator":  # fresh each run: no expiry mid-bench
            emulator_token[server.key] = get_token(processes[server.key].port)
            return emulator_token[server.key]
        return shared_token  # same length as the emulator's, so the same request size

    keepalive: dict[str, float] = {}
    for server in servers:
        if server.kind == "prism":
            continue
        path = server.prefix + WEBINAR_PATH
        headers = {"Authorization": f"Bearer {token_for(server)}"}
        keepalive[server.key] = round(keepalive_ms(processes[server.key].port, path, headers), 2)

    for target in TARGETS:
        for server in servers:
            cell = cells[(server.key, target.key)]
            preflight(cell, processes[server.key].port, token_for(server))
            if cell.not_answered:
                log(f"  {server.label}: {target.label}: answers {cell.not_answered}; skipped")
            elif cell.failure:
                log(f"  !! {server.label}: {target.label}: {cell.failure}")

    def url(cell: Cell) -> str:
        port = processes[cell.server.key].port
        return f"http://{HOST}:{port}{cell.server.prefix}{cell.target.path}"

    def token(cell: Cell) -> str:
        return BAD_TOKEN if cell.target.bad_token else token_for(cell.server)

    order = [cells[(s.key, t.key)] for t in TARGETS for s in servers]
    live = [cell for cell in order if cell.measured]
    if args.warmup:
        log(f"warm-up: {args.warmup} s per server x target")
        for cell in live:
            cell.warmup.append(run_wrk(wrk, url(cell), token(cell), cell.target, args.warmup))
    for n in range(1, args.rounds + 1):
        for cell in live:
            run = run_wrk(wrk, url(cell), token(cell), cell.target, args.duration)
            run.round = n
            run.rss_mib_after = rss(processes[cell.server.key].popen.pid)["rss_mib"]
            cell.runs.append(run)
            flag = ""
            if run.unexpected(cell.target.expect) or run.socket_errors:
                flag = f"  <-- INVALID: statuses {run.statuses}, {run.socket_errors} socket errors"
            log(
                f"  round {n}/{args.rounds}  {cell.target.label:<16} {cell.server.label:<16}"
                f"{run.rps:>9,.0f} req/s  p50 {run.ms('50'):7.2f} ms  "
                f"p99 {run.ms('99'):7.2f} ms{flag}"
            )
    memory = {s.key: rss(processes[s.key].popen.pid) for s in servers}
    for server in servers:
        process = processes[server.key]
        if process.popen.poll() is not None:
            raise BenchError(
                f"{server.label} died during the bench (status {process.popen.returncode}):\n"
                + process.log_tail()
            )
    return Results(servers, cells, cold, memory, keepalive)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_signals()
    wrk = shutil.which(args.wrk)
    if wrk is None:
        log(f"error: wrk not found at {args.wrk!r}: install it (Debian: apt-get install wrk)")
        return 2

    prism_version: str | None = None
    operations: list[str] = []
    prism_prefix = ""
    if args.no_prism:
        log("Prism left out (--no-prism)")
    elif not args.spec.is_file():
        log(
            f"Prism skipped: no spec at {args.spec} (the reference mock OpenAPI file; give it "
            "with --spec). zoomlive and the bare app run without it."
        )
    else:
        operations, prism_prefix = spec_operations(args.spec)
        prism_version = ensure_prism()

    servers = [
        ServerSpec("zoomlive", "zoomlive", "emulator", API_PREFIX),
        ServerSpec("zoomlive_limits", "zoomlive+limits", "emulator", API_PREFIX, "file"),
        ServerSpec("bare", "bare", "bare", API_PREFIX),
    ]
    if prism_version is not None:
        servers.append(ServerSpec("prism", "Prism", "prism", prism_prefix))
    cells = {(s.key, t.key): Cell(s, t) for t in TARGETS for s in servers}
    env = environment(wrk, prism_version)
    options = WrkOptions(wrk, args.threads, args.connections, args.timeout)

    zoomlive = zoomlive_command()
    header = [
        f"zoomlive reference bench, {env['date']}",
        f"  machine  {env['cpus']} CPUs ({env['cpu_model']}), {env['cpus_usable']} usable, "
        f"load {env['loadavg_at_start']}",
        f"  python   {env['python']}; uvicorn {env['uvicorn']} (loop {env['uvicorn_loop']}, "
        f"http {env['uvicorn_http_protocol']}); httptools {env['httptools']}; "
        f"uvloop {env['uvloop']}; starlette {env['starlette']}",
        f"  zoomlive {env['zoomlive']} ({env['zoomlive_commit'] or 'not a git checkout'}): "
        f"{' '.join(zoomlive)} serve --db {args.db or 'FILE'} --media off "
        "--rate-limits off|LIMITS --port P",
    ]
    if prism_version is not None:
        header.append(
            f"  Prism    {prism_version} on node {env['node']}: {args.spec}, log level "
            + (args.prism_log_level or "info (its default) to a file")
        )
        header.append(
            f"           {', '.join(operations)} (routed without /v2: Prism matches the "
            "spec's paths, not its servers' /v2)"
        )
    else:
        header.append("  Prism    not run")
    header.append(
        f"  load     {env['wrk']}, -t{args.threads} -c{args.connections}, "
        f"{args.duration} s x {args.rounds} interleaved rounds (median), {args.warmup} s "
        f"warm-up; cold start: median of {args.cold_starts}; store: "
        + (args.db or "a fresh SQLite file per start")
    )
    print("\n".join(header))
    sys.stdout.flush()

    processes: dict[str, Process] = {}
    with tempfile.TemporaryDirectory(prefix="zoomlive-refbench-") as tmp:
        ctx = Context(
            workdir=Path(tmp),
            zoomlive=zoomlive,
            db=args.db,
            limits_file=Path(tmp) / "limits.json",
            spec=args.spec if prism_version else None,
            prism_prefix=prism_prefix,
            prism_log_level=args.prism_log_level,
        )
        write_limits(ctx.limits_file)
        try:
            results = bench(args, ctx, servers, options, cells, processes)
        except BenchError as err:
            log(f"error: {err}")
            return 2
        finally:
            with no_signals():
                for process in processes.values():
                    stop(process)
            tails = {key: p.log_tail(15) for key, p in processes.items() if key != "prism"}

    env["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    env["zoomlive_command"] = [*ctx.zoomlive, "serve", "--db", "FILE", "--media", "off", "..."]
    print()
    print(render_table(results))
    print()
    for line in notes(results):
        print(f"* {line}")
    print("\nissue targets (zoomlive, rate limits off, unless named):")
    for line in verdicts(results):
        print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(as_json(results, env, args), indent=2) + "\n")
        log(f"\nraw figures written to {args.json}")

    invalid = [cell for cell in results.cells.values() if cell.invalid]
    if invalid:
        bar = "!" * 78
        log(f"\n{bar}")
        for cell in invalid:
            what = cell.failure or (
                f"{cell.unexpected} unexpected statuses ({[r.statuses for r in cell.runs]}) and "
                f"{cell.socket_errors} socket errors"
            )
            log(f"!! INVALID {cell.server.label} / {cell.target.label}: {what}")
        for key in sorted({cell.server.key for cell in invalid}):
            if tails.get(key):
                log(f"!! {key} log (tail):\n{tails[key]}")
        log("!! These rows time something else than the request: their figures are not valid.")
        log(bar)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop_signal:
        print(f"\ninterrupted ({stop_signal}); servers stopped", file=sys.stderr)
        sys.exit(130)
