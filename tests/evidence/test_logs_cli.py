"""`ambientctl logs parse` on real log files: text, JSON, stdin, and bad input as one-line errors."""

import io
import json
import sys

from ambientctl.cli.main import main


def test_json_output_of_several_files(realdata, capsys):
    files = [str(realdata / "github-issues/ztunnel-access-logs-from-issues.log"),
             str(realdata / "github-issues/waypoint-envoy-access-log-issue43576.log")]
    assert main(["logs", "parse", *files, "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["apiVersion"] == "ambientctl/v1" and doc["kind"] == "LogReport"
    assert doc["summary"] == {"connections": 6, "verdicts": {"allow": 1, "deny": 4, "failed": 1}}
    codes = sorted(c["error"]["code"] for c in doc["connections"] if "error" in c)
    assert codes == ["hbone-status-401", "network-policy-15008", "policy-not-allowed", "policy-not-allowed",
                     "policy-rejected"]
    assert [f["unrecognisedLines"] for f in doc["files"]] == [[], []]
    assert doc["files"][0]["events"][0]["kind"] == "access"


def test_text_output_from_stdin(realdata, capsys, monkeypatch):
    data = (realdata / "istio-io-docs/ztunnel-rbac-rejected-2023-10.log").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["logs", "parse", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 connections  2 deny")
    assert "stdin  5 lines: 2 decision lines, 3 raw lines" in out
    assert "legacy-rbac-rejected" in out and "spiffe://cluster.local/ns/ambient-demo/sa/notsleep" in out
    assert "next:" in out and "stdin" in out


def test_unrecognised_lines_are_reported_not_fatal(tmp_path, capsys):
    f = tmp_path / "mixed.log"
    f.write_text("hello\n2024-05-04T09:59:05.028771Z info access connection complete src.addr=1.2.3.4:5 "
                 "dst.addr=5.6.7.8:80 direction=\"outbound\"\nworld\n")
    assert main(["logs", "parse", str(f)]) == 0
    out = capsys.readouterr().out
    assert "not recognised: lines 1, 3" in out and "plaintext-passthrough" in out


def test_missing_and_binary_files(tmp_path, capsys):
    assert main(["logs", "parse", str(tmp_path / "nope.log")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the log: no such file or directory" in err and "nope.log" in err
    b = tmp_path / "capture.pcap"
    b.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + b"\0" * 32)
    assert main(["logs", "parse", str(b)]) == 1
    assert "binary data" in capsys.readouterr().err


def test_usage_errors(capsys):
    assert main(["logs"]) == 2
    assert main(["logs", "parse"]) == 2
