"""Build the recordings `ambientctl trace --demo` replays (ambientctl/demo/traces/) from the HBONE lab's real
captures (tests/lab/recorded), deterministically.

What is changed in a lab pcap, and nothing else:
- IPv4 addresses of the lab's hosts become the demo cluster's pod IPs (IP and TCP checksums recomputed);
- where a key log is shipped, the CONNECT request's `:authority` and `forwarded` header values inside the TLS 1.3
  records are given the demo's addresses: the record is decrypted with the lab's key log, the HTTP/2 header
  block re-encoded (HPACK, Huffman), and the record sealed again with the same key and sequence number. When the
  new record is longer, later TCP sequence/ack numbers shift by the growth, so the pcap stays a valid capture
  that tshark and `ambientctl decode` read.
Log lines are written here too, in ztunnel's and Envoy's real formats (research/istio.md §2.5, §2.6, §2.8) with
the demo pods' names and IPs, timed from the rewritten packets.

    .venv/bin/python scripts/make_demo_traces.py [OUT_DIR]     (default ambientctl/demo/traces)
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "tests/lab/recorded"
sys.path.insert(0, str(ROOT))

# demo facts (ambientctl/demo/data/*/README.md)
SLEEP, NOTSLEEP, PRODUCTPAGE, WAYPOINT = "192.168.58.148", "192.168.47.210", "192.168.13.108", "192.168.17.42"
PP_VIP = "10.100.171.143"
PP_POD = "productpage-v1-5586c4d4ff-z8jbb"
WP_POD = "waypoint-576cc76b7d-sj4pn"
SA = "spiffe://cluster.local/ns/default/sa/"
PP_SVC = "productpage.default.svc.cluster.local"


# -- pcap ------------------------------------------------------------------------------------------------------
def read_pcap(path: Path) -> tuple[bytes, list[list]]:
    data = path.read_bytes()
    head, pos, recs = data[:24], 24, []
    assert head[:4] == b"\xd4\xc3\xb2\xa1" and struct.unpack("<I", head[20:24])[0] == 1, f"{path}: not LE Ethernet"
    while pos < len(data):
        sec, usec, incl, _orig = struct.unpack("<IIII", data[pos:pos + 16])
        recs.append([sec, usec, bytearray(data[pos + 16:pos + 16 + incl])])
        pos += 16 + incl
    return head, recs


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip(s: str) -> bytes:
    return bytes(int(x) for x in s.split("."))


def _ips(b: bytes) -> str:
    return ".".join(str(x) for x in b)


class Segment:
    def __init__(self, rec: list):
        self.rec = rec
        f = rec[2]
        ihl = (f[14] & 0xF) * 4
        self.ip = f[14:14 + ihl]
        tcp = f[14 + ihl:]
        doff = (tcp[12] >> 4) * 4
        self.tcp_head = bytearray(tcp[:doff])
        self.payload = bytes(tcp[doff:])
        self.src, self.dst = _ips(self.ip[12:16]), _ips(self.ip[16:20])
        self.sport, self.dport, self.seq, self.ack = struct.unpack("!HHII", self.tcp_head[:12])
        self.flags = self.tcp_head[13]

    def build(self, ipmap: dict[str, str]) -> None:
        ip = bytearray(self.ip)
        ip[12:16], ip[16:20] = _ip(ipmap.get(self.src, self.src)), _ip(ipmap.get(self.dst, self.dst))
        tcp = bytearray(self.tcp_head)
        struct.pack_into("!II", tcp, 4, self.seq & 0xFFFFFFFF, self.ack & 0xFFFFFFFF)
        tcp[16:18] = b"\0\0"
        struct.pack_into("!H", ip, 2, len(ip) + len(tcp) + len(self.payload))
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", _csum(bytes(ip)))
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp) + len(self.payload))
        tcp[16:18] = struct.pack("!H", _csum(bytes(pseudo) + bytes(tcp) + self.payload))
        self.rec[2] = bytearray(self.rec[2][:14]) + ip + tcp + self.payload


def write_pcap(path: Path, head: bytes, recs: list[list]) -> None:
    out = bytearray(head)
    for sec, usec, frame in recs:
        out += struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
    _atomic(path, bytes(out))


def _atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- TLS 1.3 record rewriting ----------------------------------------------------------------------------------
def _seal(prot, seq: int, inner: bytes) -> bytes:
    nonce = (int.from_bytes(prot.iv, "big") ^ seq).to_bytes(12, "big")
    header = b"\x17\x03\x03" + struct.pack("!H", len(inner) + 16)
    return header + prot.aead.encrypt(nonce, inner, header)


def _open(prot, seq: int, record: bytes) -> bytes | None:
    nonce = (int.from_bytes(prot.iv, "big") ^ seq).to_bytes(12, "big")
    try:
        return prot.aead.decrypt(nonce, record[5:], record[:5])
    except Exception:
        return None


def _records(stream: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos + 5 <= len(stream):
        n = struct.unpack("!H", stream[pos + 3:pos + 5])[0]
        out.append((pos, stream[pos:pos + 5 + n]))
        pos += 5 + n
    assert pos == len(stream), "stream does not end on a TLS record boundary"
    return out


def _rewrite_headers(block: bytes, values: dict[str, str]) -> bytes:
    from hpack import Decoder, Encoder

    headers = Decoder().decode(block, raw=True)
    enc = Encoder()
    new = [(k, values[k.decode()].encode() if k.decode() in values else v) for k, v in headers]
    return enc.encode(new, huffman=True)


def _rewrite_h2(plain: bytes, values: dict[str, str]) -> bytes:
    """Re-encode the header block of every HEADERS frame in one record's HTTP/2 bytes (frames must not span
    records, which holds for the lab's client)."""
    out, pos = bytearray(), 0
    if plain.startswith(b"PRI * HTTP/2.0"):
        out += plain[:24]
        pos = 24
    while pos < len(plain):
        length = int.from_bytes(plain[pos:pos + 3], "big")
        ftype, flags, sid = plain[pos + 3], plain[pos + 4], plain[pos + 5:pos + 9]
        body = plain[pos + 9:pos + 9 + length]
        assert len(body) == length, "an HTTP/2 frame spans TLS records"
        if ftype == 1:
            assert not flags & 0x28, "padded/priority HEADERS not handled"
            body = _rewrite_headers(body, values)
        out += len(body).to_bytes(3, "big") + bytes([ftype, flags]) + sid + body
        pos += 9 + length
    return bytes(out)


def rewrite_client_stream(stream: bytes, secrets: dict[str, bytes], suite: int, values: dict[str, str]
                          ) -> tuple[bytes, list[tuple[int, int]]]:
    """The client's TLS byte stream with the CONNECT headers rewritten; returns it and the growth per record
    as (old end offset, delta)."""
    from ambientctl.decode.tls import RecordProtection

    hs = RecordProtection(suite, secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
    app = RecordProtection(suite, secrets["CLIENT_TRAFFIC_SECRET_0"])
    hs_seq = app_seq = 0
    in_app = False
    out, growth = bytearray(), []
    for pos, rec in _records(stream):
        if rec[0] != 0x17:
            out += rec
            continue
        if not in_app:
            inner = _open(hs, hs_seq, rec)
            if inner is not None:
                hs_seq += 1
                out += rec
                if inner.rstrip(b"\0")[-1] == 22 and inner[0] == 20:  # Finished: application keys from here on
                    in_app = True
                continue
            in_app = True
        inner = _open(app, app_seq, rec)
        assert inner is not None, "application record does not decrypt with the key log"
        body = inner.rstrip(b"\0")
        ct, content = body[-1], body[:-1]
        if ct == 23:
            content = _rewrite_h2(content, values)
        new_inner = content + bytes([ct])
        if len(new_inner) < len(inner):
            new_inner += b"\0" * (len(inner) - len(new_inner))  # TLS 1.3 record padding keeps the length
        sealed = _seal(app, app_seq, new_inner)
        app_seq += 1
        if len(sealed) != len(rec):
            growth.append((pos + len(rec), len(sealed) - len(rec)))
        out += sealed
    return bytes(out), growth


def _shift(x: int, growth: list[tuple[int, int]]) -> int:
    return x + sum(d for end, d in growth if end <= x)


def rewrite_pcap(src: Path, dst: Path, ipmap: dict[str, str], keylog: Path | None = None,
                 values: dict[str, str] | None = None) -> None:
    head, recs = read_pcap(src)
    segs = [Segment(r) for r in recs]
    if keylog is not None and values:
        from ambientctl.decode.keylog import KeyLog

        client = next(s for s in segs if s.flags & 0x02 and not s.flags & 0x10)
        isn = {True: client.seq, False: next(s for s in segs if s.flags & 0x12 == 0x12).seq}
        is_c = [(s.src, s.sport) == (client.src, client.sport) for s in segs]
        streams = {True: bytearray(), False: bytearray()}
        for s, c in zip(segs, is_c, strict=True):
            off = (s.seq - isn[c] - 1) & 0xFFFFFFFF
            if s.payload:
                assert off == len(streams[c]), "retransmission or gap in the lab capture"
                streams[c] += s.payload
        cstream = bytes(streams[True])
        random = cstream[11:43]
        sstream = bytes(streams[False])
        suite = struct.unpack("!H", sstream[5 + 4 + 2 + 32 + 1 + sstream[5 + 4 + 2 + 32]:][:2])[0]
        secrets = KeyLog.from_file(str(keylog)).get(random)
        new_stream, growth = rewrite_client_stream(cstream, secrets, suite, values)
        for s, c in zip(segs, is_c, strict=True):
            if c:
                off = (s.seq - isn[True] - 1) & 0xFFFFFFFF
                if s.payload:
                    s.payload = new_stream[_shift(off, growth):_shift(off + len(s.payload), growth)]
                s.seq = isn[True] + 1 + _shift(off, growth) if not s.flags & 0x02 else s.seq
            elif s.flags & 0x10:
                off = (s.ack - isn[True] - 1) & 0xFFFFFFFF
                s.ack = isn[True] + 1 + _shift(off, growth)
    for s in segs:
        s.build(ipmap)
    write_pcap(dst, head, recs)


# -- log lines -------------------------------------------------------------------------------------------------
def ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envoy_ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(t * 1000) % 1000:03d}Z"


def legacy_ts(t: float) -> str:
    return ts(t)


def access(t: float, level: str, **f: object) -> str:
    quoted = {"src.workload", "src.namespace", "src.identity", "dst.service", "dst.workload", "dst.namespace",
              "dst.identity", "direction", "duration", "error"}
    parts = [f'{k}="{v}"' if k in quoted else f"{k}={v}" for k, v in f.items() if v is not None]
    return f"{ts(t)}\t{level}\taccess\tconnection complete\t{' '.join(parts)}"


def request_id(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def envoy(t: float, method: str, path: str, code: int, flags: str, details: str, recv: int, sent: int, dur: int,
          ust: str, authority: str, upstream: str, cluster: str, local: str, remote: str, seed: str) -> str:
    return (f'[{envoy_ts(t)}] "{method} {path} HTTP/1.1" {code} {flags} {details} - "-" {recv} {sent} {dur} {ust} '
            f'"-" "curl/8.5.0" "{request_id(seed)}" "{authority}" "{upstream}" {cluster} '
            f"{'-' if upstream == '-' else 'envoy://internal_client_address/'} {local} {remote} - default")


def pcap_times(path: Path) -> tuple[float, float, str]:
    """First and last packet time, and the client ip:port of the first SYN."""
    _, recs = read_pcap(path)
    segs = [Segment(r) for r in recs]
    syn = next(s for s in segs if s.flags & 0x02 and not s.flags & 0x10)
    return recs[0][0] + recs[0][1] / 1e6, recs[-1][0] + recs[-1][1] / 1e6, f"{syn.src}:{syn.sport}"


def lab_manifest() -> dict:
    return json.loads((LAB / "manifest.json").read_text())


# -- the scenarios ---------------------------------------------------------------------------------------------
def build(out: Path) -> list[dict]:
    lab = lab_manifest()["scenarios"]
    index = []

    def capture(name: str, lab_scn: str, kind: str, ipmap: dict[str, str], pod: str, iface: str, leg: str,
                keys: bool = False, values: dict[str, str] | None = None) -> dict:
        entry = lab[lab_scn]
        src = LAB / entry["app_pcap" if kind == "app" else "pcap"]
        file = f"{leg}.pcap"
        rewrite_pcap(src, out / name / file, ipmap, LAB / entry["keylog"] if keys else None, values)
        d = {"file": file, "pod": pod, "interface": iface, "leg": leg, "lab": f"{lab_scn}:{src.name}"}
        if keys:
            keyfile = f"{leg}.keys"
            _atomic(out / name / keyfile, (LAB / entry["keylog"]).read_bytes())
            d["keylog"] = keyfile
        return d

    def write(name: str, meta: dict, logs: dict[str, list[str]]) -> None:
        for source, lines in logs.items():
            _atomic(out / name / f"{source}.log", "".join(f"{line}\n" for line in lines).encode())
        meta["logs"] = [{"file": f"{s}.log", "source": s} for s in logs]
        meta["name"] = name
        _atomic(out / name / "recording.json", (json.dumps(meta, indent=2) + "\n").encode())
        index.append({"name": name, "demo": meta["demo"], "src": meta["src"], "dst": meta["dst"],
                      "method": meta["request"]["method"], "title": meta["title"]})

    # 1. bookinfo: sleep -> productpage via the waypoint, allowed after the 5 s injected delay
    name = "bookinfo-sleep-productpage"
    c1 = capture(name, "allowed-by-policy", "client", {"10.244.1.12": SLEEP, "10.244.1.2": WAYPOINT},
                 "default/sleep-55697f8897-n2ldz", "eth0", "client-hbone")
    c2 = capture(name, "allowed-by-policy", "app", {"10.244.2.1": WAYPOINT, "10.244.2.10": PRODUCTPAGE},
                 f"default/{PP_POD}", "lo", "server-app")
    t0, t1, caddr = pcap_times(out / name / c1["file"])
    a0, a1, _aaddr = pcap_times(out / name / c2["file"])
    wp_hbone = f"{WAYPOINT}:51874"
    write(name, {
        "demo": "bookinfo", "src": "sleep", "dst": "productpage:9080", "title": "sleep → productpage (allowed at the "
        "waypoint, after the 5 s injected delay)",
        "request": {"method": "GET", "path": "/productpage", "command": "curl -s productpage:9080/productpage"},
        "captures": [c1, c2],
        "client": {"exit": 0, "status": 200, "seconds": 5.21},
        "notes": ["packet timing comes from the HBONE lab, which injects no delay: the 5 s shows in the waypoint's "
                  "log (duration, flag DI), not between the packets",
                  "no key log for the HBONE legs: ztunnel exports none, so their CONNECT headers and certificates "
                  "stay encrypted (as on a real cluster)"],
    }, {
        "ztunnel-fnjg2": [access(t1 + 5.0, "info", **{
            "src.addr": caddr, "src.workload": "sleep-55697f8897-n2ldz", "src.namespace": "default",
            "src.identity": SA + "sleep", "dst.addr": f"{WAYPOINT}:15008", "dst.hbone_addr": f"{PP_VIP}:9080",
            "dst.service": PP_SVC, "dst.workload": WP_POD, "dst.namespace": "default",
            "dst.identity": SA + "waypoint", "direction": "outbound", "bytes_sent": 109, "bytes_recv": 364,
            "duration": f"{int((t1 + 5.0 - t0) * 1000)}ms"})],
        "waypoint-576cc76b7d-sj4pn": [envoy(t0 + 0.004, "GET", "/productpage", 200, "DI", "via_upstream", 0, 223,
                                            5006, "4", "productpage:9080", f"envoy://connect_originate/"
                                            f"{PRODUCTPAGE}:9080", f"inbound-vip|9080|http|{PP_SVC}",
                                            f"{PP_VIP}:9080", caddr, name)],
        "ztunnel-k4jhb": [access(a1 + 5.0, "info", **{
            "src.addr": wp_hbone, "src.workload": WP_POD, "src.namespace": "default",
            "src.identity": SA + "waypoint", "dst.addr": f"{PRODUCTPAGE}:15008",
            "dst.hbone_addr": f"{PRODUCTPAGE}:9080", "dst.service": PP_SVC, "dst.workload": PP_POD,
            "dst.namespace": "default", "dst.identity": SA + "bookinfo-productpage", "direction": "inbound",
            "bytes_sent": 364, "bytes_recv": 109, "duration": f"{int((a1 - a0) * 1000)}ms"})],
    })

    # 2. bookinfo: DELETE denied by the waypoint (403)
    name = "bookinfo-sleep-productpage-delete"
    c1 = capture(name, "allowed", "client", {"10.244.1.12": SLEEP, "10.244.1.1": WAYPOINT},
                 "default/sleep-55697f8897-n2ldz", "eth0", "client-hbone")
    c2 = capture(name, "denied", "app", {"10.244.2.1": WAYPOINT, "10.244.2.10": PRODUCTPAGE},
                 f"default/{PP_POD}", "lo", "server-app")
    t0, t1, caddr = pcap_times(out / name / c1["file"])
    write(name, {
        "demo": "bookinfo", "src": "sleep", "dst": "productpage:9080", "title": "sleep → productpage DELETE (403 "
        "from the waypoint)",
        "request": {"method": "DELETE", "path": "/productpage",
                    "command": "curl -s -X DELETE productpage:9080/productpage"},
        "captures": [c1, c2],
        "client": {"exit": 0, "status": 403, "body": "RBAC: access denied", "seconds": 0.05},
        "notes": ["no key log for the HBONE leg: ztunnel exports none, so the 403 inside the tunnel is seen in the "
                  "waypoint's log, not in the packets"],
    }, {
        "ztunnel-fnjg2": [access(t1, "info", **{
            "src.addr": caddr, "src.workload": "sleep-55697f8897-n2ldz", "src.namespace": "default",
            "src.identity": SA + "sleep", "dst.addr": f"{WAYPOINT}:15008", "dst.hbone_addr": f"{PP_VIP}:9080",
            "dst.service": PP_SVC, "dst.workload": WP_POD, "dst.namespace": "default",
            "dst.identity": SA + "waypoint", "direction": "outbound", "bytes_sent": 112, "bytes_recv": 158,
            "duration": f"{int((t1 - t0) * 1000)}ms"})],
        "waypoint-576cc76b7d-sj4pn": [envoy(t0 + 0.004, "DELETE", "/productpage", 403, "-",
                                            "rbac_access_denied_matched_policy[none]", 0, 19, 0, "-",
                                            "productpage:9080", "-", f"inbound-vip|9080|http|{PP_SVC}",
                                            f"{PP_VIP}:9080", caddr, name)],
        "ztunnel-k4jhb": [],
    })

    # 3. bookinfo-l4: notsleep denied by the destination ztunnel (CONNECT 401)
    name = "bookinfo-l4-notsleep-productpage"
    lab_c = lab["denied"]["expected"]["client_addr"]
    c1 = capture(name, "denied", "client", {"10.244.1.12": NOTSLEEP, "10.244.1.2": PRODUCTPAGE},
                 "default/notsleep-c5589665d8-9jcqj", "eth0", "client-hbone", keys=True,
                 values={":authority": f"{PRODUCTPAGE}:9080",
                         "forwarded": f'for="{NOTSLEEP}:{lab_c.split(":")[1]}";host={PP_SVC}'})
    c2 = capture(name, "denied", "app", {"10.244.2.1": NOTSLEEP, "10.244.2.10": PRODUCTPAGE},
                 f"default/{PP_POD}", "lo", "server-app")
    t0, t1, caddr = pcap_times(out / name / c1["file"])
    err = "connection closed due to policy rejection: allow policies exist, but none allowed"
    write(name, {
        "demo": "bookinfo-l4", "src": "notsleep", "dst": "productpage:9080", "title": "notsleep → productpage "
        "(denied by the destination ztunnel: CONNECT 401)",
        "request": {"method": "GET", "path": "/productpage", "command": "curl -s productpage:9080/productpage"},
        "captures": [c1, c2],
        "client": {"exit": 56, "error": "curl: (56) Recv failure: Connection reset by peer", "seconds": 0.04},
        "notes": [],
    }, {
        "ztunnel-fnjg2": [access(t1, "error", **{
            "src.addr": caddr, "src.workload": "notsleep-c5589665d8-9jcqj", "src.namespace": "default",
            "src.identity": SA + "notsleep", "dst.addr": f"{PRODUCTPAGE}:15008",
            "dst.hbone_addr": f"{PRODUCTPAGE}:9080", "dst.service": PP_SVC, "dst.workload": PP_POD,
            "dst.namespace": "default", "dst.identity": SA + "bookinfo-productpage", "direction": "outbound",
            "bytes_sent": 0, "bytes_recv": 0, "duration": f"{int((t1 - t0) * 1000)}ms",
            "error": "http status: 401 Unauthorized"})],
        "ztunnel-k4jhb": [access(t1 - 0.001, "error", **{
            "src.addr": caddr, "src.workload": "notsleep-c5589665d8-9jcqj", "src.namespace": "default",
            "src.identity": SA + "notsleep", "dst.addr": f"{PRODUCTPAGE}:15008",
            "dst.hbone_addr": f"{PRODUCTPAGE}:9080", "dst.service": PP_SVC, "dst.workload": PP_POD,
            "dst.namespace": "default", "dst.identity": SA + "bookinfo-productpage", "direction": "inbound",
            "bytes_sent": 0, "bytes_recv": 0, "duration": f"{int((t1 - t0) * 1000) - 1}ms", "error": err})],
    })

    # 4. bookinfo-l4: sleep allowed by productpage-viewer at the destination ztunnel
    name = "bookinfo-l4-sleep-productpage"
    lab_c = lab["allowed-by-policy"]["expected"]["client_addr"]
    c1 = capture(name, "allowed-by-policy", "client", {"10.244.1.12": SLEEP, "10.244.1.2": PRODUCTPAGE},
                 "default/sleep-55697f8897-n2ldz", "eth0", "client-hbone", keys=True,
                 values={":authority": f"{PRODUCTPAGE}:9080",
                         "forwarded": f'for="{SLEEP}:{lab_c.split(":")[1]}";host={PP_SVC}'})
    c2 = capture(name, "allowed-by-policy", "app", {"10.244.2.1": SLEEP, "10.244.2.10": PRODUCTPAGE},
                 f"default/{PP_POD}", "lo", "server-app")
    t0, t1, caddr = pcap_times(out / name / c1["file"])
    write(name, {
        "demo": "bookinfo-l4", "src": "sleep", "dst": "productpage:9080", "title": "sleep → productpage (allowed "
        "by productpage-viewer at the destination ztunnel)",
        "request": {"method": "GET", "path": "/productpage", "command": "curl -s productpage:9080/productpage"},
        "captures": [c1, c2],
        "client": {"exit": 0, "status": 200, "seconds": 0.21},
        "notes": [],
    }, {
        "ztunnel-fnjg2": [access(t1, "info", **{
            "src.addr": caddr, "src.workload": "sleep-55697f8897-n2ldz", "src.namespace": "default",
            "src.identity": SA + "sleep", "dst.addr": f"{PRODUCTPAGE}:15008",
            "dst.hbone_addr": f"{PRODUCTPAGE}:9080", "dst.service": PP_SVC, "dst.workload": PP_POD,
            "dst.namespace": "default", "dst.identity": SA + "bookinfo-productpage", "direction": "outbound",
            "bytes_sent": 109, "bytes_recv": 364, "duration": f"{int((t1 - t0) * 1000)}ms"})],
        "ztunnel-k4jhb": [access(t1 - 0.001, "info", **{
            "src.addr": caddr, "src.workload": "sleep-55697f8897-n2ldz", "src.namespace": "default",
            "src.identity": SA + "sleep", "dst.addr": f"{PRODUCTPAGE}:15008",
            "dst.hbone_addr": f"{PRODUCTPAGE}:9080", "dst.service": PP_SVC, "dst.workload": PP_POD,
            "dst.namespace": "default", "dst.identity": SA + "bookinfo-productpage", "direction": "inbound",
            "bytes_sent": 364, "bytes_recv": 109, "duration": f"{int((t1 - t0) * 1000) - 1}ms"})],
    })

    # 5. hairpin-1.20: legacy/sleep's plaintext hairpinned by ztunnel-lxwdt through the waypoint, 403 (logs only)
    name = "hairpin-legacy-sleep-productpage"
    t = lab_manifest_time(lab["plaintext"])
    wp, legacy, lx = "192.168.36.201", "192.168.11.54", "ztunnel-lxwdt"
    write(name, {
        "demo": "hairpin-1.20", "src": "sleep.legacy", "dst": "productpage.default:9080",
        "title": "legacy/sleep → productpage (hairpinned through the waypoint, 403)",
        "request": {"method": "GET", "path": "/productpage",
                    "command": "curl -s productpage.default:9080/productpage"},
        "captures": [],
        "client": {"exit": 0, "status": 403, "body": "RBAC: access denied", "seconds": 0.02},
        "notes": ["no packets recorded: the HBONE lab has no hairpin topology, so this recording has logs only"],
    }, {
        lx: [
            f"{legacy_ts(t)}  INFO inbound_passthrough: ztunnel::proxy::inbound_passthrough: accepted connection "
            f'source={legacy}:47310 destination={PRODUCTPAGE}:9080 component="inbound plaintext"',
            f"{legacy_ts(t + 0.0003)}  INFO ztunnel::proxy::outbound: proxy to {PRODUCTPAGE}:9080 using HBONE via "
            f"{wp}:15008 type ToServerWaypoint",
            f"{legacy_ts(t + 0.0161)}  INFO ztunnel::proxy::inbound_passthrough: connection complete "
            f'source={legacy}:47310 destination={PRODUCTPAGE}:9080 component="inbound plaintext"',
        ],
        "bookinfo-productpage-istio-waypoint-bd589d4c4d-nz5xf": [
            envoy(t + 0.004, "GET", "/productpage", 403, "-", "rbac_access_denied_matched_policy[none]", 0, 19, 0,
                  "-", "productpage.default:9080", "-", f"inbound-vip|9080|http|{PP_SVC}", f"{PRODUCTPAGE}:9080",
                  f"{legacy}:47310", name)],
    })
    _atomic(out / "index.json", (json.dumps(index, indent=2) + "\n").encode())
    return index


def lab_manifest_time(entry: dict) -> float:
    _, recs = read_pcap(LAB / entry["pcap"])
    return recs[0][0] + recs[0][1] / 1e6


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "ambientctl/demo/traces"
    for entry in build(out):
        print(f"{entry['name']}: {entry['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
