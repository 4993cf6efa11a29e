"""The emulator's own event feed (server-sent events at /_emulator/events), over a real socket."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import DEMO_WEBINAR, Server, get_token


def test_feed_reports_stream_changes_and_host_actions(tmp_path: Path) -> None:
    srv = Server(tmp_path / "feed.db").start()
    seen: list[tuple[str, dict[str, Any]]] = []
    ready = threading.Event()

    def listen() -> None:
        timeout = httpx.Timeout(5, read=None)
        with (
            httpx.Client(base_url=srv.url, timeout=timeout) as http,
            http.stream("GET", "/_emulator/events") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = ""
            try:
                for line in response.iter_lines():
                    ready.set()
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        seen.append((kind, json.loads(line[6:])))
            except httpx.RemoteProtocolError:
                pass  # the server stopped: the feed ends

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
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
        thread.join(10)
    moves = [(d["from"], d["to"]) for k, d in seen if k == "stream"]
    assert moves[:3] == [("stopped", "starting"), ("starting", "live"), ("live", "stopped")]
    assert ("host", {"action": "end", "kind": "webinar", "id": DEMO_WEBINAR}) in [
        (k, {key: d[key] for key in ("action", "kind", "id")}) for k, d in seen if k == "host"
    ]
