"""Destinations outside the cluster's Services: ServiceEntry hosts and addresses, DNS capture, egress waypoints.

Sources (istio/ztunnel @62d82653 = 1.31.0-rc.0 tree, istio/istio @86c9f01f; older tags via `git show <tag>:…`):
- ztunnel `src/dns/server.rs` `find_server`: name, then `*.` wildcards of decreasing specificity
  (`get_wildcards`); entries without a VIP are skipped ("This will trigger us to forward upstream"); entries not
  `visible_to` the client namespace are dropped (1.31).
- ztunnel `src/proxy/outbound.rs` `build_request`: a service VIP → `fetch_service_waypoint`; an unknown address →
  "built request as passthrough; no upstream found" (OutboundProtocol::TCP) — test `build_request_unknown_dest`.
- istio `pilot/pkg/networking/serviceentry/ip_autoallocation.go` `shouldV2AutoAllocateIPFromPieces` (no address
  for resolution NONE, user addresses, or the opt-out label) and `pilot/pkg/controllers/ipallocate` `keepHost`
  (wildcards only for DYNAMIC_DNS).
- istio `cni/pkg/nodeagent/net.go` + `cni/pkg/util/podutil.go` `CheckBooleanAnnotation` (strconv.ParseBool; other
  values ignored), net_test.go "tweedledum"; chart `manifests/charts/istio-cni/values.yaml` `dnsCapture`: false in
  1.24.0, true in 1.25.0.
- istio `pilot/pkg/serviceregistry/ambient/waypoints.go` `fetchWaypointForService` + status.go
  `ReportWaypointCrossNamespaceForbidden` (1.31); test/integration `TestServiceEntryVisibility` for the mesh config.
- istio#54896 / #54981: without DNS capture the client dials the public IP and the egress waypoint is skipped.
"""

import json

import pytest

from ambientctl.errors import NotFound
from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from tests.helpers import cluster_from_yaml, pod

SE_POLICY = {"policy": "istio-egress/httpbin-from-sleep", "rule": 0}


def world(version="1.31.0", mesh="", cni_capture=None, sleep_ann=None, se_labels=None, se_extra="",
          se_resolution="DNS", se_status=True):
    se_labels = se_labels if se_labels is not None else {
        "istio.io/use-waypoint": "egress-waypoint", "istio.io/use-waypoint-namespace": "istio-egress"}
    status = "status: {addresses: [{host: httpbin.org, value: 240.240.0.7}]}" if se_status else ""
    cni = "" if cni_capture is None else f"""
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: istio-cni-config, namespace: istio-system}}
data: {{AMBIENT_DNS_CAPTURE: "{cni_capture}"}}
"""
    mesh_cm = "" if not mesh else f"""
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: istio, namespace: istio-system}}
data:
  mesh: {json.dumps(mesh)}
"""
    ann = {"ambient.istio.io/redirection": "enabled", **(sleep_ann or {})}
    return cluster_from_yaml(f"""
---
apiVersion: v1
kind: Namespace
metadata: {{name: default, labels: {{istio.io/dataplane-mode: ambient}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: apps, labels: {{istio.io/dataplane-mode: ambient}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: istio-egress}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istiod, namespace: istio-system}}
spec:
  template:
    metadata: {{labels: {{app: istiod}}}}
    spec: {{containers: [{{name: discovery, image: "docker.io/istio/pilot:{version}"}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: reviews, namespace: default}}
spec: {{clusterIP: 10.96.3.3, selector: {{app: reviews}}, ports: [{{name: http, port: 9080}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: egress-waypoint, namespace: istio-egress}}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{{name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {{namespaces: {{from: All}}}}}}]
status: {{addresses: [{{type: IPAddress, value: 10.96.9.9}}]}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: httpbin, namespace: istio-egress, labels: {json.dumps(se_labels)}}}
spec:
  hosts: [httpbin.org]
  ports: [{{number: 443, name: tls, protocol: TLS}}]
  resolution: {se_resolution}
{status}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: wikipedia, namespace: istio-egress}}
spec:
  hosts: ["*.wikipedia.org"]
  ports: [{{number: 443, name: tls, protocol: TLS}}]
  resolution: DYNAMIC_DNS
status: {{addresses: [{{host: "*.wikipedia.org", value: 240.240.0.9}}]}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: httpbin-from-sleep, namespace: istio-egress}}
spec:
  targetRefs: [{{kind: ServiceEntry, group: networking.istio.io, name: httpbin}}]
  action: ALLOW
  rules: [{{from: [{{source: {{principals: [cluster.local/ns/default/sa/sleep]}}}}]}}]
{se_extra}{cni}{mesh_cm}""" + pod("ztunnel-a", "istio-system", labels={"app": "ztunnel"}, node="node-a",
                                  ip="10.0.1.2", sa="ztunnel")
        + pod("sleep-1", labels={"app": "sleep"}, sa="sleep", node="node-a", ip="10.0.1.10", annotations=ann)
        + pod("notsleep-1", labels={"app": "notsleep"}, sa="notsleep", node="node-a", ip="10.0.1.11",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("client-1", "apps", labels={"app": "client"}, sa="client", node="node-a", ip="10.0.1.12",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("reviews-1", labels={"app": "reviews"}, sa="reviews", node="node-a", ip="10.0.1.13",
              annotations={"ambient.istio.io/redirection": "enabled"})
        + pod("egress-waypoint-1", "istio-egress", labels={"gateway.networking.k8s.io/gateway-name":
                                                          "egress-waypoint"},
              sa="egress-waypoint", node="node-a", ip="10.0.1.99"))


def ex(cluster, src="sleep", dst="httpbin.org:443", **kw):
    return explain(MeshView(cluster), src, dst, protocol="tcp", **kw)


def verdict(e):
    return e["verdict"], e["path"], e["enforcedBy"], e["decidedBy"]


def test_dns_capture_sends_the_host_to_the_serviceentry_vip_and_its_egress_waypoint():
    """1.25+ default: ztunnel answers the auto-allocated VIP, so the client's ztunnel sends to the egress waypoint
    (another namespace, use-waypoint-namespace + allowedRoutes All), whose targetRefs policy decides."""
    e = ex(world())
    assert verdict(e) == ("allow", "via-waypoint", "waypoint", SE_POLICY)
    assert e["dns"]["answeredBy"] == "ztunnel DNS proxy" and e["dns"]["address"] == "240.240.0.7"
    assert e["dns"]["capture"] is True and "caveat" in e["dns"]  # pod start vs upgrade: unknowable offline
    assert [h["component"] for h in e["hops"]] == ["client", "src-ztunnel", "waypoint", "server"]
    assert e["hops"][-1]["name"] == "httpbin.org"
    assert e["destination"]["kind"] == "ServiceEntry" and e["destination"]["name"] == "httpbin"


def test_the_egress_waypoint_denies_a_client_its_policy_does_not_name():
    e = ex(world(), src="notsleep")
    assert verdict(e) == ("deny", "via-waypoint", "waypoint", {"defaultDeny": ["istio-egress/httpbin-from-sleep"]})
    assert "rbac_access_denied_matched_policy[none]" in e["proxyLog"]


@pytest.mark.parametrize(("kw", "why"), [
    ({"sleep_ann": {"ambient.istio.io/dns-capture": "false"}}, "pod annotation ambient.istio.io/dns-capture=false"),
    ({"cni_capture": "false"}, "istio-cni AMBIENT_DNS_CAPTURE=false"),
    ({"version": "1.24.2"}, "istio-cni default before 1.25 is off"),
])
def test_without_dns_capture_the_egress_waypoint_is_skipped(kw, why):
    """istio#54896: the client asks kube-dns, dials the public address, and its ztunnel passes it through."""
    e = ex(world(**kw))
    assert verdict(e) == ("allow", "plaintext-passthrough", "none", {"noPolicy": True})
    assert e["dns"]["capture"] is False and why in e["dns"]["why"]
    assert [f["id"] for f in e["findings"]] == ["egress-waypoint-skipped-no-dns-capture"]
    assert any("egress waypoint istio-egress/egress-waypoint" in w for w in e["warnings"])


def test_a_non_boolean_annotation_is_ignored_like_istio_cni_does():
    e = ex(world(sleep_ann={"ambient.istio.io/dns-capture": "tweedledum"}))
    assert e["path"] == "via-waypoint" and "is not a boolean" in e["dns"]["why"]


def test_annotation_true_turns_capture_on_where_istio_cni_has_it_off():
    e = ex(world(cni_capture="false", sleep_ann={"ambient.istio.io/dns-capture": "true"}))
    assert e["path"] == "via-waypoint"


def test_an_entry_without_an_address_is_answered_upstream_and_skips_its_waypoint():
    e = ex(world(se_status=False))
    assert e["path"] == "plaintext-passthrough" and e["dns"]["answeredBy"] == "upstream resolver"
    assert [f["id"] for f in e["findings"]] == ["egress-waypoint-skipped-no-address"]
    # 1.25+ would have allocated one: the reason says why a snapshot may lack it
    assert any("240.240.0.0/16" in r and "status.addresses" in r for r in e["reasons"])
    assert not any("240.240.0.0/16" in r for r in ex(world("1.24.2", cni_capture="true", se_status=False))["reasons"])


def test_resolution_none_is_never_auto_allocated():
    """shouldV2AutoAllocateIPFromPieces: 'if resolution is none we cannot honor the assigned IP'."""
    e = ex(world(se_resolution="NONE"))
    assert e["path"] == "plaintext-passthrough"
    assert any("resolution NONE is never auto-allocated" in r for r in e["reasons"])


def test_a_host_no_serviceentry_knows_is_passed_through_and_resolve_says_where():
    e = ex(world(), dst="api.example.com:443", resolve={"api.example.com": "93.184.216.34"})
    assert verdict(e) == ("allow", "plaintext-passthrough", "none", {"noPolicy": True})
    assert e["dns"] == {"capture": True, "why": e["dns"]["why"], "answeredBy": "--resolve",
                        "address": "93.184.216.34", "caveat": e["dns"]["caveat"]}
    assert e["destination"]["kind"] == "Host" and e["hops"][-1]["ip"] == "93.184.216.34"
    e = ex(world(), dst="api.example.com:443")
    assert e["dns"]["answeredBy"] == "upstream resolver" and any("--resolve api.example.com=IP" in r
                                                                  for r in e["reasons"])


def test_registry_only_is_not_enforced_by_ztunnel():
    e = ex(world(mesh="outboundTrafficPolicy: {mode: REGISTRY_ONLY}"), dst="api.example.com:443")
    assert e["verdict"] == "allow" and any("REGISTRY_ONLY, but ztunnel does not enforce it" in r
                                           for r in e["reasons"])


def test_wildcard_serviceentry_host_matches_subdomains():
    e = ex(world(), dst="en.wikipedia.org:443")
    assert e["dns"]["address"] == "240.240.0.9" and e["destination"]["serviceEntryHost"] == "*.wikipedia.org"
    assert e["path"] == "plaintext-passthrough"  # no waypoint on that entry


def test_dialing_the_serviceentry_address_directly_uses_the_waypoint():
    e = ex(world(), dst="240.240.0.7:443")
    assert verdict(e) == ("allow", "via-waypoint", "waypoint", SE_POLICY)
    assert e["destination"]["name"] == "httpbin"


def test_resolve_to_a_service_vip_is_explained_as_that_service():
    e = ex(world(), dst="reviews.internal.example:9080", resolve={"reviews.internal.example": "10.96.3.3"})
    assert e["destination"]["name"] == "reviews" and e["dns"]["address"] == "10.96.3.3"
    assert e["path"] == "direct-hbone"


def test_a_plain_workload_reference_with_a_namespace_still_resolves_as_a_workload():
    with pytest.raises(NotFound):
        ex(world(), dst="nosuch.default:80")


NS_VISIBILITY = "serviceEntryVisibility: {defaultVisibility: NAMESPACE}"
CROSS_NS_SE = """
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: api
  namespace: default
  labels: {istio.io/use-waypoint: egress-waypoint, istio.io/use-waypoint-namespace: istio-egress}
spec: {hosts: [api.partner.example], ports: [{number: 443, name: tls, protocol: TLS}], resolution: DNS}
status: {addresses: [{host: api.partner.example, value: 240.240.0.8}]}
"""


def test_namespace_visible_entry_cannot_bind_a_waypoint_in_another_namespace_1_31():
    """waypoints.go fetchWaypointForService: CrossNamespaceWaypointForbidden; traffic goes out without it."""
    e = ex(world(mesh=NS_VISIBILITY, se_extra=CROSS_NS_SE), dst="api.partner.example:443")
    assert e["path"] == "plaintext-passthrough" and e["dns"]["address"] == "240.240.0.8"
    assert any("CrossNamespaceWaypointForbidden" in w for w in e["warnings"])
    v = MeshView(world(mesh=NS_VISIBILITY, se_extra=CROSS_NS_SE))
    b = v.service_entry_waypoint(next(s for s in v.cluster.service_entries if s.meta.name == "api"))
    assert b.problem_reason == "CrossNamespaceWaypointForbidden" and b.waypoint is None
    # PUBLIC (the default) may bind across namespaces; so could everything before 1.31
    assert ex(world(se_extra=CROSS_NS_SE), dst="api.partner.example:443")["path"] == "via-waypoint"
    assert ex(world("1.30.2", mesh=NS_VISIBILITY, se_extra=CROSS_NS_SE),
              dst="api.partner.example:443")["path"] == "via-waypoint"


def test_namespace_visible_entry_is_invisible_to_dns_from_other_namespaces():
    e = ex(world(mesh=NS_VISIBILITY), src="client.apps")
    assert e["dns"]["answeredBy"] == "upstream resolver"
    assert any("not visible from namespace apps" in r for r in e["reasons"])


def test_bare_host_without_port_takes_the_serviceentry_port():
    assert ex(world(), dst="httpbin.org")["request"]["port"] == 443


def test_egress_explanations_carry_the_serviceentry_binding_as_waypoint():
    """explain's `waypoint` for an egress destination is the ServiceEntry's binding (same shape as a Service's)."""
    e = ex(world())
    assert e["waypoint"]["name"] == "istio-egress/egress-waypoint" and e["waypoint"]["inPath"] is True
    assert e["waypoint"]["reason"] == "WaypointAccepted"
    x = ex(world(mesh=NS_VISIBILITY, se_extra=CROSS_NS_SE), dst="api.partner.example:443")
    assert (x["waypoint"]["name"], x["waypoint"]["reason"]) == (None, "CrossNamespaceWaypointForbidden")
    assert x["waypoint"]["requested"] == "istio-egress/egress-waypoint"


def test_a_skipped_egress_waypoint_is_named_with_in_path_false_and_the_finding_names_its_objects():
    e = ex(world(sleep_ann={"ambient.istio.io/dns-capture": "false"}))
    assert (e["waypoint"]["name"], e["waypoint"]["inPath"]) == ("istio-egress/egress-waypoint", False)
    (f,) = e["findings"]
    assert f["objects"] == ["Pod/default/sleep-1", "ServiceEntry/istio-egress/httpbin",
                            "Gateway/istio-egress/egress-waypoint"]


def test_explain_to_an_external_host_says_what_the_source_could_not_read():
    """A 403 on a kind degrades every answer and says so — explain to a host outside the cluster as well as to a
    Service (both bodies end in the same engine code)."""
    from ambientctl.sources.demo import load_demo

    cluster = load_demo("ambient-1.31")
    cluster.unreadable["NetworkPolicy"] = "403 Forbidden"
    view = MeshView(cluster)
    want = "NetworkPolicy could not be read (403 Forbidden): this answer leaves them out and may be wrong"
    assert want in explain(view, "sleep", "httpbin.org:443")["warnings"]
    assert want in explain(view, "sleep", "productpage:9080")["warnings"]
