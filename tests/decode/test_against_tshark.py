"""The decoder reads the real TLS 1.3 captures the way tshark (Debian's Wireshark) does: same flows with the
same packet and byte counts, same TLS hello metadata, same decrypted HTTP/2 headers and application data."""

from __future__ import annotations

from collections import defaultdict

from ambientctl.decode import Decoder, KeyLog, decode_file


def tshark_flows(tshark, path):
    rows = tshark(path, ["tcp.stream", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport",
                         "tcp.flags", "tcp.len"], "tcp")
    flows: dict[int, dict] = {}
    for stream, s4, s6, d4, d6, sp, dp, flags, ln in rows:
        src, dst = (s4 or s6, int(sp)), (d4 or d6, int(dp))
        f = flows.setdefault(int(stream), {"ends": frozenset([src, dst]), "pkts": defaultdict(int),
                                           "bytes": defaultdict(int), "syn": set(), "fin": set(), "rst": set()})
        f["pkts"][src] += 1
        f["bytes"][src] += int(ln)
        fl = int(flags, 16)
        if fl & 2:
            f["syn"].add(src)
        if fl & 1:
            f["fin"].add(src)
        if fl & 4:
            f["rst"].add(src)
    return flows


def ours_by_ends(result):
    return {frozenset([f.client, f.server]): f for f in result.flows}


def check_flows(tshark, path):
    result = decode_file(str(path))
    theirs = tshark_flows(tshark, path)
    ours = ours_by_ends(result)
    assert len(result.flows) == len(theirs)
    assert set(ours) == {f["ends"] for f in theirs.values()}
    for t in theirs.values():
        f = ours[t["ends"]]
        assert f.client_packets == t["pkts"][f.client]
        assert f.server_packets == t["pkts"][f.server]
        assert f.client_bytes == t["bytes"][f.client]
        assert f.server_bytes == t["bytes"][f.server]
        who = {f.client: "client", f.server: "server"}
        assert set(f.fin_by) == {who[e] for e in t["fin"]}
        assert set(f.rst_by) == {who[e] for e in t["rst"]}
        assert f.syn == (f.client in t["syn"])
    assert result.packets == sum(sum(t["pkts"].values()) for t in theirs.values())
    return result


def test_flows_match_tshark_pcapng(tshark, grpc_capture):
    result = check_flows(tshark, grpc_capture[0])
    grpc = next(f for f in result.flows if f.server[1] == 50051)
    assert grpc.handshake == "complete"
    assert result.format == "pcapng"


def test_flows_match_tshark_pcap_null_linktype(tshark, illustrated_capture):
    result = check_flows(tshark, illustrated_capture[0])
    assert result.linktypes == [0]  # BSD loopback
    (f,) = result.flows
    assert f.fin_by == ["server", "client"]


def test_tls_hello_metadata_matches_tshark(tshark, grpc_capture, illustrated_capture):
    for path, _ in (grpc_capture, illustrated_capture):
        ch = tshark(path, ["tcp.srcport", "tls.handshake.random", "tls.handshake.extensions_server_name",
                           "tls.handshake.extensions_alpn_str", "tls.handshake.extensions.supported_version"],
                    "tls.handshake.type==1")
        sh = tshark(path, ["tcp.dstport", "tls.handshake.ciphersuite", "tls.handshake.extensions.supported_version"],
                    "tls.handshake.type==2")
        result = decode_file(str(path))
        tls = {f.client[1]: f.tls for f in result.flows if f.tls}
        assert len(tls) == len(ch) == len(sh)
        for port, rnd, sni, alpn, versions in ch:
            info = tls[int(port)]
            assert info.client_random == rnd.replace(":", "")
            assert info.sni == (sni or None)
            assert info.alpn_offered == (alpn.split("|") if alpn else [])
            assert len(info.offered_versions) == len(versions.split("|"))
        for port, suite, version in sh:
            info = tls[int(port)]
            assert int(suite, 16) == {"TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302}[info.cipher_suite]
            assert int(version, 16) == 0x0304 and info.version == "TLSv1.3"
            assert info.keys == "none" and not info.decrypted


def test_http2_headers_match_tshark_with_keys(tshark, grpc_capture):
    path, keys = grpc_capture
    rows = tshark(path, ["http2.streamid", "http2.header.name", "http2.header.value"], "http2.type==1", keys)
    theirs: dict[int, list[tuple[str, str]]] = defaultdict(list)
    everything: list[tuple[str, str]] = []
    for sids, names, values in rows:
        pairs = list(zip(names.split("|"), values.split("|"), strict=True))
        everything += pairs
        # a packet may carry frames of several streams; tshark's fields do not say which header is whose
        streams_in_packet = {int(x) for x in sids.split("|")} - {0}
        if len(streams_in_packet) == 1:
            theirs[streams_in_packet.pop()] += pairs
    result = decode_file(str(path), str(keys))
    streams = {s.stream_id: s for s in result.streams}
    assert sorted(streams) == list(range(1, 16, 2))
    assert sorted(h for s in streams.values() for h in s.request_headers + s.response_headers + s.trailers) \
        == sorted(everything)
    assert len(theirs) >= 4
    for sid, pairs in theirs.items():
        s = streams[sid]
        assert sorted(s.request_headers + s.response_headers + s.trailers) == sorted(pairs), sid
    for s in streams.values():
        assert s.method == "POST" and s.path.startswith("/echo.EchoServer/SayHello")
        assert s.authority == "grpc.domain.com"
        assert s.status == 200 and s.grpc_status == "0"
    (flow,) = [f for f in result.flows if f.tls]
    assert flow.tls.cipher_suite == "TLS_AES_128_GCM_SHA256"
    assert flow.tls.decrypted and flow.tls.keys == "found" and flow.tls.alpn == "h2"
    assert flow.tls.server_subject and "CN=grpc.domain.com" in flow.tls.server_subject


def test_decrypted_application_data_matches_tshark(tshark, illustrated_capture):
    path, keys = illustrated_capture
    theirs = [bytes.fromhex(d) for (d,) in tshark(path, ["data.data"], "data", keys)]
    ours: list[bytes] = []
    d = Decoder(str(path), KeyLog.from_file(str(keys)), on_app_data=lambda _f, _c, data, _t: ours.append(data))
    for _ in d.run():
        pass
    assert ours == theirs == [b"ping", b"pong"]
    (f,) = d.result().flows
    assert f.tls.cipher_suite == "TLS_AES_256_GCM_SHA384" and f.tls.decrypted
    assert d.result().warnings == []


def test_wrong_keylog_warns_and_decrypts_nothing(grpc_capture, illustrated_capture):
    result = decode_file(str(grpc_capture[0]), str(illustrated_capture[1]))
    assert result.streams == []
    assert any("no secrets for any TLS session" in w for w in result.warnings)
