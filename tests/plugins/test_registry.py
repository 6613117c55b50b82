"""The registry's promises: built-ins are declared in pyproject.toml exactly as the fast path resolves them, and
nothing plugin-related is imported for --help, completion or -o json."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from ambientctl.plugins import BUILTIN_OUTPUTS, DECODERS, GROUPS, OUTPUTS, Registry
from ambientctl.plugins.builtin import http1

REPO = Path(__file__).resolve().parents[2]


def test_builtins_are_entry_points_of_ambientctl():
    eps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]
    assert set(eps) <= set(GROUPS)
    assert eps[OUTPUTS] == BUILTIN_OUTPUTS
    assert eps[DECODERS] == {"http1": "ambientctl.plugins.builtin:http1"}
    reg = Registry(third_party=False)
    assert {(p.group, p.name) for p in reg.all()} == {(g, n) for g, names in eps.items() for n in names}
    assert all(p.builtin and reg.load(p) is not None for p in reg.all())


def _modules_after(*argv: str) -> set[str]:
    code = ("import sys; from ambientctl.cli.main import main\n"
            "try:\n    main(list(sys.argv[1:]))\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO)
    return set(r.stderr.split())


def test_help_completion_and_json_do_not_discover_plugins():
    for argv in (["--help"], ["__complete", "commands", ""],
                 ["explain", "sleep", "productpage:9080", "--demo", "-o", "json"]):
        assert "importlib.metadata" not in _modules_after(*argv), argv
    assert "importlib.metadata" in _modules_after("describe", "pod", "productpage", "--demo")  # findings plugins


def test_http1_decoder_reads_pipelined_and_chunked_messages():
    from ambientctl.plugins.api import InnerStream

    client = (b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nAuthorization: Bearer s3cr3t\r\n\r\nabc"
              b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
    server = (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
              b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    got = http1(InnerStream(kind="hbone", flow=1, stream_id=1, authority="10.0.0.1:80", client=client, server=server))
    assert got is not None and got.summary == "POST /a → 201 (2 requests)"
    assert [(m["direction"], m.get("target") or m.get("status")) for m in got.messages] == [
        ("client", "/a"), ("server", 201), ("client", "/b"), ("server", 404)]
    assert "s3cr3t" not in repr(got.messages)
    assert http1(InnerStream(kind="tls", flow=1, stream_id=None, authority=None, client=b"\x16\x03", server=b"")) is None
