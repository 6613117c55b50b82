"""Completions and man pages are generated from the CLI definition (scripts/gen-docs); these tests fail when
the committed copies drift, and drive real bash, zsh and fish sessions to prove the scripts complete commands,
options and pod names (from a snapshot named on the command line)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "scripts"))


def _expected() -> dict[str, str]:
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("gen_docs", str(REPO / "scripts" / "gen-docs"))
    spec = importlib.util.spec_from_loader("gen_docs", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod.expected()


def test_committed_completions_and_man_pages_match_the_cli():
    want = _expected()
    stale = [rel for rel, text in want.items() if not (REPO / rel).exists() or (REPO / rel).read_text() != text]
    extra = [p.name for p in (REPO / "man").glob("*.1") if f"man/{p.name}" not in want]
    assert not stale and not extra, f"run scripts/gen-docs: stale {stale}, extra {extra}"


def test_every_command_has_a_man_page_that_renders_without_warnings():
    if not shutil.which("man"):
        pytest.skip("man (Debian man-db) is not installed")
    for page in sorted((REPO / "man").glob("*.1")):
        r = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True,
                           env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"})
        assert r.returncode == 0, r.stderr
        assert r.stderr.strip() == "", f"{page.name}: {r.stderr}"
        assert "SYNOPSIS" in r.stdout and "EXIT STATUS" in r.stdout


@pytest.fixture
def snapshot(tmp_path):
    from tests.helpers import pod

    p = tmp_path / "snap.yaml"
    p.write_text(pod("productpage-v1-abc", labels={"app": "productpage"}) + pod("sleep-xyz", labels={"app": "sleep"})
                 + pod("web-1", ns="shop"))
    return p


def _env():
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/root")}


def bash_complete(line: str) -> list[str]:
    words = line.split(" ")
    script = (f"source {REPO}/completions/bash/ambientctl; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
              f"COMP_CWORD={len(words) - 1}; _ambientctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stderr
    return [x for x in r.stdout.splitlines() if x]


def test_bash_completes_commands_options_choices_and_pods(snapshot):
    assert bash_complete("ambientctl des") == ["describe"]
    assert bash_complete("ambientctl describe ") == ["pod", "service", "waypoint"]
    assert "--snapshot" in bash_complete("ambientctl describe pod --s")
    assert bash_complete("ambientctl describe pod -o ") == ["text", "json", "yaml"]
    assert bash_complete(f"ambientctl describe pod --snapshot {snapshot} prod") == ["productpage-v1-abc"]
    assert bash_complete(f"ambientctl describe pod --snapshot {snapshot} -n shop ") == ["web-1"]
    assert bash_complete(f"ambientctl describe pod --snapshot {snapshot} -n ") == ["default", "shop"]


def test_fish_completes_pods(snapshot):
    if not shutil.which("fish"):
        pytest.skip("fish is not installed")
    r = subprocess.run(["fish", "--no-config", "-c",
                        f"source {REPO}/completions/fish/ambientctl.fish; "
                        f"complete -C 'ambientctl describe pod --snapshot {snapshot} '; "
                        "complete -C 'ambientctl descr'"],
                       capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stderr
    got = [line.split("\t")[0] for line in r.stdout.splitlines()]
    assert "productpage-v1-abc" in got and "sleep-xyz" in got and "describe" in got


def test_zsh_completes_pods_in_a_real_session(snapshot, tmp_path):
    if not shutil.which("zsh") or not shutil.which("tmux"):
        pytest.skip("zsh and tmux are needed")
    fdir = tmp_path / "fpath"
    fdir.mkdir()
    shutil.copy(REPO / "completions/zsh/_ambientctl", fdir / "_ambientctl")
    zdot = tmp_path / "zdot"
    zdot.mkdir()
    (zdot / ".zshrc").write_text(f"fpath=({fdir} $fpath)\nautoload -U compinit && compinit -u\nPS1='%% '\n")
    session = f"actl-{uuid.uuid4().hex[:8]}"
    env = {**_env(), "ZDOTDIR": str(zdot)}
    # -e as well as env: when a tmux server is already running, new sessions get the server's environment,
    # not this process's, and zsh would start without our ZDOTDIR/PATH
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "20",
                    "-e", f"ZDOTDIR={zdot}", "-e", f"PATH={env['PATH']}", "zsh", "-i"], env=env, check=True)
    try:
        time.sleep(1.0)
        subprocess.run(["tmux", "send-keys", "-t", session, f"ambientctl describe pod --snapshot {snapshot} prod",
                        "Tab"], check=True)
        screen = ""
        for _ in range(40):
            time.sleep(0.25)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                    text=True).stdout
            if "productpage-v1-abc" in screen:
                break
        assert "productpage-v1-abc" in screen, screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
