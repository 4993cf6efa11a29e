"""Scaling out (issue 13): API workers and hosts on PostgreSQL, media workers, takeover, stop.

Issue 13's figures side by side in one run, each part beside its baseline or its target.

    python bench/scale_bench.py [--quick] [--only api,media,takeover,stop] [--duration 5]
                                [--rounds 3] [--max-streams 80] [--takeovers 5] [--stops 5]
                                [--lease 10] [--json results.json]

It starts everything it needs on 127.0.0.1, in a temporary folder: a private PostgreSQL (one
database per API target and one for media), a Redis, nginx with the RTMP module (the streams'
receiver: its statistics page and publish callbacks), the ``zoomlive serve`` processes and the
``zoomlive media-worker`` processes, as a user starts them (the console script). Four parts, one
table each, every figure also as a ratio:

    api       the reference call (PATCH /v2/webinars/{id}/livestream/status, the reference body)
              under wrk -t2 -c32, interleaved rounds: SQLite 1 worker (the baseline), PostgreSQL
              1, 2 and 4 workers, two serve processes on one PostgreSQL (the load split across
              both), and 2 workers with rate limits counted in Redis; req/s, p50, p99, CPU per
              call (the server's processes, and PostgreSQL's)
    media     concurrent 320x180@15 streams (--media-profile small) held in real time (every
              stream's media time at nginx-rtmp advancing >= 0.98x as fast as nginx's clock)
              with 1 and 2 media workers; N ramps up until real time breaks (in two windows
              running) or --max-streams
    takeover  a few streams on worker A, a fresh worker B, kill -9 A: time until every stream
              publishes again at nginx-rtmp (B pushes it); median of --takeovers
    stop      PATCH {"action":"stop"} acknowledged by the API server to the publisher gone at
              nginx-rtmp (a media worker, another process, stops it); median of --stops

A verdict line per target. Exit status 0 when clean, 1 if any run was invalid (an unexpected
status, a socket error, a stream that did not come up), 2 if setup failed, 130 if interrupted.
Every process is stopped, and the temporary folder removed, however the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from reference_bench import (
    API_PREFIX,
    JSON,
    REFERENCE_BODY,
    STATUS_PATH,
    TARGETS,
    BenchError,
    Run,
    WrkOptions,
    get_token,
    git_commit,
    http_call,
    interrupt_on_signals,
    log,
    no_signals,
    run_wrk,
    version,
    write_limits,
    zoomlive_command,
)
from scale_engines import (
    HOST,
    EngineError,
    NginxRtmp,
    Postgres,
    Publisher,
    Redis,
    cpu_delta,
    cpu_seconds,
    descendants,
    die_with_parent,
    free_port,
    machine_jiffies,
    private_dir,
    sweep_stale_dirs,
)

REFERENCE = next(t for t in TARGETS if t.key == "reference_json")
REAL_TIME = 0.98
"""A stream is held in real time when its media time advances at least this fast."""
STOP_TARGET_S = 1.0
SLOW_UP_S = 2.0
"""A burst of starts whose streams all publish later than this is flagged under the table."""
TAKEOVER_MARGIN_S = 5.0
PROFILE = "small"
RAMP = (8, 16, 32, 48, 56, 64, 72, 80, 88, 96, 112, 128, 160, 192, 224, 256)
"""The media ramp's N: coarse where this machine class holds real time with room, finer near
its ceiling (issue 13 expects about 55-90)."""
PARTS = ("api", "media", "takeover", "stop")
WORKER_READY = "capacity {capacity}, lease"
"""The media worker's log line once it listens and leases (``worker.py``)."""


# Processes ------------------------------------------------------------------------------------


@dataclass
class Service:
    """A ``zoomlive`` process of this run: its own process group, dies with the bench."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None
    media: bool = False
    """A media worker (stopped before the API servers)."""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the group, SIGKILL after ``grace``; a media worker's ffmpegs (sessions of
        their own) go with it: it stops them, or the kernel kills them when it dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)


class Launcher:
    """Starts the zoomlive processes of the run and keeps them, to stop them all at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.zoomlive = zoomlive_command()
        self.services: list[Service] = []

    def spawn(self, name: str, args: list[str], port: int | None = None) -> Service:
        """The console script with ``args``, its output to ``<name>.log`` in the workdir."""
        log_path = self.workdir / f"{name}.log"
        with log_path.open("ab") as out:
            popen = subprocess.Popen(
                [*self.zoomlive, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # spawned from the main thread only
            )
        service = Service(name, popen, log_path, port, media=args[0] == "media-worker")
        self.services.append(service)
        return service

    def serve(self, name: str, db: str, *extra: str, timeout: float = 60) -> Service:
        port = free_port()
        args = ["serve", "--db", db, "--port", str(port), *extra]
        service = self.spawn(name, args, port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not service.alive():
                raise BenchError(
                    f"{name} exited with status {service.popen.returncode} while starting "
                    f"({' '.join(args)}):\n{service.log_tail()}"
                )
            try:
                if http_call(port, "GET", "/_emulator/health", timeout=2).status == 200:
                    return service
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{name} not ready within {timeout:.0f} s:\n{service.log_tail()}")

    def media_worker(self, name: str, db: str, capacity: int, lease: float) -> Service:
        args = [
            "media-worker", "--db", db, "--name", name, "--capacity", str(capacity),
            "--lease-seconds", f"{lease:g}", "--media-profile", PROFILE, "--log-level", "info",
        ]  # fmt: skip
        service = self.spawn(name, args)
        ready = WORKER_READY.format(capacity=capacity)
        deadline = time.monotonic() + 60
        while ready not in service.log_text():
            if not service.alive():
                raise BenchError(
                    f"media worker {name} exited with status {service.popen.returncode}:\n"
                    + service.log_tail()
                )
            if time.monotonic() > deadline:
                raise BenchError(f"media worker {name} not ready in 60 s:\n{service.log_tail()}")
            time.sleep(0.05)
        return service

    def stop_all(self) -> None:
        # Media workers first (they stop their ffmpegs and hand streams back), then the API.
        for service in sorted(self.services, key=lambda s: not s.media):
            service.stop()


# Part 1: API ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiTarget:
    key: str
    label: str
    store: str
    """``sqlite`` or ``pg``."""
    workers: int = 1
    hosts: int = 1
    redis: bool = False

    def serve_args(self, limits: Path, redis_url: str | None) -> list[str]:
        args = ["--media", "off"]
        if self.workers > 1:
            args += ["--workers", str(self.workers)]
        if self.redis:
            assert redis_url is not None
            args += ["--rate-limits", str(limits), "--redis-url", redis_url]
        else:
            args += ["--rate-limits", "off"]
        return args


API_TARGETS = (
    ApiTarget("sqlite_1", "SQLite, 1 worker", "sqlite"),
    ApiTarget("pg_1", "PG, 1 worker", "pg"),
    ApiTarget("pg_2", "PG, 2 workers", "pg", workers=2),
    ApiTarget("pg_4", "PG, 4 workers", "pg", workers=4),
    ApiTarget("pg_2_hosts", "PG, 2 hosts x 1 worker", "pg", hosts=2),
    ApiTarget("pg_2_redis", "PG, 2 workers, limits in Redis", "pg", workers=2, redis=True),
)


@dataclass
class ApiSample:
    """One measured run of a target (its hosts' wrk runs together)."""

    round: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    statuses: dict[str, int]
    socket_errors: int
    server_cpu_s: float
    pg_cpu_s: float
    wrk: list[dict[str, Any]]

    @property
    def unexpected(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != str(REFERENCE.expect))

    def cpu_ms_per_call(self, which: str) -> float | None:
        if not self.requests:
            return None
        cpu = {"server": self.server_cpu_s, "pg": self.pg_cpu_s}.get(which)
        cpu = self.server_cpu_s + self.pg_cpu_s if cpu is None else cpu
        return 1000 * cpu / self.requests


@dataclass
class ApiCell:
    target: ApiTarget
    servers: list[Service] = field(default_factory=list)
    runs: list[ApiSample] = field(default_factory=list)
    warmup: list[ApiSample] = field(default_factory=list)
    preflight: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def invalid(self) -> bool:
        return self.failure is not None or any(
            r.unexpected or r.socket_errors for r in self.runs + self.warmup
        )

    def median(self, figure: str) -> float | None:
        if not self.runs:
            return None
        values: list[float] = []
        for run in self.runs:
            if figure.startswith("cpu_"):
                value = run.cpu_ms_per_call(figure[4:])
                if value is None:
                    return None
                values.append(value)
            else:
                values.append(float(getattr(run, figure)))
        return statistics.median(values)


def measure_api(
    cell: ApiCell, options: WrkOptions, pg: Postgres | None, duration: int, round_: int
) -> ApiSample:
    """One wrk run on the target, split evenly across its hosts (one wrk per host at once)."""
    hosts = cell.servers
    token = get_token(hosts[0].port or 0)  # any host's token is good on all: one store
    split = WrkOptions(
        options.wrk,
        max(1, options.threads // len(hosts)),
        max(1, options.connections // len(hosts)),
        options.timeout,
    )

    def server_cpu() -> dict[int, float]:
        return cpu_seconds([pid for s in hosts for pid in descendants(s.pid)])

    def pg_cpu() -> dict[int, float]:
        return cpu_seconds(pg.pids()) if pg is not None and cell.target.store == "pg" else {}

    def one(service: Service) -> Run:
        url = f"http://{HOST}:{service.port}{API_PREFIX}{REFERENCE.path}"
        return run_wrk(split, url, token, REFERENCE, duration)

    srv0, pg0 = server_cpu(), pg_cpu()
    if len(hosts) == 1:
        runs = [one(hosts[0])]
    else:
        with ThreadPoolExecutor(len(hosts)) as pool:
            runs = list(pool.map(one, hosts))
    srv1, pg1 = server_cpu(), pg_cpu()
    statuses: dict[str, int] = {}
    for run in runs:
        for status, n in run.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return ApiSample(
        round=round_,
        rps=sum(run.rps for run in runs),
        # wrk's histograms can't be merged here: the higher of the hosts' percentiles.
        p50_ms=max(run.ms("50") for run in runs),
        p90_ms=max(run.ms("90") for run in runs),
        p99_ms=max(run.ms("99") for run in runs),
        requests=sum(run.requests for run in runs),
        statuses=statuses,
        socket_errors=sum(run.socket_errors for run in runs),
        server_cpu_s=cpu_delta(srv0, srv1),
        pg_cpu_s=cpu_delta(pg0, pg1),
        wrk=[asdict(run) | {"rps": round(run.rps, 1)} for run in runs],
    )


def api_preflight(cell: ApiCell) -> None:
    """The reference call once on every host: 204, and the limiter on exactly when asked."""
    for service in cell.servers:
        port = service.port or 0
        headers = {"Authorization": f"Bearer {get_token(port)}", "Content-Type": JSON}
        answer = http_call(
            port, "PATCH", API_PREFIX + STATUS_PATH, headers, REFERENCE_BODY.encode()
        )
        cell.preflight.append(f"{service.name}: {answer.status}")
        if answer.status != REFERENCE.expect:
            cell.failure = (
                f"{service.name}: preflight answered {answer.status}, expected "
                f"{REFERENCE.expect}: {answer.body[:200]!r}"
            )
            return
        limited = "x-ratelimit-limit" in answer.headers
        if limited != cell.target.redis:
            cell.failure = f"{service.name}: rate limiter {'on' if limited else 'off'}, unexpected"
            return


def api_part(args: argparse.Namespace, run: RunState) -> list[ApiCell]:
    assert run.pg is not None
    limits = run.workdir / "limits.json"
    write_limits(limits)
    targets = [t for t in API_TARGETS if not (t.redis and run.redis is None)]
    cells = [ApiCell(t) for t in targets]
    log("api: starting the servers")
    for cell in cells:
        target = cell.target
        if target.store == "sqlite":
            folder = run.workdir / target.key
            folder.mkdir()
            db = str(folder / "zoomlive.db")
        else:
            db = run.pg.createdb(target.key)
        extra = target.serve_args(limits, run.redis.url if run.redis else None)
        for host in range(target.hosts):  # one after the other: the first seeds the store
            name = f"serve-{target.key}" + (f"-{host + 1}" if target.hosts > 1 else "")
            cell.servers.append(run.launcher.serve(name, db, *extra))
        api_preflight(cell)
        if cell.failure:
            log(f"  !! {target.label}: {cell.failure}")
    options = WrkOptions(args.wrk, args.threads, args.connections, args.timeout)
    live = [cell for cell in cells if cell.failure is None]
    if args.warmup:
        log(f"api: warm-up, {args.warmup} s per target")
        for cell in live:
            cell.warmup.append(measure_api(cell, options, run.pg, args.warmup, 0))
    for n in range(1, args.rounds + 1):
        for cell in live:
            sample = measure_api(cell, options, run.pg, args.duration, n)
            cell.runs.append(sample)
            flag = ""
            if sample.unexpected or sample.socket_errors:
                flag = f"  <-- INVALID: {sample.statuses}, {sample.socket_errors} socket errors"
            log(
                f"  round {n}/{args.rounds}  {cell.target.label:<32}{sample.rps:>8,.0f} req/s  "
                f"p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:6.2f} ms  "
                f"CPU {sample.cpu_ms_per_call('all') or 0:.3f} ms/call{flag}"
            )
    for cell in cells:
        for service in cell.servers:
            if not service.alive():
                cell.failure = f"{service.name} died: {service.log_tail(5)}"
    for cell in cells:  # the media parts share the machine: free it
        for service in cell.servers:
            service.stop()
    return cells


def api_table(cells: list[ApiCell]) -> str:
    base = next((c for c in cells if c.target.key == "sqlite_1"), None)

    def ratio(cell: ApiCell, figure: str) -> str:
        if base is None:
            return "-"
        return fmt_ratio(cell.median(figure), base.median(figure))

    header = [
        "target", "req/s", "x", "p50 ms", "x", "p99 ms", "x", "CPU ms/call", "x",
        "serve", "PG", "errors",
    ]  # fmt: skip
    rows = [header]
    for cell in cells:
        if cell.failure and not cell.runs:
            rows.append([cell.target.label, "INVALID", *["-"] * (len(header) - 2)])
            continue
        rps, p50, p99 = cell.median("rps"), cell.median("p50_ms"), cell.median("p99_ms")
        cpu, srv, pgc = cell.median("cpu_all"), cell.median("cpu_server"), cell.median("cpu_pg")
        errors = sum(r.unexpected + r.socket_errors for r in cell.runs + cell.warmup)
        rows.append(
            [
                cell.target.label + (" (INVALID)" if cell.invalid else ""),
                fmt(rps, ",.0f"),
                ratio(cell, "rps"),
                fmt(p50, ".2f"),
                ratio(cell, "p50_ms"),
                fmt(p99, ".2f"),
                ratio(cell, "p99_ms"),
                fmt(cpu, ".3f"),
                ratio(cell, "cpu_all"),
                fmt(srv, ".3f"),
                fmt(pgc, ".3f") if cell.target.store == "pg" else "-",
                str(errors),
            ]
        )
    return render(rows)


# Part 2: media --------------------------------------------------------------------------------


@dataclass
class Pool:
    """The webinars the media parts stream, each configured to its own key at nginx-rtmp."""

    http: httpx.Client
    auth: dict[str, str]
    ids: list[int]
    keys: list[str]

    def status(self, index: int, action: str) -> float:
        """The start or stop through the API; the monotonic time its 204 arrived."""
        answer = self.http.patch(
            f"{API_PREFIX}/webinars/{self.ids[index]}/livestream/status",
            json={"action": action},
            headers=self.auth,
        )
        at = time.monotonic()
        if answer.status_code != 204:
            raise BenchError(f"{action} {self.ids[index]}: {answer.status_code} {answer.text}")
        return at

    def holders(self) -> dict[int, str]:
        leases = self.http.get("/_emulator/media/leases").json()["leases"]
        return {int(x["id"]): str(x["worker"]) for x in leases if x["current"]}

    def states(self) -> dict[int, str]:
        rows = self.http.get("/_emulator/livestreams").json()
        return {int(r["id"]): str(r["state"]) for r in rows}

    def speed(self, index: int) -> float | None:
        data = self.http.get(f"/_emulator/webinars/{self.ids[index]}/livestream").json()
        value = (data.get("media") or {}).get("speed")
        return float(value) if value is not None else None


def make_pool(http: httpx.Client, nginx: NginxRtmp, count: int) -> Pool:
    auth = {"Authorization": f"Bearer {token_of(http)}"}
    ids, keys = [], []
    for i in range(count):
        made = http.post(
            "/_emulator/accounts/demo-account/webinars",
            json={"host": "host@example.com", "topic": f"scale bench {i}", "status": "started"},
        )
        made.raise_for_status()
        ids.append(int(made.json()["id"]))
        keys.append(f"scale-{i}")
        configured = http.patch(
            f"{API_PREFIX}/webinars/{ids[-1]}/livestream",
            json={"stream_url": nginx.url, "stream_key": keys[-1], "page_url": "https://e.x/w"},
            headers=auth,
        )
        if configured.status_code != 204:
            raise BenchError(f"configure {ids[-1]}: {configured.status_code} {configured.text}")
    return Pool(http, auth, ids, keys)


def token_of(http: httpx.Client) -> str:
    answer = http.post(
        "/oauth/token?grant_type=account_credentials&account_id=demo-account",
        auth=("demo-client-id", "demo-client-secret"),
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def wait_publishing(nginx: NginxRtmp, keys: set[str], timeout: float) -> dict[str, Publisher]:
    """Until every key publishes at nginx-rtmp (its statistics page); what it shows then."""
    deadline = time.monotonic() + timeout
    while True:
        stat = nginx.stat()
        if keys <= stat.keys() or time.monotonic() > deadline:
            return stat
        time.sleep(0.25)


def wait_gone(nginx: NginxRtmp, keys: set[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while keys & nginx.stat().keys():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


@dataclass
class Step:
    """N streams for a window: held in real time or not."""

    workers: int
    streams: int
    publishing: int
    ratios: dict[str, float]
    """Per key: media time advanced ÷ nginx's clock over the window."""
    reconnected: int
    speed_min: float | None
    speed_median: float | None
    split: list[int]
    media_cpu_s: float
    """The media workers and their ffmpegs."""
    worker_cpu_s: float
    """The media-worker processes alone (Python: leases, progress, reports)."""
    nginx_cpu_s: float
    machine_busy_pct: float
    window_s: float
    up_s: float = 0.0
    """From the first of this step's starts to every stream publishing (statistics page)."""
    failure: str | None = None
    first_window: dict[str, Any] | None = None
    """When the first window missed real time and this one was a second look: the first."""

    @property
    def ratio_min(self) -> float | None:
        return min(self.ratios.values()) if self.ratios else None

    @property
    def ratio_median(self) -> float | None:
        return statistics.median(self.ratios.values()) if self.ratios else None

    @property
    def held(self) -> bool:
        low = self.ratio_min
        return (
            self.failure is None
            and self.publishing == self.streams
            and self.reconnected == 0
            and low is not None
            and low >= REAL_TIME
        )

    @property
    def media_core_pct(self) -> float:
        """The media workers and their ffmpegs, % of one core."""
        return 100 * self.media_cpu_s / self.window_s

    @property
    def worker_core_pct(self) -> float:
        return 100 * self.worker_cpu_s / self.window_s

    @property
    def per_stream_pct(self) -> float:
        return self.media_core_pct / self.streams if self.streams else 0.0


@dataclass
class Window:
    """What one measuring window saw."""

    ratios: dict[str, float]
    reconnected: int
    missing: int
    media_cpu_s: float
    worker_cpu_s: float
    nginx_cpu_s: float
    machine_busy_pct: float
    elapsed_s: float


def measure_window(
    nginx: NginxRtmp, keys: list[str], workers: list[Service], window: float
) -> Window:
    """Real-time ratios over ``window`` s, from nginx-rtmp's statistics page: each publisher's
    RTMP timestamp (media time) against its connection time (nginx's clock); and CPU time."""
    assert nginx.proc is not None
    tree = [pid for w in workers for pid in descendants(w.pid)]
    own = [w.pid for w in workers]
    before = nginx.stat()
    cpu0, ng0, jiffies0 = cpu_seconds(tree), cpu_seconds([nginx.proc.pid]), machine_jiffies()
    t0 = time.monotonic()
    time.sleep(window)
    tree = sorted(set(tree) | {pid for w in workers for pid in descendants(w.pid)})
    after = nginx.stat()
    cpu1, ng1, jiffies1 = cpu_seconds(tree), cpu_seconds([nginx.proc.pid]), machine_jiffies()
    elapsed = time.monotonic() - t0
    ratios: dict[str, float] = {}
    reconnected = missing = 0
    for key in keys:
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            missing += 1
        elif a.client_id != b.client_id:
            reconnected += 1
        else:
            span = b.time_ms - a.time_ms
            ratios[key] = round((b.timestamp_ms - a.timestamp_ms) / span if span > 0 else 0.0, 4)
    return Window(
        ratios=ratios,
        reconnected=reconnected,
        missing=missing,
        media_cpu_s=cpu_delta(cpu0, cpu1),
        worker_cpu_s=cpu_delta(
            {p: cpu0[p] for p in own if p in cpu0}, {p: cpu1[p] for p in own if p in cpu1}
        ),
        nginx_cpu_s=cpu_delta(ng0, ng1),
        machine_busy_pct=100 * (jiffies1[0] - jiffies0[0]) / max(1.0, jiffies1[1] - jiffies0[1]),
        elapsed_s=elapsed,
    )


def ramp(
    args: argparse.Namespace, run: RunState, pool: Pool, db: str, n_workers: int
) -> list[Step]:
    """Start media workers, add streams step by step while every stream holds real time."""
    assert run.nginx is not None
    nginx = run.nginx
    steps = sorted({n for n in RAMP if n < args.max_streams} | {args.max_streams})
    # Together exactly --max-streams: a burst of starts is claimed by whichever worker's lease
    # round runs first, so without this the top of the ramp could land on one worker.
    capacity = -(-args.max_streams // n_workers)
    workers = [
        run.launcher.media_worker(f"ramp{n_workers}-{i + 1}", db, capacity, args.lease)
        for i in range(n_workers)
    ]
    log(f"media: {n_workers} worker(s), capacity {capacity} each")
    out: list[Step] = []
    running = 0

    def measure(n: int, failure: str | None) -> Step:
        window = measure_window(nginx, pool.keys[:n], workers, args.window)
        speeds = [s for s in (pool.speed(i) for i in range(n)) if s is not None]
        holders = pool.holders()
        split = [sum(1 for h in holders.values() if h == w.name) for w in workers]
        if any(count > capacity for count in split):
            failure = f"a worker holds more than its capacity {capacity}: {split}"
        return Step(
            workers=n_workers,
            streams=n,
            publishing=n - window.missing,
            ratios=window.ratios,
            reconnected=window.reconnected,
            speed_min=min(speeds) if speeds else None,
            speed_median=statistics.median(speeds) if speeds else None,
            split=split,
            media_cpu_s=window.media_cpu_s,
            worker_cpu_s=window.worker_cpu_s,
            nginx_cpu_s=window.nginx_cpu_s,
            machine_busy_pct=window.machine_busy_pct,
            window_s=window.elapsed_s,
            failure=failure,
        )

    def describe(step: Step, up: float) -> str:
        return (
            f"  {step.streams} streams, all up after {up:.1f} s: publishing "
            f"{step.publishing}/{step.streams}, x real time min "
            f"{fmt(step.ratio_min, '.3f')} median {fmt(step.ratio_median, '.3f')}, ffmpeg speed "
            f"min {fmt(step.speed_min, '.2f')}, split {step.split}, media CPU "
            f"{step.media_core_pct:.0f}% of a core, machine {step.machine_busy_pct:.0f}% busy: "
            + ("held" if step.held else "NOT held" + (f" ({step.failure})" if step.failure else ""))
        )

    try:
        for n in steps:
            since = time.monotonic()
            for index in range(running, n):
                pool.status(index, "start")
            running = n
            stat = wait_publishing(nginx, set(pool.keys[:n]), timeout=30 + n)
            publishing = len(set(pool.keys[:n]) & stat.keys())
            failure = None
            if publishing < n:
                failure = f"{publishing} of {n} publishing after {30 + n} s"
            up = time.monotonic() - since
            time.sleep(args.settle)
            step = measure(n, failure)
            step.up_s = up
            if not step.held and step.failure is None:
                # One slow window can be a neighbour's burst on a shared machine: real time
                # breaks when a second window fails too.
                log(f"{describe(step, up)}; measuring once more")
                first = step
                step = measure(n, None)
                step.up_s = up
                step.first_window = asdict(first)
            log(describe(step, up))
            out.append(step)
            for worker in workers:
                if not worker.alive():
                    raise BenchError(f"{worker.name} died:\n{worker.log_tail()}")
            if not step.held:
                break
    finally:
        since = time.monotonic()
        for index in range(running):
            with contextlib.suppress(BenchError, httpx.HTTPError):
                pool.status(index, "stop")
        if not wait_gone(nginx, set(pool.keys[:running]), 30):
            log("  !! some publishers still there 30 s after their stop")
        log(f"  {running} streams stopped in {time.monotonic() - since:.1f} s")
        for worker in workers:
            worker.stop()
    return out


def largest_held(steps: list[Step]) -> Step | None:
    held = [s for s in steps if s.held]
    return held[-1] if held else None


def media_table(ramps: dict[int, list[Step]]) -> str:
    one = {s.streams: s for s in ramps.get(1, [])}
    header = [
        "workers", "streams", "all up s", "publishing", "x real time min", "median",
        "ffmpeg speed min",
        "split", "media CPU %", "workers' own %", "per stream %", "x", "machine %", "held",
    ]  # fmt: skip
    rows = [header]
    for n_workers, steps in sorted(ramps.items()):
        for step in steps:
            base = one.get(step.streams) if n_workers != 1 else None
            rows.append(
                [
                    str(n_workers),
                    str(step.streams),
                    f"{step.up_s:.1f}",
                    f"{step.publishing}/{step.streams}",
                    fmt(step.ratio_min, ".3f"),
                    fmt(step.ratio_median, ".3f"),
                    fmt(step.speed_min, ".2f"),
                    "+".join(str(x) for x in step.split),
                    f"{step.media_core_pct:.0f}",
                    f"{step.worker_core_pct:.1f}",
                    f"{step.per_stream_pct:.2f}",
                    fmt_ratio(step.per_stream_pct, base.per_stream_pct) if base else "-",
                    f"{step.machine_busy_pct:.0f}",
                    ("yes" if step.held else "NO") + (" (2nd window)" if step.first_window else ""),
                ]
            )
    table = render(rows)
    summary = []
    slow = [s for steps in ramps.values() for s in steps if s.up_s > SLOW_UP_S]
    if slow:
        where = ", ".join(f"{s.workers} worker(s) at {s.streams}: {s.up_s:.1f} s" for s in slow)
        summary.append(
            f"note: streams took more than {SLOW_UP_S:g} s to publish after their start ({where});"
            " a worker with room should claim a start at once (see bench/README.md)"
        )
    for n_workers, steps in sorted(ramps.items()):
        best = largest_held(steps)
        capped = steps and steps[-1].held
        held = f"{best.streams}" if best else "none"
        summary.append(
            f"largest N held, {n_workers} worker{'s' if n_workers > 1 else ''}: "
            f"{held}{' (the cap: --max-streams)' if capped else ''}"
        )
    if 1 in ramps and 2 in ramps:
        a, b = largest_held(ramps[1]), largest_held(ramps[2])
        if a and b:
            summary.append(
                f"2 workers vs 1: {fmt_ratio(b.streams, a.streams)} the streams held, "
                f"{fmt_ratio(b.per_stream_pct, a.per_stream_pct)} the CPU per stream (each at "
                "its largest N held)"
            )
    return table + "\n\n" + "\n".join(summary)


# Part 3: takeover -----------------------------------------------------------------------------


@dataclass
class Takeover:
    round: int
    killed: str
    taker: str
    first_back_s: float | None
    all_back_s: float | None
    """kill -9 to the last stream publishing again at nginx-rtmp."""
    all_live_s: float | None
    """kill -9 to every stream ``live`` in the API (what the workers report through the store)."""
    holders_after: dict[str, int]
    failure: str | None = None


def takeover_part(
    args: argparse.Namespace, run: RunState, pool: Pool, db: str
) -> tuple[list[Takeover], Service | None]:
    """Worker after worker: each new one is idle while the previous one holds the streams, then
    the previous one is killed. Returns the samples and the last worker (it still streams)."""
    assert run.nginx is not None
    count = args.takeover_streams
    keys = set(pool.keys[:count])
    ids = pool.ids[:count]
    holder = run.launcher.media_worker("takeover-0", db, count, args.lease)
    for index in range(count):
        pool.status(index, "start")
    stat = wait_publishing(run.nginx, keys, 30)
    if not keys <= stat.keys():
        raise BenchError(f"takeover: only {len(keys & stat.keys())} of {count} streams came up")
    samples: list[Takeover] = []
    rng = random.Random(args.seed)
    for n in range(1, args.takeovers + 1):
        taker = run.launcher.media_worker(f"takeover-{n}", db, count, args.lease)
        # Its first lease round has run (it holds nothing: all is held). The kill then falls at
        # a random point of the holder's renewal cycle (a third of the lease), as a crash would.
        time.sleep(1.0 + rng.uniform(0, args.lease / 3))
        holders = pool.holders()
        if [holders.get(i) for i in ids] != [holder.name] * count:
            raise BenchError(f"takeover {n}: before the kill, expected {holder.name}: {holders}")
        t0 = time.monotonic()
        os.kill(holder.pid, signal.SIGKILL)
        holder.popen.wait()
        back = run.nginx.wait_hooks(t0, "publish", keys, timeout=3 * args.lease + 30)
        firsts = run.nginx.hooks_since(t0, "publish")
        times = [firsts[k] - t0 for k in keys if k in firsts]
        all_live: float | None = None
        deadline = time.monotonic() + 30
        while back and time.monotonic() < deadline:
            states = pool.states()
            if all(states.get(i) == "live" for i in ids):
                all_live = time.monotonic() - t0
                break
            time.sleep(0.05)
        after = pool.holders()
        by_worker: dict[str, int] = {}
        for i in ids:
            name = after.get(i, "(none)")
            by_worker[name] = by_worker.get(name, 0) + 1
        failure = None
        if not back:
            failure = f"{len(times)} of {count} streams back within {3 * args.lease + 30:.0f} s"
        elif by_worker != {taker.name: count}:
            failure = f"holders after the takeover: {by_worker}"
        sample = Takeover(
            round=n,
            killed=holder.name,
            taker=taker.name,
            first_back_s=min(times) if times else None,
            all_back_s=max(times) if back else None,
            all_live_s=all_live,
            holders_after=by_worker,
            failure=failure,
        )
        samples.append(sample)
        log(
            f"takeover {n}/{args.takeovers}: kill -9 {holder.name}; every stream publishing "
            f"again after {fmt(sample.all_back_s, '.2f')} s (the first after "
            f"{fmt(sample.first_back_s, '.2f')} s), live in the API after {fmt(all_live, '.2f')} s"
            + (f"  <-- {failure}" if failure else "")
        )
        holder = taker
        if failure:
            break
    return samples, holder


def takeover_table(samples: list[Takeover], lease: float) -> str:
    target = lease + TAKEOVER_MARGIN_S
    header = ["round", "killed -> taker", "all back s", "x target", "first back s", "live in API s"]
    rows = [header]
    for s in samples:
        rows.append(
            [
                str(s.round),
                f"{s.killed} -> {s.taker}",
                fmt(s.all_back_s, ".2f") + (" !" if s.failure else ""),
                fmt_ratio(s.all_back_s, target),
                fmt(s.first_back_s, ".2f"),
                fmt(s.all_live_s, ".2f"),
            ]
        )
    for label, pick in (("median", statistics.median), ("max", max)):
        values = [s.all_back_s for s in samples if s.all_back_s is not None]
        firsts = [s.first_back_s for s in samples if s.first_back_s is not None]
        lives = [s.all_live_s for s in samples if s.all_live_s is not None]
        value = pick(values) if values else None
        rows.append(
            [
                label,
                "",
                fmt(value, ".2f"),
                fmt_ratio(value, target),
                fmt(pick(firsts) if firsts else None, ".2f"),
                fmt(pick(lives) if lives else None, ".2f"),
            ]
        )
    note = f"lease {lease:g} s, target lease + {TAKEOVER_MARGIN_S:g} s = {target:g} s"
    return render(rows, separate_last=2) + "\n" + note


# Part 4: stop ---------------------------------------------------------------------------------


@dataclass
class StopSample:
    round: int
    key: str
    worker: str
    gone_s: float | None
    """The 204 of the stop to nginx-rtmp's on_publish_done for the stream."""
    stat_gone_s: float | None
    """The 204 to the first statistics page without the publisher (polled every 20 ms)."""


def stop_part(
    args: argparse.Namespace, run: RunState, pool: Pool, db: str, worker: Service | None
) -> list[StopSample]:
    assert run.nginx is not None
    count = args.takeover_streams
    if worker is None or not worker.alive():
        worker = run.launcher.media_worker("stop-worker", db, count, args.lease)
    samples: list[StopSample] = []
    for n in range(1, args.stops + 1):
        index = (n - 1) % count
        key = pool.keys[index]
        if key not in run.nginx.stat():
            pool.status(index, "start")
            if key not in wait_publishing(run.nginx, {key}, 30):
                raise BenchError(f"stop {n}: {key} did not come up")
        time.sleep(1.0)  # streaming for a moment
        since = time.monotonic()
        acked = pool.status(index, "stop")
        stat_gone: float | None = None
        deadline = acked + 10
        while time.monotonic() < deadline:
            if key not in run.nginx.stat():
                stat_gone = time.monotonic() - acked
                break
            time.sleep(0.02)
        done = run.nginx.wait_hooks(since, "done", {key}, timeout=10)
        gone = run.nginx.hooks_since(since, "done").get(key) if done else None
        sample = StopSample(
            round=n,
            key=key,
            worker=worker.name,
            gone_s=(gone - acked) if gone is not None else None,
            stat_gone_s=stat_gone,
        )
        samples.append(sample)
        log(
            f"stop {n}/{args.stops}: {key} on {worker.name}: publisher gone "
            f"{fmt_ms(sample.gone_s)} after the 204 (statistics page: {fmt_ms(stat_gone)})"
        )
    for index in range(count):
        with contextlib.suppress(BenchError, httpx.HTTPError):
            pool.status(index, "stop")
    wait_gone(run.nginx, set(pool.keys[:count]), 30)
    worker.stop()
    return samples


def stop_table(samples: list[StopSample]) -> str:
    header = ["round", "stream", "media worker", "gone ms", "x target", "stat page ms"]
    rows = [header]
    for s in samples:
        rows.append(
            [
                str(s.round),
                s.key,
                s.worker,
                fmt_ms(s.gone_s, unit=False),
                fmt_ratio(s.gone_s, STOP_TARGET_S),
                fmt_ms(s.stat_gone_s, unit=False),
            ]
        )
    for label, pick in (("median", statistics.median), ("max", max)):
        gone = [s.gone_s for s in samples if s.gone_s is not None]
        stat = [s.stat_gone_s for s in samples if s.stat_gone_s is not None]
        value = pick(gone) if gone else None
        rows.append(
            [
                label,
                "",
                "",
                fmt_ms(value, unit=False),
                fmt_ratio(value, STOP_TARGET_S),
                fmt_ms(pick(stat) if stat else None, unit=False),
            ]
        )
    return render(rows, separate_last=2) + f"\ntarget {STOP_TARGET_S * 1000:.0f} ms"


# Verdicts -------------------------------------------------------------------------------------


def verdicts(
    lease: float,
    cells: list[ApiCell] | None,
    ramps: dict[int, list[Step]] | None,
    takeovers: list[Takeover] | None,
    stops: list[StopSample] | None,
) -> list[str]:
    out: list[str] = []

    def against(
        name: str, value: float | None, limit: float, unit: str = "s", scale: float = 1.0
    ) -> str:
        """``value`` and ``limit`` in seconds, shown in ``unit`` (``scale`` units a second)."""
        spec = ".2f" if scale == 1 else ".0f"
        head = f"{name} <= {limit * scale:g} {unit}:"
        if value is None:
            return f"{head} no figure  MISSED"
        shown, gap = format(value * scale, spec), format(abs(limit - value) * scale, spec)
        if value <= limit:
            return f"{head} {shown} {unit}  met ({gap} {unit} to spare)"
        return f"{head} {shown} {unit}  MISSED by {gap} {unit}"

    if cells:
        base = next((c for c in cells if c.target.key == "sqlite_1"), None)
        base_rps = base.median("rps") if base else None
        parts = []
        for cell in cells:
            rps = cell.median("rps")
            if cell is not base and rps is not None and base_rps:
                parts.append(f"{cell.target.label} {rps / base_rps:.2f}x")
        if parts:
            out.append(
                "api: no target in issue 13 (figures only); req/s / SQLite 1 worker: "
                + "; ".join(parts)
            )
    if ramps:
        for n_workers, steps in sorted(ramps.items()):
            best = largest_held(steps)
            breaking = next((s for s in steps if not s.held), None)
            what = f"largest N held {best.streams}" if best else "no N held"
            if breaking is not None:
                what += (
                    f"; broke at {breaking.streams} (x real time min "
                    f"{fmt(breaking.ratio_min, '.3f')}, {breaking.publishing}/"
                    f"{breaking.streams} publishing)"
                )
            else:
                what += " (the cap, --max-streams: raise it to find the ceiling)"
            out.append(
                f"media, {n_workers} worker{'s' if n_workers > 1 else ''} (issue expects the CPU "
                f"ceiling, ~55-90): {what}"
            )
        bad = [
            s for steps in ramps.values() for s in steps if s.failure and "capacity" in s.failure
        ]
        out.append(
            "media: capacity respected (no worker above --capacity)  "
            + ("MISSED: " + bad[0].failure if bad and bad[0].failure else "met")
        )
    if takeovers is not None:
        values = [s.all_back_s for s in takeovers if s.all_back_s is not None]
        target = lease + TAKEOVER_MARGIN_S
        median = statistics.median(values) if len(values) == len(takeovers) and values else None
        out.append(
            against(
                f"takeover median of {len(takeovers)} (lease {lease:g} s + 5 s)", median, target
            )
        )
        out.append(
            against(
                "takeover, every one (max)",
                max(values) if len(values) == len(takeovers) and values else None,
                target,
            )
        )
    if stops is not None:
        values = [s.gone_s for s in stops if s.gone_s is not None]
        complete = len(values) == len(stops) and values
        median = statistics.median(values) if complete else None
        worst = max(values) if complete else None
        out.append(against(f"stop median of {len(stops)}", median, STOP_TARGET_S, "ms", 1000))
        out.append(against("stop, every one (max)", worst, STOP_TARGET_S, "ms", 1000))
    return out


# Output helpers -------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def fmt_ms(seconds: float | None, unit: bool = True) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f}" + (" ms" if unit else "")


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    if r >= 100:
        return f"{r:.0f}x"
    if r >= 10:
        return f"{r:.1f}x"
    return f"{r:.2f}x"


def render(rows: list[list[str]], separate_last: int = 0) -> str:
    """A plain table: the first column left-aligned, the rest right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        if separate_last and n == len(rows) - separate_last:
            out.append("  ".join("-" * w for w in widths))
        cells = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# Main -----------------------------------------------------------------------------------------


@dataclass
class RunState:
    """What the parts share: the temp folder, the engines, the launcher."""

    workdir: Path
    launcher: Launcher
    pg: Postgres | None = None
    redis: Redis | None = None
    nginx: NginxRtmp | None = None

    def close(self) -> None:
        self.launcher.stop_all()
        for engine in (self.nginx, self.redis, self.pg):
            if engine is not None:
                with contextlib.suppress(Exception):
                    engine.stop()


QUICK = {
    "duration": 2,
    "rounds": 1,
    "warmup": 1,
    "max_streams": 16,
    "window": 5.0,
    "settle": 2.0,
    "takeovers": 2,
    "stops": 3,
}
DEFAULTS = {
    "duration": 5,
    "rounds": 3,
    "warmup": 2,
    "max_streams": 80,
    "window": 8.0,
    "settle": 2.0,
    "takeovers": 5,
    "stops": 5,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add(
        "--quick",
        action="store_true",
        help="a short look: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()),
    )
    add("--only", default=",".join(PARTS), help=f"parts to run, of {','.join(PARTS)} (all)")
    add("--duration", type=int, help=f"api: seconds per wrk run ({DEFAULTS['duration']})")
    add("--rounds", type=int, help=f"api: interleaved rounds, median ({DEFAULTS['rounds']})")
    add("--warmup", type=int, help=f"api: unrecorded seconds per target ({DEFAULTS['warmup']})")
    add("--connections", type=int, default=32, help="api: wrk connections (32)")
    add("--threads", type=int, default=2, help="api: wrk threads (2)")
    add("--timeout", type=int, default=10, help="api: wrk request timeout, s (10)")
    add("--no-redis", action="store_true", help="api: leave out the Redis target")
    add("--max-streams", type=int, help=f"media: the ramp's last N ({DEFAULTS['max_streams']})")
    add("--window", type=float, help=f"media: seconds of measuring per N ({DEFAULTS['window']:g})")
    add("--settle", type=float, help=f"media: seconds after all publish ({DEFAULTS['settle']:g})")
    add("--media-workers", default="1,2", help="media: worker counts to compare (1,2)")
    add("--takeovers", type=int, help=f"takeover: kills, median ({DEFAULTS['takeovers']})")
    add("--takeover-streams", type=int, default=4, help="takeover and stop: streams (4)")
    add("--stops", type=int, help=f"stop: stops, median ({DEFAULTS['stops']})")
    add("--lease", type=float, default=10.0, help="media workers' --lease-seconds (10)")
    add("--seed", type=int, default=13, help="takeover: seeds the moments of the kills (13)")
    add("--json", type=Path, help="also write every raw figure to this file")
    add("--wrk", default="/usr/bin/wrk", help="wrk executable (/usr/bin/wrk)")
    args = parser.parse_args(argv)
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, QUICK[name] if args.quick else default)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if unknown := set(args.parts) - set(PARTS):
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}")
    try:
        args.worker_counts = sorted({int(x) for x in args.media_workers.split(",")})
    except ValueError:
        parser.error("--media-workers takes numbers: 1,2")
    for name in ("duration", "rounds", "connections", "threads", "timeout", "max_streams"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("takeovers", "stops", "takeover_streams"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.connections < args.threads or args.connections < 2:
        parser.error("--connections must be at least --threads, and 2 (two hosts share them)")
    if args.window <= 0 or args.settle < 0 or args.warmup < 0:
        parser.error("--window must be positive; --settle and --warmup not negative")
    if not 1 <= args.lease <= 3600:
        parser.error("--lease must be between 1 and 3600 s (as media-worker's)")
    return args


def environment(run: RunState, wrk: str) -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    ffmpeg = shutil.which("ffmpeg")
    ffmpeg_version = (
        subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=False)
        .stdout.split("\n")[0]
        .split(" Copyright")[0]
        if ffmpeg
        else None
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "zoomlive": version("zoomlive"),
        "zoomlive_commit": git_commit(),
        "uvicorn": version("uvicorn"),
        "uvloop": version("uvloop"),
        "httptools": version("httptools"),
        "psycopg": version("psycopg"),
        "wrk": subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        .stdout.split(" Copyright")[0]
        .strip(),
        "postgres": run.pg.version if run.pg else None,
        "redis": run.redis.version if run.redis else None,
        "nginx": run.nginx.version if run.nginx else None,
        "ffmpeg": ffmpeg_version,
        "zoomlive_command": run.launcher.zoomlive,
    }


@dataclass
class Results:
    api: list[ApiCell] | None = None
    ramps: dict[int, list[Step]] | None = None
    takeovers: list[Takeover] | None = None
    stops: list[StopSample] | None = None
    errors: list[str] = field(default_factory=list)


def bench(
    args: argparse.Namespace, run: RunState, results: Results, ready: Callable[[], None]
) -> None:
    needs_media = bool({"media", "takeover", "stop"} & set(args.parts))
    log("starting PostgreSQL" + (", Redis" if "api" in args.parts and not args.no_redis else "")
        + (", nginx-rtmp" if needs_media else ""))  # fmt: skip
    run.pg = Postgres().start()
    if "api" in args.parts and not args.no_redis:
        run.redis = Redis(run.workdir / "redis").start()
    if needs_media:
        if shutil.which("ffmpeg") is None:
            raise EngineError("ffmpeg is needed for the media parts (apt-get install ffmpeg)")
        run.nginx = NginxRtmp(run.workdir / "nginx").start()
    ready()

    if "api" in args.parts:
        results.api = api_part(args, run)
    if not needs_media:
        return
    assert run.nginx is not None
    db = run.pg.createdb("media")
    serve = run.launcher.serve("serve-media", db, "--media", "remote", "--rate-limits", "off")
    http = httpx.Client(base_url=f"http://{HOST}:{serve.port}", timeout=30)
    try:
        count = max(
            args.max_streams if "media" in args.parts else 0,
            args.takeover_streams if {"takeover", "stop"} & set(args.parts) else 0,
        )
        log(f"media: {count} webinars, each streaming to its own key at nginx-rtmp")
        pool = make_pool(http, run.nginx, count)
        if "media" in args.parts:
            results.ramps = {}
            for n_workers in args.worker_counts:
                results.ramps[n_workers] = ramp(args, run, pool, db, n_workers)
        last: Service | None = None
        if "takeover" in args.parts:
            results.takeovers, last = takeover_part(args, run, pool, db)
        if "stop" in args.parts:
            results.stops = stop_part(args, run, pool, db, last)
        elif last is not None:
            for index in range(args.takeover_streams):
                with contextlib.suppress(BenchError, httpx.HTTPError):
                    pool.status(index, "stop")
            last.stop()
    finally:
        http.close()


def as_json(
    args: argparse.Namespace, env: dict[str, Any], results: Results, lines: list[str]
) -> dict[str, Any]:
    params = {k: v for k, v in vars(args).items() if k not in ("json",)}
    params["json"] = str(args.json) if args.json else None
    api = None
    if results.api is not None:
        api = [
            {
                "target": asdict(cell.target),
                "servers": [s.name for s in cell.servers],
                "preflight": cell.preflight,
                "failure": cell.failure,
                "invalid": cell.invalid,
                "medians": {
                    f: cell.median(f)
                    for f in ("rps", "p50_ms", "p99_ms", "cpu_all", "cpu_server", "cpu_pg")
                },
                "rounds": [asdict(r) for r in cell.runs],
                "warmup": [asdict(r) for r in cell.warmup],
            }
            for cell in results.api
        ]
    ramps = None
    if results.ramps is not None:
        ramps = {
            str(n): [
                asdict(s)
                | {
                    "ratio_min": s.ratio_min,
                    "ratio_median": s.ratio_median,
                    "held": s.held,
                    "media_core_pct": round(s.media_core_pct, 1),
                    "per_stream_pct": round(s.per_stream_pct, 2),
                }
                for s in steps
            ]
            for n, steps in results.ramps.items()
        }
    return {
        "environment": env,
        "parameters": params,
        "api": api,
        "media": ramps,
        "takeover": [asdict(s) for s in results.takeovers]
        if results.takeovers is not None
        else None,
        "stop": [asdict(s) for s in results.stops] if results.stops is not None else None,
        "verdicts": lines,
        "errors": results.errors,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt_on_signals()
    wrk = shutil.which(args.wrk)
    if wrk is None and "api" in args.parts:
        log(f"error: wrk not found at {args.wrk!r}: install it (Debian: apt-get install wrk)")
        return 2
    args.wrk = wrk or args.wrk
    results = Results()
    status = 0
    started = time.monotonic()
    env: dict[str, Any] = {}
    for stale in sweep_stale_dirs():
        log(f"removed {stale}, left by a run that was killed")
    workdir = private_dir("run")
    run = RunState(workdir, Launcher(workdir))

    def ready() -> None:
        env.update(environment(run, args.wrk))
        print(header(args, env))
        sys.stdout.flush()

    try:
        bench(args, run, results, ready)
    except (BenchError, EngineError, httpx.HTTPError, OSError) as err:
        log(f"error: {type(err).__name__}: {err}")
        results.errors.append(str(err))
        status = 2
    finally:
        with no_signals():
            # Before they are stopped: a process that already ended badly says why.
            for service in run.launcher.services:
                if service.popen.poll() not in (None, 0, -signal.SIGTERM, -signal.SIGKILL):
                    log(f"!! {service.name} ended abnormally; its log:\n{service.log_tail(10)}")
            run.close()
            shutil.rmtree(workdir, ignore_errors=True)
        interrupt_on_signals()

    if not env:
        return status
    env["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    env["elapsed_s"] = round(time.monotonic() - started, 1)
    for title, table in sections(args, results):
        print(f"\n{title}\n\n{table}")
    lines = verdicts(args.lease, results.api, results.ramps, results.takeovers, results.stops)
    if lines:
        print("\nverdicts:")
        for line in lines:
            print(f"  {line}")
    print(
        f"\n(run took {env['elapsed_s']:.0f} s; load average {env['loadavg_at_start']} at the "
        f"start, {env['loadavg_at_end']} at the end)"
    )
    if args.json:
        args.json.write_text(json.dumps(as_json(args, env, results, lines), indent=2) + "\n")
        log(f"raw figures written to {args.json}")
    invalid = [c.target.label for c in results.api or [] if c.invalid]
    invalid += [f"takeover {s.round}" for s in results.takeovers or [] if s.failure]
    invalid += [f"stop {s.round}" for s in results.stops or [] if s.gone_s is None]
    if invalid and status == 0:
        log("!! invalid: " + ", ".join(invalid))
        status = 1
    return status


def sections(args: argparse.Namespace, results: Results) -> list[tuple[str, str]]:
    """(title, table) of each part that ran."""
    out = []
    if results.api is not None:
        title = (
            f"API: the reference call, wrk -t{args.threads} -c{args.connections} "
            "(x: / SQLite 1 worker; CPU ms/call = serve + PG)"
        )
        out.append((title, api_table(results.api)))
    if results.ramps is not None:
        title = (
            f"Media: concurrent {PROFILE} (320x180@15) streams; held = every stream at least "
            f"{REAL_TIME}x real time at nginx-rtmp (x: CPU per stream / 1 worker's, same N)"
        )
        out.append((title, media_table(results.ramps)))
    if results.takeovers is not None:
        title = "Takeover: kill -9 of the media worker that holds the streams (x: / target)"
        out.append((title, takeover_table(results.takeovers, args.lease)))
    if results.stops is not None:
        title = (
            "Stop: the 204 of PATCH stop (API server) to the publisher gone at nginx-rtmp "
            "(x: / target)"
        )
        out.append((title, stop_table(results.stops)))
    return out


def header(args: argparse.Namespace, env: dict[str, Any]) -> str:
    lines = [
        f"zoomlive scale bench, {env['date']}",
        f"  machine   {env['cpus']} CPUs ({env['cpu_model']}), load {env['loadavg_at_start']}",
        f"  zoomlive  {env['zoomlive']} ({env['zoomlive_commit'] or 'not a git checkout'}), "
        f"python {env['python']}, uvicorn {env['uvicorn']}, uvloop {env['uvloop']}, "
        f"psycopg {env['psycopg']}",
        f"  engines   {env['postgres']} (fsync on, as shipped); "
        + (f"Redis {env['redis'].split()[2] if env['redis'] else '-'}; " if env["redis"] else "")
        + (f"nginx {env['nginx']} + RTMP; {env['ffmpeg']}" if env["nginx"] else "no media"),
        f"  load      {env['wrk']}: -t{args.threads} -c{args.connections}, {args.duration} s x "
        f"{args.rounds} interleaved rounds (median), {args.warmup} s warm-up",
        f"  media     --media-profile {PROFILE}, ramp to --max-streams {args.max_streams}, "
        f"{args.settle:g} s settle + {args.window:g} s window per N; lease {args.lease:g} s; "
        f"{args.takeovers} takeovers, {args.stops} stops, {args.takeover_streams} streams",
        f"  parts     {', '.join(args.parts)}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop_signal:
        print(f"\ninterrupted ({stop_signal}); everything stopped", file=sys.stderr)
        sys.exit(130)
