"""`ambientctl snapshot save [-o PATH]`: write what the live source reads as manifests the snapshot source reads
back (`--snapshot PATH`), for tickets and offline debugging. Never Secrets (never read); ConfigMap data only for
Istio's mesh config (the only ConfigMaps read). Written atomically: a temp file (or directory) renamed into
place, so an interrupted save leaves nothing half-written."""

from __future__ import annotations

import argparse

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
    save.add_argument("-o", "--output", metavar="PATH", default=DEFAULT_PATH,
                      help=f"where to write (default: {DEFAULT_PATH}; .tar.gz, .json, a directory/ or YAML)")
    save.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    save.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    save.add_argument("--request-timeout", metavar="SECONDS", type=float, default=10.0,
                      help="give up on an unreachable API server after this long (default: 10)")
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


def write_atomically(path: str, files: dict[str, bytes]) -> None:
    """Write one file (key "") or a directory of files: into a temp sibling, then rename into place."""
    import os
    import shutil
    import tempfile

    from ambientctl.errors import InputError

    target = os.path.abspath(path.rstrip("/\\") or path)
    parent = os.path.dirname(target)
    tmp = ""
    try:
        if "" in files:
            if os.path.isdir(target):
                raise InputError(f"{path}: is a directory (end PATH with '/' to write one file per kind into it)")
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=".ambientctl-snapshot-")
            with os.fdopen(fd, "wb") as f:
                f.write(files[""])
            os.replace(tmp, target)
            return
        if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
            raise InputError(f"{path}: already exists and is not an empty directory")
        tmp = tempfile.mkdtemp(dir=parent, prefix=".ambientctl-snapshot-")
        for name, data in files.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        if os.path.isdir(target):
            os.rmdir(target)
        os.rename(tmp, target)
    except OSError as e:
        raise InputError(f"{path}: cannot write: {e.strerror or e}") from None
    finally:
        if tmp and os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True) if os.path.isdir(tmp) else os.unlink(tmp)


def run(args: argparse.Namespace) -> int:
    import sys

    from ambientctl.sources.kube import read_live

    read = read_live(args.context, args.kubeconfig, args.request_timeout)
    write_atomically(args.output, render(read, args.output))
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(read.items.items()) if v)
    print(f"wrote {args.output}: {counts} ({read.requests} API requests to {read.server})", file=sys.stderr)
    for kind, why in sorted(read.unreadable.items()):
        print(f"ambientctl: warning: {kind} not saved: {why}", file=sys.stderr)
    return 0
