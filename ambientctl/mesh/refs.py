"""Resolve what users type into pods and services: the one reference grammar of every command (describe,
explain, trace, capture, bundle, the interactive app).

    NAME            a pod, a workload (deployment/daemonset/statefulset) or an `app` label value that picks one
                    workload; for a destination also a service
    KIND/NAME       pod/, deploy/, ds/, sts/, svc/ (kubectl's short names and plurals too)
    NAME.NS         NAME in namespace NS (when NS is a namespace of the cluster: pod names may contain dots)
    NS/NAME         NAME in namespace NS (when NS is no kind) — the notation the demo READMEs use
    KIND/NAME.NS    both; -n NS says the same, and must agree with a namespace written in the reference

A reference that matches nothing is a NotFound naming what was looked for, with "did you mean" from the
cluster's own names (pods, workloads, app labels, services, namespaces); one that matches several is an
Ambiguous listing the candidates. Both are usage errors (exit 2).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ambientctl.errors import AmbientctlError, Ambiguous, NotFound, UsageError
from ambientctl.model import Cluster
from ambientctl.model import objects as o

KIND_ALIASES = {
    "pod": "pod", "pods": "pod", "po": "pod",
    "deploy": "deployment", "deployment": "deployment", "deployments": "deployment",
    "ds": "daemonset", "daemonset": "daemonset", "daemonsets": "daemonset",
    "sts": "statefulset", "statefulset": "statefulset", "statefulsets": "statefulset",
    "svc": "service", "service": "service", "services": "service",
}
WORKLOAD_KINDS = {"deployment": "Deployment", "daemonset": "DaemonSet", "statefulset": "StatefulSet"}
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Ref:
    """One reading of what the user typed: `kind` is "" (any), pod, deployment, daemonset, statefulset or
    service; `namespace` None when the reference and -n name none."""

    text: str
    kind: str
    name: str
    namespace: str | None

    @property
    def ns(self) -> str:
        return self.namespace or DEFAULT_NAMESPACE

    @property
    def what(self) -> str:
        return {"": "pod, deployment or app", "service": "service"}.get(self.kind, self.kind)


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


def _known_namespace(cluster: Cluster, ns: str) -> bool:
    return ns in cluster.namespaces or bool(cluster.pods_in(ns)) or bool(cluster.services_in(ns))


def _with_namespace(ref: str, ns: str | None, namespace: str | None) -> str | None:
    """The namespace a reference names, checked against -n: they must agree."""
    if ns and namespace and ns != namespace:
        raise UsageError(f"{ref!r} names namespace {ns!r} but --namespace is {namespace!r}",
                         hint=f"drop one of them, or use {ref.split('/')[-1].rsplit('.', 1)[0]!r} with -n")
    return ns or namespace


def parse_ref(cluster: Cluster, ref: str, namespace: str | None = None) -> list[Ref]:
    """The readings of `ref`, most likely first (usually one). NS/NAME is read as a namespace only when NS is
    no kind; `X/NAME` where X is both a kind and a namespace of the cluster yields both readings."""
    readings: list[Ref] = []
    if "/" in ref:
        prefix, body = ref.split("/", 1)
        if not prefix or not body or "/" in body:
            raise UsageError(f"{ref!r} is not a reference", hint="use NAME, KIND/NAME, NAME.NAMESPACE or NAMESPACE/NAME")
        kind = KIND_ALIASES.get(prefix.lower())
        if kind is not None:
            readings += _dotted(cluster, ref, kind, body, namespace)
        if _known_namespace(cluster, prefix) or kind is None:
            if kind is None and not _known_namespace(cluster, prefix):
                raise _unknown_prefix(cluster, ref, prefix, body)
            readings.append(Ref(ref, "", body, _with_namespace(ref, prefix, namespace)))
        return readings
    return _dotted(cluster, ref, "", ref, namespace)


def _dotted(cluster: Cluster, ref: str, kind: str, body: str, namespace: str | None) -> list[Ref]:
    """`name.ns` -> NAME in NS when NS is a namespace of the cluster; the whole name is the other reading."""
    whole = Ref(ref, kind, body, namespace)
    if "." not in body:
        return [whole]
    name, ns = body.rsplit(".", 1)
    if kind == "service" and "." in name:  # svc/NAME.NS.svc[.cluster.local]
        return [whole]
    if not _known_namespace(cluster, ns):
        return [whole]
    return [Ref(ref, kind, name, _with_namespace(ref, ns, namespace)), whole]


def _unknown_prefix(cluster: Cluster, ref: str, prefix: str, body: str) -> UsageError:
    spaces = sorted({*cluster.namespaces, *(p.meta.namespace for p in cluster.pods)})
    close = difflib.get_close_matches(prefix, spaces, n=1) or difflib.get_close_matches(prefix.lower(), KIND_ALIASES, n=1)
    hint = f"did you mean '{close[0]}/{body}'?" if close else \
        f"use KIND/NAME (pod/, deploy/, ds/, sts/, svc/) or NAMESPACE/NAME (namespaces: {', '.join(spaces)})"
    return UsageError(f"{prefix!r} in {ref!r} is neither a kind nor a namespace of the cluster", hint=hint)


def resolve_pod(cluster: Cluster, ref: str, namespace: str | None = None) -> o.Pod:
    """The one pod `ref` names (a deployment's pods are interchangeable: its first ready pod is used)."""
    readings = parse_ref(cluster, ref, namespace)
    if all(r.kind == "service" for r in readings):
        raise UsageError(f"{ref!r} is a service; give a pod, deployment or app name",
                         hint="a service's pods are its endpoints: name one of them, or its workload")
    # The first reading that matches wins; only `X/NAME` with X both a kind and a namespace is read both ways.
    prefix = ref.split("/", 1)[0] if "/" in ref else ""
    both_ways = bool(prefix) and prefix.lower() in KIND_ALIASES and _known_namespace(cluster, prefix)
    pods: dict[str, o.Pod] = {}
    for r in readings:
        if r.kind == "service":
            continue
        pod = _resolve_in(cluster, r)
        if pod is not None:
            pods.setdefault(pod.meta.key, pod)
            if not both_ways:
                break
    if len(pods) > 1:
        raise Ambiguous(f"{ref!r} matches several pods: {', '.join(sorted(pods))}",
                        hint="name one as pod/NAME.NAMESPACE")
    if pods:
        return next(iter(pods.values()))
    raise not_found(cluster, readings[0], with_services=False)


def _resolve_in(cluster: Cluster, r: Ref) -> o.Pod | None:
    pods = cluster.pods_in(r.ns)
    if r.kind in ("", "pod"):
        exact = [p for p in pods if p.meta.name == r.name]
        if exact:
            return exact[0]
        if r.kind == "pod":
            return None
    want = WORKLOAD_KINDS.get(r.kind)
    owned = [p for p in pods if (lambda k, n: n == r.name and (want is None or k == want))(*workload_name(p))]
    if owned:
        return sorted(owned, key=lambda p: (not p.ready, not p.ip, p.meta.name))[0]
    if r.kind:
        return None
    by_app = [p for p in pods if p.meta.labels.get("app") == r.name]
    if not by_app:
        return None
    workloads = sorted({workload_name(p) for p in by_app})
    if len(workloads) > 1:
        names = ", ".join(f"{k.lower()}/{n}" for k, n in workloads)
        raise Ambiguous(f"app {r.name!r} in namespace {r.ns} matches several workloads: {names}",
                        hint="name one of them")
    return sorted(by_app, key=lambda p: (not p.ready, not p.ip, p.meta.name))[0]


def _names_in(cluster: Cluster, ns: str, kind: str, with_services: bool) -> set[str]:
    """The names a reference of `kind` could have meant in `ns` (for "did you mean")."""
    names: set[str] = set()
    if kind == "service":
        return {s.meta.name for s in cluster.services_in(ns)}
    for p in cluster.pods_in(ns):
        wkind, wname = workload_name(p)
        if kind in ("", "pod"):
            names.add(p.meta.name)
        if kind == "" or WORKLOAD_KINDS.get(kind) == wkind:
            names.add(wname)
        if kind == "" and p.meta.labels.get("app"):
            names.add(p.meta.labels["app"])
    if with_services and kind == "":
        names.update(s.meta.name for s in cluster.services_in(ns))
    return names


def not_found(cluster: Cluster, r: Ref, with_services: bool) -> AmbientctlError:
    """No match: say what was looked for where, then the fix — the namespace it is in, or the close names. When
    a kind it could be could not be read (RBAC), there is no telling: that is an error, not "no such name"."""
    what = "service or workload" if with_services and r.kind == "" else r.what
    kinds = ("Pod", "Deployment", "DaemonSet", "StatefulSet") + (("Service",) if with_services or
                                                                  r.kind == "service" else ())
    refused = [f"{k} ({why})" for k, why in sorted(cluster.unreadable.items()) if k in kinds]
    if refused:
        return AmbientctlError(f"cannot tell whether a {what} named {r.name!r} exists in namespace {r.ns}: "
                               f"could not read {', '.join(refused)}")
    msg = f"no {what} named {r.name!r} in namespace {r.ns}"
    spaces = sorted({*cluster.namespaces, *(p.meta.namespace for p in cluster.pods),
                     *(s.meta.namespace for s in cluster.services)})
    if r.namespace and r.namespace not in spaces:
        close = difflib.get_close_matches(r.ns, spaces, n=1)
        hint = f"namespace {r.ns!r} does not exist" + (f"; did you mean {close[0]!r}?" if close else "")
        return NotFound(msg, hint=hint)
    elsewhere = [ns for ns in spaces if ns != r.ns and r.name in _names_in(cluster, ns, r.kind, with_services)]
    short = {"pod": "pod", "deployment": "deploy", "daemonset": "ds", "statefulset": "sts", "service": "svc"}
    if len(elsewhere) == 1:
        ns = elsewhere[0]
        forms = f"{short[r.kind]}/{r.name}.{ns}" if r.kind else f"{ns}/{r.name}, {r.name}.{ns}"
        return NotFound(msg, hint=f"it is in namespace {ns}: use {forms} or -n {ns}")
    if elsewhere:
        return NotFound(msg, hint=f"it is in namespaces {', '.join(elsewhere)}: name one as "
                        f"{short[r.kind] + '/' if r.kind else ''}{r.name}.NAMESPACE")
    if "." in r.name:  # `sleep.legcy`: a namespace suffix with a typo
        base, _, sfx = r.name.rpartition(".")
        close_ns = difflib.get_close_matches(sfx, spaces, n=1)
        if close_ns:
            return NotFound(msg, hint=f"did you mean '{base}.{close_ns[0]}'?")
    here = sorted(_names_in(cluster, r.ns, r.kind, with_services))
    close = [n for n in here if n.startswith(r.name + "-")][:3] or difflib.get_close_matches(r.name, here, n=3)
    if close:
        return NotFound(msg, hint=f"did you mean {' or '.join(repr(c) for c in close)}?")
    everywhere = {f"{ns}/{n}": n for ns in spaces if ns != r.ns for n in _names_in(cluster, ns, r.kind, with_services)}
    close = difflib.get_close_matches(r.name, list(everywhere.values()), n=1)
    if close:
        key = next(k for k, n in everywhere.items() if n == close[0])
        return NotFound(msg, hint=f"did you mean {key!r}?")
    return NotFound(msg)


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
    """`name`, `svc/name`, `name.ns`, `ns/name`, `name.ns.svc`, `name.ns.svc.<domain>` -> the Service, or None
    (also None when the reference names a workload kind)."""
    if "/" in host:
        prefix, body = host.split("/", 1)
        kind = KIND_ALIASES.get(prefix.lower())
        if kind == "service":
            return resolve_service(cluster, body, namespace)
        if kind is not None and not _known_namespace(cluster, prefix):
            return None
        if "." in body or "/" in body or (namespace and namespace != prefix):
            return None
        return cluster.service(prefix, body)
    parts = host.split(".")
    if len(parts) >= 3 and parts[2] == "svc":
        return cluster.service(parts[1], parts[0])
    if len(parts) == 2:
        return cluster.service(parts[1], parts[0])
    if len(parts) == 1:
        return cluster.service(namespace or DEFAULT_NAMESPACE, host)
    return None


def unknown_namespace(cluster: Cluster, ns: str) -> UsageError:
    """-n NS that names no namespace of the cluster, with the close one."""
    spaces = sorted({*cluster.namespaces, *(p.meta.namespace for p in cluster.pods)})
    close = difflib.get_close_matches(ns, spaces, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"namespaces: {', '.join(spaces)}"
    return UsageError(f"namespace {ns!r} has no workloads", hint=hint)


def names_workload_kind(ref: str) -> bool:
    """True when `ref` starts with a workload kind (pod/, deploy/, ...): it can name no service."""
    prefix, sep, _ = ref.partition("/")
    return bool(sep) and KIND_ALIASES.get(prefix.lower(), "service") != "service"
