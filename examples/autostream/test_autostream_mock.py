"""autostream tested with ``mock_zoom()``: the service runs in process (Starlette's test
client), its SDK calls go to Zoom's own URLs and are answered by the emulator, and the webhooks
are made with zoomlive.testing's helpers, signed as Zoom signs them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from autostream import create_app
from starlette.testclient import TestClient

from zoomlive.testing import MockZoom, mock_zoom, sign_webhook, url_validation, webhook_event

SECRET = "autostream-webhook-secret"
WEBINAR = 81234567890
SEED = Path(__file__).with_name("seed.yaml")


@pytest.fixture
def zoom(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockZoom]:
    """Zoom, mocked, with the seed's account; the service finds its credentials in the
    environment, as in production, and no base URL: Zoom's own."""
    monkeypatch.delenv("ZOOM_API_BASE_URL", raising=False)
    monkeypatch.delenv("ZOOM_OAUTH_BASE_URL", raising=False)
    with mock_zoom(seed=SEED) as mock:
        for name, value in mock.credentials.as_env().items():
            monkeypatch.setenv(name, value)
        yield mock


@pytest.fixture
def service(zoom: MockZoom) -> Iterator[TestClient]:
    with TestClient(create_app(SECRET)) as client:
        yield client


def notify(service: TestClient, event: str, **signing: Any) -> Any:
    """Zoom tells the service that the seed's webinar started or ended."""
    body = webhook_event(
        event, {"id": WEBINAR, "topic": "Quarterly all-hands"}, account_id="events-co"
    )
    signed = sign_webhook(body, signing.pop("secret", SECRET), **signing)
    return service.post("/zoom/events", content=signed.body, headers=signed.headers)


def test_the_stream_starts_when_the_webinar_starts(zoom: MockZoom, service: TestClient) -> None:
    zoom.control.start_session(WEBINAR)  # the host starts the webinar in the Zoom app
    assert notify(service, "webinar.started").status_code == 200
    stream = zoom.control.stream_state(WEBINAR)
    assert stream.state == "live"
    assert stream.settings == {"display_name": "Quarterly all-hands", "active_speaker_name": True}
    assert service.get("/activity").json() == [
        {"event": "webinar.started", "webinar_id": WEBINAR, "action": "started"}
    ]


def test_the_stream_stops_when_the_webinar_ends(zoom: MockZoom, service: TestClient) -> None:
    zoom.control.start_session(WEBINAR)
    notify(service, "webinar.started")
    assert zoom.control.stream_state(WEBINAR).state == "live"
    # The event alone (the webinar itself still runs in the emulator): only the service's own
    # call can have stopped the stream.
    assert notify(service, "webinar.ended").status_code == 200
    assert zoom.control.stream_state(WEBINAR).state == "stopped"
    assert service.get("/activity").json()[-1]["action"] == "stopped"


def test_a_request_not_signed_by_zoom_changes_nothing(zoom: MockZoom, service: TestClient) -> None:
    zoom.control.start_session(WEBINAR)
    assert notify(service, "webinar.started", secret="not-the-secret").status_code == 401
    stale = int(time.time()) - 3600  # signed right, but an hour ago: a replay
    assert notify(service, "webinar.started", timestamp=stale).status_code == 401
    assert zoom.control.stream_state(WEBINAR).state == "stopped"
    assert service.get("/activity").json() == []


def test_it_answers_zooms_url_validation(service: TestClient) -> None:
    challenge = url_validation(SECRET)
    response = service.post(
        "/zoom/events", content=challenge.request.body, headers=challenge.request.headers
    )
    assert response.status_code == 200
    assert response.json() == challenge.expected


def test_zooms_refusal_is_recorded_not_raised(zoom: MockZoom, service: TestClient) -> None:
    # The event arrives, but the emulator has the webinar not running: Zoom answers 400 code 200.
    assert notify(service, "webinar.started").status_code == 200
    [record] = service.get("/activity").json()
    assert record["action"] == "refused"
    assert record["error"] == {"code": 200, "message": f"Webinar {WEBINAR} has not started."}
