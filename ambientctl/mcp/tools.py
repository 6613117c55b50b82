"""The tools `ambientctl mcp` offers: for each, a JSON schema of its arguments and a call to the very function
the CLI command uses, so an assistant gets the document `-o json` prints, byte for byte.

Read-only by construction: the cluster source is fixed when the server starts, no tool writes a file, and
nothing here attaches to or changes the cluster (live capture and trace add ephemeral containers, which needs
a person's consent, so they are not tools). File arguments are confined to one directory (--root) and must
be regular files: a device or FIFO could block the server or read what it should not."""

from __future__ import annotations

import argparse
import io
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ambientctl.errors import AmbientctlError, InputError, UsageError

FILES_NOTE = ("Paths are read, never written, and resolved against the server's file root (its --root, by default "
              "the directory it started in); paths outside it, devices, FIFOs and sockets are refused.")
SOURCE_NOTE = "Cluster state is the source the server was started with (--demo, --snapshot or a kubeconfig context)."


class Context:
    """What every tool call shares: the cluster source chosen at startup and the directory files are read from.
    A demo or snapshot is read once; a live cluster is re-read for every call, as the CLI does per command,
    so the answers follow the cluster."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.root = root
        self.live = not (args.demo or args.snapshot)
        self._view = None  # calls run one at a time (mcp.server), so no lock

    def load(self):  # type: ignore[no-untyped-def]
        """Read the source now (at startup: a source that fails stops the server with the CLI's message)."""
        from ambientctl.cli.state import load_view

        self._view = load_view(self.args)
        return self._view

    def view(self):  # type: ignore[no-untyped-def]
        if self.live or self._view is None:
            return self.load()
        return self._view

    def path(self, given: str, what: str, directory: bool = False) -> Path:
        """`given` resolved inside the root, an existing regular file (or directory); else a one-line error."""
        from ambientctl.errors import file_error

        p = (self.root / given).resolve()
        if not p.is_relative_to(self.root):
            raise UsageError(f"outside {self.root}, the directory this server reads files from", where=given,
                             hint="start it with --root DIR to read from another directory")
        try:
            st = p.stat()
        except OSError as e:
            raise file_error(given, e, what) from None
        if directory:
            if not stat.S_ISDIR(st.st_mode):
                raise InputError(f"the {what} is not a directory", where=given)
        elif not stat.S_ISREG(st.st_mode):
            raise InputError(f"the {what} is not a regular file (devices, FIFOs and sockets are refused)",
                             where=given)
        return p


@dataclass(frozen=True)
class Tool:
    name: str
    command: str  # the CLI command that prints the same document (its name starts the tool's error lines)
    title: str
    description: str
    schema: dict[str, Any]
    call: Callable[[Context, dict[str, Any]], tuple[dict[str, Any], str]]  # -> (document, its JSON text)


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def _str(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


NAMESPACE = _str("namespace (default: default)", minLength=1)
REQUEST = {
    "protocol": {"type": "string", "enum": ["http", "tcp"], "default": "http",
                 "description": "what the client speaks; tcp skips L7 routing and L7 policy matching"},
    "method": _str("HTTP method", default="GET", minLength=1),
    "path": _str("HTTP path", default="/", minLength=1),
}


def _json(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.output.envelope import to_json

    return doc, to_json(doc)


def _describe_pod(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.cli.commands.describe import pod_document

    return _json(pod_document(ctx.view(), a["name"], a.get("namespace")))


def _describe_service(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.cli.commands.describe import service_document

    return _json(service_document(ctx.view(), a["name"], a.get("namespace")))


def _describe_waypoint(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.cli.commands.describe import waypoint_document

    return _json(waypoint_document(ctx.view(), a["name"], a.get("namespace")))


def _explain(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.cli.commands.explain import explanation_document, parse_resolve

    resolve = parse_resolve([f"{host}={ip}" for host, ip in (a.get("resolve") or {}).items()])
    return _json(explanation_document(ctx.view(), a["src"], a["dst"], namespace=a.get("namespace"),
                                      port=a.get("port"), protocol=a.get("protocol", "http"),
                                      method=a.get("method", "GET"), path=a.get("path", "/"),
                                      headers=a.get("headers") or {}, resolve=resolve))


def _matrix(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.cli.commands.explain import matrix_document

    return _json(matrix_document(ctx.view(), a.get("namespace"), protocol=a.get("protocol", "http"),
                                 method=a.get("method", "GET"), path=a.get("path", "/")))


def _decode(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.cli.commands.decode import decode_document
    from ambientctl.output.decode_text import write_decode_json

    keylog = str(ctx.path(a["keylog"], "key log")) if a.get("keylog") else None
    doc, _result = decode_document(str(ctx.path(a["file"], "capture")), keylog)
    out = io.StringIO()
    write_decode_json(doc, out)  # the layout `decode -o json` writes
    return doc, out.getvalue()


def _logs(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.cli.commands.logs import log_document

    # absolute paths: a file the user calls "-" must never become the server's own stdin (the MCP stream)
    return _json(log_document([str(ctx.path(f, "log")) for f in a["files"]], with_events=True))


def _trace_from(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.trace.replay import MANIFEST, open_saved

    root = ctx.path(a["directory"], "saved trace", directory=True)
    for name in (MANIFEST, "trace.json"):  # the two files open_saved reads
        if (root / name).exists() or (root / name).is_symlink():
            ctx.path(f"{a['directory'].rstrip('/')}/{name}", "saved trace's file")
    return _json(open_saved(root))


def _bundle_manifest(ctx: Context, a: dict[str, Any]) -> tuple[dict[str, Any], str]:
    from ambientctl.bundle.read import read_bundle

    bundle = read_bundle(ctx.path(a["file"], "bundle"))  # what --snapshot BUNDLE reads: members checked too
    if bundle is None:
        raise InputError("not an ambientctl bundle (a .tar.gz with a manifest.json)", where=a["file"])
    return _json(bundle.manifest)


TOOLS: list[Tool] = [
    Tool("describe_pod", "describe pod", "Describe a pod (ambientctl describe pod)",
         "How Istio ambient mode sees one pod: mesh membership and why, node and ztunnel, SPIFFE identity, "
         "services, waypoint binding, the policies that apply and where each is enforced, PeerAuthentication, "
         "routes and findings. The PodDescription document of `ambientctl describe pod NAME -o json`. "
         + SOURCE_NOTE,
         _obj({"name": _str("exact pod name, deploy/NAME (a deployment's first ready pod), or an app label "
                            "value that picks one workload; NAME.NAMESPACE works too", minLength=1),
               "namespace": NAMESPACE}, ("name",)),
         _describe_pod),
    Tool("describe_service", "describe service", "Describe a service (ambientctl describe service)",
         "Which waypoint a service's traffic goes through and why (the label that bound it and istiod's "
         "istio.io/WaypointBound condition), per traffic type, whether ingress gateways use it, the policies that "
         "waypoint enforces for it, routes, canaries and findings. The ServiceDescription document of `ambientctl "
         "describe service NAME -o json`. " + SOURCE_NOTE,
         _obj({"name": _str("service name, svc/NAME, NAME.NAMESPACE, NAMESPACE/NAME or its FQDN", minLength=1),
               "namespace": NAMESPACE}, ("name",)),
         _describe_service),
    Tool("describe_waypoint", "describe waypoint", "Describe a waypoint (ambientctl describe waypoint)",
         "What binds to a waypoint and why (services and workloads per traffic type, and what asks for it but is "
         "refused, with istiod's reason), its readiness, identity and pods, the policies it enforces, routes, "
         "canaries and findings. The WaypointDescription document of `ambientctl describe waypoint NAME -o "
         "json`. " + SOURCE_NOTE,
         _obj({"name": _str("the waypoint Gateway's name (NAME.NAMESPACE, NAMESPACE/NAME) or one of its pods",
                            minLength=1),
               "namespace": NAMESPACE}, ("name",)),
         _describe_waypoint),
    Tool("explain", "explain", "Explain a request (ambientctl explain)",
         "Without sending traffic: the path a request from SRC to DST takes and the verdict (allow, deny, "
         "hairpin) — which component decides (destination ztunnel, waypoint), by which policy and rule, and why, "
         "for the Istio version in use. The Explanation document of `ambientctl explain SRC DST -o json`; a deny "
         "is an answer, not an error. " + SOURCE_NOTE,
         _obj({"src": _str("client: a workload (sleep, deploy/sleep.default, pod/NAME) or an IP (an IP of no "
                           "pod is a client outside the mesh)", minLength=1),
               "dst": _str("destination: a service (productpage, productpage.default:9080, its FQDN or VIP), a "
                           "workload (addressed by pod IP), IP:PORT, or a host outside the cluster (httpbin.org:443)",
                           minLength=1),
               "namespace": _str("namespace of SRC and DST names given without one (default: default)",
                                 minLength=1),
               "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                        "description": "destination port (or give DST:PORT)"},
               **REQUEST,
               "headers": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "HTTP request headers, name to value"},
               "resolve": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "host to IP: what the upstream resolver answers for a host outside the "
                           "cluster that no ServiceEntry gives an address (as curl --resolve)"}},
              ("src", "dst")),
         _explain),
    Tool("explain_matrix", "explain", "Allow/deny matrix of a namespace (ambientctl explain --matrix)",
         "Every workload of a namespace against every service port in it, as an allow/deny table with the "
         "deciding policy per cell. The ExplanationMatrix document of `ambientctl explain --matrix -n NS -o "
         "json`. " + SOURCE_NOTE,
         _obj({"namespace": NAMESPACE, **REQUEST}),
         _matrix),
    Tool("decode", "decode", "Decode a capture file (ambientctl decode)",
         "Offline decode of a pcap/pcapng: TCP flows, TLS hello metadata, HBONE tunnels and, with an NSS key log "
         "(or one embedded in the pcapng), the CONNECT authority, response status, inner HTTP request and both "
         "SPIFFE IDs. The Decode document of `ambientctl decode FILE -o json`; a damaged capture is decoded up "
         "to the damage (damaged: true). " + FILES_NOTE,
         _obj({"file": _str("pcap or pcapng capture", minLength=1),
               "keylog": _str("NSS key log (SSLKEYLOGFILE format) to decrypt TLS 1.3", minLength=1)}, ("file",)),
         _decode),
    Tool("logs_parse", "logs parse", "Parse ztunnel/waypoint logs (ambientctl logs parse)",
         "ztunnel logs (any format since 1.18) and waypoint Envoy access logs joined into connections: the "
         "observed path, the verdict, and for every error a stable code, its meaning and a next step. The "
         "LogReport document of `ambientctl logs parse FILE... -o json`. " + FILES_NOTE,
         _obj({"files": {"type": "array", "minItems": 1, "items": _str("log file", minLength=1),
                         "description": "log files, e.g. both ztunnels' and the waypoint's"}}, ("files",)),
         _logs),
    Tool("trace_from", "trace", "Re-open a saved trace (ambientctl trace --from)",
         "The story of one request saved earlier with `ambientctl trace --keep DIR`: predicted and observed "
         "path, packets and proxy logs joined hop by hop. The Trace document of `ambientctl trace --from DIR -o "
         "json`; no live trace is run (that attaches capture containers and needs a person's consent). "
         + FILES_NOTE,
         _obj({"directory": _str("directory written by trace --keep", minLength=1)}, ("directory",)),
         _trace_from),
    Tool("bundle_manifest", "mcp", "Read a support bundle's manifest (ambientctl bundle)",
         "The manifest.json of a support bundle written by `ambientctl bundle`: what it covers, versions, the "
         "command line, files with checksums, redaction counts and what could not be collected. "
         + FILES_NOTE,
         _obj({"file": _str("bundle .tar.gz", minLength=1)}, ("file",)),
         _bundle_manifest),
]
BY_NAME = {t.name: t for t in TOOLS}


def check_arguments(tool: Tool, arguments: dict[str, Any]) -> None:
    """The arguments against the tool's schema; the first problem as one line."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(tool.schema).iter_errors(arguments),
                    key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        e = errors[0]
        raise UsageError(e.message, where=".".join([tool.name, *(str(p) for p in e.absolute_path)]))


def call(ctx: Context, name: str, arguments: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str, bool]:
    """Run one tool: (document, text, is_error). Errors are the line the CLI prints for the same failure; a bug
    is one line too (the traceback goes to stderr, which MCP clients keep as the server's log)."""
    from ambientctl.errors import error_line

    tool = BY_NAME.get(name)
    if tool is None:
        return None, error_line("mcp", UsageError(f"no tool {name!r}", hint=f"tools: {', '.join(BY_NAME)}")), True
    try:
        args = dict(arguments or {})
        try:
            check_arguments(tool, args)
        except UsageError as e:
            return None, error_line("mcp", e), True
        doc, text = tool.call(ctx, args)
        return doc, text, False
    except AmbientctlError as e:
        return None, error_line(tool.command, e), True
    except Exception as e:  # a bug: say so in one line, keep serving
        import traceback

        traceback.print_exc(file=sys.stderr)
        return None, error_line("mcp", RuntimeError(f"internal error in {name}: {type(e).__name__}: {e}")), True


def file_root(given: str | None) -> Path:
    from ambientctl.errors import os_reason

    root = Path(given or os.getcwd()).expanduser()
    try:
        resolved = root.resolve(strict=True)
    except OSError as e:
        raise UsageError(os_reason(e), where=f"--root {root}") from None
    if not resolved.is_dir():
        raise UsageError("not a directory", where=f"--root {root}")
    return resolved
