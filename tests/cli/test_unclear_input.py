"""Inputs that were read wrongly or named unclearly (issue #13, "Unclear errors" and "Tracebacks"): UTF-16
manifests and logs, a NUL byte in a log, terminal escape sequences in names, labels and log fields, lone
surrogates, YAML that has no JSON form, numbers too long to read, a corrupt saved trace, pcapng blocks shorter
than their fixed fields."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ambientctl.cli.main import main
from tests.conftest import REALDATA
from tests.helpers import pod

GOOD = pod("sleep-1", labels={"app": "sleep"}) + pod("web-1", labels={"app": "web"}, ip="10.0.0.2")
ESCAPES = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202egnp.exe"


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 1, err
    return code, out, err


def test_utf16_manifest_with_bom_is_read(tmp_path, capsys):
    """PowerShell's `kubectl get pods -o yaml > pods.yaml` writes UTF-16LE with a BOM."""
    for enc in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        p = tmp_path / f"{enc}.yaml"
        p.write_bytes(GOOD.encode(enc))  # utf-16-le/-be: no BOM, recognised by its NUL bytes
        code, out, err = run(["describe", "pod", "sleep-1", "--snapshot", str(p), "-o", "json"], capsys)
        assert code == 0, (enc, err)
        assert json.loads(out)["pod"]["name"] == "sleep-1"


def test_undecodable_manifest_names_the_byte(tmp_path, capsys):
    p = tmp_path / "latin1.yaml"
    p.write_bytes(GOOD.encode() + "# café\n".encode("latin-1"))
    code, _, err = run(["describe", "pod", "sleep-1", "--snapshot", str(p)], capsys)
    assert code == 1
    assert err.strip().endswith(f"{p}: not a text file: byte 0xe9 at offset {len(GOOD.encode()) + 5} is not "
                                "UTF-8 (expected YAML or JSON manifests)")


def test_one_nul_byte_skips_one_log_line_not_the_log(tmp_path, capsys):
    src = REALDATA / "istio-io-docs" / "ztunnel-access-logs-istio1.22-2024-05.log"
    lines = src.read_bytes().splitlines(keepends=True)
    p = tmp_path / "z.log"
    p.write_bytes(b"".join(lines[:1] + [b"garbage\x00line\n"] + lines[1:]))
    code, out, err = run(["logs", "parse", str(p), "-o", "json"], capsys)
    assert code == 0 and err == ""
    (f,) = json.loads(out)["files"]
    assert f["skippedLines"] == [2]
    assert f["kinds"].get("access", 0) >= 1
    code, out, _ = run(["logs", "parse", str(p)], capsys)
    assert "skipped 1 line holding NUL bytes: line 2" in out


def test_binary_data_is_still_refused_as_a_log(tmp_path, capsys):
    p = tmp_path / "capture.log"
    p.write_bytes((REALDATA / "pcaps" / "illustrated-tls13" / "capture.pcap").read_bytes())
    code, _, err = run(["logs", "parse", str(p)], capsys)
    assert code == 1 and "binary data, not a text log" in err


def test_utf16_log_is_read(tmp_path, capsys):
    src = REALDATA / "istio-io-docs" / "ztunnel-access-logs-istio1.22-2024-05.log"
    p = tmp_path / "z.log"
    p.write_bytes(src.read_text().encode("utf-16"))
    code, out, _ = run(["logs", "parse", str(p), "-o", "json"], capsys)
    want = json.loads(_logs_json(src, capsys))["files"][0]["kinds"]
    assert code == 0 and json.loads(out)["files"][0]["kinds"] == want


def _logs_json(p, capsys):
    assert main(["logs", "parse", str(p), "-o", "json"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_escape_sequences_in_names_and_labels_are_shown_not_sent(tmp_path, capsys, fmt):
    p = tmp_path / "c.yaml"
    p.write_text(GOOD + pod("evil-1", labels={"app": "evil", "note": ESCAPES}, ip="10.0.0.9", node=ESCAPES,
                            sa=ESCAPES))
    code, out, _ = run(["describe", "pod", "evil-1", "--snapshot", str(p), "-o", fmt], capsys)
    assert code == 0
    if fmt == "text":
        assert not any(c in out for c in "\x1b\x07\x9b\u202e")
        assert "\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202egnp.exe" in out
    else:  # JSON stays exact
        assert json.loads(out)["pod"]["node"] == ESCAPES


def test_escape_sequences_in_log_fields_are_shown_not_sent(tmp_path, capsys):
    src = REALDATA / "istio-io-docs" / "ztunnel-access-logs-istio1.22-2024-05.log"
    p = tmp_path / "z.log"
    p.write_text(src.read_text().replace('src.workload="', 'src.workload="' + ESCAPES) + "junk " + ESCAPES + "\n")
    code, out, _ = run(["logs", "parse", str(p), "--events"], capsys)
    assert code == 0
    assert not any(c in out for c in "\x1b\x07\x9b\u202e")
    assert "\\x1b[2J" in out


def test_escape_sequences_in_an_error_are_shown_not_sent(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text(GOOD + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: \"x\\e[2J\", namespace: default}\n"
                 "spec: {containers: 7}\n")
    code, _, err = run(["describe", "pod", "sleep-1", "--snapshot", str(p)], capsys)
    assert code == 1
    assert "\x1b" not in err and "(Pod default/x\\x1b[2J): spec.containers must be a list" in err


def test_lone_surrogates_in_json_are_replaced_not_a_crash(tmp_path, capsys):
    docs = [d for d in yaml.safe_load_all(GOOD) if d]
    docs[0]["spec"]["nodeName"] = "\ud800x"
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))  # ensure_ascii: "\ud800"
    for fmt in ("text", "json", "yaml"):
        code, out, _ = run(["describe", "pod", "sleep-1", "--snapshot", str(p), "-o", fmt], capsys)
        assert code == 0 and "\ufffdx" in out


@pytest.mark.parametrize("value, want", [
    ("!!binary aGVsbG8=", "!!binary has no JSON form"),
    ("!!set {a, b}", "!!set has no JSON form"),
    ("&a [*a]", "a YAML alias refers to its own anchor"),
    ("1" * 5000, "Exceeds the limit (4300 digits)"),
])
def test_yaml_without_a_json_form_is_one_line(tmp_path, capsys, value, want):
    p = tmp_path / "c.yaml"
    p.write_text(GOOD + f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x, namespace: default}}\n"
                 f"data:\n  k: {value}\n")
    code, _, err = run(["describe", "pod", "sleep-1", "--snapshot", str(p)], capsys)
    assert code == 1 and want in err and str(p) in err


def test_yaml_timestamps_stay_text(tmp_path, capsys):
    """Kubernetes reads YAML as JSON: an unquoted timestamp is a string, never a date object."""
    p = tmp_path / "c.yaml"
    p.write_text(GOOD.replace("metadata:\n", "metadata:\n  creationTimestamp: 2024-01-02T03:04:05Z\n", 1))
    code, out, _ = run(["describe", "pod", "sleep-1", "--snapshot", str(p), "-o", "json"], capsys)
    assert code == 0 and json.loads(out)["pod"]["name"] == "sleep-1"


def test_json_number_too_long(tmp_path, capsys):
    p = tmp_path / "c.json"
    p.write_text('{"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod", "x": ' + "9" * 5000 + "}]}")
    code, _, err = run(["describe", "pod", "sleep-1", "--snapshot", str(p)], capsys)
    assert code == 1 and f"{p}: invalid JSON: Exceeds the limit (4300 digits)" in err


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("saved") / "t"
    assert main(["trace", "--demo", "bookinfo-l4", "notsleep", "productpage:9080", "--keep", str(d), "-o",
                 "json"]) == 3
    return d


@pytest.mark.parametrize("mutate, want", [
    (lambda t: t["observed"].pop("verdict"), "trace.json: observed needs verdict"),
    (lambda t: t["observed"].update(hops={"a": 1}), "trace.json: observed.hops must be a list of mappings, "
                                                      "not a mapping"),
    (lambda t: t["observed"]["hops"][0]["evidence"].append({"kind": "log"}),
     "trace.json: observed.hops[0].evidence[1] (log evidence) needs source"),
    (lambda t: t["agreement"].update(disagreements=[{"field": "path"}]),
     "trace.json: agreement.disagreements[0] needs suggestion"),
    (lambda t: t.update(story="one sentence"), "trace.json: story must be a list of strings, not a string"),
    (lambda t: t["explanation"].update(hops=[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]] * 1),
     "trace.json: explanation.hops[0] must be a mapping, not a list"),
])
def test_corrupt_saved_trace_is_one_line(saved, tmp_path, capsys, mutate, want):
    d = tmp_path / "t"
    shutil.copytree(saved, d)
    doc = json.loads((d / "trace.json").read_text())
    mutate(doc)
    (d / "trace.json").write_text(json.dumps(doc))
    for fmt in ("json", "text"):
        code, _, err = run(["trace", "--from", str(d), "-o", fmt], capsys)
        assert code == 1 and want in err, err


def test_saved_trace_json_is_printed_as_written(saved, capsys):
    code, out, _ = run(["trace", "--from", str(saved), "-o", "json"], capsys)
    assert code == 3 and json.loads(out) == json.loads((saved / "trace.json").read_text())


FIXED = {0: 28, 1: 20, 2: 32}  # the real capture: section header, interface description, enhanced packets


@pytest.mark.parametrize("block, length", [(b, n) for b, fixed in FIXED.items() for n in range(12, fixed, 4)])
def test_pcapng_block_shorter_than_its_fixed_fields(tmp_path, capsys, block, length):
    """A block whose total length leaves no room for its own fixed fields (SHB 28, IDB 20, EPB 32 bytes)."""
    data = (REALDATA / "pcaps" / "grpc-h2-tls13" / "wireshark_capture.pcapng").read_bytes()
    at = 0
    for _ in range(block):
        at += struct.unpack_from("<I", data, at + 4)[0]
    btype, n = struct.unpack_from("<II", data, at)
    short = struct.pack("<II", btype, length) + data[at + 8:at + length - 4] + struct.pack("<I", length)
    p = tmp_path / "short.pcapng"
    p.write_bytes(data[:at] + short + data[at + n:])
    code, _, err = run(["decode", str(p), "-o", "json"], capsys)
    assert code == 1 and f"{p}: garbage at byte {at}" in err, err


def test_real_process_on_hostile_input_prints_one_line(tmp_path):
    """Through the console script, as a user runs it (stdout a pipe, strict UTF-8)."""
    p = tmp_path / "c.json"
    p.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a\\u001b[2J\\ud800", '
                 '"namespace": "default"}, "spec": {"containers": [{"name": "c", "env": {"A": 1}}]}}')
    r = subprocess.run([Path(sys.executable).parent / "ambientctl", "describe", "pod", "x", "--snapshot", str(p)],
                       capture_output=True, text=True, errors="strict")
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr and "\x1b" not in r.stderr
    assert "spec.containers[0].env must be a list of mappings, not a mapping" in r.stderr


def test_ztunnel_dump_listing_a_service_per_vip_is_one_service(capsys):
    """2023-05 ztunnel dumps key services by IP: istio-ingressgateway with two VIPs is listed twice. It is one
    Service with both VIPs, not a duplicate that replaces the first (found by the config-dump fuzz target)."""
    from ambientctl.sources.files import load_snapshot

    p = REALDATA / "istio-istio" / "ztunnel-configdump" / "history" / "dump.2023-05-31.c10b72e48b8.json"
    doc = json.loads(p.read_text())
    entries = [s for s in doc["services_by_ip"].values() if s["name"] == "istio-ingressgateway"]
    cluster = load_snapshot(p)
    assert not cluster.warnings
    (svc,) = [s for s in cluster.services if s.meta.name == "istio-ingressgateway"]
    assert len(entries) == 2 and len(set(svc.cluster_ips)) == 2


def test_interactive_app_shows_names_escaped(tmp_path):
    """The app shows the model itself: a snapshot whose text held terminal controls is escaped before any screen
    sees it (and looked up by the escaped names); the demo (clean text) is not even scanned."""
    import argparse

    from ambientctl.cli.commands.ui import _displayable
    from ambientctl.cli.state import load_view

    p = tmp_path / "c.yaml"
    p.write_text(GOOD + pod("evil-1", labels={"app": "evil"}, ip="10.0.0.9", node=ESCAPES))
    args = argparse.Namespace(snapshot=str(p), demo=None, istio_version=None, context=None, kubeconfig=None,
                              request_timeout=10)
    view = load_view(args)
    assert view.cluster.control_chars is True
    view = _displayable(view, args)
    (evil,) = [q for q in view.cluster.pods if q.meta.name == "evil-1"]
    assert evil.node_name == "\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202egnp.exe"
    assert view.cluster.nodes == {} or all("\x1b" not in n for n in view.cluster.nodes)
    args.snapshot, args.demo = None, "bookinfo"
    assert load_view(args).cluster.control_chars is False


@pytest.mark.parametrize("argv", [["describe", "pod", "web-1"], ["explain", "sleep-1", "web-1:80", "-o", "json"]])
def test_deep_nesting_in_a_rule_kept_as_written_is_one_line(tmp_path, capsys, argv):
    """Depth 600 loads (JSON and libyaml allow ~1,000), but a rule body is kept as written and walked again by
    every renderer: refused when read, not a RecursionError in the text or JSON output."""
    deep = "[" * 600 + "]" * 600
    p = tmp_path / "c.yaml"
    p.write_text(GOOD + '---\n{"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy", "metadata": '
                 '{"name": "x", "namespace": "default"}, "spec": {"rules": [{"extra": ' + deep + "}]}}\n")
    code, _, err = run([*argv, "--snapshot", str(p)], capsys)
    assert code == 1 and err.strip().endswith("document 3 (AuthorizationPolicy default/x): spec is nested more "
                                              "than 100 levels deep")
