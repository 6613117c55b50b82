"""Ephemeral capture containers: reuse one if the pod has it, otherwise add one — with consent, within Pod
Security admission, and with a clear word when the cluster cannot do it.

Ephemeral containers can never be removed (KEP-277), so every pod gets at most one live `ambientctl-capture-N`
container, which idles for an hour so later captures exec into it, then ends. What it may do follows the
namespace's Pod Security level (research/observability.md §5.3): tcpdump needs NET_RAW for its packet socket (it
runs with -p, so NET_ADMIN for promiscuous mode is not needed).
- privileged / no label: add NET_RAW explicitly;
- baseline: adding NET_RAW is rejected, but container runtimes grant it by default, so add nothing;
- restricted: all capabilities dropped and non-root required: tcpdump cannot capture at all; refuse up front.

The API is anything with read_pod / namespace_labels / add_ephemeral_container (ambientctl.sources.kube_exec).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ambientctl.errors import InputError, NotFound

CAPTURE_PREFIX = "ambientctl-capture-"
DEFAULT_IMAGE = "nicolaka/netshoot"
IDLE_SECONDS = 3600
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
FAILED_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                  "CreateContainerError", "RunContainerError", "ErrImageNeverPull"}


class CaptureApi(Protocol):
    def read_pod(self, namespace: str, name: str) -> dict[str, Any]: ...
    def namespace_labels(self, namespace: str) -> dict[str, str]: ...
    def add_ephemeral_container(self, namespace: str, name: str, container: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class Attachment:
    """The capture container of one pod: which, and whether it exists, must be added, or is starting."""

    namespace: str
    pod: str
    container: str
    image: str
    action: str  # reuse | create
    target: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.pod}"


def _is_api_error(e: BaseException) -> bool:
    return all(hasattr(e, a) for a in ("status", "reason", "message", "details"))


def container_spec(name: str, image: str, target: str, psa_level: str, pod: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "command": ["sleep", str(IDLE_SECONDS)],
        "stdin": False,
        "tty": False,
    }
    if target:
        spec["targetContainerName"] = target
    sc: dict[str, Any] = {}
    if psa_level not in ("baseline", "restricted"):
        sc["capabilities"] = {"add": ["NET_RAW"]}
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    # A non-root pod-level user defeats added capabilities (kubectl debug warns about the same): run as root.
    if pod_sc.get("runAsUser") not in (None, 0) or pod_sc.get("runAsNonRoot"):
        sc["runAsUser"] = 0
        sc["runAsNonRoot"] = False
    if sc:
        spec["securityContext"] = sc
    return spec


def _statuses(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s.get("name", ""): s for s in (pod.get("status") or {}).get("ephemeralContainerStatuses") or []}


def _state(status: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    st = (status or {}).get("state") or {}
    for k in ("running", "terminated", "waiting"):
        if st.get(k) is not None:
            return k, st[k] or {}
    return "unknown", {}


def prepare(api: CaptureApi, namespace: str, pod_name: str, image: str = DEFAULT_IMAGE,
            target: str = "") -> Attachment:
    """Decide for one pod, reading the pod and its namespace only: reuse a capture container, or add which."""
    pod = _read_pod(api, namespace, pod_name)
    phase = (pod.get("status") or {}).get("phase", "")
    if phase and phase != "Running":
        raise InputError(f"pod {namespace}/{pod_name} is {phase}: ephemeral containers only start in running pods")
    statuses = _statuses(pod)
    existing = [c.get("name", "") for c in (pod.get("spec") or {}).get("ephemeralContainers") or []
                if c.get("name", "").startswith(CAPTURE_PREFIX)]
    numbers = [int(n[len(CAPTURE_PREFIX):]) for n in existing if n[len(CAPTURE_PREFIX):].isdigit()]
    for name in reversed(existing):
        state, _ = _state(statuses.get(name))
        if state in ("running", "waiting", "unknown"):
            img = next((c.get("image", "") for c in pod["spec"]["ephemeralContainers"] if c.get("name") == name), "")
            a = Attachment(namespace, pod_name, name, img, "reuse", target)
            if img and img != image:
                a.notes.append(f"reusing {name} (image {img}) instead of adding another container with {image}")
            return a
    level = _psa_level(api, namespace)
    if level == "restricted":
        raise InputError(
            f"namespace {namespace} enforces Pod Security 'restricted' ({PSA_ENFORCE}=restricted): containers "
            "there must drop every capability and run as non-root, so tcpdump cannot open a packet socket; capture "
            "a pod in another namespace or the node's ztunnel, or ask an admin to relax the namespace's level")
    name = f"{CAPTURE_PREFIX}{max(numbers, default=0) + 1}"
    a = Attachment(namespace, pod_name, name, image, "create", target,
                   container_spec(name, image, target, level, pod))
    if level == "baseline":
        a.notes.append(f"namespace {namespace} enforces Pod Security 'baseline', which rejects adding NET_RAW: the "
                       "capture container relies on the runtime's default capabilities (containerd and CRI-O grant "
                       "NET_RAW unless configured otherwise)")
    return a


def _read_pod(api: CaptureApi, namespace: str, name: str) -> dict[str, Any]:
    try:
        return api.read_pod(namespace, name)
    except Exception as e:
        if _is_api_error(e) and e.status == 404:  # type: ignore[attr-defined]
            raise NotFound(f"no pod {name!r} in namespace {namespace} on the cluster") from None
        if _is_api_error(e) and e.status == 403:  # type: ignore[attr-defined]
            raise InputError(f"not allowed to read pod {namespace}/{name}: {e.message}") from None  # type: ignore[attr-defined]
        raise


def _psa_level(api: CaptureApi, namespace: str) -> str:
    try:
        labels = api.namespace_labels(namespace)
    except Exception as e:
        if _is_api_error(e) and e.status in (403, 404):  # type: ignore[attr-defined]
            return ""  # cannot tell; the API server's answer to the PATCH will say
        raise
    return labels.get(PSA_ENFORCE, "")


_PSA_VIOLATION = re.compile(r'violates PodSecurity "(?P<level>[a-z]+):(?P<version>[^"]+)": (?P<detail>.*)', re.S)
_RBAC = re.compile(r'is forbidden: User "(?P<user>[^"]+)" cannot (?P<verb>\w+) resource "(?P<resource>[^"]+)"')


def explain_rejection(e: BaseException, a: Attachment) -> str:
    """The API server's answer to the ephemeral-container PATCH, as one actionable sentence."""
    status, msg = getattr(e, "status", 0), str(getattr(e, "message", "") or e)
    where = f"pod {a.key}"
    m = _PSA_VIOLATION.search(msg)
    if m:
        return (f"Pod Security admission rejected the capture container in {where}: the namespace enforces "
                f"'{m['level']}' ({m['version']}) and the container {m['detail'].strip().rstrip('.')}")
    m = _RBAC.search(msg)
    if m:
        return (f"not allowed to add a capture container to {where}: {m['user']} cannot {m['verb']} "
                f"{m['resource']} (RBAC)")
    if status == 404:
        details = getattr(e, "details", None) or {}
        if details.get("kind") == "pods" or details.get("name"):
            return f"{where} no longer exists"
        return ("ephemeral containers are not available on this cluster: the API server has no "
                "pods/ephemeralcontainers subresource (Kubernetes older than 1.23, or the EphemeralContainers "
                "feature gate is off)")
    if status == 422:
        return f"the API server refused the capture container for {where}: {msg}"
    if status == 403:
        return f"not allowed to add a capture container to {where}: {msg}"
    return f"adding a capture container to {where} failed: {status} {msg}".strip()


def attach(api: CaptureApi, a: Attachment) -> None:
    """Add the container (action `create`); a rejection becomes an InputError naming the pod and the reason."""
    if a.action != "create":
        return
    try:
        pod = api.add_ephemeral_container(a.namespace, a.pod, a.spec)
    except Exception as e:
        if _is_api_error(e):
            raise InputError(explain_rejection(e, a)) from None
        raise
    names = [c.get("name") for c in (pod.get("spec") or {}).get("ephemeralContainers") or []]
    if a.container not in names:
        raise InputError(f"the API server accepted the capture container for pod {a.key} but the pod spec does "
                         f"not list {a.container} (an admission webhook may have removed it)")


def wait_running(api: CaptureApi, a: Attachment, timeout: float = 90.0, poll: float = 0.5,
                 progress: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
    """Until the capture container runs. Image pull failures end the wait at once; so does a container that
    already ended (an idle capture container lives IDLE_SECONDS)."""
    start = clock()
    last = "no status yet"
    while True:
        pod = _read_pod(api, a.namespace, a.pod)
        state, detail = _state(_statuses(pod).get(a.container))
        if state == "running":
            return
        reason = detail.get("reason", "")
        message = (detail.get("message") or "").strip()
        if state == "terminated":
            code = detail.get("exitCode")
            raise InputError(f"capture container {a.container} in pod {a.key} has ended ({reason or 'terminated'}"
                             f"{f', exit code {code}' if code is not None else ''}): it cannot be restarted; run "
                             "the capture again to add a new one")
        if state == "waiting" and reason in FAILED_WAITING:
            hint = " (--image IMG names a mirror or a preloaded image)" if "Image" in reason else ""
            raise InputError(f"capture container {a.container} in pod {a.key} cannot start: {reason}"
                             f"{': ' + message if message else ''}{hint}")
        last = f"{state}{': ' + reason if reason else ''}" if state != "unknown" else "no status yet"
        waited = clock() - start
        if progress is not None:
            progress(f"waiting for {a.container} in {a.key} to run ({last}, {waited:.0f}s)")
        if waited >= timeout:
            raise InputError(f"capture container {a.container} in pod {a.key} is not running after {timeout:g}s "
                             f"({last}); it stays in the pod spec and the next capture reuses it")
        sleep(poll)
