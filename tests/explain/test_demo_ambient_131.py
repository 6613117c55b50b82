"""Every request the ambient-1.31 demo README lists (ambientctl/demo/data/ambient-1.31/README.md), with the verdict,
path, deciding component and policy it promises, plus the DNS step and the flow findings. The behaviours are cited
in tests/explain/test_egress.py, test_ingress.py and tests/mesh/test_canary.py; this pins the demo's answers."""

import pytest

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo

GW = "bookinfo-gateway-istio.istio-ingress"
EGRESS = {"policy": "istio-egress/httpbin-egress", "rule": 0}
NONE = {"noPolicy": True}


@pytest.fixture(scope="module")
def view():
    return MeshView(load_demo("ambient-1.31"))


CASES = [
    # row, src, dst, extra kwargs, verdict, path, enforcedBy, decidedBy
    (1, "sleep", "httpbin.org:443", {}, "allow", "via-waypoint", "waypoint", EGRESS),
    (2, "notsleep", "httpbin.org:443", {}, "deny", "via-waypoint", "waypoint",
     {"defaultDeny": ["istio-egress/httpbin-egress"]}),
    (3, "sleep.batch", "httpbin.org:443", {}, "allow", "plaintext-passthrough", "none", NONE),
    (4, "sleep", "240.240.0.1:443", {}, "allow", "via-waypoint", "waypoint", EGRESS),
    (5, "sleep", "api.example.com:443", {"resolve": {"api.example.com": "93.184.215.14"}}, "allow",
     "plaintext-passthrough", "none", NONE),
    (6, GW, "productpage:9080", {}, "allow", "via-waypoint", "waypoint",
     {"policy": "default/productpage-viewer", "rule": 0}),
    (7, GW, "productpage:9080", {"method": "DELETE"}, "deny", "via-waypoint", "waypoint",
     {"defaultDeny": ["default/productpage-viewer"]}),
    (8, GW, "details:9080", {}, "allow", "direct-hbone", "none", NONE),
    (9, "sleep", "details:9080", {}, "deny", "via-waypoint", "waypoint", {"defaultDeny": ["default/details-viewer"]}),
    (10, "productpage-v1", "details:9080", {}, "allow", "via-waypoint", "waypoint",
     {"policy": "default/details-viewer", "rule": 0}),
    (11, "sleep", "reviews:9080", {}, "allow", "via-waypoint", "none", NONE),
]


@pytest.mark.parametrize(("row", "src", "dst", "kw", "verdict", "path", "enforced", "decided"), CASES,
                         ids=[f"{c[0]}:{c[1]}->{c[2]}" for c in CASES])
def test_readme_row(view, row, src, dst, kw, verdict, path, enforced, decided):
    e = explain(view, src, dst, protocol="tcp" if dst.endswith(":443") else "http", **kw)
    assert (e["verdict"], e["path"], e["enforcedBy"], e["decidedBy"]) == (verdict, path, enforced, decided)


def test_dns_and_findings(view):
    e = explain(view, "sleep", "httpbin.org:443", protocol="tcp")
    assert (e["dns"]["answeredBy"], e["dns"]["address"]) == ("ztunnel DNS proxy", "240.240.0.1")
    assert e["hops"][2]["name"] == "istio-egress/egress-waypoint"
    e = explain(view, "sleep.batch", "httpbin.org:443", protocol="tcp")
    assert e["dns"]["capture"] is False and e["dns"]["answeredBy"] == "upstream resolver"
    assert [f["id"] for f in e["findings"]] == ["egress-waypoint-skipped-no-dns-capture"]


def test_ingress_identity_seen_by_the_destination(view):
    gw_id = "spiffe://cluster.local/ns/istio-ingress/sa/bookinfo-gateway-istio"
    e = explain(view, GW, "details:9080")
    assert any(gw_id in r for r in e["reasons"])
    assert any("skips waypoint default/waypoint" in str(w) for w in e["reasons"])  # the path says it; a finding only if L7 policies are skipped
    e = explain(view, GW, "productpage:9080")
    assert any("spiffe://cluster.local/ns/default/sa/waypoint" in r for r in e["reasons"])


def test_canary_split(view):
    b = view.service_waypoint(view.cluster.service("default", "reviews"))
    assert b.weighted == [("default/waypoint", 90), ("default/waypoint-v2", 10)]
    e = explain(view, "sleep", "reviews:9080")
    assert any("default/waypoint 90%, default/waypoint-v2 10%" in r for r in e["reasons"])
