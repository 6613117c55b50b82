"""`kubectl ambient ...` through the real kubectl binary (it finds kubectl-ambient on PATH and passes every word
after `ambient`), and the translation of kubectl's global flags."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ambientctl.cli.kubectl import FlagError, seconds, translate

BIN = Path(sys.executable).parent


@pytest.fixture
def kubectl() -> list[str]:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed (Debian package kubernetes-client)")
    if not (BIN / "kubectl-ambient").exists():
        pytest.skip(f"kubectl-ambient is not installed in {BIN} (pip install -e .)")
    return [path]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "KUBECONFIG": os.devnull}
    return subprocess.run(argv, capture_output=True, text=True, env=env)


def test_kubectl_ambient_prints_what_ambientctl_prints(kubectl):  # type: ignore[no-untyped-def]
    want = _run([str(BIN / "ambientctl"), "describe", "pod", "productpage", "--demo"])
    assert want.returncode == 0 and "productpage-v1" in want.stdout
    for argv in (["ambient", "describe", "pod", "productpage", "--demo"],
                 ["ambient", "--context", "prod", "-n", "default", "--request-timeout=5s", "describe", "pod",
                  "productpage", "--demo"],
                 ["ambient", "describe", "pod", "productpage", "--demo", "--namespace=default"]):
        got = _run([*kubectl, *argv])
        assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, ""), argv
    listed = _run([*kubectl, "plugin", "list"])
    assert str(BIN / "kubectl-ambient") in listed.stdout


def test_kubectl_ambient_errors_and_exit_codes(kubectl):  # type: ignore[no-untyped-def]
    r = _run([*kubectl, "ambient", "--as", "admin", "describe", "pod", "x", "--demo"])
    assert r.returncode == 2 and r.stderr.startswith("kubectl ambient: error: kubectl flag --as is not supported")
    r = _run([*kubectl, "ambient", "describe", "pod", "no-such-pod", "--demo"])
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1


def test_leading_kubectl_flags_move_behind_the_command():
    assert translate(["-n", "shop", "describe", "pod", "web"]) == ["describe", "pod", "web", "--namespace", "shop"]
    assert translate(["-nshop", "--context=prod", "describe", "pod", "web"]) == [
        "describe", "pod", "web", "--namespace", "shop", "--context", "prod"]
    assert translate(["--request-timeout", "1m30s", "explain", "a", "b"])[-2:] == ["--request-timeout", "90"]
    assert translate(["describe", "pod", "web", "--request-timeout=500ms"]) == [
        "describe", "pod", "web", "--request-timeout", "0.5"]
    # decode has no namespace or cluster: kubectl's globals are ignored there, as kubectl ignores them
    assert translate(["-n", "shop", "--context", "x", "decode", "f.pcap"]) == ["decode", "f.pcap"]
    assert translate(["--context", "x"]) == ["--context", "x"]  # no command: the app, at the top level
    assert translate(["describe", "pod", "web"]) == ["describe", "pod", "web"]


def test_flag_errors():
    assert seconds("0") == "3600" and seconds("2h") == "7200" and seconds("30") == "30"
    for bad in (["--request-timeout", "soon", "describe"], ["--token", "t", "describe"], ["-n"]):
        with pytest.raises(FlagError):
            translate(bad)
