"""`ambientctl snapshot save [-o PATH]`: write what the live source reads as manifests the snapshot source reads
back (`--snapshot PATH`), for tickets and offline debugging. Never Secrets (never read); ConfigMap data only for
Istio's mesh config (the only ConfigMaps read). Written through ambientctl.outfile: an existing PATH only with
--force, atomically (a temp file or directory renamed into place), nothing left behind when interrupted."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import non_empty, seconds

DEFAULT_PATH = "ambientctl-snapshot.yaml"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshot", help="save the cluster state ambientctl reads, for offline use (--snapshot)",
                       description="Work with snapshots of the cluster state ambientctl reads.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    save = verbs.add_parser(
        "save", help="write the live cluster's state to a file",
        description="Read the live cluster (as describe and explain do) and write every object read to PATH: "
        "a .tar.gz archive, a .json List, a directory (PATH ending in '/': one file per kind) or otherwise one "
        "multi-document YAML file. Secrets are never read; ConfigMap data only for Istio's mesh config.",
        epilog="Example: ambientctl snapshot save -o cluster.tar.gz && ambientctl describe pod x --snapshot "
        "cluster.tar.gz")
    save.add_argument("-o", "--output", metavar="PATH", default=DEFAULT_PATH, type=non_empty,
                      help=f"where to write (default: {DEFAULT_PATH}; .tar.gz, .json, a directory/ or YAML)")
    save.add_argument("--force", action="store_true",
                      help="replace PATH if it exists (never a symbolic link, a device or the kubeconfig)")
    save.add_argument("--context", metavar="NAME", type=non_empty, help="kubeconfig context to use")
    save.add_argument("--kubeconfig", metavar="PATH", type=non_empty, help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    save.add_argument("--request-timeout", metavar="SECONDS", type=seconds, default=10.0,
                      help="the most the read may take: every request, credential plugin and body read together "
                      "(default: 10)")
    save.set_defaults(func=run)


def _file_name(kind: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in kind).lstrip("-") + "s.yaml"


def render(read, path: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """The files to write for a LiveRead: {relative name: bytes}; a single "" entry for one-file formats."""
    import io
    import json
    import tarfile
    import time

    import yaml

    header = (f"# ambientctl snapshot of context {read.context} ({read.server}), "
              f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
    if read.unreadable:
        header += "".join(f"# not readable: {k}: {why}\n" for k, why in sorted(read.unreadable.items()))
    per_kind = {_file_name(k): header + yaml.safe_dump_all(items, sort_keys=False)
                for k, items in sorted(read.items.items()) if items}
    if path.endswith(("/", "\\")):
        return {name: text.encode() for name, text in per_kind.items()}
    if path.endswith((".tar.gz", ".tgz")):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            for name, text in per_kind.items():
                data = text.encode()
                info = tarfile.TarInfo(f"snapshot/{name}")
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
                t.addfile(info, io.BytesIO(data))
        return {"": buf.getvalue()}
    items = [it for kind in sorted(read.items) for it in read.items[kind]]
    if path.endswith(".json"):
        return {"": json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1).encode()}
    return {"": (header + yaml.safe_dump_all(items, sort_keys=False)).encode()}


def write_atomically(path: str, files: dict[str, bytes], force: bool = False, inputs: tuple[str, ...] = ()) -> None:
    """Write one file (key "") or a directory of files through ambientctl.outfile: into a hidden temp sibling,
    then renamed into place; an existing path only with `force`, never a link, a device or one of `inputs`."""
    from ambientctl.outfile import check_target, output_directory, write_output

    if "" in files:
        write_output(check_target(path, "-o", force=force, inputs=inputs), files[""])
        return
    with output_directory(check_target(path, "-o", force=force, inputs=inputs, directory=True)) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)


def run(args: argparse.Namespace) -> int:
    import sys

    from ambientctl.outfile import check_target
    from ambientctl.sources.kube import kubeconfig_paths, read_live

    inputs = kubeconfig_paths(args.kubeconfig)
    check_target(args.output, "-o", force=args.force, inputs=inputs, directory=args.output.endswith(("/", "\\")))
    read = read_live(args.context, args.kubeconfig, args.request_timeout)
    write_atomically(args.output, render(read, args.output), args.force, inputs)
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(read.items.items()) if v)
    print(f"wrote {args.output}: {counts} ({read.requests} API requests to {read.server})", file=sys.stderr)
    for kind, why in sorted(read.unreadable.items()):
        print(f"ambientctl: warning: {kind} not saved: {why}", file=sys.stderr)
    return 0
