"""Zoom's official Node SDK, @zoom/rivet, unchanged, over every endpoint it exposes for
meetings, webinars and users, against ``zoomlive serve`` on 127.0.0.1.

Rivet's S2S client asks ``https://zoom.us/oauth/token`` for its token; as ``mock_zoom()`` does
for Python clients, the driver (tests/support/node/rivet_endpoints.js) sends Zoom's hosts to the
emulator, and points Rivet's documented ``baseUrl`` option at ``/v2``. Each call gets the
smallest body and query Zoom's document accepts (tests/support/docrequests.py): Rivet takes
bodies from its caller. Every endpoint must answer 2xx and Rivet must parse the answer."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, Server
from tests.support.docrequests import doc_requests
from tests.support.engines import EngineMissing, tool

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "npm" / "node_modules"
DRIVER = ROOT / "tests" / "support" / "node" / "rivet_endpoints.js"


def run_rivet(
    server: Server,
    ids: dict[str, Any],
    overrides: dict[str, dict[str, Any]],
    bodies: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``bodies``: by operationId, a body to send instead of the document's."""
    bodies = bodies or {}
    node = tool("node", "Node.js (Debian: nodejs)")
    if not (NODE_MODULES / "@zoom" / "rivet").is_dir():
        raise EngineMissing("@zoom/rivet in .cache/npm (scripts/test installs it)")
    requests = sorted(doc_requests(), key=lambda r: r.template.count("{"))
    payload = {
        "emulator": server.url,
        "clientId": "demo-client-id",
        "clientSecret": "demo-client-secret",
        "accountId": "demo-account",
        "ids": ids,
        "overrides": overrides,
        "requests": [
            {
                "method": r.method,
                "pattern": r.pattern,
                "body": bodies.get(r.operation_id, r.body),
                "query": r.query,
            }
            for r in requests
        ],
    }
    result = subprocess.run(
        [node, str(DRIVER)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.mark.socket
def test_rivet_calls_every_meetings_webinars_and_users_endpoint(live: Api, server: Server) -> None:
    # Sessions with registration on (approved at once), one registrant each and a panelist:
    # the calls on registrants and panelists name ones that exist.
    open_registration = {"settings": {"approval_type": 0}, "start_time": "2031-03-04T15:00:00Z"}
    meeting = live.post(
        "/v2/users/me/meetings", json={"topic": "Rivet réunion", "type": 2, **open_registration}
    )
    webinar = live.post(
        "/v2/users/me/webinars", json={"topic": "Rivet webinaire", "type": 5, **open_registration}
    )
    assert (meeting.status_code, webinar.status_code) == (201, 201), meeting.text + webinar.text
    registrant = {"email": "ada@example.com", "first_name": "Ada"}
    registrants = {
        kind: live.post(f"/v2/{kind}s/{made.json()['id']}/registrants", json=registrant)
        for kind, made in (("meeting", meeting), ("webinar", webinar))
    }
    assert all(r.status_code == 201 for r in registrants.values()), registrants
    panelists = live.post(
        f"/v2/webinars/{webinar.json()['id']}/panelists",
        json={"panelists": [{"email": "grace@example.com", "name": "Grace"}]},
    )
    assert panelists.status_code == 201, panelists.text
    [panelist] = live.get(f"/v2/webinars/{webinar.json()['id']}/panelists").json()["panelists"]
    ids = {
        "userId": "me",
        "meetingId": meeting.json()["id"],
        "meetingUUID": meeting.json()["uuid"],
        "webinarId": webinar.json()["id"],
        "webinarUUID": webinar.json()["uuid"],
        "tspId": 1,
    }
    # A live stream starts in a session that has started (Zoom refuses it before): one of each,
    # configured and started by its host, for the two status calls.
    started: dict[str, Any] = {}
    for kind in ("meeting", "webinar"):
        made = live.post(f"/v2/users/me/{kind}s", json={"topic": f"Rivet {kind} live"})
        session = made.json()["id"]
        configured = live.patch(
            f"/v2/{kind}s/{session}/livestream",
            json={
                "stream_url": "rtmp://127.0.0.1:1935/live",
                "stream_key": "rivet",
                "page_url": "https://example.com/live",
            },
        )
        assert configured.status_code == 204, configured.text
        assert live.post(f"/_emulator/{kind}s/{session}/start").status_code == 200
        started[f"{kind}Id"] = session
    overrides = {
        "meetings.updateLivestreamStatus": {"meetingId": started["meetingId"]},
        "webinars.updateLiveStreamStatus": {"webinarId": started["webinarId"]},
        "meetings": {"registrantId": registrants["meeting"].json()["registrant_id"]},
        "webinars": {
            "registrantId": registrants["webinar"].json()["registrant_id"],
            "panelistId": panelist["id"],
        },
    }
    # Past sessions have ended; a user is removed who is not the account's owner; a user is
    # created with the user_info Zoom needs (the document requires only the action).
    for kind in ("meeting", "webinar"):
        made = live.post(f"/v2/users/me/{kind}s", json={"topic": f"Rivet {kind} past"})
        assert live.post(f"/_emulator/{kind}s/{made.json()['id']}/start").status_code == 200
        ending = live.put(f"/v2/{kind}s/{made.json()['id']}/status", json={"action": "end"})
        assert ending.status_code == 204, ending.text
        started[f"past_{kind}"] = made.json()["id"]
    leaving = live.post(
        "/v2/users", json={"action": "autoCreate", "user_info": {"email": "leo@example.com"}}
    )
    assert leaving.status_code == 201, leaving.text
    overrides |= {
        "meetings.getPastMeetingDetails": {"meetingId": started["past_meeting"]},
        "meetings.getPastMeetingParticipants": {"meetingId": started["past_meeting"]},
        "webinars.listWebinarParticipants": {"webinarId": started["past_webinar"]},
        "users.deleteUser": {"userId": leaving.json()["id"]},
    }
    bodies = {
        "userCreate": {
            "action": "create",
            "user_info": {"email": "rivet.user@example.com", "type": 1, "first_name": "Riv"},
        }
    }
    calls = run_rivet(server, ids, overrides, bodies)
    per_product = Counter(call["product"] for call in calls)
    failed = [c for c in calls if not (c["ok"] and c["parsed"] and 200 <= c["status"] < 300)]
    print(f"rivet: {len(calls) - len(failed)}/{len(calls)} endpoints answered 2xx and parsed")
    assert per_product["meetings"] >= 180 and per_product["users"] >= 70
    assert not failed, "\n".join(
        f"{c['group']}.{c['name']} {c.get('sent')}: {c.get('error') or c.get('status')}"
        for c in failed
    )
