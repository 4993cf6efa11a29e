"""zoomlive's pytest plugin: the fixtures as a project's tests use them (this suite has the
plugin through its entry point, like any project that installed zoomlive), and, in pytest
subprocesses, the scope option, ``-p no:zoomlive`` and a project without the emulator extra."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from tests.support.helpers import free_port
from zoomlive import AsyncZoomClient, ZoomClient
from zoomlive.testing import Credentials, MockZoom, MockZoomError, ZoomEmulator, mock_zoom

DEMO_WEBINAR = 68423085
ANOTHER_WEBINAR = 11122233344
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_zoom_emulator_is_a_running_emulator_on_loopback(zoom_emulator: ZoomEmulator) -> None:
    assert zoom_emulator.base_url == f"http://127.0.0.1:{zoom_emulator.port}/v2"
    assert zoom_emulator.oauth_base_url == f"http://127.0.0.1:{zoom_emulator.port}"
    assert zoom_emulator.credentials == Credentials(
        "demo-account", "demo-client-id", "demo-client-secret"
    )
    assert zoom_emulator.media == "fake"
    health = httpx.get(zoom_emulator.url + "/_emulator/health").json()
    assert health["status"] == "ok"


def test_zoom_client_is_bound_to_it(zoom_emulator: ZoomEmulator, zoom_client: ZoomClient) -> None:
    assert zoom_client.base_url == zoom_emulator.base_url
    zoom_client.webinars.livestream.start(DEMO_WEBINAR, display_name="Fixture")
    assert zoom_emulator.control.stream_state(DEMO_WEBINAR).state == "live"
    # Left streaming, with a new webinar: the next test must see neither.
    zoom_emulator.control.create_webinar("demo-account", "host@example.com", id=ANOTHER_WEBINAR)


def test_each_test_gets_fresh_state(zoom_emulator: ZoomEmulator) -> None:
    state = zoom_emulator.control.state()
    assert [w["id"] for w in state["webinars"]] == [DEMO_WEBINAR]
    assert zoom_emulator.control.stream_state(DEMO_WEBINAR).state == "stopped"


@pytest.mark.anyio
async def test_async_zoom_client(
    zoom_emulator: ZoomEmulator, async_zoom_client: AsyncZoomClient
) -> None:
    details = await async_zoom_client.webinars.livestream.get(DEMO_WEBINAR)
    assert details.stream_key == "demo-stream-key"
    user = await async_zoom_client.users.get("me")
    assert user.email == "host@example.com"


def test_zoom_mock_answers_zooms_own_urls(zoom_mock: MockZoom) -> None:
    with ZoomClient(**vars(zoom_mock.credentials)) as client:
        assert client.base_url == "https://api.zoom.us/v2"
        assert client.users.get("me").email == "host@example.com"
    with pytest.raises(MockZoomError, match="entered at the zoom_mock fixture of tests/"):
        mock_zoom().start()


SEED = {
    "accounts": [
        {
            "id": "marker-co",
            "users": [{"email": "host@marker.test"}],
            "apps": [{"client_id": "marker-app", "client_secret": "marker-secret"}],
        }
    ]
}


@pytest.mark.zoomlive(seed=SEED)
def test_a_seed_from_the_marker(zoom_emulator: ZoomEmulator, zoom_client: ZoomClient) -> None:
    assert zoom_emulator.credentials == Credentials("marker-co", "marker-app", "marker-secret")
    assert zoom_client.users.get("me").email == "host@marker.test"
    assert [a["id"] for a in zoom_emulator.control.state()["accounts"]] == ["marker-co"]


@pytest.mark.zoomlive(seed="../../examples/autostream/seed.yaml")
def test_a_seed_file_beside_the_test(zoom_emulator: ZoomEmulator, zoom_mock: MockZoom) -> None:
    assert zoom_mock.credentials.account_id == "events-co"
    with ZoomClient(**vars(zoom_mock.credentials)) as client:
        assert client.webinars.get(81234567890).topic == "Quarterly all-hands"


@pytest.mark.zoomlive(media="ffmpeg", media_profile="small")
def test_real_media_with_the_marker(zoom_emulator: ZoomEmulator, zoom_client: ZoomClient) -> None:
    assert zoom_emulator.media == "ffmpeg"
    live = zoom_client.webinars.livestream
    live.update(
        DEMO_WEBINAR,
        stream_url=f"rtmp://127.0.0.1:{free_port()}/live",  # nobody listens there
        stream_key="k",
        page_url="https://example.com",
    )
    live.start(DEMO_WEBINAR)
    deadline = time.monotonic() + 20
    while (state := zoom_emulator.control.stream_state(DEMO_WEBINAR)).state != "failed":
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    # Only a real ffmpeg, pushing to a closed port, fails so; fake media goes live at once.
    assert "connection refused" in (state.last_error or "")


# pytest subprocesses -----------------------------------------------------------------------


def run_pytest(
    tmp_path: Path, files: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},  # summary lines are not cut short
    )


SHARED_STATE = """
    import pytest

    def webinars(emulator):
        return sorted(w["id"] for w in emulator.control.state()["webinars"])

    def test_first(zoom_emulator):
        zoom_emulator.control.create_webinar("demo-account", "host@example.com", id=11111111111)
        assert webinars(zoom_emulator) == [68423085, 11111111111]

    def test_second_sees_it(zoom_emulator):
        assert webinars(zoom_emulator) == [68423085, 11111111111]

    @pytest.mark.zoomlive(scope="function")
    def test_the_marker_wins(zoom_emulator):
        assert webinars(zoom_emulator) == [68423085]
"""


def test_the_scope_option_shares_state_within_a_module(tmp_path: Path) -> None:
    files = {
        "test_a.py": SHARED_STATE,
        "test_b.py": """
            import pytest

            def test_a_new_module_starts_fresh(zoom_emulator):
                assert [w["id"] for w in zoom_emulator.control.state()["webinars"]] == [68423085]

            @pytest.mark.zoomlive(medium="ffmpeg")
            def test_a_wrong_marker_is_a_usage_error(zoom_emulator):
                pass
        """,
    }
    result = run_pytest(tmp_path, files, "--zoomlive-scope=module")
    assert "4 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "zoomlive marker takes only media, media_profile" in result.stdout


USES_THE_FIXTURE = """
    def test_plain():
        assert True

    def test_with_the_emulator(zoom_emulator):
        assert zoom_emulator.base_url
"""


def test_without_the_emulator_extra_only_the_fixtures_fail_in_one_line(tmp_path: Path) -> None:
    files = {
        # As if only `pip install zoomlive` had run: the emulator's dependencies are missing.
        "conftest.py": "import sys\nsys.modules['uvicorn'] = sys.modules['starlette'] = None\n",
        "test_x.py": USES_THE_FIXTURE,
    }
    result = run_pytest(tmp_path, files, "-rE")
    assert "1 passed, 1 error" in result.stdout, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "ERROR at setup" in line)
    end = next(i for i, line in enumerate(lines) if "short test summary" in line)
    # The error is that one line: no traceback, no chained import error.
    assert lines[start + 1 : end] == [
        "zoomlive.testing needs the emulator: pip install 'zoomlive[emulator]' (missing: uvicorn)"
    ]


def test_p_no_zoomlive_turns_the_plugin_off(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, {"test_x.py": USES_THE_FIXTURE}, "-p", "no:zoomlive")
    assert "1 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "fixture 'zoom_emulator' not found" in result.stdout


# docs/testing.md ---------------------------------------------------------------------------

DOC = ROOT / "docs" / "testing.md"


def test_the_docs_examples_pass(tmp_path: Path) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 5
    files = {f"test_doc_{i}.py": block for i, block in enumerate(blocks)}
    # As in this repository's own settings: Starlette's test client still runs on httpx.
    result = run_pytest(tmp_path, files, "-W", "ignore:Using `httpx` with `starlette.testclient`")
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(block.count("\ndef test_") + block.startswith("def test_") for block in blocks)
    assert f"{count} passed" in result.stdout


def test_the_docs_list_the_operations_of_the_catalog() -> None:
    from zoomlive.api.catalog import OPERATIONS

    text = DOC.read_text()
    lines = text.split("<!-- operations: generated from the catalog", 1)[1].splitlines()[3:]
    rows = list(itertools.takewhile(lambda line: line.startswith("| "), lines))
    expected = [
        f"| {op.method} | `{op.full_path}` | `{op.operation_id}` | {op.summary} |"
        for op in OPERATIONS
    ]
    assert rows == expected, "docs/testing.md's operations table is stale"
