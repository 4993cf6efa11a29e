"""Users through the SDK, sync and async, in process and over a socket: a user created, listed,
changed, their settings updated, their token fetched, then deleted; unknown users raise the
SDK's typed errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import zoomlive
from tests.sdk.test_sdk_registrants import open_emulator
from tests.sdk.test_sdk_retries import Emulator
from tests.support.sdk import Both
from zoomlive.api import users as u


@pytest.fixture(params=["inprocess", "socket"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    yield from open_emulator(request)


@pytest.fixture(params=["sync", "async"])
def sdk(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Both]:
    both = emulator.sdk(request.param)
    yield both
    both.close()


def test_user_created_listed_updated_and_deleted(sdk: Both) -> None:
    users = sdk.client.users
    made = sdk.run(users.create("Ana@Example.org", action="custCreate", first_name="Ana"))
    assert isinstance(made, u.UserCreated)
    assert (made.email, made.first_name, made.type) == ("ana@example.org", "Ana", 1)
    invited = sdk.run(users.create("bo@example.org"))
    emails = [user["email"] for user in sdk.collect(users.list(page_size=1))]
    assert emails == ["host@example.com", "ana@example.org"]  # two pages of one
    page = sdk.run(users.page(status="pending"))
    assert isinstance(page, u.UserList)
    assert [user["id"] for user in page.users] == [invited.id]

    assert sdk.run(users.update(made.id, last_name="Lima", dept="Live")) is None
    got = sdk.run(users.get("ana@example.org"))
    assert (got.last_name, got.dept) == ("Lima", "Live")

    settings = sdk.run(users.settings(made.id))
    assert isinstance(settings, u.UserSettings)
    before = settings.model_dump()["in_meeting"]["chat"]
    patch = {"in_meeting": {"chat": not before}}
    assert sdk.run(users.update_settings(made.id, patch)) is None
    after = sdk.run(users.settings(made.id)).model_dump()["in_meeting"]["chat"]
    assert after is (not before)

    token = sdk.run(users.token(type="zak"))
    assert isinstance(token, u.UserToken) and len(token.token) > 20

    assert sdk.run(users.delete(made.id, action="delete")) is None
    with pytest.raises(zoomlive.NotFoundError) as caught:
        sdk.run(users.get(made.id))
    assert caught.value.code == 1001
    emails = [user["email"] for user in sdk.collect(users.list())]
    assert "ana@example.org" not in emails


def test_user_errors_are_typed(sdk: Both) -> None:
    users = sdk.client.users
    with pytest.raises(zoomlive.NotFoundError) as caught:
        sdk.run(users.token("nobody@example.org"))
    assert (caught.value.status_code, caught.value.code) == (404, 1001)
    with pytest.raises(zoomlive.NotFoundError):
        sdk.run(users.settings("nobody@example.org"))
    with pytest.raises(zoomlive.BadRequestError) as caught:
        sdk.run(users.delete("me"))
    assert caught.value.code == 1117
    for bad in (
        lambda: users.create("not-an-email"),
        lambda: users.update("me", pmi=12),
        lambda: users.token(type="jwt"),  # type: ignore[arg-type]
        lambda: users.delete("me", action="erase"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValueError):
            bad()
