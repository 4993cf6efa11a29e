"""The dashboard in a real browser: Chromium (system, headless) driven by Playwright against a
``zoomlive serve --media ffmpeg`` process and an RTMP receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import DEMO_WEBINAR, Server
from tests.support.engines import EngineMissing
from tests.support.helpers import SECRET, WebhookReceiver, free_port
from zoomlive.receiver import RtmpReceiver

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "dashboard.db", "--media", "ffmpeg", "--media-profile", "small").start()
    yield srv
    srv.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        raise EngineMissing("Chromium at /usr/bin/chromium (Debian: chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        opened = context.new_page()
        external: list[str] = []
        opened.on(
            "request",
            lambda r: (
                external.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:"))
                else None
            ),
        )
        yield opened
        context.close()
        browser.close()
        assert not external, f"the dashboard made external requests: {external}"


def test_dashboard_drives_a_webinar_stream_end_to_end(media_server: Server, page: Page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    hooks = WebhookReceiver(SECRET)  # a real webhook endpoint, so the log has deliveries to show
    subscribed = httpx.put(
        f"{media_server.url}/_emulator/apps/demo-client-id/webhook",
        json={"url": hooks.url, "secret_token": SECRET, "events": ["webinar.started"]},
    )
    assert subscribed.json()["validated"] is True
    with RtmpReceiver(port=free_port(), key="key") as receiver, closing(hooks):
        page.goto(media_server.url + "/")
        expect(page.locator("#sessions-body tr").first).to_be_visible()
        message = page.locator("#message")

        page.fill("#create-webinar-topic", "Dashboard test")
        page.click("#create-webinar-btn")
        expect(message).to_have_text("create webinar: ok")
        webinar_id = page.locator("#detail-id").inner_text()
        assert webinar_id.isdigit()
        row = page.locator(f"#row-webinar-{webinar_id}")
        expect(row).to_contain_text("Dashboard test")

        page.click("#host-start-btn")
        expect(page.locator("#detail-status")).to_have_text("started")

        page.fill("#stream-url", f"rtmp://127.0.0.1:{receiver.port}/live")
        page.fill("#stream-key", "key")
        page.fill("#page-url", "https://example.com/live")
        page.click("#configure-btn")
        expect(message).to_have_text("configure stream: ok")

        page.fill("#display-name", "Dashboard Review")
        page.check("#active-speaker")
        page.click("#stream-start-btn")
        expect(message).to_have_text("start stream: ok")
        expect(page.locator(f"#state-webinar-{webinar_id}")).to_have_text("live", timeout=20_000)
        receiver.wait_first_frame(10)

        snippet = page.locator("#snippet-curl").inner_text()
        assert f"/v2/webinars/{webinar_id}/livestream/status" in snippet
        assert "Bearer " in snippet and "$TOKEN" not in snippet
        assert "Dashboard Review" in page.locator("#snippet-python").inner_text()
        assert f"--base-url {media_server.url}/v2" in page.locator("#snippet-cli").inner_text()

        # the latest frame, served by the emulator, refreshed every second while live
        page.wait_for_function(
            "id => { const img = document.getElementById('thumb-webinar-' + id);"
            " return img && img.complete && img.naturalWidth > 0 && !img.hidden; }",
            arg=webinar_id,
            timeout=15_000,
        )

        # uptime and bitrate of the selected stream, accounts with their users and apps
        expect(page.locator("#detail-bitrate")).to_contain_text("kbit/s", timeout=10_000)
        expect(page.locator("#detail-uptime")).to_contain_text(" s")
        expect(page.locator("#detail-settings")).to_contain_text("display_name: Dashboard Review")
        expect(page.locator("#accounts-list")).to_contain_text("demo-account")
        expect(page.locator("#accounts-list")).to_contain_text("host@example.com")

        page.fill("#speaker-name", "Grace Hopper")
        page.click("#speaker-btn")
        expect(message).to_have_text("switch speaker: ok")

        page.click("#credentials-toggle")
        expect(page.locator("#cred-client-secret")).to_have_text("demo-client-secret")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "dashboard-1280x800.png"))

        page.click("#stream-stop-btn")
        expect(message).to_have_text("stop stream: ok")
        expect(page.locator(f"#state-webinar-{webinar_id}")).to_have_text("stopped", timeout=15_000)

        expect(page.locator("#webhooks")).to_be_visible()
        expect(page.locator("#webhook-table")).to_be_attached()
        expect(page.locator("#webhook-body")).to_contain_text("webinar.started", timeout=10_000)
        expect(page.locator("#webhook-body")).to_contain_text("delivered")
        expect(page.locator("#webhook-body")).to_contain_text("x-zm-signature: v0=")
        expect(page.locator("#events-list li").first).to_be_attached(timeout=10_000)

        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.locator("#reset-btn")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "dashboard-390x844.png"), full_page=True)
    assert not errors, errors


def test_with_an_admin_key_the_page_asks_for_it(tmp_path: Path, page: Page) -> None:
    srv = Server(tmp_path / "guarded.db", "--admin-key", "sesame").start()
    try:
        page.goto(srv.url + "/")
        expect(page.locator("#admin-key-box")).to_be_visible(timeout=10_000)
        page.fill("#admin-key-input", "sesame")
        page.click("#admin-key-save")
        expect(page.locator("#row-webinar-68423085")).to_be_visible(timeout=10_000)
        expect(page.locator("#feed-status")).to_have_text("feed: live", timeout=10_000)
    finally:
        srv.stop()


def test_the_feed_resumes_by_itself_when_the_emulator_restarts(tmp_path: Path, page: Page) -> None:
    """EventSource reconnects by itself, with the id of the last event it had: after a restart
    that id is an earlier run's, so the page is told it missed some, then gets the new run's
    events (one published before it is back included), each once."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    srv = Server(tmp_path / "restart.db").start()
    try:
        page.goto(srv.url + "/")
        expect(page.locator("#feed-status")).to_have_text("feed: live", timeout=10_000)
        events = page.locator("#events-list li")
        ended = httpx.post(f"{srv.url}/_emulator/webinars/{DEMO_WEBINAR}/end")
        assert ended.status_code == 200
        expect(events).to_have_count(1)
        srv.stop()
        srv.start()  # the same port and file
        started = httpx.post(f"{srv.url}/_emulator/webinars/{DEMO_WEBINAR}/start")
        assert started.status_code == 200
        expect(events).to_have_count(3, timeout=15_000)  # newest first
        expect(events.nth(0)).to_contain_text(f"host: kind=webinar id={DEMO_WEBINAR}")
        expect(events.nth(1)).to_contain_text("missed: some events not received")
        expect(events.nth(2)).to_contain_text(f"host: kind=webinar id={DEMO_WEBINAR}")
        expect(page.locator("#feed-status")).to_have_text("feed: live")
        page.wait_for_timeout(500)
        expect(events).to_have_count(3)  # nothing twice
    finally:
        srv.stop()
    assert not errors, errors
