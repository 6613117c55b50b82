"""`ambientctl capture TARGET | SRC DST`: capture packets where they are visible for the cluster's Istio era
(ksniff-like, but it knows the ambient data path), through ephemeral netshoot containers, into pcap files or
stdout. `--plan` shows where it would capture without touching the cluster."""

from __future__ import annotations

import argparse

from ambientctl.cli.options import (
    add_force_option,
    add_namespace_option,
    add_output_option,
    add_source_options,
    non_empty,
    seconds,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "capture",
        help="capture packets from a pod, a node's ztunnel, or both ends of a request (pcap)",
        description="Capture packets where the ambient data path makes them visible: for Istio 1.21+ (in-pod "
        "redirection) HBONE on the pod's eth0 and the plaintext legs on its loopback; for older clusters "
        "plaintext on the app pod's eth0 and HBONE on the node's ztunnel; waypoints on their eth0. tcpdump runs "
        "in an ephemeral container (nicolaka/netshoot) attached to each pod — ephemeral containers cannot be "
        "removed, so ambientctl asks first (or --yes), reuses its container on later runs, and bounds every "
        "tcpdump inside the pod (--duration, --count) so it ends even if ambientctl does not.",
        epilog="TARGET: a pod ([KIND/]NAME[.NS]), ztunnel/NODE or node/NODE (the ztunnel on that node), or SRC DST "
        "(both ends of a request, their ztunnels and the waypoint). Files are valid pcaps even after Ctrl-C. "
        "Examples: ambientctl capture sleep productpage:9080 --plan --demo; ambientctl capture deploy/sleep -w - "
        "-i any --yes | wireshark -k -i -",
    )
    p.add_argument("targets", metavar="TARGET", nargs="+", help="pod, ztunnel/NODE, node/NODE, or SRC DST")
    p.add_argument("--plan", action="store_true",
                   help="only show the capture points, interfaces, filters and why (nothing touches the cluster)")
    p.add_argument("-w", "--write", metavar="FILE", type=non_empty,
                   help="pcap file (one point), file name stem or directory (several points), or - for stdout "
                   "(default: a new directory ./ambientctl-capture-<time>/)")
    p.add_argument("-f", "--filter", metavar="BPF", help="tcpdump filter for every point, instead of the planned ones")
    p.add_argument("-i", "--interface", metavar="IF", type=non_empty, help="interface for every point (e.g. any), instead of the "
                   "planned ones")
    p.add_argument("--duration", type=seconds, metavar="S",
                   help="stop after S seconds (default: 60); enforced inside the pod with timeout")
    p.add_argument("-c", "--count", type=int, metavar="N", help="stop each tcpdump after N packets")
    p.add_argument("--port", type=int, metavar="N", help="destination port for SRC DST (or DST:PORT)")
    p.add_argument("-y", "--yes", action="store_true",
                   help="add capture containers without asking (they cannot be removed afterwards)")
    p.add_argument("--image", metavar="IMG", type=non_empty, help="capture container image (default: nicolaka/netshoot; a mirror "
                   "for air-gapped clusters; needs sh, timeout and tcpdump)")
    p.add_argument("--start-timeout", type=seconds, default=90.0, metavar="S",
                   help="how long to wait for a capture container to run (default: 90)")
    add_force_option(p, "existing pcap files")
    add_namespace_option(p)
    add_output_option(p)
    add_source_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ambientctl.capture.plan import plan_capture
    from ambientctl.cli.state import load_view
    from ambientctl.errors import UsageError
    from ambientctl.output.capture_text import render_plan
    from ambientctl.output.envelope import emit, envelope

    if len(args.targets) > 2:
        raise UsageError("give one TARGET (a pod, ztunnel/NODE, node/NODE) or a SRC DST pair")
    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration {args.duration:g}: must be more than 0 seconds")
    if args.count is not None and args.count <= 0:
        raise UsageError(f"--count {args.count}: must be at least 1")
    if not args.plan and (args.demo or args.snapshot):
        raise UsageError("--demo and --snapshot have no pods to capture from: add --plan to see where a capture "
                         "would go")
    view = load_view(args)
    plan = plan_capture(view, args.targets, args.namespace, args.port)
    plan.override(args.interface, args.filter)
    if args.plan:
        emit(envelope("CapturePlan", plan.as_dict()), args.output, render_plan)
        return 0
    return _capture(args, plan)


def _capture(args: argparse.Namespace, plan) -> int:  # type: ignore[no-untyped-def]
    import os
    import sys
    import threading
    import time

    from ambientctl.capture import attach as at
    from ambientctl.capture.session import output_paths, result_doc, run_capture
    from ambientctl.errors import EXIT_ERROR, EXIT_INTERRUPTED, UsageError
    from ambientctl.outfile import STREAMS, check_target
    from ambientctl.output.capture_text import progress_line, render_result
    from ambientctl.output.envelope import emit, envelope
    from ambientctl.sources.kube_exec import connect

    write = "-" if args.write is not None and STREAMS.get(args.write, 0) == 1 else args.write
    paths = output_paths(plan.points, write)
    if "-" in paths and args.output != "text":
        raise UsageError("-w - writes the pcap to stdout: -o json/yaml would mix with it")
    for path in paths:  # before anything touches the cluster
        if path != "-" and os.path.isdir(os.path.dirname(os.path.abspath(path))):
            check_target(path, "-w", force=args.force, stream_ok=False)
    api = connect(args.kubeconfig, args.context, args.request_timeout)
    image = args.image or at.DEFAULT_IMAGE
    pods = {p.pod.meta.key: p for p in plan.points}
    attachments = {key: at.prepare(api, p.pod.meta.namespace, p.pod.meta.name, image, p.container)
                   for key, p in pods.items()}
    notes = list(plan.notes) + [n for a in attachments.values() for n in a.notes]
    creates = [a for a in attachments.values() if a.action == "create"]
    if creates and not args.yes:
        consent(creates, image)
    status = Status()
    try:
        for a in creates:
            status.update(f"adding {a.container} to {a.key}")
            at.attach(api, a)
        for a in attachments.values():
            at.wait_running(api, a, timeout=args.start_timeout, progress=status.update)
        start = time.monotonic()
        stop = threading.Event()
        runs, interrupted = run_capture(
            api, plan.points, attachments, paths, args.duration, args.count, stop,
            tick=lambda states: status.update(progress_line(states, time.monotonic() - start)), force=args.force)
    finally:
        status.close()
    doc = envelope("CaptureResult", result_doc(runs, notes))
    if "-" in paths:
        render_result(doc, sys.stderr)
    else:
        emit(doc, args.output, render_result)
    if interrupted:
        print("ambientctl: interrupted; the files written so far are valid pcaps", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR if any(r.state.error for r in runs) else 0


def consent(creates, image: str) -> None:  # type: ignore[no-untyped-def]
    import sys

    from ambientctl.errors import UsageError

    pods = ", ".join(a.key for a in creates)
    if not sys.stdin.isatty():
        raise UsageError(f"capturing adds an ephemeral container ({image}) to {pods}, which cannot be removed: "
                         "confirm on a terminal or pass --yes")
    sys.stderr.write(f"Add an ephemeral capture container ({image}) to {pods}?\n"
                     "Ephemeral containers cannot be removed from a pod; ambientctl reuses it next time. [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not confirmed: nothing was added")


class Status:
    """A one-line live status on stderr (rich) when stderr is a terminal; silent otherwise."""

    def __init__(self) -> None:
        import sys

        self._status = None
        if sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status("")
            self._status.start()

    def update(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

    def paused(self):  # type: ignore[no-untyped-def]
        """A context in which the spinner is off (to ask a question on the terminal)."""
        import contextlib

        @contextlib.contextmanager
        def off():  # type: ignore[no-untyped-def]
            if self._status is None:
                yield
                return
            self._status.stop()
            try:
                yield
            finally:
                self._status.start()

        return off()

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
