"""`ambientctl trace` as users run it on the demo recordings (built from the HBONE lab's real captures): each
tells the right story and agrees with explain; text views frozen as golden files; exit 3 on deny; --keep and
--from round trip; one-line errors for bad saved traces and for live-trace usage mistakes."""

from __future__ import annotations

import json
import shutil

import pytest

from ambientctl.cli.main import main
from ambientctl.trace.replay import demo_root
from tests.golden_util import check_golden

SCENARIOS = {
    "trace-allow-waypoint-delay.txt": (["--demo"], 0),
    "trace-deny-l7.txt": (["sleep", "productpage:9080", "--demo", "--method", "DELETE"], 3),
    "trace-deny-l4.txt": (["notsleep", "productpage:9080", "--demo", "bookinfo-l4"], 3),
    "trace-allow-l4.txt": (["sleep", "productpage:9080", "--demo", "bookinfo-l4"], 0),
    "trace-hairpin.txt": (["--demo", "hairpin-1.20"], 3),
}


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def trace_json(argv, capsys) -> tuple[int, dict]:
    code, out, err = run(["trace", *argv, "-o", "json"], capsys)
    assert out, err
    return code, json.loads(out)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_text_golden(name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    argv, want = SCENARIOS[name]
    code, out, err = run(["trace", *argv], capsys)
    assert code == want, err
    check_golden(name, out.replace(str(demo_root()), "<demo traces>"))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_demo_trace_agrees_with_explain(name, capsys):
    argv, want = SCENARIOS[name]
    code, doc = trace_json(argv, capsys)
    assert code == want
    assert (doc["apiVersion"], doc["kind"]) == ("ambientctl/v1", "Trace")
    exp, obs = doc["explanation"], doc["observed"]
    assert doc["agreement"] == {"result": "agree", "disagreements": []}
    assert (obs["verdict"], obs["path"]) == (exp["verdict"], exp["path"])
    if exp["verdict"] == "deny":
        assert obs["enforcedBy"] == exp["enforcedBy"]
        denied = [h for h in obs["hops"] if h["status"] == "denied here"]
        assert [h["component"] for h in denied] == [exp["enforcedBy"]]
        assert any(e["kind"] == "policy" for e in denied[0]["evidence"])
    assert 3 <= len(doc["story"]) <= 6


def test_l4_deny_story_is_told_from_the_packets_and_both_ztunnels(capsys):
    _, doc = trace_json(["notsleep", "productpage:9080", "--demo", "bookinfo-l4"], capsys)
    story = " ".join(doc["story"])
    assert "denied by the destination ztunnel" in story and "default/productpage-viewer" in story
    assert "CONNECT for 192.168.13.108:9080 got 401" in story
    assert "Connection reset by peer" in story
    src = next(h for h in doc["observed"]["hops"] if h["component"] == "src-ztunnel")
    connect = next(e for e in src["evidence"] if e["kind"] == "connect")
    assert connect["status"] == 401 and connect["headers"]["forwarded"].startswith('for="192.168.47.210:')
    assert "sa/notsleep" in connect["summary"]  # the client certificate, decrypted with the lab's key log
    server = next(h for h in doc["observed"]["hops"] if h["component"] == "server")
    assert server["status"] == "not reached"
    assert "nothing reached the application" in server["evidence"][0]["summary"]


def test_waypoint_stories(capsys):
    _, allow = trace_json(["--demo"], capsys)
    assert "flag DI" in " ".join(allow["story"])
    _, deny = trace_json(["sleep", "productpage", "--demo", "--method", "DELETE"], capsys)
    assert "answered 403 (rbac_access_denied_matched_policy[none])" in " ".join(deny["story"])
    assert [h["status"] for h in deny["observed"]["hops"]][-2:] == ["not reached", "not reached"]
    _, hairpin = trace_json(["--demo", "hairpin-1.20"], capsys)
    assert "hairpinned it through the waypoint" in " ".join(hairpin["story"])
    assert "packets: no capture for this trace" in hairpin["missing"]


def test_keep_and_from_round_trip(tmp_path, capsys):
    saved = tmp_path / "saved"
    code, doc = trace_json(["notsleep", "productpage:9080", "--demo", "bookinfo-l4", "--keep", str(saved)], capsys)
    assert code == 3
    files = json.loads((saved / "manifest.json").read_text())["files"]
    assert {"client-hbone.pcap", "client-hbone.keys", "ztunnel-k4jhb.log", "trace.json"} <= set(files)
    assert doc["artifacts"]["directory"] == str(saved.resolve())
    code, again = trace_json(["--from", str(saved)], capsys)
    assert code == 3 and again == doc
    code, _, err = run(["trace", "--demo", "bookinfo-l4", "notsleep", "productpage", "--keep", str(saved)], capsys)
    assert code == 1 and "not empty" in err and len(err.strip().splitlines()) == 1


def test_from_refuses_incomplete_or_foreign_directories(tmp_path, capsys):
    saved = tmp_path / "saved"
    trace_json(["--demo", "bookinfo-l4", "sleep", "productpage", "--keep", str(saved)], capsys)
    (saved / "client-hbone.pcap").unlink()
    code, _, err = run(["trace", "--from", str(saved)], capsys)
    assert code == 1 and "client-hbone.pcap is listed in manifest.json but missing" in err
    (saved / "manifest.json").unlink()
    code, _, err = run(["trace", "--from", str(saved)], capsys)
    assert code == 1 and "no manifest.json" in err
    code, _, err = run(["trace", "--from", str(tmp_path / "nope")], capsys)
    assert code == 1 and "cannot read the saved trace: no such file or directory" in err


def test_usage_errors_and_live_path(capsys):
    code, _, err = run(["trace", "sleep", "reviews:9080", "--demo"], capsys)
    assert code == 2 and "no recording of that request" in err and "DELETE" in err
    code, _, err = run(["trace", "sleep", "productpage", "--snapshot", "x"], capsys)
    assert code == 2 and "--snapshot has no packets" in err
    code, _, err = run(["trace", "sleep", "productpage", "--demo", "seed-2022"], capsys)
    assert code == 2 and "no recorded traces for demo 'seed-2022'" in err
    code, out, err = run(["trace", "sleep", "productpage:9080", "--kubeconfig", "/nonexistent/kubeconfig"], capsys)
    assert code == 1 and not out and err.count("\n") == 1 and "/nonexistent/kubeconfig" in err
    code, out, err = run(["trace", "sleep", "productpage:9080", "--wait", "--request", "true"], capsys)
    assert code == 2 and not out and "give one of them" in err


def test_a_capture_that_cannot_be_decoded_is_missing_evidence_not_a_crash(tmp_path, capsys):
    from ambientctl.explain.engine import explain
    from ambientctl.mesh import MeshView
    from ambientctl.sources.demo import load_demo
    from ambientctl.trace.build import build_trace
    from ambientctl.trace.replay import load_recording, missing_of

    rec_dir = tmp_path / "rec"
    shutil.copytree(demo_root() / "bookinfo-l4-notsleep-productpage", rec_dir)
    (rec_dir / "client-hbone.pcap").write_bytes(b"this is not a capture")
    rec = load_recording(rec_dir)
    assert rec.captures[0].result is None and rec.captures[0].error
    exp = explain(MeshView(load_demo("bookinfo-l4")), "notsleep", "productpage:9080")
    body = build_trace(exp, rec.captures, rec.events, missing=missing_of(rec))
    assert body["observed"]["verdict"] == "deny"  # the ztunnel logs still tell it
    assert any(m.startswith("capture client-hbone.pcap:") for m in body["missing"])


def test_the_apps_live_tracer_uses_the_trace_commands_defaults():
    """The interactive app has no command line for trace's options: it must use what the parser defaults to."""
    from ambientctl.cli.commands.trace import TRACE_DEFAULTS
    from ambientctl.cli.main import build_parser

    args = vars(build_parser().parse_args(["trace", "a", "b"]))
    assert {k: args[k] for k in TRACE_DEFAULTS} == TRACE_DEFAULTS
