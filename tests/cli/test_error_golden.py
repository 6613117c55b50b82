"""Golden error messages of every command: tests/golden/errors.txt is a table of command lines and the one line
each prints on stderr with its exit code, in the house style (ambientctl.errors):

    $ decode nope.pcap --keylog nope.keys
    1 ambientctl: decode: nope.pcap: cannot read the capture: no such file or directory

Each case runs in a directory holding the small bad inputs made by `inputs` below, with no kubeconfig and no
in-cluster service account, so "no cluster" cases are stable. AMBIENTCTL_UPDATE_GOLDEN=1 rewrites the expected
lines (keep the `$` lines and comments); review the diff like any other golden file.
"""

from __future__ import annotations

import os
import shlex

import pytest

from ambientctl.cli.main import main
from ambientctl.cli.spec import cli_spec
from tests.golden_util import GOLDEN

TABLE = GOLDEN / "errors.txt"


def read_table() -> list[tuple[str, str | None]]:
    """[(command line, expected "EXIT LINE" or None)], in file order."""
    cases: list[tuple[str, str | None]] = []
    for line in TABLE.read_text().splitlines():
        if line.startswith("$ "):
            cases.append((line[2:], None))
        elif line and not line.startswith("#") and cases and cases[-1][1] is None:
            cases[-1] = (cases[-1][0], line)
    return cases


def inputs(d) -> None:  # type: ignore[no-untyped-def]
    """The bad inputs the table names, by file name."""
    (d / "empty.pcap").write_bytes(b"")
    (d / "notes.txt").write_text("hello, these are notes\n")
    (d / "binary.log").write_bytes(b"\x00\x01\x02binary")
    (d / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\n"
                                "spec: {containers: oops}\n")
    (d / "adir").mkdir()
    (d / "notempty").mkdir()
    (d / "notempty" / "x").write_text("x")


def run_case(cmdline: str, capsys) -> str:  # type: ignore[no-untyped-def]
    code = main(shlex.split(cmdline))
    _out, err = capsys.readouterr()
    assert "Traceback" not in err, f"{cmdline}: {err}"
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, f"{cmdline}: expected one line on stderr, got {err!r}"
    assert code != 0, f"{cmdline}: exit status 0 for an error case"
    return f"{code} {lines[0]}"


@pytest.fixture
def workdir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECONFIG", "no-kubeconfig")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("AMBIENTCTL_NO_PLUGINS", raising=False)
    return tmp_path


def test_error_messages_match_the_table(workdir, capsys):  # type: ignore[no-untyped-def]
    cases = read_table()
    got = {cmd: run_case(cmd, capsys) for cmd, _ in cases}
    if os.environ.get("AMBIENTCTL_UPDATE_GOLDEN") == "1":
        out, pending = [], None
        for line in TABLE.read_text().splitlines():
            if pending is not None and not line.startswith(("#", "$")) and line:
                continue  # the old expected line: replaced below
            if pending is not None:
                out.append(got[pending])
                pending = None
            out.append(line)
            if line.startswith("$ "):
                pending = line[2:]
        if pending is not None:
            out.append(got[pending])
        TABLE.write_text("\n".join(out) + "\n")
        return
    wrong = [f"$ {cmd}\n  want: {want}\n  got:  {got[cmd]}" for cmd, want in cases if got[cmd] != want]
    assert not wrong, "error messages differ from tests/golden/errors.txt:\n" + "\n".join(wrong)


def test_every_command_has_an_error_case() -> None:
    """Each leaf command (describe pod, logs parse, ...) appears in at least one case of the table."""
    table = [shlex.split(cmd) for cmd, _ in read_table()]
    missing = []
    for c in cli_spec().walk():
        if c.subcommands or not c.path:
            continue
        names = [c.path, *([c.path[:-1] + [a] for a in c.aliases])]
        if not any(words[: len(n)] == n for words in table for n in names):
            missing.append(" ".join(c.path))
    assert not missing, f"commands with no error case in {TABLE.name}: {missing}"


def test_table_cases_are_all_answered() -> None:
    assert all(want for _, want in read_table()), "a case has no expected line: run with AMBIENTCTL_UPDATE_GOLDEN=1"
