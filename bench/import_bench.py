"""What ``import zoomlive`` costs an SDK user, beside ``import httpx, pydantic`` (its floor: the
SDK needs both) and beside importing the emulator, in one run.

Each measurement is a fresh interpreter (``python -X importtime`` would add its own overhead, so
the wall time of ``python -c "import ..."`` is taken instead, minus a bare ``python -c pass``).
Rounds are interleaved and the median is shown, with every figure as a ratio to the floor.

    python bench/import_bench.py [--rounds 15] [--json FILE]

Target (layout issue): ``import zoomlive`` at most 1.5x ``import httpx, pydantic``. The SDK's
pydantic models (catalog, wire, errors) are built on first use, so the row with a first client
shows what a program pays once it starts working.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {
    "python (nothing)": "pass",
    "import httpx, pydantic (floor)": "import httpx, pydantic",
    "import zoomlive (SDK)": "import zoomlive",
    "import zoomlive + a first ZoomClient (models built)": (
        "import zoomlive; zoomlive.ZoomClient(token='t', base_url='http://127.0.0.1:9/v2')"
    ),
    "import zoomlive.cli (the zoomlive command)": "import zoomlive.cli",
    "from zoomlive.emulator import create_app": "from zoomlive.emulator import create_app",
}


def once(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    for code in TARGETS.values():  # warm the file cache and .pyc files
        once(code)
    times: dict[str, list[float]] = {name: [] for name in TARGETS}
    for _ in range(args.rounds):
        for name, code in TARGETS.items():
            times[name].append(once(code))
    base = statistics.median(times["python (nothing)"])
    median = {name: statistics.median(t) - base for name, t in times.items()}
    floor = median["import httpx, pydantic (floor)"]
    print(f"{'import':52} {'ms (median)':>12} {'x floor':>8}")
    for name, value in median.items():
        if name == "python (nothing)":
            print(f"{name:52} {base * 1000:12.1f} {'':>8}")
            continue
        print(f"{name:52} {value * 1000:12.1f} {value / floor:8.2f}")
    if args.json:
        args.json.write_text(json.dumps({"seconds": times, "median_net": median}, indent=2))


if __name__ == "__main__":
    main()
