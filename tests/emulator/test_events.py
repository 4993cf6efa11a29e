"""The emulator's own event feed (server-sent events at /_emulator/events), over a real socket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_WEBINAR, Server, get_token
from tests.support.helpers import FeedEvent, FeedListener, FeedWatcher
from zoomlive.emulator import feed
from zoomlive.testing import ZoomEmulator


def test_feed_reports_stream_changes_and_host_actions(tmp_path: Path) -> None:
    srv = Server(tmp_path / "feed.db").start()
    feed = FeedListener(srv.url)
    seen = feed.seen
    try:
        assert feed.ready.wait(10)
        assert feed.content_type.startswith("text/event-stream")
        with httpx.Client(base_url=srv.url) as http:
            headers = {"Authorization": f"Bearer {get_token(http)}"}
            status = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"
            assert http.patch(status, json={"action": "start"}, headers=headers).status_code == 204
            assert (
                http.put(
                    f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "end"}, headers=headers
                ).status_code
                == 204
            )
            deadline = time.monotonic() + 10
            while len(seen) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        srv.stop()
        feed.thread.join(10)
    moves = [(d["from"], d["to"]) for k, d in seen if k == "stream"]
    assert moves[:3] == [("stopped", "starting"), ("starting", "live"), ("live", "stopped")]
    assert ("host", {"action": "end", "kind": "webinar", "id": DEMO_WEBINAR}) in [
        (k, {key: d[key] for key in ("action", "kind", "id")}) for k, d in seen if k == "host"
    ]


# one id per event, and resuming with Last-Event-ID --------------------------------------------


@pytest.fixture(params=["inprocess", "serve"])
def feed_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An emulator whose feed is watched: in this process (uvicorn in a thread, the memory
    store) or a ``zoomlive serve`` (SQLite), both on 127.0.0.1."""
    if request.param == "inprocess":
        with ZoomEmulator(rate_limits="off") as emulator:
            yield emulator.url
        return
    srv = Server(tmp_path / "ids.db").start()
    try:
        yield srv.url
    finally:
        srv.stop()


def act(url: str, count: int) -> None:
    """``count`` events on the feed: the demo webinar ended if it runs, started if not."""
    with httpx.Client(base_url=url) as http:
        for _ in range(count):
            answer = http.post(f"/_emulator/webinars/{DEMO_WEBINAR}/end")
            if answer.status_code == 409:
                answer = http.post(f"/_emulator/webinars/{DEMO_WEBINAR}/start")
            assert answer.status_code == 200, answer.text


def numbers(events: list[FeedEvent]) -> list[int]:
    """The ids of events, as numbers (the missed notice has none)."""
    return [int(event_id) for event_id, _, _ in events if event_id is not None]


def test_every_watcher_sees_one_id_per_event(feed_url: str) -> None:
    first = FeedWatcher(feed_url)
    try:
        act(feed_url, 2)
        first.wait_for(2)
        second = FeedWatcher(feed_url)  # joins later: the same events carry the same ids
        try:
            act(feed_url, 3)
            late = second.wait_for(3)
            early = first.wait_for(5)
        finally:
            second.close()
    finally:
        first.close()
    assert [k for _, k, _ in early] == ["host"] * 5
    start = numbers(early)[0]
    assert numbers(early) == list(range(start, start + 5))  # one more than the event before
    assert late == early[2:]  # ids, kinds and data


def test_a_watcher_that_reconnects_gets_what_it_missed_then_the_live_ones(feed_url: str) -> None:
    witness = FeedWatcher(feed_url)  # watches throughout
    watcher = FeedWatcher(feed_url)
    try:
        act(feed_url, 2)
        had = watcher.wait_for(2)
        watcher.close()
        act(feed_url, 3)  # while it is away
        witness.wait_for(5)
        back = FeedWatcher(feed_url, last_event_id=had[-1][0])
        try:
            act(feed_url, 2)  # live, after the replay
            resumed = back.wait_for(5)
            time.sleep(0.3)  # nothing more arrives
            assert len(back.events) == 5
        finally:
            back.close()
        everything = witness.wait_for(7)
    finally:
        witness.close()
    assert had == everything[:2]
    assert resumed == everything[2:]  # exactly the missed ones, then the live ones


def test_resuming_past_the_buffer_says_what_was_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed, "BUFFER_SIZE", 3)
    with ZoomEmulator(rate_limits="off") as emulator:
        act(emulator.url, 6)
        witness = FeedWatcher(emulator.url, last_event_id="0", query=True)  # all it holds
        held = witness.wait_for(4)
        first = numbers(held)[0] - 3  # the id of the first event, no longer held
        watchers = {
            "behind": FeedWatcher(emulator.url, last_event_id=str(first)),
            "earlier run": FeedWatcher(emulator.url, last_event_id=str(first - 10)),
            "ahead": FeedWatcher(emulator.url, last_event_id=str(first + 99)),
            "caught up": FeedWatcher(emulator.url, last_event_id=str(first + 5)),
        }
        try:
            seen = {
                name: w.wait_for(4 if name != "caught up" else 0) for name, w in watchers.items()
            }
            act(emulator.url, 1)
            seen["caught up"] = watchers["caught up"].wait_for(1)
        finally:
            for each in (witness, *watchers.values()):
                each.close()
    assert [(i, k) for i, k, _ in held] == [
        (None, "missed"),
        (str(first + 3), "host"),
        (str(first + 4), "host"),
        (str(first + 5), "host"),
    ]

    def notice(events: list[FeedEvent]) -> dict[str, Any]:
        return {k: events[0][2][k] for k in ("after", "missed")}

    assert notice(held) == {"after": 0, "missed": 3}
    assert notice(seen["behind"]) == {"after": first, "missed": 2}
    assert notice(seen["earlier run"]) == {"after": first - 10, "missed": None}
    assert notice(seen["ahead"]) == {"after": first + 99, "missed": None}
    for name in ("behind", "earlier run", "ahead"):
        assert seen[name][1:] == held[1:], name
    assert numbers(seen["caught up"]) == [first + 6]


# the cursor over the buffer, step by step ----------------------------------------------------


def frame_ids(frames: list[bytes]) -> list[int]:
    return [
        int(line[4:])
        for frame in frames
        for line in frame.decode().splitlines()
        if line.startswith("id: ")
    ]


def test_events_published_during_a_replay_are_sent_once_in_order() -> None:
    async def run() -> tuple[list[int], list[int]]:
        fed = feed.EventFeed()
        fed.bind(asyncio.get_running_loop())
        for n in range(3):
            fed.publish("host", {"n": n})
        await asyncio.sleep(0)  # the loop numbers them
        everything = fed.stream("0")
        held = frame_ids([await anext(everything) for _ in range(4)])  # the greeting, 3 events
        await everything.aclose()
        stream = fed.stream(str(held[0]))
        frames = [await anext(stream), await anext(stream)]  # the greeting, the second event
        fed.publish("host", {"n": 3})  # arrives while the third is still to be replayed
        await asyncio.sleep(0)
        frames += [await anext(stream), await anext(stream)]
        await stream.aclose()
        return held, frame_ids(frames)

    held, resumed = asyncio.run(run())
    assert resumed == [held[1], held[2], held[2] + 1]


def test_a_watcher_the_buffer_moved_past_is_told_how_many_it_missed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed, "BUFFER_SIZE", 4)

    async def run() -> list[bytes]:
        fed = feed.EventFeed()
        fed.bind(asyncio.get_running_loop())
        stream = fed.stream()
        await anext(stream)  # the greeting: placed at the end
        fed.publish("host", {"n": 0})
        await asyncio.sleep(0)
        frames = [await anext(stream)]  # the first event; then it reads nothing while ten come
        for n in range(1, 11):
            fed.publish("host", {"n": n})
        await asyncio.sleep(0)
        frames += [await anext(stream) for _ in range(5)]
        await stream.aclose()
        return frames

    frames = asyncio.run(run())
    first = frame_ids(frames[:1])[0]
    assert frames[1].startswith(b"event: missed\n")
    missed = json.loads(frames[1].split(b"data: ")[1])
    assert (missed["after"], missed["missed"]) == (first, 6)  # the second to the seventh
    assert frame_ids(frames[2:]) == [first + n for n in (7, 8, 9, 10)]
