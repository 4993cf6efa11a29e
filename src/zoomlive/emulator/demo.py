"""``zoomlive demo``: the whole story on one machine, in a few seconds.

An emulator (in-memory store, demo account, real ffmpeg) and an RTMP receiver start on free
127.0.0.1 ports; the demo webinar's live stream is configured towards the receiver and started
through Zoom's API calls; the receiver reports what arrives; the active speaker is switched
half-way; a frame is saved; the stream is stopped; a summary is printed.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from zoomlive.emulator.app import create_app
from zoomlive.emulator.control.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_WEBINAR_ID,
)
from zoomlive.emulator.settings import Settings
from zoomlive.receiver import RtmpReceiver


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_demo(
    seconds: float, frame_path: Path, profile: str, echo: Callable[[str], None]
) -> dict[str, object]:
    api_port, rtmp_port = _free_port(), _free_port()
    app = create_app(Settings(db=":memory:", media="ffmpeg", media_profile=profile))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="zoomlive-demo-api", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{api_port}"
    summary: dict[str, object] = {}
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        echo(f"emulator   {base}  (demo account, webinar {DEMO_WEBINAR_ID} running)")
        with (
            RtmpReceiver(port=rtmp_port, key="demo") as receiver,
            httpx.Client(base_url=base, timeout=30) as http,
        ):
            echo(f"receiver   {receiver.url}")
            basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
            token = http.post(
                "/oauth/token",
                params={"grant_type": "account_credentials", "account_id": DEMO_ACCOUNT_ID},
                headers={"Authorization": f"Basic {basic}"},
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            echo("POST /oauth/token                                  -> 200 (bearer token)")
            config = {
                "stream_url": f"rtmp://127.0.0.1:{rtmp_port}/live",
                "stream_key": "demo",
                "page_url": f"{base}/watch/{DEMO_WEBINAR_ID}",
            }
            path = f"/v2/webinars/{DEMO_WEBINAR_ID}/livestream"
            response = http.patch(path, json=config, headers=auth)
            echo(f"PATCH {path}            -> {response.status_code}")
            start = {
                "action": "start",
                "settings": {"display_name": "zoomlive demo webinar", "active_speaker_name": True},
            }
            response = http.patch(path + "/status", json=start, headers=auth)
            acknowledged = time.monotonic()
            echo(f"PATCH {path}/status     -> {response.status_code} (start)")
            session = receiver.wait_first_frame(15)
            first_frame = (session.first_frame_at or acknowledged) - acknowledged
            echo(
                f"receiving  title={session.title!r} video={session.video_codec} "
                f"{session.width}x{session.height} audio={session.audio_codec} "
                f"(first frame {first_frame:.2f} s after the 204)"
            )
            time.sleep(seconds / 2)
            http.post(
                f"/_emulator/webinars/{DEMO_WEBINAR_ID}/speaker", json={"name": "Ada Lovelace"}
            )
            echo("speaker    switched to Ada Lovelace (control API, as the host)")
            time.sleep(seconds / 2)
            saved = receiver.save_frame(frame_path, fresh=True)
            echo(f"frame      saved to {saved}")
            response = http.patch(path + "/status", json={"action": "stop"}, headers=auth)
            echo(f"PATCH {path}/status     -> {response.status_code} (stop)")
            left = receiver.wait_left(10)
            runtime = http.get(f"/_emulator/webinars/{DEMO_WEBINAR_ID}/livestream").json()
            summary = {
                "first_frame_s": round(first_frame, 2),
                "title": left.title,
                "video_packets": left.video_packets,
                "audio_packets": left.audio_packets,
                "fps": left.video_fps,
                "state_changes": [f"{e['from']}->{e['to']}" for e in runtime["events"]],
                "frame": str(saved),
            }
            echo(
                f"summary    {left.video_packets} video / {left.audio_packets} audio packets, "
                f"{left.video_fps or 0:.1f} fps; states: " + ", ".join(summary["state_changes"])  # type: ignore[arg-type]
            )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    return summary
