"""Throughput and latency of the emulator's webinar GET and PATCH and of the live-stream status
call, against the stack's ceiling.

    python bench/run_bench.py [--duration 10] [--connections 32] [--threads 2] [--rounds 3]
                              [--warmup 2] [--json results.json] [--pin]

Starts two servers on free 127.0.0.1 ports, with the same uvicorn settings (``serve.py``):
the emulator (fresh SQLite store in a temporary directory, webinar daily cap lifted) and the
ceiling app (``ceiling_app.py``: answers 204, does nothing). It gets a token, creates a webinar,
and drives six targets with ``wrk``, the same request on both servers:

    ceiling GET      GET   /v2/webinars/{id}  on the ceiling app        (expect 204)
    emulator GET     GET   /v2/webinars/{id}  on the emulator           (expect 200)
    ceiling PATCH    PATCH /v2/webinars/{id}  {"agenda": ...}, ceiling  (expect 204)
    emulator PATCH   PATCH /v2/webinars/{id}  {"agenda": ...}, emulator (expect 204)
    ceiling status   PATCH /v2/webinars/{id}/livestream/status {"settings": ...}   (expect 204)
    emulator status  the same on the emulator: a settings update on a stopped stream (204)

Each target runs ``--rounds`` times, interleaved (round 1 of every target, then round 2, ...), and
the table shows the median of the rounds. Any non-2xx response or socket error makes the run
invalid: it is reported loudly and the exit status is 1. The servers are always stopped.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.metadata
import importlib.util
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
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serve import HOST, UVICORN_OPTIONS, resolved_implementations

BENCH_DIR = Path(__file__).resolve().parent
SERVE_SCRIPT = BENCH_DIR / "serve.py"
LUA_SCRIPT = BENCH_DIR / "wrk_bench.lua"

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
ACCOUNT_ID = "demo-account"
PATCH_BODY = json.dumps({"agenda": "zoomlive bench"}, separators=(",", ":"))
STATUS_SUFFIX = "/livestream/status"
STATUS_BODY = json.dumps(
    {"settings": {"active_speaker_name": True, "display_name": "zoomlive bench"}},
    separators=(",", ":"),
)

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy


# Servers --------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """For ``preexec_fn``: run the child on these CPUs only (its threads inherit it)."""
    if not cpus:
        return None
    chosen = set(cpus)
    return lambda: os.sched_setaffinity(0, chosen)


def start_server(
    target: str,
    workdir: Path,
    db: str | None,
    cpus: set[int] | None,
    extra: list[str] | None = None,
    name: str | None = None,
) -> Server:
    port = free_port()
    command = [sys.executable, str(SERVE_SCRIPT), target, "--port", str(port), *(extra or [])]
    if db is not None:
        command += ["--db", db]
    log_path = workdir / f"{name or target}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=pinned(cpus),
        )
    return Server(target, port, process, log_path)


def wait_ready(server: Server, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with status {server.process.returncode} while starting:\n"
                + server.log_tail()
            )
        try:
            status, _ = http(server.base_url + path, timeout=1.0)
        except OSError:
            time.sleep(0.1)
            continue
        if 200 <= status < 300:
            return
        raise BenchError(f"{server.name} answered {status} to GET {path} while starting")
    raise BenchError(f"{server.name} not ready after {timeout:.0f}s:\n" + server.log_tail())


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# HTTP (setup and preflight only; the load is wrk's) -------------------------------------------


class BenchError(RuntimeError):
    pass


def http(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    data = body.encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get_token(emulator: Server) -> str:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    url = f"{emulator.base_url}/oauth/token?grant_type=account_credentials&account_id={ACCOUNT_ID}"
    status, payload = http(url, "POST", {"Authorization": f"Basic {basic}"})
    if status != 200:
        raise BenchError(f"POST /oauth/token: {status} {payload[:300]!r}")
    token: str = json.loads(payload)["access_token"]
    return token


def create_webinar(emulator: Server, token: str) -> int:
    status, payload = http(
        f"{emulator.base_url}/v2/users/me/webinars",
        "POST",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        json.dumps({"topic": "zoomlive bench"}),
    )
    if status != 201:
        raise BenchError(f"POST /v2/users/me/webinars: {status} {payload[:300]!r}")
    webinar_id: int = json.loads(payload)["id"]
    return webinar_id


# Targets and wrk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    server: str
    method: str
    expect: int
    ceiling: str | None = None
    """The target with the same load on the ceiling app, for the ratio."""
    suffix: str = ""
    """Appended to ``/v2/webinars/{id}``."""
    payload: str | None = None
    """The body, when not the webinar PATCH body."""

    @property
    def body(self) -> str | None:
        if self.payload is not None:
            return self.payload
        return PATCH_BODY if self.method == "PATCH" else None


TARGETS = (
    Target("ceiling GET", "ceiling", "GET", 204),
    Target("emulator GET", "emulator", "GET", 200, ceiling="ceiling GET"),
    Target("ceiling PATCH", "ceiling", "PATCH", 204),
    Target("emulator PATCH", "emulator", "PATCH", 204, ceiling="ceiling PATCH"),
    # The live-stream status call (issue 3): a settings update on a stopped stream, no media.
    Target("ceiling status", "ceiling", "PATCH", 204, suffix=STATUS_SUFFIX, payload=STATUS_BODY),
    Target(
        "emulator status",
        "emulator",
        "PATCH",
        204,
        ceiling="ceiling status",
        suffix=STATUS_SUFFIX,
        payload=STATUS_BODY,
    ),
)


@dataclass
class Run:
    """One wrk run, as its Lua ``done`` hook reports it (times in microseconds)."""

    duration_us: int
    requests: int
    bytes: int
    status_errors: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    latency_min_us: int
    latency_max_us: int
    latency_mean_us: float
    latency_stdev_us: float
    latency_percentiles_us: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    def percentile_ms(self, p: str) -> float:
        return self.latency_percentiles_us[p] / 1000


@dataclass
class Options:
    duration: int
    connections: int
    threads: int
    timeout: int
    wrk: str
    cpus: set[int] | None


def run_wrk(options: Options, url: str, target: Target, token: str, duration: int) -> Run:
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
        target.method,
        target.body or "",
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=duration + options.timeout + 60,
        check=False,
        preexec_fn=pinned(options.cpus),
    )
    match = re.search(r"^BENCH_RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise BenchError(
            f"wrk failed on {target.name} (status {completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return Run(**json.loads(match.group(1)))


def preflight(url: str, target: Target, token: str) -> None:
    """One request by hand: the load must get the expected status, or the figures mean nothing."""
    headers = {"Authorization": f"Bearer {token}"}
    if target.body is not None:
        headers["Content-Type"] = "application/json"
    status, payload = http(url, target.method, headers, target.body)
    if status != target.expect:
        raise BenchError(
            f"preflight {target.name}: {target.method} {url} answered {status}, "
            f"expected {target.expect}: {payload[:300]!r}"
        )


# Results --------------------------------------------------------------------------------------


@dataclass
class Summary:
    target: str
    method: str
    server: str
    rounds: list[Run] = field(default_factory=list)

    def median(self, value: str) -> float:
        if value == "rps":
            return statistics.median(run.rps for run in self.rounds)
        return statistics.median(run.percentile_ms(value) for run in self.rounds)

    @property
    def status_errors(self) -> int:
        return sum(run.status_errors for run in self.rounds)

    @property
    def socket_errors(self) -> int:
        return sum(run.socket_errors for run in self.rounds)

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.rounds)


def environment(options: Options, wrk_version: str) -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "zoomlive": version("zoomlive"),
        "zoomlive_source": zoomlive_source(),
        "uvicorn": version("uvicorn"),
        "starlette": version("starlette"),
        "uvicorn_options": {k: v for k, v in UVICORN_OPTIONS.items() if k != "host"},
        "uvicorn_resolved": resolved_implementations(),
        "wrk": wrk_version,
        "pinning": (
            {"servers": sorted(SERVER_CPUS), "wrk": sorted(options.cpus)} if options.cpus else None
        ),
    }


def zoomlive_source() -> dict[str, str | None]:
    """Where the emulator's code comes from, and its git commit when that is a checkout."""
    spec = importlib.util.find_spec("zoomlive")
    if spec is None or spec.origin is None:
        return {"path": None, "commit": None}
    package = Path(spec.origin).parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=package, capture_output=True, text=True, check=False
            )
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    if commit is not None and git("status", "--porcelain", "--", "."):
        commit += "-dirty"
    return {"path": str(package), "commit": commit}


def render_table(summaries: Sequence[Summary]) -> str:
    by_name = {s.target: s for s in summaries}
    header = (
        "target",
        "req/s",
        "req/s range",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "non-2xx",
        "sock err",
        "vs ceiling",
    )
    rows: list[tuple[str, ...]] = [header]
    for s in summaries:
        rps = [run.rps for run in s.rounds]
        ceiling = by_name.get(next(t.ceiling for t in TARGETS if t.name == s.target) or "")
        ratio = f"{s.median('rps') / ceiling.median('rps'):.1%}" if ceiling else "(ceiling)"
        invalid = s.status_errors or s.socket_errors
        rows.append(
            (
                f"{s.target} (INVALID)" if invalid else s.target,
                f"{s.median('rps'):,.0f}",
                f"{min(rps):,.0f}-{max(rps):,.0f}",
                f"{s.median('50'):.2f}",
                f"{s.median('90'):.2f}",
                f"{s.median('99'):.2f}",
                str(s.status_errors),
                str(s.socket_errors),
                ratio,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def as_json(summaries: Sequence[Summary], env: dict[str, Any], args: Any) -> dict[str, Any]:
    results = []
    for s in summaries:
        target = next(t for t in TARGETS if t.name == s.target)
        ceiling = next((c for c in summaries if c.target == target.ceiling), None)
        results.append(
            {
                "target": s.target,
                "server": s.server,
                "method": s.method,
                "requests": s.requests,
                "rps_median": round(s.median("rps"), 1),
                "p50_ms_median": s.median("50"),
                "p90_ms_median": s.median("90"),
                "p99_ms_median": s.median("99"),
                "p99_9_ms_median": s.median("99.9"),
                "non_2xx": s.status_errors,
                "socket_errors": s.socket_errors,
                "ratio_to_ceiling": (
                    round(s.median("rps") / ceiling.median("rps"), 4) if ceiling else None
                ),
                "rounds": [asdict(run) | {"rps": round(run.rps, 1)} for run in s.rounds],
            }
        )
    return {
        "environment": env,
        "parameters": {
            "duration_s": args.duration,
            "connections": args.connections,
            "threads": args.threads,
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "timeout_s": args.timeout,
            "db": args.db or "temporary SQLite file",
            "patch_body": PATCH_BODY,
        },
        "results": results,
    }


# Main -----------------------------------------------------------------------------------------

SERVER_CPUS = {0}
"""With ``--pin``: the servers' CPU; wrk gets every other one."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk open connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per target, median shown (3)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unrecorded load per target first (2)"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=10,
        help="wrk request timeout in seconds; timeouts count as errors (10)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--db", help="emulator store (default: a fresh SQLite file in a temporary directory)"
    )
    parser.add_argument("--wrk", default="wrk", help="wrk executable")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the servers to CPU 0 and wrk to the other CPUs (needs 2 or more)",
    )
    args = parser.parse_args(argv)
    for name in ("duration", "connections", "threads", "rounds", "timeout"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk gives each thread c/t)")
    return args


def iter_runs(rounds: int) -> Iterator[tuple[int, Target]]:
    for n in range(1, rounds + 1):
        for target in TARGETS:
            yield n, target


def interrupt_on_signals() -> None:
    """SIGTERM and SIGHUP raise KeyboardInterrupt, so ``finally`` stops the servers then too.

    SIGINT is made to as well: a shell starts a background job with it ignored.
    """

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_signals()
    wrk = shutil.which(args.wrk)
    if wrk is None:
        print(f"error: {args.wrk!r} not found (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    cpus: set[int] | None = None
    if args.pin:
        available = os.sched_getaffinity(0)
        if not available > SERVER_CPUS:
            print("error: --pin needs CPU 0 and at least one other CPU", file=sys.stderr)
            return 2
        cpus = available - SERVER_CPUS
    options = Options(args.duration, args.connections, args.threads, args.timeout, wrk, cpus)
    wrk_version = subprocess.run(
        [wrk, "--version"], capture_output=True, text=True, check=False
    ).stdout.split(" Copyright")[0]
    env = environment(options, wrk_version)

    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="zoomlive-bench-") as tmp:
        workdir = Path(tmp)
        try:
            server_cpus = SERVER_CPUS if args.pin else None
            ceiling = start_server("ceiling", workdir, None, server_cpus)
            servers.append(ceiling)
            emulator = start_server(
                "emulator", workdir, args.db or str(workdir / "bench.db"), server_cpus
            )
            servers.append(emulator)
            wait_ready(ceiling, "/")
            wait_ready(emulator, "/_emulator/health")

            token = get_token(emulator)
            webinar_id = create_webinar(emulator, token)
            path = f"/v2/webinars/{webinar_id}"
            by_server = {"ceiling": ceiling, "emulator": emulator}
            urls = {t.name: by_server[t.server].base_url + path + t.suffix for t in TARGETS}
            for target in TARGETS:
                preflight(urls[target.name], target, token)

            print(
                f"zoomlive bench: {env['date']}, {env['cpus']} CPUs ({env['cpu_model']}), "
                f"load {env['loadavg_at_start']}, Python {env['python']}, "
                f"uvicorn {env['uvicorn']} ({env['uvicorn_resolved']['loop']}, "
                f"{env['uvicorn_resolved']['http']}), {wrk_version}, "
                f"zoomlive from {env['zoomlive_source']['path']} "
                f"({env['zoomlive_source']['commit'] or 'not a git checkout'})",
                file=sys.stderr,
            )
            print(
                f"wrk: {args.threads} threads, {args.connections} connections, "
                f"{args.duration}s x {args.rounds} rounds per target, {args.warmup}s warm-up"
                + (f"; servers on CPU {sorted(SERVER_CPUS)}, wrk on {sorted(cpus)}" if cpus else "")
                + f"; webinar {webinar_id}",
                file=sys.stderr,
            )
            if args.warmup:
                for target in TARGETS:
                    run_wrk(options, urls[target.name], target, token, args.warmup)

            summaries = {t.name: Summary(t.name, t.method, t.server) for t in TARGETS}
            for n, target in iter_runs(args.rounds):
                token = get_token(emulator)  # a fresh one each run: no expiry mid-bench
                run = run_wrk(options, urls[target.name], target, token, args.duration)
                summaries[target.name].rounds.append(run)
                flag = ""
                if run.status_errors or run.socket_errors:
                    flag = f"  <-- {run.status_errors} non-2xx, {run.socket_errors} socket errors"
                print(
                    f"  round {n}/{args.rounds}  {target.name:<15} {run.rps:>9,.0f} req/s  "
                    f"p50 {run.percentile_ms('50'):7.2f} ms  "
                    f"p99 {run.percentile_ms('99'):7.2f} ms{flag}",
                    file=sys.stderr,
                )
            for server in servers:
                if server.process.poll() is not None:
                    raise BenchError(
                        f"{server.name} died during the bench (status "
                        f"{server.process.returncode}):\n{server.log_tail()}"
                    )
        except BenchError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        finally:
            for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(signum, signal.SIG_IGN)  # a second signal must not stop the stop
            for server in servers:
                stop_server(server)
            for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(signum, signal.SIG_DFL)

        results = list(summaries.values())
        env["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        print()
        print(render_table(results))
        if args.json:
            args.json.write_text(json.dumps(as_json(results, env, args), indent=2) + "\n")
            print(f"\nresults written to {args.json}", file=sys.stderr)

        failed = [s for s in results if s.status_errors or s.socket_errors]
        if failed:
            bar = "!" * 78
            print(f"\n{bar}", file=sys.stderr)
            for s in failed:
                print(
                    f"!! {s.target}: {s.status_errors} non-2xx responses and "
                    f"{s.socket_errors} socket errors in {s.requests} requests",
                    file=sys.stderr,
                )
            print(
                "!! THESE FIGURES ARE NOT VALID: they time error handling, not the request.",
                file=sys.stderr,
            )
            for server in servers:
                tail = server.log_tail(20)
                if tail:
                    print(f"!! {server.name} log (tail):\n{tail}", file=sys.stderr)
            print(bar, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"\ninterrupted{f' ({stop})' if str(stop) else ''}; servers stopped", file=sys.stderr)
        sys.exit(130)
