"""`ambientctl trace SRC DST` against the real API server of the test cluster (kube-apiserver + kwok,
tests/cluster/fixture.py): ephemeral capture containers PATCHed into sleep, productpage and the waypoint, tcpdump
streamed out of each through exec, the request fired through exec in sleep's capture container, ztunnel's log
read through the API, then decoded, correlated and saved.

What is real and what is not: kwok runs exec'd commands on this host, so every "pod" shares this host's network —
the tests point the captures at loopback (-i lo) and the request at a local HTTP server, never at pod IPs (which
would leave the machine). The logs are a real ztunnel access log that kwok serves for istio-system pods. So the
API-server side (PATCH, exec streams, logs, RBAC) is exercised for real; the in-pod network namespaces are not."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ambientctl.cli.main import main

pytestmark = pytest.mark.live


class _Productpage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>productpage</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_app():  # type: ignore[no-untyped-def]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Productpage)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


def _run(argv: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_live_trace_end_to_end_and_reopened_from_the_saved_dir(kube_cluster, local_app: int, tmp_path,  # type: ignore[no-untyped-def]
                                                              capsys) -> None:
    port = local_app
    keep = tmp_path / "saved"
    code, out, err = _run(["trace", "sleep", "productpage:9080", "--kubeconfig", str(kube_cluster.kubeconfig),
                           "--yes", "--request", f"curl -sS -o /dev/null -w '%{{http_code}}' "
                           f"http://127.0.0.1:{port}/productpage", "-i", "lo", "-f", f"tcp port {port}",
                           "--duration", "10", "--keep", str(keep), "-o", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "Trace"
    client = doc["observed"]["client"]
    assert client["status"] == 200 and client["exit"] == 0 and "127.0.0.1" in client["command"]
    files = doc["artifacts"]["files"]
    pcaps = [f for f in files if f["kind"] == "pcap"]
    assert {f["pod"].split("/")[1].split("-")[0] for f in pcaps} >= {"sleep", "productpage"}
    from ambientctl.decode import decode_file

    seen = [f for f in pcaps if any(fl.server[1] == port for fl in decode_file(str(keep / f["file"])).flows)]
    assert seen, "no capture saw the request's TCP connection"
    Path_ = type(keep)
    (Path_(os.environ.get("AMBIENTCTL_TRACE_DUMP", "/dev/null"))).write_text(out)
    logs = [f for f in files if f["kind"] == "log"]
    assert any(f["source"].startswith("ztunnel-") for f in logs), logs
    assert doc["artifacts"]["directory"] == str(keep.resolve())
    assert not [m for m in doc["missing"] if "capture" in m], doc["missing"]
    # the saved trace re-opens offline as the same report
    code, out2, err = _run(["trace", "--from", str(keep), "-o", "json"], capsys)
    assert code == 0 and json.loads(out2) == doc
    names = sorted(p.name for p in keep.iterdir())
    assert "manifest.json" in names and "trace.json" in names and any(n.endswith(".pcap") for n in names)


def test_unreadable_logs_and_a_dying_tcpdump_are_missing_evidence(kube_cluster, local_app: int, tmp_path,  # type: ignore[no-untyped-def]
                                                                  capsys) -> None:
    """A token that may read everything, patch ephemeral containers and exec, but not read logs; and a filter
    tcpdump rejects: the trace still ends with a report that names each missing piece."""
    read = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}
    kc = kube_cluster.restricted_kubeconfig("trace-no-logs", [
        {**read, "resources": ["pods", "services", "namespaces", "nodes", "configmaps", "endpoints",
                               "serviceaccounts"]},
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
    ])
    # "*" resources includes pods/log for get: take it away by listing what may be read explicitly instead
    kc = kube_cluster.restricted_kubeconfig("trace-no-logs2", [
        {"apiGroups": ["", "apps", "networking.istio.io", "security.istio.io", "gateway.networking.k8s.io",
                       "gateway.networking.x-k8s.io", "telemetry.istio.io", "extensions.istio.io",
                       "apiextensions.k8s.io", "discovery.k8s.io"],
         "resources": ["pods", "services", "namespaces", "nodes", "configmaps", "endpoints", "serviceaccounts",
                       "deployments", "daemonsets", "replicasets", "statefulsets", "authorizationpolicies",
                       "peerauthentications", "requestauthentications", "virtualservices", "destinationrules",
                       "serviceentries", "workloadentries", "sidecars", "gateways", "httproutes", "grpcroutes",
                       "tcproutes", "tlsroutes", "referencegrants", "customresourcedefinitions",
                       "endpointslices", "telemetries", "wasmplugins", "envoyfilters", "proxyconfigs",
                       "workloadgroups", "backendtlspolicies", "gatewayclasses", "xbackendtrafficpolicies"],
         "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]},
    ])
    code, out, err = _run(["trace", "sleep", "productpage:9080", "--kubeconfig", str(kc), "--yes",
                           "--request", f"curl -sS -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{local_app}/",
                           "-i", "lo", "-f", "tcp port ((( nonsense", "--duration", "8", "-o", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    missing = doc["missing"]
    assert any(m.startswith("log of istio-system/ztunnel-") and "403" in m for m in missing), missing
    assert any(m.startswith("capture ") and "tcpdump" in m for m in missing), missing
    assert doc["observed"]["client"]["status"] == 200
    assert doc["artifacts"]["directory"] == ""


def test_ctrl_c_while_waiting_reports_and_keeps_a_usable_trace(kube_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    keep = tmp_path / "interrupted"
    bpf = f"tcp port {20000 + secrets.randbelow(20000)}"  # names this run's tcpdumps among any others on the host
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    p = subprocess.Popen([sys.executable, "-m", "ambientctl", "trace", "sleep", "productpage:9080", "--kubeconfig",
                          str(kube_cluster.kubeconfig), "--yes", "--wait", "-i", "lo", "-f", bpf,
                          "--duration", "60", "--keep", str(keep), "-o", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True,
                         # a CI job started in the background inherits SIGINT ignored, and Python keeps it so
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # kwok runs the exec'd tcpdumps on this host: once they run, the capture phase has begun
        deadline = time.monotonic() + 60
        while subprocess.run(["pgrep", "-f", f"tcpdump -U -n -p -w - -i lo {bpf}"],
                             capture_output=True).returncode != 0:
            assert time.monotonic() < deadline and p.poll() is None, p.stderr.read() if p.poll() is not None else ""
            time.sleep(0.2)
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err
    assert out, err
    doc = json.loads(out)
    assert any("interrupted" in n for n in doc["notes"])
    assert b"interrupted" in err
    reopened = subprocess.run([sys.executable, "-m", "ambientctl", "trace", "--from", str(keep), "-o", "json"],
                              capture_output=True, env=env, timeout=60)
    assert reopened.returncode == 0 and json.loads(reopened.stdout) == doc


def test_capture_containers_refused_by_pod_security_still_give_a_report(kube_cluster, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Pod Security 'restricted' on the namespace: netshoot with NET_RAW is refused before anything is patched;
    the trace still reports — the prediction, the proxies' logs — and says what is missing and why."""
    kc = str(kube_cluster.kubeconfig)
    kube_cluster.kubectl("label", "namespace", "default", "pod-security.kubernetes.io/enforce=restricted",
                         "--overwrite")
    try:
        # notsleep and ratings: pods no other test attaches to (a container already there is reused, no check)
        code, out, err = _run(["trace", "notsleep", "ratings:9080", "--kubeconfig", kc, "--yes", "--duration", "5",
                               "-o", "json"], capsys)
    finally:
        kube_cluster.kubectl("label", "namespace", "default", "pod-security.kubernetes.io/enforce-")
    assert code == 0, err
    doc = json.loads(out)
    missing = doc["missing"]
    assert any(m.startswith("no capture container in default/notsleep-") and "restricted" in m for m in missing), \
        missing
    assert any(m.startswith("the request was not sent") for m in missing), missing
    assert doc["explanation"]["verdict"] == "allow" and doc["observed"]["verdict"] == "unknown"
    assert any(f["kind"] == "log" and f["source"].startswith("ztunnel-") for f in doc["artifacts"]["files"])
