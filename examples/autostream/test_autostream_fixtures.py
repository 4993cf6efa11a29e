"""autostream tested with zoomlive's pytest fixtures: the emulator (``zoom_emulator``, seeded
from seed.yaml by the marker) sends real, signed webhooks to the service, which listens on a
127.0.0.1 port and calls the emulator back through ``async_zoom_client``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from autostream import create_app

from zoomlive import AsyncZoomClient
from zoomlive.testing import ZoomEmulator

pytestmark = pytest.mark.zoomlive(seed="seed.yaml")

SECRET = "autostream-webhook-secret"
WEBINAR = 81234567890


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a free 127.0.0.1 port, in a thread, until the block ends; its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the service did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def wait_for(check: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return result


def activity(service: str) -> list[dict[str, Any]]:
    """What the service did, as it tells it."""
    records: list[dict[str, Any]] = httpx.get(service + "/activity").json()
    return records


@pytest.fixture
def service(zoom_emulator: ZoomEmulator, async_zoom_client: AsyncZoomClient) -> Iterator[str]:
    """The service, subscribed to the seed's app's webinar events (Zoom validates the URL)."""
    with serving(create_app(SECRET, zoom=async_zoom_client)) as url:
        subscription = zoom_emulator.control.set_webhook(
            zoom_emulator.credentials.client_id,
            url + "/zoom/events",
            secret_token=SECRET,
            events=["webinar.started", "webinar.ended"],
        )
        assert subscription.validated, subscription.validation_error
        yield url


def test_the_host_starts_and_ends_the_webinar(zoom_emulator: ZoomEmulator, service: str) -> None:
    control = zoom_emulator.control
    control.start_session(WEBINAR)  # webinar.started goes to the service, which starts the stream
    live = wait_for(lambda: control.stream_state(WEBINAR).state == "live")
    assert live
    assert control.stream_state(WEBINAR).settings["display_name"] == "Quarterly all-hands"

    control.end_session(WEBINAR)  # webinar.ended: the service stops it (Zoom did too)
    wait_for(lambda: len(activity(service)) == 2)
    assert [a["action"] for a in activity(service)] == ["started", "stopped"]
    assert control.stream_state(WEBINAR).state == "stopped"
    deliveries = control.webhook_deliveries()
    assert sorted(d.event for d in deliveries) == ["webinar.ended", "webinar.started"]
    assert {d.status for d in deliveries} == {"delivered"}


def test_a_webinar_without_a_configured_stream(zoom_emulator: ZoomEmulator, service: str) -> None:
    control = zoom_emulator.control
    other = control.create_webinar("events-co", "host@events.test", topic="No stream here")
    control.start_session(other.id)
    [record] = wait_for(lambda: activity(service))
    assert record["action"] == "refused"
    assert record["error"]["code"] == 3000  # Zoom: not configured with a custom streaming service
    assert control.stream_state(other.id).state == "stopped"
