"""Media figures for issue 4, against real ffmpeg and real receivers on 127.0.0.1.

* ``latency``: time from the 204 of ``start`` to the receiver's first video frame (a PyAV RTMP
  listener in this process), over several rounds; median, min and max. Baseline printed beside
  it in the same run: the same receiver fed by a bare ``ffmpeg`` started by hand with the same
  arguments (process start-up plus RTMP handshake), so the emulator's own share shows.
* ``capacity``: N concurrent 320x180@15 streams pushed by one emulator to a private nginx-rtmp
  (``record off``) for D seconds; per-stream ffmpeg ``speed`` (1.00x = real time) as the median
  and the minimum over the last half of the run, and the machine's CPU use.

    python bench/media_bench.py latency --rounds 7
    python bench/media_bench.py capacity --streams 40 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import Server, free_port, get_token  # noqa: E402
from tests.rtmp_nginx import NginxRtmp  # noqa: E402

DEMO = 68423085


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def start_emulator(tmp: Path, profile: str) -> tuple[Server, httpx.Client, dict[str, str]]:
    server = Server(tmp / "bench.db", "--media", "ffmpeg", "--media-profile", profile).start()
    http = httpx.Client(base_url=server.url, timeout=60)
    return server, http, {"Authorization": f"Bearer {get_token(http)}"}


def configure(http: httpx.Client, auth: dict[str, str], wid: int, url: str, key: str) -> None:
    body = {"stream_url": url, "stream_key": key, "page_url": "https://example.com/w"}
    response = http.patch(f"/v2/webinars/{wid}/livestream", json=body, headers=auth)
    response.raise_for_status()


def status(http: httpx.Client, auth: dict[str, str], wid: int, action: str) -> None:
    response = http.patch(
        f"/v2/webinars/{wid}/livestream/status", json={"action": action}, headers=auth
    )
    if response.status_code != 204:
        raise RuntimeError(f"{action} {wid}: {response.status_code} {response.text}")


def runtime(http: httpx.Client, wid: int) -> dict[str, Any]:
    data: dict[str, Any] = http.get(f"/_emulator/webinars/{wid}/livestream").json()
    return data


def capacity(streams: int, seconds: float, profile: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        keys = [f"bench-{i}" for i in range(streams)]
        with NginxRtmp(tmp / "nginx", keys) as nginx:
            server, http, auth = start_emulator(tmp, profile)
            try:
                ids = []
                for i in range(streams):
                    made = http.post(
                        "/_emulator/accounts/demo-account/webinars",
                        json={
                            "host": "host@example.com",
                            "topic": f"bench {i}",
                            "status": "started",
                        },
                    )
                    made.raise_for_status()
                    ids.append(int(made.json()["id"]))
                    configure(http, auth, ids[-1], nginx.url, keys[i])
                busy0, total0 = cpu_times()
                t0 = time.monotonic()
                for wid in ids:
                    status(http, auth, wid, "start")
                samples: dict[int, list[float]] = {wid: [] for wid in ids}
                live_at: dict[int, float] = {}
                while time.monotonic() - t0 < seconds:
                    time.sleep(1.0)
                    elapsed = time.monotonic() - t0
                    for wid in ids:
                        now = runtime(http, wid)
                        media = now.get("media") or {}
                        if now["state"] == "live" and wid not in live_at:
                            live_at[wid] = elapsed
                        if elapsed > seconds / 2 and media.get("speed") is not None:
                            samples[wid].append(float(media["speed"]))
                busy1, total1 = cpu_times()
                states = [runtime(http, wid)["state"] for wid in ids]
                for wid in ids:
                    status(http, auth, wid, "stop")
            finally:
                http.close()
                server.stop()
    per_stream = [statistics.median(v) for v in samples.values() if v]
    worst = [min(v) for v in samples.values() if v]
    return {
        "streams": streams,
        "seconds": seconds,
        "profile": profile,
        "live": states.count("live"),
        "speed_median": round(statistics.median(per_stream), 3) if per_stream else None,
        "speed_min_of_medians": round(min(per_stream), 3) if per_stream else None,
        "speed_worst_sample": round(min(worst), 3) if worst else None,
        "cpu_percent_of_machine": round(100 * (busy1 - busy0) / (total1 - total0), 1),
        "last_live_after_s": round(max(live_at.values()), 2) if live_at else None,
    }


def bare_ffmpeg_first_frame(receiver_factory: Any, port: int) -> float:
    """Baseline: the same receiver, fed by ffmpeg started by hand (no emulator)."""
    from zoomlive.emulator.media.command import (
        PROFILES,
        OverlayFiles,
        build_command,
        find_ffmpeg,
        find_font,
    )

    with tempfile.TemporaryDirectory() as tmpdir:
        title = Path(tmpdir) / "title.txt"
        title.write_text("baseline")
        argv = build_command(
            find_ffmpeg(),
            find_font(),
            PROFILES["small"],
            OverlayFiles(title=title, speaker=None, view=None),
            "baseline",
            f"rtmp://127.0.0.1:{port}/live/key",
        )
        receiver = receiver_factory(port)
        try:
            t0 = time.monotonic()
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            session = receiver.wait_first_frame(15)
            elapsed = session.first_frame_at - t0
            proc.terminate()
            proc.wait()
        finally:
            receiver.stop()
    return float(elapsed)


def latency(rounds: int) -> dict[str, Any]:
    from zoomlive.receiver import RtmpReceiver

    def make_receiver(port: int) -> RtmpReceiver:
        receiver = RtmpReceiver(port=port, key="key")
        receiver.start()
        return receiver

    emulator: list[float] = []
    baseline: list[float] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        server, http, auth = start_emulator(Path(tmpdir), "small")
        try:
            for _ in range(rounds):
                port = free_port()
                configure(http, auth, DEMO, f"rtmp://127.0.0.1:{port}/live", "key")
                receiver = make_receiver(port)
                try:
                    status(http, auth, DEMO, "start")
                    t0 = time.monotonic()  # the 204 has arrived
                    session = receiver.wait_first_frame(15)
                    emulator.append(session.first_frame_at - t0)
                    status(http, auth, DEMO, "stop")
                    receiver.wait_left(10)
                finally:
                    receiver.stop()
                baseline.append(bare_ffmpeg_first_frame(make_receiver, free_port()))
        finally:
            http.close()
            server.stop()

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "median_s": round(statistics.median(values), 3),
            "min_s": round(min(values), 3),
            "max_s": round(max(values), 3),
        }

    return {"rounds": rounds, "emulator": summary(emulator), "bare_ffmpeg": summary(baseline)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--rounds", type=int, default=7)
    cap = sub.add_parser("capacity")
    cap.add_argument("--streams", type=int, default=40)
    cap.add_argument("--seconds", type=float, default=20.0)
    cap.add_argument("--profile", default="small")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    if args.what == "latency":
        result = latency(args.rounds)
    else:
        result = capacity(args.streams, args.seconds, args.profile)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
