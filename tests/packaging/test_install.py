"""The lowest versions pyproject.toml declares, installed and run: a fresh venv gets zoomlive
with every extra but ``test`` by ``uv pip install --resolution lowest-direct`` (each direct
dependency at its lower bound, what they pull in at its newest), then the SDK runs against an
in-process emulator, ``zoomlive serve`` answers OAuth and the reference call and streams to
``zoomlive receive``, and a two-worker ``zoomlive serve`` runs on PostgreSQL and Redis.

A lower bound that installs another version (yanked, no wheel for this Python) or fails here is
wrong: raise it to the lowest version that passes. Wheels are cached in .cache/uv, so a rerun
takes seconds; only an unreachable package index skips these tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import DEMO_BASIC, DEMO_WEBINAR, Server, get_token
from tests.support.helpers import free_port, popen

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = ["emulator", "media", "postgres", "redis"]
INSTALL_TIMEOUT_S = 300
STATUS = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"


def lowest_requirements() -> list[Requirement]:
    """Every direct dependency of the SDK and of the user-facing extras, for this platform."""
    raw = PROJECT["dependencies"] + [d for e in EXTRAS for d in PROJECT["optional-dependencies"][e]]
    reqs = [Requirement(r) for r in raw]
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def lower_bound(req: Requirement) -> Version:
    [spec] = [s for s in req.specifier if s.operator == ">="]
    return Version(spec.version)


def index_reachable() -> str | None:
    """None when the package index answers; else why not."""
    index = os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL")
    url = (index or "https://pypi.org/simple").rstrip("/") + "/uv/"
    try:
        httpx.get(url, timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        return f"{url}: {exc}"
    return None


class Lowest:
    """The venv with the lowest declared versions."""

    def __init__(self, venv: Path) -> None:
        self.venv = venv
        self.python = str(venv / "bin" / "python")
        # The installed wheel, not this checkout's sources (PYTHONPATH points there in tests).
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.env["PATH"] = f"{venv / 'bin'}:{self.env.get('PATH', '')}"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, *args], capture_output=True, text=True, env=self.env, timeout=timeout
        )

    def server(self, db: str | Path, *extra: str) -> Server:
        srv = Server(db, *extra)
        srv.args[0] = self.python
        srv.env = {**self.env, "ZOOMLIVE_CHEAP_SECRETS": "1"}
        return srv


@pytest.fixture(scope="module")
def lowest(tmp_path_factory: pytest.TempPathFactory) -> Lowest:
    try:
        from uv import find_uv_bin
    except ImportError:
        pytest.fail("uv is missing: scripts/bootstrap test installs it (the test extra)")
    why = index_reachable()
    if why is not None:
        pytest.skip(f"package index unreachable, cannot install the lowest versions ({why})")
    uv = find_uv_bin()
    venv = tmp_path_factory.mktemp("lowest") / "venv"
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(ROOT / ".cache" / "uv"),
        "UV_LINK_MODE": "copy",  # the cache and the venv may be on different file systems
        "UV_NO_PROGRESS": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [
            uv,
            "pip",
            "install",
            "--python",
            str(venv / "bin" / "python"),
            "--resolution",
            "lowest-direct",
            "--refresh-package",  # this checkout as it is now, not a wheel built earlier
            "zoomlive",
            f"{ROOT}[{','.join(EXTRAS)}]",
        ],
    ]
    for step in steps:
        done = subprocess.run(
            step, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT_S
        )
        assert done.returncode == 0, f"{' '.join(step)}:\n{done.stdout}{done.stderr}"
    return Lowest(venv)


def test_each_dependency_installs_at_its_lower_bound(lowest: Lowest) -> None:
    reqs = lowest_requirements()
    names = [r.name for r in reqs]
    code = "import sys, importlib.metadata as m; print(*[m.version(n) for n in sys.argv[1:]])"
    installed = lowest.run("-c", code, *names).stdout.split()
    wrong = [
        f"{r.name}: declared >={lower_bound(r)}, installed {v}"
        for r, v in zip(reqs, installed, strict=True)
        if Version(v) != lower_bound(r)
    ]
    assert not wrong, f"raise these lower bounds to what installs: {wrong}"
    location = lowest.run("-c", "import zoomlive; print(zoomlive.__file__)").stdout
    assert location.startswith(str(lowest.venv)), location  # the wheel, not the checkout


SDK_SMOKE = """
import asyncio

from zoomlive import AsyncZoomClient, ZoomClient
from zoomlive.testing import mock_zoom

with mock_zoom() as zoom:
    with ZoomClient(**vars(zoom.credentials)) as client:
        client.webinars.livestream.start(68423085, display_name="lowest versions")
        assert client.webinars.get(68423085).id == 68423085
    assert zoom.control.stream_state(68423085).state == "live"

    async def stop() -> None:
        async with AsyncZoomClient(**vars(zoom.credentials)) as client:
            await client.webinars.livestream.stop(68423085)

    asyncio.run(stop())
    assert zoom.control.stream_state(68423085).state == "stopped"
print("sdk ok")
"""


def test_the_sdk_against_an_in_process_emulator(lowest: Lowest) -> None:
    done = lowest.run("-W", "error", "-c", SDK_SMOKE)  # as this suite runs
    assert done.returncode == 0 and done.stdout.strip() == "sdk ok", done.stdout + done.stderr
    cli = lowest.run("-m", "zoomlive", "webinar", "get", "--help")
    assert cli.returncode == 0 and "WEBINAR_ID" in cli.stdout, cli.stdout + cli.stderr


def reference_call(http: httpx.Client, action: str = "start") -> None:
    """The README's: a token with the demo credentials, then the status PATCH as multipart."""
    token = get_token(http, DEMO_BASIC)
    settings = '{"active_speaker_name":false,"display_name":"lowest versions"}'
    response = http.patch(
        STATUS,
        files={"action": (None, action), "settings": (None, settings)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 204, response.text


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def clean(output: str) -> None:
    assert "Traceback" not in output and "ERROR" not in output, output


@pytest.fixture
def receiver(lowest: Lowest, tmp_path: Path) -> Iterator[tuple[int, Path, subprocess.Popen[str]]]:
    port, frame = free_port(), tmp_path / "frame.png"
    args = [lowest.python, "-m", "zoomlive", "receive", "--port", str(port), "--frame", str(frame)]
    proc = popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=lowest.env)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("listening on rtmp://"), first + proc.stdout.read()
    yield port, frame, proc
    if proc.poll() is None:
        proc.terminate()
    proc.wait(10)
    proc.stdout.close()


def test_serve_answers_oauth_and_the_reference_call_and_streams(
    lowest: Lowest, tmp_path: Path, receiver: tuple[int, Path, subprocess.Popen[str]]
) -> None:
    port, frame, proc = receiver
    srv = lowest.server(tmp_path / "zoomlive.db", "--media", "ffmpeg", "--media-profile", "small")
    srv.start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            auth = {"Authorization": f"Bearer {get_token(http, DEMO_BASIC)}"}
            target = {"stream_url": f"rtmp://127.0.0.1:{port}/live", "stream_key": "lowest"}
            body = {**target, "page_url": "https://example.com/w"}
            configured = http.patch(
                f"/v2/webinars/{DEMO_WEBINAR}/livestream", json=body, headers=auth
            )
            assert configured.status_code == 204, configured.text
            reference_call(http)

            def live() -> bool:
                state = http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
                return bool(state["state"] == "live")

            wait_for(live, 20, "the stream to go live")
            wait_for(frame.is_file, 20, "zoomlive receive to save a frame")
            reference_call(http, "stop")
    finally:
        srv.stop()
    proc.terminate()
    out = proc.communicate(timeout=10)[0]
    assert "publisher connected: app=live key=lowest" in out and "frame saved" in out, out
    assert frame.read_bytes().startswith(b"\x89PNG")
    clean(srv.output)


def test_two_workers_on_postgresql_and_redis(lowest: Lowest, pg_url: str, redis_url: str) -> None:
    srv = lowest.server(pg_url, "--workers", "2", "--redis-url", redis_url, "--rate-limits", "zoom")
    srv.start(timeout=60)
    try:
        for action in ("start", "stop", "start"):  # new connections: both workers answer
            with httpx.Client(base_url=srv.url, timeout=30) as http:
                reference_call(http, action)
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            state = http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
        assert state["state"] == "live", state
    finally:
        srv.stop()
    clean(srv.output)
