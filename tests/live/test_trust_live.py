"""Issue #13 on the real test API server (tests/cluster/fixture.py): RBAC-limited tokens never turn into "no pod
named …" or an empty matrix with exit 0, and the writing commands that need a cluster (`snapshot save -o`,
`capture -w`) refuse an existing path before reading or touching anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ambientctl.cli.main import main

pytestmark = pytest.mark.live

READ_ALL_BUT = {
    "pods": [{"apiGroups": [""], "resources": ["namespaces", "nodes", "services", "serviceaccounts", "configmaps"],
              "verbs": ["get", "list"]}],
    "services": [{"apiGroups": [""], "resources": ["namespaces", "nodes", "pods", "serviceaccounts", "configmaps"],
                  "verbs": ["get", "list"]}],
}
OTHER_GROUPS = [{"apiGroups": ["apps", "networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io",
                               "security.istio.io"], "resources": ["*"], "verbs": ["get", "list"]}]


def run(argv: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_403_on_pods_is_an_error_not_no_pod_or_an_empty_matrix(kube_cluster, capsys) -> None:  # type: ignore[no-untyped-def]
    kc = str(kube_cluster.restricted_kubeconfig("trust-no-pods", READ_ALL_BUT["pods"] + OTHER_GROUPS))
    for argv in (["describe", "pod", "sleep"], ["explain", "--matrix", "-n", "default"],
                 ["explain", "sleep", "productpage:9080"]):
        code, out, err = run([*argv, "--kubeconfig", kc], capsys)
        assert code == 1 and not out, (argv, out)
        assert len(err.strip().splitlines()) == 1
        assert "Pods could not be read (403 Forbidden" in err and "no pod" not in err


def test_403_on_services_says_it_cannot_tell(kube_cluster, capsys) -> None:  # type: ignore[no-untyped-def]
    kc = str(kube_cluster.restricted_kubeconfig("trust-no-services", READ_ALL_BUT["services"] + OTHER_GROUPS))
    code, out, err = run(["explain", "sleep", "productpage:9080", "--kubeconfig", kc], capsys)
    assert code == 1 and not out
    assert "cannot tell whether 'productpage' names a service: could not read Service (403 Forbidden" in err


def test_403_on_policies_degrades_the_answer_and_says_so(kube_cluster, capsys) -> None:  # type: ignore[no-untyped-def]
    rules = [{"apiGroups": ["", "apps", "networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io"],
              "resources": ["*"], "verbs": ["get", "list"]}]
    kc = str(kube_cluster.restricted_kubeconfig("trust-no-authz", rules))
    code, out, _ = run(["explain", "sleep", "productpage:9080", "--kubeconfig", kc, "-o", "json"], capsys)
    doc = json.loads(out)
    assert code in (0, 3)
    assert any(w.startswith("AuthorizationPolicy could not be read (403 Forbidden") for w in doc["warnings"])
    code, out, _ = run(["explain", "--matrix", "-n", "default", "--kubeconfig", kc, "-o", "json"], capsys)
    assert any(n.startswith("AuthorizationPolicy could not be read") for n in json.loads(out)["notes"])


def test_snapshot_save_refuses_an_existing_file_before_reading(kube_cluster, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    kc = str(kube_cluster.kubeconfig)
    out = tmp_path / "s.yaml"
    out.write_text("mine\n")
    code, _, err = run(["snapshot", "save", "-o", str(out), "--kubeconfig", kc], capsys)
    assert code == 1 and "already exists (--force replaces it)" in err and out.read_text() == "mine\n"
    code, _, err = run(["snapshot", "save", "-o", kc, "--kubeconfig", kc, "--force"], capsys)
    assert code == 1 and "is a file this command reads" in err  # never over the kubeconfig, even with --force
    code, _, err = run(["snapshot", "save", "-o", str(out), "--kubeconfig", kc, "--force"], capsys)
    assert code == 0 and "kind: Pod" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_capture_refuses_an_existing_file_before_touching_a_pod(kube_cluster, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    kc = str(kube_cluster.kubeconfig)
    out = tmp_path / "c.pcap"
    out.write_bytes(b"mine")
    before = kube_cluster.kubectl("get", "pod", "-n", "default", "-l", "app=sleep", "-o",
                                  "jsonpath={.items[*].spec.ephemeralContainers}")
    code, _, err = run(["capture", "deploy/sleep", "-i", "lo", "-w", str(out), "--yes", "--duration", "1",
                        "--kubeconfig", kc], capsys)
    assert code == 1 and "already exists (--force replaces it)" in err and out.read_bytes() == b"mine"
    after = kube_cluster.kubectl("get", "pod", "-n", "default", "-l", "app=sleep", "-o",
                                 "jsonpath={.items[*].spec.ephemeralContainers}")
    assert before == after  # no capture container was added


def test_completion_cache_is_written_atomically_and_never_through_a_link(kube_cluster, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                        monkeypatch) -> None:
    from ambientctl.cli.completion import _live_names

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    kc = str(kube_cluster.kubeconfig)
    names = _live_names(None, kc)
    files = list((tmp_path / "ambientctl").iterdir())
    assert len(files) == 1 and json.loads(files[0].read_text()) == names  # and found again by the next process
    victim = tmp_path / "victim"
    victim.write_text("keep")
    files[0].unlink()
    files[0].symlink_to(victim)  # a planted link where the cache goes
    assert _live_names(None, kc) == names
    assert victim.read_text() == "keep" and files[0].is_symlink()
