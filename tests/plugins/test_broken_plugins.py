"""A broken plugin never breaks the tool. A real (if tiny) distribution is put on sys.path of a subprocess, so
discovery goes through importlib.metadata as for any installed package; its plugins fail on purpose: one raises
on import, one decoder and one findings check raise when called, one output raises, one takes a built-in name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "tests" / "lab" / "recorded"

ENTRY_POINTS = """\
[ambientctl.findings.v1]
boom = broken_plugins.on_import:check
explode = broken_plugins.calls:check

[ambientctl.decoders.v1]
crash = broken_plugins.calls:decode

[ambientctl.outputs.v1]
table = broken_plugins.calls:table
sloppy = broken_plugins.calls:sloppy
json = broken_plugins.calls:table
"""

CALLS = '''
from ambientctl.plugins.api import Finding


def check(ctx):
    raise KeyError("no such field")


def decode(stream):
    raise ZeroDivisionError("division by zero in the decoder")


def table(doc, out):
    out.write(f"kind={doc['kind']} keys={len(doc)}\\n")


def sloppy(doc, out):
    out.write("half a line")
    raise ValueError("sloppy output")
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("site")
    pkg = root / "broken_plugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "on_import.py").write_text('raise RuntimeError("this plugin is broken on purpose")\n')
    (pkg / "calls.py").write_text(CALLS)
    info = root / "broken_plugins-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugins\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


def run(site: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "AMBIENTCTL_NO_PLUGINS"}
    e.update(PYTHONPATH=f"{site}{os.pathsep}{REPO}", COLUMNS="200", **env)
    return subprocess.run([sys.executable, "-m", "ambientctl", *argv], capture_output=True, text=True, env=e,
                          cwd=REPO)


LOAD_ERROR = ("ambientctl: plugin boom (broken-plugins) failed to load: RuntimeError: this plugin is broken on "
              "purpose")
CALL_ERROR = "ambientctl: plugin explode (broken-plugins) failed: KeyError: 'no such field'"


def test_describe_still_works_with_one_line_per_broken_plugin(site):  # type: ignore[no-untyped-def]
    clean = run(site, "--no-plugins", "describe", "pod", "productpage", "--demo")
    r = run(site, "describe", "pod", "productpage", "--demo")
    assert r.returncode == 0 and r.stdout == clean.stdout and clean.stderr == ""
    assert r.stderr.splitlines() == [LOAD_ERROR, CALL_ERROR]


def test_plugins_list_shows_the_errors(site):  # type: ignore[no-untyped-def]
    r = run(site, "plugins", "list", "-o", "json")
    assert r.returncode == 1 and r.stderr == ""
    got = {(p["group"].split(".")[1], p["name"], p["distribution"]): p for p in json.loads(r.stdout)["plugins"]}
    boom = got[("findings", "boom", "broken-plugins")]
    assert boom["status"] == "error" and boom["error"] == "RuntimeError: this plugin is broken on purpose"
    assert boom["version"] == "1.2.3" and boom["builtin"] is False
    assert got[("findings", "explode", "broken-plugins")]["status"] == "loaded"  # fails only when called
    taken = got[("outputs", "json", "broken-plugins")]
    assert taken["status"] == "error" and "also registered by ambientctl" in taken["error"]
    assert got[("outputs", "json", "ambientctl")]["status"] == "loaded"
    assert got[("decoders", "http1", "ambientctl")]["builtin"] is True
    text = run(site, "plugins", "list")
    assert "RuntimeError: this plugin is broken on purpose" in text.stdout and text.returncode == 1


def test_no_plugins_flag_and_environment(site):  # type: ignore[no-untyped-def]
    for r in (run(site, "--no-plugins", "plugins", "list", "-o", "json"),
              run(site, "plugins", "list", "-o", "json", AMBIENTCTL_NO_PLUGINS="1")):
        doc = json.loads(r.stdout)
        assert r.returncode == 0 and r.stderr == "" and doc["thirdPartyPlugins"] == "disabled"
        assert {p["distribution"] for p in doc["plugins"]} == {"ambientctl"}


def test_decoder_that_raises_leaves_the_others_working(site):  # type: ignore[no-untyped-def]
    r = run(site, "decode", str(LAB / "allowed.pcap"), "--keylog", str(LAB / "allowed.keys"), "-o", "json")
    assert r.returncode == 0
    assert r.stderr.splitlines() == [
        "ambientctl: plugin crash (broken-plugins) failed: ZeroDivisionError: division by zero in the decoder"]
    (p,) = json.loads(r.stdout)["payloads"]
    assert p["decoder"] == "http1" and p["summary"] == "GET /productpage → 200"


def test_output_plugins(site):  # type: ignore[no-untyped-def]
    r = run(site, "describe", "pod", "productpage", "--demo", "-o", "table")
    assert r.returncode == 0 and r.stdout.startswith("kind=PodDescription keys=")
    bad = run(site, "--no-plugins", "describe", "pod", "productpage", "--demo", "-o", "table")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "ambientctl: describe pod: unknown output format 'table' (known: text, json, yaml)\n"
    unknown = run(site, "describe", "pod", "productpage", "--demo", "-o", "nope")
    assert unknown.returncode == 2 and "(known: text, json, yaml, sloppy, table)" in unknown.stderr
    sloppy = run(site, "--no-plugins", "describe", "pod", "productpage", "--demo", "-o", "json")
    r = run(site, "describe", "pod", "productpage", "--demo", "-o", "sloppy")
    assert r.returncode == 0 and r.stdout == sloppy.stdout  # buffered: no half line, JSON instead
    assert "ambientctl: plugin sloppy (broken-plugins) failed: ValueError: sloppy output; wrote JSON instead" \
        in r.stderr.splitlines()
