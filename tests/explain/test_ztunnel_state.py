"""`--snapshot` with ztunnel's own state (issue 3 item 5): a `/config_dump` (istioctl's fixture, every schema
generation) or a ztunnel local config. Policies are evaluated in the form ztunnel holds them, never re-translated."""

from pathlib import Path

import pytest

from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from ambientctl.sources.files import load_snapshot


def test_head_dump_allow_nothing_denies_and_unreferenced_selector_policy_is_ignored(realdata):
    """default/allow-nothing (Namespace scope, no rules) denies everything in `default`; default/allow-waypoint is
    WorkloadSelector-scoped but no workload references it, so it admits nothing (ztunnel src/state.rs)."""
    v = MeshView(load_snapshot(realdata / "istio-istio/ztunnel-configdump/head/dump.json"), istio_version="1.24")
    e = explain(v, "pod/sleep-7656cf8794-lxcmx", "productpage.default:9080")
    assert (e["verdict"], e["enforcedBy"], e["decidedBy"]) == ("deny", "dst-ztunnel",
                                                               {"defaultDeny": ["default/allow-nothing"]})
    assert e["ztunnelLog"] == "connection closed due to policy rejection: allow policies exist, but none allowed"


def test_head_dump_waypoint_reference_becomes_the_binding(realdata):
    v = MeshView(load_snapshot(realdata / "istio-istio/ztunnel-configdump/head/dump.json"), istio_version="1.24")
    pod = next(p for p in v.cluster.pods if p.meta.name == "productpage-v1-675fc69cf-jscn2")
    wp = v.workload_waypoint(pod).waypoint
    assert wp is not None and wp.key == "bookinfo/bookinfo-productpage-istio-waypoint"
    assert wp.gateway.addresses == ["10.96.71.36"]  # the VIP the dump's waypoint.destination names
    e = explain(v, "pod/sleep-7656cf8794-lxcmx", "10.244.2.53:9080")
    assert e["path"] == "via-waypoint"


@pytest.mark.parametrize("port,verdict", [(8080, "allow"), (9999, "deny")])
def test_local_config_deny_9999(realdata, port, verdict):
    """ztunnel examples/localhost.yaml: ALLOW notDestinationPorts [9999] in namespace default."""
    v = MeshView(load_snapshot(realdata / "istio-ztunnel/local-config/localhost.head.yaml"))
    e = explain(v, "pod/local-tcp", f"127.0.0.1:{port}")
    assert e["verdict"] == verdict and e["enforcedBy"] == "dst-ztunnel"


def test_every_dump_generation_loads(realdata):
    for f in sorted((realdata / "istio-istio/ztunnel-configdump/history").glob("*.json")):
        c = load_snapshot(f)
        assert c.pods, f.name


def test_dump_mixed_with_manifests_is_refused(realdata, tmp_path: Path):
    from ambientctl.errors import InputError

    (tmp_path / "a.json").write_text((realdata / "istio-istio/ztunnel-configdump/head/dump.json").read_text())
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    with pytest.raises(InputError, match="must be the only file of a snapshot"):
        load_snapshot(tmp_path)


def test_unresolvable_waypoint_reference_fails_closed(realdata, tmp_path):
    """ztunnel outbound.rs: a workload whose waypoint cannot be found fails with `unknown waypoint` rather than
    bypassing it (research/istio.md §5.2, fail closed)."""
    import json

    dump = json.loads((realdata / "istio-istio/ztunnel-configdump/head/dump.json").read_text())
    for w in dump["workloads"].values():
        if w["name"] == "productpage-v1-675fc69cf-kkrm2":
            w["waypoint"] = {"destination": "/10.96.254.254", "port": 15008}
    p = tmp_path / "dump.json"
    p.write_text(json.dumps(dump))
    v = MeshView(load_snapshot(p), istio_version="1.24")
    e = explain(v, "pod/sleep-7656cf8794-lxcmx", "10.244.2.56:9080")
    assert e["verdict"] == "deny" and e["enforcedBy"] == "src-ztunnel"
    assert e["decidedBy"] == {"failure": "unknown waypoint: waypoint /10.96.254.254 not found"}
