"""zoomlive's benchmarks in one harness: the scenarios are data, the servers run side by side.

    python bench/bench.py [SCENARIO ...] [--quick] [--targets sqlite,pg1,...] [--baseline REF]
                          [--duration 5] [--rounds 3] [--json FILE]

Scenarios: reference, get, store, media (all by default). bench/README.md says what each
scenario and option does; docs/benchmarks.md has the figures of a run. Everything runs on
127.0.0.1 in a temporary folder that goes, with every process and the baseline's git
worktree, however the run ends (a kill -9 leaves the folder and the worktree: the next run
removes them). Exit status: 0, 1 if a measured row had errors, 2 if setup failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
from tests.support.engines import PrivatePostgres  # noqa: E402
from tests.support.helpers import free_port, popen  # noqa: E402

HOST = "127.0.0.1"
WEBINAR = 68423085
"""The demo account's webinar: running, its live stream configured (``zoomlive serve`` seeds it)."""
STATUS = f"/webinars/{WEBINAR}/livestream/status"
REFERENCE = (
    '{"action":"stop","settings":{"active_speaker_name":false,"display_name":"reprehender"}}'
)
"""The reference page's body (a stop of a stopped stream with its settings: a 204)."""
SPEC = ROOT.parent / "shared" / "reference" / "zoom-livestream-mock.openapi.json"
PRISM_DIR = ROOT / ".cache" / "prism"
PRISM = "@stoplight/prism-cli@5"
FALLBACK_BASELINE = "645be2a"
PREFIX = "zoomlive-bench-"
TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_S = 1.0


# The data: targets, checks, scenarios ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    kind: str = "zoomlive"
    """``zoomlive`` (``zoomlive serve --media off --rate-limits off``), ``ceiling`` or ``prism``."""
    db: str = "sqlite"
    """``sqlite`` (a fresh file) or ``pg`` (a fresh database on the private PostgreSQL)."""
    workers: int = 1
    baseline: bool = False
    """The code of ``--baseline REF``, from a git worktree of it."""


TARGETS = {
    t.key: t
    for t in (
        Target("sqlite", "zoomlive SQLite"),
        Target("pg1", "zoomlive PG 1 worker", db="pg"),
        Target("pg2", "zoomlive PG 2 workers", db="pg", workers=2),
        Target("base", "baseline SQLite", baseline=True),
        Target("ceiling", "ceiling app", kind="ceiling"),
        Target("prism", "Prism", kind="prism"),
    )
}


@dataclass(frozen=True)
class Check:
    """``of``'s median figure, divided by ``over``'s unless None, against a bound."""

    label: str
    of: str
    over: str | None
    figure: str
    """``rps``, ``p50`` or ``p99`` (ms)."""
    at_least: float | None = None
    at_most: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    """``wrk`` (a table of every target), ``store`` (size under load) or ``media``."""
    about: str
    targets: tuple[str, ...] = ()
    method: str = "GET"
    path: str = ""
    """After ``/v2`` (Prism's paths have no prefix)."""
    bodies: tuple[str, ...] = ()
    """Sent in turn by each wrk thread."""
    prism_path: str | None = None
    """Where Prism's spec lacks the operation: the nearest one it has."""
    checks: tuple[Check, ...] = ()


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "reference",
            "wrk",
            "PATCH /v2/webinars/{id}/livestream/status, the reference body (204)",
            tuple(TARGETS),
            "PATCH",
            STATUS,
            (REFERENCE,),
            checks=(
                Check("PG 1 worker / SQLite req/s", "pg1", "sqlite", "rps", at_least=0.3),
                Check("PG 1 worker p99 ms", "pg1", None, "p99", at_most=30),
                Check("PG 2 workers / PG 1 worker req/s", "pg2", "pg1", "rps", at_least=1.3),
                Check("SQLite / baseline SQLite req/s", "sqlite", "base", "rps", at_least=0.95),
            ),
        ),
        Scenario(
            "get",
            "wrk",
            "GET /v2/webinars/{id} (200); Prism's spec has no such operation: its "
            "GET /webinars/{id}/livestream",
            tuple(TARGETS),
            "GET",
            f"/webinars/{WEBINAR}",
            prism_path=f"/webinars/{WEBINAR}/livestream",
            checks=(
                Check("PG 1 worker / SQLite req/s", "pg1", "sqlite", "rps", at_least=0.5),
                Check("SQLite / baseline SQLite req/s", "sqlite", "base", "rps", at_least=0.95),
            ),
        ),
        Scenario(
            "store",
            "store",
            "start and stop in turn under wrk for --store-seconds; the store's size every "
            "--sample s (SQLite file + WAL; PostgreSQL pg_database_size)",
            ("sqlite", "pg1"),
            "PATCH",
            STATUS,
            ('{"action":"start"}', '{"action":"stop"}'),
        ),
        Scenario(
            "media",
            "media",
            "start -> first video frame at an RTMP receiver (zoomlive serve --media ffmpeg "
            "--media-profile small) vs the same ffmpeg command started by hand",
            ("sqlite",),
        ),
    )
}


# Servers --------------------------------------------------------------------------------------


class SetupError(RuntimeError):
    pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Server:
    target: Target
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    db: str = ""
    prefix: str = "/v2"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def tail(self, lines: int = 12) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM to its process group (workers, node), SIGKILL after 10 s."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


class Fleet:
    """Starts the servers and engines of a run, and stops them all at the end."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.servers: list[Server] = []
        self.shared: dict[str, Server] = {}
        self.unavailable: dict[str, str] = {}
        self.pg: PrivatePostgres | None = None
        self.checkout: Path | None = None

    def start(self, target: Target, name: str, media: str = "off", *extra: str) -> Server:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        db, prefix = "", "/v2"
        if target.kind == "ceiling":
            command = [sys.executable, str(BENCH / "ceiling_app.py"), "--port", str(port)]
        elif target.kind == "prism":
            command = [prism_bin(), "mock", "-h", HOST, "-p", str(port), str(self.args.spec)]
            prefix = ""  # Prism routes on the spec's paths, not on its servers' /v2
        else:
            if target.db == "pg":
                if self.pg is None:
                    self.pg = PrivatePostgres(durable=True).start()
                db = name.replace("-", "_")
                url = self.pg.createdb(db)
            else:
                (self.workdir / name).mkdir()
                url = db = str(self.workdir / name / "zoomlive.db")
            if target.baseline:
                env["PYTHONPATH"] = str(self.baseline_checkout() / "src")
            command = [
                sys.executable, "-m", "zoomlive", "serve", "--db", url, "--port", str(port),
                "--media", media, "--rate-limits", "off", "--workers", str(target.workers),
                *extra,
            ]  # fmt: skip
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as out:
            proc = popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=self.workdir, env=env, start_new_session=True,
            )  # fmt: skip
        server = Server(target, name, port, proc, log_path, db, prefix)
        self.servers.append(server)
        wait_ready(server)
        return server

    def get(self, key: str) -> Server | None:
        """The target's server shared by the wrk scenarios; None when it cannot run here."""
        if key not in self.shared and key not in self.unavailable:
            try:
                self.shared[key] = self.start(TARGETS[key], key)
            except (SetupError, RuntimeError, OSError, subprocess.SubprocessError) as err:
                self.unavailable[key] = str(err).strip().splitlines()[0][:160]
                log(f"  {TARGETS[key].label}: not run: {err}")
        return self.shared.get(key)

    def baseline_checkout(self) -> Path:
        if self.checkout is None:
            path = self.workdir / "baseline"
            git("worktree", "add", "--detach", str(path), self.args.baseline)
            self.checkout = path
        return self.checkout

    def pg_pid(self, server: Server) -> list[int]:
        """PostgreSQL's postmaster (its processes' root) when the server is on PostgreSQL."""
        if server.target.db == "pg" and self.pg is not None and self.pg.proc is not None:
            return [self.pg.proc.pid]
        return []

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self.pg is not None:
            self.pg.stop()
        if self.checkout is not None:
            with contextlib.suppress(SetupError):
                git("worktree", "remove", "--force", str(self.checkout))


def wait_ready(server: Server, timeout: float = 90) -> None:
    """Until the server answers 2xx: the health route, the ceiling's GET, Prism's mock."""
    kind = server.target.kind
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SetupError(f"{server.name} exited {server.proc.returncode}:\n{server.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if kind == "prism":
                answer = httpx.patch(
                    server.url + STATUS, content=REFERENCE, timeout=2,
                    headers={"Authorization": "Bearer x", "Content-Type": "application/json"},
                )  # fmt: skip
            else:
                answer = httpx.get(server.url + ("/" if kind == "ceiling" else "/_emulator/health"))
            if answer.is_success:
                return
        time.sleep(0.1)
    raise SetupError(f"{server.name} not ready within {timeout:.0f} s:\n{server.tail()}")


def prism_bin() -> str:
    """Prism, installed into .cache/prism with npm when missing."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        if shutil.which("npm") is None:
            raise SetupError("npm not found: Prism needs Node.js and npm")
        log(f"  installing {PRISM} into {PRISM_DIR}")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PRISM_DIR), PRISM],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=600,
        )  # fmt: skip
        if not binary.exists():
            raise SetupError(f"npm install {PRISM} failed")
    return str(binary)


def token(server: Server) -> str:
    """A fresh access token from the emulator (no expiry mid-run); any bearer for the others."""
    if server.target.kind != "zoomlive":
        return "bench-" + "x" * 40
    answer = httpx.post(
        server.url + "/oauth/token?grant_type=account_credentials&account_id=demo-account",
        auth=("demo-client-id", "demo-client-secret"),
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


# Load -----------------------------------------------------------------------------------------


def cpu_seconds(roots: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process under ``roots`` (by parent pid), now."""
    procs: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                f = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                procs[int(entry)] = (int(f[1]), (int(f[11]) + int(f[12])) / TICKS)
    out: dict[int, float] = {}
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in out:
            out[pid] = procs[pid][1]
            todo += [child for child, (parent, _) in procs.items() if parent == pid]
    return out


@dataclass
class Run:
    rps: float
    p50: float
    p90: float
    p99: float
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_ms: float | None = None
    """CPU per request, ms: the server's processes."""
    pg_cpu_ms: float | None = None
    """The same of PostgreSQL's processes, on PostgreSQL."""


def start_wrk(
    args: argparse.Namespace, server: Server, scenario: Scenario, seconds: float
) -> subprocess.Popen[str]:
    path = scenario.path
    if server.target.kind == "prism" and scenario.prism_path:
        path = scenario.prism_path
    env = {
        **os.environ,
        "WRK_METHOD": scenario.method,
        "WRK_BODIES": "\n".join(scenario.bodies),
        "WRK_HEADERS": f"Authorization: Bearer {token(server)}",
    }
    command = [
        args.wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s",
        "--timeout", "10s", "-s", str(BENCH / "wrk.lua"), server.url + server.prefix + path,
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def wrk_result(proc: subprocess.Popen[str], seconds: float) -> Run:
    out, err = proc.communicate(timeout=seconds + 60)
    found = re.search(r"^BENCH_RESULT (\{.*\})$", out, re.MULTILINE)
    if proc.returncode != 0 or found is None:
        raise SetupError(f"wrk failed ({proc.returncode}): {out}{err}")
    raw = json.loads(found.group(1))
    ms = {p: v / 1000 for p, v in raw["latency_us"].items()}
    return Run(
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50=ms["50"],
        p90=ms["90"],
        p99=ms["99"],
        requests=raw["requests"],
        non_2xx=raw["non_2xx"],
        socket_errors=raw["socket_errors"],
    )


def measure(
    args: argparse.Namespace, fleet: Fleet, server: Server, scenario: Scenario, seconds: float
) -> Run:
    time.sleep(SETTLE_S)  # the previous server may still be draining its backlog
    roots = ([server.proc.pid], fleet.pg_pid(server))
    before = [cpu_seconds(r) for r in roots]
    run = wrk_result(start_wrk(args, server, scenario, seconds), seconds)
    after = [cpu_seconds(r) for r in roots]
    pairs = zip(before, after, strict=True)
    spent = [sum(t - b.get(pid, 0.0) for pid, t in a.items()) for b, a in pairs]
    if run.requests:
        run.cpu_ms = 1000 * spent[0] / run.requests
        run.pg_cpu_ms = 1000 * spent[1] / run.requests if roots[1] else None
    return run


def preflight(server: Server, scenario: Scenario) -> str | None:
    """The scenario's request(s) once by hand: None if each is a 2xx, else why not."""
    path = scenario.path
    if server.target.kind == "prism" and scenario.prism_path:
        path = scenario.prism_path
    headers = {"Authorization": f"Bearer {token(server)}", "Content-Type": "application/json"}
    for body in scenario.bodies or ("",):
        answer = httpx.request(
            scenario.method, server.url + server.prefix + path, content=body or None,
            headers=headers, timeout=10,
        )  # fmt: skip
        if not answer.is_success:
            return f"{scenario.method} {path} answered {answer.status_code}: {answer.text[:120]}"
    return None


# Scenarios ------------------------------------------------------------------------------------


@dataclass
class Cell:
    target: Target
    runs: list[Run] = field(default_factory=list)
    failure: str | None = None

    def median(self, figure: str) -> float | None:
        values = [getattr(run, figure) for run in self.runs]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    @property
    def errors(self) -> int:
        return sum(run.non_2xx + run.socket_errors for run in self.runs)


def wrk_scenario(args: argparse.Namespace, fleet: Fleet, scenario: Scenario) -> dict[str, Any]:
    cells: dict[str, Cell] = {}
    for key in chosen_targets(args, scenario):
        cell = cells[key] = Cell(TARGETS[key])
        server = fleet.get(key)
        cell.failure = fleet.unavailable.get(key) if server is None else preflight(server, scenario)
        if cell.failure and server is not None:
            log(f"  {cell.target.label}: {cell.failure}")
    live = [(cells[key], fleet.shared[key]) for key in cells if not cells[key].failure]
    if args.warmup:
        log(f"  warm-up, {args.warmup} s each")
        for _, server in live:
            measure(args, fleet, server, scenario, args.warmup)
    for n in range(1, args.rounds + 1):
        turn = (n - 1) % max(1, len(live))  # each round starts one target later: no target
        for cell, server in live[turn:] + live[:turn]:  # always follows the same one
            run = measure(args, fleet, server, scenario, args.duration)
            cell.runs.append(run)
            log(
                f"  round {n}/{args.rounds}  {cell.target.label:<22}{run.rps:>9,.0f} req/s  "
                f"p50 {run.p50:6.2f}  p99 {run.p99:6.2f} ms  errors {cell.errors}"
            )
    rows = [["target", "req/s", "p50 ms", "p99 ms", "non-2xx", "sock err", "CPU ms/req", "PG"]]
    for cell in cells.values():
        if cell.failure:
            rows.append([cell.target.label, f"not run: {cell.failure[:70]}"])
            continue
        rows.append(
            [
                cell.target.label
                + (" *" if cell.target.kind == "prism" and scenario.prism_path else ""),
                fmt(cell.median("rps"), ",.0f"),
                fmt(cell.median("p50"), ".2f"),
                fmt(cell.median("p99"), ".2f"),
                str(sum(r.non_2xx for r in cell.runs)),
                str(sum(r.socket_errors for r in cell.runs)),
                fmt(cell.median("cpu_ms"), ".3f"),
                fmt(cell.median("pg_cpu_ms"), ".3f"),
            ]
        )
    print(render(rows))
    verdicts = [verdict(args, check, cells) for check in scenario.checks]
    for line in verdicts:
        print(f"  {line}")
    invalid = [c.target.label for c in cells.values() if c.errors]
    return {
        "status": 1 if invalid else 0,
        "invalid": invalid,
        "verdicts": verdicts,
        "targets": {
            k: {"failure": c.failure, "runs": [asdict(r) for r in c.runs]}
            | {f"{f}_median": c.median(f) for f in ("rps", "p50", "p99", "cpu_ms", "pg_cpu_ms")}
            for k, c in cells.items()
        },
    }


def verdict(args: argparse.Namespace, check: Check, cells: dict[str, Cell]) -> str:
    label = check.label + (f" at -c{args.connections}" if check.figure != "rps" else "")
    of = cells[check.of].median(check.figure) if check.of in cells else None
    over = cells[check.over].median(check.figure) if check.over in cells else None
    bound = f">= {check.at_least:g}" if check.at_least is not None else f"<= {check.at_most:g}"
    if of is None or (check.over is not None and not over):
        return f"{label}: n/a (target {bound}; not every target measured)"
    value = of / over if check.over is not None and over else of
    ok = (check.at_least is None or value >= check.at_least) and (
        check.at_most is None or value <= check.at_most
    )
    unit = "x" if check.over else ""
    return f"{label}: {value:.2f}{unit} (target {bound}{unit})  {'PASS' if ok else 'MISS'}"


def store_size(fleet: Fleet, server: Server) -> int:
    if server.target.db == "pg":
        assert fleet.pg is not None
        return int(fleet.pg.sql(f"SELECT pg_database_size('{server.db}')"))
    return sum(os.path.getsize(p) for p in (server.db, server.db + "-wal") if os.path.exists(p))


def store_scenario(args: argparse.Namespace, fleet: Fleet, scenario: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {"status": 0, "targets": {}}
    for key in chosen_targets(args, scenario):
        target = TARGETS[key]
        try:
            server = fleet.start(target, f"{key}-store")
        except (SetupError, RuntimeError, OSError, subprocess.SubprocessError) as err:
            print(f"{target.label}: not run: {str(err).splitlines()[0]}")
            continue
        if failure := preflight(server, scenario):
            print(f"{target.label}: not run: {failure}")
            continue
        seconds = args.store_seconds
        series = [(0.0, store_size(fleet, server))]
        t0 = time.monotonic()
        wrk = start_wrk(args, server, scenario, seconds)
        while (elapsed := time.monotonic() - t0) < seconds:
            time.sleep(min(args.sample, max(0.05, seconds - elapsed)))
            series.append((round(time.monotonic() - t0, 1), store_size(fleet, server)))
        run = wrk_result(wrk, seconds)
        server.stop()
        # The first third fills the WAL and the caches. Then a bounded store stays under a
        # ceiling (a WAL emptied now and then makes a saw), while unbounded history keeps
        # climbing: the last third's peak against the middle third's.
        i1, i2 = (len(series) - 1) // 3, 2 * (len(series) - 1) // 3
        middle = max(n for _, n in series[i1 : i2 + 1])
        last = max(n for _, n in series[i2 + 1 :])
        levels = last <= middle * 1.10 + 2**20
        errors = run.non_2xx + run.socket_errors
        print(f"{target.label}: {run.requests:,} calls at {run.rps:,.0f}/s, {errors} errors")
        print("  size, s: MiB  " + "  ".join(f"{t:g}: {n / 2**20:.2f}" for t, n in series))
        print(
            f"  peak {middle / 2**20:,.2f} MiB in the middle third, {last / 2**20:,.2f} MiB "
            f"in the last: " + ("levels off" if levels else "STILL GROWING")
        )
        out["targets"][key] = {"series": series, "run": asdict(run), "levels_off": levels}
        if errors:
            out["status"] = 1
    return out


MEDIA_RATIO = 1.1
"""Start to first frame through the emulator, at most this much of the bare ffmpeg push."""


def media_scenario(args: argparse.Namespace, fleet: Fleet, scenario: Scenario) -> dict[str, Any]:
    from zoomlive.emulator.media import command as media
    from zoomlive.receiver import RtmpReceiver

    server = fleet.start(TARGETS["sqlite"], "media", "ffmpeg", "--media-profile", "small")
    http = httpx.Client(base_url=server.url, timeout=30)
    auth = {"Authorization": f"Bearer {token(server)}"}
    title = fleet.workdir / "title.txt"
    title.write_text("bare ffmpeg")
    samples: dict[str, list[float]] = {"zoomlive": [], "bare ffmpeg": []}

    def status(action: str) -> None:
        answer = http.patch(f"/v2{STATUS}", json={"action": action}, headers=auth)
        if answer.status_code != 204:
            raise SetupError(f"{action}: {answer.status_code} {answer.text[:200]}")

    try:
        for n in range(1, args.media_rounds + 1):
            port = free_port()
            url, page = f"rtmp://{HOST}:{port}/live", "https://example.com/watch"
            config = {"stream_url": url, "stream_key": "key", "page_url": page}
            http.patch(f"/v2/webinars/{WEBINAR}/livestream", json=config, headers=auth)
            with RtmpReceiver(port=port, key="key") as receiver:
                t0 = time.monotonic()
                status("start")
                samples["zoomlive"].append(receiver.wait_first_frame(15).first_frame_at - t0)
                status("stop")
                receiver.wait_left(10)
            port = free_port()
            argv = media.build_command(
                media.find_ffmpeg(), media.find_font(), media.PROFILES["small"],
                media.OverlayFiles(title=title, speaker=None, view=None), "bare",
                f"rtmp://{HOST}:{port}/live/key",
            )  # fmt: skip
            with RtmpReceiver(port=port, key="key") as receiver:
                t0 = time.monotonic()
                push = popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    samples["bare ffmpeg"].append(receiver.wait_first_frame(15).first_frame_at - t0)
                finally:
                    push.terminate()
                    push.wait()
            log(f"  round {n}/{args.media_rounds}: " + ", ".join(
                f"{k} {v[-1]:.3f} s" for k, v in samples.items()))  # fmt: skip
    finally:
        http.close()
        server.stop()
    rows = [["first video frame after", "median s", "min s", "max s"]]
    for what, values in samples.items():
        rows.append([what, *(f"{f(values):.3f}" for f in (statistics.median, min, max))])
    print(render(rows))
    zl, bare = (statistics.median(v) for v in samples.values())
    verdict = "PASS" if zl / bare <= MEDIA_RATIO else "MISS"
    print(
        f"  zoomlive / bare ffmpeg: {zl / bare:.2f}x ({args.media_rounds} rounds; "
        f"target <= {MEDIA_RATIO}x)  {verdict}"
    )
    return {"status": 0, "samples_s": samples, "ratio": zl / bare, "verdict": verdict}


RUNNERS = {"wrk": wrk_scenario, "store": store_scenario, "media": media_scenario}


# Output ---------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(rows: list[list[str]]) -> str:
    width = max(len(r) for r in rows)
    widths = [max(len(r[i]) for r in rows if i < len(r) and len(r) == width) for i in range(width)]
    lines = []
    for n, row in enumerate(rows):
        if len(row) < width:  # a note across the figures
            lines.append(f"{row[0].ljust(widths[0])}  {' '.join(row[1:])}")
            continue
        cells = [c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    model = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    wrk = subprocess.run([args.wrk, "-v"], capture_output=True, text=True, check=False)
    commit = git("rev-parse", "--short", "HEAD")
    try:
        base = git("rev-parse", "--short", args.baseline + "^{commit}")
    except SetupError:
        base = "not found"
    dirty = subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--", "src"])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": model.group(1) if model else "?",
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
        "commit": commit + ("-dirty" if dirty.returncode else ""),
        "baseline": f"{args.baseline} ({base})",
        "wrk": (wrk.stdout or wrk.stderr).split(" [")[0].strip(),
    }


# Main -----------------------------------------------------------------------------------------

QUICK = {
    "duration": 2,
    "rounds": 1,
    "warmup": 0,
    "store_seconds": 6,
    "sample": 2,
    "media_rounds": 2,
}
FULL = {
    "duration": 5,
    "rounds": 3,
    "warmup": 2,
    "store_seconds": 60,
    "sample": 5,
    "media_rounds": 5,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add = parser.add_argument
    add("scenarios", nargs="*", metavar="SCENARIO", help=f"of {', '.join(SCENARIOS)} (all)")
    add("--quick", action="store_true", help="a smoke run: " + str(QUICK))
    add("--targets", default=",".join(TARGETS), help=f"of {','.join(TARGETS)} (all)")
    add("--baseline", help="git ref of the baseline (the merge-base with main, else 645be2a)")
    add("--duration", type=float, help="seconds per wrk run (5)")
    add("--rounds", type=int, help="interleaved rounds; the tables show medians (3)")
    add("--warmup", type=float, help="unrecorded seconds per target first (2)")
    add("--connections", type=int, default=32, help="wrk connections (32)")
    add("--threads", type=int, default=2, help="wrk threads (2)")
    add("--store-seconds", type=float, help="store: seconds of start/stop load (60)")
    add("--sample", type=float, help="store: seconds between size samples (5)")
    add("--media-rounds", type=int, help="media: starts measured, median (5)")
    add("--spec", type=Path, default=SPEC, help="the OpenAPI file Prism mocks")
    add("--wrk", default="wrk", help="the wrk executable (wrk)")
    add("--json", type=Path, help="also write every raw figure to this file")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.scenarios = args.scenarios or list(SCENARIOS)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if bad := set(args.scenarios) - set(SCENARIOS) or set(args.targets) - set(TARGETS):
        parser.error(f"unknown: {', '.join(sorted(bad))}")
    if args.rounds < 1 or args.duration <= 0 or args.media_rounds < 1 or args.sample <= 0:
        parser.error("--rounds, --duration, --sample and --media-rounds must be positive")
    if shutil.which(args.wrk) is None and {"reference", "get", "store"} & set(args.scenarios):
        parser.error(f"{args.wrk} not found: install wrk (Debian: apt-get install wrk)")
    if args.baseline is None:
        try:
            args.baseline = git("merge-base", "HEAD", "main")[:9]
        except SetupError:
            args.baseline = FALLBACK_BASELINE
    return args


def chosen_targets(args: argparse.Namespace, scenario: Scenario) -> list[str]:
    return [key for key in scenario.targets if key in args.targets]


def sweep() -> None:
    """Remove what a killed run left (its folder, the baseline's worktree)."""
    swept = False
    for path in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        pid = path.name[len(PREFIX) :].split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(path, ignore_errors=True)
            swept = True
    if swept:
        with contextlib.suppress(SetupError):
            git("worktree", "prune")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    sweep()
    env = environment(args)
    print(
        f"zoomlive bench, {env['date']}: {env['cpus']} CPUs ({env['cpu_model']}), load "
        f"{env['loadavg']}; python {env['python']}; commit {env['commit']}, baseline "
        f"{env['baseline']}; {env['wrk']} -t{args.threads} -c{args.connections}, "
        f"{args.duration:g} s x {args.rounds} rounds (median), {args.warmup:g} s warm-up"
    )
    report: dict[str, Any] = {"environment": env, "parameters": vars(args), "scenarios": {}}
    workdir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    fleet = Fleet(args, workdir)
    status = 0
    try:
        for name in args.scenarios:
            scenario = SCENARIOS[name]
            print(f"\n== {name}: {scenario.about}", flush=True)
            result = RUNNERS[scenario.kind](args, fleet, scenario)
            report["scenarios"][name] = result
            status = max(status, result["status"])
            sys.stdout.flush()
    except (SetupError, RuntimeError, OSError, httpx.HTTPError) as err:
        log(f"error: {type(err).__name__}: {err}")
        status = 2
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        fleet.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report["environment"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str) + "\n")
    if status == 1:
        log("!! some rows had non-2xx answers or socket errors: their figures time something else")
    return status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"\ninterrupted ({stop}); everything stopped", file=sys.stderr)
        sys.exit(130)
