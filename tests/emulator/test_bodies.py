"""Body parsers: JSON, multipart and urlencoded agree, and nothing but ZoomError escapes."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from zoomlive.api.errors import ZoomError
from zoomlive.api.wire import WebinarCreate, WebinarStatusUpdate
from zoomlive.emulator.bodies import parse_body

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            "application/json",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
            None,
            "text/plain",
        ]
    ),
)
def test_parse_body_raises_only_zoom_errors(raw: bytes, content_type: str | None) -> None:
    try:
        parse_body(content_type, raw, WebinarCreate)
    except ZoomError as err:
        assert err.status == 400 and err.code == 300
        assert err.message in ("Request Body should be a valid JSON object.", "Validation Failed.")


topics = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=200)


@settings(max_examples=100, deadline=None)
@given(topic=topics, duration=st.integers(0, 100_000), host_video=st.booleans())
def test_the_three_encodings_parse_alike(topic: str, duration: int, host_video: bool) -> None:
    fields = {"topic": topic, "duration": duration, "settings": {"host_video": host_video}}
    as_json = parse_body("application/json", json.dumps(fields).encode(), WebinarCreate)
    form = {
        "topic": topic,
        "duration": str(duration),
        "settings": json.dumps({"host_video": host_video}),
    }
    multipart = httpx.Request("POST", "http://x/", files={k: (None, v) for k, v in form.items()})
    raw = multipart.read()
    as_multipart = parse_body(multipart.headers["content-type"], raw, WebinarCreate)
    urlencoded = httpx.Request("POST", "http://x/", data=form)
    as_form = parse_body(urlencoded.headers["content-type"], urlencoded.read(), WebinarCreate)
    assert as_json == as_multipart == as_form
    assert as_json.topic == topic and as_json.settings is not None
    assert as_json.settings.host_video is host_video


def test_multipart_without_boundary_parameter_is_read_from_the_body() -> None:
    request = httpx.Request("POST", "http://x/", files={"action": (None, "end")})
    raw = request.read()
    parsed = parse_body("multipart/form-data", raw, WebinarStatusUpdate)
    assert parsed.action == "end"


def test_object_field_that_is_not_json_names_the_field() -> None:
    try:
        parse_body(
            "application/x-www-form-urlencoded",
            b"settings=start%7B%22host_video%22%3Atrue%7D",
            WebinarCreate,
        )
    except ZoomError as err:
        assert err.message == "Validation Failed."
        assert [e.field for e in err.errors or []] == ["settings"]
    else:
        raise AssertionError("settings=start{...} was accepted")


def payload(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_json_is_strict_about_types() -> None:
    for body in ({"type": "5"}, {"duration": "60"}, {"settings": {"host_video": 1}}):
        try:
            parse_body("application/json", payload(body), WebinarCreate)
        except ZoomError as err:
            assert err.message == "Validation Failed."
        else:
            raise AssertionError(body)
