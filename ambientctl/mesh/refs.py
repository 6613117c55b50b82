"""Resolve what users type into pods and services, the way kubectl users expect.

Workloads: `[KIND/]NAME[.NAMESPACE]` — an exact pod name, `deploy/NAME` (or a bare deployment name), `pod/NAME`,
or an `app` label value when it picks exactly one workload. Services: `NAME[.NAMESPACE][:PORT]` or the FQDN.
No match and several matches are usage errors (exit 2) that name what was looked for.
"""

from __future__ import annotations

from ambientctl.errors import Ambiguous, NotFound, UsageError
from ambientctl.model import Cluster
from ambientctl.model import objects as o

KIND_ALIASES = {
    "pod": "pod", "pods": "pod", "po": "pod",
    "deploy": "deployment", "deployment": "deployment", "deployments": "deployment",
    "ds": "daemonset", "daemonset": "daemonset",
    "sts": "statefulset", "statefulset": "statefulset",
    "svc": "service", "service": "service",
}


def workload_name(pod: o.Pod) -> tuple[str, str]:
    """(kind, name) of the controller that owns the pod: Deployment via its ReplicaSet, DaemonSet, ..."""
    kind, name = pod.owner_kind, pod.owner_name
    if kind == "ReplicaSet":
        h = pod.meta.labels.get("pod-template-hash")
        if h and name.endswith("-" + h):
            return "Deployment", name[: -len(h) - 1]
        return "Deployment", name.rsplit("-", 1)[0] if "-" in name else name
    if kind:
        return kind, name
    return "Pod", pod.meta.name


def split_namespace(ref: str, namespace: str | None) -> tuple[str, str | None]:
    """`name.ns` -> (name, ns). An explicit -n wins over the suffix only if they agree."""
    if "." in ref:
        name, ns = ref.rsplit(".", 1)
        if namespace and ns != namespace:
            raise UsageError(f"{ref!r} names namespace {ns!r} but --namespace is {namespace!r}")
        return name, ns
    return ref, namespace


def resolve_pod(cluster: Cluster, ref: str, namespace: str | None = None) -> o.Pod:
    """The one pod `ref` names (a deployment's pods are interchangeable: its first ready pod is used)."""
    kind = ""
    body = ref
    if "/" in ref:
        k, body = ref.split("/", 1)
        kind = KIND_ALIASES.get(k.lower(), "")
        if not kind:
            raise UsageError(f"unknown kind {k!r} in {ref!r} (use pod/, deploy/, ds/, sts/)")
        if kind == "service":
            raise UsageError(f"{ref!r} is a service; give a pod, deployment or app name")
    # A pod name may itself contain dots: try it whole before reading a `.namespace` suffix.
    candidates = [(body, namespace or "default")]
    if "." in body:
        name, ns = split_namespace(body, namespace)
        candidates.insert(0 if not namespace else 1, (name, ns or "default"))
    for name, ns in candidates:
        pod = _resolve_in(cluster, kind, name, ns)
        if pod is not None:
            return pod
    name, ns = candidates[0]
    what = {"": "pod, deployment or app", "pod": "pod", "deployment": "deployment"}.get(kind, kind)
    hint = _suggest(cluster, name, ns)
    raise NotFound(f"no {what} named {name!r} in namespace {ns}{hint}")


def _resolve_in(cluster: Cluster, kind: str, name: str, ns: str) -> o.Pod | None:
    pods = cluster.pods_in(ns)
    if kind in ("", "pod"):
        exact = [p for p in pods if p.meta.name == name]
        if exact:
            return exact[0]
        if kind == "pod":
            return None
    if kind in ("", "deployment", "daemonset", "statefulset"):
        want = {"deployment": "Deployment", "daemonset": "DaemonSet", "statefulset": "StatefulSet"}.get(kind)
        owned = [p for p in pods if (lambda k, n: n == name and (want is None or k == want))(*workload_name(p))]
        if owned:
            return sorted(owned, key=lambda p: (not p.ready, p.meta.name))[0]
        if kind:
            return None
    by_app = [p for p in pods if p.meta.labels.get("app") == name]
    if not by_app:
        return None
    workloads = sorted({workload_name(p) for p in by_app})
    if len(workloads) > 1:
        names = ", ".join(f"{k.lower()}/{n}" for k, n in workloads)
        raise Ambiguous(f"app {name!r} in namespace {ns} matches several workloads: {names}; name one of them")
    return sorted(by_app, key=lambda p: (not p.ready, p.meta.name))[0]


def _suggest(cluster: Cluster, name: str, ns: str) -> str:
    elsewhere = sorted({p.meta.namespace for p in cluster.pods if p.meta.name == name or
                        workload_name(p)[1] == name or p.meta.labels.get("app") == name} - {ns})
    if elsewhere:
        return f" (found in namespace {', '.join(elsewhere)}: add -n {elsewhere[0]})"
    return ""


def split_port(ref: str) -> tuple[str, int | None]:
    """`host:9080` -> ("host", 9080); IPv6 must be bracketed when a port is given (`[fd00::1]:80`)."""
    if ref.startswith("["):
        host, _, rest = ref[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, _port(ref, port) if port else None
    if ref.count(":") == 1:
        host, port = ref.split(":")
        return host, _port(ref, port)
    return ref, None


def _port(ref: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{ref!r}: {text!r} is not a port number")
    return int(text)


def is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def resolve_service(cluster: Cluster, host: str, namespace: str | None) -> o.Service | None:
    """`name`, `name.ns`, `name.ns.svc`, `name.ns.svc.<domain>` -> the Service, or None."""
    parts = host.split(".")
    if len(parts) >= 3 and parts[2] == "svc":
        return cluster.service(parts[1], parts[0])
    if len(parts) == 2:
        return cluster.service(parts[1], parts[0])
    if len(parts) == 1:
        return cluster.service(namespace or "default", host)
    return None
