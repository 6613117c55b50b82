"""Errors users see as one line, each with the exit code the design promises (1 error, 2 usage, 3 denied).

Every layer raises these instead of printing; the CLI turns them into `ambientctl: <message>` on stderr.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_DENIED = 3
EXIT_INTERRUPTED = 130


class AmbientctlError(Exception):
    """A failure the user can act on; the message names what and where."""

    exit_code = EXIT_ERROR


class InputError(AmbientctlError):
    """A file or document that cannot be read or understood (names the file, document and field)."""


class UsageError(AmbientctlError):
    """A reference or option that names nothing, or several things."""

    exit_code = EXIT_USAGE


class NotFound(UsageError):
    """A reference (pod, workload, service) that matches nothing."""


class Ambiguous(UsageError):
    """A reference that matches more than one object."""
