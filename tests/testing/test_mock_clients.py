"""``mock_zoom()`` answers the other common Python HTTP clients too: aiohttp, urllib3 and urllib,
each as written, and a Zoom client library from PyPI built on each, unchanged: aiozoom
(aiohttp), uw-restclients-zoom (urllib3, through UW's restclients-core) and fancy-zoom (urllib).

For each: an OAuth token from Zoom's token endpoint, a webinar created, its live stream set
(PATCH, 204), read back, and seen in the emulator's state; Zoom's 404 3001 arriving as that
client's own error (or answer) with Zoom's body. Then what they do with other hosts, with Zoom
hosts the emulator does not stand in for, with dropped connections and retries, concurrently,
and after the mock: every patch off, and the next call on the real socket path (to a loopback
server that Zoom's name is made to resolve to, never the internet)."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import urllib3
from urllib3.util.retry import Retry

from tests.support.helpers import LocalServer
from zoomlive.testing import Credentials, MockZoom, MockZoomError, mock_zoom

TOKEN_URL = "https://zoom.us/oauth/token"
API = "https://api.zoom.us/v2"
NEW_WEBINAR = {
    "topic": "Launch",
    "type": 5,
    "start_time": "2031-03-04T15:00:00Z",
    "duration": 60,
    "settings": {"approval_type": 0},
}
MISSING = 99988877766
ROOT = Path(__file__).resolve().parents[2]


def stream_settings(client: str) -> dict[str, str]:
    return {
        "stream_url": "rtmp://127.0.0.1:1935/live",
        "stream_key": f"key-{client}",
        "page_url": f"https://example.com/{client}",
    }


def basic(creds: Credentials) -> str:
    return "Basic " + base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()


def token_query(creds: Credentials) -> str:
    return urllib.parse.urlencode(
        {"grant_type": "account_credentials", "account_id": creds.account_id}
    )


def assert_stream_read(body: bytes | str | dict[str, Any], client: str) -> None:
    data = body if isinstance(body, dict) else json.loads(body)
    assert {key: data[key] for key in stream_settings(client)} == stream_settings(client)


def assert_missing(body: bytes | str | dict[str, Any]) -> None:
    data = body if isinstance(body, dict) else json.loads(body)
    assert data == {"code": 3001, "message": f"Webinar does not exist: {MISSING}."}


def assert_stream_set(zoom: MockZoom, webinar_id: int, client: str) -> None:
    """The PATCH reached the emulator's store, whichever client sent it."""
    state = zoom.control.stream_state(webinar_id)
    assert (state.configured, state.stream_key) == (True, f"key-{client}")


# aiohttp -----------------------------------------------------------------------------------


async def aiohttp_token(session: aiohttp.ClientSession, creds: Credentials) -> str:
    async with session.post(
        TOKEN_URL + "?" + token_query(creds), headers={"Authorization": basic(creds)}
    ) as response:
        response.raise_for_status()
        data = await response.json()
    assert data["api_url"] == "https://api.zoom.us"
    return str(data["access_token"])


def test_aiohttp_sessions(zoom: MockZoom) -> None:
    async def chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    async def scenario(first: aiohttp.ClientSession) -> dict[str, Any]:
        bearer = {"Authorization": "Bearer " + await aiohttp_token(first, zoom.credentials)}
        async with aiohttp.ClientSession(headers=bearer, raise_for_status=True) as during:
            # a streamed (chunked) request body, sent after Expect: 100-continue
            body = json.dumps(NEW_WEBINAR).encode()
            async with during.post(
                f"{API}/users/me/webinars",
                data=chunks(body),
                headers={"content-type": "application/json"},
                expect100=True,
            ) as created:
                assert created.status == 201
                webinar = await created.json()
            path = f"{API}/webinars/{webinar['id']}/livestream"
            async with during.patch(path, json=stream_settings("aiohttp")) as patched:
                assert (patched.status, await patched.text()) == (204, "")
                assert patched.headers["x-zm-trackingid"]
            async with first.get(path, headers=bearer) as read:
                read.raise_for_status()
                streamed = b"".join([c async for c in read.content.iter_chunked(5)])
                assert read.headers["content-type"].startswith("application/json")
            # Zoom's 404: the body is readable, raise_for_status raises aiohttp's error
            async with first.get(f"{API}/webinars/{MISSING}", headers=bearer) as missing:
                assert missing.status == 404
                assert_missing(await missing.read())
                with pytest.raises(aiohttp.ClientResponseError) as raised:
                    missing.raise_for_status()
            with pytest.raises(aiohttp.ClientResponseError) as raised_by_session:
                await during.get(f"{API}/webinars/{MISSING}")
        assert raised.value.status == raised_by_session.value.status == 404
        # aiohttp.request (a session of its own, made for one call)
        async with aiohttp.request("GET", f"{API}/users/me", headers=bearer) as me:
            email = (await me.json())["email"]
        return {"webinar": webinar, "stream": json.loads(streamed), "email": email}

    connections: list[str] = []

    async def created(session: Any, context: Any, params: Any) -> None:
        connections.append("created")

    async def main() -> dict[str, Any]:
        tracing = aiohttp.TraceConfig()
        tracing.on_connection_create_end.append(created)
        async with aiohttp.ClientSession(trace_configs=[tracing]) as first:
            return await scenario(first)

    result = asyncio.run(main())
    assert_stream_read(result["stream"], "aiohttp")
    assert result["email"] == "host@example.com"
    assert result["webinar"]["topic"] == "Launch"
    assert connections == ["created"] * 3  # one per request of the traced session: no reuse
    assert_stream_set(zoom, result["webinar"]["id"], "aiohttp")


def test_an_aiohttp_session_made_before_the_mock_is_caught() -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            with mock_zoom() as zoom:
                bearer = {
                    "Authorization": "Bearer " + await aiohttp_token(session, zoom.credentials)
                }
                async with session.get(f"{API}/users/me", headers=bearer) as me:
                    assert (await me.json())["email"] == "host@example.com"

    asyncio.run(main())


def test_aiozoom_unchanged(zoom: MockZoom, monkeypatch: pytest.MonkeyPatch) -> None:
    """aiozoom: one aiohttp session per call, every answer read with ``json()``."""
    from aiozoom import Zoom
    from aiozoom.config.auth import Configuration

    async def main() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            monkeypatch.setattr(
                Configuration, "auth_token", await aiohttp_token(session, zoom.credentials)
            )
        client = Zoom()
        meeting = await client.create_meeting("me", {"topic": "aiozoom", "type": 2})
        # Zoom answers a PATCH with an empty 204, which aiozoom reads as JSON, and aiohttp
        # refuses (no JSON content type): the update is made all the same.
        with pytest.raises(aiohttp.ContentTypeError) as empty:
            await client.update_meeting(meeting["id"], {"agenda": "Updated by aiozoom"})
        assert "unexpected mimetype: " in str(empty.value)  # none: the 204 has no body
        webinar = await client.base_post_request("users/me/webinars", json=NEW_WEBINAR)
        with pytest.raises(aiohttp.ContentTypeError):
            await client.base_patch_request(
                f"webinars/{webinar['id']}/livestream", json=stream_settings("aiozoom")
            )
        return {
            "meeting": await client.get_meeting(meeting["id"]),
            "webinar": webinar,
            "stream": await client.base_get_request(f"webinars/{webinar['id']}/livestream"),
            "missing": await client.base_get_request(f"webinars/{MISSING}"),
            "meetings": await client.list_meetings("me"),
        }

    got = asyncio.run(main())
    assert got["meeting"]["agenda"] == "Updated by aiozoom"
    assert_stream_read(got["stream"], "aiozoom")
    assert_missing(got["missing"])  # aiozoom hands Zoom's error body back as the answer
    assert got["meeting"]["id"] in [m["id"] for m in got["meetings"]["meetings"]]
    assert_stream_set(zoom, got["webinar"]["id"], "aiozoom")


# urllib3 -----------------------------------------------------------------------------------


def urllib3_token(creds: Credentials) -> str:
    answer = urllib3.request(
        "POST", TOKEN_URL + "?" + token_query(creds), headers={"Authorization": basic(creds)}
    )
    assert answer.status == 200
    return str(answer.json()["access_token"])


def test_urllib3_pool_manager_connection_pool_and_request() -> None:
    pool = urllib3.HTTPSConnectionPool("api.zoom.us", 443)  # made before the mock
    with mock_zoom() as zoom:
        bearer = {"Authorization": "Bearer " + urllib3_token(zoom.credentials)}
        manager = urllib3.PoolManager(headers=bearer)
        created = manager.request("POST", f"{API}/users/me/webinars", json=NEW_WEBINAR)
        assert created.status == 201
        webinar = created.json()
        path = f"/v2/webinars/{webinar['id']}/livestream"
        patched = pool.request("PATCH", path, json=stream_settings("urllib3"), headers=bearer)
        assert (patched.status, patched.data) == (204, b"")
        read = pool.urlopen("GET", path, headers=bearer, preload_content=False)
        streamed = b"".join(read.stream(4))
        read.release_conn()
        missing = manager.request("GET", f"{API}/webinars/{MISSING}")
        assert missing.status == 404 and missing.headers["x-zm-trackingid"]
        assert_missing(missing.data)
        assert_stream_set(zoom, webinar["id"], "urllib3")
    assert_stream_read(streamed, "urllib3")
    manager.clear()
    pool.close()


def test_uw_restclients_zoom_unchanged(
    zoom: MockZoom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UW's Zoom client, on restclients-core's urllib3 pool, configured by a settings file.
    Its own authentication makes a JWT (Zoom's retired app type): the OAuth token goes in
    through restclients-core's documented hook for bearer tokens, ``_custom_headers``, in a
    DAO subclass."""
    from commonconf.backends import use_configparser_backend
    from commonconf.proxy import ConfProxy
    from restclients_core.exceptions import DataFailureException
    from uw_zoom.dao import ZOOM_DAO
    from uw_zoom.users import Users

    settings = tmp_path / "restclients.cfg"
    settings.write_text(
        "[restclients]\nRESTCLIENTS_ZOOM_DAO_CLASS = Live\n"
        "RESTCLIENTS_ZOOM_HOST = https://api.zoom.us\n"
    )
    monkeypatch.setattr(ConfProxy, "backend", None)
    use_configparser_backend(str(settings), "restclients")
    access = urllib3_token(zoom.credentials)

    class OAuthZoomDAO(ZOOM_DAO):
        def _custom_headers(self, method: str, url: str, headers: Any, body: Any) -> Any:
            return {"Authorization": f"Bearer {access}"}

    users = Users()
    users.DAO = OAuthZoomDAO()
    assert [u.email for u in users.get_users()] == ["host@example.com"]
    users.update_user_settings("me", {"feature": {"meeting_capacity": 100}})
    assert users.get_user_settings("me")["feature"]["meeting_capacity"] == 100
    with pytest.raises(DataFailureException) as raised:
        users.get_user_settings("nobody@example.com")
    assert raised.value.status == 404
    assert json.loads(raised.value.msg)["code"] == 1001  # Zoom's "User does not exist"

    as_json = {"Content-Type": "application/json"}
    created = users.DAO.postURL("/v2/users/me/webinars", dict(as_json), json.dumps(NEW_WEBINAR))
    webinar = json.loads(created.data)
    path = f"/v2/webinars/{webinar['id']}/livestream"
    patched = users.DAO.patchURL(path, dict(as_json), json.dumps(stream_settings("uw")))
    read = users.DAO.getURL(path, {})
    missing = users.DAO.getURL(f"/v2/webinars/{MISSING}", {})
    assert (created.status, patched.status, read.status) == (201, 204, 200)
    assert_stream_read(read.data, "uw")
    assert missing.status == 404
    assert_missing(missing.data)
    assert_stream_set(zoom, webinar["id"], "uw")


# urllib ------------------------------------------------------------------------------------


def urllib_token(creds: Credentials, opener: urllib.request.OpenerDirector | None = None) -> str:
    request = urllib.request.Request(
        TOKEN_URL,
        data=token_query(creds).encode(),  # a form body, as urllib sends one
        headers={"Authorization": basic(creds)},
        method="POST",
    )
    with (opener.open if opener else urllib.request.urlopen)(request) as answer:
        return str(json.loads(answer.read())["access_token"])


def test_urllib_urlopen_and_an_opener_of_its_own(zoom: MockZoom) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    bearer = {"Authorization": "Bearer " + urllib_token(zoom.credentials, opener)}
    body = json.dumps(NEW_WEBINAR).encode()
    create = urllib.request.Request(
        f"{API}/users/me/webinars",
        data=iter([body[:10], body[10:]]),  # sent chunked
        headers={**bearer, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    with urllib.request.urlopen(create) as created:
        assert created.status == 201
        webinar = json.loads(created.read())
    path = f"{API}/webinars/{webinar['id']}/livestream"
    patch = urllib.request.Request(
        path,
        data=json.dumps(stream_settings("urllib")).encode(),
        headers={**bearer, "Content-Type": "application/json"},
        method="PATCH",
    )
    with opener.open(patch) as patched:
        assert (patched.status, patched.read()) == (204, b"")
    with urllib.request.urlopen(urllib.request.Request(path, headers=bearer)) as read:
        assert read.headers["content-type"].startswith("application/json")
        assert_stream_read(read.read(), "urllib")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(urllib.request.Request(f"{API}/webinars/{MISSING}", headers=bearer))
    with raised.value:
        assert raised.value.code == 404 and raised.value.headers["x-zm-trackingid"]
        assert_missing(raised.value.read())
    assert_stream_set(zoom, webinar["id"], "urllib")


def test_fancy_zoom_unchanged(zoom: MockZoom) -> None:
    """fancy-zoom: the standard library only; its ``call`` is its one path for every
    operation, and refusals come back as its ``ConnectorError`` with Zoom's body."""
    from fancy_zoom import descriptor
    from fancy_zoom._runtime import ConnectorError, call

    live = {"credentials": {"accessToken": urllib_token(zoom.credentials)}, "mode": "live"}
    created = call(
        descriptor(),
        operation="webinar_create",
        method="POST",
        path="/users/me/webinars",
        json_body=NEW_WEBINAR,
        **live,
    )
    path = f"/webinars/{created.data['id']}/livestream"
    patched = call(
        descriptor(),
        operation="livestream_update",
        method="PATCH",
        path=path,
        json_body=stream_settings("fancy"),
        **live,
    )
    read = call(descriptor(), operation="livestream_get", method="GET", path=path, **live)
    with pytest.raises(ConnectorError) as raised:
        call(
            descriptor(),
            operation="webinar_get",
            method="GET",
            path=f"/webinars/{MISSING}",
            **live,
        )
    assert (created.status, patched.status, patched.data) == (201, 204, None)
    assert_stream_read(read.data, "fancy")
    assert raised.value.status == 404
    assert str(raised.value).startswith("zoom: webinar_get failed with 404. ")
    assert_missing(str(raised.value).split(" 404. ", 1)[1])
    assert_stream_set(zoom, created.data["id"], "fancy")


# other hosts, refusals, faults, concurrency ------------------------------------------------


def test_other_hosts_pass_through_and_other_zoom_hosts_are_refused(
    zoom: MockZoom, local: LocalServer
) -> None:
    async def with_aiohttp(url: str) -> Any:
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            return await answer.json()

    with urllib3.PoolManager() as manager:
        assert manager.request("GET", local.url + "/urllib3").json() == {"local": True}
    assert asyncio.run(with_aiohttp(local.url + "/aiohttp")) == {"local": True}
    with urllib.request.urlopen(local.url + "/urllib") as answer:
        assert json.loads(answer.read()) == {"local": True}
    assert local.paths == ["/urllib3", "/aiohttp", "/urllib"]

    refused = r"zoomlive does not stand in for marketplace\.zoom\.us.*nothing was sent"
    with pytest.raises(MockZoomError, match=refused):
        urllib3.request("GET", "https://marketplace.zoom.us/apps")
    with pytest.raises(MockZoomError, match=refused):
        asyncio.run(with_aiohttp("https://marketplace.zoom.us/apps"))
    with pytest.raises(MockZoomError, match=refused):
        urllib.request.urlopen("https://marketplace.zoom.us/apps")
    # Zoom's hosts outside the API: Zoom's 404 from the mock, never the emulator's own paths
    assert urllib3.request("POST", "https://zoom.us/_emulator/reset").status == 404
    assert zoom.control.state()["accounts"]


def test_a_dropped_connection_and_retries_as_each_client_sees_them(zoom: MockZoom) -> None:
    url = f"{API}/users/me"
    zoom.control.set_fault("drop", operation="user")

    async def with_aiohttp() -> None:
        async with aiohttp.ClientSession() as session:
            await session.get(url)

    with pytest.raises(aiohttp.ServerDisconnectedError):
        asyncio.run(with_aiohttp())
    with pytest.raises(http.client.RemoteDisconnected):
        urllib.request.urlopen(url)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        urllib3.request("GET", url, retries=False)
    # urllib3's own Retry: a GET is tried again, then given up with MaxRetryError
    with pytest.raises(urllib3.exceptions.MaxRetryError) as gave_up:
        urllib3.request("GET", url, retries=Retry(total=2, backoff_factor=0))
    assert isinstance(gave_up.value.reason, urllib3.exceptions.ProtocolError)
    zoom.control.clear_faults()

    # "fail twice, then succeed": the caller's status_forcelist retries through it
    zoom.control.set_fault("error", status=503, operation="user", count=2)
    retry = Retry(total=3, status_forcelist=[503], backoff_factor=0)
    answer = urllib3.request("GET", url, retries=retry)
    assert answer.status == 401  # the third try reached the emulator: no token was given
    assert [h.status for h in answer.retries.history] == [503, 503]


def test_concurrent_calls_from_tasks_and_threads(zoom: MockZoom) -> None:
    creds = zoom.credentials
    access = urllib3_token(creds)
    bearer = {"Authorization": f"Bearer {access}", "Content-Type": "application/json"}

    def meeting(client: str, n: int) -> dict[str, Any]:
        return {"topic": f"{client}-{n}", "type": 2}

    async def tasks() -> list[int]:
        async with aiohttp.ClientSession(headers=bearer) as session:

            async def create(n: int) -> int:
                async with session.post(
                    f"{API}/users/me/meetings", json=meeting("aiohttp", n)
                ) as answer:
                    return answer.status

            return await asyncio.gather(*(create(n) for n in range(6)))

    statuses: list[int] = []

    def worker(n: int) -> None:
        body = json.dumps(meeting("urllib3", n))
        statuses.append(
            urllib3.request("POST", f"{API}/users/me/meetings", body=body, headers=bearer).status
        )
        request = urllib.request.Request(
            f"{API}/users/me/meetings",
            data=json.dumps(meeting("urllib", n)).encode(),
            headers=bearer,
        )
        with urllib.request.urlopen(request) as answer:
            statuses.append(answer.status)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    statuses += asyncio.run(tasks())
    for thread in threads:
        thread.join(30)
    assert statuses == [201] * 12
    topics = {m["topic"] for m in zoom.control.state()["meetings"]}
    assert {f"{c}-{n}" for c in ("urllib3", "urllib") for n in range(3)} <= topics
    assert {f"aiohttp-{n}" for n in range(6)} <= topics


# after the mock ----------------------------------------------------------------------------


def patched() -> dict[str, Any]:
    """What mock_zoom() patches for these clients, as the classes hold it now."""
    return {
        "aiohttp": aiohttp.BaseConnector.__dict__["connect"],
        "urllib3": urllib3.connectionpool.HTTPConnectionPool.__dict__["urlopen"],
        "urllib": urllib.request.AbstractHTTPHandler.__dict__["do_open"],
        "socket": socket.getaddrinfo,
    }


def test_leaving_restores_every_patch_and_the_real_socket_path(
    local: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Zoom's API name is made to resolve to a loopback server: during the mock the clients'
    calls to it are answered by the emulator (the server sees none); after it, the same
    session, pool and opener reach the server over a real socket."""
    real = socket.getaddrinfo

    def loopback_for_zoom(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("api.zoom.us", b"api.zoom.us"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_for_zoom)
    before = patched()
    # the libraries' own functions: no mock (nor a thread lingering after one) holds a patch
    assert [f.__module__ for f in before.values()] == [
        "aiohttp.connector",
        "urllib3.connectionpool",
        "urllib.request",
        __name__,
    ]
    url = f"http://api.zoom.us:{local.port}/v2/users/me"
    pool = urllib3.HTTPConnectionPool("api.zoom.us", local.port)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    async def each(session: aiohttp.ClientSession) -> list[int]:
        try:
            with opener.open(url) as answer:
                statuses = [answer.status]
        except urllib.error.HTTPError as error:
            with error:
                statuses = [error.code]
        statuses.append(pool.request("GET", "/v2/users/me").status)
        async with session.get(url) as answer:
            await answer.read()
            statuses.append(answer.status)
        return statuses

    async def main() -> tuple[list[int], list[int]]:
        async with aiohttp.ClientSession() as session:
            with mock_zoom():
                assert patched() != before
                during = await each(session)
            assert local.paths == []
            assert patched() == before  # so the calls below take the real socket path
            return during, await each(session)

    with pool:
        during, after = asyncio.run(main())
    assert during == [401, 401, 401]  # the emulator's answer: no token was given
    assert after == [200, 200, 200]
    assert local.paths == ["/v2/users/me"] * 3


def test_only_the_clients_installed_are_patched() -> None:
    """Without aiohttp, urllib3 and requests (nor anything else importing them), the mock
    starts and answers urllib."""
    code = (
        "import sys, json, urllib.error, urllib.request\n"
        "for name in ('aiohttp', 'urllib3', 'requests'): sys.modules[name] = None\n"
        "from zoomlive.testing import mock_zoom\n"
        "with mock_zoom():\n"
        "    try:\n"
        "        urllib.request.urlopen('https://api.zoom.us/v2/users/me')\n"
        "    except urllib.error.HTTPError as error:\n"
        "        print(error.code, json.loads(error.read())['code'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert (out.returncode, out.stdout) == (0, "401 124\n"), out.stderr
