"""Words users read (#19): counts agree with their nouns, the explain verdict line is a sentence for every
decidedBy/enforcedBy combination, decode does not call HTTP/2 it decoded "not recognised" nor count CONNECTs it
cannot see, logs name a source by something human, bundle says what is missing."""

from __future__ import annotations

import tarfile

import pytest

from ambientctl.cli.main import main
from ambientctl.output.explain_text import decided_sentence

DEMO_TRACE = "ambientctl/demo/traces/bookinfo-l4-sleep-productpage"


@pytest.mark.parametrize("decided,enforced,verdict,want", [
    ({"policy": "default/productpage-viewer", "rule": 0}, "waypoint", "allow",
     "allowed by AuthorizationPolicy default/productpage-viewer (rule 0) at the waypoint"),
    ({"policy": "default/deny-delete", "rule": 1}, "dst-ztunnel", "deny",
     "denied by AuthorizationPolicy default/deny-delete (rule 1) at the dst ztunnel"),
    ({"defaultDeny": ["default/productpage-viewer"]}, "dst-ztunnel", "deny",
     "denied at the dst ztunnel: ALLOW policies exist but none matched (default/productpage-viewer)"),
    ({"builtin": "bypassed-waypoint"}, "dst-ztunnel", "deny",
     "denied at the dst ztunnel by bypassed-waypoint, a rule istiod generates"),
    ({"failure": "no healthy upstream"}, "waypoint", "deny", "fails at the waypoint: no healthy upstream"),
    ({"noPolicy": True}, "none", "allow", "allowed: no AuthorizationPolicy applies to this request"),
    ({"noPolicy": True}, "dst-ztunnel", "allow", "allowed at the dst ztunnel: no AuthorizationPolicy applies to this request"),
])
def test_verdict_line_for_each_combination(decided, enforced, verdict, want):
    assert decided_sentence({"decidedBy": decided, "enforcedBy": enforced, "verdict": verdict}) == want


def test_explain_text_never_reads_decided_by_no_policy(capsys):
    """The bookinfo README's row 7 (legacy/sleep, plaintext, no ztunnel policy) printed
    `decided by no policy applies  at nothing enforces policy here`."""
    assert main(["explain", "legacy/sleep", "productpage:9080", "--demo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "allowed: no AuthorizationPolicy applies to this request"


def test_decode_counts_and_connects_without_keys(capsys):
    assert main(["decode", f"{DEMO_TRACE}/client-hbone.pcap"]) == 0
    out = capsys.readouterr().out
    assert "· 1 flow ·" in out and "1 flows" not in out
    assert "CONNECTs: unknown (no keys)" in out and "CONNECT(s)" not in out
    assert main(["decode", f"{DEMO_TRACE}/client-hbone.pcap", "--keylog", f"{DEMO_TRACE}/client-hbone.keys"]) == 0
    assert "decrypted  1 CONNECT\n" in capsys.readouterr().out


def test_decode_grpc_payload_is_not_called_unrecognised(realdata, capsys):
    """With no gRPC decoder plugin, the payload of a flow just decoded as HTTP/2 streams is HTTP/2 (its messages
    unread), not "not recognised"."""
    d = realdata / "pcaps" / "grpc-h2-tls13"
    assert main(["--no-plugins", "decode", str(d / "wireshark_capture.pcapng"), "--keylog", str(d / "keylog.log")]) == 0
    out = capsys.readouterr().out
    assert "POST /echo.EchoServer/SayHelloUnary" in out
    assert "not recognised" not in out
    assert "gRPC over HTTP/2 (streams above); its messages need the ambientctl-grpc" in out


def test_logs_name_a_pod_uid_as_a_pod(realdata, capsys):
    """ztunnel ≤1.21 names the proxied pod by its uid alone: say it is a pod's uid, not a bare UUID."""
    assert main(["logs", "parse", str(realdata / "github-issues" / "ztunnel-access-logs-from-issues.log")]) == 0
    out = capsys.readouterr().out
    assert "\npod uid ffc376a2-6bfa-42ad-9e3c-684cdc6b3d54 → ?" in out
    assert "\nffc376a2" not in out


def test_logs_counts(tmp_path, capsys):
    one = tmp_path / "one.log"
    one.write_text("# only a comment\n")
    assert main(["logs", "parse", str(one)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("0 connections  none")
    assert f"{one}  1 line: 1 raw line" in out
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert main(["logs", "parse", str(empty)]) == 0
    assert f"{empty}  0 lines\n" in capsys.readouterr().out  # no dangling `0 lines:`


def test_bundle_says_what_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bundle", "--demo", "-w", "b.tar.gz", "sleep"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("wrote b.tar.gz (") and "(see manifest.json)" not in out[0]
    assert "value(s)" not in out[0] and "files" in out[0]
    assert out[1] == "  missing: proxy logs and ztunnel config dumps: demo bookinfo is not a live cluster"
    with tarfile.open(tmp_path / "b.tar.gz") as t:
        names = t.getnames()
    assert any(n.endswith("manifest.json") for n in names)


def test_every_demo_is_in_help_man_page_and_readme(capsys):
    """The demos come from the demo directory: --help and the man pages list each (bookinfo-l4 was missing),
    and the README's table must too."""
    from pathlib import Path

    from ambientctl.demo import demo_names

    repo = Path(__file__).resolve().parents[2]
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    man = (repo / "man" / "ambientctl-explain.1").read_text()
    readme = (repo / "README.md").read_text()
    dirs = sorted(p.name for p in (repo / "ambientctl" / "demo" / "data").iterdir() if (p / "README.md").is_file())
    assert sorted(demo_names()) == dirs and "bookinfo-l4" in dirs
    for name in dirs:
        assert name in help_text and name.replace("-", "\\-") in man and f"| `{name}`" in readme
