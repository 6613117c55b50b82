"""A deadline around a whole exchange with the API server, not per socket read: the Kubernetes client's
timeouts apply to each connect and each read, so a server that trickles a byte every few seconds, or a
kubeconfig `exec` credential plugin that never returns (the client runs it with no timeout at all), would keep a
command waiting forever. `within()` runs the exchange in a daemon thread and stops waiting when the deadline
passes; a credential plugin it started is killed when the process ends, and so does the abandoned thread."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ambientctl.errors import InputError

T = TypeVar("T")
_abandoned = False  # a thread was left waiting on the API server (see exit_if_abandoned)
_orphans: set[int] = set()  # processes it started that would outlive us (credential plugins)


def _children() -> set[int]:
    """This process's child processes (Linux /proc; empty elsewhere)."""
    pids: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children") as f:
                pids.update(int(p) for p in f.read().split())
    return pids


def quiet_insecure_tls() -> None:
    """A kubeconfig with `insecure-skip-tls-verify: true` is the user's choice, and kubectl says nothing about it:
    no multi-line urllib3 warning per request (from any thread) on stderr."""
    import warnings

    import urllib3

    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


def within(seconds: float, expired: Callable[[], str], fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """fn(*args, **kw), or InputError(expired()) once `seconds` have passed. Exceptions of fn are re-raised."""
    before = _children()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kw)
        except BaseException as e:  # handed to the waiting thread
            outcome["error"] = e

    worker = threading.Thread(target=run, name="ambientctl API exchange", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        global _abandoned
        _abandoned = True
        _orphans.update(_children() - before)  # a credential plugin started meanwhile: killed on the way out
        raise InputError(expired())
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def parallel(fn: Callable[[Any], T], items: list[Any], workers: int = 8) -> list[T]:
    """[fn(x) for x in items] on up to `workers` daemon threads, in order; the first exception is re-raised.
    (ThreadPoolExecutor's threads are joined at interpreter exit: one stuck on a trickling socket would hang
    the exit after the deadline has already been reported.)"""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    lock = threading.Lock()
    queue = list(enumerate(items))

    def work() -> None:
        while True:
            with lock:
                if not queue or errors:
                    return
                i, x = queue.pop(0)
            try:
                results[i] = fn(x)
            except BaseException as e:
                with lock:
                    errors.append(e)
                return

    threads = [threading.Thread(target=work, daemon=True, name="ambientctl list") for _ in range(min(workers,
                                                                                                 len(items)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def exit_if_abandoned(code: int) -> None:
    """End the process now when a thread was abandoned at a deadline: a daemon thread still inside the TLS or
    HTTP code at interpreter shutdown can abort the process (SIGABRT, "could not acquire lock ... at interpreter
    shutdown") instead of exiting with `code`. The atexit clean-ups (temporary files) run first; the credential
    plugins left running are killed last, once nothing more can be printed (the client logs their exit)."""
    if not _abandoned:
        return
    import atexit
    import sys

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(OSError):  # what the abandoned thread might still say is not for the user
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    for pid in _orphans:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os._exit(code)
