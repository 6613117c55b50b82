"""Rows 12-16 of the ambient-1.31 demo README (NetworkPolicy and kubelet probes under Cilium), with the verdict,
path, deciding policy, log text and findings they promise. The behaviours are cited in
tests/explain/test_networkpolicy.py; this pins the demo's answers."""

import pytest

from ambientctl.explain.engine import explain
from ambientctl.explain.pod import describe_pod
from ambientctl.mesh import MeshView
from ambientctl.mesh.refs import resolve_pod
from ambientctl.sources.demo import load_demo

ECHO = ["echo/default-deny", "echo/allow-from-default"]
HBONE_LOG = "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed"


@pytest.fixture(scope="module")
def view():
    return MeshView(load_demo("ambient-1.31"))


@pytest.mark.parametrize("row, src, dst, path, decided, finding", [
    (12, "reviews-v1", "ratings:9080", "direct-hbone", "default/ratings-from-reviews", "networkpolicy-blocks-hbone"),
    (13, "sleep", "tcp-echo.echo:9000", "direct-hbone", ECHO, "networkpolicy-blocks-hbone"),
    (14, "kubelet", "tcp-echo.echo:9000", "kubelet-probe-snat", ECHO, "networkpolicy-blocks-probes"),
    (16, "sleep.batch", "tcp-echo.echo:9000", "direct-hbone", ECHO, None),
])
def test_readme_rows(view, row, src, dst, path, decided, finding):
    d = explain(view, src, dst, protocol="tcp")
    assert (d["verdict"], d["path"], d["enforcedBy"]) == ("deny", path, "networkpolicy"), row
    assert d["decidedBy"] == {"networkPolicy": decided}
    assert [h.get("reached", True) for h in d["hops"]][-1] is False
    if path == "direct-hbone":
        assert d["ztunnelLog"] == HBONE_LOG and d["networkPolicy"]["connection"]["port"] == 15008
    else:
        assert d["networkPolicy"]["connection"]["src"] == "169.254.7.127"
    assert d["networkPolicy"]["cni"] == "cilium"
    assert [f["id"] for f in d.get("findings", [])] == ([finding] if finding else [])
    if finding == "networkpolicy-blocks-probes":
        assert "CiliumClusterwideNetworkPolicy" in d["findings"][0]["message"]


def test_row_15_describe_says_the_same(view):
    p = resolve_pod(view.cluster, "tcp-echo", "echo")
    doc = describe_pod(view, p)
    assert not doc["pod"]["ready"]
    ids = [f["id"] for f in doc["findings"]]
    assert ids == ["networkpolicy-blocks-hbone", "networkpolicy-blocks-probes"]
    for src, fid in (("sleep", "networkpolicy-blocks-hbone"), ("kubelet", "networkpolicy-blocks-probes")):
        flow = explain(view, src, "tcp-echo.echo:9000", protocol="tcp")
        (f,) = flow["findings"]
        assert f["id"] == fid and f in doc["findings"]


def test_the_seed_scenarios_keep_their_answers_without_networkpolicy(view):
    """Traffic the NetworkPolicies do not select is unchanged (row 10 of the README)."""
    d = explain(view, "productpage-v1", "details:9080")
    assert d["verdict"] == "allow" and d["decidedBy"] == {"policy": "default/details-viewer", "rule": 0}


def test_networkpolicy_findings_never_contradict_the_verdict(view):
    """For every workload and every service port of the demo: a flow that carries a NetworkPolicy finding is one
    whose connection the policy drops (the finding describe shows), and a drop is of HBONE (15008) exactly when
    the client is in the mesh."""
    from ambientctl.explain.engine import explain_resolved
    from ambientctl.explain.target import resolve_source, resolve_target

    pods = [p for p in view.cluster.pods if p.ip and view.enrollment(p).role not in ("ztunnel", "istio-cni", "istiod")
            and not p.host_network]
    checked = 0
    for p in pods:
        src = resolve_source(view, f"pod/{p.meta.name}.{p.meta.namespace}", None)
        for svc in view.cluster.services:
            if not svc.selector or svc.meta.namespace not in ("default", "echo"):
                continue
            for sp in svc.ports:
                d = explain_resolved(view, src, resolve_target(view, f"{svc.meta.name}.{svc.meta.namespace}:{sp.port}",
                                                              None, None), protocol="tcp")
                ids = {f["id"] for f in d["findings"]}
                if "networkpolicy-blocks-hbone" in ids:
                    assert d["verdict"] == "deny" and d["enforcedBy"] == "networkpolicy", (p.meta.key, svc.meta.key)
                if d["enforcedBy"] == "networkpolicy" and d["verdict"] == "deny":
                    np = d["networkPolicy"]
                    # HBONE on 15008 from mesh clients, the app port from uncaptured ones (coredns)
                    assert (np["connection"]["port"] == 15008) == (d["path"] != "plaintext-passthrough"), \
                        (p.meta.key, svc.meta.key, d["path"])
                    checked += 1
    assert checked >= 10
