"""`ambientctl bundle [POD | SRC DST]`: one redacted .tar.gz for a ticket — the JSON reports (describe, explain,
the namespace matrix, a saved trace), the cluster state they were computed from (re-readable with `--snapshot
BUNDLE`), ztunnel/waypoint logs of the window and ztunnel config dumps (live), captures — and a manifest with
versions, the command line, checksums, redaction counts and what could not be collected."""

from __future__ import annotations

import argparse
import re

from ambientctl.cli.options import add_namespace_option, add_source_options, non_empty

DURATION = re.compile(r"^(\d+)(s|m|h)$")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bundle",
        help="write a redacted support bundle (.tar.gz) for a pod, a request or a namespace",
        description="Collect what a support ticket needs into one .tar.gz: the JSON reports (describe for a pod; "
        "describe of both ends and explain for SRC DST; describe of every pod and the explain matrix for a "
        "namespace), the cluster state they come from, on a live cluster the ztunnel and waypoint logs of the "
        "last --since and ztunnel config dumps, a saved trace with its captures (--trace-from). Of the cluster "
        "state only the fields the reports read are kept (docs/bundle.md); credentials in what stays (tokens, "
        "passwords, Authorization/Cookie headers, private keys) are replaced; captures keep packet headers only "
        "(--include-payloads) and TLS key logs stay out (--include-keys). Any command re-reads the bundle with "
        "--snapshot BUNDLE, which checks every member against the manifest's sha256.",
        epilog="Examples: ambientctl bundle productpage-v1 --demo;  ambientctl bundle sleep productpage:9080 -w "
        "ticket-1234.tar.gz;  ambientctl bundle -n bookinfo --since 1h;  ambientctl explain sleep productpage "
        "--snapshot ticket-1234.tar.gz",
    )
    p.add_argument("targets", metavar="TARGET", nargs="*",
                   help="a pod, or SRC DST (a request); none: the whole namespace (-n, default 'default')")
    p.add_argument("-w", "--write", metavar="FILE", type=non_empty, help="where to write, - for stdout (default: "
                   "./ambientctl-bundle-<UTC time>.tar.gz; an existing file only with --force)")
    p.add_argument("--force", action="store_true",
                   help="replace FILE if it exists (never a symbolic link, a device or a file being read)")
    p.add_argument("--since", default="15m", metavar="DURATION",
                   help="log window on a live cluster, like kubectl logs --since (default: 15m)")
    p.add_argument("--trace-from", metavar="DIR", type=non_empty, help="add a trace saved with 'trace --keep DIR' (report, "
                   "captures, logs)")
    p.add_argument("--include-keys", action="store_true",
                   help="keep TLS key logs of the trace's captures (they decrypt the traffic: share with care)")
    p.add_argument("--include-payloads", action="store_true",
                   help="keep the packets of the trace's captures whole (default: headers only, cut after the "
                   "TCP/UDP header, as payloads may hold credentials)")
    p.add_argument("--port", type=int, metavar="N", help="destination port for SRC DST (or DST:PORT)")
    add_namespace_option(p)
    add_source_options(p)
    p.set_defaults(func=run)


def _seconds(text: str) -> int:
    from ambientctl.errors import UsageError

    m = DURATION.match(text.strip())
    if not m:
        raise UsageError(f"--since {text!r}: expected a duration like 30s, 15m or 2h")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    from ambientctl.bundle.write import BundleContents, manifest, write_bundle
    from ambientctl.errors import UsageError
    from ambientctl.words import count

    if len(args.targets) > 2:
        raise UsageError("give a pod, a SRC DST pair, or nothing (the namespace)")
    since = _seconds(args.since)
    from ambientctl.outfile import check_target

    path = time.strftime("ambientctl-bundle-%Y%m%d-%H%M%S.tar.gz", time.gmtime()) if args.write is None \
        else args.write
    out = check_target(path, "-w", force=args.force, inputs=[args.snapshot, args.trace_from, args.kubeconfig])
    if not out.is_stream and not path.endswith((".tar.gz", ".tgz")):
        raise UsageError(f"-w {path}: a bundle is a .tar.gz")
    contents = BundleContents()
    progress = _progress()
    view, source, live = _state(args, contents, progress)
    target, pods = _reports(args, view, contents, progress)
    if args.trace_from:
        _add_trace(args.trace_from, args.include_keys, args.include_payloads, contents)
    if live is not None:
        _proxy_evidence(live, view, pods, since, contents, progress)
    else:
        contents.missing.append(f"proxy logs and ztunnel config dumps: {source['description']} is not a live "
                                "cluster")
    versions = {"istio": str(view.version), "istioVersionFrom": view.install.version_source}
    if live is not None and live.get("kubernetes"):
        versions["kubernetes"] = live["kubernetes"]
    man = manifest(contents, target=target, source=source, command=["ambientctl", *sys.argv[1:]],
                   versions=versions)
    size = write_bundle(out, contents, man)
    red = sum(contents.redactions.values())
    say = sys.stderr if out.is_stream else sys.stdout  # `-w -`: the bundle itself is on stdout
    print(f"wrote {path}" + ("" if out.is_stream else f" ({size / 1024:.0f} KiB)")
          + f": {count(len(contents.files), 'file')}, {count(red, 'value')} redacted, {len(contents.excluded)} excluded"
          + ("" if contents.missing else ", nothing missing"), file=say)
    for what in contents.missing:  # say what is missing, not only how much (manifest.json lists it too)
        print(f"  missing: {what}", file=say)
    return 0


def _progress():  # type: ignore[no-untyped-def]
    import sys

    def say(text: str) -> None:
        if sys.stderr.isatty():
            print(f"ambientctl: {text}", file=sys.stderr)

    return say


def _state(args: argparse.Namespace, contents, progress):  # type: ignore[no-untyped-def]
    """Read the cluster state once: the snapshot that goes into the bundle and the view the reports use."""
    from collections import Counter
    from importlib import resources
    from pathlib import Path

    from ambientctl.bundle import SNAPSHOT_DIR
    from ambientctl.bundle.allow import snapshot_documents, ztunnel_state
    from ambientctl.mesh.view import MeshView
    from ambientctl.sources.ztunnel_state import looks_like_ztunnel_state

    live = None
    if args.demo and args.snapshot:
        from ambientctl.errors import UsageError

        raise UsageError("--demo and --snapshot are alternatives; give one")
    if args.demo:
        from ambientctl.sources.demo import load_demo
        from ambientctl.sources.files import iter_documents

        cluster = load_demo(args.demo)
        with resources.as_file(resources.files("ambientctl.demo") / "data" / args.demo) as p:
            docs = [d for _o, d in iter_documents(Path(p))]
    elif args.snapshot:
        from ambientctl.bundle.read import read_bundle
        from ambientctl.sources.files import decode_documents, iter_documents, load_snapshot

        cluster = load_snapshot(args.snapshot)
        bundle = read_bundle(Path(args.snapshot))
        if bundle is not None:  # a bundle of a bundle: its verified snapshot
            docs = [d for name, data in bundle.snapshot for _o, d in decode_documents(data, name)]
        else:
            docs = [d for _o, d in iter_documents(Path(args.snapshot))]
    else:
        from ambientctl.sources.kube import cluster_from_read, read_live

        progress("reading the cluster")
        read = read_live(args.context, args.kubeconfig, args.request_timeout)
        cluster = cluster_from_read(read)
        docs = [it for kind in sorted(read.items) for it in read.items[kind]]
        live = {"kubeconfig": args.kubeconfig, "context": args.context, "timeout": args.request_timeout,
                "server": read.server}
    state = docs[0] if len(docs) == 1 and looks_like_ztunnel_state(docs[0]) else None
    if state is not None:  # a ztunnel's own view: carried as it is, without its certificates
        kept, left_out = [], Counter()
        contents.add_snapshot(f"{SNAPSHOT_DIR}ztunnel-state.json", ztunnel_state(state, contents.redactions))
        contents.excluded.append(f"{SNAPSHOT_DIR}ztunnel-state.json: the ztunnel's certificates and own config "
                                 "(only its localNode is kept)")
    else:
        kept, left_out = snapshot_documents(docs, contents.redactions)
        contents.add_snapshot(f"{SNAPSHOT_DIR}cluster.json", {"apiVersion": "v1", "kind": "List", "items": kept})
    if left_out:
        contents.excluded.append(f"{SNAPSHOT_DIR}: left out, as no report reads them: " + ", ".join(
            f"{n} {kind}" for kind, n in sorted(left_out.items())) + "; of the rest only the fields the model "
            "reads are kept (docs/bundle.md)")
    source = {"description": cluster.source, "unreadable": dict(cluster.unreadable),
              "absentKinds": list(cluster.absent_kinds)}
    view = MeshView(cluster, istio_version=args.istio_version)
    return view, source, live


def _reports(args: argparse.Namespace, view, contents, progress):  # type: ignore[no-untyped-def]
    """The JSON reports for the target; returns (target description, pods involved)."""
    from ambientctl.errors import UsageError
    from ambientctl.explain.pod import describe_pod
    from ambientctl.mesh.refs import resolve_pod
    from ambientctl.output.envelope import envelope
    from ambientctl.plugins import registry
    from ambientctl.plugins.findings import add_plugin_findings
    from ambientctl.words import count

    def describe(pod) -> None:  # type: ignore[no-untyped-def]
        doc = envelope("PodDescription", add_plugin_findings(view, pod, describe_pod(view, pod), registry()))
        contents.add_json(f"reports/describe-{pod.meta.namespace}-{pod.meta.name}.json", doc)

    if len(args.targets) == 1:
        pod = resolve_pod(view.cluster, args.targets[0], args.namespace)
        progress(f"describing {pod.meta.key}")
        describe(pod)
        return {"kind": "Pod", "pod": pod.meta.key}, [pod]
    if len(args.targets) == 2:
        from ambientctl.explain.engine import explain

        src, dst = args.targets
        body = explain(view, src, dst, namespace=args.namespace, port=args.port)
        contents.add_json("reports/explain.json", envelope("Explanation", body))
        pods = []
        for end in (body.get("source") or {}, {"name": body.get("endpoint")}):
            name = end.get("name") or ""
            pod = next((p for p in view.cluster.pods if p.meta.key == name or (
                p.meta.name == name and p.meta.namespace == end.get("namespace"))), None)
            if pod is not None and pod not in pods:
                describe(pod)
                pods.append(pod)
        return {"kind": "Request", "src": src, "dst": dst, "port": args.port}, pods
    from ambientctl.explain.matrix import matrix

    ns = args.namespace or "default"
    pods = view.cluster.pods_in(ns)
    if ns not in view.cluster.namespaces and not pods:
        raise UsageError(f"namespace {ns!r} has no workloads")
    progress(f"describing {count(len(pods), 'pod')} in {ns} and explaining every pair")
    for pod in pods:
        describe(pod)
    contents.add_json(f"reports/matrix-{ns}.json", envelope("ExplanationMatrix", matrix(
        view, ns, protocol="http", method="GET", path="/")))  # what `explain --matrix` prints by default
    return {"kind": "Namespace", "namespace": ns}, list(pods)


def _add_trace(directory: str, include_keys: bool, include_payloads: bool, contents) -> None:  # type: ignore[no-untyped-def]
    """A saved trace's report, captures (headers only unless include_payloads), logs and key logs (only with
    include_keys). Only files inside the trace directory are read: a manifest naming `../x`, `/abs/path` or a
    link leading out gets a `missing` entry instead."""
    import json
    from pathlib import Path

    from ambientctl.bundle.pcap import headers_only
    from ambientctl.errors import InputError, file_error
    from ambientctl.trace.replay import open_saved

    root = Path(directory)
    doc = open_saved(root)
    contents.add_json("reports/trace.json", doc)
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"not a readable saved-trace manifest: {e}", where=str(root / "manifest.json")) from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        raise InputError("'files' must be a list of file names", where=str(root / "manifest.json"))
    for name in files:
        if name == "trace.json":
            continue
        path = _inside(root, name)
        if isinstance(path, str):
            contents.missing.append(f"trace file {name!r} listed in {root / 'manifest.json'}: {path}; not copied")
            continue
        try:
            data = path.read_bytes()
        except OSError as e:
            raise file_error(path, e, "saved trace file") from None
        if name.endswith((".pcap", ".pcapng")):
            try:
                data, cut = headers_only(data, f"{root / name}", include_keys, include_payloads)
            except InputError as e:
                contents.excluded.append(f"captures/{name}: {e} — cannot be cut to headers, so left out")
                continue
            contents.files[f"captures/{name}"] = data
            if not include_payloads:
                contents.truncated.append({"file": f"captures/{name}", "packets": cut.packets,
                                           "payloadBytesRemoved": cut.payload_bytes,
                                           "blocksDropped": cut.dropped_blocks})
        elif name.endswith(".log"):
            contents.add_text(f"logs/trace/{name}", data.decode("utf-8", "replace"))
        elif name == "recording.json":
            try:
                contents.add_json("reports/trace-recording.json", json.loads(data))
            except ValueError as e:
                raise InputError(f"not JSON: {e}", where=str(path)) from None
        else:
            contents.add_file(f"captures/{name}", data, include_keys)


def _inside(root, name):  # type: ignore[no-untyped-def]
    """The regular file `name` names inside `root`, or why it is not one."""
    import os
    import stat
    from pathlib import Path, PurePosixPath

    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return "not a file name"
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or name.startswith("~"):
        return "outside the trace directory"
    real, top = os.path.realpath(root / rel), os.path.realpath(root)
    if os.path.commonpath([real, top]) != top:
        return "a link leading outside the trace directory"
    try:
        st = os.stat(real)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return Path(real)


def _proxy_evidence(live: dict, view, pods, since: int, contents, progress) -> None:  # type: ignore[no-untyped-def]
    """ztunnel logs and config dumps for the nodes of `pods`, and the logs of the waypoints in their namespaces."""
    from ambientctl.errors import AmbientctlError
    from ambientctl.sources.kube_exec import connect

    api = connect(live["kubeconfig"], live["context"], live["timeout"])
    try:
        live["kubernetes"] = api.server_version()
    except AmbientctlError as e:  # a version is nice to have, never a reason to fail the bundle
        contents.missing.append(f"Kubernetes version: {e}")
    proxies = {}
    for pod in pods:
        zt = view.ztunnel_for(pod)
        if zt is not None:
            proxies[zt.meta.key] = ("ztunnel", zt)
    namespaces = {p.meta.namespace for p in pods}
    for p in view.cluster.pods:
        if p.meta.namespace in namespaces and "gateway.networking.k8s.io/gateway-name" in p.meta.labels and \
                p.meta.labels.get("gateway.istio.io/managed") == "istio.io-mesh-controller":
            proxies[p.meta.key] = ("waypoint", p)
    for key, (role, pod) in sorted(proxies.items()):
        progress(f"reading the log of {key}")
        try:
            text = api.pod_logs(pod.meta.namespace, pod.meta.name, "istio-proxy", since_seconds=since)
            contents.add_text(f"logs/{pod.meta.namespace}/{pod.meta.name}.log", text)
        except AmbientctlError as e:
            contents.missing.append(f"log of {key} ({role}): {e}")
        if role != "ztunnel":
            continue
        progress(f"reading the config dump of {key}")
        try:
            import json

            body = api.http_get(pod.meta.namespace, pod.meta.name, 15000, "/config_dump")
            contents.add_json(f"ztunnel/{pod.meta.name}/config_dump.json", json.loads(body))
        except (AmbientctlError, ValueError) as e:
            contents.missing.append(f"config dump of {key} (admin port 15000): {e}")
