"""The Kubernetes calls capture needs: read a pod and its namespace, add an ephemeral container, exec a binary
stream out of it. Besides the live source, the only module that imports `kubernetes` (import-linter contract in
pyproject.toml): ambientctl.capture sees plain dicts and KubeApiError, never client objects.

Client notes (research/environment.md, observability.md §5.5): kubeconfig is loaded with
`persist_config=False` (refreshed tokens are never written back to the user's file); exec uses `binary=True`
(client >= 30.1), no TTY, and a websocket client built with `capture_all=False` — the default one keeps a copy of
everything it received, which for an hours-long pcap stream is unbounded memory.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ambientctl.errors import NO_CLUSTER_HINT, InputError, file_error

STRATEGIC_MERGE = "application/strategic-merge-patch+json"


@dataclass
class KubeApiError(Exception):
    """An API call that failed, reduced to what callers interpret: HTTP status, reason and message."""

    status: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    call: str = ""

    def __str__(self) -> str:
        return f"{self.call}: {self.status} {self.reason}: {self.message}".strip(": ")


def _api_error(e: Any, call: str) -> KubeApiError:
    body: dict[str, Any] = {}
    try:
        body = json.loads(e.body) if getattr(e, "body", None) else {}
    except (ValueError, TypeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    return KubeApiError(int(getattr(e, "status", 0) or 0), str(body.get("reason") or getattr(e, "reason", "") or ""),
                        str(body.get("message") or getattr(e, "reason", "") or e), body.get("details") or {}, call)


def connect(kubeconfig: str | None = None, context: str | None = None, request_timeout: float = 10.0) -> KubeExec:
    """An API client from kubeconfig (or the in-cluster service account when there is no kubeconfig)."""
    import os

    from kubernetes import client, config

    from ambientctl.sources.deadline import quiet_insecure_tls, within

    quiet_insecure_tls()
    path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or os.path.expanduser("~/.kube/config")
    try:
        if os.path.exists(path) or kubeconfig:
            api = within(request_timeout, lambda: f"kubeconfig {path}: logging in to context {context or '(current)'} "
                         f"took more than {request_timeout:g}s (a credential plugin that does not return?)",
                         config.new_client_from_config, config_file=path, context=context, persist_config=False)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            cfg = client.Configuration()
            config.load_incluster_config(client_configuration=cfg)
            api = client.ApiClient(cfg)
        else:
            raise InputError(f"no kubeconfig found (looked for {path}) and not running in a cluster",
                             hint=NO_CLUSTER_HINT)
    except config.ConfigException as e:
        raise InputError(f"kubeconfig {path}: {e}") from None
    except OSError as e:
        raise file_error(path, e, "kubeconfig") from None
    return KubeExec(api, request_timeout)


class KubeExec:
    def __init__(self, api_client: Any, request_timeout: float = 10.0):
        from kubernetes import client

        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.timeout = request_timeout

    @property
    def host(self) -> str:
        return str(self.api_client.configuration.host)

    def _call(self, what: str, fn: Any, *args: Any, body: bool = False, **kwargs: Any) -> Any:
        """One request, bounded as a whole (sources.deadline); with body=True (a _preload_content=False call)
        its body is read inside the bound too and returned as bytes."""
        from kubernetes.client.exceptions import ApiException

        from ambientctl.sources.deadline import within

        def request() -> Any:
            resp = fn(*args, _request_timeout=self.timeout, **kwargs)
            if not body:
                return resp
            try:
                return bytes(resp.data)
            finally:
                resp.release_conn()

        try:
            return within(self.timeout, lambda: f"the API server at {self.host} ({what}): no complete answer "
                          f"within {self.timeout:g}s", request)
        except ApiException as e:
            raise _api_error(e, what) from None
        except Exception as e:  # urllib3 connection errors, TLS errors, timeouts
            if type(e).__module__.startswith(("urllib3", "ssl", "socket")) or isinstance(e, OSError):
                raise InputError(f"cannot reach the API server at {self.host} ({what}): "
                                 f"{_short(e)}") from None
            raise

    def _dict(self, obj: Any) -> dict[str, Any]:
        return self.api_client.sanitize_for_serialization(obj)

    def read_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return self._dict(self._call(f"read pod {namespace}/{name}", self.core.read_namespaced_pod, name, namespace))

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        ns = self._call(f"read namespace {namespace}", self.core.read_namespace, namespace)
        return dict(self._dict(ns).get("metadata", {}).get("labels") or {})

    def pod_logs(self, namespace: str, pod: str, container: str | None = None,
                 since_seconds: int | None = None) -> str:
        """The container's log (kubectl logs --since): text, decoded leniently (proxies log user-controlled
        bytes such as paths and headers)."""
        kw: dict[str, Any] = {"_preload_content": False}
        if container:
            kw["container"] = container
        if since_seconds is not None:
            kw["since_seconds"] = max(1, int(since_seconds))
        try:
            data = self._call(f"read the log of pod {namespace}/{pod}" + (f" container {container}" if container
                                                                         else ""),
                              self.core.read_namespaced_pod_log, pod, namespace, body=True, **kw)
        except KubeApiError as e:
            raise InputError(str(e)) from None
        return data.decode("utf-8", "replace")

    def http_get(self, namespace: str, pod: str, port: int, path: str, timeout: float = 10.0,
                 limit: int = 64 << 20) -> bytes:
        """GET http://localhost:<port><path> inside the pod through a port-forward (as `kubectl port-forward`
        + curl would; ztunnel's admin port 15000 listens on localhost only). Returns the body of a 200."""

        from kubernetes.stream import portforward

        what = f"port-forward to {namespace}/{pod}:{port}"
        try:
            pf = portforward(self.core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port),
                             _request_timeout=self.timeout)
        except Exception as e:
            raise InputError(f"{what}: {_short(e)}") from None
        try:
            sock = pf.socket(port)
            sock.settimeout(timeout)
            sock.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost:{port}\r\nAccept: application/json\r\n"
                         "Connection: close\r\n\r\n".encode())
            data = bytearray()
            deadline = time.monotonic() + timeout
            while len(data) < limit and time.monotonic() < deadline:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            raise InputError(f"{what}: {e}") from None
        finally:
            pf.close()
        head, sep, body = bytes(data).partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        if not sep or not status_line.startswith("HTTP/1."):
            got = bytes(data[:40]).decode("latin-1", "replace") if data else "nothing"
            raise InputError(f"{what}: no HTTP answer from {path} (got {got!r})")
        if status_line.split()[1:2] != ["200"]:
            raise InputError(f"{what}: {path} answered {status_line}")
        return body

    def server_version(self) -> str:
        """The API server's gitVersion (v1.37.2), as `kubectl version` shows it."""
        from kubernetes import client

        try:
            info = self._call("read the server version", client.VersionApi(self.api_client).get_code)
        except KubeApiError as e:
            raise InputError(str(e)) from None
        return str(info.git_version)

    def add_ephemeral_container(self, namespace: str, name: str, container: dict[str, Any]) -> dict[str, Any]:
        """PATCH pods/<name>/ephemeralcontainers (strategic merge by container name, as kubectl debug does)."""
        body = {"spec": {"ephemeralContainers": [container]}}
        pod = self._call(f"add ephemeral container to pod {namespace}/{name}",
                         self.core.patch_namespaced_pod_ephemeralcontainers, name, namespace, body,
                         _content_type=STRATEGIC_MERGE)
        return self._dict(pod)

    def exec_stream(self, namespace: str, pod: str, container: str, argv: list[str]) -> ExecStream:
        """Start argv in the container; stdout comes back as raw bytes through ExecStream.read()."""
        import importlib

        from kubernetes.stream import ws_client

        stream_mod = importlib.import_module("kubernetes.stream.stream")  # the module, not the `stream` function

        # The public `stream()` builds its websocket client with capture_all=True (an unbounded copy of the
        # output); the same call with capture_all=False keeps only what has not been read yet.
        call = functools.partial(ws_client.websocket_call, capture_all=False)
        try:
            ws = stream_mod._websocket_request(
                call, None, self.core.connect_get_namespaced_pod_exec, pod, namespace, command=argv,
                container=container, stderr=True, stdin=False, stdout=True, tty=False, binary=True,
                _preload_content=False)
        except Exception as e:
            from kubernetes.client.exceptions import ApiException

            if isinstance(e, ApiException):
                err = _api_error(e, f"exec in {namespace}/{pod} container {container}")
                if not err.status:  # the websocket handshake failed: the reason carries the HTTP answer
                    err.message = str(getattr(e, "reason", "") or e)
                raise InputError(f"cannot exec in pod {namespace}/{pod} container {container}: "
                                 f"{_short(Exception(err.message))}") from None
            raise
        return ExecStream(ws)


class ExecStream:
    """stdout of an exec as a ByteSource; stderr kept for error messages; the exit status at the end."""

    def __init__(self, ws: Any):
        from kubernetes.stream.ws_client import ERROR_CHANNEL, STDERR_CHANNEL, STDOUT_CHANNEL

        self.ws = ws
        self._out, self._err, self._status = STDOUT_CHANNEL, STDERR_CHANNEL, ERROR_CHANNEL
        self.status: dict[str, Any] | None = None

    def read(self, timeout: float) -> bytes | None:
        ws = self.ws
        if not ws.is_open():
            data = ws.read_channel(self._out)
            self._keep_status()
            return data or None
        ws.update(timeout=timeout)
        data = ws.read_channel(self._out)
        if not data and not ws.is_open():
            self._keep_status()
            return None
        return data or b""

    def stderr_text(self) -> str:
        data = self.ws.read_channel(self._err)
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")

    def _keep_status(self) -> None:
        if self.status is None:
            raw = self.ws.read_channel(self._status)
            if raw:
                try:
                    self.status = json.loads(raw)
                except ValueError:
                    self.status = {"message": raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw}

    @property
    def exit_code(self) -> int | None:
        """0 on success, the command's exit code, or None when the server said nothing (yet)."""
        if self.status is None:
            return None
        if self.status.get("status") == "Success":
            return 0
        for cause in (self.status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message"))
                except (TypeError, ValueError):
                    return None
        return None

    @property
    def failure(self) -> str | None:
        """The API server's message when the exec itself failed (no such container, the kubelet refused, ...)
        rather than the command exiting non-zero; None otherwise."""
        if self.status is None or self.status.get("status") != "Failure" or self.exit_code is not None:
            return None
        msg = str(self.status.get("message") or self.status.get("reason") or "exec failed")
        while msg.startswith("Internal error occurred: "):  # the API server wraps the kubelet's answer twice
            msg = msg[len("Internal error occurred: "):]
        return msg

    def close(self) -> None:
        self.ws.close()


def _short(e: Exception) -> str:
    text = str(e)
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:200]
