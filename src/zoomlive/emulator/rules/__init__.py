"""Which backend rule answers which catalog operation."""

from __future__ import annotations

from zoomlive.emulator.rules import common as backend
from zoomlive.emulator.rules import livestreams as livestream
from zoomlive.emulator.rules import meetings
from zoomlive.emulator.rules.common import Handler

HANDLERS: dict[str, Handler] = {
    **backend.HANDLERS,
    "meetingCreate": meetings.create_meeting,
    "meetings": meetings.list_meetings,
    "meeting": meetings.get_meeting,
    "meetingUpdate": meetings.update_meeting,
    "meetingDelete": meetings.delete_meeting,
    "meetingStatus": meetings.update_meeting_status,
    "getWebinarLiveStreamDetails": livestream.details("webinar"),
    "webinarLiveStreamUpdate": livestream.configure("webinar"),
    "webinarLiveStreamStatusUpdate": livestream.update_status("webinar"),
    "getMeetingLiveStreamDetails": livestream.details("meeting"),
    "meetingLiveStreamUpdate": livestream.configure("meeting"),
    "meetingLiveStreamStatusUpdate": livestream.update_status("meeting"),
}

# Operations that also take a UUID where the numeric id goes.
UUID_OPERATIONS = frozenset({"webinar", "meeting"})
