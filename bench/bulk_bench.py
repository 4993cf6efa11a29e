"""Bulk live-stream starts and stops under Zoom's rate limits (issue 6).

On an emulator with Zoom's limits on and media off, N running webinars (default 1,000) get
their live streams started, then stopped, through ``zoomlive webinar livestream start|stop
--from-file`` (the SDK paces itself under the limit), once on a Pro account (Light: 30/s) and
once on Business (80/s). Beside it, in the same run, the naive way: every request at once,
retrying each 429 after its ``X-RateLimit-Reset``.

    python bench/bulk_bench.py [--webinars 1000]

Reports requests/s as a fraction of the limit, and the 429s the emulator answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import Server, get_token  # noqa: E402

LIMITS = {"pro": 30, "business": 80}


def seed(url: str, count: int) -> list[int]:
    live = {
        "stream_url": "rtmp://127.0.0.1:1935/live",
        "stream_key": "k",
        "page_url": "https://example.com/p",
    }
    doc = {
        "accounts": [
            {
                "id": "bulk",
                "plan": "business",
                "users": [{"email": "host@bulk.test"}],
                "apps": [{"client_id": "bulk-app", "client_secret": "bulk-secret"}],
                "webinars": [
                    {
                        "host": "host@bulk.test",
                        "topic": f"w{i}",
                        "status": "started",
                        "livestream": live,
                    }
                    for i in range(count)
                ],
            }
        ]
    }
    httpx.post(f"{url}/_emulator/seed", json=doc, timeout=120).raise_for_status()
    state = httpx.get(f"{url}/_emulator/state", timeout=60).json()
    return [w["id"] for w in state["webinars"] if w["account_id"] == "bulk"]


def refused(url: str) -> int:
    data = httpx.get(f"{url}/_emulator/ratelimits").json()["refused"]
    return int(sum(v for k, v in data.items() if k.startswith("bulk:")))


def cli(url: str, action: str, sheet: Path) -> float:
    env = {
        **os.environ,
        "ZOOM_ACCOUNT_ID": "bulk",
        "ZOOM_CLIENT_ID": "bulk-app",
        "ZOOM_CLIENT_SECRET": "bulk-secret",
    }
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoomlive",
            "webinar",
            "livestream",
            action,
            "--from-file",
            str(sheet),
            "--base-url",
            f"{url}/v2",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    rows = json.loads(result.stdout)
    failed = [r for r in rows if not r["ok"]]
    if failed:
        raise SystemExit(f"{len(failed)} rows failed, e.g. {failed[0]}")
    return elapsed


async def naive(url: str, token: str, ids: list[int], action: str) -> float:
    """Everything at once; on a 429, wait for X-RateLimit-Reset and try again."""
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=200)
    ) as http:

        async def one(wid: int) -> None:
            while True:
                response = await http.patch(
                    f"/v2/webinars/{wid}/livestream/status",
                    json={"action": action},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if response.status_code != 429:
                    response.raise_for_status()
                    return
                reset = int(response.headers.get("x-ratelimit-reset", "0"))
                await asyncio.sleep(max(0.05, reset - time.time()))

        await asyncio.gather(*(one(wid) for wid in ids))
    return time.monotonic() - started


def run(count: int) -> list[dict[str, Any]]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "bulk.db", "--media", "off", "--rate-limits", "zoom").start()
        try:
            ids = seed(srv.url, count)
            sheet = Path(tmp) / "ids.csv"
            sheet.write_text("id\n" + "\n".join(map(str, ids)) + "\n")
            for plan, limit in LIMITS.items():
                httpx.patch(f"{srv.url}/_emulator/accounts/bulk", json={"plan": plan})
                for action in ("start", "stop"):
                    before = refused(srv.url)
                    elapsed = cli(srv.url, action, sheet)
                    out.append(
                        {
                            "plan": plan,
                            "way": "zoomlive bulk",
                            "action": action,
                            "req_s": round(count / elapsed, 1),
                            "of_limit": round(count / elapsed / limit, 3),
                            "429s": refused(srv.url) - before,
                        }
                    )
                    time.sleep(1.1)  # a fresh one-second window between runs
                with httpx.Client(base_url=srv.url) as http:
                    token = get_token(
                        http,
                        "Basic " + __import__("base64").b64encode(b"bulk-app:bulk-secret").decode(),
                        "bulk",
                    )
                for action in ("start", "stop"):
                    before = refused(srv.url)
                    elapsed = asyncio.run(naive(srv.url, token, ids, action))
                    out.append(
                        {
                            "plan": plan,
                            "way": "naive (all at once)",
                            "action": action,
                            "req_s": round(count / elapsed, 1),
                            "of_limit": round(count / elapsed / limit, 3),
                            "429s": refused(srv.url) - before,
                        }
                    )
                    time.sleep(1.1)
        finally:
            srv.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--webinars", type=int, default=1000)
    args = parser.parse_args()
    rows = run(args.webinars)
    print(f"{'plan':<9} {'way':<20} {'action':<6} {'req/s':>7} {'of limit':>9} {'429s':>6}")
    for r in rows:
        print(
            f"{r['plan']:<9} {r['way']:<20} {r['action']:<6} {r['req_s']:>7} "
            f"{r['of_limit']:>9.1%} {r['429s']:>6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
