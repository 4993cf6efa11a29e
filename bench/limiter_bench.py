"""What the rate limiter costs (issue 5): the live-stream status call with limits off, on with
counters in process, and on with counters in Redis, in the same run, interleaved rounds, medians.

The limits are on with numbers no load here reaches, so the limiter does all its work (two
counters per request, headers) and never answers 429.

    python bench/limiter_bench.py [--duration 5] [--rounds 3] [--connections 32]

Needs wrk and redis-server (the script starts a private Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_bench import (
    STATUS_BODY,
    STATUS_SUFFIX,
    Options,
    Target,
    create_webinar,
    free_port,
    get_token,
    preflight,
    run_wrk,
    start_server,
    stop_server,
    wait_ready,
)

TARGET = Target("status", "emulator", "PATCH", 204, suffix=STATUS_SUFFIX, payload=STATUS_BODY)


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    options = Options(args.duration, args.connections, args.threads, 10, "wrk", None)
    variants = ("off", "memory", "redis")
    results: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        redis, redis_url = start_redis(workdir)
        servers = {}
        try:
            for variant in variants:
                extra = ["--limits", variant, "--redis-url", redis_url]
                servers[variant] = start_server(
                    "emulator", workdir, str(workdir / f"{variant}.db"), None, extra, variant
                )
            for server in servers.values():
                wait_ready(server, "/_emulator/health")
            urls, tokens = {}, {}
            for variant, server in servers.items():
                tokens[variant] = get_token(server)
                webinar = create_webinar(server, tokens[variant])
                urls[variant] = f"{server.base_url}/v2/webinars/{webinar}{STATUS_SUFFIX}"
                preflight(urls[variant], TARGET, tokens[variant])
                run_wrk(options, urls[variant], TARGET, tokens[variant], 2)  # warm-up
            for n in range(1, args.rounds + 1):
                for variant in variants:
                    run = run_wrk(options, urls[variant], TARGET, tokens[variant], args.duration)
                    if run.status_errors or run.socket_errors:
                        raise SystemExit(f"{variant}: {run.status_errors} non-2xx responses")
                    results[variant].append((run.rps, run.percentile_ms("99")))
                    print(
                        f"  round {n} {variant:<7} {run.rps:8,.0f} req/s  "
                        f"p99 {run.percentile_ms('99'):6.2f} ms",
                        file=sys.stderr,
                    )
        finally:
            for server in servers.values():
                stop_server(server)
            redis.terminate()
            redis.wait()
    base = statistics.median(r for r, _ in results["off"])
    print(f"{'limits':<20} {'req/s':>8} {'p99 ms':>8} {'vs off':>8}")
    for variant, label in zip(variants, ("off", "on, in process", "on, Redis"), strict=True):
        rps = statistics.median(r for r, _ in results[variant])
        p99 = statistics.median(p for _, p in results[variant])
        print(f"{label:<20} {rps:8,.0f} {p99:8.2f} {100 * (rps / base - 1):+7.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
