#!/usr/bin/env python3
"""Live-source budget (design.md §6) on a real API server: the test cluster (tests/cluster/fixture.py: real
kube-apiserver, controllers, scheduler, etcd, kwok nodes) grown to ~2,000 running pods behind 500 services
with 100 AuthorizationPolicies, measured against baselines in the same run:

- the live read (`load_live`: discovery + one list per kind) in-process, and its API request count;
- `ambientctl describe pod productpage-v1 --kubeconfig` end to end, next to `kubectl get pods -A -o json`
  (one list of the biggest kind, the floor for any live tool) and to describe on a snapshot saved from the
  same cluster (`--snapshot`, no network).

usage: bench/live_bench.py [--services 500] [--replicas 4] [--policies 100] [--runs 3] [--keep]
(starts its own cluster, ~1-3 min to reach 2,000 Running pods on 2 cores; --keep leaves it up and prints the
kubeconfig)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
AMBIENTCTL = str(Path(sys.executable).parent / "ambientctl")


def workload_objects(services: int, replicas: int, policies: int, per_namespace: int = 25) -> list[dict]:
    """`services` Deployments (`replicas` pods each) with a Service each, spread over ambient namespaces of
    `per_namespace` services, and `policies` ALLOW AuthorizationPolicies selecting them."""
    objs: list[dict] = []
    namespaces = (services + per_namespace - 1) // per_namespace
    for n in range(namespaces):
        objs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": f"bench-{n:02d}", "labels": {"istio.io/dataplane-mode": "ambient"}}})
    for i in range(services):
        ns, app = f"bench-{i // per_namespace:02d}", f"svc-{i:03d}"
        labels = {"app": app, "version": "v1", "bench": "live"}
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns,
                                                                        "labels": {"app": app}},
                     "spec": {"selector": {"app": app},
                              "ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}})
        objs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": ns},
                     "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                              "template": {"metadata": {"labels": labels},
                                           "spec": {"containers": [{"name": "app", "image": "example/app:1",
                                                                    "ports": [{"containerPort": 8080}]}]}}}})
    for i in range(policies):
        ns, app = f"bench-{i // per_namespace:02d}", f"svc-{i:03d}"
        objs.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                     "metadata": {"name": f"allow-{app}", "namespace": ns},
                     "spec": {"selector": {"matchLabels": {"app": app}}, "action": "ALLOW",
                              "rules": [{"from": [{"source": {"principals": [
                                  f"cluster.local/ns/{ns}/sa/default"]}}],
                                  "to": [{"operation": {"methods": ["GET"], "ports": ["8080"]}}]}]}})
    return objs


def grow(cluster, services: int, replicas: int, policies: int) -> int:  # type: ignore[no-untyped-def]
    """Create the bench workloads and wait until every pod runs; returns the number of pods in the cluster."""
    import json

    objs = workload_objects(services, replicas, policies)
    ns = [o for o in objs if o["kind"] == "Namespace"]
    cluster.apply(ns)
    rest = [o for o in objs if o["kind"] != "Namespace"]
    for i in range(0, len(rest), 300):  # kubectl apply of a few hundred objects at a time
        cluster.apply(rest[i:i + 300])
    want = services * replicas
    t = time.monotonic()

    def running() -> int:
        out = cluster.kubectl("get", "pods", "-A", "-l", "bench=live", "--field-selector=status.phase=Running",
                              "-o", "name")
        return len(out.splitlines())

    cluster.wait_for(lambda: running() >= want, f"{want} bench pods Running", timeout=900, poll=5)
    print(f"{want} bench pods Running after {time.monotonic() - t:.0f}s", file=sys.stderr)
    return len(json.loads(cluster.kubectl("get", "pods", "-A", "-o", "json"))["items"])


def timed(cmd: list[str], runs: int, ok: tuple[int, ...] = (0, 3)) -> float:
    subprocess.run(cmd, capture_output=True)  # warm-up (and the page cache)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True)
        samples.append(time.perf_counter() - t)
        if r.returncode not in ok:
            raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-300:]}")
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=500)
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--policies", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    args = ap.parse_args()

    from ambientctl.sources.kube import load_live
    from tests.cluster.fixture import TestCluster, find_binaries

    work = Path(tempfile.mkdtemp(prefix="ambientctl-live-bench-"))
    bins, etcd = find_binaries()
    cluster = TestCluster(work, bins, etcd)
    try:
        cluster.start()
        cluster.load_mesh()
        pods = grow(cluster, args.services, args.replicas, args.policies)
        kc = str(cluster.kubeconfig)
        samples, requests = [], 0
        for _ in range(args.runs + 1):
            t = time.perf_counter()
            c = load_live(kubeconfig=kc)
            samples.append(time.perf_counter() - t)
            requests = c.api_requests  # type: ignore[attr-defined]
        read = statistics.median(samples[1:])
        kubectl_pods = timed(["kubectl", "--kubeconfig", kc, "get", "pods", "-A", "-o", "json"], args.runs)
        describe = timed([AMBIENTCTL, "describe", "pod", "productpage-v1", "-n", "default", "--kubeconfig", kc,
                          "-o", "json"], args.runs)
        snap = work / "snap.json"
        subprocess.run([AMBIENTCTL, "snapshot", "save", "-o", str(snap), "--kubeconfig", kc], check=True,
                       capture_output=True)
        offline = timed([AMBIENTCTL, "describe", "pod", "productpage-v1", "-n", "default", "--snapshot", str(snap),
                         "-o", "json"], args.runs)
        print(f"cluster: {pods} pods, {len(c.services)} services, {len(c.authorization_policies)} "
              f"AuthorizationPolicies, {len(c.nodes)} kwok nodes ({bins.parent.name})")
        print(f"live read (in-process load_live): {read * 1000:7.0f} ms, {requests} API requests")
        print(f"kubectl get pods -A -o json:       {kubectl_pods * 1000:7.0f} ms  (baseline)")
        print(f"describe pod --kubeconfig:         {describe * 1000:7.0f} ms  = {describe / kubectl_pods:.2f}x baseline")
        print(f"describe pod --snapshot (saved):   {offline * 1000:7.0f} ms  = {offline / kubectl_pods:.2f}x baseline")
        if args.keep:
            print(f"cluster left running: KUBECONFIG={kc}; ^C stops it", file=sys.stderr)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
