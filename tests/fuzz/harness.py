"""Run the real CLI entry on one input and judge the outcome as a user would see it.

`run_cli` calls `ambientctl.cli.main.main(argv)` in-process with stdout/stderr as strict UTF-8 streams (a lone
surrogate printed to a real terminal or pipe fails the same way), a private temporary directory, and reports an
`Outcome`. `judge` says what is wrong with it: an exception escaping main (a traceback), an exit code other than
the ones allowed, more than one line on stderr, or a file left behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ambientctl.cli.main import main

ALLOWED = (0, 1, 2, 3)


@dataclass
class Outcome:
    argv: list[str]
    code: int | None
    stdout: str
    stderr: str
    crash: str = ""  # formatted traceback of an exception that escaped main()
    crash_key: str = ""  # exception type + innermost ambientctl frame: one key per distinct crash
    left: list[str] = field(default_factory=list)  # files that appeared and stayed


def _listing(*dirs: Path) -> set[str]:
    out = set()
    for d in dirs:
        for root, dnames, fnames in os.walk(d):
            out.update(os.path.join(root, n) for n in dnames + fnames)
    return out


def crash_key(e: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "/ambientctl/" in f.filename]
    where = f"{frames[-1].filename.split('/ambientctl/')[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"{type(e).__name__} at {where}"


def run_cli(argv: list[str], workdir: Path) -> Outcome:
    out_b, err_b = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_b, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_b, encoding="utf-8", errors="strict", write_through=True)
    tmp = workdir / "tmp"
    tmp.mkdir(exist_ok=True)
    before = _listing(workdir)
    old_tempdir, old_cwd = tempfile.tempdir, os.getcwd()
    code: int | None = None
    crash = key = ""
    try:
        tempfile.tempdir = str(tmp)
        os.chdir(workdir)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except (Exception, RecursionError) as e:
                crash, key = "".join(traceback.format_exception(e)), crash_key(e)
    finally:
        tempfile.tempdir = old_tempdir
        os.chdir(old_cwd)
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    left = sorted(_listing(workdir) - before)
    return Outcome(list(argv), code, out_b.getvalue().decode("utf-8", "replace"),
                   err_b.getvalue().decode("utf-8", "replace"), crash, key, left)


def judge(o: Outcome, allowed: tuple[int, ...] = ALLOWED) -> str:
    """'' when the outcome is acceptable, else what is wrong (first line: a stable key for the problem)."""
    if o.crash:
        return f"traceback: {o.crash_key}\n{o.crash}"
    if o.code not in allowed:
        return f"exit {o.code} (allowed {allowed})\n{o.stderr[-2000:]}"
    lines = o.stderr.strip().splitlines()
    if len(lines) > 1:
        return f"{len(lines)} lines on stderr: {lines[0][:100]}\n{o.stderr[-3000:]}"
    if "Traceback" in o.stderr:
        return f"traceback text on stderr\n{o.stderr}"
    if o.code in (1, 2) and not lines:
        return f"exit {o.code} with nothing on stderr"
    if o.left:
        return f"left files behind: {o.left[:5]}"
    return ""
