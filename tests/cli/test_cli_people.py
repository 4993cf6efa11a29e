"""``zoomlive webinar|meeting registrants ...``, ``zoomlive webinar panelists ...`` and
``zoomlive webinar|meeting join-token``: the real command against ``zoomlive serve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_cli_client import url, zl  # noqa: F401  (url: a fixture)
from tests.conftest import get_token

UNKNOWN = "12345678901"


def create(server_url: str, kind: str, **fields: Any) -> int:
    with httpx.Client(base_url=server_url) as http:
        token = get_token(http)
        body = {"topic": f"Launch {kind}", **fields}
        made = http.post(
            f"/v2/users/me/{kind}s", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert made.status_code == 201, made.text
    sid: int = made.json()["id"]
    return sid


def listed(server_url: str, kind: str, sid: int, status: str) -> list[dict[str, Any]]:
    done = zl(server_url, kind, "registrants", "list", str(sid), "--status", status, "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_register_approve_deny_and_remove(url: str, kind: str, tmp_path: Path) -> None:  # noqa: F811
    sid = create(url, kind, settings={"approval_type": 1})
    one = zl(
        url, kind, "registrants", "add", str(sid), "--email", "ana@example.org",
        "--first-name", "Ana", "--last-name", "Lima",
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert "ana@example.org" in one.stdout and "registered: 1" in one.stdout
    sheet = tmp_path / "people.csv"
    rows = [f"p{i}@example.org,P{i},Doe" for i in range(35)]  # two batches of Zoom's 30
    sheet.write_text("email,first_name,last_name\n" + "\n".join(rows) + "\n")
    bulk = zl(url, kind, "registrants", "add", str(sid), "--from-file", str(sheet), "--json")
    assert bulk.returncode == 0, bulk.stderr
    assert len(json.loads(bulk.stdout)) == 35
    assert len(listed(url, kind, sid, "pending")) == 36

    approved = zl(
        url, kind, "registrants", "approve", str(sid), "ana@example.org", "p0@example.org"
    )
    assert (approved.returncode, approved.stdout.strip()) == (0, "ok"), approved.stderr
    assert sorted(r["email"] for r in listed(url, kind, sid, "approved")) == [
        "ana@example.org",
        "p0@example.org",
    ]
    table = zl(url, kind, "registrants", "list", str(sid))
    assert table.returncode == 0 and "ana@example.org" in table.stdout
    assert "approved registrants of" in table.stdout and "Lima" in table.stdout

    approvals = tmp_path / "approve.csv"
    approvals.write_text("email\n" + "\n".join(f"p{i}@example.org" for i in range(2, 34)) + "\n")
    bulk_ok = zl(url, kind, "registrants", "approve", str(sid), "--from-file", str(approvals))
    assert bulk_ok.returncode == 0, bulk_ok.stderr
    assert len(listed(url, kind, sid, "approved")) == 34  # 32 sent as 30 + 2
    assert zl(url, kind, "registrants", "approve", str(sid)).returncode == 2  # nobody named
    p1 = next(r for r in listed(url, kind, sid, "pending") if r["email"] == "p1@example.org")
    assert zl(url, kind, "registrants", "deny", str(sid), p1["id"]).returncode == 0
    assert [r["email"] for r in listed(url, kind, sid, "denied")] == ["p1@example.org"]
    assert zl(url, kind, "registrants", "remove", str(sid), p1["id"]).returncode == 0
    assert listed(url, kind, sid, "denied") == []


def test_panelists_add_list_remove(url: str, tmp_path: Path) -> None:  # noqa: F811
    wid = str(create(url, "webinar"))
    one = zl(
        url, "webinar", "panelists", "add", wid, "--email", "chair@example.org", "--name", "Chair"
    )
    assert (one.returncode, one.stdout.strip()) == (0, "ok"), one.stderr
    sheet = tmp_path / "panel.csv"
    sheet.write_text(
        "email,first_name,last_name\ng1@example.org,Guest,One\ng2@example.org,Guest,Two\n"
    )
    assert zl(url, "webinar", "panelists", "add", wid, "--from-file", str(sheet)).returncode == 0
    shown = zl(url, "webinar", "panelists", "list", wid, "--json")
    panel = {p["email"]: p for p in json.loads(shown.stdout)}
    assert set(panel) == {"chair@example.org", "g1@example.org", "g2@example.org"}
    assert panel["g2@example.org"]["name"] == "Guest Two"
    table = zl(url, "webinar", "panelists", "list", wid)
    assert "chair@example.org" in table.stdout and "Chair" in table.stdout

    chair = panel["chair@example.org"]["id"]
    assert zl(url, "webinar", "panelists", "remove", wid, chair).returncode == 0
    left = json.loads(zl(url, "webinar", "panelists", "list", wid, "--json").stdout)
    assert sorted(p["email"] for p in left) == ["g1@example.org", "g2@example.org"]
    assert zl(url, "webinar", "panelists", "remove", wid, "--all").returncode == 0
    assert json.loads(zl(url, "webinar", "panelists", "list", wid, "--json").stdout) == []
    assert zl(url, "webinar", "panelists", "remove", wid).returncode == 2  # neither ids nor --all


def test_create_with_registration(url: str) -> None:  # noqa: F811
    made = zl(url, "webinar", "create", "--topic", "Open", "--registration", "auto", "--json")
    assert made.returncode == 0, made.stderr
    wid = str(json.loads(made.stdout)["id"])
    added = zl(
        url, "webinar", "registrants", "add", wid, "--email", "a@example.org", "--first-name", "A"
    )
    assert added.returncode == 0, added.stderr
    assert [r["email"] for r in listed(url, "webinar", int(wid), "approved")] == ["a@example.org"]
    off = zl(url, "meeting", "create", "--topic", "Closed", "--registration", "off", "--json")
    mid = str(json.loads(off.stdout)["id"])
    refused = zl(
        url, "meeting", "registrants", "add", mid, "--email", "a@example.org", "--first-name", "A"
    )
    assert refused.returncode == 1 and refused.stderr.startswith("Zoom error ")
    wrong = zl(url, "webinar", "create", "--topic", "X", "--registration", "maybe")
    assert wrong.returncode == 2 and "--registration" in wrong.stderr


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_join_token(url: str, kind: str) -> None:  # noqa: F811
    sid = str(create(url, kind))
    got = zl(url, kind, "join-token", sid, "--json")
    assert got.returncode == 0, got.stderr
    answer = json.loads(got.stdout)
    assert answer["token"] and answer["expire_in"] == 120
    plain = zl(url, kind, "join-token", sid)
    assert "expire_in: 120" in plain.stdout and "token: " in plain.stdout


def test_zoom_errors_and_usage(url: str, tmp_path: Path) -> None:  # noqa: F811
    missing = zl(url, "webinar", "registrants", "list", UNKNOWN)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"Zoom error 3001: Webinar does not exist: {UNKNOWN}."
    assert zl(url, "webinar", "panelists", "list", UNKNOWN).returncode == 1
    assert zl(url, "meeting", "join-token", UNKNOWN).returncode == 1
    sid = str(create(url, "webinar", settings={"approval_type": 1}))
    bad_email = zl(
        url, "webinar", "registrants", "add", sid, "--email", "nope", "--first-name", "A"
    )
    assert bad_email.returncode == 2
    assert bad_email.stderr.strip() == "zoomlive: email: Value error, not an email address"
    assert zl(url, "webinar", "registrants", "add", sid).returncode == 2
    assert zl(url, "webinar", "registrants", "list", sid, "--status", "late").returncode == 2
    no_email = tmp_path / "bad.csv"
    no_email.write_text("name\nA\n")
    assert (
        zl(url, "webinar", "registrants", "add", sid, "--from-file", str(no_email)).returncode == 2
    )
    assert zl(url, "meeting", "panelists", "list", sid).returncode == 2  # webinars only
