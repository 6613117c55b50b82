"""The test cluster itself: what the live tests rely on must hold (nodes, running pods with IPs on the kwok
nodes, Istio/Gateway API kinds served, RBAC enforced, kwok's kubelet endpoints reachable through the API
server)."""

from __future__ import annotations

import ipaddress
import json
import socket
import subprocess

import pytest

from tests.cluster.fixture import NODES, REALDATA, ZTUNNEL_LOG, TestCluster

pytestmark = pytest.mark.live


def _get(c: TestCluster, *args: str, kubeconfig=None) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(c.kubectl("get", *args, "-o", "json", kubeconfig=kubeconfig))


def test_nodes_are_the_kwok_nodes_and_ready(kube_cluster: TestCluster) -> None:
    nodes = {n["metadata"]["name"]: n for n in _get(kube_cluster, "nodes")["items"]}
    assert set(nodes) == set(NODES)
    for name, n in nodes.items():
        addrs = {a["type"]: a["address"] for a in n["status"]["addresses"]}
        assert addrs["InternalIP"] == NODES[name][0]
        assert any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])


def test_bookinfo_pods_run_with_ips_from_their_node(kube_cluster: TestCluster) -> None:
    pods = _get(kube_cluster, "pods", "-n", "default")["items"]
    apps = {p["metadata"]["labels"].get("app") for p in pods}
    assert {"productpage", "details", "ratings", "reviews", "sleep", "notsleep"} <= apps
    reviews = [p for p in pods if p["metadata"]["labels"].get("app") == "reviews"]
    assert sorted(p["metadata"]["labels"]["version"] for p in reviews) == ["v1", "v2", "v3"]
    for p in pods:
        node = p["spec"]["nodeName"]  # bound by the real scheduler
        assert p["status"]["phase"] == "Running"
        assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(NODES[node][1])
        assert p["status"]["hostIP"] == NODES[node][0]
        assert all(s["ready"] for s in p["status"]["containerStatuses"])
        # owned by a ReplicaSet the deployment controller made
        assert p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    assert len({p["status"]["podIP"] for p in pods}) == len(pods)


def test_istio_control_plane_and_node_proxies(kube_cluster: TestCluster) -> None:
    pods = _get(kube_cluster, "pods", "-n", "istio-system")["items"]
    ztunnels = [p for p in pods if p["metadata"]["labels"].get("app") == "ztunnel"]
    assert sorted(p["spec"]["nodeName"] for p in ztunnels) == sorted(NODES)  # one per node (DaemonSet)
    istiod = [p for p in pods if p["metadata"]["labels"].get("app") == "istiod"]
    assert len(istiod) == 1 and istiod[0]["status"]["phase"] == "Running"
    assert istiod[0]["spec"]["containers"][0]["image"] == "docker.io/istio/pilot:1.28.0"
    ns = _get(kube_cluster, "namespace", "default")
    assert ns["metadata"]["labels"]["istio.io/dataplane-mode"] == "ambient"


def test_waypoint_gateway_and_its_deployment(kube_cluster: TestCluster) -> None:
    gw = _get(kube_cluster, "gateways.gateway.networking.k8s.io", "waypoint", "-n", "default")
    assert gw["spec"]["gatewayClassName"] == "istio-waypoint"
    svc = _get(kube_cluster, "service", "waypoint", "-n", "default")
    assert {"type": "IPAddress", "value": svc["spec"]["clusterIP"]} in gw["status"]["addresses"]
    pods = _get(kube_cluster, "pods", "-n", "default", "-l", "gateway.networking.k8s.io/gateway-name=waypoint")
    assert len(pods["items"]) == 1 and pods["items"][0]["status"]["phase"] == "Running"


def test_istio_and_gateway_api_kinds_are_served(kube_cluster: TestCluster) -> None:
    for kind in ("authorizationpolicies.security.istio.io", "peerauthentications.security.istio.io",
                 "virtualservices.networking.istio.io", "destinationrules.networking.istio.io",
                 "serviceentries.networking.istio.io", "gateways.gateway.networking.k8s.io",
                 "httproutes.gateway.networking.k8s.io", "gatewayclasses.gateway.networking.k8s.io"):
        assert _get(kube_cluster, kind, "-A")["kind"] == "List"
    kube_cluster.apply("""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: cluster-test-deny, namespace: default}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
""")
    aps = _get(kube_cluster, "authorizationpolicies.security.istio.io", "-n", "default")["items"]
    assert "cluster-test-deny" in {a["metadata"]["name"] for a in aps}
    kube_cluster.kubectl("delete", "authorizationpolicies.security.istio.io", "cluster-test-deny", "-n", "default")


def test_restricted_token_is_forbidden_authorization_policies(kube_cluster: TestCluster) -> None:
    kc = kube_cluster.restricted_kubeconfig("cluster-test-reader", [
        {"apiGroups": [""], "resources": ["pods", "services", "namespaces"], "verbs": ["get", "list"]}])
    assert _get(kube_cluster, "pods", "-A", kubeconfig=kc)["items"]
    r = subprocess.run(["kubectl", "--kubeconfig", str(kc), "get", "authorizationpolicies.security.istio.io", "-A"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower()
    assert "system:serviceaccount:default:cluster-test-reader" in r.stderr


def test_logs_and_exec_reach_kwok_through_the_api_server(kube_cluster: TestCluster) -> None:
    pods = _get(kube_cluster, "pods", "-n", "istio-system", "-l", "app=ztunnel")["items"]
    name = pods[0]["metadata"]["name"]
    logs = kube_cluster.kubectl("logs", "-n", "istio-system", name, "-c", "istio-proxy")
    real = [ln for ln in (REALDATA / ZTUNNEL_LOG).read_text().splitlines() if ln and not ln.startswith("#")]
    assert logs.splitlines() == real  # the real ztunnel access log kwok serves for this container
    out = kube_cluster.kubectl("exec", "-n", "istio-system", name, "-c", "istio-proxy", "--", "echo", "hello")
    assert out.strip() == "hello"


def test_port_forward_reaches_kwok_through_the_api_server(kube_cluster: TestCluster) -> None:
    pod = _get(kube_cluster, "pods", "-n", "default", "-l", "app=productpage")["items"][0]["metadata"]["name"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]
    pf = subprocess.Popen(["kubectl", "--kubeconfig", str(kube_cluster.kubeconfig), "port-forward", "-n", "default",
                           f"pod/{pod}", f"{local}:9080", "--address=127.0.0.1"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert pf.stdout is not None
        assert "Forwarding from" in pf.stdout.readline()
        with socket.create_connection(("127.0.0.1", local), timeout=10) as conn:
            conn.sendall(b"ping\n")
            assert conn.recv(16) == b"ping\n"  # kwok's forward for this cluster echoes (`cat`)
    finally:
        pf.terminate()
        pf.wait(5)


def test_stopped_api_server_refuses_connections(kube_apiserver_stopped) -> None:  # type: ignore[no-untyped-def]
    import yaml

    server = yaml.safe_load(kube_apiserver_stopped.read_text())["clusters"][0]["cluster"]["server"]
    host, port = server.removeprefix("https://").rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5).close()


def test_exec_outside_the_exec_namespaces_fails_as_on_a_node_without_exec(kube_cluster: TestCluster) -> None:
    kube_cluster.apply("""
apiVersion: v1
kind: Namespace
metadata: {name: cluster-test-noexec}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: cluster-test-noexec}
spec:
  containers: [{name: app, image: example/app:1}]
""")
    kube_cluster.wait_for(lambda: _get(kube_cluster, "pod", "web", "-n", "cluster-test-noexec")["status"].get("phase")
                          == "Running", "pod web Running", timeout=30)
    r = subprocess.run(["kubectl", "--kubeconfig", str(kube_cluster.kubeconfig), "exec", "-n", "cluster-test-noexec",
                        "web", "--", "echo", "hello"], capture_output=True, text=True)
    assert r.returncode != 0 and "hello" not in r.stdout
    assert 'no exec found for container "app" in pod "cluster-test-noexec/web"' in r.stderr  # kwok's answer
    kube_cluster.kubectl("delete", "namespace", "cluster-test-noexec", "--wait=false")
