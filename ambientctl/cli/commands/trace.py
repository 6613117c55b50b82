"""`ambientctl trace SRC DST`: the story of one request — the path explain predicts, the packets, what the
ztunnels and the waypoint logged — joined hop by hop into one verdict with its evidence. `--demo` replays
recordings made from the HBONE lab's real captures; `--from DIR` re-opens a trace saved with `--keep`.
Exit code 3 when the observed verdict is deny."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import (
    OUTPUT_FORMATS,
    add_namespace_option,
    add_source_options,
    non_empty,
    seconds,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="follow one request: predicted vs observed path, packets and proxy logs, one story",
        description="Trace a request from SRC to DST: explain the expected path, capture packets where they "
        "pass, fire the request (or wait for yours), read the ztunnel and waypoint logs of that time window, "
        "decode and correlate them, and tell what happened at each hop beside what was predicted. On a terminal "
        "this opens the trace screen; with -o or in a pipe it prints the report.",
        epilog="Examples: ambientctl trace --demo   (sleep → productpage through the waypoint);  ambientctl trace "
        "notsleep productpage:9080 --demo bookinfo-l4;  ambientctl trace sleep productpage:9080 --demo "
        "--method DELETE -o json;  ambientctl trace --from ./saved.  Exit status 3 means denied.",
    )
    p.add_argument("src", metavar="SRC", nargs="?", help="client workload or IP")
    p.add_argument("dst", metavar="DST", nargs="?", help="service[:port], workload or IP[:port]")
    p.add_argument("--port", type=int, metavar="N", help="destination port (or DST:PORT)")
    p.add_argument("--protocol", choices=("http", "tcp"), default="http", help="what the client speaks")
    p.add_argument("--method", default=None, metavar="METHOD", help="HTTP method (default: GET)")
    p.add_argument("--path", default=None, metavar="PATH", help="HTTP path (default: /)")
    p.add_argument("--header", action="append", default=[], metavar="K=V", help="HTTP request header (repeatable)")
    p.add_argument("--request", metavar="'curl ...'",
                   help="command run in the source pod's capture container to make the request (default: a GET "
                   "to DST)")
    p.add_argument("--wait", action="store_true", help="do not send anything: capture while you make the request")
    p.add_argument("--duration", type=seconds, default=15.0, metavar="SECONDS",
                   help="how long captures run at most (default: 15)")
    p.add_argument("--yes", action="store_true",
                   help="attach ephemeral capture containers without asking (they cannot be removed)")
    p.add_argument("--image", metavar="IMG", type=non_empty, help="capture container image (default: nicolaka/netshoot; needs sh, "
                   "timeout, tcpdump and curl for the default request)")
    p.add_argument("--start-timeout", type=seconds, default=90.0, metavar="S",
                   help="how long to wait for a capture container to run (default: 90)")
    p.add_argument("-i", "--interface", metavar="IF", type=non_empty, help="capture on IF at every point instead of the planned "
                   "interfaces")
    p.add_argument("-f", "--filter", metavar="BPF", help="tcpdump filter for every point instead of the planned ones")
    p.add_argument("--keep", metavar="DIR", type=non_empty, help="save pcaps, key logs, logs and trace.json in DIR (re-open with "
                   "--from DIR)")
    p.add_argument("--force", action="store_true", help="with --keep: replace DIR if it is not empty")
    p.add_argument("--from", dest="from_dir", metavar="DIR", type=non_empty, help="re-open a trace saved with --keep")
    add_namespace_option(p)
    p.add_argument("-o", "--output", choices=OUTPUT_FORMATS, default=None,
                   help="output format (default: the trace screen on a terminal, text otherwise)")
    add_source_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ambientctl.errors import EXIT_DENIED, EXIT_INTERRUPTED, UsageError

    interrupted = False
    if args.keep is not None:  # checked before anything is captured
        from ambientctl.outfile import check_target

        args.keep = check_target(args.keep, "--keep", force=args.force, directory=True)
    if args.from_dir:
        if args.demo or args.snapshot or args.src or args.dst:
            raise UsageError("--from DIR re-opens a saved trace; it takes no SRC/DST, --demo or --snapshot")
        from pathlib import Path

        from ambientctl.trace.replay import open_saved

        doc = open_saved(Path(args.from_dir))
        _show(doc, args.output)
    elif args.demo:
        doc = _demo(args)
        _show(doc, args.output)
    else:
        if args.snapshot:
            raise UsageError("trace observes a live cluster: --snapshot has no packets or logs (use --demo, or "
                             "--from DIR for a saved trace)")
        if not args.src or not args.dst:
            raise UsageError("give SRC and DST (or --demo, or --from DIR)")
        import tempfile

        # the evidence lives here until the report has been shown: the trace screen reads the pcaps from it
        with tempfile.TemporaryDirectory(prefix="ambientctl-trace-") as work:
            doc, interrupted = _live(args, work)
            _show(doc, args.output, evidence_dir=work)
    if interrupted:
        print("ambientctl: interrupted; the report covers what was captured until then"
              + (f" (saved in {args.keep.path})" if args.keep else ""), file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_DENIED if doc["observed"]["verdict"] == "deny" else 0


def _show(doc: dict, fmt: str | None, evidence_dir: str | None = None) -> None:
    """The report: the trace screen on a terminal, else text/json/yaml. `evidence_dir`: where the files of a
    live trace are while it is shown (a temporary directory when not kept with --keep)."""
    import sys

    from ambientctl.output.envelope import emit
    from ambientctl.output.trace_text import render_trace

    if fmt is None and sys.stdout.isatty() and sys.stdin.isatty():
        from ambientctl.tui.trace_app import run_trace_app

        arts = doc.get("artifacts") or {}
        if evidence_dir and not arts.get("directory"):
            doc = dict(doc, artifacts=dict(arts, directory=evidence_dir))
        run_trace_app(doc)
    else:
        emit(doc, fmt or "text", render_trace)


def _headers(args: argparse.Namespace) -> dict[str, str]:
    from ambientctl.errors import UsageError

    headers = {}
    for h in args.header:
        k, sep, v = h.partition("=")
        if not sep or not k:
            raise UsageError(f"--header {h!r}: expected NAME=VALUE")
        headers[k] = v
    return headers


def _recorded(demo: str) -> list[dict]:
    from ambientctl.errors import UsageError
    from ambientctl.trace.replay import demo_index

    recorded = [r for r in demo_index() if r["demo"] == demo]
    if not recorded:
        names = sorted({r["demo"] for r in demo_index()})
        raise UsageError(f"no recorded traces for demo {demo!r} (recorded: {', '.join(names)})")
    return recorded


def _demo(args: argparse.Namespace) -> dict:

    from ambientctl.cli.state import load_view
    from ambientctl.errors import UsageError
    from ambientctl.explain.engine import explain

    if args.request or args.wait:
        raise UsageError("--demo replays recorded requests: --request and --wait need a live cluster")
    recorded = _recorded(args.demo)
    view = load_view(args)
    headers = _headers(args)
    if (args.src is None) != (args.dst is None):
        raise UsageError("give both SRC and DST, or neither (the demo's first recorded request)")
    chosen = recorded[0] if args.src is None and args.method is None else None
    if chosen is None:
        want = explain(view, args.src or recorded[0]["src"], args.dst or recorded[0]["dst"],
                       namespace=args.namespace, port=args.port, protocol=args.protocol,
                       method=args.method or "GET", path=args.path or "/", headers=headers)
        for r in recorded:
            got = explain(view, r["src"], r["dst"], method=r["method"])
            if (got["source"].get("name"), got["destination"].get("name"), got["destination"].get("port"),
                    got["request"].get("method")) == (want["source"].get("name"), want["destination"].get("name"),
                                                      want["destination"].get("port"),
                                                      want["request"].get("method")):
                chosen = r
                break
        if chosen is None:
            listing = "; ".join(f"{r['src']} → {r['dst']} {r['method']}" for r in recorded)
            raise UsageError(f"demo {args.demo} has no recording of that request (recorded: {listing})")
    return _replay(view, chosen, args.protocol, headers, args.keep)


def _replay(view, chosen: dict, protocol: str, headers: dict[str, str], keep) -> dict:  # type: ignore[no-untyped-def]
    """The Trace document of one demo recording, explained against `view`; saved in `keep` if given."""
    from ambientctl.explain.engine import explain
    from ambientctl.output.envelope import envelope
    from ambientctl.trace.build import build_trace
    from ambientctl.trace.replay import (
        artifacts_of,
        demo_root,
        load_recording,
        log_roles,
        missing_of,
        save_trace,
    )

    rec = load_recording(demo_root() / chosen["name"])
    rec_meta = rec.meta
    req = rec_meta["request"]
    exp = explain(view, rec_meta["src"], rec_meta["dst"], method=req["method"], path=req["path"],
                  protocol=protocol, headers=headers)
    body = build_trace(exp, rec.captures, rec.events, log_sources=log_roles(list(rec.log_files), exp),
                       client=rec_meta.get("client"),
                       artifacts=artifacts_of(rec, keep.absolute if keep else None),
                       missing=missing_of(rec),
                       notes=[f"replayed demo recording {rec.name}: {rec_meta.get('title', '')}",
                              *rec_meta.get("notes", [])])
    body["request"] = {"command": req.get("command"), "method": req["method"], "path": req["path"]}
    doc = envelope("Trace", body)
    if keep is not None:
        save_trace(keep, rec, doc)
    return doc


def demo_tracer(demo: str):  # type: ignore[no-untyped-def]
    """For the interactive app on a demo: trace(view, src_pod_key, dst_ref, confirm, progress) replays the
    recording of that pair (GET first), or says which pairs were recorded. None when the demo has none."""
    from ambientctl.errors import UsageError
    from ambientctl.explain.engine import explain
    from ambientctl.trace.replay import demo_index

    if not any(r["demo"] == demo for r in demo_index()):
        return None

    def trace(view, src_key: str, dst_ref: str, confirm=None, progress=None) -> dict:  # type: ignore[no-untyped-def]
        recorded = _recorded(demo)
        want = explain(view, _pod_ref(src_key), dst_ref)
        for r in sorted(recorded, key=lambda r: r["method"] != "GET"):
            got = explain(view, r["src"], r["dst"], method=r["method"])
            if (got["source"].get("namespace"), got["source"].get("name"), got.get("endpoint")) == (
                    want["source"].get("namespace"), want["source"].get("name"), want.get("endpoint")):
                return _replay(view, r, "http", {}, None)
        listing = "; ".join(f"{r['src']} → {r['dst']} {r['method']}" for r in recorded)
        raise UsageError(f"demo {demo} has no recording from {src_key} to {dst_ref} (recorded: {listing})")

    return trace


def live_tracer(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """For the interactive app on a live cluster: trace(view, src_pod_key, dst_ref, confirm, progress) runs a
    live trace with the app's context; the evidence stays in a temporary directory until the app exits."""
    import atexit
    import shutil
    import tempfile

    def trace(view, src_key: str, dst_ref: str, confirm, progress) -> dict:  # type: ignore[no-untyped-def]
        work = tempfile.mkdtemp(prefix="ambientctl-trace-")
        atexit.register(shutil.rmtree, work, True)
        targs = argparse.Namespace(**{**vars(args), **TRACE_DEFAULTS, "src": _pod_ref(src_key), "dst": dst_ref,
                                      "namespace": None})
        doc, _ = _live(targs, work, view=view, confirm=confirm, progress=progress)
        arts = doc.get("artifacts") or {}
        return dict(doc, artifacts=dict(arts, directory=arts.get("directory") or work))

    return trace


# trace's own options, as the parser defaults them (the interactive app has no command line for them)
TRACE_DEFAULTS = {"port": None, "protocol": "http", "method": None, "path": None, "header": [], "request": None,
                  "wait": False, "duration": 15.0, "yes": False, "keep": None, "force": False, "image": None,
                  "start_timeout": 90.0, "interface": None, "filter": None}


def _pod_ref(key: str) -> str:
    ns, _, name = key.partition("/")
    return f"pod/{name}.{ns}" if name else key


def _live(args: argparse.Namespace, work_dir: str, view=None, confirm=None,  # type: ignore[no-untyped-def]
          progress=None) -> tuple[dict, bool]:
    """Capture, fire, read logs, decode and correlate on the cluster, with the evidence in `work_dir`; returns
    (Trace doc, interrupted). The interactive app passes its view, its own confirmation and progress display."""
    from pathlib import Path

    from ambientctl.capture.attach import DEFAULT_IMAGE
    from ambientctl.capture.plan import plan_pair
    from ambientctl.cli.commands.capture import Status, consent
    from ambientctl.cli.state import load_view
    from ambientctl.errors import UsageError
    from ambientctl.explain.engine import explain
    from ambientctl.output.envelope import envelope
    from ambientctl.sources.kube_exec import connect
    from ambientctl.trace.build import build_trace
    from ambientctl.trace.live import LiveOptions, record_live
    from ambientctl.trace.replay import artifacts_of, load_recording, log_roles, missing_of, save_trace

    if args.request and args.wait:
        raise UsageError("--request fires a request and --wait waits for yours: give one of them")
    if args.duration <= 0:
        raise UsageError(f"--duration {args.duration:g}: must be more than 0 seconds")
    keep = args.keep
    if isinstance(keep, str):  # the interactive app's options are not checked by run()
        from ambientctl.outfile import check_target

        keep = check_target(keep, "--keep", force=getattr(args, "force", False), directory=True)
    view = view if view is not None else load_view(args)
    exp = explain(view, args.src, args.dst, namespace=args.namespace, port=args.port, protocol=args.protocol,
                  method=args.method or "GET", path=args.path or "/", headers=_headers(args))
    plan = plan_pair(view, args.src, args.dst, args.namespace, args.port)
    api = connect(args.kubeconfig, args.context, args.request_timeout)
    image = args.image or DEFAULT_IMAGE
    opts = LiveOptions(request=args.request, wait=args.wait, duration=args.duration, image=image,
                       start_timeout=args.start_timeout, interface=args.interface, bpf=args.filter)
    work = Path(work_dir)
    status = Status() if progress is None else None

    def ask(creates) -> None:  # type: ignore[no-untyped-def]
        if args.yes:
            return
        if confirm is not None:
            confirm(creates)
            return
        with status.paused():  # type: ignore[union-attr]
            consent(creates, image)

    say = progress or status.update  # type: ignore[union-attr]
    try:
        live = record_live(api, plan, exp, opts, work, confirm=ask, progress=say)
        say("decoding the captures and correlating")
        rec = load_recording(work)
        body = build_trace(exp, rec.captures, rec.events, log_sources=log_roles(list(rec.log_files), exp),
                           client=live.client, artifacts=artifacts_of(rec, keep.absolute if keep else ""),
                           missing=live.missing + missing_of(rec), notes=list(live.notes))
        body["request"] = {"command": rec.meta["request"]["command"], "method": exp["request"]["method"],
                           "path": exp["request"]["path"]}
        doc = envelope("Trace", body)
        if keep is not None:
            save_trace(keep, rec, doc)
    finally:
        if status is not None:
            status.close()
    return doc, live.interrupted
