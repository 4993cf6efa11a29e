"""What zoomlive's testing kit adds to a test suite, beside tests that use nothing, in one run.

1. ``mock_zoom()``: enter + exit, in this process: the first use (it starts the emulator), then
   ``--uses`` more (each resets the emulator to the demo account).
2. The pytest plugin: one pytest run (a subprocess) of ``--tests`` tests of each kind,
   interleaved: a test that uses no fixture (the baseline), one using ``zoom_emulator``, one
   using ``zoom_client``, one using ``zoom_mock``. Each test's setup + teardown time is taken
   from pytest's own reports (the test bodies are empty). The first emulator test, which starts
   the emulator, is reported apart.

    python bench/testing_bench.py [--tests 200] [--uses 200] [--json FILE]

Targets (issue 14): after the first, ``mock_zoom()`` enter + exit at most 20 ms, and a
``zoom_emulator`` test at most 30 ms more setup + teardown than a test using no fixture. The
exit status is 1 when a median is over its target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

MOCK_TARGET_MS = 20.0
FIXTURE_TARGET_MS = 30.0
KINDS = ("none", "zoom_emulator", "zoom_client", "zoom_mock")

COLLECTOR = """
import json, os

durations = {}

def pytest_runtest_logreport(report):
    if report.when in ("setup", "teardown"):
        durations[report.nodeid] = durations.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump(durations, out)
"""


def tests_module(count: int) -> str:
    lines = []
    for i in range(count):
        lines += [
            f"def test_{i:04d}_none():\n    pass\n",
            f"def test_{i:04d}_zoom_emulator(zoom_emulator):\n    pass\n",
            f"def test_{i:04d}_zoom_client(zoom_client):\n    pass\n",
            f"def test_{i:04d}_zoom_mock(zoom_mock):\n    pass\n",
        ]
    return "\n".join(lines)


def stats(values_ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return statistics.median(ordered), p95, ordered[-1]


def bench_mock(uses: int) -> dict[str, object]:
    from zoomlive.testing import mock_zoom

    started = time.perf_counter()
    with mock_zoom():
        pass
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(uses):
        started = time.perf_counter()
        with mock_zoom():
            pass
        times.append((time.perf_counter() - started) * 1000)
    return {"first_ms": first, "times_ms": times}


def bench_plugin(count: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "conftest.py").write_text(textwrap.dedent(COLLECTOR))
        (folder / "test_bench.py").write_text(tests_module(count))
        out = folder / "durations.json"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bench.py"],
            cwd=folder,
            env={**os.environ, "BENCH_OUT": str(out)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        durations: dict[str, float] = json.loads(out.read_text())
    by_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
    first: dict[str, float] = {}
    for nodeid, seconds in sorted(durations.items()):
        kind = nodeid.split("::test_", 1)[1].split("_", 1)[1]  # test_0007_zoom_mock
        if kind == "zoom_emulator" and "first" not in first:
            first["first"] = seconds * 1000  # started the emulator
            continue
        by_kind[kind].append(seconds * 1000)
    return {"wall_s": wall, "first_ms": first["first"], "by_kind_ms": by_kind}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=200, help="tests of each kind")
    parser.add_argument("--uses", type=int, default=200, help="mock_zoom() uses after the first")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("ZOOMLIVE_LOG_LEVEL", "warning")

    print(f"mock_zoom(): 1 + {args.uses} uses in this process ...", file=sys.stderr)
    mock = bench_mock(args.uses)
    print(f"pytest: {args.tests} tests of each kind, one run ...", file=sys.stderr)
    plugin = bench_plugin(args.tests)

    by_kind = plugin["by_kind_ms"]
    assert isinstance(by_kind, dict)
    base = statistics.median(by_kind["none"])
    rows = []
    for kind in KINDS:
        median, p95, worst = stats(by_kind[kind])
        rows.append(
            (
                f"test using {kind}" if kind != "none" else "test using no fixture",
                median,
                p95,
                worst,
                median - base,
            )
        )
    mock_median, mock_p95, mock_max = stats(mock["times_ms"])  # type: ignore[arg-type]

    print()
    print("| setup + teardown of a test (ms) | median | p95 | max | median over baseline |")
    print("|---|---:|---:|---:|---:|")
    for name, median, p95, worst, extra in rows:
        print(f"| {name} | {median:.2f} | {p95:.2f} | {worst:.2f} | {extra:+.2f} |")
    print(f"| first zoom_emulator test (starts the emulator) | {plugin['first_ms']:.0f} | | | |")
    print()
    print("| mock_zoom() enter + exit (ms) | median | p95 | max |")
    print("|---|---:|---:|---:|")
    print(
        f"| after the first ({args.uses} uses) | {mock_median:.2f} | {mock_p95:.2f} | "
        f"{mock_max:.2f} |"
    )
    print(f"| first use (starts the emulator) | {mock['first_ms']:.0f} | | |")
    print()
    fixture_extra = rows[1][4]
    verdicts = [
        ("zoom_emulator over baseline", fixture_extra, FIXTURE_TARGET_MS),
        ("mock_zoom() enter + exit", mock_median, MOCK_TARGET_MS),
    ]
    ok = True
    for name, value, target in verdicts:
        within = value <= target
        ok &= within
        print(f"{name}: {value:.2f} ms (target <= {target:.0f} ms): {'ok' if within else 'OVER'}")
    print(f"(the pytest run of {4 * args.tests} tests took {plugin['wall_s']:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps({"mock": mock, "plugin": plugin}, indent=1))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
