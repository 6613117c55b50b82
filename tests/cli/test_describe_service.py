"""`describe service` and `describe waypoint` (kinds ServiceDescription, WaypointDescription): the same binding,
condition, policies and findings `explain` and `describe pod` give (one answer). Condition texts: istio/istio
`pilot/pkg/serviceregistry/ambient/status.go` and `model.ServiceInfo.GetConditions` (1.24.0+)."""

import json

import pytest

from ambientctl.cli.main import main
from ambientctl.explain.engine import explain
from ambientctl.explain.pod import describe_pod
from ambientctl.mesh import MeshView
from ambientctl.mesh.refs import resolve_pod
from ambientctl.sources.demo import load_demo


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def doc(argv, capsys):
    code, out, _ = run([*argv, "-o", "json"], capsys)
    assert code == 0
    return json.loads(out)


def test_service_with_a_fail_open_waypoint_says_what_explain_says(capsys):
    d = doc(["describe", "service", "details", "--demo"], capsys)
    assert d["kind"] == "ServiceDescription" and d["waypoint"] is None
    b = d["bindings"]["service"]
    assert b["condition"] == {"type": "istio.io/WaypointBound", "status": False, "reason": "WaypointIsNotReady",
                              "message": 'waypoint "default/details-waypoint" is not ready'}
    e = explain(MeshView(load_demo("bookinfo")), "sleep", "details:9080")
    assert (e["waypoint"]["reason"], e["waypoint"]["message"]) == (b["condition"]["reason"], b["condition"]["message"])
    assert [f for f in d["findings"] if f["id"] == "waypoint-not-used"] == \
        [f for f in e["findings"] if f["id"] == "waypoint-not-used"]


def test_service_lists_the_policies_its_waypoint_enforces_for_it(capsys):
    d = doc(["describe", "svc", "productpage.default", "--demo"], capsys)
    assert d["waypoint"]["name"] == "waypoint"
    assert d["bindings"]["service"]["condition"]["message"] == "Successfully attached to waypoint default/waypoint"
    assert [p["name"] for p in d["policies"]] == ["productpage-viewer"]
    # the endpoint's findings about traffic to this service, as describe pod has them; not the pod-IP one
    v = MeshView(load_demo("bookinfo"))
    pod_doc = describe_pod(v, resolve_pod(v.cluster, "productpage", None))
    assert all(f in pod_doc["findings"] for f in d["findings"])
    assert "l7-policy-bypassed-pod-ip" not in [f["id"] for f in d["findings"]]


def test_waypoint_binds_and_enforces(capsys):
    d = doc(["describe", "waypoint", "default/waypoint", "--demo"], capsys)
    assert d["kind"] == "WaypointDescription"
    w = d["waypoint"]
    assert (w["ready"], w["trafficType"], w["identity"]) == (True, "service",
                                                             "spiffe://cluster.local/ns/default/sa/waypoint")
    assert sorted(s["service"] for s in d["binds"]["service"]) == ["default/productpage", "default/reviews"]
    assert all(s["condition"]["reason"] == "WaypointAccepted" for s in d["binds"]["service"])
    assert [p["name"] for p in d["policies"]] == ["productpage-viewer"]
    code, out, _ = run(["describe", "waypoint", "waypoint", "--demo"], capsys)
    assert code == 0 and "Binds" in out and "service default/reviews" in out


@pytest.mark.parametrize("demo, name, policy", [
    # 2022: the waypoint applies the selector policies of the workloads it serves (listener_waypoint.go @edfe40c7)
    ("seed-2022", "productpage", "productpage-viewer"),
    # 1.20: policies on the waypoint's Gateway (targetRefs, policyattachment.go) or selecting its pod
    ("hairpin-1.20", "bookinfo-productpage", "productpage-viewer"),
])
def test_legacy_waypoints_enforce_what_explain_evaluates_there(capsys, demo, name, policy):
    d = doc(["describe", "waypoint", name, "--demo", demo], capsys)
    assert [p["name"] for p in d["policies"]] == [policy]
    e = explain(MeshView(load_demo(demo)), "sleep", "productpage:9080")
    assert e["enforcedBy"] == "waypoint" and e["decidedBy"]["policy"] == f"default/{policy}"


def test_unknown_names_are_usage_errors(capsys):
    code, _, err = run(["describe", "waypoint", "waypont", "--demo"], capsys)
    assert code == 2 and "did you mean 'waypoint'?" in err
    code, _, err = run(["describe", "service", "detials", "--demo"], capsys)
    assert code == 2 and "no service named 'detials' in namespace default" in err
