"""A real Kubernetes control plane for the live tests, started once per pytest session.

etcd (Debian's etcd-server) + kube-apiserver, kube-controller-manager and kube-scheduler (built from the Go
module proxy by scripts/testcluster/build) + one kwok process per fake node playing its kubelet: Deployments
and DaemonSets become real Pods through the real controllers and scheduler, kwok marks them Running/Ready with
IPs from each node's podCIDR, and serves their logs/exec/port-forward through the API server. The cluster is
loaded with the real Istio and Gateway API CRDs, an ambient Istio (istiod + ztunnel), Bookinfo, sleep and
notsleep, and a namespace waypoint. Everything listens on loopback only (API server 127.0.0.1, node
"kubelets" 127.0.0.2 and 127.0.0.3) on free ports, with a fresh CA per session and RBAC on.

`kube_cluster` yields a `TestCluster`; `kube_apiserver_stopped` yields the kubeconfig of an API server that was
serving and has been stopped. When the cluster cannot start, tests using it skip with the reason (CI turns skips
into failures). The session also exports AMBIENTCTL_TEST_KUBECONFIG once the cluster is up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
REALDATA = Path(os.environ.get("AMBIENTCTL_REALDATA", REPO / "tests" / "realdata"))
MANIFESTS = Path(__file__).resolve().parent / "manifests"
CONTEXT = "ambientctl-test"
# The fake nodes: name -> (the address its kwok "kubelet" serves on, its podCIDR).
NODES = {"kwok-node-0": ("127.0.0.2", "10.244.0.0/20"), "kwok-node-1": ("127.0.0.3", "10.244.16.0/20")}
SERVICE_CIDR = "10.96.0.0/16"
EXEC_NAMESPACES = ("default", "istio-system")  # where kwok's exec runs commands (on this host)
ZTUNNEL_LOG = "istio-io-docs/ztunnel-access-logs-istio1.22-2024-05.log"  # what `logs` of ztunnel pods returns


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _write_certs(d: Path) -> None:
    """A CA, serving certs for the API server and the node kubelets, the API server's kubelet client cert and
    the service-account signing key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def pem_key(k) -> bytes:  # type: ignore[no-untyped-def]
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    def name(cn: str, org: str | None = None) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("ambientctl-test-ca")).issuer_name(name("ambientctl-test-ca"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    (d / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(stem: str, subject: x509.Name, sans: list, usage) -> None:  # type: ignore[no-untyped-def]
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        (d / f"{stem}.crt").write_bytes(b.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        (d / f"{stem}.key").write_bytes(pem_key(key))

    from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

    ip = ipaddress.ip_address
    leaf("apiserver", name("kube-apiserver"),
         [x509.DNSName("localhost"), x509.DNSName("kubernetes.default.svc"), x509.IPAddress(ip("127.0.0.1")),
          x509.IPAddress(ip("10.96.0.1"))], EKU.SERVER_AUTH)
    leaf("kubelet", name("kwok-kubelet"),
         [x509.DNSName(n) for n in NODES] + [x509.IPAddress(ip(a)) for a, _ in NODES.values()], EKU.SERVER_AUTH)
    leaf("apiserver-kubelet-client", name("kube-apiserver-kubelet-client", "system:masters"), [], EKU.CLIENT_AUTH)
    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (d / "sa.key").write_bytes(pem_key(sa))
    (d / "sa.pub").write_bytes(sa.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo))


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies, so a killed pytest (timeout, ^C twice)
    leaves no API server behind (Linux PR_SET_PDEATHSIG)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


class _Proc:
    """A control-plane process in its own process group, logging to work/<name>.log."""

    def __init__(self, name: str, argv: list[str], work: Path, env: dict[str, str] | None = None):
        self.name, self.log = name, work / f"{name}.log"
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True, env={**os.environ, **(env or {})},
                                          preexec_fn=_die_with_parent)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def tail(self, n: int = 600) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


class ClusterStartError(RuntimeError):
    pass


class TestCluster:
    """The running test cluster. Attributes: `kubeconfig` (Path; context `ambientctl-test`, admin),
    `server` (https URL), `admin_token`, `ca_cert` (Path), `work` (its temp dir, logs included), `nodes`
    (node names), `bins` (dir of the built binaries)."""

    __test__ = False  # not a test class

    def __init__(self, work: Path, bins: Path, etcd: str):
        self.work, self.bins, self.etcd_bin = work, bins, etcd
        self.nodes = list(NODES)
        self.admin_token = secrets.token_hex(16)
        self.ca_cert = work / "ca.crt"
        self.port = _free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = work / "kubeconfig"
        self.etcd_url = ""
        self.procs: list[_Proc] = []
        _write_certs(work)
        (work / "tokens.csv").write_text(f"{self.admin_token},ambientctl-admin,ambientctl-admin,system:masters\n")
        self.kubeconfig_for(self.admin_token, path=self.kubeconfig, context=CONTEXT)

    # --- kubeconfigs -------------------------------------------------------------------------------------
    def kubeconfig_for(self, token: str, *, path: Path | None = None, context: str = CONTEXT,
                       server: str | None = None) -> Path:
        """Write a kubeconfig using `token` (context `context`, current) and return its path."""
        path = path or self.work / f"kubeconfig-{context}-{secrets.token_hex(3)}"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": server or self.server,
                                                       "certificate-authority": str(self.ca_cert)}}],
            "users": [{"name": context, "user": {"token": token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        }))
        return path

    # --- processes ---------------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> _Proc:
        p = _Proc(name, argv, self.work, env)
        self.procs.append(p)
        return p

    def _etcd_argv(self, url: str, peer_port: int, data: Path) -> list[str]:
        peer = f"http://127.0.0.1:{peer_port}"
        return [self.etcd_bin, "--name=default", f"--data-dir={data}", f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}", f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}", "--unsafe-no-fsync=true", "--listen-metrics-urls="]

    def _apiserver_argv(self, port: int, etcd_url: str = "") -> list[str]:
        w = self.work
        return [str(self.bins / "kube-apiserver"), f"--etcd-servers={etcd_url or self.etcd_url}",
                f"--secure-port={port}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
                f"--tls-cert-file={w}/apiserver.crt", f"--tls-private-key-file={w}/apiserver.key",
                f"--client-ca-file={w}/ca.crt", f"--token-auth-file={w}/tokens.csv",
                "--authorization-mode=RBAC", "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={w}/sa.pub", f"--service-account-signing-key-file={w}/sa.key",
                f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
                "--kubelet-preferred-address-types=InternalIP", f"--kubelet-certificate-authority={w}/ca.crt",
                f"--kubelet-client-certificate={w}/apiserver-kubelet-client.crt",
                f"--kubelet-client-key={w}/apiserver-kubelet-client.key", "--profiling=false",
                # Nodes start untainted: no node-lifecycle controller runs to lift the not-ready taint.
                "--endpoint-reconciler-type=none", "--disable-admission-plugins=TaintNodesByCondition",
                # Debian's etcd 3.4 has no RequestWatchProgress, so streamed initial lists (WatchList) end in an
                # error after the first event; kwok's client-go 0.36 ignores KUBE_FEATURE_WatchListClient=false
                # and only saw new pods on its backed-off retries (2-55 s). Refusing WatchList here makes every
                # client fall back to LIST + WATCH at once.
                "--feature-gates=WatchList=false"]

    def _wait_ready(self, server: str, what: list[_Proc], timeout: float = 120) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        req = urllib.request.Request(server + "/readyz", headers={"Authorization": f"Bearer {self.admin_token}"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in what:
                if not p.alive():
                    raise ClusterStartError(f"{p.name} exited: {p.tail()}")
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=2) as r:
                    if r.read().strip() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise ClusterStartError(f"{server} not ready after {timeout:.0f}s: {what[-1].tail()}")

    def start(self) -> None:
        w = self.work
        etcd_port, peer_port = _free_port(), _free_port()
        self.etcd_url = f"http://127.0.0.1:{etcd_port}"
        self._spawn("etcd", self._etcd_argv(self.etcd_url, peer_port, w / "etcd"))
        api = self._spawn("kube-apiserver", self._apiserver_argv(self.port))
        self._wait_ready(self.server, [self.procs[0], api])
        kc = str(self.kubeconfig)
        self._spawn("kube-controller-manager", [
            str(self.bins / "kube-controller-manager"), f"--kubeconfig={kc}", "--leader-elect=false",
            "--secure-port=0", "--controllers=*,-nodelifecycle,-nodeipam", "--use-service-account-credentials=false",
            f"--service-account-private-key-file={w}/sa.key", f"--root-ca-file={w}/ca.crt",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--kube-api-qps=200", "--kube-api-burst=400",
            "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10"])
        self._spawn("kube-scheduler", [
            str(self.bins / "kube-scheduler"), f"--kubeconfig={kc}", "--leader-elect=false", "--secure-port=0"])
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(self._node_objects()))
        config = self._kwok_config()
        for node, (addr, _cidr) in NODES.items():
            kport = _free_port(addr)
            self._spawn(f"kwok-{node}", [
                str(self.bins / "kwok"), f"--kubeconfig={kc}", f"--config={MANIFESTS / 'kwok-stages.yaml'}",
                f"--config={config}", f"--manage-single-node={node}", f"--node-ip={addr}", f"--node-name={node}",
                f"--node-port={kport}", f"--server-address={addr}:{kport}", f"--tls-cert-file={w}/kubelet.crt",
                f"--tls-private-key-file={w}/kubelet.key"])
        self.wait_for(lambda: all(self._node_ready(n) for n in NODES), "nodes Ready", timeout=60)

    def _node_objects(self) -> list[dict]:
        return [{"apiVersion": "v1", "kind": "Node",
                 "metadata": {"name": node, "labels": {
                     "kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                     "topology.kubernetes.io/zone": f"zone-{i}", "type": "kwok"},
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"}},
                 "spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}
                for i, (node, (_addr, cidr)) in enumerate(NODES.items())]

    def _kwok_config(self) -> Path:
        """What kwok serves for the kubelet endpoints: logs of ztunnel's container are a real ztunnel access
        log; exec into pods of EXEC_NAMESPACES runs the command on this host (as this user) in a scratch dir
        (the fake containers have no filesystem), elsewhere it fails as on a node without exec; port-forward
        to any pod port echoes the bytes back (`cat`)."""
        scratch = self.work / "exec"
        scratch.mkdir(exist_ok=True)
        # kwok serves log files in the CRI format the kubelet reads (`<time> stdout F <line>`).
        ztunnel_log = self.work / "ztunnel-istio-proxy.log"
        lines = [ln for ln in (REALDATA / ZTUNNEL_LOG).read_text().splitlines() if ln and not ln.startswith("#")]
        ztunnel_log.write_text("".join(f"{ln.split(maxsplit=1)[0]} stdout F {ln}\n" for ln in lines))
        path = self.work / "kwok-endpoints.yaml"
        docs = [
            {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterLogs", "metadata": {"name": "ztunnel-logs"},
             "spec": {"selector": {"matchNamespaces": ["istio-system"]},
                      "logs": [{"containers": ["istio-proxy"], "logsFile": str(ztunnel_log),
                                "previousLogsFile": str(ztunnel_log), "follow": False}]}},
            {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterExec", "metadata": {"name": "exec-local"},
             "spec": {"selector": {"matchNamespaces": list(EXEC_NAMESPACES)},
                      "execs": [{"local": {"workDir": str(scratch)}}]}},
            {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterPortForward", "metadata": {"name": "echo"},
             "spec": {"forwards": [{"command": ["cat"]}]}},
        ]
        path.write_text(yaml.safe_dump_all(docs))
        return path

    def _node_ready(self, node: str) -> bool:
        out = self.kubectl("get", "node", node, "-o", "json", check=False)
        if not out:
            return False
        conds = json.loads(out).get("status", {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()
        self.procs = []

    @contextlib.contextmanager
    def extra_apiserver(self, *, own_etcd: bool = False) -> Iterator[tuple[str, Path, _Proc]]:
        """Another kube-apiserver, on this cluster's etcd or (`own_etcd`) on an empty one of its own (no CRDs,
        no objects): yields (server URL, admin kubeconfig, process); stopped on exit (or earlier through
        `process.stop()`)."""
        port = _free_port()
        server = f"https://127.0.0.1:{port}"
        procs: list[_Proc] = []
        etcd_url = self.etcd_url
        try:
            if own_etcd:
                client, peer = _free_port(), _free_port()
                etcd_url = f"http://127.0.0.1:{client}"
                procs.append(_Proc(f"etcd-{port}", self._etcd_argv(etcd_url, peer, self.work / f"etcd-{port}"),
                                   self.work))
            procs.append(_Proc(f"kube-apiserver-{port}", self._apiserver_argv(port, etcd_url), self.work))
            self._wait_ready(server, procs)
            yield server, self.kubeconfig_for(self.admin_token, context=CONTEXT, server=server), procs[-1]
        finally:
            for p in reversed(procs):
                p.stop()

    # --- API helpers -------------------------------------------------------------------------------------
    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                kubeconfig: Path | None = None) -> str:
        r = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig or self.kubeconfig), *args], input=input,
                           capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout if r.returncode == 0 else ""

    def apply(self, manifest: str | Path | list[dict]) -> str:
        """Server-side apply a YAML file, YAML text or a list of objects (as admin)."""
        if isinstance(manifest, Path):
            text = manifest.read_text()
        elif isinstance(manifest, list):
            text = yaml.safe_dump_all(manifest)
        else:
            text = manifest
        return self.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=ambientctl-tests",
                            "-f", "-", input=text)

    def wait_for(self, cond, what: str, timeout: float = 90, poll: float = 0.5) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                dead = [p.name for p in self.procs if not p.alive()]
                raise ClusterStartError(f"timed out after {timeout:.0f}s waiting for {what}"
                                        + (f" (exited: {', '.join(dead)})" if dead else ""))
            time.sleep(poll)

    def workloads_ready(self, namespaces: tuple[str, ...] = ("default", "istio-system")) -> bool:
        """Every Deployment and DaemonSet in `namespaces` has all its pods Ready (and at least one)."""
        for ns in namespaces:
            items = json.loads(self.kubectl("get", "deployments,daemonsets", "-n", ns, "-o", "json"))["items"]
            for o in items:
                st = o.get("status") or {}
                want = o["spec"].get("replicas", 1) if o["kind"] == "Deployment" else st.get("desiredNumberScheduled")
                got = st.get("readyReplicas") if o["kind"] == "Deployment" else st.get("numberReady")
                if not want or got != want:
                    return False
        return True

    def restricted_kubeconfig(self, name: str, rules: list[dict], namespace: str | None = None) -> Path:
        """A kubeconfig (context `name`) holding a ServiceAccount token whose only permissions are `rules`
        (RBAC PolicyRules), cluster-wide through a ClusterRole, or in `namespace` through a Role."""
        sa_ns = namespace or "default"
        scope = "Role" if namespace else "ClusterRole"
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        self.apply([
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": sa_ns}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": scope, "metadata": meta, "rules": rules},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{scope}Binding", "metadata": meta,
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": scope, "name": name},
             "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": sa_ns}]},
        ])
        token = self.kubectl("create", "token", name, "-n", sa_ns, "--duration=2h").strip()
        return self.kubeconfig_for(token, context=name)

    # --- the demo mesh -----------------------------------------------------------------------------------
    def load_mesh(self) -> None:
        crds = REALDATA / "istio-istio" / "crds"
        self.apply(crds / "gateway-api-crd.yaml")
        self.apply(crds / "istio-crd-all.gen.yaml")
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        self.apply(MANIFESTS / "istio-system.yaml")
        self.kubectl("label", "namespace", "default", "istio.io/dataplane-mode=ambient", "--overwrite")
        samples = REALDATA / "istio-istio" / "samples"
        for f in (samples / "head/bookinfo/platform/kube/bookinfo.yaml", samples / "istio-1.22.0/sleep/sleep.yaml",
                  samples / "istio-1.22.0/sleep/notsleep.yaml", MANIFESTS / "waypoint.yaml"):
            self.kubectl("apply", "-n", "default", "-f", str(f))
        self._waypoint_deployment("default", "waypoint")
        self.wait_for(self.workloads_ready, "Bookinfo, sleep, istiod, ztunnel and the waypoint to be Ready",
                      timeout=120)

    def _waypoint_deployment(self, namespace: str, gateway: str) -> None:
        """What istiod creates for a waypoint Gateway (its own generated manifests, from realdata), renamed to
        this Gateway and owned by it, plus the Gateway status istiod would write."""
        gw = json.loads(self.kubectl("get", "gateways.gateway.networking.k8s.io", gateway, "-n", namespace,
                                     "-o", "json"))
        src = REALDATA / "istio-istio/waypoint/generated-deployment/waypoint-deployment.yaml"
        generated = "namespace"  # the Gateway name in istio's golden

        def rename(v, key: str = ""):  # type: ignore[no-untyped-def]
            if isinstance(v, dict):
                return {k: rename(x, k) for k, x in v.items()}
            if isinstance(v, list):
                return [rename(x, key) for x in v]
            if isinstance(v, str) and key != "fieldPath":
                if v == generated:
                    return gateway
                if v.startswith(generated + ".") or v.endswith("/" + generated):
                    return v.replace(generated, gateway, 1) if v.startswith(generated) else \
                        v[: -len(generated)] + gateway
                if v == "test/proxyv2:test":
                    return "docker.io/istio/proxyv2:1.28.0"
            return v

        objs = []
        for d in yaml.safe_load_all(src.read_text()):
            if not d or d.get("kind") == "Gateway":
                continue
            d = rename(d)
            d["metadata"]["namespace"] = namespace
            for ref in d["metadata"].get("ownerReferences") or []:
                ref["uid"] = gw["metadata"]["uid"]
            objs.append(d)
        self.apply(objs)
        svc = json.loads(self.kubectl("get", "service", gateway, "-n", namespace, "-o", "json"))
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        gen = gw["metadata"].get("generation", 1)

        def cond(t: str, reason: str, msg: str) -> dict:
            return {"type": t, "status": "True", "reason": reason, "message": msg, "lastTransitionTime": now,
                    "observedGeneration": gen}

        status = {"addresses": [{"type": "IPAddress", "value": svc["spec"]["clusterIP"]},
                                {"type": "Hostname", "value": f"{gateway}.{namespace}.svc.cluster.local"}],
                  "conditions": [cond("Accepted", "Accepted", "Resource accepted"),
                                 cond("Programmed", "Programmed", "Resource programmed, assigned to service(s) "
                                      f"{gateway}.{namespace}.svc.cluster.local:15008")],
                  "listeners": [{"name": "mesh", "attachedRoutes": 0, "supportedKinds": [],
                                 "conditions": [cond("Accepted", "Accepted", "No errors found"),
                                                cond("Programmed", "Programmed", "No errors found")]}]}
        self.kubectl("patch", "gateways.gateway.networking.k8s.io", gateway, "-n", namespace, "--subresource=status",
                     "--type=merge", "-p", json.dumps({"status": status}))


def find_binaries() -> tuple[Path, str]:
    """The built control plane and etcd, or ClusterStartError saying what is missing."""
    etcd = shutil.which("etcd")
    if not etcd:
        raise ClusterStartError("etcd not installed (Debian etcd-server; run scripts/install-system-deps)")
    if not shutil.which("kubectl"):
        raise ClusterStartError("kubectl not installed (Debian kubernetes-client; run scripts/install-system-deps)")
    r = subprocess.run([str(REPO / "scripts/testcluster/build")], capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise ClusterStartError(f"scripts/testcluster/build failed: {last}")
    return Path(r.stdout.strip().splitlines()[-1]), etcd


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestCluster]:
    work = tmp_path_factory.mktemp("kube")
    cluster = None
    try:
        bins, etcd = find_binaries()
        cluster = TestCluster(work, bins, etcd)
        cluster.start()
        cluster.load_mesh()
    except (ClusterStartError, RuntimeError, subprocess.TimeoutExpired) as e:
        if cluster:
            cluster.stop()
        pytest.skip(f"test cluster unavailable: {str(e).strip().splitlines()[0][:400]}")
    previous = os.environ.get("AMBIENTCTL_TEST_KUBECONFIG")
    os.environ["AMBIENTCTL_TEST_KUBECONFIG"] = str(cluster.kubeconfig)
    try:
        yield cluster
    finally:
        if previous is None:
            os.environ.pop("AMBIENTCTL_TEST_KUBECONFIG", None)
        else:
            os.environ["AMBIENTCTL_TEST_KUBECONFIG"] = previous
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def kube_apiserver_stopped(kube_cluster: TestCluster) -> Path:
    """The kubeconfig of a real API server that answered and has since been stopped (nothing listens)."""
    with kube_cluster.extra_apiserver() as (_server, kubeconfig, proc):
        proc.stop()
    return kubeconfig
