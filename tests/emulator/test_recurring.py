"""Recurring webinars and meetings: ``recurrence``, the ``occurrences`` its rule gives, and
``occurrence_id`` on get, update and delete."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.support.docfields import response_schema, walk
from tests.support.helpers import assert_error

RECURRING = {"webinar": 9, "meeting": 8}
START = "2030-01-07T15:00:00Z"  # a Monday
MS = 1_894_028_400_000  # START in milliseconds


def make(api: Api, kind: str, recurrence: dict[str, Any]) -> dict[str, Any]:
    body = {"topic": "Weekly", "type": RECURRING[kind], "start_time": START, "duration": 30}
    made = api.post(f"/v2/users/me/{kind}s", json={**body, "recurrence": recurrence})
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_rules_give_zoom_occurrences(api: Api, kind: str) -> None:
    daily = make(api, kind, {"type": 1, "repeat_interval": 2, "end_times": 3})
    assert [o["start_time"] for o in daily["occurrences"]] == [
        "2030-01-07T15:00:00Z",
        "2030-01-09T15:00:00Z",
        "2030-01-11T15:00:00Z",
    ]
    first = daily["occurrences"][0]
    assert first == {
        "occurrence_id": str(MS),
        "start_time": START,
        "duration": 30,
        "status": "available",
    }
    assert daily["recurrence"] == {"type": 1, "repeat_interval": 2, "end_times": 3}
    weekly = make(api, kind, {"type": 2, "weekly_days": "2,4", "end_times": 4})
    assert [o["start_time"][:10] for o in weekly["occurrences"]] == [
        "2030-01-07",
        "2030-01-09",
        "2030-01-14",
        "2030-01-16",
    ]
    monthly = make(
        api,
        kind,
        {
            "type": 3,
            "monthly_week": -1,
            "monthly_week_day": 2,
            "end_date_time": "2030-04-30T00:00:00Z",
        },
    )
    # the last Monday of January..April 2030
    assert [o["start_time"][:10] for o in monthly["occurrences"]] == [
        "2030-01-28",
        "2030-02-25",
        "2030-03-25",
        "2030-04-29",
    ]
    capped = make(api, kind, {"type": 1, "end_date_time": "2031-12-31T00:00:00Z"})
    assert len(capped["occurrences"]) == 60
    got = api.get(f"/v2/{kind}s/{daily['id']}").json()
    assert got["occurrences"] == daily["occurrences"]
    # one day: the meetings document enumerates single days, though Zoom takes "2,4" as well
    single = make(api, kind, {"type": 2, "weekly_days": "2", "end_times": 2})
    weekly_got = api.get(f"/v2/{kind}s/{single['id']}").json()
    result = walk(weekly_got, response_schema("webinar" if kind == "webinar" else "meeting"))
    # every occurrence field; of the recurrence Zoom shows the fields its type uses
    assert not [f for f in result.missing if "occurrences" in f]
    print(f"recurring {kind}: {result.share:.1%} of {len(result.documented)} fields")
    assert result.share >= 0.95, result.missing
    assert not result.wrong


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_one_occurrence_get_update_delete(api: Api, kind: str) -> None:
    made = make(api, kind, {"type": 1, "end_times": 3})
    sid = made["id"]
    second = made["occurrences"][1]["occurrence_id"]
    one = api.get(f"/v2/{kind}s/{sid}", params={"occurrence_id": second}).json()
    assert one["start_time"] == "2030-01-08T15:00:00Z"
    assert [o["occurrence_id"] for o in one["occurrences"]] == [second]
    moved = {"start_time": "2030-01-08T18:00:00Z", "duration": 90, "topic": "ignored"}
    response = api.patch(f"/v2/{kind}s/{sid}", params={"occurrence_id": second}, json=moved)
    assert response.status_code == 204, response.text
    after = api.get(f"/v2/{kind}s/{sid}").json()
    assert after["topic"] == "Weekly" and after["start_time"] == START and after["duration"] == 30
    assert after["occurrences"][1]["start_time"] == "2030-01-08T18:00:00Z"
    assert after["occurrences"][1]["duration"] == 90
    assert after["occurrences"][0]["duration"] == 30
    assert api.delete(f"/v2/{kind}s/{sid}", params={"occurrence_id": second}).status_code == 204
    left = api.get(f"/v2/{kind}s/{sid}").json()["occurrences"]
    assert second not in [o["occurrence_id"] for o in left] and len(left) == 2
    for occurrence in left:
        deleted = api.delete(
            f"/v2/{kind}s/{sid}", params={"occurrence_id": occurrence["occurrence_id"]}
        )
        assert deleted.status_code == 204
    # the last occurrence deleted: the session is gone, as Zoom does
    assert api.get(f"/v2/{kind}s/{sid}").status_code == 404


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_bad_recurrence_and_unknown_occurrences_change_nothing(api: Api, kind: str) -> None:
    made = make(api, kind, {"type": 1, "end_times": 2})
    sid = made["id"]
    before = api.get(f"/v2/{kind}s/{sid}").json()
    for bad in (
        {"type": 4},
        {"type": 1, "end_times": 61},
        {"type": 2, "weekly_days": "8"},
        {"type": "1"},
        {"type": 3, "monthly_day": 32},
    ):
        assert_error(api.patch(f"/v2/{kind}s/{sid}", json={"recurrence": bad}), 400, 300)
    message = "Invalid parameter: `occurrence_id`."
    unknown = {"occurrence_id": "1234"}
    assert_error(api.get(f"/v2/{kind}s/{sid}", params=unknown), 400, 300, message)
    patched = api.patch(f"/v2/{kind}s/{sid}", params=unknown, json={"duration": 5})
    assert_error(patched, 400, 300, message)
    assert_error(api.delete(f"/v2/{kind}s/{sid}", params=unknown), 400, 300, message)
    assert api.get(f"/v2/{kind}s/{sid}").json() == before
    once = api.post(f"/v2/users/me/{kind}s", json={"topic": "Once"}).json()
    assert "occurrences" not in once and "recurrence" not in once
    assert_error(api.get(f"/v2/{kind}s/{once['id']}", params=unknown), 400, 300, message)


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_previous_occurrences_only_when_asked(api: Api, kind: str) -> None:
    body = {"type": RECURRING[kind], "start_time": "2020-03-02T10:00:00Z", "duration": 30}
    past = api.post(
        f"/v2/users/me/{kind}s", json={**body, "recurrence": {"type": 1, "end_times": 3}}
    ).json()
    assert "occurrences" not in api.get(f"/v2/{kind}s/{past['id']}").json()
    shown = api.get(f"/v2/{kind}s/{past['id']}", params={"show_previous_occurrences": "true"})
    assert [o["start_time"][:10] for o in shown.json()["occurrences"]] == [
        "2020-03-02",
        "2020-03-03",
        "2020-03-04",
    ]


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_live_stream_belongs_to_the_series(api: Api, kind: str) -> None:
    made = make(api, kind, {"type": 1, "end_times": 2})
    second = {"occurrence_id": made["occurrences"][1]["occurrence_id"]}
    config = {"stream_url": "rtmp://127.0.0.1/live", "stream_key": "k", "page_url": "https://x/p"}
    path = f"/v2/{kind}s/{made['id']}/livestream"
    assert api.patch(path, params=second, json=config).status_code == 204
    assert api.get(path, params=second).json() == {**config, "resolution": "720p"}
    assert api.get(path).json() == {**config, "resolution": "720p"}
