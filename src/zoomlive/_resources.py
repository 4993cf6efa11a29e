"""The operations: each declared once as a builder of a typed :class:`PreparedCall`, and offered
by two thin facades, one per client.

The builders (:class:`SessionCalls`, :class:`LiveStreamCalls`, :class:`RegistrantCalls`,
:class:`PanelistCalls`, :class:`UserCalls`) are the one source of truth for a call: its
operation, path parameters, request body (validated before sending) and result type,
``PreparedCall[Webinar]``, ``PreparedCall[None]`` for Zoom's 204 answers. What a webinar and a
meeting differ in (operation ids, path parameter, request models) is read from
:data:`zoomlive.api.sessions.KINDS` (registrants' from :data:`_REGISTRANT_OPS`, which ``KINDS``
does not carry); methods, paths and response models from the operation catalog.

The facades only hand a built call to their client's ``run``: :class:`Sessions`,
:class:`LiveStreams`, :class:`Registrants`, :class:`Panelists` and :class:`Users` for
``ZoomClient`` return the model; their ``Async`` twins for ``AsyncZoomClient`` return a
coroutine of the same model (``list`` is an iterator, an async one). Their methods are plain
functions, so bad arguments raise when the call is made, on both clients, before anything is
awaited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from zoomlive._base_client import PreparedCall, as_form, body_of
from zoomlive.api import registrants as r
from zoomlive.api import users as u
from zoomlive.api import wire as w
from zoomlive.api.sessions import KINDS, KindSpec, SessionKind

T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)
"""The session as Zoom returns it: :class:`Webinar` / :class:`Meeting`."""
L = TypeVar("L", bound=BaseModel)
"""One page of the list: :class:`WebinarList` / :class:`MeetingList`."""
I = TypeVar("I", bound=BaseModel)  # noqa: E741
"""One item of a page: :class:`WebinarListItem` / :class:`MeetingListItem`."""


class Run(Protocol):
    """``ZoomClient._run``: sends a call, returns its result."""

    def __call__(self, call: PreparedCall[T], /) -> T: ...


class AsyncRun(Protocol):
    """``AsyncZoomClient._run``: a coroutine that sends a call and returns its result."""

    def __call__(self, call: PreparedCall[T], /) -> Coroutine[Any, Any, T]: ...


def _check(value: int | str) -> str:
    text = str(value)
    if not text or "/" in text:
        raise ValueError(f"not an id: {value!r}")
    return text


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if isinstance(out.get("start_time"), datetime):
        out["start_time"] = out["start_time"].isoformat()
    return out


# The calls, declared once ---------------------------------------------------------------------


class LiveStreamCalls:
    """The live-stream calls of one kind of session."""

    def __init__(self, kind: SessionKind) -> None:
        self._spec: KindSpec = KINDS[kind]

    def _call(self, action: str, session_id: int | str, **kwargs: Any) -> PreparedCall[Any]:
        path_params = {self._spec.id_param: _check(session_id)}
        return PreparedCall.of(self._spec.operation(action), path_params, **kwargs)

    def get(self, session_id: int | str) -> PreparedCall[w.LiveStreamDetails]:
        return self._call("livestream_get", session_id)

    def update(
        self,
        session_id: int | str,
        *,
        stream_url: str,
        stream_key: str,
        page_url: str,
        resolution: Literal["720p", "1080p"] | None = None,
    ) -> PreparedCall[None]:
        body = w.LiveStreamUpdate(
            stream_url=stream_url, stream_key=stream_key, page_url=page_url, resolution=resolution
        )
        return self._call("livestream_update", session_id, json=body_of(body))

    def _status(
        self, session_id: int | str, body: dict[str, Any], form: bool
    ) -> PreparedCall[None]:
        data = body_of(self._spec.livestream_status_model.model_validate(body))
        if form:
            return self._call("livestream_status", session_id, form=as_form(data))
        return self._call("livestream_status", session_id, json=data)

    def start(
        self,
        session_id: int | str,
        *,
        display_name: str | None = None,
        active_speaker_name: bool | None = None,
        layout: str | None = None,
        close_caption: str | None = None,
        form: bool = False,
    ) -> PreparedCall[None]:
        settings = {
            "display_name": display_name,
            "active_speaker_name": active_speaker_name,
            "layout": layout,
            "close_caption": close_caption,
        }
        settings = {k: v for k, v in settings.items() if v is not None}
        body: dict[str, Any] = {"action": "start"}
        if settings:
            body["settings"] = settings
        return self._status(session_id, body, form)

    def stop(self, session_id: int | str, *, form: bool = False) -> PreparedCall[None]:
        return self._status(session_id, {"action": "stop"}, form)

    def join_token(self, session_id: int | str) -> PreparedCall[u.JoinTokenAnswer]:
        operation = f"{self._spec.kind}LiveStreamingJoinToken"
        return PreparedCall.of(operation, {self._spec.id_param: _check(session_id)})

    def mode(
        self, session_id: int | str, *, layout: str | None = None, close_caption: str | None = None
    ) -> PreparedCall[None]:
        if self._spec.kind != "meeting":
            raise ValueError("mode exists for meeting live streams only")
        settings = {"layout": layout, "close_caption": close_caption}
        body = {"action": "mode", "settings": {k: v for k, v in settings.items() if v}}
        return self._status(session_id, body, False)


RegistrantAction = Literal["approve", "deny", "cancel"]
RegistrantStatus = Literal["pending", "approved", "denied"]

_REGISTRANT_OPS: dict[SessionKind, dict[str, str]] = {
    "webinar": {
        "list": "webinarRegistrants",
        "create": "webinarRegistrantCreate",
        "batch": "addBatchWebinarRegistrants",
        "get": "webinarRegistrantGet",
        "status": "webinarRegistrantStatus",
        "delete": "deleteWebinarRegistrant",
        "questions": "webinarRegistrantsQuestionsGet",
        "questions_update": "webinarRegistrantQuestionUpdate",
    },
    "meeting": {
        "list": "meetingRegistrants",
        "create": "meetingRegistrantCreate",
        "batch": "addBatchRegistrants",
        "get": "meetingRegistrantGet",
        "status": "meetingRegistrantStatus",
        "delete": "meetingregistrantdelete",
        "questions": "meetingRegistrantsQuestionsGet",
        "questions_update": "meetingRegistrantQuestionUpdate",
    },
}
_REGISTRANT_MODELS: dict[SessionKind, tuple[type[BaseModel], type[BaseModel]]] = {
    "webinar": (r.RegistrantCreate, r.QuestionsUpdate),
    "meeting": (r.MeetingRegistrantCreate, r.MeetingQuestionsUpdate),
}


def _ref(registrant: str | dict[str, str]) -> dict[str, str]:
    """A registrant named by id or email (a string with ``@``), or ``{"id"|"email": ...}``."""
    if isinstance(registrant, dict):
        return registrant
    return {"email": registrant} if "@" in registrant else {"id": _check(registrant)}


class RegistrantCalls:
    """The registrant calls of one kind of session (``.../{id}/registrants``)."""

    def __init__(self, kind: SessionKind) -> None:
        self._spec: KindSpec = KINDS[kind]
        self._ops = _REGISTRANT_OPS[kind]
        self._create_model, self._questions_model = _REGISTRANT_MODELS[kind]

    def _call(
        self,
        action: str,
        session_id: int | str,
        registrant_id: str | None = None,
        **kwargs: Any,
    ) -> PreparedCall[Any]:
        path = {self._spec.id_param: _check(session_id)}
        if registrant_id is not None:
            path["registrantId"] = _check(registrant_id)
        return PreparedCall.of(self._ops[action], path, **kwargs)

    def create(
        self, session_id: int | str, fields: dict[str, Any]
    ) -> PreparedCall[r.RegistrantCreated]:
        body = body_of(self._create_model.model_validate(fields))
        return self._call("create", session_id, json=body)

    def batch(
        self,
        session_id: int | str,
        people: list[dict[str, Any]],
        *,
        auto_approve: bool | None = None,
        confirmation_email: bool | None = None,
    ) -> PreparedCall[r.BatchRegistrants]:
        model = r.BatchRegistrantCreate(
            registrants=[r.BatchPerson.model_validate(p) for p in people],
            auto_approve=auto_approve,
            registrants_confirmation_email=confirmation_email,
        )
        return self._call("batch", session_id, json=body_of(model))

    def page(
        self,
        session_id: int | str,
        *,
        status: RegistrantStatus,
        page_size: int,
        next_page_token: str | None,
    ) -> PreparedCall[r.RegistrantList]:
        query = r.RegistrantListQuery(
            status=status, page_size=page_size, next_page_token=next_page_token or None
        )
        return self._call("list", session_id, params=body_of(query))

    def get(self, session_id: int | str, registrant_id: str) -> PreparedCall[r.Registrant]:
        return self._call("get", session_id, registrant_id)

    def update_status(
        self,
        session_id: int | str,
        action: RegistrantAction,
        registrants: list[str | dict[str, str]],
    ) -> PreparedCall[None]:
        body = r.RegistrantStatusUpdate.model_validate(
            {"action": action, "registrants": [_ref(x) for x in registrants]}
        )
        return self._call("status", session_id, json=body_of(body))

    def delete(self, session_id: int | str, registrant_id: str) -> PreparedCall[None]:
        return self._call("delete", session_id, registrant_id)

    def questions(self, session_id: int | str) -> PreparedCall[r.RegistrationQuestions]:
        return self._call("questions", session_id)

    def update_questions(
        self,
        session_id: int | str,
        *,
        questions: list[dict[str, Any]] | None = None,
        custom_questions: list[dict[str, Any]] | None = None,
    ) -> PreparedCall[None]:
        fields = {"questions": questions, "custom_questions": custom_questions}
        body = self._questions_model.model_validate(
            {k: v for k, v in fields.items() if v is not None}
        )
        return self._call("questions_update", session_id, json=body_of(body))


class PanelistCalls:
    """A webinar's panelists (``/webinars/{webinarId}/panelists``)."""

    @staticmethod
    def _webinar(webinar_id: int | str) -> dict[str, str]:
        return {"webinarId": _check(webinar_id)}

    def add(
        self, webinar_id: int | str, panelists: list[dict[str, Any]]
    ) -> PreparedCall[r.PanelistsAdded]:
        body = body_of(r.PanelistCreate.model_validate({"panelists": panelists}))
        return PreparedCall.of("webinarPanelistCreate", self._webinar(webinar_id), json=body)

    def delete(self, webinar_id: int | str, panelist_id: str) -> PreparedCall[None]:
        path = {**self._webinar(webinar_id), "panelistId": _check(panelist_id)}
        return PreparedCall.of("webinarPanelistDelete", path)

    def delete_all(self, webinar_id: int | str) -> PreparedCall[None]:
        return PreparedCall.of("webinarPanelistsDelete", self._webinar(webinar_id))

    def list(self, webinar_id: int | str) -> PreparedCall[r.PanelistList]:
        return PreparedCall.of("webinarPanelists", self._webinar(webinar_id))


class SessionCalls(Generic[S, L, I]):
    """The calls of one kind of session; ``S``, ``L``, ``I`` are its models (see
    :data:`WEBINARS` and :data:`MEETINGS`)."""

    def __init__(self, kind: SessionKind) -> None:
        self._spec: KindSpec = KINDS[kind]
        self.livestream = LiveStreamCalls(kind)
        self.registrants = RegistrantCalls(kind)

    def _call(self, action: str, path_params: dict[str, str], **kwargs: Any) -> PreparedCall[Any]:
        return PreparedCall.of(self._spec.operation(action), path_params, **kwargs)

    def _session(self, session_id: int | str) -> dict[str, str]:
        return {self._spec.id_param: _check(session_id)}

    def create(self, user_id: str, fields: dict[str, Any]) -> PreparedCall[S]:
        body = body_of(self._spec.create_model.model_validate(_times(fields)))
        return self._call("create", {"userId": _check(user_id)}, json=body)

    def get(self, session_id: int | str) -> PreparedCall[S]:
        return self._call("get", self._session(session_id))

    def update(self, session_id: int | str, fields: dict[str, Any]) -> PreparedCall[None]:
        body = body_of(self._spec.update_model.model_validate(_times(fields)))
        return self._call("update", self._session(session_id), json=body)

    def delete(self, session_id: int | str) -> PreparedCall[None]:
        return self._call("delete", self._session(session_id))

    def end(self, session_id: int | str) -> PreparedCall[None]:
        return self._call("status", self._session(session_id), json={"action": "end"})

    def page(
        self, user_id: str, *, type: str, page_size: int, next_page_token: str | None
    ) -> PreparedCall[L]:
        params: dict[str, Any] = {"type": type, "page_size": page_size}
        if next_page_token:
            params["next_page_token"] = next_page_token
        return self._call("list", {"userId": _check(user_id)}, params=params)

    def items(self, page: L) -> list[I]:
        """The page's sessions (its ``webinars`` / ``meetings``)."""
        found: list[I] = getattr(page, self._spec.plural)
        return found

    @staticmethod
    def next_page_token(page: L) -> str | None:
        token: str | None = getattr(page, "next_page_token", None)
        return token or None


class UserCalls:
    def _user(self, user_id: str) -> dict[str, str]:
        return {"userId": _check(user_id)}

    def get(self, user_id: str) -> PreparedCall[w.UserInfo]:
        return PreparedCall.of("user", self._user(user_id))

    def page(
        self,
        *,
        status: Literal["active", "inactive", "pending"],
        page_size: int,
        next_page_token: str | None,
        role_id: str | None = None,
    ) -> PreparedCall[u.UserList]:
        query = u.UserListQuery(
            status=status,
            page_size=page_size,
            next_page_token=next_page_token or None,
            role_id=role_id,
        )
        return PreparedCall.of("users", {}, params=body_of(query))

    def create(self, action: str, user_info: dict[str, Any]) -> PreparedCall[u.UserCreated]:
        body = u.UserCreate.model_validate({"action": action, "user_info": user_info})
        return PreparedCall.of("userCreate", {}, json=body_of(body))

    def update(self, user_id: str, fields: dict[str, Any]) -> PreparedCall[None]:
        body = body_of(u.UserUpdate.model_validate(fields))
        return PreparedCall.of("userUpdate", self._user(user_id), json=body)

    def delete(self, user_id: str, options: dict[str, Any]) -> PreparedCall[None]:
        query = body_of(u.UserDeleteQuery.model_validate(options))
        return PreparedCall.of("userDelete", self._user(user_id), params=query)

    def settings(self, user_id: str, option: str | None = None) -> PreparedCall[u.UserSettings]:
        query = body_of(u.UserSettingsQuery.model_validate({"option": option}))
        return PreparedCall.of("userSettings", self._user(user_id), params=query or None)

    def update_settings(
        self, user_id: str, settings: dict[str, Any], option: str | None = None
    ) -> PreparedCall[None]:
        body = body_of(u.UserSettingsPatch.model_validate(settings))
        query = body_of(u.UserSettingsPatchQuery.model_validate({"option": option}))
        return PreparedCall.of(
            "userSettingsUpdate", self._user(user_id), json=body, params=query or None
        )

    def token(
        self, user_id: str, type: Literal["token", "zak"], ttl: int | None
    ) -> PreparedCall[u.UserToken]:
        query = body_of(u.UserTokenQuery(type=type, ttl=ttl))
        return PreparedCall.of("userToken", self._user(user_id), params=query)


WEBINARS: SessionCalls[w.Webinar, w.WebinarList, w.WebinarListItem] = SessionCalls("webinar")
MEETINGS: SessionCalls[w.Meeting, w.MeetingList, w.MeetingListItem] = SessionCalls("meeting")
USERS = UserCalls()
PANELISTS = PanelistCalls()


# ZoomClient's facades -------------------------------------------------------------------------


class LiveStreams:
    """``client.webinars.livestream`` / ``client.meetings.livestream``."""

    def __init__(self, run: Run, calls: LiveStreamCalls) -> None:
        self._run = run
        self._calls = calls

    def get(self, session_id: int | str) -> w.LiveStreamDetails:
        """The live stream configuration."""
        return self._run(self._calls.get(session_id))

    def update(
        self,
        session_id: int | str,
        *,
        stream_url: str,
        stream_key: str,
        page_url: str,
        resolution: Literal["720p", "1080p"] | None = None,
    ) -> None:
        """Configure the custom live stream (validated before sending)."""
        call = self._calls.update(
            session_id,
            stream_url=stream_url,
            stream_key=stream_key,
            page_url=page_url,
            resolution=resolution,
        )
        return self._run(call)

    def start(
        self,
        session_id: int | str,
        *,
        display_name: str | None = None,
        active_speaker_name: bool | None = None,
        layout: str | None = None,
        close_caption: str | None = None,
        form: bool = False,
    ) -> None:
        """Start the live stream, with its settings (``form=True`` sends multipart)."""
        call = self._calls.start(
            session_id,
            display_name=display_name,
            active_speaker_name=active_speaker_name,
            layout=layout,
            close_caption=close_caption,
            form=form,
        )
        return self._run(call)

    def stop(self, session_id: int | str, *, form: bool = False) -> None:
        """Stop the live stream."""
        return self._run(self._calls.stop(session_id, form=form))

    def join_token(self, session_id: int | str) -> u.JoinTokenAnswer:
        """A token for a live-streaming app to join it (``expire_in`` seconds)."""
        return self._run(self._calls.join_token(session_id))

    def mode(
        self, session_id: int | str, *, layout: str | None = None, close_caption: str | None = None
    ) -> None:
        """Meetings: change a running stream's layout and captions."""
        return self._run(self._calls.mode(session_id, layout=layout, close_caption=close_caption))


class Sessions(Generic[S, L, I]):
    """``client.webinars`` / ``client.meetings``."""

    def __init__(self, run: Run, calls: SessionCalls[S, L, I]) -> None:
        self._run = run
        self._calls = calls
        self.livestream = LiveStreams(run, calls.livestream)
        self.registrants = Registrants(run, calls.registrants)

    def create(self, user_id: str = "me", **fields: Any) -> S:
        """Create one for ``user_id`` (``me``, an id or an email)."""
        return self._run(self._calls.create(user_id, fields))

    def get(self, session_id: int | str) -> S:
        """One by id (or UUID)."""
        return self._run(self._calls.get(session_id))

    def update(self, session_id: int | str, **fields: Any) -> None:
        """Change the given fields (validated before sending)."""
        return self._run(self._calls.update(session_id, fields))

    def delete(self, session_id: int | str) -> None:
        """Delete one."""
        return self._run(self._calls.delete(session_id))

    def end(self, session_id: int | str) -> None:
        """End it (``PUT .../status`` with ``action: end``)."""
        return self._run(self._calls.end(session_id))

    def list(self, user_id: str = "me", **options: Any) -> Iterator[I]:
        """Every one of the user's, page after page."""
        token: str | None = None
        while True:
            page = self.page(user_id, next_page_token=token, **options)
            yield from self._calls.items(page)
            token = self._calls.next_page_token(page)
            if not token:
                return

    def page(
        self,
        user_id: str = "me",
        *,
        type: str = "scheduled",
        page_size: int = 300,
        next_page_token: str | None = None,
    ) -> L:
        """One page of the list (``list`` iterates over all pages)."""
        call = self._calls.page(
            user_id, type=type, page_size=page_size, next_page_token=next_page_token
        )
        return self._run(call)


class Registrants:
    """``client.webinars.registrants`` / ``client.meetings.registrants``."""

    def __init__(self, run: Run, calls: RegistrantCalls) -> None:
        self._run = run
        self._calls = calls

    def create(
        self, session_id: int | str, *, email: str, first_name: str, **fields: Any
    ) -> r.RegistrantCreated:
        """Register one person (other fields: ``last_name``, ``org``, ``custom_questions``...)."""
        call = self._calls.create(session_id, {"email": email, "first_name": first_name, **fields})
        return self._run(call)

    def batch(
        self,
        session_id: int | str,
        people: Sequence[dict[str, Any]],
        *,
        auto_approve: bool | None = None,
        confirmation_email: bool | None = None,
    ) -> r.BatchRegistrants:
        """Register up to 30 people at once (``email``, ``first_name``, ``last_name`` each)."""
        call = self._calls.batch(
            session_id,
            [dict(p) for p in people],
            auto_approve=auto_approve,
            confirmation_email=confirmation_email,
        )
        return self._run(call)

    def page(
        self,
        session_id: int | str,
        *,
        status: RegistrantStatus = "approved",
        page_size: int = 30,
        next_page_token: str | None = None,
    ) -> r.RegistrantList:
        """One page of the registrants in ``status`` (``list`` iterates over all pages)."""
        call = self._calls.page(
            session_id, status=status, page_size=page_size, next_page_token=next_page_token
        )
        return self._run(call)

    def get(self, session_id: int | str, registrant_id: str) -> r.Registrant:
        """One registrant."""
        return self._run(self._calls.get(session_id, registrant_id))

    def update_status(
        self,
        session_id: int | str,
        action: RegistrantAction,
        registrants: Sequence[str | dict[str, str]],
    ) -> None:
        """Approve, deny or cancel up to 30 registrants, each by id or email."""
        return self._run(self._calls.update_status(session_id, action, [*registrants]))

    def approve(self, session_id: int | str, *registrants: str) -> None:
        """Approve registrants (by id or email)."""
        return self.update_status(session_id, "approve", registrants)

    def deny(self, session_id: int | str, *registrants: str) -> None:
        """Deny registrants (by id or email)."""
        return self.update_status(session_id, "deny", registrants)

    def cancel(self, session_id: int | str, *registrants: str) -> None:
        """Cancel approved registrants' registration (by id or email)."""
        return self.update_status(session_id, "cancel", registrants)

    def delete(self, session_id: int | str, registrant_id: str) -> None:
        """Delete one registrant."""
        return self._run(self._calls.delete(session_id, registrant_id))

    def questions(self, session_id: int | str) -> r.RegistrationQuestions:
        """The registration form's questions."""
        return self._run(self._calls.questions(session_id))

    def update_questions(
        self,
        session_id: int | str,
        *,
        questions: Sequence[dict[str, Any]] | None = None,
        custom_questions: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        """Replace the registration form's standard and custom questions."""
        call = self._calls.update_questions(
            session_id,
            questions=None if questions is None else [*questions],
            custom_questions=None if custom_questions is None else [*custom_questions],
        )
        return self._run(call)

    def list(
        self, session_id: int | str, *, status: RegistrantStatus = "approved", page_size: int = 300
    ) -> Iterator[r.Registrant]:
        """Every registrant in ``status``, page after page."""
        token: str | None = None
        while True:
            page = self.page(session_id, status=status, page_size=page_size, next_page_token=token)
            yield from page.registrants
            token = page.next_page_token or None
            if not token:
                return


class Panelists:
    """``client.webinars.panelists``."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def add(self, webinar_id: int | str, panelists: Sequence[dict[str, Any]]) -> r.PanelistsAdded:
        """Add up to 30 panelists (``name`` and ``email`` each)."""
        return self._run(PANELISTS.add(webinar_id, [dict(p) for p in panelists]))

    def delete(self, webinar_id: int | str, panelist_id: str) -> None:
        """Remove one panelist."""
        return self._run(PANELISTS.delete(webinar_id, panelist_id))

    def delete_all(self, webinar_id: int | str) -> None:
        """Remove every panelist."""
        return self._run(PANELISTS.delete_all(webinar_id))

    def list(self, webinar_id: int | str) -> r.PanelistList:
        """The webinar's panelists."""
        return self._run(PANELISTS.list(webinar_id))


class Users:
    """``client.users``."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def get(self, user_id: str = "me") -> w.UserInfo:
        """A user (``me``, an id or an email)."""
        return self._run(USERS.get(user_id))

    def page(
        self,
        *,
        status: Literal["active", "inactive", "pending"] = "active",
        page_size: int = 30,
        next_page_token: str | None = None,
        role_id: str | None = None,
    ) -> u.UserList:
        """One page of the account's users (``list`` iterates over all pages)."""
        call = USERS.page(
            status=status, page_size=page_size, next_page_token=next_page_token, role_id=role_id
        )
        return self._run(call)

    def create(
        self,
        email: str,
        *,
        action: Literal["create", "autoCreate", "custCreate", "ssoCreate"] = "create",
        type: Literal[1, 2, 4, 99] = 1,
        **user_info: Any,
    ) -> u.UserCreated:
        """Add a user (``create`` invites them: pending until they accept)."""
        return self._run(USERS.create(action, {"email": email, "type": type, **user_info}))

    def update(self, user_id: str, **fields: Any) -> None:
        """Change profile fields (validated before sending)."""
        return self._run(USERS.update(user_id, fields))

    def delete(
        self,
        user_id: str,
        *,
        action: Literal["disassociate", "delete"] = "disassociate",
        **options: Any,
    ) -> None:
        """Disassociate a user from the account, or delete them (``action="delete"``)."""
        return self._run(USERS.delete(user_id, {"action": action, **options}))

    def settings(self, user_id: str = "me", *, option: str | None = None) -> u.UserSettings:
        """The user's settings."""
        return self._run(USERS.settings(user_id, option))

    def update_settings(
        self, user_id: str, settings: dict[str, Any], *, option: str | None = None
    ) -> None:
        """Change sections of the user's settings (``{"in_meeting": {...}}``)."""
        return self._run(USERS.update_settings(user_id, settings, option))

    def token(
        self,
        user_id: str = "me",
        *,
        type: Literal["token", "zak"] = "token",
        ttl: int | None = None,
    ) -> u.UserToken:
        """A token of the user (``zak`` starts meetings on their behalf)."""
        return self._run(USERS.token(user_id, type, ttl))

    def list(
        self, *, status: Literal["active", "inactive", "pending"] = "active", page_size: int = 300
    ) -> Iterator[dict[str, Any]]:
        """Every user of the account in ``status``, page after page."""
        token: str | None = None
        while True:
            page = self.page(status=status, page_size=page_size, next_page_token=token)
            yield from page.users
            token = page.next_page_token or None
            if not token:
                return


# AsyncZoomClient's facades: the same, each returning a coroutine -------------------------------


class AsyncLiveStreams:
    """``async_client.webinars.livestream`` / ``async_client.meetings.livestream``."""

    def __init__(self, run: AsyncRun, calls: LiveStreamCalls) -> None:
        self._run = run
        self._calls = calls

    def get(self, session_id: int | str) -> Coroutine[Any, Any, w.LiveStreamDetails]:
        """The live stream configuration."""
        return self._run(self._calls.get(session_id))

    def update(
        self,
        session_id: int | str,
        *,
        stream_url: str,
        stream_key: str,
        page_url: str,
        resolution: Literal["720p", "1080p"] | None = None,
    ) -> Coroutine[Any, Any, None]:
        """Configure the custom live stream (validated before sending)."""
        call = self._calls.update(
            session_id,
            stream_url=stream_url,
            stream_key=stream_key,
            page_url=page_url,
            resolution=resolution,
        )
        return self._run(call)

    def start(
        self,
        session_id: int | str,
        *,
        display_name: str | None = None,
        active_speaker_name: bool | None = None,
        layout: str | None = None,
        close_caption: str | None = None,
        form: bool = False,
    ) -> Coroutine[Any, Any, None]:
        """Start the live stream, with its settings (``form=True`` sends multipart)."""
        call = self._calls.start(
            session_id,
            display_name=display_name,
            active_speaker_name=active_speaker_name,
            layout=layout,
            close_caption=close_caption,
            form=form,
        )
        return self._run(call)

    def stop(self, session_id: int | str, *, form: bool = False) -> Coroutine[Any, Any, None]:
        """Stop the live stream."""
        return self._run(self._calls.stop(session_id, form=form))

    def join_token(self, session_id: int | str) -> Coroutine[Any, Any, u.JoinTokenAnswer]:
        """A token for a live-streaming app to join it (``expire_in`` seconds)."""
        return self._run(self._calls.join_token(session_id))

    def mode(
        self, session_id: int | str, *, layout: str | None = None, close_caption: str | None = None
    ) -> Coroutine[Any, Any, None]:
        """Meetings: change a running stream's layout and captions."""
        return self._run(self._calls.mode(session_id, layout=layout, close_caption=close_caption))


class AsyncSessions(Generic[S, L, I]):
    """``async_client.webinars`` / ``async_client.meetings``."""

    def __init__(self, run: AsyncRun, calls: SessionCalls[S, L, I]) -> None:
        self._run = run
        self._calls = calls
        self.livestream = AsyncLiveStreams(run, calls.livestream)
        self.registrants = AsyncRegistrants(run, calls.registrants)

    def create(self, user_id: str = "me", **fields: Any) -> Coroutine[Any, Any, S]:
        """Create one for ``user_id`` (``me``, an id or an email)."""
        return self._run(self._calls.create(user_id, fields))

    def get(self, session_id: int | str) -> Coroutine[Any, Any, S]:
        """One by id (or UUID)."""
        return self._run(self._calls.get(session_id))

    def update(self, session_id: int | str, **fields: Any) -> Coroutine[Any, Any, None]:
        """Change the given fields (validated before sending)."""
        return self._run(self._calls.update(session_id, fields))

    def delete(self, session_id: int | str) -> Coroutine[Any, Any, None]:
        """Delete one."""
        return self._run(self._calls.delete(session_id))

    def end(self, session_id: int | str) -> Coroutine[Any, Any, None]:
        """End it (``PUT .../status`` with ``action: end``)."""
        return self._run(self._calls.end(session_id))

    async def list(self, user_id: str = "me", **options: Any) -> AsyncIterator[I]:
        """Every one of the user's, page after page: an async iterator."""
        token: str | None = None
        while True:
            page = await self.page(user_id, next_page_token=token, **options)
            for item in self._calls.items(page):
                yield item
            token = self._calls.next_page_token(page)
            if not token:
                return

    def page(
        self,
        user_id: str = "me",
        *,
        type: str = "scheduled",
        page_size: int = 300,
        next_page_token: str | None = None,
    ) -> Coroutine[Any, Any, L]:
        """One page of the list (``list`` iterates over all pages)."""
        call = self._calls.page(
            user_id, type=type, page_size=page_size, next_page_token=next_page_token
        )
        return self._run(call)


class AsyncRegistrants:
    """``async_client.webinars.registrants`` / ``async_client.meetings.registrants``."""

    def __init__(self, run: AsyncRun, calls: RegistrantCalls) -> None:
        self._run = run
        self._calls = calls

    def create(
        self, session_id: int | str, *, email: str, first_name: str, **fields: Any
    ) -> Coroutine[Any, Any, r.RegistrantCreated]:
        """Register one person (other fields: ``last_name``, ``org``, ``custom_questions``...)."""
        call = self._calls.create(session_id, {"email": email, "first_name": first_name, **fields})
        return self._run(call)

    def batch(
        self,
        session_id: int | str,
        people: Sequence[dict[str, Any]],
        *,
        auto_approve: bool | None = None,
        confirmation_email: bool | None = None,
    ) -> Coroutine[Any, Any, r.BatchRegistrants]:
        """Register up to 30 people at once (``email``, ``first_name``, ``last_name`` each)."""
        call = self._calls.batch(
            session_id,
            [dict(p) for p in people],
            auto_approve=auto_approve,
            confirmation_email=confirmation_email,
        )
        return self._run(call)

    def page(
        self,
        session_id: int | str,
        *,
        status: RegistrantStatus = "approved",
        page_size: int = 30,
        next_page_token: str | None = None,
    ) -> Coroutine[Any, Any, r.RegistrantList]:
        """One page of the registrants in ``status`` (``list`` iterates over all pages)."""
        call = self._calls.page(
            session_id, status=status, page_size=page_size, next_page_token=next_page_token
        )
        return self._run(call)

    def get(self, session_id: int | str, registrant_id: str) -> Coroutine[Any, Any, r.Registrant]:
        """One registrant."""
        return self._run(self._calls.get(session_id, registrant_id))

    def update_status(
        self,
        session_id: int | str,
        action: RegistrantAction,
        registrants: Sequence[str | dict[str, str]],
    ) -> Coroutine[Any, Any, None]:
        """Approve, deny or cancel up to 30 registrants, each by id or email."""
        return self._run(self._calls.update_status(session_id, action, [*registrants]))

    def approve(self, session_id: int | str, *registrants: str) -> Coroutine[Any, Any, None]:
        """Approve registrants (by id or email)."""
        return self.update_status(session_id, "approve", registrants)

    def deny(self, session_id: int | str, *registrants: str) -> Coroutine[Any, Any, None]:
        """Deny registrants (by id or email)."""
        return self.update_status(session_id, "deny", registrants)

    def cancel(self, session_id: int | str, *registrants: str) -> Coroutine[Any, Any, None]:
        """Cancel approved registrants' registration (by id or email)."""
        return self.update_status(session_id, "cancel", registrants)

    def delete(self, session_id: int | str, registrant_id: str) -> Coroutine[Any, Any, None]:
        """Delete one registrant."""
        return self._run(self._calls.delete(session_id, registrant_id))

    def questions(self, session_id: int | str) -> Coroutine[Any, Any, r.RegistrationQuestions]:
        """The registration form's questions."""
        return self._run(self._calls.questions(session_id))

    def update_questions(
        self,
        session_id: int | str,
        *,
        questions: Sequence[dict[str, Any]] | None = None,
        custom_questions: Sequence[dict[str, Any]] | None = None,
    ) -> Coroutine[Any, Any, None]:
        """Replace the registration form's standard and custom questions."""
        call = self._calls.update_questions(
            session_id,
            questions=None if questions is None else [*questions],
            custom_questions=None if custom_questions is None else [*custom_questions],
        )
        return self._run(call)

    async def list(
        self, session_id: int | str, *, status: RegistrantStatus = "approved", page_size: int = 300
    ) -> AsyncIterator[r.Registrant]:
        """Every registrant in ``status``, page after page: an async iterator."""
        token: str | None = None
        while True:
            page = await self.page(
                session_id, status=status, page_size=page_size, next_page_token=token
            )
            for item in page.registrants:
                yield item
            token = page.next_page_token or None
            if not token:
                return


class AsyncPanelists:
    """``async_client.webinars.panelists``."""

    def __init__(self, run: AsyncRun) -> None:
        self._run = run

    def add(
        self, webinar_id: int | str, panelists: Sequence[dict[str, Any]]
    ) -> Coroutine[Any, Any, r.PanelistsAdded]:
        """Add up to 30 panelists (``name`` and ``email`` each)."""
        return self._run(PANELISTS.add(webinar_id, [dict(p) for p in panelists]))

    def delete(self, webinar_id: int | str, panelist_id: str) -> Coroutine[Any, Any, None]:
        """Remove one panelist."""
        return self._run(PANELISTS.delete(webinar_id, panelist_id))

    def delete_all(self, webinar_id: int | str) -> Coroutine[Any, Any, None]:
        """Remove every panelist."""
        return self._run(PANELISTS.delete_all(webinar_id))

    def list(self, webinar_id: int | str) -> Coroutine[Any, Any, r.PanelistList]:
        """The webinar's panelists."""
        return self._run(PANELISTS.list(webinar_id))


class AsyncUsers:
    """``async_client.users``."""

    def __init__(self, run: AsyncRun) -> None:
        self._run = run

    def get(self, user_id: str = "me") -> Coroutine[Any, Any, w.UserInfo]:
        """A user (``me``, an id or an email)."""
        return self._run(USERS.get(user_id))

    def page(
        self,
        *,
        status: Literal["active", "inactive", "pending"] = "active",
        page_size: int = 30,
        next_page_token: str | None = None,
        role_id: str | None = None,
    ) -> Coroutine[Any, Any, u.UserList]:
        """One page of the account's users (``list`` iterates over all pages)."""
        call = USERS.page(
            status=status, page_size=page_size, next_page_token=next_page_token, role_id=role_id
        )
        return self._run(call)

    def create(
        self,
        email: str,
        *,
        action: Literal["create", "autoCreate", "custCreate", "ssoCreate"] = "create",
        type: Literal[1, 2, 4, 99] = 1,
        **user_info: Any,
    ) -> Coroutine[Any, Any, u.UserCreated]:
        """Add a user (``create`` invites them: pending until they accept)."""
        return self._run(USERS.create(action, {"email": email, "type": type, **user_info}))

    def update(self, user_id: str, **fields: Any) -> Coroutine[Any, Any, None]:
        """Change profile fields (validated before sending)."""
        return self._run(USERS.update(user_id, fields))

    def delete(
        self,
        user_id: str,
        *,
        action: Literal["disassociate", "delete"] = "disassociate",
        **options: Any,
    ) -> Coroutine[Any, Any, None]:
        """Disassociate a user from the account, or delete them (``action="delete"``)."""
        return self._run(USERS.delete(user_id, {"action": action, **options}))

    def settings(
        self, user_id: str = "me", *, option: str | None = None
    ) -> Coroutine[Any, Any, u.UserSettings]:
        """The user's settings."""
        return self._run(USERS.settings(user_id, option))

    def update_settings(
        self, user_id: str, settings: dict[str, Any], *, option: str | None = None
    ) -> Coroutine[Any, Any, None]:
        """Change sections of the user's settings (``{"in_meeting": {...}}``)."""
        return self._run(USERS.update_settings(user_id, settings, option))

    def token(
        self,
        user_id: str = "me",
        *,
        type: Literal["token", "zak"] = "token",
        ttl: int | None = None,
    ) -> Coroutine[Any, Any, u.UserToken]:
        """A token of the user (``zak`` starts meetings on their behalf)."""
        return self._run(USERS.token(user_id, type, ttl))

    async def list(
        self, *, status: Literal["active", "inactive", "pending"] = "active", page_size: int = 300
    ) -> AsyncIterator[dict[str, Any]]:
        """Every user of the account in ``status``, page after page: an async iterator."""
        token: str | None = None
        while True:
            page = await self.page(status=status, page_size=page_size, next_page_token=token)
            for item in page.users:
                yield item
            token = page.next_page_token or None
            if not token:
                return


WebinarCalls = SessionCalls[w.Webinar, w.WebinarList, w.WebinarListItem]


class WebinarSessions(Sessions[w.Webinar, w.WebinarList, w.WebinarListItem]):
    """``client.webinars``: with panelists, which meetings do not have."""

    def __init__(self, run: Run, calls: WebinarCalls) -> None:
        super().__init__(run, calls)
        self.panelists = Panelists(run)


class AsyncWebinarSessions(AsyncSessions[w.Webinar, w.WebinarList, w.WebinarListItem]):
    """``async_client.webinars``: with panelists, which meetings do not have."""

    def __init__(self, run: AsyncRun, calls: WebinarCalls) -> None:
        super().__init__(run, calls)
        self.panelists = AsyncPanelists(run)


MeetingSessions = Sessions[w.Meeting, w.MeetingList, w.MeetingListItem]
AsyncMeetingSessions = AsyncSessions[w.Meeting, w.MeetingList, w.MeetingListItem]
