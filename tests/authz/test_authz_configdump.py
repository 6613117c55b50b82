"""ztunnel's serialized policies → the same dataclasses, across schema generations.

Data: istio/istio `istioctl/pkg/writer/ztunnel/configdump/testdata/dump.json` at 86c9f01f (head) and at seven older
commits (history/, 2023-04..2025-01: `policies` as a map, as null, as a list), and istio/ztunnel `examples/
localhost.yaml` local-config at head and history (2023-01 `groups` + snake_case, 2023-05+ `rules`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ambientctl.authz.evaluate import Connection, evaluate
from ambientctl.authz.ztunnel import ALLOW, NAMESPACE, WORKLOAD_SELECTOR, parse_authorization, parse_policies
from ambientctl.errors import InputError


def test_head_dump_policies(realdata: Path) -> None:
    """head dump: `default/allow-nothing` (no rules) and `default/allow-waypoint` (serviceAccounts default/waypoint)."""
    dump = json.loads((realdata / "istio-istio/ztunnel-configdump/head/dump.json").read_text())
    pols = {p.key: p for p in parse_policies(dump["policies"])}
    assert set(pols) == {"default/allow-nothing", "default/allow-waypoint"}
    assert pols["default/allow-nothing"].rules == () and pols["default/allow-nothing"].scope == NAMESPACE
    wp = pols["default/allow-waypoint"]
    assert wp.scope == WORKLOAD_SELECTOR and wp.action == ALLOW
    assert str(wp.rules[0][0][0].service_accounts[0]) == "default/waypoint"
    # the waypoint's identity is allowed, anyone else is not
    ok = evaluate(list(pols.values()), Connection("10.0.0.1", "10.0.0.2", 9080, "spiffe://cluster.local/ns/default/sa/waypoint"))
    no = evaluate(list(pols.values()), Connection("10.0.0.1", "10.0.0.2", 9080, "spiffe://cluster.local/ns/default/sa/sleep"))
    assert ok.allowed and not no.allowed and no.decided_by == {"defaultDeny": ["default/allow-nothing", "default/allow-waypoint"]}


def test_history_dumps_all_shapes(realdata: Path) -> None:
    """Older dumps: `policies: {}` (2023 maps), `null` (2023-08..2024-04), list (2025+): all parse."""
    counts = {}
    for f in sorted((realdata / "istio-istio/ztunnel-configdump/history").glob("*.json")):
        counts[f.name] = len(parse_policies(json.loads(f.read_text()).get("policies"), f.name))
    assert counts["dump.2025-01-19.7f7fd1c12a2.json"] == 2
    assert counts["dump.2023-04-04.890f15ccd4d.json"] == 0 and counts["dump.2024-04-15.7d240b63161.json"] == 0


def _local(path: Path):
    doc = yaml.safe_load(path.read_text())
    # the 2022-11 example is a bare list of workloads (no policies yet)
    return parse_policies(doc.get("policies") if isinstance(doc, dict) else None, path.name)


def test_local_config_deny_9999_every_generation(realdata: Path) -> None:
    """`deny-9999` (an ALLOW of notDestinationPorts 9999): same policy in `groups`/snake_case (2023-01), `rules`/
    snake_case (2023-05..07) and camelCase (2024+, head). It allows port 80 and rejects 9999."""
    files = [realdata / "istio-ztunnel/local-config/localhost.head.yaml",
             *sorted((realdata / "istio-ztunnel/local-config/history").glob("*.yaml"))]
    seen = []
    for f in files:
        pols = _local(f)
        if not pols:
            continue
        (p,) = pols
        assert p.key == "default/deny-9999" and p.rules[0][0][0].not_destination_ports == (9999,)
        assert evaluate(pols, Connection("127.0.0.1", "127.0.0.2", 80)).allowed
        assert not evaluate(pols, Connection("127.0.0.1", "127.0.0.2", 9999)).allowed
        seen.append(f.name)
    assert len(seen) == 6


def test_config_dump_string_match_forms() -> None:
    """ztunnel serializes StringMatch as a Rust enum: {"Exact": ..}, {"Prefix": ..}, {"Suffix": ..}, {"Presence": []}."""
    p = parse_authorization({"name": "x", "namespace": "n", "scope": "Global", "action": "Deny", "dryRun": True,
                             "rules": [[[{"principals": [{"Exact": "a"}, {"Prefix": "b"}, {"Suffix": "c"},
                                                          {"Presence": []}], "sourceIps": ["10.0.0.0/8"]}]]]})
    m = p.rules[0][0][0]
    assert [s.kind for s in m.principals] == ["exact", "prefix", "suffix", "presence"] and p.dry_run
    assert str(m.source_ips[0]) == "10.0.0.0/8"


@pytest.mark.parametrize("bad", [
    {"name": "x", "rules": [[[{"principals": ["plain"]}]]]},
    {"name": "x", "rules": [[[{"bogus": [1]}]]]},
    {"name": "x", "scope": "Cluster"},
    {"name": "x", "rules": [[[{"sourceIps": ["not-an-ip"]}]]]},
])
def test_bad_policy_is_one_line_error(bad: dict) -> None:
    with pytest.raises(InputError) as e:
        parse_authorization(bad, "dump.json policies[0]")
    assert "\n" not in str(e.value) and "dump.json policies[0]" in str(e.value)
