"""Pods without an IP (Pending during every rollout) are not endpoints and cannot send (issue #13 "Wrong answers
on valid input": one such pod broke `explain --matrix`, a namespace bundle and explain to its Service with
`'' does not appear to be an IPv4 or IPv6 address`).

Kubernetes' ShouldPodBeInEndpoints (k8s.io/endpointslice/util/controller_utils.go, 1.22 to 1.34) and istiod's
copy (pilot/pkg/serviceregistry/kube/controller/pod.go shouldPodBeInEndpoints, 1.18 to 1.28) leave out pods
with no status.podIP(s) and terminal (Succeeded/Failed) pods."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ambientctl.cli.main import main
from ambientctl.errors import AmbientctlError
from ambientctl.explain.engine import explain
from ambientctl.explain.matrix import matrix
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo
from ambientctl.sources.files import load_snapshot

DEMO = Path(__file__).resolve().parents[2] / "ambientctl" / "demo" / "data" / "bookinfo"


def pending_replica(name: str, like: str = "productpage-v1-5586c4d4ff-z8jbb") -> dict:
    """A new replica of an existing pod's ReplicaSet, scheduled nowhere yet: Pending, no IP."""
    for f in sorted(DEMO.glob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Pod" and doc["metadata"]["name"] == like:
                new = copy.deepcopy(doc)
                new["metadata"]["name"] = name
                new["spec"].pop("nodeName", None)
                new["status"] = {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
                return new
    raise AssertionError(f"no pod {like} in the demo")


@pytest.fixture
def rollout(tmp_path: Path) -> Path:
    d = tmp_path / "bookinfo"
    shutil.copytree(DEMO, d)
    standalone = pending_replica("productpage-canary")
    standalone["metadata"].pop("ownerReferences", None)
    standalone["metadata"]["labels"] = {"app": "productpage-canary"}
    (d / "70-rollout.yaml").write_text(yaml.safe_dump_all([pending_replica("productpage-v1-5586c4d4ff-new00"),
                                                           standalone]))
    return d


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "does not appear to be an IPv4" not in out + err
    return code, out, err


def test_pending_replica_is_not_an_endpoint_of_its_service(rollout: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(["explain", "sleep", "productpage:9080", "--snapshot", str(rollout), "-o", "json"], capsys)
    assert code in (0, 3) and not err
    assert "new00" not in out


def test_matrix_and_namespace_bundle_leave_the_pending_workload_out(rollout: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    code, out, _ = run(["explain", "--matrix", "-n", "default", "--snapshot", str(rollout), "-o", "json"], capsys)
    doc = json.loads(out)
    assert code in (0, 3) and doc["cells"]
    assert doc["notes"] == ["pod/productpage-canary: no pod with an IP yet (Pending); left out"]
    assert not any("canary" in s for s in doc["sources"] + doc["destinations"])
    code, out, _ = run(["explain", "--matrix", "-n", "default", "--snapshot", str(rollout)], capsys)
    assert "Left out" in out and "productpage-canary" in out
    code, _, err = run(["bundle", "-n", "default", "--snapshot", str(rollout), "-w", str(tmp_path / "b.tar.gz")],
                       capsys)
    assert code == 0, err


def test_explain_to_or_from_a_pod_without_ip_says_so_in_one_line(rollout: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    for argv, says in ((["explain", "sleep", "productpage-canary:9080"], "nothing can connect to it"),
                       (["explain", "productpage-canary", "reviews:9080"], "it cannot send anything")):
        code, _, err = run([*argv, "--snapshot", str(rollout)], capsys)
        assert code == 1 and len(err.strip().splitlines()) == 1
        assert "pod default/productpage-canary has no IP yet (phase Pending)" in err and says in err


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_pods_losing_their_ip_never_break_an_answer(data) -> None:  # type: ignore[no-untyped-def]
    """Generated: any subset of the demo's pods Pending without IP (or Succeeded/Failed); the matrix and the
    request explanations answer or say in one AmbientctlError what cannot be answered — never another error."""
    cluster = load_demo("bookinfo")
    pods = [p for p in cluster.pods if p.meta.namespace == "default"]
    chosen = data.draw(st.lists(st.sampled_from(pods), unique_by=lambda p: p.meta.key, max_size=len(pods)))
    for p in chosen:
        p.phase = data.draw(st.sampled_from(["Pending", "Succeeded", "Failed"]))
        if p.phase == "Pending" or data.draw(st.booleans()):
            p.ip, p.ips = "", []
    view = MeshView(cluster)
    m = matrix(view, "default")
    assert all(c["verdict"] in ("allow", "deny") for c in m["cells"])
    for src, dst in (("sleep", "productpage:9080"), ("sleep", "reviews:9080"), ("productpage-v1", "details:9080")):
        try:
            e = explain(view, src, dst)
        except AmbientctlError:
            continue
        ep = e.get("endpoint")
        assert ep is None or all(p.meta.key != ep or (p.ip and p.phase not in ("Succeeded", "Failed"))
                                 for p in chosen)


def test_a_snapshot_of_the_demo_is_unchanged(capsys) -> None:  # type: ignore[no-untyped-def]
    """Running pods keep their endpoints: the demo's matrix is the same through the snapshot source."""
    assert matrix(MeshView(load_snapshot(DEMO)), "default")["cells"] == matrix(MeshView(load_demo("bookinfo")),
                                                                               "default")["cells"]
