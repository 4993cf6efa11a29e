"""zoomlive.testing: ``mock_zoom()`` answering real clients unchanged (zoomlive's SDK, zoomus,
zoom-python-client, plain httpx and requests), its refusals, the control client and the webhook
helpers. The pytest fixtures are in test_testing_plugin.py."""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from tests.support.helpers import SECRET, LocalServer, WebhookReceiver, free_port
from zoomlive import AsyncZoomClient, ZoomClient
from zoomlive.testing import (
    ControlError,
    Credentials,
    MockZoom,
    MockZoomError,
    current_mock,
    mock_zoom,
    sign_webhook,
    url_validation,
    webhook_event,
)

DEMO_WEBINAR = 68423085
STATUS_URL = f"https://api.zoom.us/v2/webinars/{DEMO_WEBINAR}/livestream/status"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def zoom_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients use Zoom's own URLs here, whatever the environment says; and
    zoom-python-client's token, which it leaves in the environment, is removed afterwards."""
    for name in (
        "ZOOM_API_BASE_URL",
        "ZOOM_OAUTH_BASE_URL",
        "ZOOM_ACCESS_TOKEN",
        "ZOOM_ACCESS_TOKEN_EXPIRE",
    ):
        monkeypatch.setenv(name, "")  # recorded, so that teardown restores (or removes) it
        monkeypatch.delenv(name)


def token(creds: Credentials) -> str:
    """A token from Zoom's token endpoint, the way a requests user gets one."""
    response = requests.post(
        "https://zoom.us/oauth/token",
        params={"grant_type": "account_credentials", "account_id": creds.account_id},
        auth=(creds.client_id, creds.client_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    access: str = response.json()["access_token"]
    return access


def patches() -> tuple[Any, ...]:
    from requests.adapters import HTTPAdapter

    return (
        httpx.HTTPTransport.__dict__["handle_request"],
        httpx.AsyncHTTPTransport.__dict__["handle_async_request"],
        HTTPAdapter.__dict__["send"],
        socket.getaddrinfo,
    )


# real clients, unchanged -------------------------------------------------------------------


def test_the_sdk_with_no_base_url_is_answered_by_the_emulator(zoom: MockZoom) -> None:
    creds = vars(zoom.credentials)
    with ZoomClient(**creds) as client:
        assert client.base_url == "https://api.zoom.us/v2"
        live = client.webinars.livestream
        live.start(DEMO_WEBINAR, display_name="Q3 earnings", active_speaker_name=True)
        assert live.get(DEMO_WEBINAR).stream_key == "demo-stream-key"
    state = zoom.control.stream_state(DEMO_WEBINAR)
    assert state.state == "live"
    assert state.settings["display_name"] == "Q3 earnings"

    async def stop() -> None:
        async with AsyncZoomClient(**creds) as client:
            await client.webinars.livestream.stop(DEMO_WEBINAR)

    asyncio.run(stop())
    assert zoom.control.stream_state(DEMO_WEBINAR).state == "stopped"


def test_the_reference_call_with_plain_requests(zoom: MockZoom) -> None:
    bearer = {"Authorization": "Bearer " + token(zoom.credentials)}
    # As the reference page's Postman item sends it: multipart, settings as a JSON string.
    form = {
        "action": (None, "start"),
        "settings": (None, '{"active_speaker_name":false,"display_name":"reprehender"}'),
    }
    response = requests.patch(STATUS_URL, files=form, headers=bearer, timeout=10)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["x-zm-trackingid"]
    assert response.url == STATUS_URL
    assert zoom.control.stream_state(DEMO_WEBINAR).settings["display_name"] == "reprehender"
    # And Zoom's error body, through a session this time.
    with requests.Session() as session:
        bad = session.patch(STATUS_URL, json={"action": "START"}, headers=bearer, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["code"] == 300


def test_zoomus_meeting_create_and_live_stream(zoom: MockZoom) -> None:
    from zoomus import ZoomClient as Zoomus

    creds = zoom.credentials
    client = Zoomus(creds.client_id, creds.client_secret, creds.account_id)
    created = client.meeting.create(user_id="me", topic="Launch", type=2)
    assert created.status_code == 201, created.text
    meeting = created.json()["id"]
    configured = client.live_stream.update(
        meeting_id=meeting,
        stream_url="rtmp://127.0.0.1:1935/live",
        stream_key="launch-key",
        page_url="https://example.com/launch",
    )
    assert configured.status_code == 204, configured.text
    zoom.control.start_session(meeting, "meeting")  # the host starts the meeting
    started = client.live_stream.update_status(
        meeting_id=meeting,
        action="start",
        settings={"active_speaker_name": True, "display_name": "Launch"},
    )
    assert started.status_code == 204, started.text
    state = zoom.control.stream_state(meeting, "meeting")
    assert (state.state, state.stream_key) == ("live", "launch-key")
    stopped = client.live_stream.update_status(meeting_id=meeting, action="stop")
    assert stopped.status_code == 204
    assert zoom.control.stream_state(meeting, "meeting").state == "stopped"


def test_zoom_python_client_webinar_live_stream(zoom: MockZoom) -> None:
    from zoom_python_client.zoom_api_client import ZoomApiClient

    creds = zoom.credentials
    client = ZoomApiClient(creds.account_id, creds.client_id, creds.client_secret)
    live = client.webinar_livestreams
    config = {
        "stream_url": "rtmp://127.0.0.1:1935/live",
        "stream_key": "python-client-key",
        "page_url": "https://example.com/webinar",
        "resolution": "1080p",
    }
    assert live.update_livestream(str(DEMO_WEBINAR), config) is True
    assert live.get_livestream(str(DEMO_WEBINAR)) == config
    assert live.update_livestream_status(
        str(DEMO_WEBINAR), "start", {"active_speaker_name": False, "display_name": "Webinar"}
    )
    assert zoom.control.stream_state(DEMO_WEBINAR).state == "live"
    assert live.update_livestream_status(str(DEMO_WEBINAR), "stop")
    assert zoom.control.stream_state(DEMO_WEBINAR).state == "stopped"


def test_clients_created_before_the_mock_are_caught() -> None:
    sync_client = httpx.Client()
    async_client = httpx.AsyncClient()
    session = requests.Session()
    url = "https://api.zoom.us/v2/users/me"
    try:
        with mock_zoom() as zoom:
            bearer = {"Authorization": "Bearer " + token(zoom.credentials)}
            assert sync_client.get(url, headers=bearer).json()["email"] == "host@example.com"
            assert session.get(url, headers=bearer).json()["email"] == "host@example.com"

            async def fetch() -> Any:
                return (await async_client.get(url, headers=bearer)).json()

            assert asyncio.run(fetch())["email"] == "host@example.com"
    finally:
        sync_client.close()
        asyncio.run(async_client.aclose())
        session.close()


def test_the_token_answer_names_zooms_api(zoom: MockZoom) -> None:
    response = httpx.post(
        "https://zoom.us/oauth/token",
        data={"grant_type": "account_credentials", "account_id": "demo-account"},
        auth=("demo-client-id", "demo-client-secret"),
    )
    assert response.status_code == 200
    assert response.json()["api_url"] == "https://api.zoom.us"


def test_other_hosts_pass_through(zoom: MockZoom, local: LocalServer) -> None:
    assert httpx.get(local.url + "/httpx").json() == {"local": True}
    assert requests.get(local.url + "/requests", timeout=10).json() == {"local": True}

    async def fetch() -> Any:
        async with httpx.AsyncClient() as client:
            return (await client.get(local.url + "/async")).json()

    assert asyncio.run(fetch()) == {"local": True}
    with urllib.request.urlopen(local.url + "/urllib") as answer:
        assert answer.status == 200
    assert local.paths == ["/httpx", "/requests", "/async", "/urllib"]


# refusals and misuse -----------------------------------------------------------------------


def test_an_operation_zoomlive_lacks_gets_zooms_404_and_a_log_line(
    zoom: MockZoom, caplog: pytest.LogCaptureFixture
) -> None:
    bearer = {"Authorization": "Bearer " + token(zoom.credentials)}
    with caplog.at_level(logging.WARNING, logger="zoomlive.testing"):
        response = httpx.get("https://api.zoom.us/v2/users/me/nothing_here", headers=bearer)
        wrong_method = requests.delete(
            f"https://api.zoom.us/v2/webinars/{DEMO_WEBINAR}/livestream", headers=bearer
        )
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "The requested resource was not found."}
    assert wrong_method.status_code == 405
    logged = [r.getMessage() for r in caplog.records if r.name == "zoomlive.testing"]
    assert len(logged) == 2, logged
    assert "GET https://api.zoom.us/v2/users/me/nothing_here is not implemented" in logged[0]
    assert f"DELETE https://api.zoom.us/v2/webinars/{DEMO_WEBINAR}/livestream" in logged[1]


def test_zooms_hosts_outside_the_api_never_reach_the_emulators_own_paths(
    zoom: MockZoom, caplog: pytest.LogCaptureFixture
) -> None:
    # The emulator serves its control API and dashboard; Zoom's hosts have no such paths.
    for url in ("https://api.zoom.us/_emulator/state", "https://zoom.us/_emulator/reset"):
        response = httpx.post(url, json={}) if "reset" in url else httpx.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == 404
    assert zoom.control.state()["accounts"]  # the reset was not reached
    assert len([r for r in caplog.records if r.name == "zoomlive.testing"]) == 2


def test_other_zoom_hosts_are_refused_and_do_not_resolve(zoom: MockZoom) -> None:
    with pytest.raises(MockZoomError, match=r"does not stand in for marketplace\.zoom\.us"):
        httpx.get("https://marketplace.zoom.us/")
    with pytest.raises(MockZoomError, match="nothing was sent"):
        requests.get("https://us02web.zoom.us/j/123", timeout=10)
    # A client the mock does not answer for (plain http.client) cannot even find Zoom.
    with pytest.raises(socket.gaierror, match=r"mock_zoom\(\) is active"):
        http.client.HTTPSConnection("api.zoom.us", timeout=5).request("GET", "/v2/users/me")


def test_nested_mocks_are_refused_and_say_where_the_first_began() -> None:
    where = r"already active \(entered at .*test_testing\.py:\d+\)"
    with mock_zoom() as outer:
        with pytest.raises(MockZoomError, match=where), mock_zoom():
            pass  # pragma: no cover
        assert outer.active
    assert not outer.active


def test_leaving_restores_every_patch_even_after_an_error() -> None:
    before = patches()
    with pytest.raises(ZeroDivisionError), mock_zoom():
        assert patches() != before
        1 / 0  # noqa: B018
    assert patches() == before


def test_a_thread_still_calling_after_the_mock_ended_gets_an_error(local: LocalServer) -> None:
    before = patches()
    go_on = threading.Event()
    called = threading.Event()
    outcome: dict[str, Any] = {}

    def worker() -> None:
        with httpx.Client() as client:
            outcome["during"] = client.get("https://api.zoom.us/v2/users/me").status_code
            called.set()
            go_on.wait(10)
            try:
                client.get("https://api.zoom.us/v2/users/me")
            except MockZoomError as exc:
                outcome["after"] = exc
            outcome["local"] = client.get(local.url + "/after").status_code

    thread = threading.Thread(target=worker, name="poller", daemon=True)
    with mock_zoom():
        thread.start()
        assert called.wait(10)
    go_on.set()
    thread.join(10)
    assert outcome["during"] == 401  # answered by the emulator: no token given
    assert "thread 'poller' calls Zoom after mock_zoom() ended" in str(outcome["after"])
    assert outcome["local"] == 200  # other hosts still pass
    httpx.get(local.url + "/any")  # the next call sees the thread gone: the patches come off
    assert patches() == before


def test_a_thread_started_during_the_mock_is_refused_after_it(local: LocalServer) -> None:
    go_on = threading.Event()
    outcome: list[BaseException] = []

    def late() -> None:
        go_on.wait(10)
        try:
            requests.get("https://api.zoom.us/v2/users/me", timeout=10)
        except MockZoomError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=late, name="late-poller", daemon=True)
    with mock_zoom():
        thread.start()
    go_on.set()
    thread.join(10)
    assert len(outcome) == 1 and "late-poller" in str(outcome[0])
    httpx.get(local.url + "/any")


# lifecycle ---------------------------------------------------------------------------------


def test_each_use_starts_from_fresh_state() -> None:
    with mock_zoom() as first:
        first.control.create_webinar("demo-account", "host@example.com", id=11122233344)
        assert len(first.control.state()["webinars"]) == 2
    with mock_zoom() as second:
        assert [w["id"] for w in second.control.state()["webinars"]] == [DEMO_WEBINAR]


def test_a_seed_replaces_the_demo(tmp_path: Path) -> None:
    seed = {
        "accounts": [
            {
                "id": "acme",
                "users": [{"email": "host@acme.test"}],
                "apps": [{"client_id": "acme-app", "client_secret": "acme-secret"}],
            }
        ]
    }
    with mock_zoom(seed) as zoom:
        assert zoom.credentials == Credentials("acme", "acme-app", "acme-secret")
        with ZoomClient(**vars(zoom.credentials)) as client:
            assert client.users.get("me").email == "host@acme.test"
        demo = httpx.post(
            "https://zoom.us/oauth/token",
            params={"grant_type": "account_credentials", "account_id": "demo-account"},
            auth=("demo-client-id", "demo-client-secret"),
        )
        assert demo.status_code == 401  # no demo app any more
    path = tmp_path / "seed.yaml"
    path.write_text("accounts:\n  - id: yaml-co\n    apps: [{client_id: yaml-app}]\n")
    with mock_zoom(seed=path) as zoom:
        assert zoom.credentials.account_id == "yaml-co"
        assert zoom.credentials.client_secret  # generated, and shown once


def test_as_a_decorator_of_functions_and_coroutine_functions() -> None:
    @mock_zoom()
    def sync_call() -> str:
        with ZoomClient(**vars(current_mock().credentials)) as client:
            return str(client.users.get("me").email)

    @mock_zoom
    async def async_call() -> int:
        assert current_mock().active
        async with AsyncZoomClient(**vars(current_mock().credentials)) as client:
            return int((await client.webinars.get(DEMO_WEBINAR)).id)

    assert sync_call() == "host@example.com"
    assert asyncio.run(async_call()) == DEMO_WEBINAR
    with pytest.raises(MockZoomError, match="not active"):
        current_mock()


@pytest.mark.anyio
async def test_async_with() -> None:
    async with mock_zoom() as zoom:
        async with httpx.AsyncClient() as client:
            response = await client.get("https://api.zoom.us/v2/users/me")
        assert response.status_code == 401
        assert response.json()["code"] == 124
        assert zoom.active


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_a_dropped_connection_is_a_connection_error_for_each_client(zoom: MockZoom) -> None:
    zoom.control.set_fault("drop", operation="user")
    url = "https://api.zoom.us/v2/users/me"
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=10)


# the control client ------------------------------------------------------------------------


def test_the_control_client(zoom: MockZoom) -> None:
    control = zoom.control
    account = control.create_account(
        "acme", apps=[{"client_id": "acme-app", "client_secret": "acme-secret"}]
    )
    assert account.credentials == [Credentials("acme", "acme-app", "acme-secret")]
    user = control.create_user("acme", "host@acme.test", first_name="Ada")
    assert (user.email, user.account_id) == ("host@acme.test", "acme")
    webinar = control.create_webinar(
        "acme",
        user.email,
        topic="Launch",
        livestream={
            "stream_url": "rtmp://127.0.0.1:1935/live",
            "stream_key": "k",
            "page_url": "https://acme.test",
        },
    )
    assert (webinar.kind, webinar.status, webinar.topic) == ("webinar", "waiting", "Launch")
    meeting = control.create_meeting("acme", user.id, type=2)
    assert meeting.kind == "meeting"
    assert control.start_session(webinar.id).status == "started"
    with ZoomClient(account_id="acme", client_id="acme-app", client_secret="acme-secret") as sdk:
        sdk.webinars.livestream.start(webinar.id, display_name="Launch")
        assert control.stream_state(webinar.id).state == "live"
        control.switch_speaker(webinar.id, "Ada")  # fake media keeps the name, no picture
        assert control.stream_state(webinar.id).media == {"active_speaker": "Ada"}
        assert control.end_session(webinar.id).status == "ended"
        assert control.stream_state(webinar.id).state == "stopped"
        with pytest.raises(ControlError, match="409"):  # nothing is streaming now
            control.switch_speaker(webinar.id, "Bo")
        with pytest.raises(ControlError, match="is not running"):
            control.end_session(webinar.id)

    bearer = {"Authorization": "Bearer " + token(account.credentials[0])}
    assert control.set_fault(operation="user", status=503, count=1)
    assert httpx.get("https://api.zoom.us/v2/users/me", headers=bearer).status_code == 503
    control.set_fault(operation="user", status=500)
    control.clear_faults()
    assert httpx.get("https://api.zoom.us/v2/users/me", headers=bearer).status_code == 200
    # Tokens live 3599 s on the emulator's clock.
    control.advance_clock(3600)
    expired = httpx.get("https://api.zoom.us/v2/users/me", headers=bearer)
    assert expired.json() == {"code": 124, "message": "Access token is expired."}


def test_webhooks_through_the_control_client(zoom: MockZoom) -> None:
    receiver = WebhookReceiver(SECRET)
    try:
        subscription = zoom.control.set_webhook(
            "demo-client-id", receiver.url, secret_token=SECRET, events=["webinar.ended"]
        )
        assert subscription.validated, subscription.validation_error
        zoom.control.end_session(DEMO_WEBINAR)
        receiver.wait_for("webinar.ended")
        [delivery] = [d for d in zoom.control.webhook_deliveries() if d.event == "webinar.ended"]
        assert delivery.status == "delivered"
        assert delivery.body["payload"]["object"]["id"] == str(DEMO_WEBINAR)  # Zoom: a string
        # The helper signs exactly as the emulator's deliveries are signed.
        [attempt] = delivery.attempts
        stamp = int(attempt["x-zm-request-timestamp"])
        signed = sign_webhook(delivery.raw_body, SECRET, timestamp=stamp)
        assert signed.headers["x-zm-signature"] == attempt["x-zm-signature"]
    finally:
        receiver.close()
    zoom.control.reset(demo=False)
    assert zoom.control.state()["accounts"] == []


# webhook helpers ---------------------------------------------------------------------------


def test_signed_webhooks_pass_an_independent_check_and_tampering_fails_it() -> None:
    receiver = WebhookReceiver(SECRET)  # checks signatures with its own HMAC code
    try:
        event = webhook_event("webinar.started", {"id": DEMO_WEBINAR, "topic": "Q3"})
        signed = sign_webhook(event, SECRET)
        assert signed.event == event
        assert signed.headers["x-zm-request-timestamp"].isdigit()
        assert signed.headers["x-zm-signature"].startswith("v0=")
        httpx.post(receiver.url, content=signed.body, headers=signed.headers)
        assert receiver.bad_signatures == 0
        wrong = sign_webhook(event, "another-secret")
        httpx.post(receiver.url, content=wrong.body, headers=wrong.headers)
        tampered = signed.body.replace(b"Q3", b"Q4")
        httpx.post(receiver.url, content=tampered, headers=signed.headers)
        assert receiver.bad_signatures == 2
    finally:
        receiver.close()


def test_url_validation_matches_what_a_correct_endpoint_answers() -> None:
    receiver = WebhookReceiver(SECRET)
    try:
        challenge = url_validation(SECRET, plain_token="plain-123", timestamp=1_700_000_000)
        assert challenge.request.event == {
            "payload": {"plainToken": "plain-123"},
            "event_ts": 1_700_000_000_000,
            "event": "endpoint.url_validation",
        }
        answer = httpx.post(
            receiver.url, content=challenge.request.body, headers=challenge.request.headers
        )
        assert answer.status_code == 200
        assert answer.json() == challenge.expected
        assert receiver.bad_signatures == 0
        assert url_validation("other-secret", plain_token="plain-123").expected != answer.json()
    finally:
        receiver.close()


# importing ---------------------------------------------------------------------------------


def test_the_demo_credentials_are_the_emulators() -> None:
    from zoomlive.emulator.control import seed
    from zoomlive.testing._server import DEMO

    [app] = seed.demo().accounts[0].apps
    assert Credentials(seed.DEMO_ACCOUNT_ID, str(app.client_id), str(app.client_secret)) == DEMO


def test_the_kit_is_public_and_lazy() -> None:
    import subprocess
    import sys

    import zoomlive.testing

    assert zoomlive.testing.__all__ == sorted(zoomlive.testing.__all__)
    for name in zoomlive.testing.__all__:
        assert getattr(zoomlive.testing, name) is not None
    code = (
        "import sys, zoomlive.testing, zoomlive.testing.plugin;"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    heavy = [
        m
        for m in out
        if m.startswith(("zoomlive.emulator", "zoomlive.testing._"))
        or m.split(".")[0] in ("starlette", "uvicorn", "sqlalchemy", "requests", "yaml")
    ]
    assert heavy == []


def test_real_media_pushes_end_with_the_mock() -> None:
    with mock_zoom(media="ffmpeg") as zoom:
        with ZoomClient(**vars(zoom.credentials)) as client:
            live = client.webinars.livestream
            nobody = f"rtmp://127.0.0.1:{free_port()}/live"  # not the demo's 1935: no receiver
            live.update(DEMO_WEBINAR, stream_url=nobody, stream_key="k", page_url="https://a.b")
            live.start(DEMO_WEBINAR)
        assert zoom.control.stream_state(DEMO_WEBINAR).state in ("starting", "live", "failed")
        emulator = zoom.emulator
    assert emulator.media == "ffmpeg"
    assert emulator.control.state()["accounts"] == []  # wiped: its ffmpeg stopped with it
    assert emulator.control.state()["webinars"] == []


def test_an_own_emulator_leaves_no_thread_nor_port_behind() -> None:
    from zoomlive.testing import ZoomEmulator

    with ZoomEmulator(rate_limits="off") as emulator:
        url = emulator.url
        with emulator.client() as client:
            assert client.users.get("me").email == "host@example.com"
        names = {t.name for t in threading.enumerate()}
        assert f"zoomlive-emulator-{emulator.port}" in names
    assert f"zoomlive-emulator-{url.rsplit(':', 1)[1]}" not in {
        t.name for t in threading.enumerate()
    }
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/_emulator/health")
