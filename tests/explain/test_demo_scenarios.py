"""Every request of the seeds' walkthroughs (seeds/001: L4 policy, then waypoint + L7 policy, 90/10, 5 s delay;
seeds/000: hairpin) through `explain` on the bundled demo clusters, with the verdict, path, deciding component
and policy the demo READMEs table (ambientctl/demo/data/*/README.md)."""

import pytest

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo

_views: dict[str, MeshView] = {}


def view(demo: str) -> MeshView:
    if demo not in _views:
        _views[demo] = MeshView(load_demo(demo))
    return _views[demo]


PP = {"policy": "default/productpage-viewer", "rule": 0}
PP_DEFAULT_DENY = {"defaultDeny": ["default/productpage-viewer"]}
NO_POLICY = {"noPolicy": True}

CASES = [
    # demo, src, dst, method, verdict, path, enforcedBy, decidedBy
    # seed 001 §9.2 (L4 policy, no waypoint): sleep GET and DELETE succeed, notsleep fails
    ("bookinfo-l4", "sleep", "productpage:9080", "GET", "allow", "direct-hbone", "dst-ztunnel", PP),
    ("bookinfo-l4", "sleep", "productpage:9080", "DELETE", "allow", "direct-hbone", "dst-ztunnel", PP),
    ("bookinfo-l4", "notsleep", "productpage:9080", "GET", "deny", "direct-hbone", "dst-ztunnel", PP_DEFAULT_DENY),
    ("bookinfo-l4", "sleep", "reviews:9080", "GET", "allow", "direct-hbone", "none", NO_POLICY),
    # seed 001 §10.1 in current Istio: L7 policy at the waypoint
    ("bookinfo", "sleep", "productpage:9080", "GET", "allow", "via-waypoint", "waypoint", PP),
    ("bookinfo", "sleep", "productpage:9080", "DELETE", "deny", "via-waypoint", "waypoint", PP_DEFAULT_DENY),
    ("bookinfo", "notsleep", "productpage:9080", "GET", "deny", "via-waypoint", "waypoint", PP_DEFAULT_DENY),
    ("bookinfo", "sleep", "reviews:9080", "GET", "allow", "via-waypoint", "none", NO_POLICY),
    ("bookinfo", "sleep", "details:9080", "GET", "allow", "direct-hbone", "none", NO_POLICY),
    ("bookinfo", "reviews-v1", "ratings:9080", "GET", "deny", "direct-hbone", "dst-ztunnel",
     {"defaultDeny": ["default/ratings-viewer"]}),
    ("bookinfo", "sleep.legacy", "productpage:9080", "DELETE", "allow", "plaintext-passthrough", "none", NO_POLICY),
    ("bookinfo", "sleep", "192.168.13.108:9080", "DELETE", "allow", "direct-hbone", "none", NO_POLICY),
    ("bookinfo", "sleep", "node-exporter.monitoring:9100", "GET", "allow", "plaintext-passthrough", "none",
     NO_POLICY),
    # the seeds' own 2022 cluster: selector L7 policy applied by the productpage waypoint
    ("seed-2022", "sleep", "productpage:9080", "GET", "allow", "via-waypoint", "waypoint", PP),
    ("seed-2022", "sleep", "productpage:9080", "DELETE", "deny", "via-waypoint", "waypoint", PP_DEFAULT_DENY),
    ("seed-2022", "notsleep", "productpage:9080", "GET", "deny", "via-waypoint", "waypoint", PP_DEFAULT_DENY),
    ("seed-2022", "sleep", "details:9080", "GET", "allow", "direct-hbone", "none", NO_POLICY),
    # Istio 1.20: service-account waypoint, pod IP also via the waypoint, hairpin for plaintext callers
    ("hairpin-1.20", "sleep", "productpage:9080", "GET", "allow", "via-waypoint", "waypoint", PP),
    ("hairpin-1.20", "notsleep", "productpage:9080", "GET", "deny", "via-waypoint", "waypoint", PP_DEFAULT_DENY),
    ("hairpin-1.20", "sleep", "192.168.13.108:9080", "GET", "allow", "via-waypoint", "waypoint", PP),
    ("hairpin-1.20", "sleep.legacy", "productpage:9080", "GET", "deny", "hairpin-via-waypoint", "waypoint",
     PP_DEFAULT_DENY),
    ("hairpin-1.20", "node-exporter-bgvp8.monitoring", "productpage:9080", "GET", "deny", "hairpin-via-waypoint",
     "dst-ztunnel", {"failure": "unknown source: 192.168.40.12"}),
]


@pytest.mark.parametrize(("demo", "src", "dst", "method", "verdict", "path", "enforced", "decided"), CASES,
                         ids=[f"{c[0]}:{c[1]}->{c[2]}:{c[3]}" for c in CASES])
def test_seed_request(demo, src, dst, method, verdict, path, enforced, decided):
    e = explain(view(demo), src, dst, method=method)
    assert (e["verdict"], e["path"], e["enforcedBy"], e["decidedBy"]) == (verdict, path, enforced, decided)


def test_five_second_delay_and_ninety_ten_split():
    pp = explain(view("bookinfo"), "sleep", "productpage:9080")
    assert pp["routing"]["fault"] == {"delay": {"fixedDelay": "5s", "percent": 100.0}}
    assert "delayed 5s" in pp["outcome"]
    rv = explain(view("bookinfo"), "sleep", "reviews:9080")
    assert [(b["subset"], b["percent"]) for b in rv["routing"]["backends"]] == [("v1", 90.0), ("v2", 10.0)]
    assert rv["endpoint"].startswith("default/reviews-v1-")


def test_hairpin_carries_the_callers_identity_to_the_waypoint():
    e = explain(view("hairpin-1.20"), "sleep.legacy", "productpage:9080")
    assert any("spiffe://cluster.local/ns/legacy/sa/sleep" in r for r in e["reasons"])
    assert [h["component"] for h in e["hops"]] == ["client", "dst-ztunnel", "waypoint", "dst-ztunnel", "server"]


def test_l4_deny_names_the_exact_ztunnel_error_per_version():
    e = explain(view("bookinfo-l4"), "notsleep", "productpage:9080")
    assert e["ztunnelLog"] == "connection closed due to policy rejection: allow policies exist, but none allowed"
    old = explain(MeshView(load_demo("bookinfo-l4"), istio_version="1.23"), "notsleep", "productpage:9080")
    assert old["ztunnelLog"] == "connection closed due to policy rejection"
    assert "401" in e["outcome"]


def test_waypoint_deny_names_envoys_rbac_detail():
    e = explain(view("bookinfo"), "sleep", "productpage:9080", method="DELETE")
    assert e["proxyLog"] == "response code 403, details rbac_access_denied_matched_policy[none]"
    assert e["outcome"] == "the client gets HTTP 403 with body 'RBAC: access denied'"
    assert e["policy"]["name"] == "productpage-viewer"


def test_json_contract_keys():
    e = explain(view("bookinfo"), "sleep", "productpage:9080")
    for key in ("source", "destination", "verdict", "path", "enforcedBy", "decidedBy", "hops", "reasons", "warnings",
                "istioVersion", "routing"):
        assert key in e
    for key in ("ref", "namespace", "name", "kind", "ip", "identity", "captured"):
        assert key in e["source"]
    assert e["source"]["identity"] == "spiffe://cluster.local/ns/default/sa/sleep"
    assert all(set(h) >= {"component", "name", "node", "protocol", "port"} for h in e["hops"])


def test_matrix_cells_agree_with_single_explanations():
    from ambientctl.explain.matrix import matrix

    m = matrix(view("bookinfo"), "default", protocol="http")
    cells = {(c["source"], c["destination"]): c for c in m["cells"]}
    assert len(cells) == len(m["sources"]) * len(m["destinations"])
    assert cells[("deployment/sleep", "productpage:9080")]["verdict"] == "allow"
    assert cells[("deployment/notsleep", "productpage:9080")]["decidedBy"] == PP_DEFAULT_DENY
    assert cells[("deployment/reviews-v1", "ratings:9080")]["enforcedBy"] == "dst-ztunnel"
    # httpbin has a sidecar: it bypasses the waypoint, so the waypoint's policy never sees it (istio#51445)
    assert cells[("deployment/httpbin", "productpage:9080")]["path"] == "sidecar-direct"
    for (src, dst), c in list(cells.items())[:12]:
        single = explain(view("bookinfo"), src, dst)
        assert (single["verdict"], single["decidedBy"]) == (c["verdict"], c["decidedBy"]), (src, dst)
