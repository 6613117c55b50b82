"""The same object twice (issue #13: two files in a snapshot directory with the same kind/namespace/name were
both applied and could flip a verdict silently): a warning naming both sources, and the later one wins, as
`kubectl apply -f DIR` (files in name order, each applied over the last) would leave the cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ambientctl.cli.main import main
from ambientctl.model import Cluster, parse_object

DEMO = Path(__file__).resolve().parents[2] / "ambientctl" / "demo" / "data" / "bookinfo"

DENY_ALL = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
            "metadata": {"name": "productpage-viewer", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "productpage"}}}}  # no rules: ALLOW nothing = deny all


def test_later_file_wins_with_a_warning_naming_both(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "snap"
    shutil.copytree(DEMO, d)
    (d / "99-override.yaml").write_text(yaml.safe_dump(DENY_ALL))
    code = main(["explain", "sleep", "productpage:9080", "--snapshot", str(d), "-o", "json"])
    out, err = capsys.readouterr()
    assert code == 3 and '"verdict": "deny"' in out  # the override, not the demo's allow policy
    warnings = [ln for ln in err.splitlines() if "given twice" in ln]
    assert len(warnings) == 1, err
    assert "AuthorizationPolicy default/productpage-viewer" in warnings[0]
    assert "50-policies.yaml" in warnings[0] and "99-override.yaml" in warnings[0]
    assert warnings[0].startswith("ambientctl: warning: ") and "the later one is used" in warnings[0]
    (d / "99-override.yaml").unlink()
    (d / "00-first.yaml").write_text(yaml.safe_dump(DENY_ALL))  # now the demo's own file comes later: allow
    assert main(["explain", "sleep", "productpage:9080", "--snapshot", str(d), "-o", "json"]) == 0
    assert "00-first.yaml" in capsys.readouterr().err


def test_same_name_in_another_group_or_namespace_is_not_a_duplicate() -> None:
    c = Cluster()
    gw_api = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
              "metadata": {"name": "gw", "namespace": "a"}, "spec": {"gatewayClassName": "istio", "listeners": []}}
    istio_gw = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "a"}}
    other_ns = dict(gw_api, metadata={"name": "gw", "namespace": "b"})
    v1beta1 = dict(gw_api, apiVersion="gateway.networking.k8s.io/v1beta1")  # same object, another version
    for i, doc in enumerate((gw_api, istio_gw, other_ns, v1beta1)):
        c.add(parse_object(doc, f"f{i}.yaml"))
    assert len(c.warnings) == 1 and "f0.yaml" in c.warnings[0] and "f3.yaml" in c.warnings[0]
    assert sorted((g.meta.namespace, g.meta.api_version) for g in c.gateways) == [
        ("a", "gateway.networking.k8s.io/v1beta1"), ("b", "gateway.networking.k8s.io/v1")]


POD = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c", "image": "i"}]},
       "status": {"phase": "Running", "podIP": "10.0.0.1"}}


@settings(max_examples=50, deadline=None)
@given(names=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["p", "q", "r"]),
                                st.integers(1, 250)), max_size=12))
def test_the_last_of_each_identity_wins(names) -> None:  # type: ignore[no-untyped-def]
    """Generated sequences of pods, repeats included: one object per identity, the last given, and one
    warning per repeat."""
    c = Cluster()
    for i, (ns, name, ip) in enumerate(names):
        c.add(parse_object(dict(POD, metadata={"name": name, "namespace": ns},
                                status={"phase": "Running", "podIP": f"10.0.0.{ip}"}), f"file{i}"))
    last = {(ns, name): f"10.0.0.{ip}" for ns, name, ip in names}
    assert {(p.meta.namespace, p.meta.name): p.ip for p in c.pods} == last
    assert len(c.pods) == len(last) and len(c.warnings) == len(names) - len(last)
    assert [p.meta.key for p in c.pods_in("a")] == [p.meta.key for p in c.pods if p.meta.namespace == "a"]


@pytest.mark.parametrize("demo", ["bookinfo", "bookinfo-l4", "seed-2022", "hairpin-1.20", "ambient-1.31"])
def test_demos_have_no_duplicates(demo: str) -> None:
    from ambientctl.sources.demo import load_demo

    assert load_demo(demo).warnings == []
