"""The CLI's one error boundary: a failure is one line on stderr and an exit code by kind."""

from __future__ import annotations

import typer

EXIT_ZOOM = 1
"""Zoom said no (or a bulk row failed), or the command failed."""
EXIT_USAGE = 2
"""Bad arguments, or a missing extra."""
EXIT_UNREACHABLE = 3
"""The server could not be reached."""
EXIT_AMBIGUOUS = 4
"""The request was sent but its answer was lost, and it may have taken effect (a create): check
before running the command again."""


def fail(message: str, code: int = EXIT_ZOOM) -> typer.Exit:
    """Print ``zoomlive: message`` on stderr; raise the returned exit."""
    typer.echo(f"zoomlive: {message}", err=True)
    return typer.Exit(code)
