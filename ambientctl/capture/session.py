"""One capture run: a tcpdump per capture point, all streaming at once (a thread each), into files that are valid
pcaps at every instant; Ctrl-C stops the local side at once and asks each remote tcpdump to end early (it would
end anyway: `timeout` bounds it inside the pod)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ambientctl.capture.attach import Attachment
from ambientctl.capture.plan import CapturePoint
from ambientctl.capture.stream import (
    AtomicPcapFile,
    PcapStreamWriter,
    StreamState,
    explain_tcpdump_failure,
    pump,
    tcpdump_command,
)
from ambientctl.errors import UsageError


def output_paths(points: list[CapturePoint], write: str | None, now: float | None = None) -> list[str]:
    """Where each point's pcap goes: `-` (stdout, one point only), the -w file (one point), `<stem>-<point>.pcap`
    next to a -w file name, or files in a -w directory (default: ./ambientctl-capture-<time>/)."""
    if write == "-":
        if len(points) != 1:
            names = ", ".join(p.name for p in points)
            raise UsageError(f"-w - (stdout) takes one capture point, and this plan has {len(points)} ({names}): "
                             "add --interface any, or -w DIR for one file per point")
        return ["-"]
    if write is None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        write = f"ambientctl-capture-{stamp}{os.sep}"
    if write.endswith(os.sep) or os.path.isdir(write):
        return [os.path.join(write, f"{p.name}.pcap") for p in points]
    if len(points) == 1:
        return [write]
    stem, ext = os.path.splitext(write)
    return [f"{stem}-{p.name}{ext or '.pcap'}" for p in points]


@dataclass
class Running:
    point: CapturePoint
    attachment: Attachment
    path: str
    state: StreamState
    source: Any = None
    file: AtomicPcapFile | None = None
    thread: threading.Thread | None = None


def run_capture(api: Any, points: list[CapturePoint], attachments: dict[str, Attachment], paths: list[str],
                duration: float | None, count: int | None, stop: threading.Event,
                tick: Callable[[list[StreamState]], None] | None = None,
                force: bool = False) -> tuple[list[Running], bool]:
    """Start every stream, wait until all end, finish the files. Returns (runs, interrupted): on Ctrl-C every
    file is closed as a valid pcap and the remote tcpdumps are asked to end early; setting `stop` from another
    thread ends the run the same way (not counted as interrupted). `force`: replace existing files."""
    runs: list[Running] = []
    try:
        for point, path in zip(points, paths, strict=True):
            a = attachments[point.pod.meta.key]
            if path == "-":
                writer = PcapStreamWriter(sys.stdout.buffer, flush_each=True)
                f = None
            else:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                f = AtomicPcapFile(path, force)
                writer = PcapStreamWriter(f.f)
            runs.append(Running(point, a, path, StreamState(point.name, writer), file=f))
    except BaseException:  # a refused path: the temporaries of the others go too
        for r in runs:
            if r.file is not None:
                r.file.close(keep=False)
        raise
    try:
        for r in runs:
            argv = tcpdump_command(r.point.interface, r.point.filter, duration, count)
            try:
                r.source = api.exec_stream(r.attachment.namespace, r.attachment.pod, r.attachment.container, argv)
            except Exception as e:
                r.state.error = f"cannot start tcpdump in {r.attachment.key} ({r.attachment.container}): {e}"
                r.state.done = True
                continue
            r.thread = threading.Thread(target=pump, args=(r.source, r.state, stop),
                                        kwargs={"stderr_of": r.source.stderr_text}, daemon=True,
                                        name=f"capture {r.point.name}")
            r.thread.start()
        while not all(r.state.done for r in runs):
            if tick is not None:
                tick([r.state for r in runs])
            time.sleep(0.2)
        if tick is not None:
            tick([r.state for r in runs])
    except KeyboardInterrupt:
        stop.set()
        _join(runs)
        _stop_remote(api, runs)
        _finish(runs)
        return runs, True
    _join(runs)
    if stop.is_set():  # stopped from outside (trace: the request is done): end the remote tcpdumps now too
        _stop_remote(api, runs)
    _finish(runs)
    return runs, False


def _join(runs: list[Running]) -> None:
    for r in runs:
        if r.thread is not None:
            r.thread.join(5)


def _stop_remote(api: Any, runs: list[Running]) -> None:
    """Ask each interrupted tcpdump to end now (by the PID its shell reported); best effort and quick."""
    for r in runs:
        pid = r.state.remote_pid
        if pid is None or r.source is None:
            continue
        try:
            s = api.exec_stream(r.attachment.namespace, r.attachment.pod, r.attachment.container,
                                ["kill", str(pid)])
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and s.read(0.2) is not None:
                pass
            s.close()
        except Exception:
            r.state.stderr.append(f"could not stop tcpdump (pid {pid}) early; it ends on its own timeout")


def _finish(runs: list[Running]) -> None:
    for r in runs:
        w = r.state.writer
        if not r.state.error and not w.started and r.state.stderr:
            r.state.error = explain_tcpdump_failure(r.state.stderr) or f"tcpdump: {r.state.stderr[-1]}"
        failure = getattr(r.source, "failure", None) if r.source is not None else None
        if failure and not r.state.error:
            r.state.error = f"exec in {r.attachment.key} ({r.attachment.container}) failed: {failure}"
        if r.source is not None and not w.started and not r.state.error:
            code = getattr(r.source, "exit_code", None)
            if code not in (None, 0, 124):
                r.state.error = f"tcpdump ended with exit code {code} before writing anything"
        if r.file is not None:
            w.finish()
            r.file.close(keep=w.started)
            if not w.started:
                r.path = ""


def result_doc(runs: list[Running], notes: list[str]) -> dict[str, Any]:
    return {
        "points": [{
            "name": r.point.name,
            "pod": r.point.pod.meta.key,
            "container": r.attachment.container,
            "interface": r.point.interface,
            "filter": r.point.filter,
            "file": r.path or None,
            "packets": r.state.writer.packets,
            "bytes": r.state.writer.bytes,
            "dropped": r.state.writer.dropped,
            "error": r.state.error or None,
        } for r in runs],
        "notes": notes,
    }
