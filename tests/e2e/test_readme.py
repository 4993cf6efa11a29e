"""README.md's code blocks, run in the order written against a fresh ``zoomlive serve``, as a
reader runs them right after the quick start. The rules, visible in README.md itself:

* Every fenced block runs, unless the line right before its fence is
  ``<!-- readme-test: skip (reason) -->`` (blocks that install or start things, usage synopses,
  file examples). A block that is neither runnable (``sh``, ``bash``, ``python``) nor marked
  fails the test, and so does a marker that is not right before a fence.
* ``sh`` blocks run in ``bash`` with ``set -euo pipefail``, each in its own process (as in its own
  terminal), from the repository root, with the running interpreter's ``bin`` (``.venv/bin``)
  on ``PATH`` and no ``ZOOM_*`` / ``ZOOMLIVE_*`` variables from the test's environment. A block
  that calls ``zoomlive`` must first put ``.venv/bin`` on ``PATH`` (or activate it), or write
  ``.venv/bin/zoomlive``, in the README, since a reader's shell does not have it.
* ``python`` blocks run in a fresh interpreter (the venv's, as the README says to).
* Output written in the README is checked: a comment line ``# HTTP/1.1 204 No Content`` in a
  shell block, and a comment after a ``print(...)`` in a Python block, must appear in the
  block's output.
* The README says ``127.0.0.1:8080``; the emulator here binds a free port, substituted in
  :func:`localize` and nowhere else.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server
from tests.support.helpers import popen

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_ADDRESS = "127.0.0.1:8080"
BLOCK_TIMEOUT_S = 120.0

SHELL = ("sh", "bash")
PYTHON = ("python",)
FENCE_OPEN = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)\s*$")
FENCE_CLOSE = re.compile(r"^ *```\s*$")
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<rest>.*?)\s*-->\s*$")
SKIP = re.compile(r"^skip \((?P<reason>.+)\)$")
SHELL_OUTPUT = re.compile(r"^\s*# (?P<out>HTTP/\d(?:\.\d)? \d{3}.*?)\s*$")
PYTHON_OUTPUT = re.compile(r"\bprint\(.*\)\s*#\s*(?P<out>.+?)\s*$")
ON_PATH = re.compile(r"(export PATH=.*\.venv/bin|^\s*(\.|source) \.?/?\.venv/bin/activate)")
CALLS_ZOOMLIVE = re.compile(r"(^|[;&|(]\s*|\$\()\s*zoomlive\b")


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    skip: str | None  # the reason, when marked

    @property
    def kind(self) -> str | None:
        if self.lang in SHELL:
            return "shell"
        if self.lang in PYTHON:
            return "python"
        return None

    def expected_output(self) -> list[str]:
        pattern = SHELL_OUTPUT if self.kind == "shell" else PYTHON_OUTPUT
        return [m["out"] for line in self.text.splitlines() if (m := pattern.search(line))]

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.lang or 'no language'})"


def parse(text: str) -> tuple[list[Block], list[str]]:
    """The fenced blocks in order, and the rule violations (unmarked unrunnable blocks, stray or
    malformed markers)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    pending: tuple[int, str] | None = None  # a marker waiting for its fence
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = MARKER.match(line)
        if marker:
            if pending is not None:
                problems.append(f"README.md:{pending[0]}: marker not right before a fence")
            skip = SKIP.match(marker["rest"])
            if skip is None:
                problems.append(f"README.md:{i + 1}: write <!-- readme-test: skip (reason) -->")
            pending = (i + 1, skip["reason"] if skip else "")
            i += 1
            continue
        fence = FENCE_OPEN.match(line)
        if fence is None:
            if pending is not None:
                problems.append(f"README.md:{pending[0]}: marker not right before a fence")
                pending = None
            i += 1
            continue
        indent = len(fence["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not FENCE_CLOSE.match(lines[j]):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        if j == len(lines):
            problems.append(f"README.md:{i + 1}: unclosed fence")
        block = Block(i + 1, fence["lang"], "\n".join(body) + "\n", pending[1] if pending else None)
        if block.skip is None and block.kind is None:
            problems.append(
                f"{block}: neither runnable (sh, bash, python) nor marked "
                "<!-- readme-test: skip (reason) -->"
            )
        blocks.append(block)
        pending = None
        i = j + 1
    if pending is not None:
        problems.append(f"README.md:{pending[0]}: marker not right before a fence")
    return blocks, problems


def runnable() -> list[Block]:
    blocks, _ = parse(README.read_text(encoding="utf-8"))
    return [b for b in blocks if b.skip is None and b.kind is not None]


def localize(text: str, port: int) -> str:
    """The one substitution: the README's emulator address becomes the test emulator's."""
    out = text.replace(README_ADDRESS, f"127.0.0.1:{port}")
    assert ":8080" not in out, f"an emulator address the test does not substitute:\n{out}"
    return out


def environment() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ZOOMLIVE_", "VIRTUAL_"))
    }
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["COLUMNS"] = "120"
    return env


def run(block: Block, port: int, workdir: Path) -> subprocess.CompletedProcess[str]:
    """One block in its own process group, killed with everything it started however it ends."""
    code = localize(block.text, port)
    script = workdir / f"readme-{block.line}.{'sh' if block.kind == 'shell' else 'py'}"
    if block.kind == "shell":
        script.write_text("set -euo pipefail\n" + code)
        argv = ["bash", str(script)]
    else:
        script.write_text(code)
        argv = [sys.executable, str(script)]
    proc = popen(
        argv,
        cwd=ROOT,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{block} timed out after {BLOCK_TIMEOUT_S:.0f} s\n{out}\n{err}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything the block left running
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def test_every_block_is_runnable_or_marked() -> None:
    blocks, problems = parse(README.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)
    kinds = {b.kind for b in blocks if b.skip is None}
    assert kinds == {"shell", "python"}, kinds  # the parser found what the README has
    assert all(b.skip for b in blocks if b.skip is not None), "a skip needs its reason"


def test_the_readme_puts_zoomlive_on_path_before_calling_it() -> None:
    on_path = False
    for block in runnable():
        if block.kind != "shell":
            continue
        for number, line in enumerate(block.text.splitlines(), start=block.line + 1):
            if ON_PATH.search(line):
                on_path = True
            elif CALLS_ZOOMLIVE.search(line.split("#", 1)[0]) and not on_path:
                pytest.fail(
                    f"README.md:{number} calls zoomlive before the README puts .venv/bin on "
                    "PATH: a reader's shell has no zoomlive"
                )


def test_the_parser_applies_the_rules() -> None:
    text = "\n".join(
        [
            "```sh",
            "echo run",
            "```",
            "<!-- readme-test: skip (a file) -->",
            "  ```yaml",
            "  a: 1",
            "  ```",
            "```",
            "not marked",
            "```",
            "<!-- readme-test: skip (stray) -->",
            "",
            "```python",
            "print(1)  # 1",
            "```",
        ]
    )
    blocks, problems = parse(text)
    assert [(b.line, b.lang, b.skip) for b in blocks] == [
        (1, "sh", None),
        (5, "yaml", "a file"),
        (8, "", None),
        (13, "python", None),
    ]
    assert blocks[1].text == "a: 1\n"
    assert blocks[3].expected_output() == ["1"]
    assert problems == [
        "README.md:8 (no language): neither runnable (sh, bash, python) nor marked "
        "<!-- readme-test: skip (reason) -->",
        "README.md:11: marker not right before a fence",
    ]


def test_the_example_sheet_names_cli_options() -> None:
    import typer.main

    from tests.conftest import DEMO_WEBINAR
    from zoomlive.cli import app

    group: Any = typer.main.get_command(app)
    livestream = group.commands["webinar"].commands["livestream"]
    options = {
        param.name
        for name in ("configure", "start", "stop")
        for param in livestream.commands[name].params
        if param.param_type_name == "option"
    } - {"from_file", "base_url", "token", "as_json", "help"}
    with (ROOT / "examples" / "streams.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = set(reader.fieldnames or [])
    assert "id" in columns and columns - {"id"} <= options, columns - options
    assert rows and {row["id"] for row in rows} == {str(DEMO_WEBINAR)}


def test_readme_blocks_run_in_order_against_a_fresh_emulator(tmp_path: Path) -> None:
    blocks = runnable()
    assert blocks
    srv = Server(tmp_path / "readme.db", "--media", "fake", "--rate-limits", "zoom")
    try:
        srv.start()
        for block in blocks:
            done = run(block, srv.port, tmp_path)
            report = f"{block} failed (exit {done.returncode})\n{done.stdout}\n{done.stderr}"
            assert done.returncode == 0, report
            for expected in block.expected_output():
                assert expected in done.stdout, f"{block}: no {expected!r} in its output\n{report}"
    finally:
        srv.stop()
