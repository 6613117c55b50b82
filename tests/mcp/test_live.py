"""`ambientctl mcp --kubeconfig` on the real test cluster (tests/cluster/fixture.py): the same document as the CLI,
and a live source re-read for every call — a pod created while the server runs is there on the next call."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from ambientctl.cli.main import main

pytestmark = pytest.mark.live
AMBIENTCTL = str(Path(sys.executable).with_name("ambientctl"))


def test_live_server_answers_as_the_cli_and_follows_the_cluster(kube_cluster, tmp_path, capsys):  # type: ignore[no-untyped-def]
    kc = str(kube_cluster.kubeconfig)
    kube_cluster.apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: mcp-live}\n")
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: probe, namespace: mcp-live}\n"
           f"spec: {{nodeName: {kube_cluster.nodes[0]}, containers: [{{name: c, image: busybox}}]}}\n")
    params = StdioServerParameters(command=AMBIENTCTL, args=["mcp", "--kubeconfig", kc], cwd=str(tmp_path),
                                   env=dict(os.environ))

    async def calls(client):  # type: ignore[no-untyped-def]
        described = await client.call_tool("describe_pod", {"name": "productpage"})
        before = await client.call_tool("describe_pod", {"name": "probe", "namespace": "mcp-live"})
        kube_cluster.apply(pod)
        deadline = time.monotonic() + 10  # the API server's watch cache follows etcd within ms
        while True:
            after = await client.call_tool("describe_pod", {"name": "probe", "namespace": "mcp-live"})
            if not after.is_error or time.monotonic() > deadline:
                return described, before, after
            await anyio.sleep(0.3)

    async def go():  # type: ignore[no-untyped-def]
        async with Client(params, read_timeout_seconds=120) as client:  # type: ignore[arg-type]
            return await calls(client)

    try:
        described, before, after = anyio.run(go)
    finally:
        kube_cluster.kubectl("delete", "namespace", "mcp-live", "--wait=false", check=False)
    assert main(["describe", "pod", "productpage", "--kubeconfig", kc, "-o", "json"]) == 0
    out, _err = capsys.readouterr()
    assert not described.is_error, described.content[0].text
    assert described.structured_content == json.loads(out)
    assert before.is_error
    assert before.content[0].text.startswith("ambientctl: describe pod: no pod, deployment or app named 'probe'")
    assert not after.is_error, after.content[0].text
    assert after.structured_content["pod"]["name"] == "probe"
