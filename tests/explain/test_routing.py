"""L7 routing at the waypoint, on Istio's own Bookinfo samples (realdata/istio-istio/samples/head): the seeds'
reviews 90/10 split (VirtualService + DestinationRule, and the Gateway API HTTPRoute form), header-matched fault
delay (ratings test-delay), and the seeds' 5 s productpage delay."""

from pathlib import Path

import pytest
import yaml

from ambientctl.explain.routing import HttpRequest, route_request
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod


def sample(realdata: Path, rel: str, ns: str = "default") -> str:
    docs = [d for d in yaml.safe_load_all((realdata / "istio-istio/samples/head/bookinfo" / rel).read_text()) if d]
    for d in docs:
        d["metadata"]["namespace"] = ns
    return "".join("---\n" + yaml.safe_dump(d) for d in docs)


def services(*names: str) -> str:
    out = ""
    for i, n in enumerate(names):
        app = n.split("-")[0]
        sel = {"app": app} if n == app else {"app": app, "version": n.split("-")[1]}
        out += "---\n" + yaml.safe_dump({"apiVersion": "v1", "kind": "Service",
                                         "metadata": {"name": n, "namespace": "default"},
                                         "spec": {"clusterIP": f"10.100.0.{i + 10}", "selector": sel,
                                                  "ports": [{"port": 9080, "targetPort": 9080}]}})
    return out


REVIEWS_PODS = "".join(pod(f"reviews-{v}-1", labels={"app": "reviews", "version": v}, ip=f"10.0.1.{i}")
                       for i, v in enumerate(["v1", "v2", "v3"], 1))


@pytest.fixture
def view_of():
    def make(text):
        return MeshView(cluster_from_yaml(text), istio_version="1.28")
    return make


def test_seed_reviews_90_10_with_virtual_service_and_destination_rule(realdata, view_of):
    v = view_of(services("reviews") + REVIEWS_PODS + sample(realdata, "networking/virtual-service-reviews-90-10.yaml")
                + sample(realdata, "networking/destination-rule-reviews.yaml"))
    r = route_request(v, v.cluster.service("default", "reviews"), 9080, HttpRequest("GET", "/reviews/0"))
    assert r["route"] == {"kind": "VirtualService", "namespace": "default", "name": "reviews", "rule": 0,
                          "ruleName": None, "match": "everything"}
    assert [(b["subset"], b["percent"], b["pods"]) for b in r["backends"]] == [
        ("v1", 90.0, ["default/reviews-v1-1"]), ("v2", 10.0, ["default/reviews-v2-1"])]
    assert r["retries"]["default"] is True and r["fault"] is None


def test_subset_without_destination_rule_is_flagged(realdata, view_of):
    v = view_of(services("reviews") + REVIEWS_PODS + sample(realdata, "networking/virtual-service-reviews-90-10.yaml"))
    r = route_request(v, v.cluster.service("default", "reviews"), 9080, HttpRequest())
    assert any("defined by no DestinationRule" in w for w in r["warnings"])


def test_httproute_90_10_between_version_services(realdata, view_of):
    v = view_of(services("reviews", "reviews-v1", "reviews-v2") + REVIEWS_PODS
                + sample(realdata, "gateway-api/route-reviews-90-10.yaml"))
    r = route_request(v, v.cluster.service("default", "reviews"), 9080, HttpRequest())
    assert r["route"]["kind"] == "HTTPRoute" and r["route"]["match"] == "path PathPrefix /"
    assert [(b["host"], b["percent"], b["pods"]) for b in r["backends"]] == [
        ("reviews-v1", 90.0, ["default/reviews-v1-1"]), ("reviews-v2", 10.0, ["default/reviews-v2-1"])]


def test_header_matched_fault_delay_applies_only_to_jason(realdata, view_of):
    v = view_of(services("ratings") + pod("ratings-v1-1", labels={"app": "ratings", "version": "v1"})
                + sample(realdata, "networking/virtual-service-ratings-test-delay.yaml")
                + sample(realdata, "networking/destination-rule-all.yaml"))
    svc = v.cluster.service("default", "ratings")
    jason = route_request(v, svc, 9080, HttpRequest("GET", "/ratings/0", {"end-user": "jason"}))
    other = route_request(v, svc, 9080, HttpRequest("GET", "/ratings/0", {"end-user": "bob"}))
    assert jason["route"]["rule"] == 0 and jason["fault"] == {"delay": {"fixedDelay": "7s", "percent": 100.0}}
    assert jason["route"]["match"] == "header end-user exact jason"
    assert other["route"]["rule"] == 1 and other["fault"] is None


SEED_DELAY = """
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: productpage, namespace: default}
spec:
  hosts: [productpage]
  http:
  - route:
    - destination: {host: productpage}
    fault:
      delay:
        percentage: {value: 100.0}
        fixedDelay: 5s
"""


def test_seed_productpage_5s_delay(view_of):
    """Seed 001 §10.4: `kubectl exec deploy/sleep -- time curl productpage:9080` takes ~5.04 s."""
    v = view_of(services("productpage") + pod("productpage-v1-1", labels={"app": "productpage"}) + SEED_DELAY)
    r = route_request(v, v.cluster.service("default", "productpage"), 9080, HttpRequest())
    assert r["fault"] == {"delay": {"fixedDelay": "5s", "percent": 100.0}}
    assert r["backends"] == [{"host": "productpage", "subset": None, "port": None, "weight": 100, "percent": 100.0,
                              "pods": ["default/productpage-v1-1"]}]


def test_no_route_means_none(view_of):
    v = view_of(services("details") + pod("details-v1-1", labels={"app": "details"}))
    assert route_request(v, v.cluster.service("default", "details"), 9080, HttpRequest()) is None
