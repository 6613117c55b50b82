"""`ambientctl bundle`: what goes in, that nothing secret does, that every command answers the same from the
bundle as from where it was made (demo, snapshot files, the live test cluster), and that bad input leaves no
half-written archive."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from ambientctl.bundle.redact import looks_like_keylog, redact_doc, redact_text
from ambientctl.cli.main import main

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6InBsYW50ZWQifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpzbGVlcCJ9.c2lnbmF0dXJlcGxhbnRlZA"
BEARER = "plantedOpaqueBearerToken0123456789"
COOKIE = "session=plantedCookieValue42"
PASSWORD = "hunter2-planted-password"
API_KEY = "planted-api-key-7f3a9c"
PEM = ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQplantedKEYmaterial\n"
       "-----END PRIVATE KEY-----")
SECRET_DATA = "planted-secret-data-in-a-Secret"


def _run(argv: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _same(a: dict, b: dict) -> None:
    """Equal apart from where the state came from (the source description names the bundle)."""
    def strip(d):  # type: ignore[no-untyped-def]
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items() if k not in ("source", "cluster") or not isinstance(v, str)}
        if isinstance(d, list):
            return [strip(v) for v in d]
        return d
    assert strip(a) == strip(b)


def test_redaction_of_text_and_documents() -> None:
    """The value patterns that must never leave in a bundle, one line each as they appear in real logs."""
    text = (f"authorization: Bearer {BEARER}\nCookie: {COOKIE}\n"
            f'{{"x-api-key":"{API_KEY}","path":"/productpage"}}\ntoken {JWT} seen\n{PEM}\n'
            "CLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48 + "\n")
    from collections import Counter

    counts: Counter[str] = Counter()
    out = redact_text(text, counts)
    for planted in (BEARER, COOKIE, API_KEY, JWT, "plantedKEYmaterial", "cd" * 48):
        assert planted not in out
    assert "/productpage" in out and "<redacted:authorization>" in out and "<redacted:cookie>" in out
    assert counts["pem-block"] == 1 and counts["tls-key-log"] == 1 and counts["jwt"] == 1
    doc = {"spec": {"containers": [{"env": [{"name": "DB_PASSWORD", "value": PASSWORD},
                                            {"name": "LOG_LEVEL", "value": "debug"}]}]},
           "users": [{"user": {"token": BEARER, "client-key-data": "cGxhbnRlZA=="}}],
           "kind": "AuthorizationPolicy", "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}
    red = redact_doc(doc)
    dumped = json.dumps(red)
    assert PASSWORD not in dumped and BEARER not in dumped and "cGxhbnRlZA==" not in dumped
    assert red["spec"]["containers"][0]["env"][1]["value"] == "debug" and red["kind"] == "AuthorizationPolicy"
    assert looks_like_keylog("# keys\nCLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48 + "\n")
    assert not looks_like_keylog("GET / HTTP/1.1\n")


@pytest.mark.parametrize("targets", [["productpage-v1"], ["sleep", "productpage:9080"], []])
def test_demo_bundle_answers_as_the_demo(tmp_path, capsys, targets: list[str]) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "b.tar.gz"
    code, stdout, err = _run(["bundle", *targets, "--demo", "-w", str(out)], capsys)
    assert code == 0, err
    assert stdout.startswith(f"wrote {out} (")
    members = _members(out)
    man = json.loads(members["manifest.json"])
    assert man["kind"] == "BundleManifest" and man["versions"]["istio"] == "1.28"
    assert man["command"][:2] == ["ambientctl", "bundle"] or man["command"][0] == "ambientctl"
    for f in man["files"]:
        assert hashlib.sha256(members[f["name"]]).hexdigest() == f["sha256"]
    assert set(members) == {"manifest.json", *(f["name"] for f in man["files"])}
    assert "snapshot/cluster.json" in members
    assert any("not a live cluster" in m for m in man["missing"])
    reports = sorted(n for n in members if n.startswith("reports/"))
    if len(targets) == 2:
        assert "reports/explain.json" in reports and len(reports) == 3
    elif targets:
        assert reports == ["reports/describe-default-productpage-v1-5586c4d4ff-z8jbb.json"]
    else:
        assert "reports/matrix-default.json" in reports and len(reports) > 5
    for argv in (["describe", "pod", "productpage-v1"], ["explain", "sleep", "productpage:9080"],
                 ["explain", "notsleep", "productpage:9080", "--method", "DELETE"],
                 ["explain", "--matrix", "-n", "default"]):
        c1, a, _ = _run([*argv, "--demo", "-o", "json"], capsys)
        c2, b, _ = _run([*argv, "--snapshot", str(out), "-o", "json"], capsys)
        assert c1 == c2
        _same(json.loads(a), json.loads(b))
    # the report inside is the report the command prints
    if targets == ["productpage-v1"]:
        _, a, _ = _run(["describe", "pod", "productpage-v1", "--demo", "-o", "json"], capsys)
        _same(json.loads(members[reports[0]]), json.loads(a))


def _planted_snapshot(d: Path) -> Path:
    d.mkdir()
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default",
                                                               "labels": {"istio.io/dataplane-mode": "ambient"}}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
         "data": {"password": base64.b64encode(SECRET_DATA.encode()).decode()},
         "stringData": {"raw": SECRET_DATA}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-tls", "namespace": "default"},
         "data": {"key.pem": PEM}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"},
         "data": {"mesh": "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n"}},
    ]
    for name, sa in (("sleep", "sleep"), ("productpage-v1", "bookinfo-productpage")):
        docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": name, "namespace": "default", "labels": {"app": name.split("-")[0]},
            "annotations": {"example.com/last-token": f"Bearer {BEARER}", "example.com/jwt": JWT}},
            "spec": {"serviceAccountName": sa, "nodeName": "node-1", "containers": [{
                "name": "app", "image": "app:1", "ports": [{"containerPort": 9080}],
                "env": [{"name": "API_TOKEN", "value": JWT}, {"name": "DB_PASSWORD", "value": PASSWORD},
                        {"name": "X_API_KEY", "value": API_KEY}]}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1" if name == "sleep" else "10.0.0.2"}})
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "productpage", "namespace": "default"},
                 "spec": {"clusterIP": "10.96.0.10", "selector": {"app": "productpage"},
                          "ports": [{"name": "http", "port": 9080, "targetPort": 9080}]}})
    (d / "cluster.yaml").write_text(yaml.safe_dump_all(docs))
    return d


def test_planted_secrets_never_reach_the_bundle(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    snap = _planted_snapshot(tmp_path / "snap")
    saved = tmp_path / "trace"
    code, _, err = _run(["trace", "notsleep", "productpage:9080", "--demo", "bookinfo-l4", "--keep", str(saved),
                         "-o", "json"], capsys)
    assert code == 3, err  # the seeds' L4 deny, recorded with the client's key log
    log = next(saved.glob("ztunnel-*.log"))
    with log.open("a") as f:
        f.write(f'2026-11-23T04:00:00Z info access request headers authorization="Bearer {BEARER}" '
                f'cookie="{COOKIE}" x-api-key={API_KEY}\n')
    keylogs = [p for p in saved.iterdir() if p.name.endswith(".keys")]
    assert keylogs, "the demo trace carries a key log to leave out"
    key_secret = keylogs[0].read_text().split()[-1]
    out = tmp_path / "b.tar.gz"
    code, _, err = _run(["bundle", "sleep", "productpage:9080", "--snapshot", str(snap), "--trace-from",
                              str(saved), "-w", str(out)], capsys)
    assert code == 0, err
    members = _members(out)
    blob = b"\n".join(members.values())
    planted = [JWT, BEARER, COOKIE, PASSWORD, API_KEY, "plantedKEYmaterial", SECRET_DATA,
               base64.b64encode(SECRET_DATA.encode()).decode(), key_secret]
    assert [p for p in planted if p.encode() in blob] == []
    # gzip must not be where they hide either: the archive bytes as written
    assert [p for p in planted if p.encode() in out.read_bytes()] == []
    man = json.loads(members["manifest.json"])
    assert man["redactions"]["secret-value"] >= 3
    assert any(".keys" in e for e in man["excluded"])
    assert any("Secret" in e for e in man["excluded"])
    assert any(n.startswith("captures/") and n.endswith(".pcap") for n in members)
    assert not any(n.endswith(".keys") for n in members)
    # with --include-keys the key log comes along (it decrypts the captures), everything else stays redacted
    out2 = tmp_path / "k.tar.gz"
    code, _, err = _run(["bundle", "sleep", "productpage:9080", "--snapshot", str(snap), "--trace-from",
                         str(saved), "--include-keys", "-w", str(out2)], capsys)
    assert code == 0, err
    m2 = _members(out2)
    assert any(n.endswith(".keys") for n in m2) and key_secret.encode() in b"\n".join(m2.values())
    assert JWT.encode() not in b"\n".join(m2.values())
    # and the bundle still answers like the snapshot it came from
    for argv in (["describe", "pod", "sleep"], ["explain", "sleep", "productpage:9080"]):
        c1, a, _ = _run([*argv, "--snapshot", str(snap), "-o", "json"], capsys)
        c2, b, _ = _run([*argv, "--snapshot", str(out), "-o", "json"], capsys)
        assert c1 == c2
        _same(json.loads(a), json.loads(b))


def test_bad_input_fails_in_one_line_and_leaves_nothing(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run(["bundle", "productpage-v1", "--demo", "-w", str(tmp_path / "no" / "b.tar.gz")], capsys)
    assert code == 1 and not out and err.count("\n") == 1 and "does not exist" in err
    (tmp_path / "exists.tar.gz").write_bytes(b"keep")
    code, _, err = _run(["bundle", "productpage-v1", "--demo", "-w", str(tmp_path / "exists.tar.gz")], capsys)
    assert code == 1 and "already exists" in err and (tmp_path / "exists.tar.gz").read_bytes() == b"keep"
    code, _, err = _run(["bundle", "nosuchpod", "--demo", "-w", str(tmp_path / "x.tar.gz")], capsys)
    assert code == 2 and err.count("\n") == 1
    code, _, err = _run(["bundle", "--since", "yesterday", "--demo", "-w", str(tmp_path / "y.tar.gz")], capsys)
    assert code == 2 and "--since" in err
    code, _, err = _run(["bundle", "--demo", "-w", str(tmp_path / "z.zip")], capsys)
    assert code == 2 and ".tar.gz" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.tar.gz", "no"] or \
        sorted(p.name for p in tmp_path.iterdir()) == ["exists.tar.gz"]
    # a damaged bundle given to --snapshot: one line naming the file
    good = tmp_path / "good.tar.gz"
    assert _run(["bundle", "productpage-v1", "--demo", "-w", str(good)], capsys)[0] == 0
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    code, _, err = _run(["describe", "pod", "productpage-v1", "--snapshot", str(bad)], capsys)
    assert code == 1 and str(bad) in err and err.count("\n") == 1
    # a tar whose manifest is not a bundle manifest is refused as such
    fake = tmp_path / "fake.tar.gz"
    with tarfile.open(fake, "w:gz") as t:
        data = b'{"kind": "Something"}'
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    code, _, err = _run(["describe", "pod", "x", "--snapshot", str(fake)], capsys)
    assert code == 1 and "not an ambientctl BundleManifest" in err


@pytest.mark.live
def test_live_bundle_answers_as_the_cluster(kube_cluster, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """From the real API server: ztunnel logs read through it (kwok serves a real ztunnel access log); the config
    dump goes through a real port-forward, which kwok answers with an echo, so it is reported missing."""
    kc = str(kube_cluster.kubeconfig)
    out = tmp_path / "live.tar.gz"
    code, _, err = _run(["bundle", "sleep", "productpage:9080", "--kubeconfig", kc, "-w", str(out)], capsys)
    assert code == 0, err
    members = _members(out)
    man = json.loads(members["manifest.json"])
    assert man["versions"].get("kubernetes", "").startswith("v1."), man["missing"]
    assert any(n.startswith("logs/istio-system/ztunnel-") for n in members), sorted(members)
    assert any(m.startswith("config dump of istio-system/ztunnel-") and "no HTTP answer" in m
               for m in man["missing"]), man["missing"]
    for argv in (["describe", "pod", "productpage-v1"], ["explain", "sleep", "productpage:9080"],
                 ["explain", "--matrix", "-n", "default"]):
        c1, a, _ = _run([*argv, "--kubeconfig", kc, "-o", "json"], capsys)
        c2, b, _ = _run([*argv, "--snapshot", str(out), "-o", "json"], capsys)
        assert c1 == c2
        _same(json.loads(a), json.loads(b))


def _retar(src: Path, dst: Path, rename, order=sorted, change: dict[str, bytes] | None = None,  # type: ignore[no-untyped-def]
           extra: dict[str, bytes] | None = None) -> None:
    members = _members(src)
    members.update(change or {})
    with tarfile.open(dst, "w:gz") as t:
        for name in order(members):
            info = tarfile.TarInfo(rename(name))
            info.size = len(members[name])
            t.addfile(info, io.BytesIO(members[name]))
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_a_re_tarred_bundle_is_still_a_bundle_and_a_tampered_one_is_refused(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """What people do to archives in tickets: untar and tar again (manifest no longer first, `./` names, or under
    one top-level directory) — still a bundle with the same answers. A member changed after writing — refused in
    one line naming it; a member added that the manifest does not list — never read."""
    good = tmp_path / "good.tar.gz"
    assert _run(["bundle", "sleep", "productpage:9080", "--demo", "-w", str(good)], capsys)[0] == 0
    _, want, _ = _run(["explain", "sleep", "productpage:9080", "--snapshot", str(good), "-o", "json"], capsys)
    variants = {
        "reversed.tar.gz": dict(rename=lambda n: n, order=lambda m: sorted(m, reverse=True)),
        "dot.tgz": dict(rename=lambda n: f"./{n}"),
        "dir.tar.gz": dict(rename=lambda n: f"ticket-1234/{n}", order=lambda m: sorted(m, reverse=True)),
    }
    for name, how in variants.items():
        _retar(good, tmp_path / name, **how)  # type: ignore[arg-type]
        code, got, err = _run(["explain", "sleep", "productpage:9080", "--snapshot", str(tmp_path / name), "-o",
                               "json"], capsys)
        assert code == 0, err
        _same(json.loads(got), json.loads(want))
        # a changed member (the policy that denies notsleep deleted from the snapshot), in the same layout: refused
        snap = json.loads(_members(good)["snapshot/cluster.json"])
        snap["items"] = [i for i in snap["items"] if i["kind"] != "AuthorizationPolicy"]
        bad = tmp_path / f"tampered-{name}"
        _retar(good, bad, **how, change={"snapshot/cluster.json": json.dumps(snap).encode()})  # type: ignore[arg-type]
        code, out, err = _run(["explain", "notsleep", "productpage:9080", "--snapshot", str(bad)], capsys)
        assert code == 1 and not out and err.count("\n") == 1
        assert "snapshot/cluster.json" in err and "sha256" in err and str(bad) in err
    # a member the manifest does not list is not read (here: one that would allow everything)
    extra = {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": "planted-by-someone"}}]}
    _retar(good, tmp_path / "extra.tar.gz", rename=lambda n: n,
           extra={"snapshot/zz-extra.json": json.dumps(extra).encode()})
    code, out, _ = _run(["explain", "--matrix", "-n", "planted-by-someone", "--snapshot", str(tmp_path / "extra.tar.gz")],
                        capsys)
    assert code == 2
    # listed but gone
    _retar(good, tmp_path / "gone.tar.gz", rename=lambda n: n, order=lambda m: [n for n in sorted(m) if
                                                                                not n.startswith("reports/")])
    code, _, err = _run(["describe", "pod", "sleep", "--snapshot", str(tmp_path / "gone.tar.gz")], capsys)
    assert code == 1 and "listed in manifest.json but not in the archive" in err and err.count("\n") == 1


def test_the_recorded_command_line_keeps_no_credential() -> None:
    from ambientctl.bundle.write import redact_command

    argv = ["ambientctl", "bundle", "sleep", "--password", "hunter2-zq", "--token=abc-zq-123", "--kubeconfig",
            "https://admin:s3cret-zq@k8s.example/config", "--include-keys", "-w", "t.tar.gz"]
    out = redact_command(argv)
    assert not [a for a in out if "zq" in a]
    assert out[:3] == ["ambientctl", "bundle", "sleep"] and out[-3:] == ["--include-keys", "-w", "t.tar.gz"]


def test_every_secret_word_is_found_by_its_leading_letters() -> None:
    """The key scan looks for SECRET_WORDS by their first letters (fast on big logs): each alternative must start
    with one of them, and a hit in a long line of other text is still found."""
    import re

    from ambientctl.bundle import redact

    for alt in redact.SECRET_WORDS.split("|"):
        core = re.sub(r"\(\?<!\[a-z\]\)|\(\?!\[a-z\]\)|^\(\?:", "", alt)
        assert core.startswith(redact._LEADS), alt
    line = "İ" * 3 + "x " * 5000 + "ADMIN_PASS=zq-1 İ MYSQL_PWD: zq-2 " + "y" * 10000
    assert "zq" not in redact_text(line)
