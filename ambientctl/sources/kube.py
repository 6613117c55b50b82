"""Live source: the cluster of a kubeconfig context, read with the official `kubernetes` client.

The only module (with kube_exec for capture) that imports `kubernetes`. One discovery request says which API
groups are served; then each kind is listed once across all namespaces (`resourceVersion=0`: served from the
API server's watch cache, not etcd), concurrently, and the raw JSON is fed to the same model parser the
snapshot source uses — so a live read and a snapshot saved from it give the same model. Absent CRDs are facts
(`absent_kinds`), a 403 on a kind degrades the answer (`unreadable`), and an unreachable server fails within
the request timeout with one line naming it. The user's kubeconfig is never written (`persist_config=False`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ambientctl.errors import NO_CLUSTER_HINT, InputError, UsageError
from ambientctl.model import Cluster, parse_object
from ambientctl.sources import jsonlist

MESH_CONFIG_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    group: str  # "" for the core group
    versions: tuple[str, ...]  # preferred first (older clusters serve only older versions)


KINDS = (
    Kind("Namespace", "namespaces", "", ("v1",)),
    Kind("Node", "nodes", "", ("v1",)),
    Kind("Pod", "pods", "", ("v1",)),
    Kind("Service", "services", "", ("v1",)),
    Kind("ServiceAccount", "serviceaccounts", "", ("v1",)),
    # Only Istio's mesh config is kept (see mesh_config_maps): other ConfigMaps may hold anything.
    Kind("ConfigMap", "configmaps", "", ("v1",)),
    Kind("Deployment", "deployments", "apps", ("v1",)),
    Kind("DaemonSet", "daemonsets", "apps", ("v1",)),
    Kind("StatefulSet", "statefulsets", "apps", ("v1",)),
    Kind("NetworkPolicy", "networkpolicies", "networking.k8s.io", ("v1",)),
    Kind("GatewayClass", "gatewayclasses", "gateway.networking.k8s.io", ("v1", "v1beta1", "v1alpha2")),
    Kind("Gateway", "gateways", "gateway.networking.k8s.io", ("v1", "v1beta1", "v1alpha2")),
    Kind("HTTPRoute", "httproutes", "gateway.networking.k8s.io", ("v1", "v1beta1", "v1alpha2")),
    Kind("AuthorizationPolicy", "authorizationpolicies", "security.istio.io", ("v1", "v1beta1")),
    Kind("PeerAuthentication", "peerauthentications", "security.istio.io", ("v1", "v1beta1")),
    Kind("VirtualService", "virtualservices", "networking.istio.io", ("v1", "v1beta1", "v1alpha3")),
    Kind("DestinationRule", "destinationrules", "networking.istio.io", ("v1", "v1beta1", "v1alpha3")),
    Kind("ServiceEntry", "serviceentries", "networking.istio.io", ("v1", "v1beta1", "v1alpha3")),
)
ISTIO_KINDS = frozenset(k.kind for k in KINDS if k.group.endswith("istio.io"))
GATEWAY_API_KINDS = frozenset(k.kind for k in KINDS if k.group == "gateway.networking.k8s.io")


@dataclass
class LiveRead:
    """What one live read got: the raw items per kind (list items with kind/apiVersion filled in; what
    `snapshot save` writes), kinds the server does not serve, kinds it refused, and the API requests made."""

    server: str
    context: str
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    requests: int = 0


def _kubeconfig_files(kubeconfig: str | None) -> str:
    """What kubectl reads: --kubeconfig, else $KUBECONFIG (several files joined by ':'), else ~/.kube/config."""
    return kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def kubeconfig_paths(kubeconfig: str | None) -> tuple[str, ...]:
    """The kubeconfig files a command reads (never to be written over)."""
    return tuple(os.path.expanduser(f) for f in _kubeconfig_files(kubeconfig).split(os.pathsep) if f)


def _current_context(files: list[str]) -> str:
    """kubectl's rule for several kubeconfig files: the first file that sets current-context wins (the Python
    client would take the last)."""
    import yaml

    for f in files:
        with open(os.path.expanduser(f)) as fh:
            doc = yaml.safe_load(fh)
        if isinstance(doc, dict) and doc.get("current-context"):
            return str(doc["current-context"])
    return ""


def _connect(context: str | None, kubeconfig: str | None, timeout: float):  # type: ignore[no-untyped-def]
    """(ApiClient, context name, server URL) for the kubeconfig context, or in-cluster config inside a pod."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    files = _kubeconfig_files(kubeconfig)
    present = [f for f in files.split(os.pathsep) if f and os.path.exists(os.path.expanduser(f))]
    cfg = client.Configuration()
    try:
        if not present and kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=cfg)
            name = "in-cluster"
        elif not present:
            raise InputError(f"no kubeconfig found (looked for {files})", hint=NO_CLUSTER_HINT)
        else:
            name = context or _current_context(present)
            config.load_kube_config(config_file=files, context=name or None, client_configuration=cfg,
                                    persist_config=False)
            name = name or (config.list_kube_config_contexts(config_file=files)[1] or {}).get("name", "")
    except ConfigException as e:
        msg = " ".join(str(e).split())
        if context and "context" in msg.lower():
            raise UsageError(f"kubeconfig {files}: no context named {context!r}") from None
        raise InputError(f"kubeconfig {files}: {msg}") from None
    except (OSError, ValueError, TypeError, KeyError, yaml_error()) as e:  # unreadable/malformed files, exec plugins
        raise InputError(f"kubeconfig {files}: {type(e).__name__}: {' '.join(str(e).split())}") from None
    # One attempt per request: the caller's timeout is the time the user waits, not a quarter of it.
    cfg.retries = 0
    return client.ApiClient(cfg), name, cfg.host


def _retry_after(e: Any) -> float:
    try:
        return min(max(float((e.headers or {}).get("Retry-After", 1)), 0.1), 5.0)
    except (TypeError, ValueError):
        return 1.0


def yaml_error() -> type[Exception]:
    import yaml

    return yaml.YAMLError


def _unreachable(server: str, context: str, timeout: float, err: BaseException) -> InputError:
    import urllib3

    reason = getattr(err, "reason", None) or err
    text = " ".join(str(reason).split())
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # (a subclass of ConnectTimeoutError)
        why = text.split("] ", 1)[1].rstrip(")'\"") if "] " in text else text[:200]
    elif isinstance(reason, (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError)):
        why = f"no answer within {timeout:g}s"
    elif isinstance(reason, urllib3.exceptions.SSLError):
        why = f"TLS failed: {text[:200]}"
    else:
        why = text[:200]
    return InputError(f"cannot reach the API server {server} (context {context}): {why}")


def read_live(context: str | None = None, kubeconfig: str | None = None, request_timeout: float = 10.0) -> LiveRead:
    """List every kind ambientctl uses, once each; see the module docstring. The whole read — kubeconfig and its
    credential plugin, TLS, every request and every body — ends within `request_timeout` (sources.deadline)."""
    import importlib

    for module in ("kubernetes.client", "kubernetes.config", "urllib3"):  # before the deadline starts: a slow
        importlib.import_module(module)  # import on a busy machine is not the server's fault

    from ambientctl.sources.deadline import within

    reached: dict[str, str] = {}

    def expired() -> str:
        if not reached:
            return (f"kubeconfig {_kubeconfig_files(kubeconfig)}: logging in to context "
                    f"{context or '(current)'} took more than {request_timeout:g}s (a credential plugin that does "
                    "not return?)")
        return (f"cannot reach the API server {reached['server']} (context {reached['context']}): no complete "
                f"answer within {request_timeout:g}s")

    return within(request_timeout, expired, _read_live, context, kubeconfig, request_timeout, reached)


def _read_live(context: str | None, kubeconfig: str | None, request_timeout: float,
               reached: dict[str, str]) -> LiveRead:
    import urllib3
    from kubernetes.client.exceptions import ApiException

    from ambientctl.sources.deadline import quiet_insecure_tls

    quiet_insecure_tls()
    api, ctx, server = _connect(context, kubeconfig, request_timeout)
    reached.update(server=server, context=ctx)
    read = LiveRead(server=server, context=ctx)
    lock = threading.Lock()

    def get(what: str, call, *args: Any, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        """One typed client call as raw JSON (no model deserialisation); ApiException on HTTP errors."""
        with lock:
            read.requests += 1
        try:
            r = call(*args, **kw, _preload_content=False, _request_timeout=(request_timeout, request_timeout))
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise _unreachable(server, ctx, request_timeout, e) from None
        except ApiException as e:
            if e.status:
                raise
            # status 0: the client wraps TLS failures
            raise InputError(f"cannot reach the API server {server} (context {ctx}): "
                             f"{' '.join(str(e.reason).split())[:200]}") from None
        try:
            return jsonlist.loads(r.data.decode("utf-8"))
        except ValueError:
            raise InputError(f"API server {server}: the {what} list is not JSON") from None

    started = time.monotonic()

    def get_patiently(what: str, call, *args: Any, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        """get(), again after 429 (the watch cache of a kind is still filling, e.g. just after its CRD was
        installed) for as long as the server asks and the request timeout allows."""
        while True:
            try:
                return get(what, call, *args, **kw)
            except ApiException as e:
                wait = _retry_after(e)
                if e.status != 429 or time.monotonic() - started + wait > request_timeout:
                    raise
                time.sleep(wait)

    def refused(e: ApiException) -> InputError:
        return InputError(f"the API server {server} rejected the credentials of context {ctx}: "
                          f"{e.status} {e.reason} (token expired or wrong?)")

    def message(e: ApiException) -> str:
        try:
            return str(json.loads(e.body or b"{}").get("message") or e.reason)
        except ValueError:
            return str(e.reason)

    # Discovery: which groups (and versions) exist, so absent CRDs cost nothing and need no probing.
    from kubernetes import client

    try:
        groups = get("API groups", client.ApisApi(api).get_api_versions)
    except ApiException as e:
        if e.status == 401:
            raise refused(e) from None
        raise InputError(f"the API server {server} (context {ctx}) refused discovery: {e.status} "
                         f"{message(e)}") from None
    served = {g.get("name", ""): [v.get("version") for v in g.get("versions") or []]
              for g in groups.get("groups") or []}
    served[""] = ["v1"]

    def list_kind(k: Kind) -> tuple[Kind, str, list[dict[str, Any]]]:
        version = next((v for v in k.versions if v in served.get(k.group, [])), None)
        if version is None:
            return k, "absent", []
        try:
            body = get_patiently(k.kind, *_list_call(client, api, k, version), resource_version="0")
        except ApiException as e:
            if e.status == 401:
                raise refused(e) from None
            if e.status == 404:  # the group is served but not this resource
                return k, "absent", []
            return k, f"{e.status} {e.reason}: {message(e)}", []
        api_version = f"{k.group}/{version}" if k.group else version
        items = body.get("items") or []
        for it in items:  # list items carry no kind/apiVersion of their own
            it["kind"], it["apiVersion"] = k.kind, api_version
            (it.get("metadata") or {}).pop("managedFields", None)
        if k.kind == "ConfigMap":
            items = mesh_config_maps(items)
        return k, "", items

    from ambientctl.sources.deadline import parallel

    results = parallel(list_kind, list(KINDS))
    for k, problem, items in results:
        if problem == "absent":
            read.absent.append(k.kind)
        elif problem:
            read.unreadable[k.kind] = problem
        else:
            read.items[k.kind] = items
    return read


def _list_call(client, api, k: Kind, version: str) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    """The typed client method (and its positional arguments) listing kind `k` across all namespaces."""
    if k.group.endswith("istio.io") or k.group == "gateway.networking.k8s.io":
        return client.CustomObjectsApi(api).list_cluster_custom_object, k.group, version, k.plural
    typed = {"": client.CoreV1Api, "apps": client.AppsV1Api, "networking.k8s.io": client.NetworkingV1Api}[k.group](api)
    snake = "".join("_" + c.lower() if c.isupper() else c for c in k.kind).lstrip("_")
    if k.kind == "ConfigMap":
        return typed.list_namespaced_config_map, MESH_CONFIG_NAMESPACE
    if k.kind in ("Namespace", "Node"):
        return (getattr(typed, f"list_{snake}"),)
    return (getattr(typed, f"list_{snake}_for_all_namespaces"),)


def mesh_config_maps(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Istio's mesh config (`istio`, or `istio-<revision>`, holding a `mesh` key) and istio-cni's settings
    (`istio-cni-config`: AMBIENT_DNS_CAPTURE and friends); nothing of the others."""
    keep = []
    for it in items:
        name = (it.get("metadata") or {}).get("name", "")
        if name == "istio-cni-config" or ((name == "istio" or name.startswith("istio-")) and "mesh" in (it.get("data") or {})):
            keep.append(it)
    return keep


def cluster_from_read(read: LiveRead) -> Cluster:
    cluster = Cluster(source=f"live context {read.context} ({read.server})")
    for kind in sorted(read.items):
        for it in read.items[kind]:
            md = it.get("metadata") or {}
            where = f"{md.get('namespace')}/{md.get('name')}" if md.get("namespace") else md.get("name")
            cluster.add(parse_object(it, f"live {kind} {where}"))
    cluster.unreadable = dict(read.unreadable)
    cluster.absent_kinds = list(read.absent)
    if set(read.absent) >= ISTIO_KINDS:
        cluster.absent_kinds.append("Istio CRDs not installed")
    if set(read.absent) >= GATEWAY_API_KINDS:
        cluster.absent_kinds.append("Gateway API CRDs not installed")
    return cluster


def load_live(context: str | None = None, kubeconfig: str | None = None, request_timeout: float = 10.0) -> Cluster:
    """The live cluster as a model.Cluster. `cluster.source` names the context and server; the request count
    of the read is in `cluster.api_requests`."""
    read = read_live(context, kubeconfig, request_timeout)
    cluster = cluster_from_read(read)
    cluster.api_requests = read.requests  # type: ignore[attr-defined]
    return cluster
