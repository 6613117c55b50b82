"""Bad input is a feature: every malformed file or reference gives one line naming it, exit 1 or 2, and no
traceback (design.md §7)."""

import subprocess
import sys
from pathlib import Path

import pytest

from ambientctl.cli.main import main
from tests.helpers import pod

GOOD = pod("sleep-1", labels={"app": "sleep"}) + pod("reviews-v1-abc", labels={"app": "reviews"}, ip="10.0.0.2") + \
    pod("reviews-v2-def", labels={"app": "reviews"}, ip="10.0.0.3")


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def snap(tmp_path):
    p = tmp_path / "cluster.yaml"
    p.write_text(GOOD)
    return p


def test_missing_file(tmp_path, capsys):
    code, _, err = run(["describe", "pod", "x", "--snapshot", str(tmp_path / "nope.yaml")], capsys)
    assert code == 1
    assert one_line(err) == f"ambientctl: describe pod: {tmp_path / 'nope.yaml'}: cannot read the snapshot: no such file or directory"


def test_non_yaml_file(tmp_path, capsys):
    p = tmp_path / "notes.yaml"
    p.write_text("key: [unclosed\n  - x: y\n")
    code, _, err = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1
    assert one_line(err).startswith(f"ambientctl: describe pod: {p}: not valid YAML at line")


def test_binary_file(tmp_path, capsys):
    p = tmp_path / "capture.json"
    p.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(range(256)))
    code, _, err = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1
    assert "not a text file" in one_line(err)


def test_plain_text_file(tmp_path, capsys):
    p = tmp_path / "readme.yaml"
    p.write_text("just some words\n")
    code, _, err = run(["describe", "pod", "x", "--snapshot", str(p)], capsys)
    assert code == 1
    assert "not a manifest file" in one_line(err)


def test_document_without_kind_names_file_and_document(tmp_path, capsys):
    p = tmp_path / "two.yaml"
    p.write_text(GOOD + "---\napiVersion: v1\nmetadata: {name: orphan}\n")
    code, _, err = run(["describe", "pod", "sleep-1", "--snapshot", str(p)], capsys)
    assert code == 1
    assert one_line(err) == f"ambientctl: describe pod: {p} document 4: document has no 'kind'"


def test_malformed_field_names_the_field(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec: {containers: oops}\n")
    code, _, err = run(["describe", "pod", "p", "--snapshot", str(p)], capsys)
    assert code == 1
    assert one_line(err) == f"ambientctl: describe pod: {p} document 1 (Pod default/p): spec.containers must be a list of mappings, not a string"


def test_pod_that_matches_nothing(snap, capsys):
    code, _, err = run(["describe", "pod", "ghost", "--snapshot", str(snap)], capsys)
    assert code == 2
    assert one_line(err) == "ambientctl: describe pod: no pod, deployment or app named 'ghost' in namespace default"


def test_app_label_matching_several_workloads(snap, capsys):
    code, _, err = run(["describe", "pod", "reviews", "--snapshot", str(snap)], capsys)
    assert code == 2
    assert one_line(err) == ("ambientctl: describe pod: app 'reviews' in namespace default matches several workloads: "
                             "pod/reviews-v1-abc, pod/reviews-v2-def; name one of them")


def test_pod_in_other_namespace_hints_at_it(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text(pod("web-1", ns="shop", labels={"app": "web"}))
    code, _, err = run(["describe", "pod", "web", "--snapshot", str(p)], capsys)
    assert code == 2
    assert one_line(err).endswith("; it is in namespace shop: use shop/web, web.shop or -n shop")


def test_unknown_demo(capsys):
    code, _, err = run(["describe", "pod", "x", "--demo=nosuch"], capsys)
    assert code == 2
    assert "no demo cluster named 'nosuch'" in one_line(err)


def test_unsupported_istio_version(snap, capsys):
    code, _, err = run(["describe", "pod", "sleep-1", "--snapshot", str(snap), "--istio-version", "1.9"], capsys)
    assert code == 2
    assert "unsupported Istio version '1.9'" in one_line(err)


def test_usage_error_is_one_line(capsys):
    code, _, err = run(["describe", "pod"], capsys)
    assert code == 2
    assert "the following arguments are required: NAME" in one_line(err)


def test_real_process_prints_no_traceback(tmp_path):
    """End to end through the console script: one line on stderr, exit code 1."""
    r = subprocess.run([Path(sys.executable).parent / "ambientctl", "describe", "pod", "x", "--snapshot",
                        str(tmp_path / "missing")], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_unknown_kinds_are_kept_but_ignored(tmp_path, capsys):
    p = tmp_path / "mixed.yaml"
    p.write_text(GOOD + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\n"
                 "spec: {anything: [1, 2]}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                 "data: {token: c2VjcmV0}\n")
    code, out, err = run(["describe", "pod", "sleep-1", "--snapshot", str(p), "-o", "json"], capsys)
    assert code == 0, err
    assert "c2VjcmV0" not in out


def test_kind_list_and_json_and_archives(tmp_path, capsys):
    import json
    import tarfile

    import yaml

    docs = [d for d in yaml.safe_load_all(GOOD) if d]
    (tmp_path / "list.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    code, out, _ = run(["describe", "pod", "sleep-1", "--snapshot", str(tmp_path / "list.json"), "-o", "json"], capsys)
    assert code == 0 and json.loads(out)["pod"]["name"] == "sleep-1"
    with tarfile.open(tmp_path / "snap.tar.gz", "w:gz") as t:
        t.add(tmp_path / "list.json", arcname="dump/list.json")
    code, out, _ = run(["describe", "pod", "sleep-1", "--snapshot", str(tmp_path / "snap.tar.gz"), "-o", "yaml"], capsys)
    assert code == 0 and yaml.safe_load(out)["kind"] == "PodDescription"
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    code, _, err = run(["describe", "pod", "x", "--snapshot", str(tmp_path / "broken.tar.gz")], capsys)
    assert code == 1 and "not a readable archive" in one_line(err)


def test_bare_demo_flag_before_the_pod_name_is_not_a_demo_name(snap, capsys):
    """`--demo NAME` is optional; a following word that names no demo stays the positional argument."""
    code, _, err = run(["describe", "pod", "--demo", "nosuchpod"], capsys)
    assert code == 2
    assert one_line(err) == "ambientctl: describe pod: no pod, deployment or app named 'nosuchpod' in namespace default"
