"""Every file and directory ambientctl writes goes through here, so one set of rules protects the user's files:

- an existing path is refused unless the user passed --force; `-` (and /dev/stdout, /dev/stderr, /dev/fd/1,
  /dev/null) is the stream the user named and is written to directly;
- nothing is written through a symbolic link or onto a device, FIFO or socket (renaming over `/dev/stdout` as
  root would replace the device node);
- nothing is written onto a file the command reads (compared by device and inode, so a hard link or another
  spelling of the same path is caught);
- the data goes to a hidden temporary file (or directory) next to the target and is renamed into place, so an
  interrupted write leaves the old file or nothing — and the temporary is removed on every exit path: errors,
  Ctrl-C, and SIGTERM/SIGHUP (main() turns those into `Terminated`, so the same clean-up runs).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ambientctl.errors import InputError, UsageError

# The streams a user can name as a path; the value is the file descriptor written to (None: discard).
STREAMS: dict[str, int | None] = {
    "-": 1, "/dev/stdout": 1, "/dev/fd/1": 1, "/proc/self/fd/1": 1,
    "/dev/stderr": 2, "/dev/fd/2": 2, "/proc/self/fd/2": 2,
    "/dev/null": None,
}
PARTIAL = ".partial"

_live_temps: set[str] = set()  # temporaries not yet renamed or removed (removed at exit as a last resort)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so every `finally` and interrupt handler runs (temp files removed,
    captures closed as valid pcaps); main() exits with 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(signum)


@atexit.register
def _remove_leftovers() -> None:
    for path in list(_live_temps):
        _remove(path)


def _remove(path: str) -> None:
    _live_temps.discard(path)
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


@dataclass(frozen=True)
class Target:
    """A checked output path. `stream` is set (fd, or None for /dev/null) when the user named a stream."""

    path: str
    option: str
    force: bool = False
    directory: bool = False
    inputs: tuple[tuple[int, int], ...] = field(default=(), repr=False)
    is_stream: bool = False
    stream: int | None = None

    @property
    def absolute(self) -> str:
        return os.path.abspath(self.path.rstrip("/\\") or self.path)

    def where(self) -> str:
        return f"{self.option} {self.path}"


def _identities(inputs: Iterable[str | os.PathLike[str] | None]) -> tuple[tuple[int, int], ...]:
    ids = []
    for p in inputs:
        if not p or str(p) in STREAMS:
            continue
        try:
            st = os.stat(p)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode):
            ids.append((st.st_dev, st.st_ino))
        elif stat.S_ISDIR(st.st_mode):  # a directory of inputs: every regular file under it is an input
            for f in Path(p).rglob("*"):
                with contextlib.suppress(OSError):
                    fs = f.stat()
                    if stat.S_ISREG(fs.st_mode):
                        ids.append((fs.st_dev, fs.st_ino))
    return tuple(ids)


def check_target(path: str | None, option: str, *, force: bool = False,
                 inputs: Iterable[str | os.PathLike[str] | None] = (), directory: bool = False,
                 stream_ok: bool = True) -> Target:
    """Check that `path` may be written (see the module docstring); raise a one-line error naming the option and
    path otherwise. Call it before doing the work, so a refused path costs nothing; the write checks again."""
    if path is None or not str(path).strip():
        raise UsageError(f"{option}: needs a path (got an empty argument)")
    path = str(path)
    if "\x00" in path:
        raise UsageError(f"{option} {path!r}: a path cannot contain a NUL byte")
    if path in STREAMS:
        if directory or not stream_ok:
            what = "a directory" if directory else "a file"
            raise UsageError(f"{option} {path}: needs {what}, not a stream")
        return Target(path, option, force, directory, (), True, STREAMS[path])
    target = Target(path, option, force, directory, _identities(inputs))
    _check_path(target)
    return target


def _check_path(t: Target) -> None:
    full = t.absolute
    parent = os.path.dirname(full)
    try:
        pst = os.stat(parent)
    except OSError:
        raise InputError(f"{t.where()}: directory {parent} does not exist") from None
    if not stat.S_ISDIR(pst.st_mode):
        raise InputError(f"{t.where()}: {parent} is not a directory")
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        return
    except OSError as e:
        raise InputError(f"{t.where()}: {e.strerror or e}") from None
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"{t.where()}: is a symbolic link (to {os.readlink(full)}); ambientctl never writes "
                         "through a link: give the real path")
    if (st.st_dev, st.st_ino) in t.inputs:
        raise InputError(f"{t.where()}: is a file this command reads; write somewhere else")
    if t.directory:
        if not stat.S_ISDIR(st.st_mode):
            raise InputError(f"{t.where()}: exists and is not a directory")
        if os.listdir(full) and not t.force:
            raise InputError(f"{t.where()}: directory exists and is not empty (--force replaces it)")
        return
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{t.where()}: is a directory")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                else "a device")
        raise InputError(f"{t.where()}: is {kind}, not a regular file; ambientctl writes only regular files "
                         "(use - for stdout)")
    if not t.force:
        raise InputError(f"{t.where()}: already exists (--force replaces it)")


def _default_mode(full: int = 0o666) -> int:
    """What open() would give a new file (or mkdir a directory with full=0o777) under the current umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return full & ~mask


class AtomicFile:
    """A hidden temporary next to the target, renamed into place by commit(), removed by discard(). For a
    stream target, `f` is the stream itself."""

    def __init__(self, target: Target):
        self.target = target
        self.tmp = ""
        self.done = False
        if target.is_stream:
            if target.stream is None:
                self.f: BinaryIO = open(os.devnull, "wb")  # noqa: SIM115 - closed in commit/discard
            elif target.stream == 1:
                self.f = sys.stdout.buffer
            else:
                self.f = sys.stderr.buffer
            return
        _check_path(target)
        full = target.absolute
        try:
            fd, self.tmp = tempfile.mkstemp(dir=os.path.dirname(full), prefix=f".{os.path.basename(full)}.",
                                            suffix=PARTIAL)
        except OSError as e:
            raise InputError(f"{target.where()}: cannot write: {e.strerror or e}") from None
        _live_temps.add(self.tmp)
        os.fchmod(fd, _default_mode())
        self.f = os.fdopen(fd, "wb")

    def commit(self) -> None:
        if self.done:
            return
        self.done = True
        t = self.target
        if t.is_stream:
            self.f.flush()
            if t.stream is None:
                self.f.close()
            return
        try:
            self.f.flush()
            os.fsync(self.f.fileno())
            self.f.close()
            _check_path(t)  # again: something may have appeared there while we wrote
            if t.force:
                os.replace(self.tmp, t.absolute)
            else:
                try:
                    os.link(self.tmp, t.absolute)  # fails if the path exists now: never replaces what appeared
                    os.unlink(self.tmp)
                except FileExistsError:
                    raise
                except OSError:  # a file system without hard links: the check above is the best there is
                    os.replace(self.tmp, t.absolute)
            _live_temps.discard(self.tmp)
        except OSError as e:
            self.discard()
            if isinstance(e, FileExistsError):
                raise InputError(f"{t.where()}: already exists (--force replaces it)") from None
            raise InputError(f"{t.where()}: cannot write: {e.strerror or e}") from None
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        self.done = True
        if self.target.is_stream:
            if self.target.stream is None:
                self.f.close()
            return
        with contextlib.suppress(OSError):
            self.f.close()
        _remove(self.tmp)


@contextlib.contextmanager
def open_output(target: Target) -> Iterator[BinaryIO]:
    """`with open_output(check_target(...)) as f:` — the file appears at the target only if the block ends
    normally; on any exception (Ctrl-C included) the temporary is removed."""
    out = AtomicFile(target)
    try:
        yield out.f
    except BaseException:
        out.discard()
        raise
    out.commit()


def write_output(target: Target, data: bytes) -> None:
    with open_output(target) as f:
        f.write(data)


@contextlib.contextmanager
def output_directory(target: Target) -> Iterator[Path]:
    """A hidden temporary directory next to the target, filled by the block and renamed into place when it
    ends normally (replacing a non-empty directory only with --force); removed on any exception."""
    if not target.directory:
        raise ValueError("output_directory needs a Target checked with directory=True")
    _check_path(target)
    full = target.absolute
    try:
        tmp = tempfile.mkdtemp(dir=os.path.dirname(full), prefix=f".{os.path.basename(full)}.", suffix=PARTIAL)
    except OSError as e:
        raise InputError(f"{target.where()}: cannot write: {e.strerror or e}") from None
    _live_temps.add(tmp)
    try:
        os.chmod(tmp, _default_mode(0o777))
        yield Path(tmp)
        _check_path(target)
        old = ""
        if os.path.isdir(full):
            if os.listdir(full):  # only with --force (checked above): set the old one aside, then drop it
                old = tempfile.mkdtemp(dir=os.path.dirname(full), prefix=f".{os.path.basename(full)}.",
                                       suffix=".old")
                _live_temps.add(old)
                os.rename(full, os.path.join(old, "d"))
            else:
                os.rmdir(full)
        os.rename(tmp, full)
        _live_temps.discard(tmp)
        if old:
            _remove(old)
    except OSError as e:
        _remove(tmp)
        raise InputError(f"{target.where()}: cannot write: {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise
