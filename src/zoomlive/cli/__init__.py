"""The ``zoomlive`` command: the operator's live-stream commands over the SDK
(``zoomlive webinar|meeting ...``) and the emulator's (``serve``, ``seed``, ``receive``,
``demo``)."""

from __future__ import annotations

import typer

from zoomlive.cli import emulator
from zoomlive.cli.sessions import session_app

app = typer.Typer(
    name="zoomlive",
    help="Control Zoom webinar and meeting live streams, or emulate Zoom's API to test against.",
    no_args_is_help=True,
    add_completion=False,
)
emulator.register(app)
app.add_typer(session_app("webinar"), name="webinar")
app.add_typer(session_app("meeting"), name="meeting")


@app.command()
def version() -> None:
    """Print the version."""
    from zoomlive._version import __version__

    typer.echo(__version__)


def main() -> None:
    app()
