"""The one reference grammar (ambientctl.mesh.refs): NAME, KIND/NAME, NAME.NS, NS/NAME, with "did you mean"
from the cluster's own names and ambiguity reported with the candidates. describe, explain, trace, capture,
bundle and the interactive app all resolve through it."""

from __future__ import annotations

import pytest

from ambientctl.errors import Ambiguous, NotFound, UsageError
from ambientctl.explain.engine import explain
from ambientctl.mesh import MeshView
from ambientctl.mesh.refs import parse_ref, resolve_pod, resolve_service
from ambientctl.sources.demo import load_demo
from tests.helpers import cluster_from_yaml, pod


@pytest.fixture(scope="module")
def demo():
    return load_demo("bookinfo")


@pytest.mark.parametrize("ref,namespace", [
    ("sleep", "legacy"), ("sleep.legacy", None), ("legacy/sleep", None), ("deploy/sleep.legacy", None),
    ("deployment/sleep", "legacy"), ("pod/sleep-bb8f768895-jnq4z.legacy", None), ("legacy/sleep-bb8f768895-jnq4z", None),
])
def test_every_form_names_the_same_pod(demo, ref, namespace):
    assert resolve_pod(demo, ref, namespace).meta.key == "legacy/sleep-bb8f768895-jnq4z"


def test_the_demo_readme_notation_works_in_explain(demo):
    """`explain legacy/sleep productpage:9080` — as the bookinfo README writes it (row 7)."""
    body = explain(MeshView(demo), "legacy/sleep", "productpage:9080")
    assert body["source"]["namespace"] == "legacy" and body["verdict"] == "allow"


@pytest.mark.parametrize("ref", ["productpage", "svc/productpage", "default/productpage", "productpage.default",
                                 "svc/productpage.default", "productpage.default.svc.cluster.local"])
def test_service_forms(demo, ref):
    svc = resolve_service(demo, ref, None)
    assert svc is not None and svc.meta.key == "default/productpage"


def test_workload_kinds_name_no_service(demo):
    assert resolve_service(demo, "deploy/productpage", None) is None


@pytest.mark.parametrize("ref,namespace,hint", [
    ("slep", None, "did you mean 'sleep' or 'notsleep'?"),
    ("legcy/sleep", None, "did you mean 'legacy/sleep'?"),
    ("sleep.legcy", None, "did you mean 'sleep.legacy'?"),
    ("notsleep", "legacy", "it is in namespace default: use default/notsleep, notsleep.default or -n default"),
    ("pod/sleep", None, "did you mean 'sleep-55697f8897-n2ldz'?"),
    ("sleep", "legcy", "namespace 'legcy' does not exist; did you mean 'legacy'?"),
])
def test_not_found_suggests_from_the_clusters_names(demo, ref, namespace, hint):
    with pytest.raises(UsageError) as e:
        resolve_pod(demo, ref, namespace)
    assert e.value.hint == hint and e.value.exit_code == 2


def test_same_name_in_several_namespaces_lists_them():
    c = cluster_from_yaml(pod("web-1", ns="shop", labels={"app": "web"}) +
                          pod("web-2", ns="blog", labels={"app": "web"}, ip="10.0.0.2"))
    with pytest.raises(NotFound) as e:
        resolve_pod(c, "web")
    assert e.value.hint == "it is in namespaces blog, shop: name one as web.NAMESPACE"


def test_a_prefix_that_is_both_a_kind_and_a_namespace_is_ambiguous_when_both_match():
    """With a namespace named `pod`, `pod/web-1` reads both as kind/name and as namespace/name."""
    c = cluster_from_yaml(pod("web-1", ns="default") + pod("web-1", ns="pod", ip="10.0.0.2"))
    with pytest.raises(Ambiguous) as e:
        resolve_pod(c, "pod/web-1")
    assert "default/web-1, pod/web-1" in str(e.value)
    assert resolve_pod(c, "pod/web-1.pod").meta.key == "pod/web-1"  # the namespace suffix settles it


def test_dotted_pod_names_still_resolve():
    """A pod name may contain dots: `a.b` is NAME.NS only when NS is a namespace of the cluster."""
    c = cluster_from_yaml(pod("web.v1", ns="default"))
    assert resolve_pod(c, "web.v1").meta.name == "web.v1"


def test_namespace_flag_must_agree(demo):
    with pytest.raises(UsageError, match="names namespace 'legacy' but --namespace is 'default'"):
        resolve_pod(demo, "legacy/sleep", "default")
    assert resolve_pod(demo, "legacy/sleep", "legacy").meta.namespace == "legacy"


def test_parse_ref_readings(demo):
    assert [(r.kind, r.name, r.namespace) for r in parse_ref(demo, "deploy/sleep.legacy")] == \
        [("deployment", "sleep", "legacy"), ("deployment", "sleep.legacy", None)]
    assert [(r.kind, r.name, r.namespace) for r in parse_ref(demo, "legacy/sleep")] == [("", "sleep", "legacy")]
