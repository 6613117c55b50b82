"""Live trace: attach capture containers where the plan says the request will be visible, run every tcpdump at
once, fire the request from the source pod's capture container (or wait for the user's own), read the proxies'
logs for that window through the API, and lay it all down as a recording — the layout of the demo recordings and
of `--keep` — which `load_recording` + `build_trace` then read like any other.

What cannot be had (a container Pod Security refused, a tcpdump that died, a log the token may not read, Ctrl-C)
becomes a `missing` line of the report, never an error that loses what was collected. The API object is
`sources.kube_exec.KubeExec` or anything with the same methods (tests inject failures through it)."""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ambientctl.capture import attach as at
from ambientctl.capture.plan import CapturePlan, CapturePoint, app_container
from ambientctl.capture.session import Running, run_capture
from ambientctl.capture.stream import StreamState
from ambientctl.errors import AmbientctlError, UsageError
from ambientctl.model import objects as o
from ambientctl.words import count

PROXY_CONTAINER = "istio-proxy"  # ztunnel's and the waypoint's container
START_WAIT = 10.0  # seconds to wait for every tcpdump to be writing before the request is fired
GRACE = 1.5  # seconds of capture after the request ends (FIN/RST, late log lines)


@dataclass
class LiveOptions:
    request: str | None = None  # a shell command run in the source's capture container; None: default_request()
    wait: bool = False  # fire nothing: capture for `duration` (or until Ctrl-C) while the user makes the request
    duration: float = 15.0
    image: str = at.DEFAULT_IMAGE
    start_timeout: float = 90.0
    interface: str | None = None  # override every point's interface / filter (like `capture -i/-f`)
    bpf: str | None = None


@dataclass
class LiveRecording:
    root: Path
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    client: dict[str, Any] | None = None
    interrupted: bool = False


def default_request(explanation: dict[str, Any]) -> str:
    """What a user would type in the source pod: curl to the destination as addressed, printing only the status."""
    dst = explanation.get("destination") or {}
    req = explanation.get("request") or {}
    host = dst.get("host") or dst.get("ip") or dst.get("ref")
    port = req.get("port") or dst.get("port") or 80
    path = req.get("path") or "/"
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
            "-X", req.get("method") or "GET"]
    for k, v in (req.get("headers") or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://{host}:{port}{path}")
    return " ".join(shlex.quote(a) for a in argv)


def _leg(p: CapturePoint) -> str:
    if p.role in ("client", "server"):
        return f"{p.role}-{'app' if p.interface == 'lo' or 'hbone' not in p.sees else 'hbone'}"
    return p.role


def record_live(api: Any, plan: CapturePlan, explanation: dict[str, Any], opts: LiveOptions, root: Path,
                confirm: Callable[[list[at.Attachment]], None],
                progress: Callable[[str], None] = lambda _s: None) -> LiveRecording:
    """Run the live part of a trace into `root` (an empty directory) and write root/recording.json last.
    `confirm(creates)` is asked before any ephemeral container is added (it raises to refuse)."""
    out = LiveRecording(root, notes=list(plan.notes))
    plan.override(opts.interface, opts.bpf)
    fire = not opts.wait
    if fire and plan.client is None:
        raise UsageError("the source is no pod: nothing to run the request in; use --wait and make the "
                         "request yourself")
    pods: dict[str, o.Pod] = {p.pod.meta.key: p.pod for p in plan.points}
    targets = {p.pod.meta.key: p.container for p in plan.points}
    if fire and plan.client is not None:
        pods.setdefault(plan.client.meta.key, plan.client)
        targets.setdefault(plan.client.meta.key, app_container(plan.client))
    attachments: dict[str, at.Attachment] = {}
    for key, pod in pods.items():
        try:
            attachments[key] = at.prepare(api, pod.meta.namespace, pod.meta.name, opts.image, targets[key])
        except AmbientctlError as e:
            out.missing.append(f"no capture container in {key}: {e}")
    out.notes += [n for a in attachments.values() for n in a.notes]
    creates = [a for a in attachments.values() if a.action == "create"]
    if creates:
        confirm(creates)
    for key, a in list(attachments.items()):
        try:
            if a.action == "create":
                progress(f"adding {a.container} to {a.key}")
                at.attach(api, a)
            at.wait_running(api, a, timeout=opts.start_timeout, progress=progress)
        except AmbientctlError as e:
            out.missing.append(f"no capture container in {key}: {e}")
            del attachments[key]

    points = [p for p in plan.points if p.pod.meta.key in attachments]
    paths = [str(root / f"{p.name}.pcap") for p in points]
    started_wall = time.time()
    runs, stop = _start_captures(api, points, attachments, paths, opts, progress)
    try:
        runs.wait_started()
        if fire:
            client_key = plan.client.meta.key if plan.client is not None else ""
            if client_key in attachments:
                command = opts.request or default_request(explanation)
                progress(f"running in {client_key}: {command}")
                out.client = _fire(api, attachments[client_key], command, max(opts.duration, 5.0))
                time.sleep(GRACE)
            else:
                out.missing.append(f"the request was not sent: no capture container in {client_key} to run it")
            stop.set()
        else:
            progress(f"capturing for {opts.duration:g}s: make your request now (Ctrl-C ends it early)")
            if runs.thread is None:  # nothing to capture with, but the proxies' logs still cover the window
                deadline = time.monotonic() + opts.duration
                while time.monotonic() < deadline:
                    time.sleep(0.2)
        runs.join()
    except KeyboardInterrupt:
        out.interrupted = True
        out.notes.append("interrupted (Ctrl-C): what was captured until then is kept")
        stop.set()
        runs.join()
    for r in runs.result:
        if r.state.error:
            out.missing.append(f"capture {r.point.name} in {r.attachment.key}: {r.state.error}")
    logs = _read_logs(api, plan, time.time() - started_wall, root, out, progress)
    meta = {
        "name": root.name,
        "title": f"{explanation.get('source', {}).get('ref')} → {explanation.get('destination', {}).get('ref')} "
                 f"(live, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(started_wall))} UTC)",
        "src": explanation.get("source", {}).get("ref"),
        "dst": explanation.get("destination", {}).get("ref"),
        "request": {"method": (explanation.get("request") or {}).get("method", "GET"),
                    "path": (explanation.get("request") or {}).get("path", "/"),
                    "command": (opts.request or default_request(explanation)) if fire else None},
        "captures": [{"file": Path(r.path).name, "pod": r.attachment.key, "interface": r.point.interface,
                      "leg": _leg(r.point)} for r in runs.result if r.path],
        "client": out.client,
        "logs": logs,
        "notes": out.notes,
        "missing": out.missing,
        "startedAt": started_wall,
    }
    tmp = root / "recording.json.partial"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(root / "recording.json")
    return out


class _Captures:
    """run_capture in a thread, so the request can be fired while every tcpdump streams."""

    def __init__(self) -> None:
        self.result: list[Running] = []
        self.thread: threading.Thread | None = None
        self.states: list[StreamState] = []

    def wait_started(self) -> None:
        """Until every tcpdump is writing (or has failed), at most START_WAIT: the request must not go out
        before the captures can see it."""
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline and self.thread is not None and self.thread.is_alive():
            states = self.states
            if states and all(s.writer.started or s.done for s in states):
                return
            time.sleep(0.1)

    def join(self) -> None:
        while self.thread is not None and self.thread.is_alive():
            self.thread.join(0.2)  # short joins: Ctrl-C reaches the main thread


def _start_captures(api: Any, points: list[CapturePoint], attachments: dict[str, at.Attachment],
                    paths: list[str], opts: LiveOptions,
                    progress: Callable[[str], None]) -> tuple[_Captures, threading.Event]:
    caps = _Captures()
    stop = threading.Event()
    if not points:
        return caps, stop

    def tick(states: list[StreamState]) -> None:
        caps.states = states

    def run() -> None:
        caps.result, _ = run_capture(api, points, attachments, paths, opts.duration, None, stop, tick=tick)

    caps.thread = threading.Thread(target=run, name="trace captures", daemon=True)
    caps.thread.start()
    progress(f"starting tcpdump in {count(len(points), 'place')}")
    return caps, stop


def _fire(api: Any, a: at.Attachment, command: str, timeout: float) -> dict[str, Any]:
    """Run the request in the source's capture container (it shares the app's network namespace)."""
    t0 = time.monotonic()
    try:
        s = api.exec_stream(a.namespace, a.pod, a.container, ["sh", "-c", command])
    except AmbientctlError as e:
        return {"command": command, "exit": None, "error": str(e), "seconds": 0.0}
    out = bytearray()
    err: list[str] = []
    try:
        while time.monotonic() - t0 < timeout + 5:
            chunk = s.read(0.2)
            err.append(s.stderr_text())
            if chunk is None:
                break
            out += chunk[: max(0, 4096 - len(out))]
    finally:
        s.close()
    seconds = round(time.monotonic() - t0, 3)
    failure = getattr(s, "failure", None)
    code = s.exit_code
    stdout = out.decode("utf-8", "replace").strip()
    stderr = "".join(err).strip()
    client: dict[str, Any] = {"command": command, "exit": code, "seconds": seconds}
    if failure:
        client["error"] = f"could not run the request: {failure}"
        return client
    last = stdout.splitlines()[-1] if stdout else ""
    if last.isdigit() and len(last) == 3 and last != "000":
        client["status"] = int(last)
    elif stdout:
        client["body"] = stdout[:200]
    if code not in (0, None) and stderr:
        client["error"] = stderr.splitlines()[-1][:300]
    return client


def _read_logs(api: Any, plan: CapturePlan, elapsed: float, root: Path, out: LiveRecording,
               progress: Callable[[str], None]) -> list[dict[str, str]]:
    """Each proxy's log since just before the captures started."""
    logs = []
    for role, pod in plan.proxies:
        progress(f"reading the log of {pod.meta.key} ({role})")
        container = PROXY_CONTAINER if any(c.name == PROXY_CONTAINER for c in pod.containers) or not \
            pod.containers else pod.containers[0].name
        try:
            text = api.pod_logs(pod.meta.namespace, pod.meta.name, container, since_seconds=int(elapsed) + 5)
        except AmbientctlError as e:
            out.missing.append(f"log of {pod.meta.key} ({role}): {e}")
            continue
        name = f"{pod.meta.name}.log"
        (root / name).write_text(text, encoding="utf-8")
        logs.append({"file": name, "source": pod.meta.name})
    return logs
