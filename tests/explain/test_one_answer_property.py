"""Property (issue #11 "One answer"): on every demo cluster, for any pod as client and any service port or pod as
destination, `explain` carries every finding `describe pod` reports for the destination (and `describe service`
for the service it addressed) that concerns this flow, word for word, and never contradicts one: a deny-all at the
destination ztunnel means a deny, a fail-open binding means no waypoint in the path, a skipped L7 policy means the
request did not go through the waypoint. The flow is read back from explain's own JSON, the findings from describe's.
Hypothesis picks the pairs (bounded: a few dozen per demo, no deadline)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ambientctl.demo import demo_names
from ambientctl.errors import AmbientctlError
from ambientctl.explain.engine import explain
from ambientctl.explain.findings import Flow
from ambientctl.explain.pod import describe_pod
from ambientctl.explain.service import describe_service
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo

_views: dict[str, MeshView] = {}


def pod(v: MeshView, key: str):  # type: ignore[no-untyped-def]
    return next(p for p in v.cluster.pods if p.meta.key == key)


def view(name: str) -> MeshView:
    if name not in _views:
        _views[name] = MeshView(load_demo(name))
    return _views[name]


def pairs(v: MeshView) -> list[tuple[str, str]]:
    pods = [p for p in v.cluster.pods if p.ip and not p.host_network]
    dsts = [f"{s.meta.name}.{s.meta.namespace}:{sp.port}" for s in v.cluster.services for sp in s.ports
            if s.selector and v.pods_for(s)]
    dsts += [f"{p.ip}:{port}" for p in pods for port in sorted({x for c in p.containers for x in c.ports})[:1]]
    return [(f"pod/{p.meta.name}.{p.meta.namespace}", d) for p in pods for d in dsts]


def flow_from(v: MeshView, e: dict) -> Flow:
    """The flow as explain's JSON tells it (the caller's kind from the source pod's enrolment)."""
    src = e["source"]
    pod_ = pod(v, f"{src['namespace']}/{src['name']}") if src["kind"] == "Pod" else None
    enr = v.enrollment(pod_) if pod_ is not None else None
    caller = ("waypoint" if enr and enr.role == "waypoint" else "gateway" if enr and enr.role == "gateway" else
              "sidecar" if enr and enr.mode == "sidecar" else "mesh" if src["captured"] else "out-of-mesh")
    dst = e["destination"]
    server = next(h for h in e["hops"] if h["component"] == "server")
    wp = next((h["name"] for h in e["hops"] if h["component"] == "waypoint"), None)
    return Flow(source=f"Pod/{src['namespace']}/{src['name']}" if pod_ is not None else None, caller=caller,
                destination=f"Pod/{e['endpoint']}" if e["endpoint"] else None,
                addressed_by={"Service": "service", "Pod": "pod-ip"}.get(dst["kind"], "ip"), port=server["port"],
                service=f"Service/{dst['namespace']}/{dst['name']}" if dst["kind"] == "Service" else None,
                waypoint=f"Gateway/{wp}" if wp else None)


def concerning(findings: list[dict], flow: Flow) -> list[dict]:
    from ambientctl.explain.findings import FlowScope

    def scope(d: dict) -> FlowScope:
        return FlowScope(d.get("destination"), d.get("source"), d.get("service"), tuple(d.get("addressedBy", ())),
                         tuple(d.get("callers", ())), tuple(d.get("ports", ())), d.get("waypoint"))

    return [x for x in findings if any(scope(s).matches(flow) for s in x.get("flows", []))]


@pytest.mark.parametrize("demo", demo_names())
def test_explain_carries_describes_findings_for_the_flow(demo):
    v = view(demo)
    candidates = pairs(v)
    assert candidates

    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(st.sampled_from(candidates))
    def check(pair):
        src, dst = pair
        try:
            e = explain(v, src, dst, protocol="http")
        except AmbientctlError:
            return  # e.g. a pod IP with several ports: a usage error, not an answer
        if not e.get("endpoint") or not any(h["component"] == "server" for h in e["hops"]):
            return
        flow = flow_from(v, e)
        described = describe_pod(v, pod(v, e["endpoint"]))["findings"]
        if e["destination"]["kind"] == "Service":
            d = e["destination"]
            described = described + describe_service(v, v.cluster.service(d["namespace"], d["name"]))["findings"]
        src_pod = pod(v, f"{e['source']['namespace']}/{e['source']['name']}") if e["source"]["kind"] == "Pod" else None
        if src_pod is not None:
            described = described + describe_pod(v, src_pod)["findings"]
        expected = concerning(described, flow)
        for x in expected:  # included, word for word
            assert x in e["findings"], (pair, x["id"])
            assert x["message"] in e["warnings"]
        ids = {x["id"]: x for x in expected}
        # ... and never contradicted
        deny_all = ids.get("l7-rule-dropped-at-ztunnel")
        if deny_all and deny_all["severity"] == "error" and e["destination"].get("mode", "ambient") == "ambient":
            assert e["verdict"] == "deny", pair
        if "waypoint-identity-not-allowed" in ids:
            assert e["verdict"] == "deny", pair
        if "waypoint-not-used" in ids:
            assert e["waypoint"]["name"] is None and not e["waypoint"]["inPath"], pair
        if any(i.startswith("l7-policy-bypassed-") for i in ids):
            assert flow.waypoint is None and not e["waypoint"]["inPath"], pair
        # hops after a deny are never reached; an allow reaches every hop
        reached = [h.get("reached", True) for h in e["hops"]]
        if e["verdict"] == "allow":
            assert all(reached), pair
        else:
            assert reached == sorted(reached, reverse=True), pair  # reached ones first, then only unreached

    check()
