"""Fixtures: the emulator in-process (Starlette app, in-memory store) and over a real socket
(a ``zoomlive serve`` subprocess on 127.0.0.1), behind one ``api`` fixture for tests that must
hold on both targets."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.engines import REQUIRED, EngineMissing, PrivatePostgres, PrivateRedis, tool
from tests.support.helpers import free_port, popen
from tests.support.rtmp_nginx import NginxRtmpUnavailable
from zoomlive.emulator import Settings, create_app

# Client secrets are hashed with a trivial work factor in tests (in process and in every
# `zoomlive serve` a test starts): seeding and token requests cost microseconds, not the tens of
# milliseconds of production scrypt. Tests of the hashing itself use the functions directly.
os.environ["ZOOMLIVE_CHEAP_SECRETS"] = "1"
# Nor does a `zoomlive serve` a test starts hold the demo target's port 1935 (its embedded
# receiver, docs/watch.md), unless the test asks for it (--demo-receiver).
os.environ["ZOOMLIVE_DEMO_RECEIVER"] = "0"

DEMO_BASIC = "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()
DEMO_WEBINAR = 68423085


def get_token(client: httpx.Client, basic: str = DEMO_BASIC, account: str = "demo-account") -> str:
    response = client.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": account},
        headers={"Authorization": basic},
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


class Api:
    """A client bound to one emulator, with a demo token ready."""

    def __init__(self, client: httpx.Client, kind: str) -> None:
        self.client = client
        self.kind = kind
        self.token = get_token(client)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def state(self) -> dict[str, Any]:
        response = self.client.get("/_emulator/state")
        assert response.status_code == 200
        data: dict[str, Any] = response.json()
        data.pop("clock")  # moves on its own; everything else is state
        return data

    def control(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, "/_emulator" + url, **kwargs)


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """In-process emulators (in-memory store) with chosen settings; closed after the test."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = Settings(
            db=overrides.pop("db", ":memory:"),
            seed=overrides.pop("seed", 1),
            media=overrides.pop("media", "fake"),
            rate_limits=overrides.pop("rate_limits", "off"),
        )
        for key, value in overrides.items():
            setattr(settings, key, value)
        client = TestClient(create_app(settings), base_url="http://127.0.0.1:8080")
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


class Server:
    """A ``zoomlive serve`` subprocess on 127.0.0.1."""

    def __init__(self, db: Path | str, *extra: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.db = db
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable,
            "-m",
            "zoomlive",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(db),
            *extra,
        ]
        if "--media" not in extra:
            self.args += ["--media", "fake"]
        if "--rate-limits" not in extra:
            self.args += ["--rate-limits", "off"]
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self, timeout: float = 20.0) -> Server:
        self.proc = popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                if self.proc.stdout:
                    self.proc.stdout.close()
                raise RuntimeError(f"zoomlive serve exited {self.proc.returncode}: {out}")
            try:
                if httpx.get(self.url + "/_emulator/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("zoomlive serve did not become ready")

    def stop(self, sig: str = "term") -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if sig == "kill":
                self.proc.kill()
            else:
                self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.output += self.proc.stdout.read()
            self.proc.stdout.close()
        self.proc = None


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One emulator process for the session; tests reset it through the control API."""
    srv = Server(tmp_path_factory.mktemp("serve") / "zoomlive.db").start()
    yield srv
    srv.stop()


@pytest.fixture(params=["inprocess", "socket"])
def api(request: pytest.FixtureRequest, client: TestClient) -> Iterator[Api]:
    """The same test against the in-process app and against ``zoomlive serve`` over TCP."""
    if request.param == "inprocess":
        yield Api(client, "inprocess")
        return
    srv: Server = request.getfixturevalue("server")
    with httpx.Client(base_url=srv.url, timeout=10) as http:
        assert http.post("/_emulator/reset", json={"demo": True}).status_code == 200
        yield Api(http, "socket")


@pytest.fixture
def live(server: Server) -> Iterator[Api]:
    """The session's ``zoomlive serve`` process, reset to the demo seed."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/_emulator/reset", json={"demo": True}).status_code == 200
        yield Api(http, "socket")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL for the session (scripts/test installs the server)."""
    engine = PrivatePostgres().start()
    yield engine
    engine.stop()


@pytest.fixture
def pg_url(postgres: PrivatePostgres) -> str:
    """The session's PostgreSQL, emptied for this test."""
    postgres.reset()
    return postgres.url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Redis for the session."""
    engine = PrivateRedis(tmp_path_factory.mktemp("redis")).start()
    yield engine.url
    engine.stop()


# What a test needs that a machine may lack ------------------------------------------------------
# A plain `pytest` skips a test whose server or tool is missing and names it; scripts/test, which
# installs them all, sets ZOOMLIVE_REQUIRE_ENGINES=1 and such a test fails.


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("tools"):
        for name in mark.args:
            tool(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    excinfo = call.excinfo
    if (
        not REQUIRED
        and excinfo is not None
        and excinfo.errisinstance((EngineMissing, NginxRtmpUnavailable))
    ):
        report.outcome = "skipped"
        path, line, _ = item.location
        report.longrepr = (path, (line or 0) + 1, f"Skipped: needs {excinfo.value}")
    return report
