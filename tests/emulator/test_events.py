"""The emulator's own event feed (server-sent events at /_emulator/events), over a real socket."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import DEMO_WEBINAR, Server, get_token
from tests.support.helpers import FeedListener


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
