"""The operation catalog: every Zoom operation the project knows, named once.

The emulator's routing, scope check and (later) rate limiter, the SDK's paths, ``/openapi.json``
and ``docs/operations.md`` all read this table. Adding an operation is one row here plus its
backend rule in the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from zoomlive.api import registrants as r
from zoomlive.api import wire as w

Label = Literal["Light", "Medium", "Heavy", "Resource-intensive"]


@dataclass(frozen=True)
class AlreadyDone:
    """An error answer that means "already as asked" when it answers a call sent again: a
    delete finds the session gone, a meeting's live-stream start finds the start throttled."""

    status: int
    code: int
    message_prefix: str = ""

    def matches(self, status: int, code: int | None, message: str) -> bool:
        return (status, code) == (self.status, self.code) and message.startswith(
            self.message_prefix
        )


GONE = AlreadyDone(404, 3001)
"""Zoom's 3001 "does not exist" to a delete: what was to be deleted is gone."""
START_THROTTLED = AlreadyDone(429, 429, "Too many requests submitted to start the livestream")
"""Zoom's 30-second throttle of a meeting's live-stream start: it refuses a start this soon
after one it accepted ("If the livestream has not already started, retry ... after 30
seconds."), so right after a start whose answer was lost, that accepted start was this one."""
REGISTRANT_GONE = AlreadyDone(400, 3000, "Registrant ")
"""Zoom's "Registrant {id} was not found." to a registrant's delete sent again."""
PANELIST_GONE = AlreadyDone(404, 3001, "Panelist does not exist")
"""The emulator's answer to a panelist's delete sent again (see docs/fidelity.md)."""


@dataclass(frozen=True)
class Operation:
    """One Zoom API operation."""

    operation_id: str
    """Zoom's own operationId (2022 spec)."""
    method: str
    path: str
    """Path under ``/v2``, with ``{param}`` placeholders as in Zoom's spec."""
    label: Label
    """Zoom's rate-limit label."""
    classic_scopes: tuple[str, ...]
    granular_scopes: tuple[str, ...]
    summary: str
    success_status: int
    idempotent: bool
    """Does sending it twice leave Zoom as sending it once? Reads (GET), PUT, DELETE and the
    PATCHes that set a state (an update sets the given fields; a live stream's configuration is
    replaced whole; start, stop and ``mode`` set the stream's state) are; the creates (POST) are
    not: each one makes another webinar or meeting. The SDK sends an idempotent call again after
    its answer was lost, and never one that is not. Every operation says which it is.
    """
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    tags: tuple[str, ...] = field(default=())
    test: str = ""
    """The test that shows this operation's stateful behaviour end to end
    (``tests/emulator/test_x.py::test_y``): docs/coverage.md names it, and a test checks that it
    exists (tests/emulator/test_coverage.py)."""
    already_done: tuple[AlreadyDone, ...] = field(default=())
    """Error answers that, to this call sent again after an earlier try's answer was lost, say
    that the earlier try took effect: the SDK counts the call as done."""

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope that grants this operation (any one is enough)."""
        return self.classic_scopes + self.granular_scopes

    @property
    def full_path(self) -> str:
        return "/v2" + self.path

    def format_path(self, **params: str | int) -> str:
        """The path under ``/v2`` with its ``{param}`` placeholders filled in."""
        return self.path.format(**{name: str(value) for name, value in params.items()})


def _admin(*scopes: str) -> tuple[str, ...]:
    out: list[str] = []
    for scope in scopes:
        out += [scope, scope + ":admin"]
    return tuple(out)


def _master(scope: str) -> tuple[str, ...]:
    """Granular live-stream scopes come in user, ``:admin`` and ``:master`` variants."""
    return (scope, scope + ":admin", scope + ":master")


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        operation_id="user",
        test="tests/emulator/test_webinars.py::test_users_me_id_and_email",
        method="GET",
        path="/users/{userId}",
        label="Light",
        classic_scopes=_admin("user:read"),
        granular_scopes=_admin("user:read:user"),
        summary="Get a user (id, email or `me`).",
        success_status=200,
        idempotent=True,
        response_model=w.UserInfo,
        tags=("Users",),
    ),
    Operation(
        operation_id="webinarCreate",
        test="tests/emulator/test_webinars.py::test_create_webinar_returns_zooms_creation_body",
        method="POST",
        path="/users/{userId}/webinars",
        label="Light",
        classic_scopes=_admin("webinar:write"),
        granular_scopes=_admin("webinar:write:webinar"),
        summary="Create a webinar for a user.",
        success_status=201,
        idempotent=False,
        request_model=w.WebinarCreate,
        response_model=w.Webinar,
        tags=("Webinars",),
    ),
    Operation(
        operation_id="webinars",
        test="tests/emulator/test_webinars.py::test_list_webinars_paginates",
        method="GET",
        path="/users/{userId}/webinars",
        label="Medium",
        classic_scopes=_admin("webinar:read"),
        granular_scopes=_admin("webinar:read:list_webinars"),
        summary="List a user's webinars.",
        success_status=200,
        idempotent=True,
        response_model=w.WebinarList,
        query_model=w.WebinarListQuery,
        tags=("Webinars",),
    ),
    Operation(
        operation_id="webinar",
        test="tests/emulator/test_webinars.py::test_get_unknown_and_invalid_ids",
        method="GET",
        path="/webinars/{webinarId}",
        label="Light",
        classic_scopes=_admin("webinar:read"),
        granular_scopes=_admin("webinar:read:webinar"),
        summary="Get a webinar (id or UUID).",
        success_status=200,
        idempotent=True,
        response_model=w.Webinar,
        query_model=w.OccurrenceQuery,
        tags=("Webinars",),
    ),
    Operation(
        operation_id="webinarUpdate",
        test="tests/emulator/test_webinars.py::test_update_webinar",
        method="PATCH",
        path="/webinars/{webinarId}",
        label="Light",
        classic_scopes=_admin("webinar:write"),
        granular_scopes=_admin("webinar:update:webinar"),
        summary="Update a webinar.",
        success_status=204,
        idempotent=True,
        request_model=w.WebinarUpdate,
        query_model=w.OccurrenceQuery,
        tags=("Webinars",),
    ),
    Operation(
        operation_id="webinarDelete",
        test="tests/emulator/test_webinars.py::test_delete_by_status",
        already_done=(GONE,),
        method="DELETE",
        path="/webinars/{webinarId}",
        label="Light",
        classic_scopes=_admin("webinar:write"),
        granular_scopes=_admin("webinar:delete:webinar"),
        summary="Delete a webinar.",
        success_status=204,
        idempotent=True,
        query_model=w.OccurrenceQuery,
        tags=("Webinars",),
    ),
    Operation(
        operation_id="webinarStatus",
        test="tests/emulator/test_webinars.py::test_end_webinar",
        method="PUT",
        path="/webinars/{webinarId}/status",
        label="Light",
        classic_scopes=_admin("webinar:write"),
        granular_scopes=_admin("webinar:update:status"),
        summary="End a webinar (`action: end`).",
        success_status=204,
        idempotent=True,
        request_model=w.WebinarStatusUpdate,
        tags=("Webinars",),
    ),
    Operation(
        operation_id="getWebinarLiveStreamDetails",
        test="tests/emulator/test_livestream.py::test_configure_then_get",
        method="GET",
        path="/webinars/{webinarId}/livestream",
        label="Light",
        classic_scopes=_admin("webinar:read"),
        granular_scopes=_master("webinar:read:livestream"),
        summary="Get a webinar's live stream configuration.",
        success_status=200,
        idempotent=True,
        response_model=w.LiveStreamDetails,
        tags=("Live streams",),
    ),
    Operation(
        operation_id="webinarLiveStreamUpdate",
        test="tests/emulator/test_livestream.py::test_configure_then_get",
        method="PATCH",
        path="/webinars/{webinarId}/livestream",
        label="Light",
        classic_scopes=_admin("webinar:write"),
        granular_scopes=_master("webinar:update:livestream"),
        summary="Configure a webinar's custom live stream (URL, key, page, resolution).",
        success_status=204,
        idempotent=True,
        request_model=w.LiveStreamUpdate,
        tags=("Live streams",),
    ),
    Operation(
        operation_id="webinarLiveStreamStatusUpdate",
        test="tests/emulator/test_livestream.py::test_start_and_stop_a_webinar_stream",
        method="PATCH",
        path="/webinars/{webinarId}/livestream/status",
        label="Light",
        classic_scopes=_admin("webinar:write"),
        granular_scopes=_master("webinar:update:livestream_status"),
        summary="Start or stop a webinar's live stream, or change its settings while stopped.",
        success_status=204,
        idempotent=True,
        request_model=w.WebinarLiveStreamStatus,
        tags=("Live streams",),
    ),
    Operation(
        operation_id="meetingCreate",
        test="tests/emulator/test_meetings.py::test_create_get_update_delete",
        method="POST",
        path="/users/{userId}/meetings",
        label="Light",
        classic_scopes=_admin("meeting:write"),
        granular_scopes=_admin("meeting:write:meeting"),
        summary="Create a meeting for a user.",
        success_status=201,
        idempotent=False,
        request_model=w.MeetingCreate,
        response_model=w.Meeting,
        tags=("Meetings",),
    ),
    Operation(
        operation_id="meetings",
        test="tests/emulator/test_meetings.py::test_list_by_type",
        method="GET",
        path="/users/{userId}/meetings",
        label="Medium",
        classic_scopes=_admin("meeting:read"),
        granular_scopes=_admin("meeting:read:list_meetings"),
        summary="List a user's meetings.",
        success_status=200,
        idempotent=True,
        response_model=w.MeetingList,
        query_model=w.MeetingListQuery,
        tags=("Meetings",),
    ),
    Operation(
        operation_id="meeting",
        test="tests/emulator/test_meetings.py::test_create_get_update_delete",
        method="GET",
        path="/meetings/{meetingId}",
        label="Light",
        classic_scopes=_admin("meeting:read"),
        granular_scopes=_admin("meeting:read:meeting"),
        summary="Get a meeting (id or UUID).",
        success_status=200,
        idempotent=True,
        response_model=w.Meeting,
        query_model=w.OccurrenceQuery,
        tags=("Meetings",),
    ),
    Operation(
        operation_id="meetingUpdate",
        test="tests/emulator/test_meetings.py::test_create_get_update_delete",
        method="PATCH",
        path="/meetings/{meetingId}",
        label="Light",
        classic_scopes=_admin("meeting:write"),
        granular_scopes=_admin("meeting:update:meeting"),
        summary="Update a meeting.",
        success_status=204,
        idempotent=True,
        request_model=w.MeetingUpdate,
        query_model=w.OccurrenceQuery,
        tags=("Meetings",),
    ),
    Operation(
        operation_id="meetingDelete",
        test="tests/emulator/test_meetings.py::test_create_get_update_delete",
        already_done=(GONE,),
        method="DELETE",
        path="/meetings/{meetingId}",
        label="Light",
        classic_scopes=_admin("meeting:write"),
        granular_scopes=_admin("meeting:delete:meeting"),
        summary="Delete a meeting.",
        success_status=204,
        idempotent=True,
        query_model=w.OccurrenceQuery,
        tags=("Meetings",),
    ),
    Operation(
        operation_id="meetingStatus",
        test="tests/emulator/test_livestream.py::test_ending_a_meeting_stops_its_stream",
        method="PUT",
        path="/meetings/{meetingId}/status",
        label="Light",
        classic_scopes=_admin("meeting:write"),
        granular_scopes=_admin("meeting:update:status"),
        summary="End a meeting (`action: end`; `recover`).",
        success_status=204,
        idempotent=True,
        request_model=w.MeetingStatusUpdate,
        tags=("Meetings",),
    ),
    Operation(
        operation_id="getMeetingLiveStreamDetails",
        test="tests/emulator/test_livestream.py::test_configure_then_get",
        method="GET",
        path="/meetings/{meetingId}/livestream",
        label="Light",
        classic_scopes=_admin("meeting:read"),
        granular_scopes=_master("meeting:read:livestream"),
        summary="Get a meeting's live stream configuration.",
        success_status=200,
        idempotent=True,
        response_model=w.LiveStreamDetails,
        tags=("Live streams",),
    ),
    Operation(
        operation_id="meetingLiveStreamUpdate",
        test="tests/emulator/test_livestream.py::test_configure_then_get",
        method="PATCH",
        path="/meetings/{meetingId}/livestream",
        label="Light",
        classic_scopes=_admin("meeting:write"),
        granular_scopes=_master("meeting:update:livestream"),
        summary="Configure a meeting's custom live stream.",
        success_status=204,
        idempotent=True,
        request_model=w.LiveStreamUpdate,
        tags=("Live streams",),
    ),
    Operation(
        operation_id="meetingLiveStreamStatusUpdate",
        test="tests/emulator/test_livestream.py::test_meeting_start_mode_stop",
        already_done=(START_THROTTLED,),
        method="PATCH",
        path="/meetings/{meetingId}/livestream/status",
        label="Light",
        classic_scopes=_admin("meeting:write"),
        granular_scopes=_master("meeting:update:livestream_status"),
        summary="Start, stop or change the view (`mode`) of a meeting's live stream.",
        success_status=204,
        idempotent=True,
        request_model=w.MeetingLiveStreamStatus,
        tags=("Live streams",),
    ),
    Operation(
        operation_id="webinarRegistrants",
        method="GET",
        path="/webinars/{webinarId}/registrants",
        label="Medium",
        classic_scopes=("webinar:read", "webinar:read:admin"),
        granular_scopes=("webinar:read:list_registrants", "webinar:read:list_registrants:admin"),
        summary="List a webinar's registrants (by status, paged).",
        success_status=200,
        idempotent=True,
        response_model=r.RegistrantList,
        query_model=r.RegistrantListQuery,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="webinarRegistrantCreate",
        method="POST",
        path="/webinars/{webinarId}/registrants",
        label="Light",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=("webinar:write:registrant", "webinar:write:registrant:admin"),
        summary="Register someone to a webinar.",
        success_status=201,
        idempotent=False,
        request_model=r.RegistrantCreate,
        response_model=r.RegistrantCreated,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="webinarRegistrantGet",
        method="GET",
        path="/webinars/{webinarId}/registrants/{registrantId}",
        label="Light",
        classic_scopes=("webinar:read", "webinar:read:admin"),
        granular_scopes=("webinar:read:registrant", "webinar:read:registrant:admin"),
        summary="Get a webinar registrant.",
        success_status=200,
        idempotent=True,
        response_model=r.Registrant,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="webinarRegistrantStatus",
        method="PUT",
        path="/webinars/{webinarId}/registrants/status",
        label="Medium",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=(
            "webinar:update:registrant_status",
            "webinar:update:registrant_status:admin",
        ),
        summary="Approve, deny or cancel webinar registrants.",
        success_status=204,
        idempotent=True,
        request_model=r.RegistrantStatusUpdate,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="deleteWebinarRegistrant",
        already_done=(REGISTRANT_GONE,),
        method="DELETE",
        path="/webinars/{webinarId}/registrants/{registrantId}",
        label="Light",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=("webinar:delete:registrant", "webinar:delete:registrant:admin"),
        summary="Delete a webinar registrant.",
        success_status=204,
        idempotent=True,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="webinarRegistrantsQuestionsGet",
        method="GET",
        path="/webinars/{webinarId}/registrants/questions",
        label="Light",
        classic_scopes=("webinar:read", "webinar:read:admin"),
        granular_scopes=(
            "webinar:read:list_registration_questions",
            "webinar:read:list_registration_questions:admin",
        ),
        summary="Get a webinar's registration questions.",
        success_status=200,
        idempotent=True,
        response_model=r.RegistrationQuestions,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_questions_round_trip",
    ),
    Operation(
        operation_id="webinarRegistrantQuestionUpdate",
        method="PATCH",
        path="/webinars/{webinarId}/registrants/questions",
        label="Light",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=(
            "webinar:update:registration_question",
            "webinar:update:registration_question:admin",
        ),
        summary="Update a webinar's registration questions.",
        success_status=204,
        idempotent=True,
        request_model=r.QuestionsUpdate,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_questions_round_trip",
    ),
    Operation(
        operation_id="meetingRegistrants",
        method="GET",
        path="/meetings/{meetingId}/registrants",
        label="Medium",
        classic_scopes=("meeting:read", "meeting:read:admin"),
        granular_scopes=("meeting:read:list_registrants", "meeting:read:list_registrants:admin"),
        summary="List a meeting's registrants (by status, paged).",
        success_status=200,
        idempotent=True,
        response_model=r.RegistrantList,
        query_model=r.RegistrantListQuery,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="meetingRegistrantCreate",
        method="POST",
        path="/meetings/{meetingId}/registrants",
        label="Light",
        classic_scopes=("meeting:write", "meeting:write:admin"),
        granular_scopes=("meeting:write:registrant", "meeting:write:registrant:admin"),
        summary="Register someone to a meeting.",
        success_status=201,
        idempotent=False,
        request_model=r.MeetingRegistrantCreate,
        response_model=r.RegistrantCreated,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="meetingRegistrantGet",
        method="GET",
        path="/meetings/{meetingId}/registrants/{registrantId}",
        label="Light",
        classic_scopes=("meeting:read", "meeting:read:admin"),
        granular_scopes=("meeting:read:registrant", "meeting:read:registrant:admin"),
        summary="Get a meeting registrant.",
        success_status=200,
        idempotent=True,
        response_model=r.Registrant,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="meetingRegistrantStatus",
        method="PUT",
        path="/meetings/{meetingId}/registrants/status",
        label="Medium",
        classic_scopes=("meeting:write", "meeting:write:admin"),
        granular_scopes=(
            "meeting:update:registrant_status",
            "meeting:update:registrant_status:admin",
        ),
        summary="Approve, deny or cancel meeting registrants.",
        success_status=204,
        idempotent=True,
        request_model=r.RegistrantStatusUpdate,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="meetingregistrantdelete",
        already_done=(REGISTRANT_GONE,),
        method="DELETE",
        path="/meetings/{meetingId}/registrants/{registrantId}",
        label="Light",
        classic_scopes=("meeting:write", "meeting:write:admin"),
        granular_scopes=("meeting:delete:registrant", "meeting:delete:registrant:admin"),
        summary="Delete a meeting registrant.",
        success_status=204,
        idempotent=True,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_manual_approval_flow",
    ),
    Operation(
        operation_id="meetingRegistrantsQuestionsGet",
        method="GET",
        path="/meetings/{meetingId}/registrants/questions",
        label="Light",
        classic_scopes=("meeting:read", "meeting:read:admin"),
        granular_scopes=(
            "meeting:read:list_registration_questions",
            "meeting:read:list_registration_questions:admin",
        ),
        summary="Get a meeting's registration questions.",
        success_status=200,
        idempotent=True,
        response_model=r.RegistrationQuestions,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_questions_round_trip",
    ),
    Operation(
        operation_id="meetingRegistrantQuestionUpdate",
        method="PATCH",
        path="/meetings/{meetingId}/registrants/questions",
        label="Light",
        classic_scopes=("meeting:write", "meeting:write:admin"),
        granular_scopes=(
            "meeting:update:registration_question",
            "meeting:update:registration_question:admin",
        ),
        summary="Update a meeting's registration questions.",
        success_status=204,
        idempotent=True,
        request_model=r.MeetingQuestionsUpdate,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_questions_round_trip",
    ),
    Operation(
        operation_id="webinarPanelists",
        method="GET",
        path="/webinars/{webinarId}/panelists",
        label="Medium",
        classic_scopes=("webinar:read", "webinar:read:admin"),
        granular_scopes=("webinar:read:list_panelists", "webinar:read:list_panelists:admin"),
        summary="List a webinar's panelists.",
        success_status=200,
        idempotent=True,
        response_model=r.PanelistList,
        tags=("Panelists",),
        test="tests/emulator/test_panelists.py::test_add_list_and_remove",
    ),
    Operation(
        operation_id="webinarPanelistCreate",
        method="POST",
        path="/webinars/{webinarId}/panelists",
        label="Medium",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=("webinar:write:panelist", "webinar:write:panelist:admin"),
        summary="Add panelists to a webinar (up to 30 per call).",
        success_status=201,
        idempotent=False,
        request_model=r.PanelistCreate,
        response_model=r.PanelistsAdded,
        tags=("Panelists",),
        test="tests/emulator/test_panelists.py::test_add_list_and_remove",
    ),
    Operation(
        operation_id="webinarPanelistDelete",
        already_done=(PANELIST_GONE,),
        method="DELETE",
        path="/webinars/{webinarId}/panelists/{panelistId}",
        label="Light",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=("webinar:delete:panelist", "webinar:delete:panelist:admin"),
        summary="Remove a panelist from a webinar.",
        success_status=204,
        idempotent=True,
        tags=("Panelists",),
        test="tests/emulator/test_panelists.py::test_add_list_and_remove",
    ),
    Operation(
        operation_id="webinarPanelistsDelete",
        method="DELETE",
        path="/webinars/{webinarId}/panelists",
        label="Light",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=("webinar:delete:panelist", "webinar:delete:panelist:admin"),
        summary="Remove all of a webinar's panelists.",
        success_status=204,
        idempotent=True,
        tags=("Panelists",),
        test="tests/emulator/test_panelists.py::test_add_list_and_remove",
    ),
    Operation(
        operation_id="meetingInvitation",
        method="GET",
        path="/meetings/{meetingId}/invitation",
        label="Light",
        classic_scopes=("meeting:read", "meeting:read:admin"),
        granular_scopes=("meeting:read:invitation", "meeting:read:invitation:admin"),
        summary="Get a meeting's invitation text.",
        success_status=200,
        idempotent=True,
        response_model=r.MeetingInvitation,
        tags=("Meetings",),
        test="tests/emulator/test_panelists.py::test_meeting_invitation_names_topic_and_join_url",
    ),
    Operation(
        operation_id="addBatchWebinarRegistrants",
        method="POST",
        path="/webinars/{webinarId}/batch_registrants",
        label="Heavy",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=(
            "webinar:write:batch_registrants",
            "webinar:write:batch_registrants:admin",
        ),
        summary="Register up to 30 people to a scheduled webinar at once.",
        success_status=201,
        idempotent=False,
        request_model=r.BatchRegistrantCreate,
        response_model=r.BatchRegistrants,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_batch_registration",
    ),
    Operation(
        operation_id="addBatchRegistrants",
        method="POST",
        path="/meetings/{meetingId}/batch_registrants",
        label="Heavy",
        classic_scopes=("meeting:write", "meeting:write:admin"),
        granular_scopes=(
            "meeting:write:batch_registrants",
            "meeting:write:batch_registrants:admin",
        ),
        summary="Register up to 30 people to a scheduled meeting at once.",
        success_status=201,
        idempotent=False,
        request_model=r.BatchRegistrantCreate,
        response_model=r.BatchRegistrants,
        tags=("Registrants",),
        test="tests/emulator/test_registrants.py::test_batch_registration",
    ),
    Operation(
        operation_id="meetingInviteLinksCreate",
        method="POST",
        path="/meetings/{meetingId}/invite_links",
        label="Light",
        classic_scopes=("meeting:write", "meeting:write:admin"),
        granular_scopes=("meeting:write:invite_links", "meeting:write:invite_links:admin"),
        summary="Make join links for named attendees of a meeting.",
        success_status=201,
        idempotent=False,
        request_model=r.InviteLinksCreate,
        response_model=r.InviteLinks,
        tags=("Meetings",),
        test="tests/emulator/test_panelists.py::test_invite_links",
    ),
    Operation(
        operation_id="webinarInviteLinksCreate",
        method="POST",
        path="/webinars/{webinarId}/invite_links",
        label="Light",
        classic_scopes=("webinar:write", "webinar:write:admin"),
        granular_scopes=("webinar:write:invite_links", "webinar:write:invite_links:admin"),
        summary="Make join links for named attendees of a webinar.",
        success_status=201,
        idempotent=False,
        request_model=r.InviteLinksCreate,
        response_model=r.InviteLinks,
        tags=("Webinars",),
        test="tests/emulator/test_panelists.py::test_invite_links",
    ),
)

BY_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATIONS}


def all_scopes() -> list[str]:
    """Every scope the emulator knows, sorted: the catalog's, and for each other operation of
    Zoom's documents (the spec tier) that none of them grants, one classic scope that does (its
    ``:admin`` one first). Few: a token's scopes are read on every call."""
    from zoomlive.api import zoomdoc  # not for the SDK's calls: the emulator's seeds need it

    known = {scope for op in OPERATIONS for scope in op.scopes}
    for doc_op in zoomdoc.operations():
        grants = [s.strip() for s in (*doc_op.classic_scopes, *doc_op.granular_scopes)]
        if grants and known.isdisjoint(grants):
            classic = [s.strip() for s in doc_op.classic_scopes]
            admin = [s for s in classic if s.endswith(":admin")]
            known.add((admin or classic or grants)[0])
    return sorted(known)
