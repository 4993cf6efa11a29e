"""The extras: every ``zoomlive[...]`` the code, the README, the docs and the scripts name exists
in pyproject.toml; the dependencies are declared exactly as imported; and a command or the
emulator missing an optional dependency says, in one line, which extra installs it."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from zoomlive._extras import EXTRAS, MissingExtra

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
OPTIONAL: dict[str, list[str]] = PROJECT["optional-dependencies"]

# Imported only where they are the caller's own: pytest (the plugin runs under it), requests,
# urllib3 and aiohttp (zoomlive.testing answers their calls when the caller has them).
CALLERS_OWN = {"pytest", "_pytest", "requests", "urllib3", "aiohttp"}
# Declared but imported by uvicorn, not by zoomlive: its fast event loop and HTTP parser.
USED_THROUGH_UVICORN = {"uvloop", "httptools"}
# Parts of pydantic that pydantic itself requires (pydantic-core at the exact version it was
# built with, annotated-types for its constraints): declaring pydantic declares them.
PART_OF_PYDANTIC = {"pydantic_core", "annotated_types"}


def dist_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def declared(*groups: str) -> set[str]:
    out: set[str] = set()
    for group in groups:
        deps = PROJECT["dependencies"] if group == "" else OPTIONAL[group]
        out |= {dist_name(d) for d in deps if dist_name(d) != "zoomlive"}
    return out


USER_EXTRAS = [name for name in OPTIONAL if name not in ("all", "test")]


def named_extras() -> list[tuple[str, str]]:
    """(file, extra) for every ``zoomlive[a,b]`` (and ``scripts/bootstrap a,b``) written."""
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in ("src", "docs", "scripts"):
        files += [
            p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
    found = []
    for path in files:
        text = path.read_text(errors="replace")
        lists = re.findall(r"zoomlive\[([\w,\- ]*)\]", text)
        lists += re.findall(r"scripts/bootstrap ([a-z][a-z,]*)", text)
        for extras in lists:
            found += [(str(path.relative_to(ROOT)), e.strip()) for e in extras.split(",")]
    return found


def test_every_extra_named_anywhere_exists() -> None:
    found = named_extras()
    assert len(found) > 10
    unknown = [(file, extra) for file, extra in found if extra not in OPTIONAL]
    assert not unknown, f"extras named but not in pyproject.toml: {unknown}"


def test_the_extras_are_the_documented_set() -> None:
    assert set(OPTIONAL) == {"emulator", "media", "postgres", "redis", "all", "test"}
    assert OPTIONAL["all"] == [f"zoomlive[{','.join(USER_EXTRAS)}]"]
    assert "zoomlive[all]" in OPTIONAL["test"]
    # One FFmpeg: PyAV's in media; the pusher is the system binary, no wheel bundling another.
    everything = declared("", *USER_EXTRAS)
    assert "imageio-ffmpeg" not in everything
    assert not everything & {"watchfiles", "websockets", "python-dotenv"}
    assert declared("media") == {"av", "cryptography"}
    assert declared("postgres") == {"psycopg"} and declared("redis") == {"redis"}


def test_every_lower_bound_is_a_plain_minimum() -> None:
    """What tests/packaging/test_install.py installs: each dependency at its ``>=`` version."""
    for requirement in PROJECT["dependencies"] + [d for e in USER_EXTRAS for d in OPTIONAL[e]]:
        spec = requirement.split(";")[0]
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?>=[0-9][0-9.]*", spec), requirement


def _distributions(module: str) -> set[str]:
    names = importlib.metadata.packages_distributions().get(module, [])
    return {n.lower().replace("_", "-") for n in names}


def test_each_extras_modules_come_from_that_extra() -> None:
    """``zoomlive._extras`` names the modules the commands check: each is installed by the
    extra it is filed under, so a missing one names the right extra."""
    assert set(EXTRAS) == set(USER_EXTRAS)
    for extra, modules in EXTRAS.items():
        for module in modules:
            assert _distributions(module) & declared(extra), (extra, module)


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> the files of src/zoomlive that import it (not stdlib, not ours)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "src" / "zoomlive").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "zoomlive":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_is_declared_and_every_declaration_imported() -> None:
    imports = _third_party_imports()
    everything = declared("", *USER_EXTRAS)
    undeclared = {
        module: files
        for module, files in imports.items()
        if module not in CALLERS_OWN | PART_OF_PYDANTIC and not _distributions(module) & everything
    }
    assert not undeclared, f"imported but not declared: {undeclared}"
    imported = set().union(*(_distributions(m) for m in imports))
    unused = everything - imported - USED_THROUGH_UVICORN
    assert not unused, f"declared but never imported: {unused}"


RECEIVER_SIDE = ("src/zoomlive/receiver.py", "src/zoomlive/relay.py", "src/zoomlive/tls.py")
"""The receiver's modules: the media extra's, outside the emulator."""


def test_the_sdk_imports_only_its_own_dependencies() -> None:
    """Outside the emulator, the receiver and the testing kit, only the base dependencies."""
    base = declared("")
    for module, files in _third_party_imports().items():
        sdk_files = {
            f
            for f in files
            if not f.startswith(("src/zoomlive/emulator/", "src/zoomlive/testing/"))
            and f
            not in ("src/zoomlive/receiver.py", "src/zoomlive/relay.py", "src/zoomlive/tls.py")
        }
        if sdk_files:
            assert _distributions(module) & base, (module, sdk_files)


def run_blocked(blocked: list[str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``zoomlive argv`` with ``blocked`` modules made unimportable."""
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"sys.argv = ['zoomlive', *{argv!r}]\n"
        "from zoomlive.cli import main\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        (["psycopg"], ["serve", "--db", "postgresql://u@127.0.0.1:1/x"], "postgres"),
        (["redis"], ["serve", "--db", ":memory:", "--redis-url", "redis://127.0.0.1:1"], "redis"),
        (["av"], ["receive", "--port", "1"], "media"),
        (["cryptography"], ["receive", "--tls", "--port", "1"], "media"),
        (["av"], ["demo"], "media"),
        (["psycopg"], ["media-worker", "--db", "postgresql://u@127.0.0.1:1/x"], "postgres"),
        (["psycopg"], ["seed", "pyproject.toml", "--db", "postgresql://x@h/d"], "postgres"),
        (["starlette", "av"], ["demo"], "emulator,media"),
    ],
)
def test_a_command_missing_an_extra_names_it_in_one_line(
    blocked: list[str], argv: list[str], extra: str
) -> None:
    result = run_blocked(blocked, argv)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert f"pip install 'zoomlive[{extra}]'" in line, line
    assert f"(missing: {', '.join(blocked)})" in line


def test_receive_needs_only_the_media_extra() -> None:
    """The receiver is PyAV alone: without the emulator's server and store, ``receive`` starts
    (and stops here at once: its port is taken)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_blocked(
            ["starlette", "uvicorn", "sqlalchemy"], ["receive", "--port", str(port)]
        )
    assert result.returncode == 3, result.stderr
    assert "cannot listen" in result.stderr and "zoomlive[" not in result.stderr


def test_demo_without_ffmpeg_says_how_to_install_it(tmp_path: Path) -> None:
    """No extra brings the pusher: the demo says at once how to get it, not after a timeout."""
    code = "import sys; sys.argv = ['zoomlive', 'demo']; from zoomlive.cli import main; main()"
    env = {k: v for k, v in os.environ.items() if k != "ZOOMLIVE_FFMPEG"}
    env["PATH"] = str(tmp_path)  # no ffmpeg there
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("zoomlive: ffmpeg missing: ") and "apt-get install ffmpeg" in line


def test_the_store_and_the_rate_limiter_name_their_extra() -> None:
    """Library use (create_app, zoomlive.testing) says it too, with an ImportError."""
    code = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['redis'] = None\n"
        "from zoomlive._extras import MissingExtra\n"
        "from zoomlive.emulator.store import open_store\n"
        "from zoomlive.emulator.ratelimit import RedisCounters\n"
        "for make in (lambda: open_store('postgresql://u@127.0.0.1:1/x'),\n"
        "             lambda: RedisCounters('redis://127.0.0.1:1')):\n"
        "    try:\n"
        "        make()\n"
        "    except MissingExtra as exc:\n"
        "        print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    assert out == [
        "a PostgreSQL store needs the PostgreSQL driver: pip install 'zoomlive[postgres]' "
        "(missing: psycopg)",
        "--redis-url needs the Redis client: pip install 'zoomlive[redis]' (missing: redis)",
    ]
    assert issubclass(MissingExtra, ImportError)
