"""Capture containers against the real API server of the test cluster (kube-apiserver + kwok as kubelet,
tests/cluster/fixture.py): the strategic-merge PATCH on pods/ephemeralcontainers puts netshoot into the pod spec
as `kubectl debug` would, a second prepare reuses it, kwok reports it running (the `pod-ephemeral-running` stage
plays the kubelet), and exec streams a real tcpdump pcap back through the API server's websocket (kwok runs exec
for pods in `default`/`istio-system` on this host, so tcpdump sees this host's loopback — the bytes are real, the
pod is not). PSA labels and unknown pods are refused with one line before anything is patched."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time

import pytest

from ambientctl.capture import attach as at
from ambientctl.errors import InputError

pytestmark = pytest.mark.live


@pytest.fixture
def kube(kube_cluster):  # type: ignore[no-untyped-def]
    from ambientctl.sources.kube_exec import connect

    return connect(str(kube_cluster.kubeconfig), None, 10)


def _pod(kube, ns: str, name: str):  # type: ignore[no-untyped-def]
    from kubernetes import client

    nodes = kube.core.list_node().items
    assert nodes, "the test cluster has no nodes"
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, namespace=ns),
        spec=client.V1PodSpec(node_name=nodes[0].metadata.name, containers=[
            client.V1Container(name="app", image="example/app:1")],
            tolerations=[client.V1Toleration(operator="Exists")]))
    kube.core.create_namespaced_pod(ns, pod)
    deadline = time.monotonic() + 30
    while kube.read_pod(ns, name).get("status", {}).get("phase") != "Running":
        assert time.monotonic() < deadline, f"pod {ns}/{name} did not become Running"
        time.sleep(0.3)


@pytest.fixture
def running_pod(kube):  # type: ignore[no-untyped-def]
    """A fresh Running pod in `default`, where kwok serves exec (on this host)."""
    name = f"web-{secrets.token_hex(3)}"
    _pod(kube, "default", name)
    try:
        yield name
    finally:
        kube.core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


@pytest.fixture
def fresh_namespace(kube):  # type: ignore[no-untyped-def]
    from kubernetes import client

    ns = f"actl-cap-{secrets.token_hex(3)}"
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    try:
        _pod(kube, ns, "web")
        yield ns
    finally:
        kube.core.delete_namespace(ns)


@contextlib.contextmanager
def loopback_traffic():  # type: ignore[no-untyped-def]
    """A loopback listener and a client connecting to it every 50 ms until the block ends: something for
    tcpdump -i lo to see (kwok runs the exec'd tcpdump on this host). Yields the listener's port."""
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        listener.settimeout(0.2)

        def serve() -> None:
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    listener.accept()[0].close()

        def poke() -> None:
            while not stop.is_set():
                with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                    c.sendall(b"ambientctl-live-capture")
                time.sleep(0.05)

        threads = [threading.Thread(target=serve, daemon=True), threading.Thread(target=poke, daemon=True)]
        for t in threads:
            t.start()
        try:
            yield port
        finally:
            stop.set()
            for t in threads:
                t.join()


def test_patch_adds_the_container_runs_it_and_streams_a_pcap(kube, running_pod: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ambientctl.capture.stream import PcapStreamWriter, StreamState, pump, tcpdump_command
    from ambientctl.decode.engine import decode_file

    a = at.prepare(kube, "default", running_pod, target="app")
    assert a.action == "create"
    at.attach(kube, a)
    spec = kube.read_pod("default", running_pod)["spec"]
    eph = {c["name"]: c for c in spec.get("ephemeralContainers") or []}
    assert eph[a.container]["image"] == at.DEFAULT_IMAGE
    assert eph[a.container]["targetContainerName"] == "app"
    assert eph[a.container]["securityContext"]["capabilities"]["add"] == ["NET_RAW"]
    again = at.prepare(kube, "default", running_pod, target="app")
    assert (again.action, again.container) == ("reuse", a.container)
    seen: list[str] = []
    at.wait_running(kube, a, timeout=30, poll=0.3, progress=seen.append)

    with loopback_traffic() as port:
        src = kube.exec_stream("default", running_pod, a.container,
                               tcpdump_command("lo", f"tcp port {port}", duration=10, count=12))
        pcap = tmp_path / "live.pcap"
        with pcap.open("wb") as out:
            state = StreamState("live", PcapStreamWriter(out))
            pump(src, state, threading.Event(), stderr_of=src.stderr_text)
    assert not state.error, state.error
    assert state.writer.packets == 12
    assert state.remote_pid is not None  # the shell's PID came back on stderr through the exec stream
    flows = decode_file(str(pcap)).flows
    assert flows and all(f.server[1] == port for f in flows)


def test_exec_the_node_refuses_ends_the_capture_with_the_servers_reason(kube, fresh_namespace: str,
                                                                       tmp_path) -> None:  # type: ignore[no-untyped-def]
    """kwok serves exec only in default/istio-system here, like a kubelet that refuses exec: the websocket opens,
    then the API server's Failure status arrives instead of output. The capture must end with that reason on
    the point (not an empty file and no error), and leave no file behind."""
    from ambientctl.capture.plan import CapturePoint
    from ambientctl.capture.session import run_capture
    from ambientctl.model import objects as o

    a = at.prepare(kube, fresh_namespace, "web", target="app")
    at.attach(kube, a)
    at.wait_running(kube, a, timeout=30, poll=0.3)
    pod = o.Pod(meta=o.Meta(kind="Pod", name="web", namespace=fresh_namespace))
    point = CapturePoint(pod, "pod", "eth0", "", ["plaintext"], "test", container="app")
    path = str(tmp_path / "refused.pcap")
    runs, interrupted = run_capture(kube, [point], {pod.meta.key: a}, [path], 5, None, threading.Event())
    assert not interrupted
    err = runs[0].state.error
    assert err.startswith(f"exec in {fresh_namespace}/web ({a.container}) failed: ") and "no exec found" in err
    assert "\n" not in err and not os.path.exists(path) and runs[0].path == ""


def test_psa_restricted_namespace_is_refused_by_label(kube, fresh_namespace: str) -> None:
    kube.core.patch_namespace(fresh_namespace, {"metadata": {"labels": {at.PSA_ENFORCE: "restricted"}}})
    with pytest.raises(InputError, match="'restricted'"):
        at.prepare(kube, fresh_namespace, "web")
    assert not kube.read_pod(fresh_namespace, "web")["spec"].get("ephemeralContainers")


def test_unknown_pod_on_the_cluster(kube, running_pod: str) -> None:
    from ambientctl.errors import NotFound

    with pytest.raises(NotFound, match="no pod 'nosuch'"):
        at.prepare(kube, "default", "nosuch")


def test_capture_command_end_to_end(kube, kube_cluster, running_pod: str, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`ambientctl capture POD --kubeconfig ... --yes` as a user types it: live read, plan, PATCH, wait, exec
    tcpdump, stream to the -w file, report as JSON."""
    import json

    from ambientctl.cli.main import main

    out = tmp_path / "web.pcap"
    with loopback_traffic() as port:
        code = main(["capture", f"pod/{running_pod}", "-n", "default", "--kubeconfig", str(kube_cluster.kubeconfig),
                     "--yes", "-i", "lo", "-f", f"tcp port {port}", "-c", "8", "--duration", "20",
                     "-w", str(out), "-o", "json"])
    res = capsys.readouterr()
    assert code == 0, res.err
    doc = json.loads(res.out)
    assert doc["kind"] == "CaptureResult"
    [point] = doc["points"]
    assert point["pod"] == f"default/{running_pod}" and point["packets"] == 8 and point["error"] is None
    assert point["file"] == str(out)
    from ambientctl.decode.engine import decode_file

    assert {f.server[1] for f in decode_file(str(out)).flows} == {port}
