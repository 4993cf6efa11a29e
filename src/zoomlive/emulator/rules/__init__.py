"""Zoom's rules, per resource: which rule answers which catalog operation.

``users``, ``webinars``, ``meetings`` and ``livestreams`` hold the handlers; ``sessions`` what
webinars and meetings share; ``common`` what every rule uses; ``auth`` and ``oauth`` tokens.
"""

from __future__ import annotations

from zoomlive.api.sessions import KINDS, SESSION_KINDS
from zoomlive.emulator.rules import (
    jointokens,
    livestreams,
    meetings,
    panelists,
    past,
    registrants,
    users,
    webinars,
)
from zoomlive.emulator.rules.common import Handler

HANDLERS: dict[str, Handler] = {
    "user": users.get_user,
    "webinarCreate": webinars.create_webinar,
    "webinars": webinars.list_webinars,
    "webinar": webinars.get_webinar,
    "webinarUpdate": webinars.update_webinar,
    "webinarDelete": webinars.delete_webinar,
    "webinarStatus": webinars.update_webinar_status,
    "meetingCreate": meetings.create_meeting,
    "meetings": meetings.list_meetings,
    "meeting": meetings.get_meeting,
    "meetingUpdate": meetings.update_meeting,
    "meetingDelete": meetings.delete_meeting,
    "meetingStatus": meetings.update_meeting_status,
    **{
        spec.operation(action): make(spec.kind)
        for spec in KINDS.values()
        for action, make in (
            ("livestream_get", livestreams.details),
            ("livestream_update", livestreams.configure),
            ("livestream_status", livestreams.update_status),
        )
    },
    **{
        kind + operation: make(kind)
        for kind in SESSION_KINDS
        for operation, make in (
            ("Registrants", registrants.list_all),
            ("RegistrantCreate", registrants.create),
            ("RegistrantGet", registrants.get),
            ("RegistrantStatus", registrants.update_status),
            ("RegistrantsQuestionsGet", registrants.questions_get),
            ("RegistrantQuestionUpdate", registrants.questions_update),
        )
    },
    "deleteWebinarRegistrant": registrants.delete("webinar"),
    "meetingregistrantdelete": registrants.delete("meeting"),
    "webinarPanelists": panelists.list_panelists,
    "webinarPanelistCreate": panelists.add_panelists,
    "webinarPanelistDelete": panelists.delete_panelist,
    "webinarPanelistsDelete": panelists.delete_panelists,
    "meetingInvitation": panelists.meeting_invitation,
    "addBatchWebinarRegistrants": registrants.create_batch("webinar"),
    "addBatchRegistrants": registrants.create_batch("meeting"),
    "meetingInviteLinksCreate": panelists.invite_links("meeting"),
    "webinarInviteLinksCreate": panelists.invite_links("webinar"),
    "users": users.list_users,
    "userCreate": users.create_user,
    "userUpdate": users.update_user,
    "userDelete": users.delete_user,
    "userSettings": users.get_settings,
    "userSettingsUpdate": users.update_settings,
    "userToken": users.user_token,
    "meetingLiveStreamingJoinToken": jointokens.join_token("meeting", "live_streaming"),
    "webinarLiveStreamingJoinToken": jointokens.join_token("webinar", "live_streaming"),
    "meetingLocalRecordingJoinToken": jointokens.join_token("meeting", "local_recording"),
    "webinarLocalRecordingJoinToken": jointokens.join_token("webinar", "local_recording"),
    "meetingLocalArchivingArchiveToken": jointokens.join_token("meeting", "local_archiving"),
    "webinarLocalArchivingArchiveToken": jointokens.join_token("webinar", "local_archiving"),
    "pastMeetings": past.instances("meeting"),
    "pastMeetingDetails": past.details("meeting"),
    "pastMeetingParticipants": past.participants("meeting"),
    "pastWebinars": past.instances("webinar"),
    "listWebinarParticipants": past.participants("webinar"),
}

# Operations that also take a UUID where the numeric id goes.
UUID_OPERATIONS = frozenset(
    {"webinar", "meeting", "pastMeetingDetails", "pastMeetingParticipants", "pastMeetings"}
)
