"""The bundled demo clusters are internally consistent, look like the running clusters they claim to be, and
are derived from the real upstream manifests (not invented): every check here is about the data, read through
the same loader `--demo` uses."""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path

import pytest
import yaml

from ambientctl.mesh.version import IstioVersion
from ambientctl.model import objects as o
from ambientctl.sources.demo import DEMOS, load_demo

DATA = Path(str(resources.files("ambientctl.demo") / "data"))

# Images each demo's Istio install must carry (istiod, ztunnel, istio-cni), and the era they mean.
IMAGES = {
    "bookinfo": ({"docker.io/istio/pilot:1.28.0", "docker.io/istio/ztunnel:1.28.0",
                  "docker.io/istio/install-cni:1.28.0"}, "1.28"),
    "bookinfo-l4": ({"docker.io/istio/pilot:1.28.0", "docker.io/istio/ztunnel:1.28.0",
                     "docker.io/istio/install-cni:1.28.0"}, "1.28"),
    "seed-2022": ({"gcr.io/istio-testing/pilot:0.0.0-ambient.191fe680b52c1754ee72a06b3e0d3f9d116f2e82",
                   "gcr.io/istio-testing/proxyv2:0.0.0-ambient.191fe680b52c1754ee72a06b3e0d3f9d116f2e82",
                   "gcr.io/istio-testing/install-cni:0.0.0-ambient.191fe680b52c1754ee72a06b3e0d3f9d116f2e82"},
                  "experimental-2022"),
    "hairpin-1.20": ({"docker.io/istio/pilot:1.20.3", "docker.io/istio/ztunnel:1.20.3",
                      "docker.io/istio/install-cni:1.20.3"}, "1.20"),
    "ambient-1.31": ({"docker.io/istio/pilot:1.31.1", "docker.io/istio/ztunnel:1.31.1",
                      "docker.io/istio/install-cni:1.31.1"}, "1.31"),
}

# Pods deliberately not Ready: ambient-1.31's tcp-echo, whose readiness probe a NetworkPolicy drops (80-networkpolicy.yaml).
NOT_READY: dict[str, set[str]] = {"ambient-1.31": {"echo/tcp-echo-c8cb65fd67-cd5pc"}}
# Services whose selector deliberately matches no pod, per demo (none today: every Service has endpoints).
UNMATCHED_SELECTORS: dict[str, set[str]] = {name: set() for name in DEMOS}

# Gateway classes referenced without a GatewayClass object: the 2022 experimental controller matched the
# string `istio-mesh` and never created a class (istio/istio@191fe680 pilot/pkg/ambient/controller/
# waypoint_controller.go; its gatewayclass.go only creates `istio`).
CLASSLESS = {"seed-2022": {"istio-mesh"}}

WAYPOINT_CLASSES = {"istio-waypoint", "istio-mesh"}
ISTIO_COMPONENTS = ("/pilot:", "/proxyv2:", "/ztunnel:", "/install-cni:")


@pytest.fixture(scope="module", params=sorted(DEMOS))
def demo(request):
    return request.param, load_demo(request.param)


def test_every_demo_has_a_directory_and_every_directory_is_a_demo():
    dirs = {p.name for p in DATA.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert dirs == set(DEMOS)


def test_demo_loads(demo):
    name, cluster = demo
    assert cluster.source == f"demo {name}"
    assert cluster.pods and cluster.services and cluster.nodes
    assert not cluster.unknown or all(u.meta.kind in ("ReplicaSet",) for u in cluster.unknown)


def test_files_say_what_they_are_derived_from(demo):
    name, _ = demo
    for f in sorted((DATA / name).glob("*.yaml")):
        head = f.read_text().splitlines()[0]
        assert head.startswith(f"# Demo cluster `{name}`"), f"{f.name}: no header comment"
    readme = (DATA / name / "README.md").read_text()
    assert "001_e807b8d8164aa239.txt" in readme  # the seed, named by its file name (no machine path)
    assert "research/istio.md" in readme or "§" in readme


def test_readme_lists_every_application_pod(demo):
    name, cluster = demo
    readme = (DATA / name / "README.md").read_text()
    for p in cluster.pods_in("default"):
        assert p.meta.name in readme, f"{name}/README.md does not mention pod {p.meta.name}"


def test_pods_are_scheduled_running_and_have_identity(demo):
    name, cluster = demo
    sas = {(s.meta.namespace, s.meta.name) for s in cluster.service_accounts}
    for p in cluster.pods:
        assert p.node_name in cluster.nodes, f"{p.meta.key}: node {p.node_name!r} does not exist"
        assert p.ip, f"{p.meta.key}: no pod IP"
        assert p.phase == "Running", f"{p.meta.key}: not Running"
        assert p.ready != (p.meta.key in NOT_READY.get(name, set())), f"{p.meta.key}: readiness"
        assert (p.meta.namespace, p.service_account) in sas, f"{p.meta.key}: no ServiceAccount {p.service_account}"
        assert p.owner_kind in ("ReplicaSet", "DaemonSet"), p.meta.key


def test_pod_ips_are_eks_style_and_unique(demo):
    _, cluster = demo
    seen: dict[str, str] = {}
    for p in cluster.pods:
        node = cluster.nodes[p.node_name]
        if p.host_network:
            assert p.ip == node.internal_ip, f"{p.meta.key}: hostNetwork pod IP must be the node IP"
            continue
        assert p.ip not in seen, f"{p.meta.key} and {seen.get(p.ip)} share IP {p.ip}"
        seen[p.ip] = p.meta.key
        # VPC CNI: a pod's IP comes from its node's subnet (eksctl default: /19s of 192.168.0.0/16)
        subnet = ipaddress.ip_network(f"{node.internal_ip}/19", strict=False)
        assert ipaddress.ip_address(p.ip) in subnet, f"{p.meta.key}: {p.ip} not in node subnet {subnet}"
    assert not set(seen) & {n.internal_ip for n in cluster.nodes.values()}


def test_service_ips_are_unique_and_in_the_service_cidr(demo):
    _, cluster = demo
    ips = [ip for s in cluster.services for ip in s.cluster_ips]
    assert len(ips) == len(set(ips))
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.100.0.0/16") for ip in ips)


def test_every_service_selector_selects_a_pod(demo):
    name, cluster = demo
    for s in cluster.services:
        if not s.selector:
            continue
        pods = [p for p in cluster.pods_in(s.meta.namespace)
                if all(p.meta.labels.get(k) == v for k, v in s.selector.items())]
        if s.meta.key in UNMATCHED_SELECTORS[name]:
            assert not pods
        else:
            assert pods, f"Service {s.meta.key}: selector {s.selector} matches no pod"
            for p in pods:  # every targetPort number is a port the pod's containers declare
                declared = {port for c in p.containers for port in c.ports}
                # Not every real manifest declares its ports: the sleep sample declares none, and istiod's
                # rendered waypoint Deployment omits 15008 (realdata waypoint/generated-deployment).
                managed = "gateway.istio.io/managed" in s.meta.labels
                for sp in s.ports:
                    if isinstance(sp.target_port, int) and declared and not managed:
                        assert sp.target_port in declared, f"{s.meta.key}:{sp.port} -> {p.meta.key}"


def test_pods_belong_to_their_controllers(demo):
    _, cluster = demo
    ctrls = {(c.meta.namespace, c.meta.kind, c.meta.name): c for c in cluster.controllers}
    for p in cluster.pods:
        if p.owner_kind == "ReplicaSet":
            h = p.meta.labels["pod-template-hash"]
            assert p.owner_name.endswith("-" + h) and p.meta.name.startswith(p.owner_name + "-")
            dep = ctrls[(p.meta.namespace, "Deployment", p.owner_name[: -len(h) - 1])]
        else:
            dep = ctrls[(p.meta.namespace, "DaemonSet", p.owner_name)]
        assert dep.selector.items() <= p.meta.labels.items(), p.meta.key
        injected = ["istio-proxy"] if "sidecar.istio.io/status" in p.meta.annotations else []
        assert [c.image for c in p.containers if c.name not in injected] == [c.image for c in dep.containers]
        assert [c.name for c in p.containers] == [c.name for c in dep.containers] + injected, p.meta.key


def _ztunnel_nodes(cluster) -> set[str]:
    return {p.node_name for p in cluster.pods if p.meta.labels.get("app") == "ztunnel" and p.ready}


def _captured(p: o.Pod) -> bool:
    """What istio-cni / the 2022 auto-labeler wrote on pods it redirects to ztunnel."""
    return (p.meta.annotations.get("ambient.istio.io/redirection") == "enabled"
            or p.meta.labels.get("ambient-type") == "workload")


def test_every_captured_pod_has_a_ztunnel_on_its_node(demo):
    _, cluster = demo
    zt = _ztunnel_nodes(cluster)
    assert zt == set(cluster.nodes), "ztunnel runs on every node"
    captured = [p for p in cluster.pods if _captured(p)]
    assert captured
    for p in captured:
        assert p.node_name in zt, p.meta.key


def test_capture_markers_match_namespace_enrolment(demo):
    """Every ordinary pod in an ambient namespace is marked captured; nothing outside one is."""
    _, cluster = demo
    for p in cluster.pods:
        ns_ambient = cluster.namespace_labels(p.meta.namespace).get("istio.io/dataplane-mode") == "ambient"
        exempt = (p.host_network or any(c.name == "istio-proxy" for c in p.containers)
                  or p.meta.labels.get("istio.io/dataplane-mode") == "none")
        if _captured(p):
            assert ns_ambient and not exempt, p.meta.key
        elif ns_ambient:
            assert exempt, f"{p.meta.key}: in an ambient namespace but not marked captured"


def test_gateways_use_existing_classes(demo):
    name, cluster = demo
    for gw in cluster.gateways:
        if gw.class_name in CLASSLESS.get(name, set()):
            assert gw.class_name not in cluster.gateway_classes
        else:
            assert gw.class_name in cluster.gateway_classes, f"Gateway {gw.meta.key}: class {gw.class_name}"


def test_waypoint_gateways_have_ready_pods(demo):
    _, cluster = demo
    waypoints = [g for g in cluster.gateways if g.class_name in WAYPOINT_CLASSES]
    for gw in waypoints:
        pods = [p for p in cluster.pods_in(gw.meta.namespace)
                if gw.meta.name in (p.meta.labels.get("gateway.networking.k8s.io/gateway-name"),
                                    p.meta.labels.get("istio.io/gateway-name"))]
        assert pods and all(p.ready for p in pods), f"waypoint {gw.meta.key} has no ready pod"
        ready = gw.condition("Programmed") or gw.condition("Ready")
        assert ready is not None and ready.status == "True"
        if gw.class_name == "istio-waypoint":  # ready = has an address (research/istio.md §5.2 step 5)
            svc = [s for s in cluster.services_in(gw.meta.namespace) if s.selector
                   and all(pods[0].meta.labels.get(k) == v for k, v in s.selector.items())]
            assert gw.addresses == svc[0].cluster_ips
            assert gw.listeners[0].port == 15008 and gw.listeners[0].protocol == "HBONE"


def test_images_carry_the_version_of_the_era(demo):
    name, cluster = demo
    want, era = IMAGES[name]
    images = {c.image for ctrl in cluster.controllers if ctrl.meta.namespace == "istio-system"
              for c in ctrl.containers}
    assert want <= images, f"missing {want - images}"
    istio_images = {c.image for p in cluster.pods for c in p.containers + p.init_containers
                    if any(part in c.image for part in ISTIO_COMPONENTS)}
    tags = {i.rsplit(":", 1)[1] for i in istio_images}
    assert len(tags) == 1, f"mixed Istio versions: {sorted(istio_images)}"
    assert all(IstioVersion.from_image(i).label == era for i in istio_images)


# -- derived from the real manifests -------------------------------------------------------------------

REAL_BOOKINFO = {"bookinfo": "head", "bookinfo-l4": "head", "seed-2022": "istio-1.18.0",
                 "hairpin-1.20": "istio-1.18.0", "ambient-1.31": "head"}


def _real(realdata: Path, rel: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((realdata / "istio-istio/samples" / rel).read_text()) if d]


def _raw_docs(name: str) -> list[dict]:
    return [d for f in sorted((DATA / name).glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_bookinfo_is_the_real_manifest(realdata, name):
    real = _real(realdata, f"{REAL_BOOKINFO[name]}/bookinfo/platform/kube/bookinfo.yaml")
    ours = {(d["kind"], d["metadata"]["name"]): d for d in _raw_docs(name)
            if d["metadata"].get("namespace") == "default"}
    for r in real:
        kind, rname = r["kind"], r["metadata"]["name"]
        d = ours[(kind, rname)]
        assert r["metadata"].get("labels", {}).items() <= d["metadata"].get("labels", {}).items()
        if kind == "Service":
            assert [(p["port"], p["name"]) for p in r["spec"]["ports"]] == [
                (p["port"], p["name"]) for p in d["spec"]["ports"]]
            assert d["spec"]["selector"] == r["spec"]["selector"]
        if kind == "Deployment":
            assert d["spec"]["selector"] == r["spec"]["selector"]
            rt, dt = r["spec"]["template"], d["spec"]["template"]
            assert rt["metadata"]["labels"].items() <= dt["metadata"]["labels"].items()
            assert dt["spec"]["serviceAccountName"] == rt["spec"]["serviceAccountName"]
            for rc, dc in zip(rt["spec"]["containers"], dt["spec"]["containers"], strict=True):
                for key in ("name", "image", "ports", "env", "volumeMounts"):
                    if key == "ports":
                        assert [p["containerPort"] for p in rc[key]] == [p["containerPort"] for p in dc[key]]
                    else:
                        assert rc.get(key) == dc.get(key), f"{rname} container {key}"


def test_productpage_pod_is_the_real_template(realdata):
    real = _real(realdata, "head/bookinfo/platform/kube/bookinfo.yaml")
    dep = next(d for d in real if d["kind"] == "Deployment" and d["metadata"]["name"] == "productpage-v1")
    svc = next(d for d in real if d["kind"] == "Service" and d["metadata"]["name"] == "productpage")
    cluster = load_demo("bookinfo")
    pod = next(p for p in cluster.pods_in("default") if p.meta.labels.get("app") == "productpage")
    rc = dep["spec"]["template"]["spec"]["containers"][0]
    assert pod.containers[0].image == rc["image"]
    assert pod.containers[0].ports == [p["containerPort"] for p in rc["ports"]]
    service = cluster.service("default", "productpage")
    assert [(p.port, p.name) for p in service.ports] == [(p["port"], p["name"]) for p in svc["spec"]["ports"]]
    assert pod.service_account == dep["spec"]["template"]["spec"]["serviceAccountName"]


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_sleep_clients_are_the_real_manifests(realdata, name):
    ours = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in _raw_docs(name)}
    for app in ("sleep", "notsleep"):
        real = _real(realdata, f"istio-1.22.0/sleep/{app}.yaml")
        rdep = next(d for d in real if d["kind"] == "Deployment")
        d = ours[("Deployment", "default", app)]
        assert d["spec"]["template"]["spec"]["containers"] == rdep["spec"]["template"]["spec"]["containers"]
        assert d["spec"]["template"]["spec"].get("affinity") == rdep["spec"]["template"]["spec"].get("affinity")


@pytest.mark.parametrize("name", ["bookinfo", "seed-2022"])
def test_seed_routing_rules_are_the_real_samples(realdata, name):
    ours = {(d["kind"], d["metadata"]["name"]): d for d in _raw_docs(name)}
    vs = _real(realdata, "head/bookinfo/networking/virtual-service-reviews-90-10.yaml")[0]
    dr = _real(realdata, "head/bookinfo/networking/destination-rule-reviews.yaml")[0]
    assert ours[("VirtualService", "reviews")]["spec"] == vs["spec"]
    assert ours[("DestinationRule", "reviews")]["spec"] == dr["spec"]
    delay = ours[("VirtualService", "productpage")]["spec"]["http"][0]["fault"]["delay"]
    assert delay == {"percentage": {"value": 100.0}, "fixedDelay": "5s"}


# -- the seed's real names and addresses ---------------------------------------------------------------

SEED_PODS = {  # 001_e807b8d8164aa239.txt
    "sleep-55697f8897-n2ldz": "192.168.58.148",
    "productpage-v1-5586c4d4ff-z8jbb": "192.168.13.108",
    "reviews-v1-7598cc9867-dh7hp": None,
    "reviews-v2-6bdd859457-7lxhc": None,
}


@pytest.mark.parametrize("name", ["bookinfo", "bookinfo-l4", "seed-2022"])
def test_seed_names_and_addresses(name):
    cluster = load_demo(name)
    pods = {p.meta.name: p for p in cluster.pods}
    for pname, ip in SEED_PODS.items():
        assert pname in pods and (ip is None or pods[pname].ip == ip)
    assert cluster.service("default", "productpage").cluster_ips == ["10.100.171.143"]
    zt = {p.meta.name: p.node_name for p in cluster.pods if p.meta.labels.get("app") == "ztunnel"}
    assert zt["ztunnel-fnjg2"] == pods["sleep-55697f8897-n2ldz"].node_name
    assert zt["ztunnel-k4jhb"] == pods["productpage-v1-5586c4d4ff-z8jbb"].node_name
    for pname in ("istiod-6c99d96db7-4ckbm", "istio-cni-node-gfmqp", "istio-cni-node-t2flv"):
        assert pname in pods
    if name == "seed-2022":
        assert "istio-ingressgateway-f6d95c86b-mfk4t" in pods
        assert any(p.startswith("bookinfo-productpage-waypoint-proxy-") for p in pods)


def test_bookinfo_misconfigurations_are_present():
    """The deliberate mistakes the README promises, in the shape the findings will look for."""
    c = load_demo("bookinfo")
    details = c.service("default", "details")
    assert details.meta.labels["istio.io/use-waypoint"] == "details-waypoint"
    assert c.gateway("default", "details-waypoint") is None
    ratings = next(a for a in c.authorization_policies if a.meta.name == "ratings-viewer")
    assert ratings.selector == {"app": "ratings"} and ratings.rules[0]["to"][0]["operation"]["methods"] == ["GET"]
    assert c.namespace_labels("monitoring").get("istio.io/dataplane-mode") == "ambient"
    assert all(p.host_network for p in c.pods_in("monitoring"))
    httpbin = next(p for p in c.pods_in("default") if p.meta.labels.get("app") == "httpbin")
    assert "sidecar.istio.io/status" in httpbin.meta.annotations
    assert [x.name for x in httpbin.init_containers] == ["istio-init"]
    assert httpbin.meta.labels["security.istio.io/tlsMode"] == "istio"
    assert "istio.io/dataplane-mode" not in c.namespace_labels("legacy") and c.pods_in("legacy")


def test_l4_demo_has_no_l7_objects():
    c = load_demo("bookinfo-l4")
    assert not c.gateways and not c.virtual_services and not c.destination_rules
    assert not any("istio.io/use-waypoint" in s.meta.labels for s in c.services)
    (pol,) = c.authorization_policies
    assert pol.selector == {"app": "productpage"} and not pol.target_refs
    assert pol.rules == [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/sleep"]}}]}]


def test_committed_data_is_what_the_generator_derives(realdata, tmp_path):
    """The YAML is reproducible from realdata by tests/demo/generate_demo_data.py (no hand edits drift in)."""
    import os
    import subprocess
    import sys

    script = Path(__file__).with_name("generate_demo_data.py")
    env = dict(os.environ, AMBIENTCTL_REALDATA=str(realdata))
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, env=env, capture_output=True)
    for name in DEMOS:
        ours = {f.name: f.read_text() for f in (DATA / name).glob("*.yaml")}
        regenerated = {f.name: f.read_text() for f in (tmp_path / name).glob("*.yaml")}
        assert ours == regenerated, f"{name}: committed YAML differs from the generator's output"
