"""`ambientctl mcp` driven as an assistant drives it: the MCP SDK's own client starts `ambientctl mcp --demo` as a
subprocess and talks to it over stdio. Every tool's answer is compared with what the CLI prints for the same
question with -o json (the same text, not just similar JSON); bad arguments and unreadable files come back as
tool errors carrying the CLI's one line; a source that cannot be read stops the server at startup."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from ambientctl.cli.main import main
from ambientctl.mcp.tools import TOOLS

AMBIENTCTL = str(Path(sys.executable).with_name("ambientctl"))
TRACES = Path(str(resources.files("ambientctl.demo") / "traces"))
REPO = Path(__file__).resolve().parents[2]
TLS13 = REPO / "tests" / "realdata" / "pcaps" / "illustrated-tls13"


def cli_json(argv: list[str], capsys, expect: int = 0) -> str:  # type: ignore[no-untyped-def]
    """stdout of `ambientctl ARGV -o json`, run in this process."""
    code = main([*argv, "-o", "json"])
    out, err = capsys.readouterr()
    assert code == expect, err
    return out


def session(server_args: list[str], root: Path, calls, mode: str = "auto"):  # type: ignore[no-untyped-def]
    """Start `ambientctl mcp SERVER_ARGS` in `root` and run `calls(client)` against it; returns its result."""
    params = StdioServerParameters(command=AMBIENTCTL, args=["mcp", *server_args], cwd=str(root),
                                   env={**os.environ, "COLUMNS": "100"})

    async def go():  # type: ignore[no-untyped-def]
        async with Client(params, mode=mode, read_timeout_seconds=60) as client:  # type: ignore[arg-type]
            return await calls(client)

    return anyio.run(go)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The server's file root: a demo recording's capture and logs, a real TLS 1.3 capture with its key log,
    a trace saved with --keep and a bundle, all made by the CLI itself."""
    root = tmp_path_factory.mktemp("evidence")
    rec = TRACES / "bookinfo-sleep-productpage"
    for f in ("client-hbone.pcap", "ztunnel-fnjg2.log", "ztunnel-k4jhb.log", "waypoint-576cc76b7d-sj4pn.log"):
        shutil.copy(rec / f, root / f)
    shutil.copy(TLS13 / "capture.pcap", root / "tls13.pcap")
    shutil.copy(TLS13 / "keylog.txt", root / "tls13-keys.txt")
    assert main(["trace", "--demo", "--keep", str(root / "saved"), "-o", "json"]) == 0
    assert main(["bundle", "productpage-v1", "--demo", "-w", str(root / "ticket.tar.gz")]) == 0
    return root


# (tool, arguments, the same question on the command line, its exit status)
QUESTIONS = [
    ("describe_pod", {"name": "productpage"}, ["describe", "pod", "productpage", "--demo"], 0),
    ("describe_pod", {"name": "sleep", "namespace": "default"}, ["describe", "pod", "sleep", "-n", "default",
                                                                   "--demo"], 0),
    ("describe_service", {"name": "productpage"}, ["describe", "service", "productpage", "--demo"], 0),
    ("describe_waypoint", {"name": "waypoint", "namespace": "default"},
     ["describe", "waypoint", "waypoint", "-n", "default", "--demo"], 0),
    ("explain", {"src": "sleep", "dst": "productpage:9080"}, ["explain", "sleep", "productpage:9080", "--demo"], 0),
    ("explain", {"src": "sleep", "dst": "productpage", "port": 9080, "method": "DELETE", "path": "/admin",
                 "headers": {"x-user": "alice"}},
     ["explain", "sleep", "productpage", "--port", "9080", "--method", "DELETE", "--path", "/admin", "--header",
      "x-user=alice", "--demo"], 3),
    ("explain", {"src": "sleep", "dst": "productpage:9080", "protocol": "tcp"},
     ["explain", "sleep", "productpage:9080", "--protocol", "tcp", "--demo"], 3),
    ("explain", {"src": "sleep", "dst": "httpbin.org:443", "resolve": {"httpbin.org": "1.2.3.4"}},
     ["explain", "sleep", "httpbin.org:443", "--resolve", "httpbin.org=1.2.3.4", "--demo"], 0),
    ("explain_matrix", {"namespace": "default"}, ["explain", "--matrix", "-n", "default", "--demo"], 3),
    ("decode", {"file": "client-hbone.pcap"}, ["decode", "{root}/client-hbone.pcap"], 0),
    ("decode", {"file": "tls13.pcap", "keylog": "tls13-keys.txt"},
     ["decode", "{root}/tls13.pcap", "--keylog", "{root}/tls13-keys.txt"], 0),
    ("logs_parse", {"files": ["ztunnel-fnjg2.log", "ztunnel-k4jhb.log", "waypoint-576cc76b7d-sj4pn.log"]},
     ["logs", "parse", "{root}/ztunnel-fnjg2.log", "{root}/ztunnel-k4jhb.log",
      "{root}/waypoint-576cc76b7d-sj4pn.log"], 0),
    ("trace_from", {"directory": "saved"}, ["trace", "--from", "{root}/saved"], 0),
]


def test_tools_answer_what_the_cli_prints(evidence, capsys):
    """Each tool's text is byte for byte the CLI's -o json output, and its structured content the same
    document; the tool list covers every tool with an object schema that refuses unknown arguments."""

    async def calls(client):  # type: ignore[no-untyped-def]
        listed = (await client.list_tools()).tools
        answers = [await client.call_tool(name, args) for name, args, _argv, _code in QUESTIONS]
        answers.append(await client.call_tool("bundle_manifest", {"file": "ticket.tar.gz"}))
        return listed, answers

    listed, answers = session(["--demo"], evidence, calls)
    capsys.readouterr()  # what making the evidence printed
    assert [t.name for t in listed] == [t.name for t in TOOLS] == [
        "describe_pod", "describe_service", "describe_waypoint", "explain", "explain_matrix", "decode", "logs_parse",
        "trace_from", "bundle_manifest"]
    schemas = {t.name: t.input_schema for t in listed}
    assert schemas["describe_pod"]["required"] == ["name"]
    assert schemas["explain"]["required"] == ["src", "dst"]
    assert schemas["explain"]["properties"]["port"]["type"] == "integer"
    assert schemas["explain"]["properties"]["headers"]["additionalProperties"] == {"type": "string"}
    assert schemas["logs_parse"]["properties"]["files"]["minItems"] == 1
    for t in listed:
        assert t.input_schema["type"] == "object" and t.input_schema["additionalProperties"] is False, t.name
        assert t.annotations.read_only_hint is True and t.annotations.destructive_hint is False, t.name
    for t in listed:
        if t.name in ("decode", "logs_parse", "trace_from", "bundle_manifest"):
            assert "refused" in t.description and "never written" in t.description, t.name  # file tools say so

    for (name, _args, argv, code), result in zip(QUESTIONS, answers, strict=False):
        expected = cli_json([a.replace("{root}", str(evidence)) for a in argv], capsys, code)
        assert not result.is_error, (name, result.content[0].text)
        assert result.content[0].text == expected, name
        assert result.structured_content == json.loads(expected), name
    manifest = answers[-1]
    assert not manifest.is_error, manifest.content[0].text
    doc = json.loads(manifest.content[0].text)
    assert doc["kind"] == "BundleManifest" and doc["target"] == {"kind": "Pod",
                                                                  "pod": "default/productpage-v1-5586c4d4ff-z8jbb"}


def test_bad_arguments_are_tool_errors_with_one_line(evidence):
    """Missing, mistyped and unknown arguments, unknown names and refused files: an error result (isError) whose
    text is the one line the CLI would print, and the server keeps answering afterwards."""
    outside = evidence.parent / "outside.log"
    outside.write_text("secret\n")
    (evidence / "link.log").symlink_to(outside)
    os.mkfifo(evidence / "fifo.pcap")  # reading it would block the server forever

    outside_root = f"outside {evidence}, the directory this server reads files from; start it with --root DIR to " \
                   "read from another directory"
    cases = [
        ("describe_pod", {}, "ambientctl: mcp: describe_pod: 'name' is a required property"),
        ("describe_pod", {"name": 7}, "ambientctl: mcp: describe_pod.name: 7 is not of type 'string'"),
        ("describe_pod", {"name": "x", "context": "prod"},
         "ambientctl: mcp: describe_pod: Additional properties are not allowed ('context' was unexpected)"),
        ("explain", {"src": "sleep", "dst": "productpage", "port": "http"},
         "ambientctl: mcp: explain.port: 'http' is not of type 'integer'"),
        ("explain", {"src": "sleep", "dst": "productpage", "headers": {"x": 1}},
         "ambientctl: mcp: explain.headers.x: 1 is not of type 'string'"),
        ("logs_parse", {"files": []}, "ambientctl: mcp: logs_parse.files: [] should be non-empty"),
        ("explain", {"src": "sleep", "dst": "httpbin.org:443", "resolve": {"httpbin.org": "nowhere"}},
         "ambientctl: explain: --resolve 'httpbin.org=nowhere': expected HOST=IP (an IPv4 or IPv6 address)"),
        ("no_such_tool", {}, "ambientctl: mcp: no tool 'no_such_tool'; tools: describe_pod, describe_service, "
                             "describe_waypoint, explain, explain_matrix, decode, logs_parse, trace_from, "
                             "bundle_manifest"),
        ("logs_parse", {"files": ["../outside.log"]}, f"ambientctl: logs parse: ../outside.log: {outside_root}"),
        ("logs_parse", {"files": ["link.log"]}, f"ambientctl: logs parse: link.log: {outside_root}"),
        ("decode", {"file": "/etc/passwd"}, f"ambientctl: decode: /etc/passwd: {outside_root}"),
        ("decode", {"file": "fifo.pcap"},
         "ambientctl: decode: fifo.pcap: the capture is not a regular file (devices, FIFOs and sockets are refused)"),
        ("logs_parse", {"files": ["-"]}, "ambientctl: logs parse: -: cannot read the log: no such file or "
                                         "directory"),
        ("trace_from", {"directory": "client-hbone.pcap"},
         "ambientctl: trace: client-hbone.pcap: the saved trace is not a directory"),
        ("bundle_manifest", {"file": "tls13.pcap"},
         "ambientctl: mcp: tls13.pcap: not an ambientctl bundle (a .tar.gz with a manifest.json)"),
    ]

    async def calls(client):  # type: ignore[no-untyped-def]
        got = [await client.call_tool(name, args) for name, args, _ in cases]
        got.append(await client.call_tool("describe_pod", {"name": "productpage"}))  # still serving
        return got

    results = session(["--demo"], evidence, calls)
    for (name, _args, message), result in zip(cases, results, strict=False):
        assert result.is_error, name
        assert [c.text for c in result.content] == [message]
    assert not results[-1].is_error


def test_cli_messages_for_what_the_cluster_lacks(evidence, capsys):
    """A pod or namespace the source does not have: the very message (and text) the CLI prints."""

    async def calls(client):  # type: ignore[no-untyped-def]
        return [await client.call_tool("describe_pod", {"name": "nope"}),
                await client.call_tool("explain_matrix", {"namespace": "nowhere"}),
                await client.call_tool("explain", {"src": "sleep", "dst": "nothing:80"})]

    results = session(["--demo"], evidence, calls)
    capsys.readouterr()
    for argv, result in zip((["describe", "pod", "nope", "--demo"], ["explain", "--matrix", "-n", "nowhere", "--demo"],
                             ["explain", "sleep", "nothing:80", "--demo"]), results, strict=False):
        assert main(argv) == 2
        _out, err = capsys.readouterr()
        assert result.is_error and result.content[0].text == err.strip()
        assert err.count("\n") == 1


def test_source_and_root_chosen_at_startup(evidence, tmp_path):
    """--demo NAME and --root apply to every call; over the legacy initialize handshake (older assistants)
    too."""
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(evidence / "tls13.pcap", other / "x.pcap")

    async def calls(client):  # type: ignore[no-untyped-def]
        return [await client.call_tool("explain", {"src": "notsleep", "dst": "productpage:9080"}),
                await client.call_tool("decode", {"file": "x.pcap"}),
                await client.call_tool("decode", {"file": "client-hbone.pcap"})]

    deny, in_root, elsewhere = session(["--demo", "bookinfo-l4", "--root", str(other)], evidence, calls,
                                       mode="legacy")
    assert json.loads(deny.content[0].text)["verdict"] == "deny"
    assert not in_root.is_error
    assert elsewhere.is_error and elsewhere.content[0].text == ("ambientctl: decode: client-hbone.pcap: cannot read "
                                                                "the capture: no such file or directory")


@pytest.mark.parametrize("argv, message", [
    (["--snapshot", "/nonexistent/dump.yaml"], "ambientctl: mcp: /nonexistent/dump.yaml: cannot read the snapshot: no such file or directory"),
    (["--demo", "--snapshot", "x"], "ambientctl: mcp: --demo and --snapshot are alternatives; give one"),
    (["--demo", "--root", "/nonexistent"], "ambientctl: mcp: --root /nonexistent: no such file or directory"),
])
def test_source_that_fails_stops_the_server_at_startup(argv, message, tmp_path):
    """Before any MCP traffic: exit non-zero, one line on stderr, nothing on stdout (the MCP stream)."""
    p = subprocess.run([AMBIENTCTL, "mcp", *argv], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60, cwd=tmp_path)
    assert p.returncode != 0
    assert (p.stdout, p.stderr) == ("", message + "\n")


def test_missing_sdk_says_how_to_install():
    """Without the optional `mcp` package (injected: the import fails), one line naming the extra."""
    code = ("import sys; sys.modules['mcp'] = None; from ambientctl.cli.main import main; "
            "sys.exit(main(['mcp', '--demo']))")
    p = subprocess.run([sys.executable, "-c", code], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "ambientctl: mcp: the MCP server needs the optional MCP SDK; pip install 'ambientctl[mcp]'\n")
