"""ambientctl-grpc against real gRPC bytes: the recorded grpc-go exchange over TLS, and the same exchange carried
through a real HBONE tunnel (TLS 1.3, ALPN h2, CONNECT) captured on loopback; plus the waypoint finding."""

from __future__ import annotations

import json

from ambientctl_grpc.decoder import decode, grpc_messages, protobuf_peek

from ambientctl.cli.main import main
from ambientctl.plugins.api import InnerStream

# The calls in the real capture (tests/realdata/pcaps/PROVENANCE.md: unary x5, client/server/bidi streams).
CALLS = ["SayHelloUnary"] * 5 + ["SayHelloClientStream", "SayHelloServerStream", "SayHelloBiDiStream"]


def _decode_json(capsys, pcap, keys) -> dict:  # type: ignore[no-untyped-def]
    assert main(["decode", str(pcap), "--keylog", str(keys), "-o", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _check_calls(payload: dict) -> None:
    assert payload["protocol"] == "grpc"
    assert payload["decoder"] == "grpc" and payload["plugin"] == "ambientctl-grpc"
    calls = payload["messages"]
    assert [c["method"] for c in calls] == CALLS
    assert {c["service"] for c in calls} == {"echo.EchoServer"}
    assert all(c["status"] == 200 and c["grpcStatus"] == 0 and c["grpcStatusName"] == "OK" for c in calls)
    assert [c["stream"] for c in calls] == [1, 3, 5, 7, 9, 11, 13, 15]
    by = {c["method"]: c for c in calls}
    assert (by["SayHelloClientStream"]["requests"], by["SayHelloClientStream"]["responses"]) == (4, 1)
    assert (by["SayHelloServerStream"]["requests"], by["SayHelloServerStream"]["responses"]) == (1, 5)
    assert (by["SayHelloBiDiStream"]["requests"], by["SayHelloBiDiStream"]["responses"]) == (10, 10)
    assert calls[0]["firstRequests"] == "1:'Unary Request 0'"
    assert payload["summary"].startswith("8 calls, 8 OK: echo.EchoServer/SayHelloUnary")


def test_real_grpc_over_tls(real_grpc, capsys):  # type: ignore[no-untyped-def]
    doc = _decode_json(capsys, *real_grpc)
    (payload,) = doc["payloads"]
    assert payload["kind"] == "tls" and payload["authority"] == "127.0.0.1:50051"
    _check_calls(payload)


def test_real_grpc_inside_hbone(hbone_grpc_capture, capsys):  # type: ignore[no-untyped-def]
    doc = _decode_json(capsys, *hbone_grpc_capture)
    (tunnel,) = doc["tunnels"]
    assert tunnel["decrypted"] and tunnel["alpn"] == "h2"
    assert [(c["authority"], c["status"]) for c in tunnel["connects"]] == [("10.244.2.20:50051", 200)]
    assert tunnel["serverIdentities"] == ["spiffe://cluster.local/ns/default/sa/echo-grpc"]
    (payload,) = doc["payloads"]
    assert payload["kind"] == "hbone" and payload["streamId"] == 1 and payload["authority"] == "10.244.2.20:50051"
    _check_calls(payload)


def test_text_view_names_the_plugin(hbone_grpc_capture, capsys):  # type: ignore[no-untyped-def]
    pcap, keys = hbone_grpc_capture
    assert main(["decode", str(pcap), "--keylog", str(keys)]) == 0
    out = capsys.readouterr().out
    assert "Payloads" in out and "flow 1 stream 1 → 10.244.2.20:50051  grpc  8 calls, 8 OK" in out
    assert "(ambientctl-grpc)" in out


def test_failed_call_and_cut_stream(grpc_bytes):  # type: ignore[no-untyped-def]
    client, server = grpc_bytes
    cut = InnerStream(kind="hbone", flow=1, stream_id=1, authority="10.0.0.1:50051", client=client,
                      server=server[: len(server) // 2], server_truncated=True)
    got = decode(cut)
    assert got is not None and got.protocol == "grpc"
    statuses = [c.get("grpcStatus") for c in got.messages]
    assert statuses[0] == 0 and None in statuses  # calls whose trailers were cut have no status
    assert "failed:" in (got.summary or "")


def test_not_http2_is_left_to_other_decoders():
    s = InnerStream(kind="hbone", flow=1, stream_id=1, authority="10.0.0.1:9080",
                    client=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", server=b"HTTP/1.1 200 OK\r\n\r\n")
    assert decode(s) is None


def test_grpc_framing_and_protobuf_peek():
    msgs, rest = grpc_messages(b"\x00\x00\x00\x00\x03\x08\x96\x01" + b"\x00\x00\x00\x00\x09")
    assert msgs == [(False, b"\x08\x96\x01")] and rest == 5
    assert protobuf_peek(b"\x08\x96\x01\x12\x02hi") == "1:150 2:'hi'"
    assert protobuf_peek(b"\xff\xff") == "?"


SNAPSHOT = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Pod
metadata: {name: echo-7d9f, namespace: shop, labels: {app: echo}}
spec: {nodeName: node-1, serviceAccountName: echo, containers: [{name: echo, image: echo}]}
status: {phase: Running, podIP: 10.244.1.7, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: shop}
spec:
  selector: {app: echo}
  clusterIP: 10.96.0.20
  ports: [{name: grpc-echo, port: 50051, targetPort: 50051}, {name: http, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: ztunnel-abc, namespace: istio-system, labels: {app: ztunnel}}
spec: {nodeName: node-1, containers: [{name: istio-proxy, image: istio/ztunnel:1.24.0}]}
status: {phase: Running, podIP: 10.244.1.2, conditions: [{type: Ready, status: "True"}]}
"""


def test_finding_for_grpc_service_without_waypoint(tmp_path, capsys):  # type: ignore[no-untyped-def]
    snap = tmp_path / "snap.yaml"
    snap.write_text(SNAPSHOT)
    assert main(["describe", "pod", "echo-7d9f", "-n", "shop", "--snapshot", str(snap), "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mesh"]["mode"] == "ambient"
    (f,) = [f for f in doc["findings"] if f.get("plugin")]
    assert f["id"] == "grpc/grpc-without-waypoint" and f["plugin"] == "ambientctl-grpc"
    assert "shop/echo" in f["message"] and "50051 (grpc-echo)" in f["message"] and "8080" not in f["message"]
    assert main(["describe", "pod", "echo-7d9f", "-n", "shop", "--snapshot", str(snap)]) == 0
    assert "grpc/grpc-without-waypoint" in capsys.readouterr().out


def test_the_interactive_app_counts_and_shows_the_plugin_finding(tmp_path):  # type: ignore[no-untyped-def]
    """The home screen's FINDINGS column and the describe screen go through the same plugins as `describe pod`."""
    import asyncio

    from ambientctl.mesh import MeshView
    from ambientctl.sources.files import load_snapshot
    from ambientctl.tui.app import AmbientApp
    from ambientctl.tui.facts import findings_of

    snap = tmp_path / "snap.yaml"
    snap.write_text(SNAPSHOT)
    view = MeshView(load_snapshot(snap))
    pod = next(p for p in view.cluster.pods if p.meta.name == "echo-7d9f")
    count, _worst = findings_of(view, pod)
    assert count >= 1

    async def main() -> None:
        app = AmbientApp(lambda: view, "snapshot", namespace="shop")
        async with app.run_test(size=(130, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.05)
                if "shop/echo-7d9f" in app.home.findings:
                    break
            assert app.home.findings["shop/echo-7d9f"][0] == count
            app.describe("shop/echo-7d9f")

            def shown() -> bool:
                return any("grpc-without-waypoint" in str(getattr(s, "content", "")) for s in app.screen.query("Static"))

            for _ in range(100):
                await pilot.pause(0.05)
                if shown():
                    break
            assert shown()

    asyncio.run(main())
