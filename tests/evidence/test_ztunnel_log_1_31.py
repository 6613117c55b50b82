"""Istio 1.31 ztunnel log changes in `logs parse`: the access-log fields `src.cluster` / `dst.cluster`
(istio/ztunnel#1994, `src/proxy/metrics.rs` — emitted after `src.identity` / `dst.identity`, absent before 1.31)
and CRL revocation: the error `connection closed: peer certificate revoked by CRL` (`src/proxy.rs`
`Error::CertificateRevoked`, response flag CERT_REVOKED) and the DEBUG teardown lines of open connections on a CRL
update (`src/proxy/h2/server.rs` "terminating inbound connection: peer certificate revoked by CRL update",
`src/proxy/h2/client.rs` "terminating outbound connection: upstream certificate revoked by CRL update")."""

import json

from ambientctl.cli.main import main
from ambientctl.evidence.ztunnel_log import parse_line

OUT_131 = ('2026-09-01T10:00:00.000000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.1.0.5:43210 '
           'src.workload="sleep-7b9f" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/sleep" '
           'src.cluster="east" dst.addr=10.2.0.7:15008 dst.hbone_addr=10.2.0.7:9080 dst.service="productpage.default.'
           'svc.cluster.local" dst.workload="productpage-v1-x" dst.namespace="default" '
           'dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-productpage" dst.cluster="west" '
           'direction="outbound" bytes_sent=120 bytes_recv=800 duration="12ms"')
CRL = ('2026-09-01T10:00:05.000000Z\terror\taccess\tconnection complete\tsrc.addr=10.1.0.5:43212 '
       'src.workload="sleep-7b9f" src.namespace="default" src.identity="spiffe://cluster.local/ns/default/sa/sleep" '
       'src.cluster="east" dst.addr=10.1.0.9:15008 dst.hbone_addr=10.1.0.9:9080 dst.workload="ratings-v1-y" '
       'dst.namespace="default" dst.cluster="east" direction="inbound" bytes_sent=0 bytes_recv=0 duration="1ms" '
       'error="connection closed: peer certificate revoked by CRL"')


def test_cluster_fields_are_read():
    ev = parse_line(OUT_131)
    assert (ev.src_cluster, ev.dst_cluster) == ("east", "west")
    assert ev.to_dict()["srcCluster"] == "east"
    old = parse_line(OUT_131.replace(' src.cluster="east"', "").replace(' dst.cluster="west"', ""))
    assert (old.src_cluster, old.dst_cluster) == ("", "")


def test_crl_errors():
    ev = parse_line(CRL)
    assert ev.error.code == "cert-revoked" and ev.error.flag == "CERT_REVOKED" and "1.31" in ev.error.versions_note
    up = parse_line("2026-09-01T10:00:06Z\tdebug\tproxy::h2::client\tterminating outbound connection: upstream "
                    "certificate revoked by CRL update\tpeer=10.2.0.7:15008")
    assert up.error.code == "cert-revoked-upstream" and up.error.where == "src-ztunnel"
    down = parse_line("2026-09-01T10:00:06Z\tdebug\tproxy::h2::server\tterminating inbound connection: peer "
                      "certificate revoked by CRL update\tpeer=10.1.0.5:43212")
    assert down.error.code == "cert-revoked"


def test_logs_parse_shows_clusters_and_the_crl_error(tmp_path, capsys):
    f = tmp_path / "ztunnel-1.31.log"
    f.write_text(OUT_131 + "\n" + CRL + "\n")
    assert main(["logs", "parse", str(f), "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    pp = next(c for c in doc["connections"] if "productpage" in c.get("service", ""))
    assert (pp["srcCluster"], pp["dstCluster"]) == ("east", "west")
    assert any(c.get("error", {}).get("code") == "cert-revoked" for c in doc["connections"])
    assert main(["logs", "parse", str(f)]) == 0
    out = capsys.readouterr().out
    assert "[east]" in out and "[west]" in out and "cert-revoked" in out
