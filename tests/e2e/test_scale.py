"""Several emulator processes on one PostgreSQL store: what a user of one sees is what the
others see (Zoom's state, the clock, the fault rules, the event feed), and a worker never
outlives its parent. Real PostgreSQL, real sockets."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO_WEBINAR, Server, get_token
from tests.support.engines import PrivatePostgres
from tests.support.helpers import SECRET, FeedListener, FeedWatcher, WebhookReceiver, popen


@pytest.fixture
def pair(pg_url: str) -> Iterator[tuple[Server, Server]]:
    """Two ``zoomlive serve`` on one PostgreSQL database (the first one seeds it)."""
    first = Server(pg_url).start(timeout=40)
    second: Server | None = None
    try:
        second = Server(pg_url).start(timeout=40)
        yield first, second
    finally:
        if second is not None:
            second.stop()
        first.stop()


def _now(srv: Server) -> datetime:
    return datetime.fromisoformat(httpx.get(srv.url + "/_emulator/clock").json()["now"])


def test_a_change_through_one_host_is_read_through_the_other(pair: tuple[Server, Server]) -> None:
    a, b = pair
    with httpx.Client(base_url=a.url) as ha, httpx.Client(base_url=b.url) as hb:
        token = get_token(ha)
        auth = {"Authorization": f"Bearer {token}"}
        page = "https://example.com/watch"
        patched = hb.patch(  # a token minted by one host is good at the other
            f"/v2/webinars/{DEMO_WEBINAR}/livestream",
            json={"stream_url": "rtmp://127.0.0.1/live", "stream_key": "k1", "page_url": page},
            headers=auth,
        )
        assert patched.status_code == 204, patched.text
        got = ha.get(f"/v2/webinars/{DEMO_WEBINAR}/livestream", headers=auth).json()
    assert (got["stream_key"], got["page_url"]) == ("k1", page)


def test_the_clock_is_shared(pair: tuple[Server, Server]) -> None:
    a, b = pair
    before = _now(b)
    moved = httpx.post(a.url + "/_emulator/clock", json={"advance_seconds": 86_400})
    assert moved.status_code == 200
    deadline = time.monotonic() + 5
    while (_now(b) - before).total_seconds() < 86_000:
        assert time.monotonic() < deadline, "the other host never saw the clock move"
        time.sleep(0.05)
    httpx.post(b.url + "/_emulator/clock", json={"reset": True})
    deadline = time.monotonic() + 5
    while (_now(a) - before).total_seconds() > 3_600:
        assert time.monotonic() < deadline, "the reset through the other host never arrived"
        time.sleep(0.05)


def test_a_fault_rule_counts_across_hosts(pair: tuple[Server, Server]) -> None:
    a, b = pair
    rule = {"kind": "error", "status": 503, "operation": "user", "count": 3, "id": "flaky"}
    assert httpx.post(a.url + "/_emulator/faults", json=rule).status_code == 201
    listed = httpx.get(b.url + "/_emulator/faults").json()["rules"]
    assert [r["id"] for r in listed] == ["flaky"]
    with httpx.Client(base_url=a.url) as ha, httpx.Client(base_url=b.url) as hb:
        auth = {"Authorization": f"Bearer {get_token(ha)}"}
        codes = [
            (ha if i % 2 else hb).get("/v2/users/me", headers=auth).status_code for i in range(8)
        ]
    assert codes.count(503) == 3, codes  # three in all, not three per host
    assert codes[3:] == [200] * 5
    assert httpx.get(a.url + "/_emulator/faults").json()["rules"] == []
    # A sequence's steps are taken once in all, whichever host a request reaches.
    steps = ["pass", "TOKEN_EXPIRED", {"status": 503}]
    seq = {"kind": "sequence", "operation": "user", "id": "steps", "steps": steps}
    assert httpx.post(b.url + "/_emulator/faults", json=seq).status_code == 201
    deadline = time.monotonic() + 5
    while not httpx.get(a.url + "/_emulator/faults").json()["rules"]:
        assert time.monotonic() < deadline, "the sequence never reached the other host"
        time.sleep(0.05)
    with httpx.Client(base_url=a.url) as ha, httpx.Client(base_url=b.url) as hb:
        auth = {"Authorization": f"Bearer {get_token(hb)}"}
        codes = [(ha, hb)[i % 2].get("/v2/users/me", headers=auth).status_code for i in range(6)]
    assert codes == [200, 401, 503, 200, 200, 200]
    assert httpx.get(a.url + "/_emulator/faults").json()["rules"] == []


def test_the_event_feed_shows_what_another_host_did(pair: tuple[Server, Server]) -> None:
    a, b = pair
    feed = FeedListener(a.url)
    seen = feed.seen
    assert feed.ready.wait(10)
    with httpx.Client(base_url=b.url) as hb:
        auth = {"Authorization": f"Bearer {get_token(hb)}"}
        ended = hb.put(f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "end"}, headers=auth)
        assert ended.status_code == 204
    deadline = time.monotonic() + 5
    while not any(k == "host" for k, _ in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    hosts = [d for k, d in seen if k == "host"]
    assert [(d["action"], d["id"]) for d in hosts] == [("end", DEMO_WEBINAR)]  # once, not twice


def test_concurrent_start_and_stop_through_both_hosts_keep_one_path(
    pair: tuple[Server, Server],
) -> None:
    """Row locks in PostgreSQL, not a lock in one process, order the changes: starts and stops
    sent at once through two hosts leave one unbroken path through the state machine."""
    hosts = [srv.url for srv in pair]
    with httpx.Client(base_url=hosts[0]) as http:
        auth = {"Authorization": f"Bearer {get_token(http)}"}
    status = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"
    bodies = [{"action": "start"} if i % 2 == 0 else {"action": "stop"} for i in range(60)]

    def send(i: int) -> int:
        with httpx.Client(base_url=hosts[i % 2], timeout=30) as http:
            return http.patch(status, json=bodies[i], headers=auth).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(send, range(len(bodies))))
    assert codes == [204] * len(bodies)
    final = httpx.get(f"{hosts[1]}/_emulator/webinars/{DEMO_WEBINAR}/livestream").json()
    state = "stopped"
    for event in final["events"]:  # each change starts where the one before ended
        assert event["from"] == state, final["events"]
        state = event["to"]
    assert final["state"] == state
    moves = [(e["from"], e["to"]) for e in final["events"]]
    assert moves.count(("stopped", "starting")) == moves.count(("starting", "live")) >= 1
    assert moves.count(("live", "stopped")) >= 1


def test_a_slow_webhook_delivery_is_sent_once_by_two_hosts(
    pair: tuple[Server, Server],
) -> None:
    """Both hosts dispatch from one outbox. A delivery that takes seconds is leased for longer
    than its whole deadline, so the other host never claims it while it runs."""
    a, b = pair
    receiver = WebhookReceiver(SECRET)
    try:
        body = {"url": receiver.url, "secret_token": SECRET, "events": ["webinar.created"]}
        subscribed = httpx.put(f"{a.url}/_emulator/apps/demo-client-id/webhook", json=body)
        assert subscribed.status_code == 200 and subscribed.json()["validated"], subscribed.text
        receiver.delay = 2.5  # under the 3 s deadline: a good, slow answer
        with httpx.Client(base_url=b.url) as hb:
            auth = {"Authorization": f"Bearer {get_token(hb)}"}
            made = hb.post("/v2/users/me/webinars", json={"topic": "Slow"}, headers=auth)
        assert made.status_code == 201
        receiver.wait_for("webinar.created")
        time.sleep(4)  # time for another host to (wrongly) claim and send it again
        assert len(receiver.named("webinar.created")) == 1
    finally:
        receiver.delay = 0
        receiver.close()


def test_hosts_come_back_by_themselves_after_postgresql_restarts() -> None:
    """A restart (or failover) of PostgreSQL cuts every connection. While it is down, calls get
    Zoom's 503 body; once it is back, each host reconnects on its own: the store, the shared
    rows (clock, faults) and the NOTIFY listener, with no restart of the emulator."""
    pg = PrivatePostgres().start()  # its own: restarting the shared one would disturb others
    hosts: list[Server] = []
    try:
        hosts.append(Server(pg.url).start(timeout=40))
        hosts.append(Server(pg.url).start(timeout=40))
        a, b = hosts
        ha, hb = httpx.Client(base_url=a.url), httpx.Client(base_url=b.url)
        with ha, hb:
            auth = {"Authorization": f"Bearer {get_token(ha)}"}
            status = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"
            assert ha.patch(status, json={"action": "stop"}, headers=auth).status_code == 204
            pg.restart()
            codes: list[int] = []
            deadline = time.monotonic() + 15
            while not codes or codes[-1] != 204:
                assert time.monotonic() < deadline, codes
                codes.append(ha.patch(status, json={"action": "stop"}, headers=auth).status_code)
            assert set(codes) <= {503, 204}, codes  # one 503 while it reconnects
            deadline = time.monotonic() + 15
            while hb.get("/_emulator/clock").status_code != 200:
                assert time.monotonic() < deadline, "the other host never reconnected"
                time.sleep(0.2)
            before = _now(b)
            assert ha.post("/_emulator/clock", json={"advance_seconds": 86_400}).status_code == 200
            deadline = time.monotonic() + 10
            while (_now(b) - before).total_seconds() < 86_000:  # heard again over NOTIFY
                assert time.monotonic() < deadline, "the clock change never reached the other host"
                time.sleep(0.1)
            assert ha.post("/_emulator/clock", json={"reset": True}).status_code == 200
            rule = {"kind": "error", "status": 503, "operation": "user", "count": 1}
            assert ha.post("/_emulator/faults", json=rule).status_code == 201
            deadline = time.monotonic() + 10
            while hb.get("/v2/users/me", headers=auth).status_code != 503:
                assert time.monotonic() < deadline, "the fault rule never reached the other host"
                time.sleep(0.1)
    finally:
        for srv in reversed(hosts):
            srv.stop()
        pg.stop()


def test_hosts_started_together_on_an_empty_database_all_come_up(pg_url: str) -> None:
    """Three hosts race to migrate and seed one empty PostgreSQL: one seeds the demo account,
    the others find it; none fails to start."""
    hosts = [Server(pg_url) for _ in range(3)]
    try:
        for srv in hosts:  # all spawned before any is ready
            srv.proc = popen(
                srv.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=srv.env
            )
        for srv in hosts:
            deadline = time.monotonic() + 40
            while True:
                assert srv.proc is not None
                assert srv.proc.poll() is None, srv.proc.stdout.read() if srv.proc.stdout else ""
                try:
                    if httpx.get(srv.url + "/_emulator/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "a host never came up"
                time.sleep(0.1)
        for srv in hosts:
            accounts = httpx.get(srv.url + "/_emulator/accounts").json()
            assert [a["id"] for a in accounts] == ["demo-account"]
    finally:
        for srv in hosts:
            if srv.proc is not None:
                srv.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its new parent) counts as gone.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_workers_die_with_a_killed_parent(pg_url: str) -> None:
    srv = Server(pg_url, "--workers", "2").start(timeout=40)
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=srv.url) as fresh:  # a new connection each time
                pids.add(fresh.get("/_emulator/health").json()["pid"])
        assert len(pids) == 2, "both workers should have answered"
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in pids), "a worker outlived its parent"
    finally:
        for pid in pids:  # so that a failure does not leave them behind (or hang on their pipe)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        srv.stop()


def test_both_hosts_give_an_event_one_id(pair: tuple[Server, Server]) -> None:
    """Events published at once through both hosts carry the same ids on both hosts' feeds, in
    the same order, without gaps (the publisher counts them in the statement that sends them);
    a watcher that moves to the other host resumes there with its Last-Event-ID."""
    a, b = pair
    ids: list[int] = []
    for srv in pair:
        made = httpx.post(
            f"{srv.url}/_emulator/accounts/demo-account/webinars",
            json={"host": "host@example.com", "topic": "Feed"},
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    on_a = FeedWatcher(a.url)
    mover = FeedWatcher(a.url)

    def toggle(rounds: int) -> None:
        def run(i: int) -> None:  # each webinar started and ended through alternate hosts
            for r in range(rounds):
                url = pair[(i + r) % 2].url
                action = "start" if r % 2 == 0 else "end"
                done = httpx.post(f"{url}/_emulator/webinars/{ids[i]}/{action}")
                assert done.status_code == 200, done.text

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(run, range(2)))

    try:
        toggle(2)
        had = mover.wait_for(4)
        mover.close()
        on_b = FeedWatcher(b.url)  # joins later
        try:
            toggle(4)  # 8 events, the mover away
            seen_b = on_b.wait_for(8)
            moved = FeedWatcher(b.url, last_event_id=had[-1][0])
            try:
                toggle(2)  # live
                resumed = moved.wait_for(10)
                seen_b = on_b.wait_for(10)
            finally:
                moved.close()
        finally:
            on_b.close()
        seen_a = on_a.wait_for(14)
    finally:
        on_a.close()
    first = int(seen_a[0][0] or 0)
    assert [e[0] for e in seen_a] == [str(n) for n in range(first, first + 14)]
    assert [e[1] for e in seen_a] == ["host"] * 14
    assert seen_b == seen_a[4:]  # ids, kinds and data, in the same order
    assert had == seen_a[:4]
    assert resumed == seen_a[4:]
