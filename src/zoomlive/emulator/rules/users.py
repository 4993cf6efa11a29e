"""Users: ``GET /users/{userId}`` (an id, an email, or ``me``)."""

from __future__ import annotations

from zoomlive.api import wire as w
from zoomlive.api.errors import ZoomError
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import Call, Result, find_user
from zoomlive.emulator.store import Tx, User


def user_view(user: User) -> w.UserInfo:
    return w.UserInfo(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        display_name=f"{user.first_name} {user.last_name}".strip(),
        email=user.email,
        type=user.type,
        role_name="Owner",
        timezone=user.timezone,
        created_at=w.zoom_time(user.created_at),
        user_created_at=w.zoom_time(user.created_at),
        account_id=user.account_id,
    )


def get_user(env: Env, tx: Tx, call: Call) -> Result:
    user_id = call.path["userId"]
    user = find_user(tx, call.principal, user_id)
    if user is None:
        raise ZoomError(404, 1001, f"User does not exist: {user_id}.")
    return Result(200, user_view(user))
