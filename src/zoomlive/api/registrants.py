"""Wire models of registrants, registration questions, webinar panelists and meeting
invitations, as Zoom's Meetings API document describes them.

Requests ignore unknown fields and reject wrong types and values (Zoom's 300); responses keep
unknown fields. Field limits are the document's (``maxLength``, enums, ``maximum`` on lists).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from zoomlive.api.wire import Request, Response

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an email address")
    return value


Email = Annotated[str, Field(max_length=128), AfterValidator(_check_email)]

EmployeeCount = Literal[
    "",
    "1-20",
    "21-50",
    "51-100",
    "101-250",
    "251-500",
    "101-500",
    "500-1,000",
    "501-1,000",
    "1,001-5,000",
    "5,001-10,000",
    "More than 10,000",
]
"""Both of the document's lists (the create body's and the registrant's differ)."""
TimeFrame = Literal[
    "", "Within a month", "1-3 months", "4-6 months", "More than 6 months", "No timeframe"
]
PurchaseRole = Literal["", "Decision Maker", "Evaluator/Recommender", "Influencer", "Not involved"]
Language = Literal[
    "en-US",
    "de-DE",
    "es-ES",
    "fr-FR",
    "jp-JP",
    "pt-PT",
    "ru-RU",
    "zh-CN",
    "zh-TW",
    "ko-KO",
    "it-IT",
    "vi-VN",
    "pl-PL",
    "Tr-TR",
]
FormField = Literal[
    "last_name",
    "address",
    "city",
    "country",
    "zip",
    "state",
    "phone",
    "industry",
    "org",
    "job_title",
    "purchasing_time_frame",
    "role_in_purchase_process",
    "no_of_employees",
    "comments",
]
"""The standard questions a registration form may ask, besides first name and email."""

DETAIL_FIELDS: tuple[str, ...] = (
    "address",
    "city",
    "country",
    "zip",
    "state",
    "phone",
    "industry",
    "org",
    "job_title",
    "purchasing_time_frame",
    "role_in_purchase_process",
    "no_of_employees",
    "comments",
)
"""The registrant's text fields besides names and email (Zoom shows ``""`` when not given)."""


# registrants ---------------------------------------------------------------------------------
class CustomAnswer(Request):
    title: str = Field(max_length=256)
    value: str = Field(default="", max_length=128)


class RegistrantCreate(Request):
    """``POST /webinars/{webinarId}/registrants`` body."""

    first_name: str = Field(min_length=1, max_length=64)
    last_name: str = Field(default="", max_length=64)
    email: Email
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    phone: str | None = None
    comments: str | None = None
    custom_questions: list[CustomAnswer] | None = None
    industry: str | None = None
    job_title: str | None = None
    no_of_employees: EmployeeCount | None = None
    org: str | None = None
    purchasing_time_frame: TimeFrame | None = None
    role_in_purchase_process: PurchaseRole | None = None
    language: Language | None = None
    source_id: str | None = None


class MeetingRegistrantCreate(RegistrantCreate):
    """``POST /meetings/{meetingId}/registrants`` body."""

    auto_approve: bool | None = None
    """Approve at once even where the meeting approves registrants manually."""


class BatchPerson(Request):
    email: Email
    first_name: str = Field(min_length=1, max_length=64)
    last_name: str = Field(default="", max_length=64)


class BatchRegistrantCreate(Request):
    """``POST /webinars|meetings/{id}/batch_registrants`` body."""

    auto_approve: bool | None = None
    registrants_confirmation_email: bool | None = None
    registrants: list[BatchPerson] | None = Field(default=None, max_length=30)
    """Up to 30 registrants at once."""


class BatchRegistrants(Response):
    """The answer to a batch registration: each registrant's id and join link."""

    registrants: list[dict[str, Any]] = Field(default_factory=list)


class RegistrantListQuery(Request):
    """Query string of ``GET /webinars|meetings/{id}/registrants``."""

    status: Literal["pending", "approved", "denied"] = "approved"
    occurrence_id: str | None = None
    tracking_source_id: str | None = None
    page_size: int = Field(default=30, ge=1, le=2**31 - 1)
    """At most 300 (more is served as 300)."""
    page_number: int | None = Field(default=None, ge=1, le=2**31 - 1)
    next_page_token: str | None = None


class RegistrantRef(Request):
    id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=128)


class RegistrantStatusUpdate(Request):
    """``PUT /webinars|meetings/{id}/registrants/status`` body."""

    action: Literal["approve", "deny", "cancel"]
    registrants: list[RegistrantRef] | None = Field(default=None, max_length=30)
    """Up to 30 registrants, each by ``id`` or ``email``."""


class Registrant(Response):
    """A registrant as ``GET .../registrants/{registrantId}`` and the list return it."""

    id: str
    first_name: str
    last_name: str = ""
    email: str
    address: str = ""
    city: str = ""
    country: str = ""
    zip: str = ""
    state: str = ""
    phone: str = ""
    industry: str = ""
    org: str = ""
    job_title: str = ""
    purchasing_time_frame: str = ""
    role_in_purchase_process: str = ""
    no_of_employees: str = ""
    comments: str = ""
    custom_questions: list[dict[str, Any]] = Field(default_factory=list)
    language: str | None = None
    status: str
    create_time: str | None = None
    join_url: str | None = None
    participant_pin_code: int | None = None
    """Meetings only."""


class RegistrantList(Response):
    page_size: int
    total_records: int
    next_page_token: str = ""
    page_count: int | None = None
    page_number: int | None = None
    registrants: list[Registrant] = Field(default_factory=list)


class RegistrantCreated(Response):
    """The answer to a registration."""

    id: int
    """The webinar's or meeting's id."""
    registrant_id: str
    join_url: str
    topic: str = ""
    start_time: str | None = None
    occurrences: list[dict[str, Any]] | None = None
    participant_pin_code: int | None = None


# registration questions ----------------------------------------------------------------------
class StandardQuestion(Request):
    field_name: FormField
    required: bool = False


class CustomQuestion(Request):
    title: str = Field(min_length=1, max_length=256)
    type: Literal["short", "single_radio", "single_dropdown", "multiple"] = "short"
    required: bool = False
    answers: list[Annotated[str, Field(max_length=256)]] | None = None


class MeetingCustomQuestion(CustomQuestion):
    type: Literal["short", "single"] = "short"  # type: ignore[assignment]


class QuestionsUpdate(Request):
    """``PATCH /webinars/{webinarId}/registrants/questions`` body."""

    questions: list[StandardQuestion] | None = None
    custom_questions: list[CustomQuestion] | None = None


class MeetingQuestionsUpdate(QuestionsUpdate):
    """``PATCH /meetings/{meetingId}/registrants/questions`` body."""

    custom_questions: list[MeetingCustomQuestion] | None = None  # type: ignore[assignment]


class RegistrationQuestions(Response):
    questions: list[dict[str, Any]] = Field(default_factory=list)
    custom_questions: list[dict[str, Any]] = Field(default_factory=list)


# panelists -----------------------------------------------------------------------------------
class PanelistIn(Request):
    email: Email
    name: str = Field(min_length=1, max_length=200)
    virtual_background_id: str | None = None
    name_tag_id: str | None = None
    name_tag_name: str | None = None
    name_tag_pronouns: str | None = None
    name_tag_description: str | None = None


PANELIST_DETAILS = (
    "virtual_background_id",
    "name_tag_id",
    "name_tag_name",
    "name_tag_pronouns",
    "name_tag_description",
)


class PanelistCreate(Request):
    """``POST /webinars/{webinarId}/panelists`` body."""

    panelists: list[PanelistIn] = Field(min_length=1, max_length=30)
    """Up to 30 per call (the document's maximum)."""


class Panelist(Response):
    id: str
    email: str
    name: str
    join_url: str | None = None
    virtual_background_id: str = ""
    name_tag_id: str = ""
    name_tag_name: str = ""
    name_tag_pronouns: str = ""
    name_tag_description: str = ""


class PanelistList(Response):
    total_records: int
    panelists: list[Panelist] = Field(default_factory=list)


class PanelistsAdded(Response):
    id: str
    """The webinar's id."""
    updated_at: str


# invitations ---------------------------------------------------------------------------------
class InviteAttendee(Request):
    name: str = Field(min_length=1, max_length=64)
    disable_video: bool = False
    disable_audio: bool = False


class InviteLinksCreate(Request):
    """``POST /meetings|webinars/{id}/invite_links`` body."""

    attendees: list[InviteAttendee] = Field(min_length=1, max_length=500)
    ttl: int = Field(default=7200, ge=0, le=7_776_000)
    """Seconds the links stay valid (default 2 hours, at most 90 days)."""


class InviteLinks(Response):
    attendees: list[dict[str, Any]] = Field(default_factory=list)
    """``{name, join_url}`` per attendee, in the order given."""


class MeetingInvitation(Response):
    """``GET /meetings/{meetingId}/invitation``."""

    invitation: str
    sip_links: list[str] = Field(default_factory=list)
