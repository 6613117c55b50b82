"""Errors users see as one line, each with the exit code the design promises (1 error, 2 usage, 3 denied).

Every layer raises these instead of printing; the CLI prints them in one style (kubectl's habits):

    ambientctl: <command>: [<where>: ]<what>[; <what to try>]

`where` is the input at fault — a file (and document/field inside it), an option, a reference — and the hint
says what to type next (`did you mean ...`, `add -n legacy`, `use --demo`). Build them with the keyword
arguments (`InputError("no such file", where=path)`) or the helpers below, so every command words the same
failure the same way.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_DENIED = 3
EXIT_INTERRUPTED = 130


class AmbientctlError(Exception):
    """A failure the user can act on; the message names what and where, and what to try when there is a fix."""

    exit_code = EXIT_ERROR

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text}; {self.hint}" if self.hint else text


class InputError(AmbientctlError):
    """A file or document that cannot be read or understood (names the file, document and field)."""


class UsageError(AmbientctlError):
    """A reference or option that names nothing, or several things."""

    exit_code = EXIT_USAGE


class NotFound(UsageError):
    """A reference (pod, workload, service) that matches nothing."""


class Ambiguous(UsageError):
    """A reference that matches more than one object."""


# What to try when there is no cluster to talk to (no kubeconfig, no context): every command says the same.
NO_CLUSTER_HINT = ("give --kubeconfig PATH (or set $KUBECONFIG), or try without a cluster: --demo (a bundled demo "
                   "cluster) or --snapshot PATH (kubectl get -A -o yaml output)")


def error_line(command: str | None, err: BaseException) -> str:
    """The one line printed on stderr for an error raised while running `command` ("describe pod", ...). What the
    input put in it (names, log fields) is shown escaped, never acted on by the terminal."""
    from ambientctl.unicode import visible_line

    return visible_line(f"ambientctl: {command}: {err}" if command else f"ambientctl: {err}")


def os_reason(err: OSError) -> str:
    """`No such file or directory` -> `no such file or directory`: the OS's words, in the house's case."""
    text = err.strerror or (errno.errorcode.get(err.errno or 0) if err.errno else None) or str(err)
    return text[:1].lower() + text[1:]


def file_error(path: object, err: OSError, what: str = "file") -> InputError:
    """The error for a file that cannot be read, worded the same in every command:
    `<path>: cannot read the <what>: <reason>`."""
    return InputError(f"cannot read the {what}: {os_reason(err)}", where=str(path))


def no_such_file(path: object, what: str = "file") -> InputError:
    import os

    return file_error(path, FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT)), what)


def check_readable(path: object, what: str = "file") -> None:
    """Raise file_error when `path` cannot be opened for reading (used to report inputs in argument order)."""
    try:
        with open(str(path), "rb"):
            pass
    except OSError as e:
        raise file_error(path, e, what) from None
