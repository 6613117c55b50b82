"""The real `ambientctl` in a real terminal: started with `--demo` in a detached tmux session, driven with
send-keys, read back with capture-pane — what a user at a terminal sees, including that `ambientctl` with no
COMMAND opens the app only on a terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

AMBIENTCTL = str(Path(sys.executable).parent / "ambientctl")


@pytest.fixture
def tmux():  # type: ignore[no-untyped-def]
    if shutil.which("tmux") is None:
        pytest.skip("tmux not installed (scripts/install-system-deps installs it)")
    session = f"ambientctl-test-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}

    def tm(*args: str) -> str:
        return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True, env=env).stdout

    pane_pids: list[int] = []

    class Term:
        def start(self, command: str) -> None:
            tm("new-session", "-d", "-s", session, "-x", "130", "-y", "40", command)
            pane_pids.append(int(tm("display-message", "-p", "-t", session, "#{pane_pid}")))

        def keys(self, *keys: str) -> None:
            tm("send-keys", "-t", session, *keys)

        def screen(self) -> str:
            return tm("capture-pane", "-p", "-t", session)

        def wait_for(self, text: str, timeout: float = 30.0) -> str:
            deadline = time.monotonic() + timeout
            while True:
                shown = self.screen()
                if text in shown:
                    return shown
                if time.monotonic() > deadline:
                    raise AssertionError(f"{text!r} did not appear on the screen:\n{shown}")
                time.sleep(0.2)

        def wait_gone(self, text: str, timeout: float = 30.0) -> None:
            deadline = time.monotonic() + timeout
            while text in self.screen():
                if time.monotonic() > deadline:
                    raise AssertionError(f"{text!r} is still on the screen:\n{self.screen()}")
                time.sleep(0.2)

    try:
        yield Term()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, env=env)
        # kill-session hangs up the pane; an app that outlives it (orphaned after full runs under load, each
        # then spinning at ~18% CPU for hours) is killed by the pane's session id
        for pid in pane_pids:
            subprocess.run(["pkill", "-KILL", "-s", str(pid)], capture_output=True)  # the pane's session


def test_ambientctl_demo_opens_the_app_and_explains_a_marked_pair(tmux):
    # `; sleep` keeps the pane (and what the app left on it) readable after the app exits.
    tmux.start(f"{AMBIENTCTL} --demo; echo EXITED $?; sleep 30")
    tmux.wait_for("pods(default)[10]")
    home = tmux.wait_for("productpage-v1-5586c4d4ff-z8jbb")
    assert "demo bookinfo" in home and "Istio 1.28" in home
    assert "FINDINGS" in home and "waypoint (service)" in home and "! details-waypoint not used" in home
    tmux.keys("/")
    tmux.wait_for("filter pods (name")  # keys typed before the input has focus would go to the table
    tmux.keys("notsleep")
    tmux.wait_for("pods(default)[1] </notsleep>")
    tmux.keys("Enter")  # keep the filter, back to the table
    tmux.wait_for("/ Filter  n Namespaces")  # the table's keys are back in the footer
    tmux.keys("Space")  # mark it as SRC
    tmux.wait_for("SRC notsleep-c5589665d8-9jcqj")
    tmux.keys("Escape")  # clear the filter: the mark stays
    shown = tmux.wait_for("pods(default)[10]")
    assert "SRC notsleep-c5589665d8-9jcqj" in shown
    tmux.keys("/")
    tmux.wait_for("filter pods (name")
    tmux.keys("ratings", "Enter")
    tmux.wait_for("pods(default)[1] </ratings>")
    tmux.wait_for("/ Filter  n Namespaces")
    tmux.keys("Space")
    tmux.wait_for("DST ratings")
    tmux.keys("t")
    shown = tmux.wait_for("denied at the dst ztunnel")
    assert "DENY" in shown and "path: direct-hbone" in shown and "✖ denies here" in shown
    assert "AuthorizationPolicy default/ratings-viewer" in shown
    tmux.keys("Escape")
    tmux.wait_for("pods(default)")
    tmux.keys("?")
    assert "mark the pod as SRC" in tmux.wait_for("keys")
    tmux.keys("Escape")  # alone: ESC followed at once by q would reach the app as alt+q
    tmux.wait_gone("─ keys ─")
    tmux.keys("q")
    assert "EXITED 0" in tmux.wait_for("EXITED")


def test_describe_in_the_real_terminal(tmux):
    tmux.start(f"{AMBIENTCTL} ui --demo; sleep 30")
    tmux.wait_for("pods(default)[10]")
    tmux.keys("Enter")  # the first pod: details-v1, whose service asks for a waypoint that does not exist
    shown = tmux.wait_for("Findings")
    assert "describe pod default/details-v1" in shown and "waypoint-not-used" in shown
    assert "Authorization policies" in shown


def test_without_a_terminal_ambientctl_prints_help():
    r = subprocess.run([AMBIENTCTL, "--demo"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0 and r.stdout.startswith("usage: ambientctl")
    r = subprocess.run([AMBIENTCTL, "ui", "--demo"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and r.stderr.strip() == ("ambientctl: ui: the interactive app needs a terminal; use "
                                                      "describe/explain with -o json in scripts")


def test_mark_and_trace_a_recorded_pair_then_walk_the_packets(tmux):
    """The seeds' L4 deny from home: notsleep and productpage marked with space, T opens the recording's trace;
    Tab moves to the packet list, where End reaches the last packet (not a sideways scroll)."""
    tmux.start(f"{AMBIENTCTL} --demo bookinfo-l4; sleep 30")
    tmux.wait_for("pods(default)[8]")
    tmux.keys("j")  # details -> notsleep
    tmux.keys("Space")
    tmux.wait_for("SRC notsleep-c5589665d8-9jcqj")
    tmux.keys("Space")  # the cursor moved on to productpage
    tmux.wait_for("DST default/productpage-v1-5586c4d4ff-z8jbb")
    tmux.keys("T")
    shown = tmux.wait_for("packets: 18")
    assert "DENY" in shown and "denied by the destination ztunnel" in shown
    tmux.keys("Tab")  # hops -> packets
    time.sleep(0.3)
    tmux.keys("End")
    shown = tmux.wait_for("\n│18 ")  # the last packet's row is on screen, above the scrollbar
    assert "no." in shown and "capture" in shown
    tmux.keys("Escape")
    tmux.wait_for("pods(default)[8]")
