"""The one error model that the emulator raises and the SDK parses back.

Zoom answers every failure with ``{"code": int, "message": str}`` and, for validation failures,
an ``errors`` list of ``{"field", "message"}``. The emulator's backend raises :class:`ZoomError`;
a single handler in the server turns it into that body with ``status`` as the HTTP status.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    """One field that failed validation."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    field: str
    """Dotted path of the offending field, e.g. ``settings.display_name``."""
    message: str
    """Why it was rejected."""


class ErrorBody(BaseModel):
    """Zoom's error body."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    code: int
    """Zoom's error code (not the HTTP status), e.g. 124, 300, 3001."""
    message: str
    """Zoom's human-readable message."""
    errors: list[FieldError] | None = None
    """Per-field problems, present on ``Validation Failed.``."""


class ZoomError(Exception):
    """A failure answered with Zoom's error body and an HTTP status."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> ErrorBody:
        body = ErrorBody(code=self.code, message=self.message, errors=self.errors)
        for key, value in self.extra.items():
            setattr(body, key, value)
        return body

    def to_json(self) -> bytes:
        return self.body().model_dump_json(exclude_none=True).encode()


# the error table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoomErrorSpec:
    """One of Zoom's errors: HTTP status, Zoom code and message template (``str.format``)."""

    name: str
    status: int
    code: int
    template: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The template's named fields, in order (``{id}`` -> ``("id",)``)."""
        names = (f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None)
        return tuple(dict.fromkeys(names))

    def error(
        self,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        **values: Any,
    ) -> ZoomError:
        """This error, its template filled with ``values``."""
        message = self.template.format(**values) if self.fields else self.template
        return ZoomError(self.status, self.code, message, errors, headers, extra)


def _e(status: int, code: int, template: str) -> ZoomErrorSpec:
    return ZoomErrorSpec("", status, code, template)


class E:
    """Every error the emulator answers, by name (``E.WEBINAR_NOT_FOUND.error(id=...)``)."""

    # bodies, transport, routing
    VALIDATION_FAILED = _e(400, 300, "Validation Failed.")
    INVALID_JSON = _e(400, 300, "Request Body should be a valid JSON object.")
    BODY_TOO_LARGE = _e(413, 300, "Request Body is too large (limit {limit} bytes).")
    INTERNAL_ERROR = _e(500, 500, "Internal server error.")
    SERVICE_UNAVAILABLE = _e(503, 503, "Service Unavailable.")
    RESOURCE_NOT_FOUND = _e(404, 404, "The requested resource was not found.")
    METHOD_NOT_ALLOWED = _e(405, 405, "Method not allowed.")
    RESOURCE_DOES_NOT_EXIST = _e(404, 404, "{noun} does not exist: {id}.")
    HOST_HEADER_MISSING = _e(400, 400, "A Host header is required.")
    HOST_HEADER_INVALID = _e(400, 400, "Invalid Host header.")
    HOST_NOT_SERVED = _e(403, 403, "Host {host!r} is not served here (see --allowed-host).")
    # rate limits
    RATE_LIMIT_PER_SECOND = _e(
        429,
        429,
        "You have reached the maximum per-second rate limit for this API. Try again later.",
    )
    RATE_LIMIT_DAILY = _e(
        429,
        429,
        "You have reached the maximum daily rate limit for this API. Refer to the response "
        "header for details on when you can make another request.",
    )
    WEBINAR_DAILY_CAP = _e(
        429,
        429,
        "A maximum of ({cap}) webinars can be created and updated for a single user in one day.",
    )
    MEETING_DAILY_CAP = _e(
        429,
        429,
        "You have exceeded the daily rate limit ({cap}) of Meeting Create/Update API requests "
        "permitted for this particular user. You may resume these requests at GMT 00:00:00.",
    )
    # access tokens and OAuth
    INVALID_TOKEN = _e(401, 124, "Invalid access token.")
    TOKEN_EXPIRED = _e(401, 124, "Access token is expired.")
    MISSING_SCOPES = _e(400, 4711, "Invalid access token, does not contain scopes:[{scopes}].")
    OAUTH_CLIENT_MISSING = _e(400, 4706, "Client ID or client secret is missing.")
    OAUTH_INVALID_CLIENT = _e(401, 4702, "Invalid client.")
    OAUTH_INVALID_SECRET = _e(401, 4704, "Invalid client secret.")
    OAUTH_APP_DISABLED = _e(400, 4717, "The app has been disabled")
    OAUTH_GRANT_MISSING = _e(400, 4706, "Missing grant type.")
    OAUTH_GRANT_UNSUPPORTED = _e(400, 4705, "Grant type is not supported from token endpoint.")
    OAUTH_ACCOUNT_MISSING = _e(400, 4706, "Missing account_id.")
    OAUTH_OWNER_MISSING = _e(400, 4735, "The owner of the token does not exist.")
    # users
    USER_NOT_FOUND = _e(404, 1001, "User does not exist: {id}.")
    USER_NOT_FOUND_400 = _e(400, 1001, "User does not exist: {id}.")
    HOST_NOT_FOUND = _e(404, 1001, "User {id} does not exist.")
    USER_NOT_IN_ACCOUNT = _e(404, 1001, "User {id} not exist or not belong to this account.")
    EMAIL_TAKEN = _e(409, 1005, 'Email "{email}" has already been used.')
    ADMIN_CANNOT_DISASSOCIATE = _e(400, 1117, "You can not disassociate an Admin user.")
    TRANSFER_TO_SELF = _e(
        400,
        300,
        "The transfer-to email address cannot be the same as the unlinked or deleted user's "
        "email address.",
    )
    # plans and features
    WEBINAR_PLAN_MISSING = _e(
        400,
        200,
        "Webinar plan is missing. You must subscribe to the webinar plan and enable webinars for "
        "this user in order to perform this action: {id}.",
    )
    WEBINAR_PLAN_SUBSCRIPTION_MISSING = _e(
        200,
        200,
        "Webinar plan subscription is missing. Enable webinar for this user once the "
        "subscription is added:{id}.",
    )
    PRO_LICENSE_REQUIRED = _e(400, 200, "Meeting host must have a Pro license.")
    PAID_USERS_ONLY = _e(400, 200, "Only available for paid users: {id}.")
    # webinars and meetings
    WEBINAR_NOT_FOUND = _e(404, 3001, "Webinar does not exist: {id}.")
    WEBINAR_NOT_FOUND_400 = _e(400, 3001, "Webinar does not exist: {id}.")
    WEBINAR_NOT_FOUND_OR_EXPIRED = _e(404, 3001, "Webinar {id} not found or has expired.")
    MEETING_NOT_FOUND = _e(404, 3001, "Meeting does not exist: {id}.")
    INVALID_WEBINAR_ID = _e(400, 300, "Invalid webinar ID.")
    INVALID_MEETING_ID = _e(400, 300, "Invalid meetingId.")
    INVALID_OCCURRENCE = _e(400, 300, "Invalid parameter: `occurrence_id`.")
    STARTED_NO_UPDATE = _e(
        400, 3000, "You cannot update or delete meetings that have started using this method."
    )
    WEBINAR_IN_PROGRESS = _e(
        400, 3002, "Sorry, you cannot delete this webinar since it is in progress."
    )
    WEBINAR_ENDED = _e(400, 3007, "Sorry, you cannot delete this webinar since it has ended.")
    MEETING_IN_PROGRESS = _e(
        400, 3002, "Sorry, you cannot delete this meeting since it is in progress."
    )
    # live streams
    LIVESTREAM_SETTINGS_WHILE_RUNNING = _e(
        400, 300, "You can only update settings for a stopped live stream."
    )
    WEBINAR_STREAMING_FEATURE_OFF = _e(
        400,
        200,
        "The current user has not enabled the custom live streaming feature of the webinar.",
    )
    MEETING_STREAMING_FEATURE_OFF = _e(
        400,
        200,
        "The current user has not enabled the custom live streaming feature of the meeting.",
    )
    WEBINAR_STREAM_NOT_CONFIGURED = _e(
        400, 3000, "The current webinar is not configured with a custom streaming service."
    )
    MEETING_STREAM_NOT_CONFIGURED = _e(400, 3000, "Cannot access webinar info.")
    LIVESTREAM_START_THROTTLED = _e(
        429,
        429,
        "Too many requests submitted to start the livestream of this meeting: {id}. If the "
        "livestream has not already started, retry making a new request after 30 seconds.",
    )
    SESSION_NOT_STARTED = _e(400, 200, "{noun} {id} has not started.")
    LIVESTREAM_NOT_STARTED = _e(400, 300, "The live stream has not started.")
    MEETING_LIVESTREAM_NOT_ALLOWED = _e(
        400,
        3000,
        'Not allowed to start live streaming. To use this feature, enable the "Allow '
        'livestreaming of meetings" setting in the "Settings" page of the Zoom web portal.',
    )
    WEBINAR_LIVESTREAM_NOT_ALLOWED = _e(
        400,
        3000,
        'Not allowed to start live streaming. To use this feature, enable the "Allow '
        'livestreaming of webinars" setting in the "Settings" page of the Zoom web portal.',
    )
    # panelists
    PANELIST_LIMIT = _e(
        400,
        3000,
        "You have reached the limit for the number of panelists you can add. Contact Zoom "
        "Support for more information.",
    )
    PANELIST_NOT_FOUND = _e(404, 3001, "Panelist does not exist: {id}.")
    # registration
    REGISTRATION_OFF_WEBINAR = _e(
        400, 3000, "Registration has not been enabled for this webinar: {id}."
    )
    REGISTRATION_OFF_MEETING = _e(
        400, 300, "Registration has not been enabled for this meeting: {id}."
    )
    REGISTRATION_OFF_MEETING_BATCH = _e(
        400, 404, "Registration has not been enabled for this meeting: {id}."
    )
    REGISTRATION_NOT_REQUIRED_WEBINAR = _e(
        400, 3000, "This webinar does not have registration as required: {id}."
    )
    INVALID_REGISTRANT_ID = _e(
        400,
        300,
        "The value that you entered for the Registrant ID field is invalid. Enter a valid value "
        "and try again.",
    )
    HOST_CANNOT_REGISTER = _e(400, 3027, "Host cannot register.")
    SESSION_OVER_REGISTER = _e(
        400,
        3038,
        "{noun} is over, you cannot register now. If you have any questions, contact the {kind} "
        "host.",
    )
    BATCH_WEBINAR_TYPE = _e(
        400,
        300,
        "This API can only be used for scheduled webinars (type 5). Batch registration is not "
        "supported for other webinar types.",
    )
    BATCH_WEBINAR_OVER = _e(
        400,
        3038,
        "The webinar is over. You cannot register now. If you have any questions, contact the "
        "webinar's host.",
    )
    BATCH_MEETING_TYPE = _e(
        400,
        303,
        "This API can only be used for scheduled meeting(meeting type: 2). Batch registration "
        "is not supported for other meeting types.",
    )
    BATCH_MEETING_OVER = _e(
        400,
        3038,
        "Meeting is over, you can not register now. If you have any questions, please contact "
        "the Meeting host.",
    )
    REGISTRANT_DOES_NOT_EXIST = _e(400, 3079, "This registrant does not exist: {id}.")
    REGISTRANT_NOT_FOUND = _e(400, 3000, "Registrant {id} was not found.")
    # the control API (the emulator's own words, in Zoom's shape)
    CONTROL_CROSS_ORIGIN = _e(403, 403, "Cross-origin requests to the control API are refused.")
    CONTROL_BODY_TYPE = _e(
        403, 403, "Control requests with a body must be application/json (or YAML)."
    )
    CONTROL_ADMIN_KEY = _e(401, 401, "A valid X-Admin-Key header is required for the control API.")
    CONTROL_PAGE_SIZE = _e(400, 300, "Invalid field: page_size must be 1 to {maximum}.")
    CONTROL_PAGE_TOKEN = _e(400, 300, "Invalid field: next_page_token.")
    CONTROL_UNKNOWN_EVENTS = _e(400, 300, "Unknown events: {events}.")
    CONTROL_NOT_FOUND = _e(404, 404, "{what} {id} does not exist.")
    CONTROL_SESSION_NOT_FOUND = _e(404, 3001, "{noun} does not exist: {id}.")
    CONTROL_CONFLICT = _e(409, 409, "{what} {id} already exists.")
    CONTROL_ALREADY_RUNNING = _e(409, 409, "{noun} {id} is already running.")
    CONTROL_NOT_RUNNING = _e(409, 409, "{noun} {id} is not running.")
    CONTROL_NOT_STREAMED = _e(409, 409, "{noun} {id} is not being streamed.")
    CONTROL_MEDIA_OFF = _e(409, 409, "Media faults need --media ffmpeg or remote.")
    CONTROL_MEDIA_REFUSED = _e(409, 409, "{noun} {id}: {reason}.")
    CONTROL_NO_FRAME = _e(404, 404, "No frame yet.")
    # the control API: webhooks on demand (control/trigger.py)
    CONTROL_UNKNOWN_EVENT = _e(
        400, 300, "Unknown event: {event}. GET /_emulator/webhooks/events lists Zoom's events."
    )
    CONTROL_TRIGGER_IDS = _e(
        400, 300, "Name one object at most: meeting_id, webinar_id or user_id."
    )
    CONTROL_TRIGGER_SUBJECT = _e(400, 300, "{event} takes {expected}, not {given}.")
    CONTROL_TRIGGER_ACCOUNT = _e(400, 300, "{what} is not of account {account}.")
    CONTROL_TRIGGER_WHICH_ACCOUNT = _e(
        400, 300, "Name the account (account_id): the emulator has {count} accounts."
    )
    CONTROL_NO_SUBSCRIPTION = _e(
        409,
        409,
        "{what} has no webhook subscription{condition}: subscribe an app first "
        "(PUT /_emulator/apps/CLIENT_ID/webhook).",
    )
    CONTROL_BAD_STATE = _e(400, 300, "Invalid state file: {reason}")
    FAULTS_OFF = _e(404, 404, "Fault injection is not enabled on this emulator.")
    FAULTS_FULL = _e(409, 409, "At most {limit} fault rules at once.")
    FAULT_UNNAMED = _e(409, 409, "Could not name the fault rule.")


ERRORS: dict[str, ZoomErrorSpec] = {
    name: ZoomErrorSpec(name, v.status, v.code, v.template)
    for name, v in vars(E).items()
    if isinstance(v, ZoomErrorSpec)
}
"""The error table: every error the emulator answers, by name."""
for _name, _spec in ERRORS.items():
    setattr(E, _name, _spec)  # the named copies, so ``E.X.name`` is ``"X"``

_BY_WORDS = {(s.status, s.code, s.template): s for s in ERRORS.values()}


def lookup(status: int, code: int) -> list[ZoomErrorSpec]:
    """The table's errors answered with this HTTP status and Zoom code."""
    return [s for s in ERRORS.values() if (s.status, s.code) == (status, code)]


def by_words(status: int, code: int, template: str) -> ZoomErrorSpec:
    """The table's entry with exactly these words (for rules that keep per-kind words in their
    own tables); ``KeyError`` when the words are not in the table."""
    return _BY_WORDS[(status, code, template)]


def as_given(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> ZoomError:
    """An answer whose words are not the emulator's: a fault rule's own (status, code, message),
    a 404 text quoted from Zoom's document, or an HTTP error raised by the web framework."""
    return ZoomError(status, code, message, headers=headers)


VALIDATION_FAILED = E.VALIDATION_FAILED.template
INVALID_JSON = E.INVALID_JSON.template


def validation_failed(errors: list[FieldError]) -> ZoomError:
    return E.VALIDATION_FAILED.error(errors=errors)
