"""Webhook bodies as Zoom sends them, delivered for real to endpoints on 127.0.0.1: every event
the emulator sends, walked against Zoom's webhook document for it (every documented field
present, types and enums right), raw UTF-8 bodies whose signature verifies over the bytes
received and over ``JSON.stringify`` of the parsed body (Zoom's Node sample, run by node)."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import Api
from tests.support.webhook_events import (
    TOPIC,
    RawReceiver,
    drive_every_event,
    node_receiver,
    restringify,
    subscribe,
)
from zoomlive.api import zoomdoc
from zoomlive.emulator import webhooks
from zoomlive.emulator.store import Session
from zoomlive.emulator.webhook_payloads import (
    CONDITIONAL,
    js_json,
    js_json_bytes,
    payload_for,
    resolved,
)
from zoomlive.testing import sign_webhook

SECRET = "payload-secret-token"
EVENTS = set(webhooks.EVENTS)
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@pytest.fixture
def emulator(make_client: Callable[..., TestClient]) -> Api:
    return Api(make_client(webhook_time_scale=0.001), "inprocess")


@pytest.fixture
def receiver() -> Iterator[RawReceiver]:
    endpoint = RawReceiver(SECRET)
    yield endpoint
    endpoint.close()


@dataclass
class Walk:
    """What walking bodies against their documents found."""

    documented: int = 0
    present: int = 0
    missing: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)

    def walk(self, schema: dict[str, Any], value: Any, path: str, partial: bool = False) -> None:
        """Check ``value`` against ``schema``; ``partial``: an update's object (only what
        changed is sent, so only the required fields must be there)."""
        schema = resolved(schema)
        kind = schema.get("type")
        checks: dict[str, Callable[[Any], bool]] = {
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "array": lambda v: isinstance(v, list),
            "object": lambda v: isinstance(v, dict),
        }
        if kind in checks and not checks[kind](value):
            self.wrong.append(f"{path}: {value!r} is not {kind}")
            return
        if "enum" in schema and value not in schema["enum"]:
            self.wrong.append(f"{path}: {value!r} not in {schema['enum']}")
        if schema.get("format") == "date-time" and not DATE_TIME.fullmatch(value):
            self.wrong.append(f"{path}: {value!r} is not Zoom's date-time")
        if schema.get("format") == "email" and "@" not in value:
            self.wrong.append(f"{path}: {value!r} is not an email")
        if (
            "pattern" in schema
            and isinstance(value, str)
            and not re.search(schema["pattern"], value)
        ):
            self.wrong.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.walk(schema.get("items", {}), item, f"{path}[{i}]")
        properties: dict[str, Any] = schema.get("properties") or {}
        if not isinstance(value, dict) or not properties:
            return
        required = set(schema.get("required", ()))
        for name, sub in properties.items():
            where = f"{path}.{name}"
            if name in value:
                if not partial:
                    self.documented += 1
                    self.present += 1
                # settings on an update: only the settings that changed, at any depth
                sub_partial = partial and (name == "settings" or ".settings." in where)
                self.walk(sub, value[name], where, sub_partial)
            elif partial and name not in required:
                continue
            elif name in CONDITIONAL or where in CONDITIONAL:
                continue  # sent only for recurring sessions (docs/fidelity.md)
            else:
                self.documented += 1
                self.missing.append(where)
        self.undocumented += [f"{path}.{k}" for k in value if k not in properties]

    @property
    def share(self) -> float:
        return self.present / self.documented if self.documented else 0.0


def walk_event(found: Walk, raw: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(raw)
    schema = zoomdoc.webhook_events()[body["event"]]
    for name in ("event", "event_ts"):
        found.walk(schema["properties"][name], body.get(name), f"{body['event']}.{name}")
    payload_schema = resolved(schema["properties"]["payload"])
    properties = payload_schema["properties"]
    # the payload's own fields here; its object (and old one) below, as a partial on updates
    shallow = {
        k: {"type": "object"} if k in ("object", "old_object") else v for k, v in properties.items()
    }
    found.walk({**payload_schema, "properties": shallow}, body["payload"], body["event"])
    update = "old_object" in properties
    for name in ("object", "old_object"):
        if name in properties:
            value = body["payload"].get(name)
            if value is None:
                found.missing.append(f"{body['event']}.{name}")
                continue
            found.walk(properties[name], value, f"{body['event']}.{name}", partial=update)
    return body


def test_every_event_the_emulator_sends_is_in_zooms_webhook_documents() -> None:
    assert set(zoomdoc.webhook_events()) >= EVENTS


def test_every_event_carries_every_documented_field_typed_as_documented(
    emulator: Api, receiver: RawReceiver
) -> None:
    subscribe(emulator, receiver.url, SECRET)
    ids = drive_every_event(emulator)
    got = receiver.wait_for(EVENTS)
    found = Walk()
    bodies = {event: walk_event(found, raw) for event, (_, raw) in got.items()}
    print(
        f"\nwebhook fields: {found.present}/{found.documented} documented fields present "
        f"({found.share:.1%}) over {len(bodies)} events"
    )
    assert found.missing == []
    assert found.wrong == []
    assert found.undocumented == []
    assert found.share == 1.0
    created = bodies["webinar.created"]["payload"]
    assert created["object"]["join_url"].endswith(f"/{ids['webinar']}")
    assert created["object"]["creation_source"] == "open_api"
    assert created["object"]["settings"] == {"use_pmi": False, "alternative_hosts": ""}
    assert created["operator"] == "host@example.com" and created["operator_id"]
    assert isinstance(bodies["meeting.started"]["payload"]["object"]["id"], str)
    assert bodies["meeting.started"]["payload"]["object"]["id"] == str(ids["meeting"])
    assert bodies["meeting.started"]["payload"]["object"]["host_email"] == "host@example.com"
    assert bodies["meeting.ended"]["payload"]["object"]["id"] == str(ids["meeting"])
    streaming = bodies["meeting.live_streaming_started"]["payload"]["object"]
    assert streaming["id"] == ids["meeting"]  # documented as a number in this event
    assert streaming["live_streaming"]["custom_live_streaming_settings"]["stream_key"] == "clé"
    for body in bodies.values():
        assert body["payload"]["account_id"] == "demo-account"
        assert isinstance(body["event_ts"], int)


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_an_update_names_what_changed_in_object_and_the_old_values_in_old_object(
    emulator: Api, receiver: RawReceiver, kind: str
) -> None:
    subscribe(emulator, receiver.url, SECRET, [f"{kind}.updated"])
    wid = emulator.post(f"/v2/users/me/{kind}s", json={"topic": TOPIC}).json()["id"]
    before = emulator.get(f"/v2/{kind}s/{wid}").json()
    patch = {"topic": "Neu: Übersicht", "duration": 45, "settings": {"host_video": True}}
    assert emulator.patch(f"/v2/{kind}s/{wid}", json=patch).status_code == 204
    [(_, raw)] = receiver.wait_for({f"{kind}.updated"}).values()
    payload = json.loads(raw)["payload"]
    changed = {"topic": "Neu: Übersicht", "duration": 45}
    old = {"topic": TOPIC, "duration": before["duration"]}
    documented = resolved(zoomdoc.webhook_events()[f"{kind}.updated"])
    settings = documented["properties"]["payload"]["properties"]["object"]["properties"]
    if "host_video" in settings.get("settings", {}).get("properties", {}):
        changed["settings"] = {"host_video": True}
        old["settings"] = {"host_video": before["settings"]["host_video"]}
    identity = {"id": wid, "uuid": before["uuid"], "host_id": before["host_id"]}
    assert payload["object"] == {**identity, **changed}
    assert payload["old_object"] == {"id": wid, **old}
    assert payload["scope"] == "single"
    assert payload["operator"] == "host@example.com"
    assert isinstance(payload["time_stamp"], int)


def test_bodies_are_raw_utf8_and_verify_over_the_bytes_and_over_json_stringify(
    emulator: Api, receiver: RawReceiver
) -> None:
    subscribe(emulator, receiver.url, SECRET)
    drive_every_event(emulator)
    got = receiver.wait_for(EVENTS)
    raws = [raw for _, raw in got.values()]
    for headers, raw in got.values():
        assert b"\\u" not in raw, raw  # no escapes: the text is sent as it is
        message = f"v0:{headers['x-zm-request-timestamp']}:".encode() + raw
        digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
        assert headers["x-zm-signature"] == "v0=" + digest
    topical = [raw for raw in raws if b'"meeting.started"' in raw or b'"webinar.created"' in raw]
    assert topical and all(TOPIC.encode() in raw for raw in topical)
    # What a receiver that re-serializes hashes is the very text that was signed.
    assert restringify(raws) == raws


def test_zooms_node_sample_verification_accepts_every_event(emulator: Api) -> None:
    with node_receiver("zoom_sample_receiver.js", SECRET) as sample:
        subscribe(emulator, sample.url, SECRET)  # its URL validation passes the sample's check
        drive_every_event(emulator)
        sample.wait_for(EVENTS | {"endpoint.url_validation"})
        assert all(line["sample_ok"] and line["raw_ok"] for line in sample.lines), sample.lines
        assert all(line["identical"] for line in sample.lines)
        # The old bodies (json.dumps defaults: \u escapes) fail the sample's check: the test
        # can tell.
        escaped = json.dumps({"event": "meeting.started", "payload": {"object": {"topic": TOPIC}}})
        old = sign_webhook(escaped.encode(), SECRET)
        answer = httpx.post(sample.url, content=old.body, headers=old.headers, timeout=10)
        assert answer.status_code == 401
        assert sample.wait_for({"meeting.started"})
    last = sample.lines[-1]
    assert last == {
        "event": "meeting.started",
        "sample_ok": False,
        "raw_ok": True,
        "identical": False,
    }


EDGE_STRINGS = [
    "",
    TOPIC,
    "".join(chr(c) for c in range(0x20)),
    "\x7f\x80\x9f\xa0\xad",
    "\u2028\u2029",  # JSON.stringify writes them raw
    "\ud800",  # a lone surrogate: escaped
    "x\udfff\ud800y",
    "\ud83d\ude00",  # a pair held as two: one character
    "😀 \U0010ffff \ufeff \ufffe \uffff",
    '"\\/</script>',
]
EDGE_NUMBERS = [
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.1,
    1e21,
    1e20,
    123456789012345680000.0,
    1e-6,
    1e-7,
    1.5e-7,
    5e-324,
    1.7976931348623157e308,
    2**53,
    -(2**53),
    1e16,
    100.0,
    0.000123,
    float("nan"),
    float("inf"),
]


KEYS = ["a", "topic", "10", "2", "0", "01", "-1", "1.5", "4294967294", "4294967295", "é"]
"""Keys JavaScript orders first (array indexes) and ones it keeps in place."""


def random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(8 if depth < 3 else 5)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rng.randint(-(2**53) + 1, 2**53 - 1)
    if pick == 2:
        return rng.choice(
            [
                rng.uniform(-1e6, 1e6),
                rng.random() * 10 ** rng.randint(-30, 30),
                float(rng.randint(0, 99)),
            ]
        )
    if pick in (3, 4):
        size = rng.randrange(12)
        return "".join(
            chr(rng.choice([rng.randrange(0x80), rng.randrange(0x110000)])) for _ in range(size)
        )
    if pick in (5, 6):
        keys = [
            rng.choice(["a", "topic", "10", "2", "0", "01", "-1", "4294967294", "4294967295", "é"])
            for _ in range(rng.randrange(5))
        ]
        return {k: random_value(rng, depth + 1) for k in keys}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_the_serialization_is_json_stringifys_for_every_value() -> None:
    values: list[Any] = [*EDGE_STRINGS, *EDGE_NUMBERS, {"b": 1, "10": 2, "2": 3, "a": {"1": []}}]
    values.append({s: n for s, n in zip(EDGE_STRINGS, EDGE_NUMBERS, strict=False)})
    rng = random.Random(20)
    values += [random_value(rng) for _ in range(3000)]
    texts = [js_json_bytes(v) for v in values]
    assert restringify(texts) == texts
    # and it is the value: Python reads back what it wrote (NaN and infinities are null)
    assert json.loads(js_json({"x": [1.0, 1e21, "\u2028"]})) == {"x": [1, 1e21, "\u2028"]}
    assert js_json(float("nan")) == "null"


def test_the_testing_kit_signs_the_bytes_the_emulator_sends() -> None:
    event = {"event": "meeting.started", "event_ts": 1, "payload": {"object": {"topic": TOPIC}}}
    signed = sign_webhook(event, SECRET, timestamp=1700000000)
    assert signed.body == js_json_bytes(event)
    assert TOPIC.encode() in signed.body
    assert restringify([signed.body]) == [signed.body]
    message = b"v0:1700000000:" + signed.body
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert signed.headers["x-zm-signature"] == "v0=" + digest


def test_payload_for_fills_a_documented_event_from_a_record() -> None:
    """What other rules call: any documented event, from the object as the API shows it or a
    stored record; what the record lacks gets a value of its documented type."""
    record = {"id": 123, "uuid": "u==", "host_id": "h", "host_email": "h@example.com"}
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    payload = payload_for("meeting.started", {**record, "topic": TOPIC}, account_id="acc", now=now)
    found = Walk()
    found.walk(zoomdoc.webhook_events()["meeting.started"]["properties"]["payload"], payload, "p")
    assert found.wrong == [] and found.undocumented == [] and found.missing == []
    assert payload["object"]["id"] == "123"
    assert payload["object"]["topic"] == TOPIC
    assert payload["object"]["timezone"] == ""  # documented, not in the record: its type's
    assert payload["object"]["start_time"] == "2026-01-02T03:04:05Z"  # a time: the event's
    assert payload["object"]["type"] == 0  # the first documented value
    with pytest.raises(KeyError):
        payload_for("no.such_event", record)


def test_payload_for_takes_a_stored_record() -> None:
    host = "u" * 22
    session = Session(
        id=987654321,
        uuid="abc==",
        account_id="acc",
        host_id=host,
        topic=TOPIC,
        type=5,
        start_time=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
        duration=30,
        timezone="Europe/Paris",
        agenda="",
        password="",
        settings={},
        status="waiting",
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, tzinfo=UTC),
        kind="webinar",
    )
    payload = payload_for("webinar.deleted", session, account_id="acc", operator=("o@x.io", "o"))
    assert payload["object"] == {
        "uuid": "abc==",
        "id": 987654321,
        "host_id": host,
        "topic": TOPIC,
        "type": 5,
        "start_time": "2026-03-04T05:06:07Z",
        "duration": 30,
        "timezone": "Europe/Paris",
    }
    assert payload["operator"] == "o@x.io" and payload["operation"] == "single"
