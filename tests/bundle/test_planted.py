"""Planted secrets never reach a bundle. Generated: every carrier a bundle reads (annotations, labels, env, args,
command, ConfigMaps, the mesh ConfigMap, unknown CRs, Secrets, access and waypoint logs, pcap payloads, key logs)
crossed with every credential shape (URL userinfo, PEM/PGP blocks and base64 PEM, JWTs, Bearer/Basic tokens,
Authorization/Cookie/Set-Cookie/X-Api-Key headers, secret-ish keys in every spelling, `access_token=` in a
path, high-entropy base64 and hex). Each form carries its own value; none may appear in any member of the
archive nor in its decompressed bytes, and in the values that must stay (labels, Istio annotations, log lines)
the rest of the line must survive."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import struct
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ambientctl.bundle.redact import redact_text
from ambientctl.cli.main import main


def _token(seed: str, n: int = 24, alphabet: str = "abcdefghijkmnpqrstuvwxyz") -> str:
    """A value unique to one form, deterministic (the test can be re-run and read)."""
    h = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in (h * 4)[:n])


def _b64(seed: str, n: int = 44) -> str:
    return base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()[:n]


def _jwt(v: str) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc({'sub': v})}.{_b64(v, 43).replace('+', '-').replace('/', '_')}"


# shape name -> (form with the secret, the values that must not survive)
SHAPES: dict[str, Callable[[str], tuple[str, list[str]]]] = {
    "url-userinfo": lambda v: (f"https://deploy:{v}@git.example.com/repo.git", [v]),
    "url-token-userinfo": lambda v: (f"https://{v}@github.com/org/repo", [v]),
    "pem-private-key": lambda v: (f"-----BEGIN PRIVATE KEY-----\nMIIEv{v}QIBADAN\n-----END PRIVATE KEY-----", [v]),
    "pem-rsa-key-escaped": lambda v: (f"-----BEGIN RSA PRIVATE KEY-----\\nMIIE{v}\\n-----END RSA PRIVATE KEY-----",
                                      [v]),
    "pem-base64": lambda v: ((b := base64.b64encode(f"-----BEGIN PRIVATE KEY-----\nMIIE{v}\n-----END PRIVATE KEY-----"
                                                    "\n".encode()).decode()), [b[16:]]),
    "pgp-block": lambda v: (f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdG{v}\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----",
                            [v]),
    "jwt": lambda v: ((j := _jwt(v)), [j, j.split(".")[1]]),
    "bearer": lambda v: (f"Bearer {v}", [v]),
    "basic": lambda v: ((b := base64.b64encode(f"admin:{v}".encode()).decode()) and f"Basic {b}", [b]),
    "authorization-header": lambda v: (f"Authorization: Bearer {v}", [v]),
    "authorization-field": lambda v: (f'authorization="Token {v}"', [v]),
    "cookie-header": lambda v: (f"Cookie: session={v}; theme=dark", [v]),
    "set-cookie-header": lambda v: (f"Set-Cookie: sid={v}; Path=/; HttpOnly", [v]),
    "x-api-key-header": lambda v: (f"X-Api-Key: {v}", [v]),
    "api-token-v2-env": lambda v: (f"API_TOKEN_V2={v}", [v]),
    "pgpassword-env": lambda v: (f"PGPASSWORD={v}", [v]),
    "mysql-pwd-env": lambda v: (f"export MYSQL_PWD='{v}'", [v]),
    "clientsecret-json": lambda v: (f'{{"clientSecret": "{v}"}}', [v]),
    "secret-key-yaml": lambda v: (f"SECRET_KEY: {v}", [v]),
    "admin-pass": lambda v: (f"ADMIN_PASS={v}", [v]),
    "password-flag-equals": lambda v: (f"--password={v}", [v]),
    "token-flag-space": lambda v: (f"--token {v}", [v]),
    "db-password-flag": lambda v: (f"--db-password \"{v}\"", [v]),
    "access-token-query": lambda v: (f"GET /api/v1/items?page=2&access_token={v}&sort=asc HTTP/1.1", [v]),
    "client-secret-query": lambda v: (f"/oauth/token?client_id=app&client_secret={v}", [v]),
    "private-key-field": lambda v: (f"private_key={v}", [v]),
    "credentials-field": lambda v: (f"aws_credentials: {v}", [v]),
    "session-field": lambda v: (f"sessionToken={v}", [v]),
    "api-key-camel": lambda v: (f"apiKey: {v}", [v]),
    "auth-field": lambda v: (f"x-auth={v}", [v]),
    "kubeconfig": lambda v: (f"apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: {v}\n"
                             f"    client-key-data: {(b := _b64(v, 60))}", [v, b]),
    "high-entropy-base64": lambda v: ((b := _b64(v, 40)), [b]),
    "high-entropy-hex": lambda v: ((h := hashlib.sha1(v.encode()).hexdigest()), [h]),
}
CARRIERS = ("annotation", "istio-annotation", "label-value", "env-value", "istio-env-value", "args", "command",
            "configmap-url", "mesh-configmap-key", "mesh-configmap-read-key", "unknown-cr", "secret",
            "access-log", "waypoint-log", "pcap-payload", "key-log", "trace-report", "trace-recording")
# carriers whose value stays in the bundle (scanned): the rest of the line must survive there
KEPT = ("istio-annotation", "label-value", "istio-env-value", "mesh-configmap-read-key", "access-log", "waypoint-log",
        "trace-report", "trace-recording")
PREFIX = "src.workload=sleep path=/productpage"


def _forms() -> list[tuple[str, str, str, list[str], str]]:
    """(carrier, shape, line, planted values, marker): every carrier x every shape."""
    out = []
    for carrier in CARRIERS:
        for shape, make in SHAPES.items():
            value = "zq" + _token(f"{carrier}/{shape}", 18)
            form, planted = make(value)
            marker = f"keep-{CARRIERS.index(carrier)}-{list(SHAPES).index(shape)}"
            line = f"{PREFIX} {form} status=200 marker={marker}"
            out.append((carrier, shape, line, planted, marker))
    return out


FORMS = _forms()


def test_there_are_enough_generated_forms() -> None:
    assert len(SHAPES) >= 30 and len(CARRIERS) >= 13 and len(FORMS) >= 60


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_shape_is_redacted_and_the_rest_of_the_line_stays(shape: str) -> None:
    form, planted = SHAPES[shape]("zq" + _token(shape, 18))
    line = f"{PREFIX} {form} status=200 marker=x1"
    out = redact_text(line)
    assert [p for p in planted if p in out] == [], out
    assert out.startswith(PREFIX + " ") and out.endswith(" status=200 marker=x1"), out
    assert "<redacted:" in out


def _pcap(payload: bytes) -> bytes:
    """A real pcap (Ethernet/IPv4/TCP) whose one packet carries `payload`."""
    tcp = struct.pack("!HHIIBBHHH", 43210, 9080, 1, 0, 5 << 4, 0x18, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000, 64, 6, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp + payload
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + \
        struct.pack("<IIII", 1_700_000_000, 0, len(frame), len(frame)) + frame


def _snapshot(d: Path, forms: list) -> None:
    by = {c: [(line, i) for i, (carrier, _s, line, _p, _m) in enumerate(forms) if carrier == c] for c in CARRIERS}
    env_names = ["API_TOKEN_V2", "PGPASSWORD", "MYSQL_PWD", "clientSecret", "SECRET_KEY", "ADMIN_PASS", "LOG_LINE"]
    container = {
        "name": "app", "image": "example.com/app:1", "ports": [{"containerPort": 9080}],
        "env": [{"name": f"{env_names[i % len(env_names)]}_{i}", "value": line} for line, i in by["env-value"]],
        "args": [line for line, _ in by["args"]],
        "command": ["sh", "-c", "\n".join(line for line, _ in by["command"])]}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "carrier", "namespace": "planted", "labels": {"app": "carrier", **{
            f"planted-{i}": line for line, i in by["label-value"]}},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"env": container["env"]}),
            **{f"example.com/note-{i}": line for line, i in by["annotation"]},
            **{f"istio.io/planted-{i}": line for line, i in by["istio-annotation"]}}},
        "spec": {"serviceAccountName": "carrier", "nodeName": "node-1", "containers": [container]},
        "status": {"phase": "Running", "podIP": "10.0.0.9"}}
    istiod = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system"},
              "spec": {"selector": {"matchLabels": {"app": "istiod"}}, "template": {
                  "metadata": {"labels": {"app": "istiod"}},
                  "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.28.0", "env": [
                      {"name": f"PILOT_ENABLE_PLANTED_{i}", "value": line} for line, i in by["istio-env-value"]]}]}}}}
    mesh = {"trustDomain": "cluster.local", "rootNamespace": "istio-system",
            "outboundTrafficPolicy": {"mode": "ALLOW_ANY", "notes": [line for line, _ in by["mesh-configmap-read-key"]]},
            "extensionProviders": [{"name": f"p{i}", "envoyExtAuthzHttp": {"service": line}}
                                   for line, i in by["mesh-configmap-key"]]}
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "planted", "labels": {
            "istio.io/dataplane-mode": "ambient"}}},
        pod, istiod,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"},
         "data": {"mesh": yaml.safe_dump(mesh), "meshNetworks": "\n".join(line for line, _ in by["mesh-configmap-key"])}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": "planted"},
         "data": {f"url{i}": line for line, i in by["configmap-url"]}},
        {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
         "metadata": {"name": "db", "namespace": "planted"},
         "spec": {"data": [{"secretKey": f"k{i}", "remoteRef": {"key": line}} for line, i in by["unknown-cr"]]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "planted"},
         "data": {f"k{i}": base64.b64encode(line.encode()).decode() for line, i in by["secret"]},
         "stringData": {f"s{i}": line for line, i in by["secret"]}},
    ]
    d.mkdir()
    (d / "cluster.yaml").write_text(yaml.safe_dump_all(docs))


def _trace(saved: Path, forms: list) -> None:
    """Add the log, capture and key-log carriers to a real saved trace (its manifest lists them)."""
    by = {c: [line for carrier, _s, line, _p, _m in forms if carrier == c] for c in CARRIERS}
    man = json.loads((saved / "manifest.json").read_text())
    log = next(saved.glob("ztunnel-*.log"))
    with log.open("a") as f:
        f.writelines(f"2026-11-23T04:00:00.000000Z\tinfo\taccess\tconnection complete\t{line}\n"
                     for line in by["access-log"])
    (saved / "waypoint-7d9c8b6f5-x2x2x.log").write_text("".join(
        f'[2026-11-23T04:00:01.000Z] "GET /productpage HTTP/1.1" 200 - via_upstream - "-" 0 5293 12 11 "-" '
        f'"curl/8.5.0" {line}\n' for line in by["waypoint-log"]))
    payload = "".join(f"GET /x HTTP/1.1\r\nHost: productpage\r\nX-Note: {line}\r\n\r\n" for line in by["pcap-payload"])
    (saved / "planted-app.pcap").write_bytes(_pcap(payload.encode()))
    (saved / "planted.keys").write_text("".join(f"# {line}\n" for line in by["key-log"]) +
                                        "CLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48 + "\n")
    man["files"] += ["waypoint-7d9c8b6f5-x2x2x.log", "planted-app.pcap", "planted.keys"]
    for name, carrier in (("trace.json", "trace-report"), ("recording.json", "trace-recording")):
        doc = json.loads((saved / name).read_text())
        doc["plantedNotes"] = by[carrier]
        (saved / name).write_text(json.dumps(doc))
    (saved / "manifest.json").write_text(json.dumps(man))


def _windows(value: str, n: int = 12) -> set[str]:
    return {value[i:i + n] for i in range(max(1, len(value) - n + 1))}


def test_no_planted_secret_reaches_any_member_nor_the_archive_bytes(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    _snapshot(tmp_path / "snap", FORMS)
    saved = tmp_path / "trace"
    assert main(["trace", "notsleep", "productpage:9080", "--demo", "bookinfo-l4", "--keep", str(saved),
                 "-o", "json"]) == 3
    _trace(saved, FORMS)
    out = tmp_path / "b.tar.gz"
    code = main(["bundle", "-n", "planted", "--snapshot", str(tmp_path / "snap"), "--trace-from", str(saved),
                 "-w", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    raw = gzip.decompress(out.read_bytes())
    with tarfile.open(out) as t:
        members = {m.name: t.extractfile(m).read().decode("utf-8", "replace")  # type: ignore[union-attr]
                   for m in t.getmembers() if m.isfile()}
    texts = {**members, "(decompressed archive)": raw.decode("latin-1")}
    survived = []
    for carrier, shape, _line, planted, _m in FORMS:
        for p in planted:
            hits = [name for name, text in texts.items() if any(w in text for w in _windows(p))]
            if hits:
                survived.append((carrier, shape, p, hits))
    assert survived == [], f"{len(survived)} of {len(FORMS)} planted forms survived: {survived[:10]}"
    # where the value stays, the rest of its line stays too
    kept_text = "\n".join(members.values())
    lost = [(c, s) for c, s, _l, _p, marker in FORMS if c in KEPT and f"status=200 marker={marker}" not in kept_text]
    assert lost == [], lost
    assert kept_text.count(PREFIX) >= sum(c in KEPT for c, *_ in FORMS)
    man = json.loads(members["manifest.json"])
    assert any("Secret" in e and "ExternalSecret" in e for e in man["excluded"]), man["excluded"]
    assert any(e.startswith("captures/planted.keys") for e in man["excluded"])
    cut = {t["file"]: t for t in man["truncated"]}
    assert cut["captures/planted-app.pcap"]["packets"] == 1 and cut["captures/planted-app.pcap"]["payloadBytesRemoved"] > 0
    assert not re.search(r"last-applied|example\.com/note", kept_text)


def _saved_trace(tmp_path: Path) -> Path:
    saved = tmp_path / "trace"
    assert main(["trace", "notsleep", "productpage:9080", "--demo", "bookinfo-l4", "--keep", str(saved),
                 "-o", "json"]) == 3
    return saved


def _list_in_manifest(saved: Path, *names: str) -> None:
    man = json.loads((saved / "manifest.json").read_text())
    man["files"] += list(names)
    (saved / "manifest.json").write_text(json.dumps(man))


def test_a_saved_trace_manifest_cannot_pull_files_from_outside(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`../x`, `/abs/path`, a symlink leading out and a FIFO listed in a saved trace's manifest: nothing of them is
    read (the FIFO would block), each gets a `missing` entry naming it, the bundle is written."""
    import os

    saved = _saved_trace(tmp_path)
    outside = tmp_path / "outside.log"
    outside.write_text("password=outside-secret-zq1\n")
    (saved / "link.log").symlink_to(outside)
    os.mkfifo(saved / "pipe.log")
    (saved / "sub").mkdir()
    _list_in_manifest(saved, "../outside.log", str(outside), "link.log", "pipe.log", "sub/../../outside.log")
    out = tmp_path / "b.tar.gz"
    capsys.readouterr()
    code = main(["bundle", "sleep", "productpage:9080", "--demo", "bookinfo-l4", "--trace-from", str(saved),
                 "-w", str(out)])
    _, err = capsys.readouterr()
    assert code == 0, err
    raw = gzip.decompress(out.read_bytes())
    assert b"outside-secret" not in raw and b"outside.log" not in raw.split(b"manifest.json")[0]
    with tarfile.open(out) as t:
        man = json.loads(t.extractfile("manifest.json").read())  # type: ignore[union-attr]
        names = t.getnames()
    missing = "\n".join(man["missing"])
    for name, why in (("../outside.log", "outside the trace directory"), (str(outside), "outside the trace directory"),
                      ("link.log", "a link leading outside"), ("pipe.log", "not a regular file"),
                      ("sub/../../outside.log", "outside the trace directory")):
        assert f"trace file {name!r}" in missing and why in missing, (name, missing)
    assert not any("outside" in n or "link.log" in n or "pipe" in n for n in names)


def test_captures_are_headers_only_unless_payloads_are_asked_for(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A pcapng with the TLS keys injected (editcap --inject-secrets, as people share decryptable captures): in the
    bundle its packets end after the TCP header and the secrets block is gone; --include-payloads keeps packets
    whole but still not the keys; --include-keys brings them."""
    import shutil
    import subprocess

    if not shutil.which("editcap") or not shutil.which("tshark"):
        pytest.skip("editcap/tshark not installed")
    saved = _saved_trace(tmp_path)
    keys = next(saved.glob("*.keys"))
    pcap = saved / keys.name.replace(".keys", ".pcap")
    subprocess.run(["editcap", "--inject-secrets", f"tls,{keys}", str(pcap), str(saved / "with-keys.pcapng")],
                   check=True, capture_output=True)
    _list_in_manifest(saved, "with-keys.pcapng")
    secret = keys.read_text().split()[-1].encode()

    def bundle(*extra: str) -> tuple[dict, dict[str, bytes]]:
        out = tmp_path / f"b{len(list(tmp_path.glob('b*.tar.gz')))}.tar.gz"
        assert main(["bundle", "sleep", "productpage:9080", "--demo", "bookinfo-l4", "--trace-from", str(saved),
                     "-w", str(out), *extra]) == 0
        capsys.readouterr()
        with tarfile.open(out) as t:
            members = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]
        return json.loads(members["manifest.json"]), members

    def frames(data: bytes) -> list[str]:
        f = tmp_path / "x.pcapng"
        f.write_bytes(data)
        return subprocess.run(["tshark", "-r", str(f), "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len",
                               "-e", "tcp.srcport", "-e", "tcp.flags", "-e", "tcp.seq_raw"],
                              check=True, capture_output=True, text=True).stdout.splitlines()

    original = frames((saved / "with-keys.pcapng").read_bytes())
    man, members = bundle()
    cut = frames(members["captures/with-keys.pcapng"])
    assert len(cut) == len(original)
    for a, b in zip(original, cut, strict=True):
        la, _ca, *ha = a.split("\t")
        lb, cb, *hb = b.split("\t")
        assert la == lb and ha == hb and int(cb) <= 14 + 20 + 60  # wire length, ports, flags, sequence kept; payload gone
    assert any(int(x.split("\t")[1]) < int(x.split("\t")[0]) for x in cut)
    assert secret not in b"".join(members.values())
    entry = next(t for t in man["truncated"] if t["file"] == "captures/with-keys.pcapng")
    assert entry["blocksDropped"] == 1 and entry["payloadBytesRemoved"] > 0
    man, members = bundle("--include-payloads")
    assert frames(members["captures/with-keys.pcapng"]) == original and man["truncated"] == []
    assert secret not in b"".join(members.values())
    man, members = bundle("--include-payloads", "--include-keys")
    assert secret in members["captures/with-keys.pcapng"]


_FIELDS = st.sampled_from([
    "src.addr=10.0.0.1:36436", "dst.service=productpage.default.svc.cluster.local", 'error="http status: 401"',
    "path=/productpage?page=2", "status=200", "dur=12ms", '"GET /api/v1/products HTTP/1.1"', "direction=inbound",
    "src.identity=spiffe://cluster.local/ns/default/sa/sleep", "authority=reviews:9080", "bytes_sent=0",
    "x-request-id=8f1e-22", "upstream=10.0.0.9:15008", "user-agent=curl/8.5", "level=info", "{", "}", "[ok]"])


@settings(max_examples=300, deadline=None)
@given(prefix=st.lists(_FIELDS, max_size=6), suffix=st.lists(_FIELDS, min_size=1, max_size=6),
       shape=st.sampled_from(sorted(SHAPES)),
       value=st.text(alphabet="abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789_.~+/", min_size=10,
                     max_size=40))
def test_a_secret_anywhere_in_a_log_line_goes_and_the_rest_stays(prefix, suffix, shape, value) -> None:  # type: ignore[no-untyped-def]
    """Property: whatever fields surround it, a credential of every shape is replaced and every other field of
    the line is still there, in order."""
    assume(not (shape.startswith("url") and "/" in value))  # a '/' ends a URL's userinfo: that is no password
    form, planted = SHAPES[shape]("zq" + value)
    head, tail = " ".join(prefix), " ".join(suffix)
    line = f"{head} {form} {tail}".strip()
    out = redact_text(line)
    assert [p for p in planted if p in out] == [], out
    assert out.startswith(head) and out.endswith(" " + tail), out
