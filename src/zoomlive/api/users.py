"""Wire models of users, their settings and tokens, join tokens and past sessions.

Settings bodies are validated against Zoom's document (hundreds of fields); the models here only
carry them through.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from zoomlive.api.wire import Request, Response


class UserListQuery(Request):
    """``GET /users``."""

    status: Literal["active", "inactive", "pending"] = "active"
    page_size: int = Field(default=30, ge=1, le=2**31 - 1)
    role_id: str | None = Field(default=None, max_length=16)
    page_number: int | None = Field(default=None, ge=1, le=2**31 - 1)
    next_page_token: str | None = None
    license: str | None = None
    include_fields: str | None = None


class UserInfoCreate(Request):
    email: str = Field(min_length=3, max_length=128, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    type: Literal[1, 2, 4, 99] = 1
    first_name: str = Field(default="", max_length=64)
    last_name: str = Field(default="", max_length=64)
    display_name: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, max_length=32)
    feature: dict[str, Any] | None = None
    plan_united_type: str | None = None


class UserCreate(Request):
    """``POST /users``."""

    action: Literal["create", "autoCreate", "custCreate", "ssoCreate"]
    user_info: UserInfoCreate


class UserCreated(Response):
    id: str
    first_name: str
    last_name: str
    email: str
    type: int


class UserUpdate(Request):
    """``PATCH /users/{userId}``: the profile fields Zoom lets a caller set."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    first_name: str | None = Field(default=None, max_length=64)
    last_name: str | None = Field(default=None, max_length=64)
    display_name: str | None = Field(default=None, max_length=128)
    type: Literal[1, 2, 4, 99] | None = None
    timezone: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    dept: str | None = Field(default=None, max_length=128)
    job_title: str | None = Field(default=None, max_length=128)
    company: str | None = Field(default=None, max_length=255)
    location: str | None = Field(default=None, max_length=256)
    pmi: int | None = Field(default=None, ge=1000000000, le=9999999999)
    use_pmi: bool | None = None
    vanity_name: str | None = Field(default=None, max_length=64)
    host_key: str | None = Field(default=None, pattern=r"^[0-9]{6,10}$")
    cms_user_id: str | None = Field(default=None, max_length=64)
    manager: str | None = Field(default=None, max_length=128)
    pronouns: str | None = Field(default=None, max_length=100)
    pronouns_option: Literal[1, 2, 3] | None = None
    phone_number: str | None = Field(default=None, max_length=32)
    phone_country: str | None = Field(default=None, max_length=8)
    phone_numbers: list[dict[str, Any]] | None = None
    custom_attributes: list[dict[str, Any]] | None = None
    group_id: str | None = Field(default=None, max_length=64)


class UserDeleteQuery(Request):
    """``DELETE /users/{userId}``."""

    action: Literal["disassociate", "delete"] = "disassociate"
    encrypted_email: bool = False
    transfer_email: str | None = None
    transfer_meeting: bool = False
    transfer_webinar: bool = False
    transfer_recording: bool = False
    transfer_whiteboard: bool = False


class UserSettingsQuery(Request):
    """``GET /users/{userId}/settings``."""

    login_type: int | None = None
    option: (
        Literal["meeting_authentication", "recording_authentication", "meeting_security"] | None
    ) = None
    custom_query_fields: str | None = None


class UserSettingsPatch(Request):
    """``PATCH /users/{userId}/settings``: sections of settings, validated against the
    document's schema by the rule."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class UserSettingsPatchQuery(Request):
    option: (
        Literal["meeting_authentication", "recording_authentication", "meeting_security"] | None
    ) = None


class UserSettings(Response):
    """``GET /users/{userId}/settings`` (every section Zoom documents)."""


class UserList(Response):
    page_size: int
    total_records: int
    next_page_token: str
    users: list[dict[str, Any]]


class UserTokenQuery(Request):
    """``GET /users/{userId}/token``."""

    type: Literal["token", "zak"] = "token"
    ttl: int | None = Field(default=None, ge=1, le=7776000)


class UserToken(Response):
    token: str


class JoinTokenAnswer(Response):
    """``GET /meetings|webinars/{id}/jointoken/{purpose}``."""

    token: str
    expire_in: int


class PastListQuery(Request):
    """Paged lists of past sessions' participants."""

    page_size: int = Field(default=30, ge=1, le=2**31 - 1)
    next_page_token: str | None = None


class PastInstances(Response):
    meetings: list[dict[str, Any]] | None = None
    webinars: list[dict[str, Any]] | None = None


class PastDetails(Response):
    """``GET /past_meetings/{meetingId}`` or ``/past_webinars/{webinarId}``."""


class PastParticipants(Response):
    page_size: int
    total_records: int
    next_page_token: str
    participants: list[dict[str, Any]]
