"""The SDK, sync and async, against ``zoomlive serve`` over real HTTP, and the messages its errors
carry. Its request building, retry, token and pacing logic against httpx.MockTransport are in
``test_sdk_transport.py``; both files run every test for ``ZoomClient`` and ``AsyncZoomClient``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import zoomlive
from tests.conftest import DEMO_WEBINAR, Server
from tests.support.helpers import free_port
from tests.support.sdk import Both
from zoomlive._base_client import connection_message


@pytest.fixture(params=["sync", "async"])
def sdk(request: pytest.FixtureRequest, server: Server) -> Iterator[Both]:
    assert httpx.post(server.url + "/_emulator/reset", json={"demo": True}).status_code == 200
    both = Both(request.param, server.url)
    yield both
    both.close()


def test_livestream_calls_end_to_end(sdk: Both) -> None:
    ls = sdk.client.webinars.livestream
    sdk.run(
        ls.update(
            DEMO_WEBINAR,
            stream_url="rtmp://127.0.0.1:1935/live",
            stream_key="k1",
            page_url="https://example.com/w",
            resolution="1080p",
        )
    )
    details = sdk.run(ls.get(DEMO_WEBINAR))
    assert (details.stream_key, details.resolution) == ("k1", "1080p")
    assert (
        sdk.run(ls.start(DEMO_WEBINAR, display_name="From the SDK", active_speaker_name=True))
        is None
    )
    state = httpx.get(f"{sdk.client.oauth_base_url}/_emulator/webinars/{DEMO_WEBINAR}/livestream")
    assert state.json()["state"] == "live"
    assert state.json()["settings"]["display_name"] == "From the SDK"
    sdk.run(ls.stop(DEMO_WEBINAR))
    sdk.run(ls.start(DEMO_WEBINAR, display_name="As multipart", form=True))
    state = httpx.get(f"{sdk.client.oauth_base_url}/_emulator/webinars/{DEMO_WEBINAR}/livestream")
    assert state.json()["settings"]["display_name"] == "As multipart"


def test_webinars_and_meetings(sdk: Both) -> None:
    made = sdk.run(sdk.client.webinars.create(topic="SDK webinar", duration=30))
    assert made.topic == "SDK webinar" and made.host_email == "host@example.com"
    sdk.run(sdk.client.webinars.update(made.id, agenda="Agenda"))
    assert sdk.run(sdk.client.webinars.get(made.id)).agenda == "Agenda"
    for i in range(4):
        sdk.run(sdk.client.webinars.create(topic=f"more {i}"))
    listed = sdk.collect(sdk.client.webinars.list(page_size=2))
    assert len(listed) == 6 and len({w.id for w in listed}) == 6
    assert len(sdk.collect(sdk.client.iter_webinars())) == 6
    sdk.run(sdk.client.webinars.delete(made.id))
    with pytest.raises(zoomlive.NotFoundError) as caught:
        sdk.run(sdk.client.webinars.get(made.id))
    assert caught.value.code == 3001 and caught.value.tracking_id
    assert caught.value.hint is None  # the base URL ends in /v2: a 404 is Zoom's own word
    meeting = sdk.run(sdk.client.meetings.create(topic="SDK meeting"))
    assert meeting.status == "waiting"
    assert sdk.run(sdk.client.users.get()).email == "host@example.com"
    sdk.run(sdk.client.webinars.end(DEMO_WEBINAR))


def test_zoom_errors_are_typed(sdk: Both) -> None:
    with pytest.raises(zoomlive.BadRequestError) as caught:
        sdk.run(sdk.client.webinars.livestream.start(12345678901))
    err = caught.value
    assert (err.status_code, err.code) == (400, 3001)
    assert str(err) == "Zoom error 3001: Webinar does not exist: 12345678901."
    with pytest.raises(ValueError):  # validated before sending
        sdk.run(sdk.client.webinars.livestream.start(DEMO_WEBINAR, display_name="x" * 51))


def test_token_is_renewed_across_expiry(tmp_path: Any) -> None:
    srv = Server(tmp_path / "ttl.db", "--token-ttl", "61").start()
    try:
        for kind in ("sync", "async"):
            both = Both(kind, srv.url)
            try:
                assert sdk_user(both) == "host@example.com"
                first = both.client._token.token
                httpx.post(srv.url + "/_emulator/clock", json={"advance_seconds": 120})
                assert sdk_user(both) == "host@example.com"  # a 124, a new token, the retry
                assert both.client._token.token != first
            finally:
                both.close()
    finally:
        srv.stop()


def sdk_user(both: Both) -> str:
    return str(both.run(both.client.users.get()).email)


# Messages that say what to do -------------------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def fails_with(both: Both, error: type[Exception]) -> Exception:
    """The error ``users.get()`` raises, the client closed whatever happens."""
    try:
        with pytest.raises(error) as caught:
            both.run(both.client.users.get())
    finally:
        both.close()
    return caught.value


def test_connection_refused_names_the_url_tried(kind: str) -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}"
    err = fails_with(Both(kind, url, max_retries=0), zoomlive.APIConnectionError)
    assert str(err).startswith(f"could not reach the server: POST {url}/oauth/token: ")
    assert str(err).endswith(f"(is the emulator running? zoomlive serve --port {port})")
    assert isinstance(err, zoomlive.APIConnectionError)
    assert err.request is not None and str(err.request.url) == f"{url}/oauth/token"
    # With a static token the first request is the API call: its URL is the one named.
    err = fails_with(Both(kind, url, token="t", max_retries=0), zoomlive.APIConnectionError)
    assert f"could not reach the server: GET {url}/v2/users/me: " in str(err)


def unreachable_zoom(kind: str, **options: Any) -> Both:
    """A client whose transport refuses every connection: nothing leaves this machine."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    return Both.mocked(kind, refuse, max_retries=0, **options)


EMULATOR_HINT = (
    "(to use the emulator, set ZOOM_API_BASE_URL=http://127.0.0.1:8080/v2 and "
    "ZOOM_OAUTH_BASE_URL=http://127.0.0.1:8080, or pass base_url= and oauth_base_url=)"
)


def test_zooms_own_hosts_unreachable_say_how_to_use_the_emulator(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZOOM_API_BASE_URL", raising=False)
    monkeypatch.delenv("ZOOM_OAUTH_BASE_URL", raising=False)
    defaults = {"base_url": None, "oauth_base_url": None}  # Zoom's: the SDK's defaults
    err = fails_with(unreachable_zoom(kind, **defaults), zoomlive.APIConnectionError)
    assert str(err) == (
        "could not reach the server: POST https://zoom.us/oauth/token: "
        f"[Errno -2] Name or service not known {EMULATOR_HINT}"
    )
    err = fails_with(unreachable_zoom(kind, token="t", **defaults), zoomlive.APIConnectionError)
    assert str(err) == (
        "could not reach the server: GET https://api.zoom.us/v2/users/me: "
        f"[Errno -2] Name or service not known {EMULATOR_HINT}"
    )
    # The API pointed at the emulator, tokens still asked of Zoom: name the one to set.
    err = fails_with(
        unreachable_zoom(kind, base_url="http://127.0.0.1:9000/v2", oauth_base_url=None),
        zoomlive.APIConnectionError,
    )
    assert str(err).endswith(
        "(the API is http://127.0.0.1:9000/v2 but tokens are fetched from https://zoom.us: "
        "to use the emulator, set ZOOM_OAUTH_BASE_URL=http://127.0.0.1:9000 or pass "
        "oauth_base_url=)"
    )


def test_connection_message_for_timeouts_and_other_hosts() -> None:
    request = httpx.Request("PATCH", "https://zoom.example/v2/webinars/1/livestream")
    urls = {"base_url": "https://zoom.example/v2", "oauth_base_url": "https://zoom.example"}
    refused = httpx.ConnectError("refused", request=request)
    assert connection_message(refused, request, **urls) == (
        "could not reach the server: PATCH https://zoom.example/v2/webinars/1/livestream: refused"
    )
    timeout = httpx.ReadTimeout("", request=request)
    assert connection_message(timeout, request, **urls) == (
        "timed out: PATCH https://zoom.example/v2/webinars/1/livestream: ReadTimeout"
    )
    zoom = httpx.Request("POST", "https://ZOOM.US/oauth/token")
    assert connection_message(httpx.ConnectTimeout("", request=zoom), zoom, **urls).endswith(
        EMULATOR_HINT
    )


def test_a_base_url_without_v2_gets_a_hint_with_its_404(kind: str, server: Server) -> None:
    err = fails_with(Both(kind, server.url, base_url=server.url), zoomlive.NotFoundError)
    assert isinstance(err, zoomlive.NotFoundError)
    assert (err.status_code, err.code) == (404, 404)
    assert err.message == "The requested resource was not found."  # Zoom's answer, as is
    assert str(err) == (
        "Zoom error 404: The requested resource was not found. (the API base URL "
        f"{server.url} does not end in /v2, where Zoom's API is: did you mean {server.url}/v2?)"
    )
    err = fails_with(
        Both(kind, server.url, oauth_base_url=server.url + "/v2"), zoomlive.NotFoundError
    )
    assert str(err).endswith(
        f"(no token endpoint at {server.url}/v2/oauth/token: the OAuth base URL is the host "
        f"without /v2, e.g. {server.url})"
    )


def test_an_account_the_app_is_not_in_gets_a_hint(kind: str, server: Server) -> None:
    err = fails_with(Both(kind, server.url, account_id="acme"), zoomlive.BadRequestError)
    assert isinstance(err, zoomlive.BadRequestError)
    assert (err.status_code, err.code) == (400, 4735)
    assert err.message == "The owner of the token does not exist."
    assert str(err) == (
        "Zoom error 4735: The owner of the token does not exist. (wrong account id? 'acme' is "
        "not the account of the app 'demo-client-id': check ZOOM_ACCOUNT_ID or account_id=)"
    )
