"""autostream tested against ``zoomlive serve``, everything a separate process as in a
deployment: the emulator (seeded with ``zoomlive seed``), and the service started with its
own command, configured only through the environment (``ZOOM_API_BASE_URL`` points the SDK at
the emulator)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.helpers import free_port, popen  # processes that die with the test run
from zoomlive.testing import Control

HERE = Path(__file__).parent
SECRET = "autostream-webhook-secret"
WEBINAR = 81234567890


def wait_for(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def zoom_url() -> Iterator[str]:
    """``zoomlive serve`` on a free port, with the example's seed instead of the demo."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "ZOOMLIVE_CHEAP_SECRETS": "1"}
    port = url.rsplit(":", 1)[1]
    args = ["--port", port, "--db", ":memory:", "--no-demo", "--media", "fake"]
    proc = popen(
        [sys.executable, "-m", "zoomlive", "serve", *args, "--webhook-time-scale", "0.001"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: httpx.get(url + "/_emulator/health").status_code == 200)
        subprocess.run(
            [sys.executable, "-m", "zoomlive", "seed", str(HERE / "seed.yaml"), "--url", url],
            check=True,
            capture_output=True,
        )
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def service(zoom_url: str) -> Iterator[str]:
    """The service as its own process, pointed at the emulator by the environment."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "ZOOM_ACCOUNT_ID": "events-co",
        "ZOOM_CLIENT_ID": "autostream-app",
        "ZOOM_CLIENT_SECRET": "autostream-app-secret",
        "ZOOM_API_BASE_URL": zoom_url + "/v2",
        "ZOOM_OAUTH_BASE_URL": zoom_url,
        "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
    }
    port = url.rsplit(":", 1)[1]
    proc = popen([sys.executable, str(HERE / "autostream.py"), "--port", port], env=env)
    try:
        wait_for(lambda: httpx.get(url + "/activity").status_code == 200)
        yield url
    finally:
        stop(proc)


def test_the_host_starts_and_ends_the_webinar(zoom_url: str, service: str) -> None:
    control = Control(zoom_url)
    try:
        subscription = control.set_webhook(
            "autostream-app", service + "/zoom/events", secret_token=SECRET
        )
        assert subscription.validated, subscription.validation_error

        control.start_session(WEBINAR)
        wait_for(lambda: control.stream_state(WEBINAR).state == "live")
        control.end_session(WEBINAR)
        wait_for(lambda: len(httpx.get(service + "/activity").json()) == 2)
        actions = [a["action"] for a in httpx.get(service + "/activity").json()]
        assert actions == ["started", "stopped"]
        assert control.stream_state(WEBINAR).state == "stopped"
    finally:
        control.close()
