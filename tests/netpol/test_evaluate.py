"""Kubernetes NetworkPolicy semantics, case by case. Sources: the Kubernetes docs page "Network Policies"
(kubernetes.io/docs/concepts/services-networking/network-policies, "the two sorts of pod isolation", "Behavior of
to and from selectors", "Default policies", "Targeting a range of ports") and the field comments of k8s.io/api
networking/v1 types.go (NetworkPolicySpec.PolicyTypes, NetworkPolicyIngressRule.From/Ports, NetworkPolicyPort,
IPBlock); defaulting from pkg/apis/networking/v1/defaults.go."""

import pytest

from ambientctl.errors import InputError
from ambientctl.netpol import Endpoint, NetworkPolicies, Wire
from tests.helpers import cluster_from_yaml, pod

PODS = (
    """
---
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: b}}
"""
    + pod("db", labels={"app": "db"}, ip="10.0.0.10", node="n1")
    + pod("web", labels={"app": "web", "tier": "front"}, ip="10.0.0.20", node="n2")
    + pod("tool", "other", labels={"app": "web"}, ip="10.0.1.30", node="n2")
    + pod("hn", labels={"app": "web"}, ip="192.168.0.2", node="n2", host_network=True)
)


def _world(policies: str):
    cluster = cluster_from_yaml(PODS + policies)
    nps = NetworkPolicies(cluster.network_policies, cluster.namespace_labels)
    pods = {p.meta.name: p for p in cluster.pods}
    return nps, pods


def _np(name: str, spec: str, ns: str = "default") -> str:
    return f"""
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: {ns}}}
spec: {spec}
"""


def _wire(pods, src, dst, port, protocol="TCP"):
    s = Endpoint(pods[src].ip, pods[src]) if src in pods else Endpoint(src)
    d = Endpoint(pods[dst].ip, pods[dst]) if dst in pods else Endpoint(dst)
    return Wire(s, d, port, protocol)


def _ingress(nps, pods, src, dst, port, protocol="TCP"):
    return nps.side(_wire(pods, src, dst, port, protocol), "ingress")


def _egress(nps, pods, src, dst, port, protocol="TCP"):
    return nps.side(_wire(pods, src, dst, port, protocol), "egress")


def test_unselected_pods_are_not_isolated():
    """Docs, "The two sorts of pod isolation": by default a pod is non-isolated for ingress and egress."""
    nps, pods = _world(_np("only-web", "{podSelector: {matchLabels: {app: web}}}"))
    side = _ingress(nps, pods, "web", "db", 5432)
    assert side.allowed and not side.selected_by


def test_empty_pod_selector_default_deny_ingress():
    """Docs, "Default deny all ingress traffic": podSelector {} with no ingress rules isolates every pod of the
    namespace; types.go PolicyTypes: unspecified defaults to Ingress."""
    nps, pods = _world(_np("default-deny", "{podSelector: {}}"))
    side = _ingress(nps, pods, "web", "db", 5432)
    assert not side.allowed and side.selected_by == ["default/default-deny"] and side.admitted_by is None
    # egress is not affected by an ingress-only policy
    assert _egress(nps, pods, "db", "web", 80).allowed


def test_policy_types_default_adds_egress_only_when_egress_rules_exist():
    """types.go PolicyTypes: "policies that contain an egress section are assumed to affect egress"; defaults.go
    adds Egress only when len(spec.egress) != 0, so `egress: []` leaves egress open."""
    nps, pods = _world(_np("eg", "{podSelector: {}, egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]}")
                       + _np("eg-empty", "{podSelector: {}, egress: []}", ns="other"))
    pol = {p.meta.name: p for p in nps.policies}
    assert pol["eg"].policy_types == ["Ingress", "Egress"]
    assert pol["eg-empty"].policy_types == ["Ingress"]
    assert _egress(nps, pods, "web", "db", 5432).allowed
    assert not _egress(nps, pods, "db", "web", 80).allowed
    assert _egress(nps, pods, "tool", "db", 5432).allowed  # eg-empty does not isolate egress


def test_explicit_egress_only_policy_denies_all_egress():
    """Docs, "Default deny all egress traffic": policyTypes [Egress] with no egress rules."""
    nps, pods = _world(_np("deny-egress", "{podSelector: {}, policyTypes: [Egress]}"))
    assert not _egress(nps, pods, "web", "db", 5432).allowed
    assert _ingress(nps, pods, "web", "db", 5432).allowed


def test_policies_are_additive():
    """Docs: "Network policies do not conflict; they are additive": the union of all rules of all policies that
    select the pod; the admitting policy and rule index are reported."""
    nps, pods = _world(_np("a", "{podSelector: {}, ingress: [{ports: [{port: 80}]}]}")
                       + _np("b", "{podSelector: {matchLabels: {app: db}}, ingress: [{ports: [{port: 9}]}, "
                                  "{ports: [{port: 5432}]}]}"))
    side = _ingress(nps, pods, "web", "db", 5432)
    assert side.allowed and side.admitted_by == ("default/b", 1)
    assert side.selected_by == ["default/a", "default/b"]
    assert not _ingress(nps, pods, "web", "db", 15008).allowed


def test_pod_selector_peer_is_the_policy_namespace_only():
    """Docs, "Behavior of to and from selectors": podSelector alone selects pods in the NetworkPolicy's
    namespace."""
    nps, pods = _world(_np("from-web", "{podSelector: {matchLabels: {app: db}}, "
                                       "ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}"))
    assert _ingress(nps, pods, "web", "db", 5432).allowed
    assert not _ingress(nps, pods, "tool", "db", 5432).allowed  # app=web, but namespace other


def test_namespace_selector_alone_and_combined():
    """Docs: namespaceSelector alone selects all pods of those namespaces; namespaceSelector and podSelector in one
    element select those pods of those namespaces (AND), while two elements are OR'd."""
    both = _np("and", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: "
                      "{matchLabels: {team: b}}, podSelector: {matchLabels: {app: nope}}}]}]}")
    nps, pods = _world(both)
    assert not _ingress(nps, pods, "tool", "db", 5432).allowed
    either = _np("or", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: "
                       "{matchLabels: {team: b}}}, {podSelector: {matchLabels: {app: nope}}}]}]}")
    nps, pods = _world(either)
    assert _ingress(nps, pods, "tool", "db", 5432).allowed
    assert not _ingress(nps, pods, "web", "db", 5432).allowed


def test_match_expressions():
    """types.go LabelSelector: matchLabels and matchExpressions are ANDed; operators In, NotIn, Exists,
    DoesNotExist (NotIn also matches a pod without the key)."""
    nps, pods = _world(_np("expr", "{podSelector: {matchExpressions: [{key: app, operator: In, values: [db]}]}, "
                                   "ingress: [{from: [{podSelector: {matchExpressions: [{key: tier, operator: "
                                   "NotIn, values: [back]}, {key: app, operator: Exists}]}}]}]}"))
    assert _ingress(nps, pods, "web", "db", 1).allowed
    nps, pods = _world(_np("expr2", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: "
                                    "{matchExpressions: [{key: tier, operator: DoesNotExist}]}}]}]}"))
    assert not _ingress(nps, pods, "web", "db", 1).allowed


def test_ip_block_with_except():
    """types.go IPBlock: the CIDR is allowed except the `except` CIDRs."""
    nps, pods = _world(_np("cidr", "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{ipBlock: "
                                   "{cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}]}]}"))
    assert _ingress(nps, pods, "web", "db", 1).allowed  # 10.0.0.20
    assert not _ingress(nps, pods, "tool", "db", 1).allowed  # 10.0.1.30 is excepted
    assert _ingress(nps, pods, "10.0.7.7", "db", 1).allowed  # any address, not only pods
    assert not _ingress(nps, pods, "169.254.7.127", "db", 1).allowed


def test_ports_protocol_named_and_end_port():
    """types.go NetworkPolicyPort: protocol defaults to TCP; port may be a number or a named port on the
    destination pod; endPort makes a range (docs, "Targeting a range of ports"); no port = all ports."""
    cluster_text = PODS.replace(
        "containers:\n  - image: example/app:1\n    name: app\n", "containers:\n  - image: example/app:1\n"
        "    name: app\n    ports: [{name: pg, containerPort: 5432}]\n", 1)
    cluster = cluster_from_yaml(cluster_text + _np("ports", "{podSelector: {matchLabels: {app: db}}, ingress: "
                                                           "[{ports: [{port: pg}, {port: 32000, endPort: 32768}, "
                                                           "{protocol: UDP}]}]}"))
    nps = NetworkPolicies(cluster.network_policies, cluster.namespace_labels)
    pods = {p.meta.name: p for p in cluster.pods}
    assert _ingress(nps, pods, "web", "db", 5432).allowed  # named port pg
    assert _ingress(nps, pods, "web", "db", 32768).allowed
    assert not _ingress(nps, pods, "web", "db", 32769).allowed
    assert _ingress(nps, pods, "web", "db", 53, "UDP").allowed  # protocol only: every UDP port
    assert not _ingress(nps, pods, "web", "db", 15008).allowed


def test_node_traffic_and_host_network():
    """Docs: traffic to and from the node where a pod runs is always allowed (when the CNI sees the node as the
    source); hostNetwork pods are not isolated by NetworkPolicy and pod selectors do not match them."""
    nps, pods = _world(_np("default-deny", "{podSelector: {}}"))
    db = pods["db"]
    from_node = Wire(Endpoint("192.168.0.1", node="n1"), Endpoint(db.ip, db), 8080)
    assert nps.side(from_node, "ingress").allowed
    other_node = Wire(Endpoint("192.168.0.9", node="n2"), Endpoint(db.ip, db), 8080)
    assert not nps.side(other_node, "ingress").allowed
    assert _ingress(nps, pods, "web", "hn", 80).allowed
    nps, pods = _world(_np("from-web", "{podSelector: {matchLabels: {app: db}}, "
                                       "ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}"))
    assert not _ingress(nps, pods, "hn", "db", 1).allowed


def test_a_pod_cannot_block_access_to_itself():
    """Docs, "The entities that a Pod can communicate with": "exception: a pod cannot block access to itself"."""
    nps, pods = _world(_np("default-deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}"))
    assert _ingress(nps, pods, "db", "db", 5432).allowed and _egress(nps, pods, "db", "db", 5432).allowed


@pytest.mark.parametrize("spec, where", [
    ("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}",
     "spec.ingress[0].from[0] may not set ipBlock together"),
    ("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/24]}}]}]}",
     "spec.ingress[0].from[0].ipBlock.except[0] 11.0.0.0/24 must be inside 10.0.0.0/8"),
    ("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: nonsense}}]}]}", "ipBlock.cidr must be a CIDR"),
    ("{podSelector: {}, ingress: [{ports: [{port: http, endPort: 90}]}]}", "endPort needs a numeric port"),
    ("{podSelector: {}, ingress: [{ports: [{port: 90, endPort: 80}]}]}", "endPort must be at least port 90"),
    ("{podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}", "protocol must be TCP, UDP or SCTP"),
    ("{podSelector: {}, policyTypes: [Inbound]}", "spec.policyTypes[0] must be Ingress or Egress"),
    ("{podSelector: {matchExpressions: [{key: a, operator: In}]}}", "values must not be empty for In"),
    ("{podSelector: {}, ingress: [{from: [{}]}]}", "must set podSelector, namespaceSelector or ipBlock"),
])
def test_invalid_policies_are_input_errors(spec, where):
    """What the API server's validation refuses is an error naming the object and field, never a guess."""
    with pytest.raises(InputError) as e:
        cluster_from_yaml(_np("bad", spec))
    assert "(NetworkPolicy default/bad)" in str(e.value) and where in str(e.value)
