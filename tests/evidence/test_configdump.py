"""ztunnel config_dump across schema generations (realdata), and drift against a cluster built to match the head
dump with deliberate differences (data/head-dump-cluster.yaml, written by gen_head_cluster.py)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ambientctl.errors import InputError
from ambientctl.evidence.configdump import diff_config_dump, parse_config_dump, parse_config_dump_text
from ambientctl.mesh.view import MeshView
from ambientctl.sources.files import load_snapshot

DUMPS = "istio-istio/ztunnel-configdump"
HERE = Path(__file__).resolve().parent


def _head(realdata):
    return parse_config_dump_text((realdata / DUMPS / "head/dump.json").read_text(), "head")


def test_head_dump(realdata):
    cfg = _head(realdata)
    assert cfg.schema == "current" and len(cfg.workloads) == 27 and len(cfg.services) == 19
    rv = cfg.workload_by_uid("Kubernetes//Pod/bookinfo/reviews-v1-5b5d6494f4-qwjv4")
    assert (rv.ips, rv.node, rv.protocol, rv.waypoint) == (["10.244.1.37"], "ambient-worker", "HBONE", "/10.96.65.117")
    assert [p.key for p in cfg.policies] == ["default/allow-nothing", "default/allow-waypoint"]
    wp = cfg.service_by_vip("10.96.65.117")
    assert wp.key == "bookinfo/namespace-istio-waypoint" and wp.ports == {15008: 15008, 15021: 15021}
    assert [c.state.split(":")[0] for c in cfg.certificates] == ["Available", "Initializing", "Unavailable",
                                                                 "Unavailable"]
    assert cfg.certificates[0].chain[0].expiration == "2033-03-22T13:04:57Z"
    pp = next(s for s in cfg.workload_state if s.name == "productpage-v1-796f87b58-97bjk")
    assert pp.state == "Up" and len(pp.inbound) == 2 and pp.outbound[0].protocol == "HBONE"


@pytest.mark.parametrize("name,schema,n_wl,waypoints,policies", [
    ("dump.2023-04-04.890f15ccd4d.json", "2023-04", 9, 0, []),
    ("dump.2023-05-31.c10b72e48b8.json", "2023-05", 9, 1, []),
    ("dump.2023-08-09.e7de64942da.json", "2023-08", 27, 6, None),
    ("dump.2023-11-16.bf30b8f388b.json", "2023-08", 27, 6, None),
    ("dump.2024-03-22.6e34ef5a88c.json", "2023-08", 27, 6, None),
    ("dump.2024-04-15.7d240b63161.json", "current", 27, 6, None),
    ("dump.2025-01-19.7f7fd1c12a2.json", "current", 27, 6, ["default/allow-nothing", "default/allow-waypoint"]),
])
def test_history_dumps(realdata, name, schema, n_wl, waypoints, policies):
    cfg = parse_config_dump(json.loads((realdata / DUMPS / "history" / name).read_text()), name)
    assert cfg.schema == schema and len(cfg.workloads) == n_wl
    assert sum(1 for w in cfg.workloads if w.waypoint) == waypoints
    assert (None if cfg.policies is None else [p.key for p in cfg.policies]) == policies
    assert all(w.ips and w.name and w.namespace for w in cfg.workloads)
    assert len(cfg.certificates) == 4 and all(c.chain for c in cfg.certificates if c.state == "Available")


def test_2023_05_enum_tagged_waypoint(realdata):
    cfg = parse_config_dump(json.loads((realdata / DUMPS / "history/dump.2023-05-31.c10b72e48b8.json").read_text()))
    (w,) = [w for w in cfg.workloads if w.waypoint]
    assert w.waypoint == "/10.0.15.182" and cfg.service_by_vip("10.0.15.182").name == "httpbin-istio-waypoint"


def test_fragment_from_issue_44232(realdata):
    cfg = parse_config_dump_text((realdata / "github-issues/ztunnel-1.18-config-dump-fragment-issue44232.txt")
                                 .read_text(), "issue44232")
    assert cfg.partial and cfg.schema == "fragment"
    head, gw, sleep = cfg.workloads
    assert head.authorization_policies == ["default/productpage-viewer"] and head.node == "cluster1-worker"
    assert (gw.key, gw.protocol, gw.ips) == ("istio-system/istio-ingressgateway-cb4d6fd7-8t4w8", "TCP", ["10.240.1.4"])
    assert (sleep.key, sleep.protocol) == ("default/sleep-7b85956664-vkmrr", "HBONE")
    assert any("fragment" in n for n in cfg.notes)


@pytest.mark.parametrize("text", ["[]", '{"hello": 1}', "not json at all", "", '"str"'])
def test_not_a_config_dump(text):
    with pytest.raises(InputError, match="dumpfile"):
        parse_config_dump_text(text, "dumpfile")


@pytest.fixture
def view():
    return MeshView(load_snapshot(HERE / "data/head-dump-cluster.yaml"))


def test_drift_finds_exactly_the_deliberate_differences(realdata, view):
    assert view.version.label == "1.20"
    drift = diff_config_dump(_head(realdata), view, now=datetime(2026, 8, 1, tzinfo=UTC))
    got = sorted((d.kind, d.subject) for d in drift)
    assert got == sorted([
        ("stale-ip", "Pod default/sleep-7656cf8794-lxcmx"),
        ("stale-node", "Pod default/details-v1-698d88b-krdw7"),
        ("stale-workload", "Pod default/reviews-v1-5b5d6494f4-c7z5w"),
        ("missing-workload", "Pod default/newcomer-5f7d9c-abcde"),
        ("captured-but-tcp", "Pod default/httpbin-7447985f87-t8hv7"),
        ("waypoint-mismatch", "Pod bookinfo/ratings-v1-6484c4d9bb-mdxm5"),
        ("service-vip-mismatch", "Service default/productpage"),
        ("missing-service", "Service default/newcomer"),
        ("missing-policy", "AuthorizationPolicy default/deny-ratings"),
        ("extra-policy", "AuthorizationPolicy default/allow-waypoint"),
        ("certificate-not-available", "identity spiffe://cluster.local/ns/istio-system/sa/ztunnel"),
        ("certificate-not-available", "identity spiffe://cluster.local/ns/istio-system/sa/another-sa"),
        ("certificate-not-available", "identity spiffe://cluster.local/ns/istio-system/sa/istiod"),
    ])
    by = {(d.kind, d.subject): d for d in drift}
    ip = by[("stale-ip", "Pod default/sleep-7656cf8794-lxcmx")]
    assert (ip.expected, ip.observed) == (["10.244.2.99"], ["10.244.2.58"])
    wp = by[("waypoint-mismatch", "Pod bookinfo/ratings-v1-6484c4d9bb-mdxm5")]
    assert wp.expected == "bookinfo/bookinfo-ratings" and "namespace-istio-waypoint" in wp.observed
    assert by[("certificate-not-available", "identity spiffe://cluster.local/ns/istio-system/sa/ztunnel")].severity \
        == "warning"
    # the productpage pod in bookinfo uses the per-account waypoint in both: no finding for it
    assert not any("productpage-v1-675fc69cf-jscn2" in d.subject for d in drift)


def test_certificate_expiry(realdata, view):
    cfg = _head(realdata)
    soon = diff_config_dump(cfg, view, now=datetime(2033, 3, 22, 12, 0, tzinfo=UTC))
    assert [d.kind for d in soon if d.kind.startswith("certificate-exp")] == ["certificate-expiring"]
    late = diff_config_dump(cfg, view, now=datetime(2034, 1, 1, tzinfo=UTC))
    assert [d.kind for d in late if d.kind.startswith("certificate-exp")] == ["certificate-expired"]


def test_old_dump_without_policies_skips_policy_comparison(realdata, view):
    cfg = parse_config_dump(json.loads((realdata / DUMPS / "history/dump.2024-04-15.7d240b63161.json").read_text()))
    drift = diff_config_dump(cfg, view, now=datetime(2026, 8, 1, tzinfo=UTC))
    assert not any(d.kind.endswith("-policy") for d in drift)
    assert any("no policies section" in n for n in cfg.notes)


def test_generated_cluster_file_is_current(realdata, tmp_path, monkeypatch):
    """The committed YAML is exactly what gen_head_cluster.py writes from the real dump."""
    import runpy
    import shutil

    gen = tmp_path / "gen.py"
    shutil.copy(HERE / "gen_head_cluster.py", gen)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("AMBIENTCTL_REALDATA", str(realdata))
    runpy.run_path(str(gen))
    assert (tmp_path / "data/head-dump-cluster.yaml").read_text() == (HERE / "data/head-dump-cluster.yaml").read_text()
