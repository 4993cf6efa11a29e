"""Media workers (``zoomlive media-worker``) pushing the streams of ``zoomlive serve --media
remote``, on a real PostgreSQL, to real RTMP receivers: capacity, takeover after ``kill -9``,
and stop and speaker switches reaching the worker that holds a stream."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_WEBINAR, Server, get_token
from tests.emulator.test_media import wait_for_text
from tests.support.engines import tool
from tests.support.helpers import free_port, popen
from tests.support.rtmp_nginx import NginxRtmp
from zoomlive.receiver import RtmpReceiver

LEASE_S = 3.0


class MediaWorkerProc:
    """A ``zoomlive media-worker`` subprocess; its log in ``log``."""

    def __init__(
        self, db: str, name: str, capacity: int, log: Path, profile: str = "small"
    ) -> None:
        self.name = name
        self.log = log
        self._out = log.open("wb")
        self.proc = popen(
            [
                sys.executable, "-m", "zoomlive", "media-worker", "--db", db, "--name", name,
                "--capacity", str(capacity), "--lease-seconds", str(LEASE_S),
                "--media-profile", profile,
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


class Remote:
    """``zoomlive serve --media remote`` and its media workers, all on one PostgreSQL."""

    def __init__(self, pg_url: str, tmp: Path) -> None:
        self.pg_url = pg_url
        self.tmp = tmp
        self.server = Server(pg_url, "--media", "remote").start(timeout=40)
        self.http = httpx.Client(base_url=self.server.url, timeout=30)
        self.auth = {"Authorization": f"Bearer {get_token(self.http)}"}
        self.workers: list[MediaWorkerProc] = []

    def worker(self, name: str, capacity: int, profile: str = "small") -> MediaWorkerProc:
        log = self.tmp / f"{name}.log"
        worker = MediaWorkerProc(self.pg_url, name, capacity, log, profile)
        self.workers.append(worker)
        return worker

    def webinar(self) -> int:
        made = self.http.post(
            "/v2/users/me/webinars", json={"topic": "Scale test", "type": 5}, headers=self.auth
        )
        assert made.status_code == 201, made.text
        webinar_id: int = made.json()["id"]
        started = self.http.post(f"/_emulator/webinars/{webinar_id}/start")  # the host joins
        assert started.status_code == 200, started.text
        return webinar_id

    def configure(self, webinar: int, url: str, key: str) -> None:
        body = {"stream_url": url, "stream_key": key, "page_url": "https://example.com/w"}
        done = self.http.patch(f"/v2/webinars/{webinar}/livestream", json=body, headers=self.auth)
        assert done.status_code == 204, done.text

    def status(self, webinar: int, action: str, **settings: Any) -> None:
        body: dict[str, Any] = {"action": action}
        if settings:
            body["settings"] = settings
        done = self.http.patch(
            f"/v2/webinars/{webinar}/livestream/status", json=body, headers=self.auth
        )
        assert done.status_code == 204, done.text

    def runtime(self, webinar: int) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(f"/_emulator/webinars/{webinar}/livestream").json()
        return data

    def holders(self) -> dict[int, str]:
        leases = self.http.get("/_emulator/media/leases").json()["leases"]
        return {lease["id"]: lease["worker"] for lease in leases if lease["current"]}

    def wait(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        """Poll ``check`` until it returns something truthy; ``timeout`` only bounds the wait."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                logs = "\n".join(w.log.read_text(errors="replace")[-2000:] for w in self.workers)
                raise AssertionError(
                    f"timed out waiting for {what}; holders {self.holders()}\n{logs}"
                )
            time.sleep(0.1)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.http.close()
        self.server.stop()


@pytest.fixture
def remote(pg_url: str, tmp_path: Path) -> Iterator[Remote]:
    tool("ffmpeg")
    setup = Remote(pg_url, tmp_path)
    try:
        yield setup
    finally:
        setup.close()


def _count(holders: dict[int, str], worker: str) -> int:
    return sum(1 for name in holders.values() if name == worker)


def test_media_workers_share_streams_within_capacity_and_take_over_a_dead_one(
    remote: Remote, tmp_path: Path
) -> None:
    keys = ["k1", "k2", "k3"]
    with NginxRtmp(tmp_path / "nginx", keys) as nginx:
        a = remote.worker("worker-a", capacity=2)
        first = [remote.webinar(), remote.webinar()]
        for webinar, key in zip(first, keys, strict=False):
            remote.configure(webinar, nginx.url, key)
            remote.status(webinar, "start")
        for webinar in first:
            remote.wait(lambda w=webinar: remote.runtime(w)["state"] == "live", 30, "live")
        assert nginx.published("k1") and nginx.published("k2")
        assert remote.holders() == {first[0]: "worker-a", first[1]: "worker-a"}

        remote.worker("worker-b", capacity=3)
        third = remote.webinar()
        remote.configure(third, nginx.url, "k3")
        remote.status(third, "start")
        remote.wait(lambda: remote.runtime(third)["state"] == "live", 30, "the third live")
        holders = remote.holders()
        assert holders[third] == "worker-b"  # worker-a is full
        assert _count(holders, "worker-a") == 2
        reported = remote.wait(lambda: remote.runtime(third)["media"], 10, "a report")
        assert reported["worker"] == "worker-b"

        accepted_before = {k: sum(1 for x in nginx.attempts if x.key == k) for k in keys}
        a.kill()
        # Its ffmpegs die with it; once its leases lapse, worker-b takes both streams over
        # and they publish again at the receiver.
        for webinar in first:
            remote.wait(lambda w=webinar: remote.holders().get(w) == "worker-b", 30, "the takeover")
        for key in ("k1", "k2"):
            nginx.wait_for_attempt(30, key=key, count=accepted_before[key] + 1)
        for webinar in first:
            back = remote.wait(
                lambda w=webinar: (r := remote.runtime(w))["state"] == "live" and r, 30, "live"
            )
            details = [e["detail"] for e in back["events"]]
            assert "media worker worker-a lost; taken over by worker-b" in details
        assert _count(remote.holders(), "worker-b") == 3  # its capacity: all three

        # A stop through the API reaches the worker that holds the stream: the publisher goes.
        remote.status(first[0], "stop")
        done = nginx.wait_for_done(10, key="k1")
        assert done.key == "k1"
        remote.wait(lambda: first[0] not in remote.holders(), 10, "the lease to go")
        assert remote.runtime(first[0])["state"] == "stopped"


def test_a_speaker_switch_and_a_stop_reach_the_worker(remote: Remote, tmp_path: Path) -> None:
    with RtmpReceiver(port=free_port(), key="key") as receiver:
        remote.worker("solo", capacity=4, profile="medium")  # large enough to read
        remote.configure(DEMO_WEBINAR, f"rtmp://127.0.0.1:{receiver.port}/live", "key")
        remote.status(DEMO_WEBINAR, "start", display_name="Remote", active_speaker_name=True)
        session = receiver.wait_first_frame(30)
        wait_for_text(receiver, tmp_path, 2, "Speaking: Demo Host")
        switched = remote.http.post(
            f"/_emulator/webinars/{DEMO_WEBINAR}/speaker", json={"name": "Jane Doe"}
        )
        assert switched.status_code == 200, switched.text
        wait_for_text(receiver, tmp_path, 2, "Speaking: Jane Doe")
        runtime = remote.wait(
            lambda: (r := remote.runtime(DEMO_WEBINAR))["media"] and r, 10, "a report"
        )
        assert runtime["media"]["worker"] == "solo"
        assert runtime["media"]["active_speaker"] == "Jane Doe"
        assert runtime["media"]["frames"] > 0
        thumb = remote.wait(
            lambda: (
                (
                    r := remote.http.get(f"/_emulator/webinars/{DEMO_WEBINAR}/thumbnail.jpg")
                ).status_code
                == 200
                and r
            ),
            10,
            "a thumbnail",
        )
        assert thumb.content.startswith(b"\xff\xd8")
        remote.status(DEMO_WEBINAR, "stop")
        left = receiver.wait_left(10)
        assert left is session and left.end_reason == "publisher closed"


def test_serve_refuses_remote_media_without_postgresql(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "zoomlive", "serve", "--db", str(tmp_path / "x.db"),
         "--media", "remote", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [
            "zoomlive serve: --media (ZOOMLIVE_MEDIA) remote needs PostgreSQL: "
            "--db (ZOOMLIVE_DB) postgresql://...; got 'remote'"
        ],
    )
    worker = subprocess.run(
        [sys.executable, "-m", "zoomlive", "media-worker", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 2
    assert "media workers share a PostgreSQL store" in worker.stderr
