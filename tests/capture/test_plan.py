"""The capture planner per Istio era on the bundled demo clusters: which pod netns, interface and BPF filter, and
that each point says why. Filters are compiled by the real tcpdump (`-d`) so a planned filter never fails in a pod."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ambientctl.capture.plan import plan_capture
from ambientctl.cli.main import main
from ambientctl.errors import NotFound, UsageError
from ambientctl.mesh import MeshView
from ambientctl.sources.demo import load_demo


def _view(demo: str) -> MeshView:
    return MeshView(load_demo(demo))


def _points(plan) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(p.role, p.pod.meta.name.split("-")[0], p.interface) for p in plan.points]


def test_in_pod_pair_captures_both_pods_eth0_and_lo_and_the_waypoint() -> None:
    plan = plan_capture(_view("bookinfo"), ["sleep", "productpage:9080"])
    assert plan.redirection == "in-pod" and plan.path == "via-waypoint"
    assert _points(plan) == [("client", "sleep", "eth0"), ("client", "sleep", "lo"), ("waypoint", "waypoint", "eth0"),
                             ("server", "productpage", "eth0"), ("server", "productpage", "lo")]
    by = {(p.role, p.interface): p for p in plan.points}
    wp_ip = by[("waypoint", "eth0")].pod.ip
    assert by[("client", "eth0")].filter == f"tcp port 15008 and host {wp_ip}"  # HBONE to the waypoint
    assert by[("client", "lo")].filter == "tcp port 15001"  # app -> ztunnel outbound capture
    assert by[("server", "lo")].filter == "tcp port 9080"
    assert all(p.why for p in plan.points)
    assert "in-pod redirection" in by[("client", "eth0")].why and "15008" in by[("client", "eth0")].why
    assert not any(p.pod.meta.name.startswith("ztunnel") for p in plan.points)  # ztunnel works in the pods' netns


def test_in_pod_single_pod_filters_kubelet_probes_and_loopback_chatter() -> None:
    plan = plan_capture(_view("bookinfo"), ["productpage"])
    eth0, lo = plan.points
    assert (eth0.interface, lo.interface) == ("eth0", "lo")
    assert "not host 169.254.7.127" in eth0.filter
    assert "not (src net 127.0.0.0/8 and dst net 127.0.0.0/8)" in lo.filter
    assert eth0.container == "productpage"


def test_in_pod_ztunnel_target_says_workload_traffic_is_elsewhere() -> None:
    view = _view("bookinfo")
    node = "ip-192-168-40-12.ec2.internal"
    for ref in (f"ztunnel/{node}", f"node/{node}"):
        plan = plan_capture(view, [ref])
        assert [p.pod.meta.name for p in plan.points] == [view.install.ztunnels[node].meta.name]
        assert plan.points[0].sees == ["control"] and "15012" in plan.points[0].why
        assert any("capture the pods on node" in n for n in plan.notes)


@pytest.mark.parametrize("demo", ["hairpin-1.20", "seed-2022"])
def test_node_level_pair_captures_plaintext_on_apps_and_hbone_on_ztunnels(demo: str) -> None:
    view = _view(demo)
    plan = plan_capture(view, ["sleep", "productpage:9080"])
    assert plan.redirection == "node-level"
    roles = [p.role for p in plan.points]
    assert roles == ["client", "src-ztunnel", "waypoint", "dst-ztunnel", "server"]
    by = {p.role: p for p in plan.points}
    assert all(p.interface == "eth0" for p in plan.points)
    assert by["client"].sees == ["plaintext"] and by["server"].sees == ["plaintext"]
    sleep, productpage = by["client"].pod, by["server"].pod
    assert by["src-ztunnel"].pod is view.ztunnel_for(sleep) and by["dst-ztunnel"].pod is view.ztunnel_for(productpage)
    # seed 001: ztunnel captures are filtered by pod IP because istio-cni probes ztunnel; also inside geneve
    assert f"host {sleep.ip}" in by["src-ztunnel"].filter and "geneve and" in by["src-ztunnel"].filter
    assert by["dst-ztunnel"].filter.startswith(f"host {productpage.ip} or (geneve")
    assert "seed 001" in by["dst-ztunnel"].why


def test_node_level_single_pod_adds_its_ztunnel() -> None:
    view = _view("hairpin-1.20")
    plan = plan_capture(view, ["productpage"])
    pod, zt = plan.points
    assert (pod.role, zt.role) == ("pod", "ztunnel") and zt.pod is view.ztunnel_for(pod.pod)
    assert f"host {pod.pod.ip}" in zt.filter
    node_ip = view.cluster.nodes[pod.pod.node_name].internal_ip
    assert pod.filter == f"tcp and not host {node_ip}"  # kubelet probes from the node


def test_legacy_hairpin_plan_follows_the_hairpin() -> None:
    view = _view("hairpin-1.20")
    plan = plan_capture(view, ["sleep.legacy", "productpage:9080"])
    assert plan.path == "hairpin-via-waypoint"
    by = {p.role: p for p in plan.points}
    assert set(by) == {"client", "dst-ztunnel", "waypoint", "server"}
    wp = by["waypoint"].pod
    assert f"host {wp.ip}" in by["dst-ztunnel"].filter and f"host {by['client'].pod.ip}" in by["dst-ztunnel"].filter
    assert "not captured by ztunnel" in by["client"].why


def test_same_node_fast_path_one_ztunnel_sees_both_sides() -> None:
    view = _view("seed-2022")
    plan = plan_capture(view, ["notsleep", "details:9080"])
    zts = [p for p in plan.points if "ztunnel" in p.role]
    assert len(zts) == 1
    client = next(p for p in plan.points if p.role == "client").pod
    assert f"host {client.ip}" in zts[0].filter


def test_interface_override_merges_points_per_pod() -> None:
    plan = plan_capture(_view("bookinfo"), ["sleep", "productpage:9080"])
    plan.override("any", "tcp")
    assert [(p.pod.meta.name.split("-")[0], p.interface, p.filter) for p in plan.points] == [
        ("sleep", "any", "tcp"), ("waypoint", "any", "tcp"), ("productpage", "any", "tcp")]


@pytest.mark.parametrize("demo,targets", [
    ("bookinfo", ["sleep", "productpage:9080"]), ("bookinfo", ["productpage"]),
    ("bookinfo", ["ztunnel/ip-192-168-40-12.ec2.internal"]), ("hairpin-1.20", ["sleep.legacy", "productpage:9080"]),
    ("seed-2022", ["sleep", "productpage:9080"]), ("seed-2022", ["productpage"]),
])
def test_every_planned_filter_compiles_in_tcpdump(demo: str, targets: list[str]) -> None:
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump not found (Debian package tcpdump; run scripts/install-system-deps)")
    for p in plan_capture(_view(demo), targets).points:
        r = subprocess.run(["tcpdump", "-y", "EN10MB", "-d", "-i", "lo", p.filter], capture_output=True, text=True)
        if r.returncode and "permission" in r.stderr.lower():
            pytest.skip("tcpdump -d needs capture rights here")
        assert r.returncode == 0, (p.filter, r.stderr)


def test_unknown_references_are_usage_errors() -> None:
    view = _view("bookinfo")
    with pytest.raises(NotFound, match="no pod, deployment or app named 'nosuch'"):
        plan_capture(view, ["nosuch"])
    with pytest.raises(NotFound, match=r"no ztunnel on node 'n9'.*nodes with a ztunnel"):
        plan_capture(view, ["ztunnel/n9"])
    with pytest.raises(UsageError):
        plan_capture(view, ["a", "b", "c"])


def test_cli_plan_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["capture", "sleep", "productpage:9080", "--plan", "--demo", "seed-2022", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "CapturePlan" and doc["istioVersion"] == "experimental-2022"
    assert [p["role"] for p in doc["points"]] == ["client", "src-ztunnel", "waypoint", "dst-ztunnel", "server"]
    assert all(p["why"] and p["filter"] for p in doc["points"])
    assert main(["capture", "productpage", "--plan", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "in-pod redirection" in out and "interface lo" in out


@pytest.mark.parametrize("argv,msg", [
    (["capture", "nosuch", "--plan", "--demo"], "no pod, deployment or app named 'nosuch'"),
    (["capture", "sleep", "--demo"], "add --plan"),
    (["capture", "sleep", "--plan", "--demo", "--duration", "0"], "argument --duration: '0'"),
    (["capture", "a", "b", "c", "--plan", "--demo"], "one TARGET"),
])
def test_cli_bad_input_is_one_line(argv: list[str], msg: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
