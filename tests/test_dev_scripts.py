"""The developer entry points a newcomer runs (#19): `make test` builds the test API server with progress on
stderr (the first build takes ~12 minutes), and `scripts/testcluster/up` stops on Ctrl-C/SIGINT even when started
in the background."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# A stand-in `go` for the build script: the real build takes ~12 minutes and needs the module proxy; this one
# answers the same commands in seconds, printing `-v` package lines slowly, so the script's progress reporting
# (and its handling of a failing build: failure injection) can be checked.
FAKE_GO = r"""#!/usr/bin/env bash
set -eu
case "$1 $2" in
  "mod download")
    d=$(mktemp -d); printf 'module k8s.io/kubernetes\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n)\n' > "$d/go.mod"
    printf '{\n\t"GoMod": "%s",\n}\n' "$d/go.mod" ;;
  "mod tidy") sleep 1.5 ;;
  *)
    out=""; pkg=""; prev=""
    for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; pkg=$a; done
    if [ -n "${FAKE_GO_FAIL:-}" ] && [[ "$pkg" == *"$FAKE_GO_FAIL"* ]]; then
      echo "# $pkg" >&2; echo "cmd/x/main.go:3:1: syntax error: unexpected }" >&2; exit 1
    fi
    for i in $(seq 1 30); do echo "k8s.io/fake/pkg$i" >&2; sleep 0.1; done
    if [ "$1" = install ]; then out="$GOBIN/kwok"; fi
    printf '#!/bin/sh\n' > "$out"; chmod +x "$out" ;;
esac
"""


def _fake_toolchain(tmp_path: Path) -> dict[str, str]:
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    go = bindir / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "AMBIENTCTL_PROGRESS_EVERY": "1",
            "AMBIENTCTL_TESTCLUSTER_CACHE": str(tmp_path / "cache")}


def test_build_prints_progress_while_it_compiles(tmp_path):
    env = _fake_toolchain(tmp_path)
    r = subprocess.run([REPO / "scripts" / "testcluster" / "build"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("/bin")  # stdout: the directory, as before
    err = r.stderr.splitlines()
    assert "testcluster: building kube-apiserver ..." in err
    ticks = [line for line in err if line.startswith("testcluster: building kube-apiserver: ") and "elapsed" in line]
    assert ticks, r.stderr  # a line every second (AMBIENTCTL_PROGRESS_EVERY) while it compiles
    assert any(" packages compiled, " in t and not t.split(": ")[2].startswith("0 ") for t in ticks), ticks
    assert any(line.startswith("testcluster: building kwok: done in ") for line in err)
    assert err[-1].startswith("testcluster: binaries ready in ")
    assert not any(line.startswith("k8s.io/fake/") for line in err)  # package lines are counted, not shown


def test_build_failure_shows_the_compiler_error_and_stops(tmp_path):
    env = {**_fake_toolchain(tmp_path), "FAKE_GO_FAIL": "kube-scheduler"}
    r = subprocess.run([REPO / "scripts" / "testcluster" / "build"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0
    assert "syntax error: unexpected }" in r.stderr
    assert "testcluster: building kube-scheduler failed after" in r.stderr
    assert not list((tmp_path / "cache").glob("*/bin/kube-scheduler"))


def test_make_testcluster_does_not_hide_the_build_output():
    r = subprocess.run(["make", "-n", "testcluster"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "scripts/testcluster/build" in r.stdout and "/dev/null" not in r.stdout


def _control_plane_pids(work: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if work in (d / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


def _blocked(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            return int(line.split()[1], 16)
    return 0


@pytest.mark.live
def test_up_started_in_the_background_stops_on_sigint():
    """`scripts/testcluster/up &`: SIGINT arrives ignored (as a shell starts background jobs); kill -INT must
    still stop it, promptly, with its control plane — whose processes run with SIGINT/SIGTERM deliverable."""
    from tests.cluster.fixture import ClusterStartError, find_binaries

    try:
        find_binaries()
    except ClusterStartError as e:
        pytest.skip(str(e))
    p = subprocess.Popen([REPO / "scripts" / "testcluster" / "up"], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert p.stdout is not None and p.stderr is not None
        line = p.stdout.readline()
        assert line.startswith("export KUBECONFIG="), p.stderr.read()
        work = str(Path(line.split("=", 1)[1].strip()).parent)
        children = _control_plane_pids(work)
        assert children
        term_int = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))
        assert not [c for c in children if _blocked(c) & term_int], "children inherited blocked SIGINT/SIGTERM"
        p.send_signal(signal.SIGINT)
        p.wait(timeout=90)  # a hang guard, not a measurement
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 0
    assert not _control_plane_pids(work)
