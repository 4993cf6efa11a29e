"""The benchmark harness runs: a short look at one cheap scenario prints its table, exit 0.

No timing is asserted (figures depend on the machine); only that the harness works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.tools("wrk")
def test_quick_bench_prints_a_table_of_figures(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--quick", "--duration", "2",
         "--targets", "sqlite,ceiling", "--json", str(raw), "reference"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("zoomlive SQLite", "ceiling app"):
        # label, req/s, p50, p99, non-2xx, socket errors, CPU per request, PG CPU (none)
        row = rf"^{label}\s+[\d,]+\s+\d+\.\d+\s+\d+\.\d+\s+0\s+0\s+\d+\.\d+\s+-$"
        assert re.search(row, done.stdout, re.MULTILINE), done.stdout
    assert "PG 1 worker / SQLite req/s: n/a" in done.stdout  # PG not asked for: no ratio
    assert '"rps_median"' in raw.read_text()
