"""The ``zoomlive`` command: the operator's live-stream commands over the SDK
(``zoomlive webinar|meeting ...``) and the emulator's (``serve``, ``seed``, ``receive``,
``demo``)."""

from __future__ import annotations

import typer

from zoomlive.api.sessions import SESSION_KINDS
from zoomlive.cli import emulator, parity, people, state, trigger
from zoomlive.cli.sessions import session_app

app = typer.Typer(
    name="zoomlive",
    help="Control Zoom webinar and meeting live streams, or emulate Zoom's API to test against.",
    no_args_is_help=True,
    add_completion=False,
)
emulator.register(app)
trigger.register(app)
parity.register(app)
state.register(app)
for _kind in SESSION_KINDS:
    _sessions = session_app(_kind)
    people.register(_sessions, _kind)
    app.add_typer(_sessions, name=_kind)


@app.command()
def version() -> None:
    """Print the version."""
    from zoomlive._version import __version__

    typer.echo(__version__)


def main() -> None:
    app()
