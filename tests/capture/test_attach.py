"""Capture containers: reuse, naming, Pod Security levels, the API server's rejections (404 on the subresource,
PSA, RBAC), image pull failures and start timeouts, and consent. The API here is an in-memory stand-in used only
to inject these failures; the PATCH itself is exercised against a real API server in test_live.py."""

from __future__ import annotations

import io
from typing import Any

import pytest

from ambientctl.capture import attach as at
from ambientctl.errors import InputError, NotFound, UsageError
from ambientctl.sources.kube_exec import KubeApiError


def _pod(ephemeral: list[dict] | None = None, statuses: list[dict] | None = None, phase: str = "Running",
         sc: dict | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{"name": "app"}], "ephemeralContainers": ephemeral or [],
                     "securityContext": sc or {}},
            "status": {"phase": phase, "ephemeralContainerStatuses": statuses or []}}


class FakeApi:
    def __init__(self, pod: dict | None = None, labels: dict | None = None, patch_error: Exception | None = None,
                 states: list[dict] | None = None):
        self.pod = pod if pod is not None else _pod()
        self.labels = labels or {}
        self.patch_error = patch_error
        self.states = list(states or [])
        self.patched: list[dict] = []

    def read_pod(self, namespace: str, name: str) -> dict:
        if self.pod is None or name != "web":
            raise KubeApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        if self.states and self.patched:  # statuses appear once the container was added
            st = self.states.pop(0)
            self.pod["status"]["ephemeralContainerStatuses"] = [{"name": "ambientctl-capture-1", "state": st}]
        return self.pod

    def namespace_labels(self, namespace: str) -> dict:
        return self.labels

    def add_ephemeral_container(self, namespace: str, name: str, container: dict) -> dict:
        if self.patch_error:
            raise self.patch_error
        self.patched.append(container)
        self.pod["spec"]["ephemeralContainers"].append(container)
        return self.pod


def test_new_container_gets_net_raw_only_and_targets_the_app() -> None:
    api = FakeApi()
    a = at.prepare(api, "shop", "web", target="app")
    assert (a.action, a.container) == ("create", "ambientctl-capture-1")
    assert a.spec["image"] == "nicolaka/netshoot" and a.spec["targetContainerName"] == "app"
    assert a.spec["securityContext"] == {"capabilities": {"add": ["NET_RAW"]}}
    assert a.spec["command"] == ["sleep", str(at.IDLE_SECONDS)]
    at.attach(api, a)
    assert api.patched == [a.spec]


def test_running_capture_container_is_reused_and_ended_ones_are_not() -> None:
    eph = [{"name": "ambientctl-capture-1", "image": "mirror/netshoot"}, {"name": "debugger", "image": "busybox"}]
    running = _pod(eph, [{"name": "ambientctl-capture-1", "state": {"running": {}}}])
    a = at.prepare(FakeApi(running), "shop", "web")
    assert (a.action, a.container) == ("reuse", "ambientctl-capture-1")
    assert "reusing ambientctl-capture-1 (image mirror/netshoot)" in a.notes[0]
    ended = _pod(eph, [{"name": "ambientctl-capture-1", "state": {"terminated": {"exitCode": 0}}}])
    b = at.prepare(FakeApi(ended), "shop", "web")
    assert (b.action, b.container) == ("create", "ambientctl-capture-2")


def test_non_root_pod_gets_a_root_capture_container() -> None:
    a = at.prepare(FakeApi(_pod(sc={"runAsUser": 1000, "runAsNonRoot": True})), "shop", "web")
    assert a.spec["securityContext"]["runAsUser"] == 0 and a.spec["securityContext"]["runAsNonRoot"] is False


def test_psa_baseline_adds_no_capabilities_and_says_why() -> None:
    a = at.prepare(FakeApi(labels={at.PSA_ENFORCE: "baseline"}), "shop", "web")
    assert "securityContext" not in a.spec
    assert "rejects adding NET_RAW" in a.notes[0]


def test_psa_restricted_is_refused_before_any_patch() -> None:
    api = FakeApi(labels={at.PSA_ENFORCE: "restricted"})
    with pytest.raises(InputError, match=r"enforces Pod Security 'restricted'.*cannot open a packet socket"):
        at.prepare(api, "shop", "web")
    assert api.patched == []


def test_psa_rejection_from_the_api_server_is_explained() -> None:
    msg = ('pods "web" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container '
           '"ambientctl-capture-1" must not include "NET_RAW" in securityContext.capabilities.add)')
    api = FakeApi(patch_error=KubeApiError(403, "Forbidden", msg))
    a = at.prepare(api, "shop", "web")
    with pytest.raises(InputError, match=r"Pod Security admission rejected .* enforces 'baseline' \(latest\)"
                       r".*must not include \"NET_RAW\""):
        at.attach(api, a)


def test_missing_subresource_means_no_ephemeral_containers() -> None:
    api = FakeApi(patch_error=KubeApiError(404, "NotFound", "the server could not find the requested resource"))
    a = at.prepare(api, "shop", "web")
    with pytest.raises(InputError, match=r"ephemeral containers are not available on this cluster.*1.23"):
        at.attach(api, a)


def test_rbac_refusal_names_the_user_and_resource() -> None:
    msg = ('pods "web" is forbidden: User "dev" cannot patch resource "pods/ephemeralcontainers" in API group "" '
           'in the namespace "shop"')
    api = FakeApi(patch_error=KubeApiError(403, "Forbidden", msg))
    with pytest.raises(InputError, match="dev cannot patch pods/ephemeralcontainers"):
        at.attach(api, at.prepare(api, "shop", "web"))


def test_unknown_and_pending_pods() -> None:
    with pytest.raises(NotFound, match="no pod 'gone' in namespace shop"):
        at.prepare(FakeApi(), "shop", "gone")
    with pytest.raises(InputError, match="is Pending"):
        at.prepare(FakeApi(_pod(phase="Pending")), "shop", "web")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def _created(api: FakeApi) -> at.Attachment:
    a = at.prepare(api, "shop", "web")
    at.attach(api, a)
    return a


def test_wait_until_running_with_progress() -> None:
    api = FakeApi(states=[{"waiting": {"reason": "ContainerCreating"}}] * 3 + [{"running": {}}])
    clock, seen = Clock(), []
    at.wait_running(api, _created(api), timeout=10, progress=seen.append, clock=clock, sleep=clock.sleep)
    assert len(seen) == 3 and "ContainerCreating" in seen[0]


def test_image_pull_failure_ends_the_wait_at_once() -> None:
    api = FakeApi(states=[{"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}])
    clock = Clock()
    with pytest.raises(InputError, match=r"cannot start: ImagePullBackOff.*--image"):
        at.wait_running(api, _created(api), timeout=60, clock=clock, sleep=clock.sleep)
    assert clock.t == 0


def test_start_timeout_is_one_clear_line() -> None:
    api = FakeApi()
    clock = Clock()
    with pytest.raises(InputError, match=r"not running after 2s \(no status yet\); it stays in the pod spec"):
        at.wait_running(api, _created(api), timeout=2, clock=clock, sleep=clock.sleep)


def test_consent_refused_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from ambientctl.cli.commands.capture import consent

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal, even if it says yes
    a = at.prepare(FakeApi(), "shop", "web")
    with pytest.raises(UsageError, match="cannot be removed: confirm on a terminal or pass --yes"):
        consent([a], "nicolaka/netshoot")


def test_consent_prompt_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ambientctl.cli.commands.capture import consent

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    a = at.prepare(FakeApi(), "shop", "web")
    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    with pytest.raises(UsageError, match="not confirmed"):
        consent([a], "nicolaka/netshoot")
    assert "cannot be removed" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", Tty("yes\n"))
    consent([a], "nicolaka/netshoot")
