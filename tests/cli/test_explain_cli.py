"""`ambientctl explain` as users run it: text views frozen as golden files (allow, L4 deny, L7 deny, hairpin,
fault-delayed route), exit code 3 on deny, and one-line usage errors with exit 2."""

import json

import pytest

from ambientctl.cli.main import main
from tests.golden_util import check_golden

GOLDEN = {
    "explain-allow-l4.txt": ["sleep", "productpage:9080", "--demo", "bookinfo-l4"],
    "explain-deny-l4.txt": ["notsleep", "productpage:9080", "--demo", "bookinfo-l4"],
    "explain-deny-l7.txt": ["sleep", "productpage:9080", "--method", "DELETE", "--demo"],
    "explain-hairpin.txt": ["sleep.legacy", "productpage:9080", "--demo", "hairpin-1.20"],
    "explain-fault-delay.txt": ["sleep", "productpage:9080", "--demo"],
    "explain-egress-waypoint.txt": ["sleep", "httpbin.org:443", "--protocol", "tcp", "--demo", "ambient-1.31"],
    "explain-egress-no-dns-capture.txt": ["sleep.batch", "httpbin.org:443", "--protocol", "tcp", "--demo",
                                          "ambient-1.31"],
    "explain-ingress-skips-waypoint.txt": ["bookinfo-gateway-istio.istio-ingress", "details:9080", "--demo",
                                           "ambient-1.31"],
}


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_text_golden(name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run(["explain", *GOLDEN[name]], capsys)
    assert code == (3 if "deny" in name or "hairpin" in name else 0), err
    check_golden(name, out)


def test_json_and_exit_code_on_deny(capsys):
    code, out, _ = run(["explain", "notsleep", "productpage:9080", "--demo", "bookinfo-l4", "-o", "json"], capsys)
    assert code == 3
    doc = json.loads(out)
    assert (doc["apiVersion"], doc["kind"], doc["verdict"]) == ("ambientctl/v1", "Explanation", "deny")


@pytest.mark.parametrize(("argv", "message"), [
    (["ghost", "productpage:9080"], "no pod, deployment or app named 'ghost' in namespace default"),
    (["sleep", "nothing:80"], "no service or workload named 'nothing' in namespace default"),
    (["sleep", "reviews"], "ambientctl: service default/reviews"),  # fine: single port
    (["sleep", "productpage:1234"], "service default/productpage does not expose port 1234 (it exposes 9080)"),
    (["sleep", "productpage:9080", "--istio-version", "2.x"], "unsupported Istio version '2.x'"),
    (["sleep", "productpage:abc"], "'abc' is not a port number"),
    (["sleep", "productpage:9080", "--header", "nope"], "--header 'nope': expected NAME=VALUE"),
])
def test_bad_references_are_one_line_usage_errors(argv, message, capsys):
    code, out, err = run(["explain", *argv, "--demo"], capsys)
    if argv == ["sleep", "reviews"]:
        assert code == 0  # a service with one port needs no port
        return
    assert code == 2, out
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_matrix_text_and_errors(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run(["explain", "--matrix", "--demo", "bookinfo-l4"], capsys)
    assert code == 3, err
    check_golden("explain-matrix-l4.txt", out)
    code, _, err = run(["explain", "--matrix", "-n", "nowhere", "--demo"], capsys)
    assert code == 2 and "namespace 'nowhere' has no workloads" in err
    code, _, err = run(["explain", "sleep", "--matrix", "--demo"], capsys)
    assert code == 2 and "--matrix takes no SRC/DST" in err
    code, _, err = run(["explain", "sleep", "--demo"], capsys)
    assert code == 2 and "give SRC and DST" in err
