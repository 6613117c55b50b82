"""The live source against the real test cluster (tests/cluster/fixture.py): it reads the same objects a snapshot
saved from it gives back, degrades on RBAC denials, fails in one line on bad contexts, tokens and stopped
servers, and sees changes on the next read."""

from __future__ import annotations

import dataclasses
import json
import tarfile
import time

import pytest
import yaml

from ambientctl.cli.main import main
from ambientctl.errors import InputError, UsageError
from ambientctl.sources.files import load_snapshot
from ambientctl.sources.kube import KINDS, load_live, read_live

pytestmark = pytest.mark.live


def facts(cluster) -> dict[str, list]:  # type: ignore[no-untyped-def]
    """Every object of a Cluster as plain data, without where it was read from."""
    out: dict[str, list] = {}
    for f in dataclasses.fields(cluster):
        value = getattr(cluster, f.name)
        objs = list(value.values()) if isinstance(value, dict) else value
        if f.name in ("unreadable", "absent_kinds", "source", "ztunnel_policies", "istio_version_hint", "warnings"):
            continue
        rows = []
        for o in objs or []:
            d = dataclasses.asdict(o)
            d.get("meta", {}).pop("origin", None)
            rows.append(json.dumps(d, sort_keys=True, default=str))
        out[f.name] = sorted(rows)
    return out


def run(argv: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_live_read_sees_the_mesh(kube_cluster) -> None:  # type: ignore[no-untyped-def]
    c = load_live(kubeconfig=str(kube_cluster.kubeconfig))
    assert c.source == f"live context ambientctl-test ({kube_cluster.server})"
    assert set(c.nodes) == set(kube_cluster.nodes)
    assert c.namespaces["default"].meta.labels["istio.io/dataplane-mode"] == "ambient"
    pods = {p.meta.name.rsplit("-", 2)[0] for p in c.pods if p.meta.namespace == "default"}
    assert {"productpage-v1", "details-v1", "reviews-v1", "sleep", "notsleep"} <= pods
    assert any(g.meta.name == "waypoint" for g in c.gateways)
    assert {cm.meta.name for cm in c.config_maps} == {"istio"}  # the mesh config, nothing else
    assert not c.unreadable and not c.absent_kinds


@pytest.mark.parametrize("name", ["snap.tar.gz", "snap.json", "snap.yaml", "snapdir/"])
def test_snapshot_save_reads_back_as_the_live_read(kube_cluster, tmp_path, capsys, name: str) -> None:  # type: ignore[no-untyped-def]
    kc = str(kube_cluster.kubeconfig)
    live = load_live(kubeconfig=kc)
    path = str(tmp_path / name)
    code, _, err = run(["snapshot", "save", "-o", path, "--kubeconfig", kc], capsys)
    assert code == 0, err
    assert err.startswith(f"wrote {path}: ") and "API requests" in err
    saved = load_snapshot(path)
    assert facts(saved) == facts(live)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ambientctl-snapshot-")]  # no temp left


def test_snapshot_never_holds_secrets_or_other_config_maps(kube_cluster, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    kube_cluster.apply("""
apiVersion: v1
kind: Secret
metadata: {name: live-test-secret, namespace: istio-system}
stringData: {password: hunter2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-live-test-other, namespace: istio-system}
data: {token: also-private}
""")
    path = tmp_path / "s.tar.gz"
    code, _, err = run(["snapshot", "save", "-o", str(path), "--kubeconfig", str(kube_cluster.kubeconfig)], capsys)
    assert code == 0, err
    with tarfile.open(path) as t:
        texts = [t.extractfile(m).read().decode() for m in t.getmembers() if m.isfile()]  # type: ignore[union-attr]
    assert not [x for x in texts if "hunter2" in x or "also-private" in x or "kind: Secret" in x]
    docs = [d for x in texts for d in yaml.safe_load_all(x) if d]
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"] == ["istio"]
    assert "mesh" in next(d for d in docs if d["kind"] == "ConfigMap")["data"]


def test_one_list_per_kind_whatever_the_number_of_objects(kube_cluster) -> None:  # type: ignore[no-untyped-def]
    read = read_live(kubeconfig=str(kube_cluster.kubeconfig))
    assert read.requests == 1 + len(KINDS)  # discovery, then one list per kind
    assert set(read.items) == {k.kind for k in KINDS}
    for kind, items in read.items.items():
        assert all(i["kind"] == kind and i["apiVersion"] for i in items)


def test_restricted_token_leaves_authorization_policies_unreadable(kube_cluster) -> None:  # type: ignore[no-untyped-def]
    rules = [{"apiGroups": ["", "apps", "networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io"],
              "resources": ["*"], "verbs": ["get", "list"]},
             {"apiGroups": ["security.istio.io"], "resources": ["peerauthentications"], "verbs": ["get", "list"]}]
    kc = kube_cluster.restricted_kubeconfig("live-no-authz", rules)
    c = load_live(kubeconfig=str(kc))
    assert list(c.unreadable) == ["AuthorizationPolicy"]
    assert c.unreadable["AuthorizationPolicy"].startswith("403 Forbidden: ")
    assert "system:serviceaccount:default:live-no-authz" in c.unreadable["AuthorizationPolicy"]
    assert c.pods and c.gateways  # the rest was read


def test_absent_crds_are_a_fact_not_an_error(kube_cluster) -> None:  # type: ignore[no-untyped-def]
    with kube_cluster.extra_apiserver(own_etcd=True) as (_server, kc, _proc):
        c = load_live(kubeconfig=str(kc))
    assert "Istio CRDs not installed" in c.absent_kinds and "Gateway API CRDs not installed" in c.absent_kinds
    assert {"AuthorizationPolicy", "Gateway"} <= set(c.absent_kinds)
    assert not c.unreadable and "default" in c.namespaces


def test_wrong_context_bad_token_and_stopped_server_are_one_line(kube_cluster, kube_apiserver_stopped, tmp_path,  # type: ignore[no-untyped-def]
                                                                 capsys) -> None:
    kc = str(kube_cluster.kubeconfig)
    with pytest.raises(UsageError, match="no context named 'nope'"):
        load_live(kubeconfig=kc, context="nope")
    code, out, err = run(["snapshot", "save", "-o", str(tmp_path / "x.yaml"), "--kubeconfig", kc, "--context", "nope"],
                         capsys)
    assert (code, out, err.count("\n")) == (2, "", 1)
    bad = kube_cluster.kubeconfig_for("not-a-valid-token")
    with pytest.raises(InputError, match="401 Unauthorized"):
        load_live(kubeconfig=str(bad))
    t = time.monotonic()
    with pytest.raises(InputError, match=r"cannot reach the API server https://127\.0\.0\.1:[0-9]+ .*Connection refused"):
        load_live(kubeconfig=str(kube_apiserver_stopped), request_timeout=3)
    assert time.monotonic() - t < 3
    code, out, err = run(["snapshot", "save", "-o", str(tmp_path / "y.yaml"), "--kubeconfig",
                          str(kube_apiserver_stopped)], capsys)
    assert (code, out, err.count("\n")) == (1, "", 1) and "cannot reach the API server" in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_unanswering_server_fails_within_the_timeout(kube_cluster) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as ls:  # accepts TCP but never speaks TLS
        ls.bind(("127.0.0.1", 0))
        ls.listen(8)
        kc = kube_cluster.kubeconfig_for(kube_cluster.admin_token, server=f"https://127.0.0.1:{ls.getsockname()[1]}")
        t = time.monotonic()
        with pytest.raises(InputError, match=r"no (complete )?answer within 1\.5s"):
            load_live(kubeconfig=str(kc), request_timeout=1.5)
        assert time.monotonic() - t < 4


def test_namespace_labelled_after_a_read_shows_up_on_the_next(kube_cluster) -> None:  # type: ignore[no-untyped-def]
    kc = str(kube_cluster.kubeconfig)
    kube_cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: live-relabel}\n")
    first = load_live(kubeconfig=kc)
    assert "istio.io/dataplane-mode" not in first.namespaces["live-relabel"].meta.labels
    kube_cluster.kubectl("label", "namespace", "live-relabel", "istio.io/dataplane-mode=ambient")
    deadline = time.monotonic() + 5  # resourceVersion=0 reads the watch cache: it follows etcd within ms
    while True:
        labels = load_live(kubeconfig=kc).namespaces["live-relabel"].meta.labels
        if labels.get("istio.io/dataplane-mode") == "ambient" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert labels.get("istio.io/dataplane-mode") == "ambient"


def test_kubeconfig_list_in_env_and_context_flag(kube_cluster, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """$KUBECONFIG with several files merges them like kubectl; --context picks one; nothing is written back."""
    other = kube_cluster.kubeconfig_for("whatever", context="elsewhere", server="https://127.0.0.1:1")
    before = (other.read_text(), kube_cluster.kubeconfig.read_text())
    monkeypatch.setenv("KUBECONFIG", f"{other}:{kube_cluster.kubeconfig}")
    c = load_live(context="ambientctl-test")
    assert c.source.startswith("live context ambientctl-test (")
    with pytest.raises(InputError, match="context elsewhere"):
        load_live(request_timeout=2)  # the first file's current-context wins, as with kubectl
    assert (other.read_text(), kube_cluster.kubeconfig.read_text()) == before
