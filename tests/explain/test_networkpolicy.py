"""explain with Kubernetes NetworkPolicy on the packets ambient puts on the wire, per Istio era, and the describe
findings that say the same. Each case names its source; explain/wire.py has the rules."""

import pytest

from ambientctl.explain.engine import explain
from ambientctl.explain.pod import describe_pod
from ambientctl.mesh import MeshView
from ambientctl.model.parse import parse_object
from tests.explain.test_path import world
from tests.helpers import cluster_from_yaml, pod

HBONE_LOG = "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed"


def np(name, spec, ns="default"):
    return f"""
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: {ns}}}
spec: {spec}
"""


APP_PORT_ONLY = np("details-app-port", "{podSelector: {matchLabels: {app: details}}, ingress: [{ports: [{port: 9080}]}]}")
CALICO = """
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec: {template: {metadata: {labels: {k8s-app: calico-node}}, spec: {containers: [{name: calico-node}]}}}
"""
CILIUM = CALICO.replace("calico-node", "cilium")
FLANNEL = CALICO.replace("calico-node", "kube-flannel-ds")


def view(extra, version="1.28.0", cni=CALICO):
    return MeshView(cluster_from_yaml(world(version) + cni + extra))


def ex(v, src, dst, **kw):
    return explain(v, src, dst, **kw)


def test_app_port_only_policy_drops_hbone_in_pod_mode():
    """In-pod redirection (1.21+): the client's ztunnel sends HBONE from the client pod to <dst pod>:15008, so a
    policy admitting only the app port drops it (istio.io ambient/usage/networkpolicy "Ambient traffic overlay and
    Kubernetes NetworkPolicy"). The source ztunnel gives up after CONNECTION_TIMEOUT 10 s and logs the #1229 text
    (ztunnel `src/proxy/pool.rs` MaybeHBONENetworkPolicyError, in tags 1.23.0 and later); the client's connect was
    accepted locally by ztunnel."""
    d = ex(view(APP_PORT_ONLY), "sleep-1", "details:9080")
    assert d["verdict"] == "deny" and d["path"] == "direct-hbone"
    assert d["enforcedBy"] == "networkpolicy"
    assert d["decidedBy"] == {"networkPolicy": "default/details-app-port"}
    assert d["ztunnelLog"] == HBONE_LOG
    assert d["networkPolicy"]["connection"] == {"src": "192.168.58.148", "dst": "192.168.58.10", "port": 15008,
                                                "protocol": "TCP"}
    assert d["networkPolicy"]["direction"] == "ingress"
    assert "accepts the connection locally" in d["outcome"] and "10 s" in d["outcome"]
    reached = [h.get("reached", True) for h in d["hops"]]
    assert [h["component"] for h in d["hops"]] == ["client", "src-ztunnel", "dst-ztunnel", "server"]
    assert reached == [True, True, False, False]
    ids = [f["id"] for f in d["findings"]]
    assert ids == ["networkpolicy-blocks-hbone"]
    # one answer: describe pod says the same, by the same code
    v = view(APP_PORT_ONLY)
    details = next(p for p in v.cluster.pods if p.meta.name == "details-v1-1")
    assert d["findings"][0] in describe_pod(v, details)["findings"]


def test_before_1_23_the_timeout_is_an_io_error():
    """ztunnel 1.21/1.22 map the 10 s connect timeout to Error::Io: `io error: deadline has elapsed` (1.22.0
    `src/proxy.rs` freebind_connect + `#[error("io error: {0}")]`; the NetworkPolicy hint arrived with #1229)."""
    d = ex(view(APP_PORT_ONLY, "1.22.0"), "sleep-1", "details:9080")
    assert d["verdict"] == "deny" and d["ztunnelLog"] == "io error: deadline has elapsed"


def test_uncaptured_client_reaches_the_app_port():
    """A client outside the mesh sends plaintext to the app port, which the destination's ingress sees (the pod
    netns's 15006 capture is inside the pod); the admitting rule is named when no Istio policy decides."""
    d = ex(view(APP_PORT_ONLY), "sleep-legacy.legacy", "details.default:9080")
    assert d["verdict"] == "allow" and d["path"] == "plaintext-passthrough"
    assert d["enforcedBy"] == "networkpolicy"
    assert d["decidedBy"] == {"networkPolicy": "default/details-app-port", "rule": 0}


def test_plaintext_drop_is_a_connect_timeout():
    """Uncaptured client, policy admitting nothing from it: the SYN is dropped, the client's connect times out."""
    d = ex(view(np("deny", "{podSelector: {matchLabels: {app: details}}}")), "sleep-legacy.legacy",
           "details.default:9080")
    assert d["verdict"] == "deny" and d["decidedBy"] == {"networkPolicy": "default/deny"}
    assert "connect times out" in d["outcome"] and "ztunnelLog" not in d
    assert not d["findings"]  # an app-port policy doing its job is no misconfiguration


def test_egress_policy_of_the_client_sees_hbone_to_the_destination():
    """The client's egress policy sees HBONE to <dst pod>:15008 (ztunnel's socket is in the client pod's netns)."""
    pol = np("sleep-egress", "{podSelector: {matchLabels: {app: sleep}}, policyTypes: [Egress], egress: "
                             "[{ports: [{port: 9080}, {port: 53, protocol: UDP}]}]}")
    d = ex(view(pol), "sleep-1", "details:9080")
    assert d["verdict"] == "deny" and d["networkPolicy"]["direction"] == "egress"
    assert d["networkPolicy"]["pod"] == "default/sleep-1"
    assert d["ztunnelLog"] == HBONE_LOG
    assert [f["id"] for f in d["findings"]] == ["networkpolicy-blocks-hbone"]


def test_waypoint_pod_ingress_and_egress():
    """Through a waypoint: client -> waypoint pod:15008 (the waypoint's ingress), then waypoint -> destination
    pod:15008 (the waypoint's egress and the destination's ingress). A drop on the second leg is the waypoint
    Envoy's upstream connect timeout: 503 with response flag UF."""
    wp_in = np("waypoint-in", "{podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: waypoint}}, "
                              "ingress: [{ports: [{port: 15021}]}]}")
    d = ex(view(wp_in), "sleep-1", "productpage:9080")
    assert d["path"] == "via-waypoint" and d["verdict"] == "deny"
    assert d["networkPolicy"]["pod"] == "default/waypoint-abc"
    assert d["networkPolicy"]["connection"]["dst"] == "192.168.58.99"
    assert [h.get("reached", True) for h in d["hops"]] == [True, True, False, False, False]
    pp_in = np("pp-from-sleep", "{podSelector: {matchLabels: {app: productpage}}, ingress: [{from: [{podSelector: "
                                "{matchLabels: {app: sleep}}}], ports: [{port: 15008}, {port: 9080}]}]}")
    d = ex(view(pp_in), "sleep-1", "productpage:9080")
    assert d["verdict"] == "deny" and d["decidedBy"] == {"networkPolicy": "default/pp-from-sleep"}
    assert d["networkPolicy"]["connection"]["src"] == "192.168.58.99"
    assert d["proxyLog"] == "response code 503, flags UF" and "503" in d["outcome"]
    assert [h.get("reached", True) for h in d["hops"]] == [True, True, True, False, False]


def test_sidecar_client_tunnels_to_15008():
    """Sidecars talk HBONE to ambient pods on 15008 too (istio.io ambient/usage/networkpolicy; sidecar-direct)."""
    d = ex(view(APP_PORT_ONLY), "httpbin-1", "details:9080")
    assert d["verdict"] == "deny" and d["networkPolicy"]["connection"]["port"] == 15008
    assert "ztunnelLog" not in d


def test_node_level_redirection_era_sees_the_app_port():
    """1.18–1.20: istio-cni redirects at the node and ztunnel connects to the app with the client's own address
    (ztunnel 1.20 `src/proxy/inbound.rs` freebind_connect(orig_src), enable_original_source), so the destination's
    ingress sees the app port: the app-port policy admits it, with a caveat that this is CNI-specific."""
    d = ex(view(APP_PORT_ONLY, "1.20.0"), "sleep-1", "details:9080")
    assert d["verdict"] == "allow"
    assert any("redirects at the node level" in w for w in d["warnings"])
    v = view(APP_PORT_ONLY, "1.20.0")
    details = next(p for p in v.cluster.pods if p.meta.name == "details-v1-1")
    assert not [f for f in describe_pod(v, details)["findings"] if f["id"].startswith("networkpolicy")]


def test_flannel_does_not_enforce():
    """flannel alone implements no NetworkPolicy: nothing drops the connection, explain says why."""
    d = ex(view(APP_PORT_ONLY, cni=FLANNEL), "sleep-1", "details:9080")
    assert d["verdict"] == "allow"
    assert any("does not enforce NetworkPolicy" in w for w in d["warnings"])


def test_unknown_cni_is_said():
    d = ex(view(APP_PORT_ONLY, cni=""), "sleep-1", "details:9080")
    assert d["verdict"] == "deny"
    assert any("CNI was not recognised" in w for w in d["warnings"])


PROBED = pod("probed-1", labels={"app": "probed"}, node="node-b", ip="192.168.2.77",
             annotations={"ambient.istio.io/redirection": "enabled"})
DENY_PROBED = np("deny-all", "{podSelector: {matchLabels: {app: probed}}}")


def _with_probe(text):
    return text.replace("containers:\n  - image: example/app:1\n    name: app\n",
                        "containers:\n  - image: example/app:1\n    name: app\n    ports: [{name: http, "
                        "containerPort: 8080}]\n    readinessProbe: {httpGet: {port: http}}\n")


@pytest.mark.parametrize("cni, fix", [(CALICO, "ipBlock 169.254.7.127/32"),
                                      (CILIUM, "CiliumClusterwideNetworkPolicy")])
def test_kubelet_probe_snat_dropped_by_default_deny(cni, fix):
    """In-pod mode (1.21+) SNATs kubelet probes to 169.254.7.127 and accepts them in the pod before ztunnel
    (istio `cni/pkg/iptables/iptables.go`, HOST_PROBE_SNAT_IP): no Istio policy sees them, and NetworkPolicy no
    longer sees node traffic, so a default-deny ingress policy drops them. Fix: an ipBlock for 169.254.7.127/32
    (istio.io ambient/usage/networkpolicy), with Cilium a CiliumClusterwideNetworkPolicy (istio.io
    ambient/install/platform-prerequisites)."""
    v = view(_with_probe(PROBED) + DENY_PROBED, cni=cni)
    d = ex(v, "node/node-b", "pod/probed-1:8080")
    assert d["path"] == "kubelet-probe-snat" and d["verdict"] == "deny"
    assert d["decidedBy"] == {"networkPolicy": "default/deny-all"}
    assert d["networkPolicy"]["connection"]["src"] == "169.254.7.127"
    assert "unready" in d["outcome"]
    assert [f["id"] for f in d["findings"]] == ["networkpolicy-blocks-probes"] and fix in d["findings"][0]["message"]
    probed = next(p for p in v.cluster.pods if p.meta.name == "probed-1")
    assert d["findings"][0] in describe_pod(v, probed)["findings"]


def test_kubelet_probe_admitted_by_ip_block_or_unisolated():
    allow = np("probes", "{podSelector: {matchLabels: {app: probed}}, ingress: [{from: [{ipBlock: "
                         "{cidr: 169.254.7.127/32}}]}]}")
    d = ex(view(PROBED + DENY_PROBED + allow), "node/node-b", "pod/probed-1:8080")
    assert d["verdict"] == "allow" and d["decidedBy"] == {"networkPolicy": "default/probes", "rule": 0}
    d = ex(view(PROBED), "node/node-b", "pod/probed-1:8080")
    assert d["verdict"] == "allow" and d["enforcedBy"] == "none" and "notEvaluated" in d["decidedBy"]


def test_kubelet_probe_before_in_pod_is_node_traffic():
    """1.18–1.20: istio-cni marks connections from the node IP as skipped (1.20 `cni/pkg/ambient/net_linux.go`
    'Mark healthcheck probes from the node IP as skippable'): the pod sees node traffic, which NetworkPolicy
    always allows (Kubernetes NetworkPolicy docs)."""
    d = ex(view(PROBED + DENY_PROBED, "1.20.0"), "node/node-b", "pod/probed-1:8080")
    assert d["path"] == "plaintext-passthrough" and d["verdict"] == "allow"
    assert d["decidedBy"] == {"notEvaluated": "node traffic: istio-cni does not redirect it to ztunnel"}


def test_ztunnel_to_istiod_blocked_is_a_finding_on_ztunnel():
    """ztunnel fetches XDS and certificates from istiod on 15012; an egress policy on ztunnel without it cuts the
    node off (research/istio-2026.md §2 item 1)."""
    istiod = pod("istiod-1", "istio-system", labels={"app": "istiod"}, node="node-a", ip="192.168.1.9")
    pol = np("zt-egress", "{podSelector: {matchLabels: {app: ztunnel}}, policyTypes: [Egress], egress: "
                          "[{ports: [{port: 53, protocol: UDP}]}]}", ns="istio-system")
    v = view(istiod + pol)
    zt = next(p for p in v.cluster.pods if p.meta.name == "ztunnel-a")
    (finding,) = [f for f in describe_pod(v, zt)["findings"] if f["id"] == "networkpolicy-blocks-istiod"]
    d = ex(v, "sleep-1", "details:9080")  # both ends on node-a: ztunnel-a is on the path
    assert d["verdict"] == "allow" and finding in d["findings"] and finding["message"] in d["warnings"]


def test_node_source_must_exist():
    from ambientctl.errors import NotFound

    with pytest.raises(NotFound):
        ex(view(""), "node/nope", "details:9080")


def test_parse_probe_ports():
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d"},
           "spec": {"containers": [{"name": "c", "livenessProbe": {"tcpSocket": {"port": 7}},
                                    "startupProbe": {"exec": {"command": ["true"]}}}]}}
    p = parse_object(doc, "x")
    assert [(pr.kind, pr.handler, pr.port) for pr in p.containers[0].probes] == [("liveness", "tcpSocket", 7)]


def test_kubelet_probe_snat_ipv6():
    """IPv6 pods: the probe SNAT address is fd16:9254:7127:1337:ffff:ffff:ffff:ffff (istio `cni/README.md`
    HOST_PROBE_SNAT_IPV6 default)."""
    v6 = pod("probed6", labels={"app": "probed"}, node="node-b", ip="fd00::7",
             annotations={"ambient.istio.io/redirection": "enabled"})
    d = ex(view(v6 + DENY_PROBED), "node/node-b", "pod/probed6:8080")
    assert d["verdict"] == "deny" and d["networkPolicy"]["connection"]["src"] == "fd16:9254:7127:1337:ffff:ffff:ffff:ffff"


def test_kubelet_names_the_destination_node():
    """SRC `kubelet` (when no workload has that name) is the kubelet of the node the destination runs on."""
    d = ex(view(PROBED + DENY_PROBED), "kubelet", "pod/probed-1:8080")
    assert d["path"] == "kubelet-probe-snat" and d["source"]["kind"] == "Node" and d["source"]["name"] == "node-b"


def test_client_egress_policy_to_an_external_host():
    """An egress policy on the client judges what leaves its pod: the HBONE connection to the egress waypoint
    (in-pod mode), or the connection to the public address when ztunnel passes it through."""
    from ambientctl.sources.demo import load_demo

    eg = np("sleep-egress", "{podSelector: {matchLabels: {app: sleep}}, policyTypes: [Egress], egress: "
                            "[{ports: [{port: 53, protocol: UDP}, {port: 443}]}]}")
    base = load_demo("ambient-1.31")
    for obj in cluster_from_yaml(eg).network_policies:
        base.add(obj)
    v = MeshView(base)
    d = ex(v, "sleep", "httpbin.org:443", protocol="tcp")
    assert d["verdict"] == "deny" and d["enforcedBy"] == "networkpolicy"
    assert d["networkPolicy"]["connection"]["port"] == 15008 and d["networkPolicy"]["direction"] == "egress"
    assert d["ztunnelLog"] == HBONE_LOG
    d = ex(v, "sleep", "api.example.com:443", protocol="tcp", resolve={"api.example.com": "93.184.215.14"})
    assert d["verdict"] == "allow" and d["decidedBy"] == {"networkPolicy": "default/sleep-egress", "rule": 0}
