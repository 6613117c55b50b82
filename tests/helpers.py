"""Small builders for tests: manifests from inline YAML into a Cluster, the way the snapshot source does it."""

from __future__ import annotations

import textwrap

from ambientctl.model import Cluster
from ambientctl.sources.files import decode_documents


def cluster_from_yaml(text: str) -> Cluster:
    cluster = Cluster(source="test")
    for origin, doc in decode_documents(textwrap.dedent(text).encode(), "inline.yaml"):
        if doc is not None:
            from ambientctl.model import parse_object

            cluster.add(parse_object(doc, origin))
    return cluster


def pod(name: str, ns: str = "default", *, labels: dict | None = None, sa: str = "default", node: str = "n1",
        ip: str = "10.0.0.1", annotations: dict | None = None, host_network: bool = False,
        containers: tuple[str, ...] = ("app",)) -> str:
    import yaml

    doc = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}, "annotations": annotations or {}},
        "spec": {"nodeName": node, "serviceAccountName": sa, "hostNetwork": host_network,
                 "containers": [{"name": c, "image": "example/app:1"} for c in containers]},
        "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]},
    }
    return "---\n" + yaml.safe_dump(doc)
