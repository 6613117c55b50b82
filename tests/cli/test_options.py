"""Option parsing a newcomer does not trip over (#19): `--demo` never eats a positional argument, a demo name
must be one of the demos, `ambientctl plugins` alone lists."""

from __future__ import annotations

import json

import pytest

from ambientctl.cli.main import main
from ambientctl.cli.options import normalize_demo


@pytest.mark.parametrize("argv,want", [
    (["explain", "--demo", "notsleep", "productpage:9080"], ["explain", "--demo=bookinfo", "notsleep", "productpage:9080"]),
    (["explain", "--demo", "bookinfo-l4", "x", "y"], ["explain", "--demo=bookinfo-l4", "x", "y"]),
    (["explain", "x", "y", "--demo"], ["explain", "x", "y", "--demo=bookinfo"]),
    (["explain", "--demo=nosuch", "x"], ["explain", "--demo=nosuch", "x"]),
    (["logs", "parse", "--", "--demo"], ["logs", "parse", "--", "--demo"]),
])
def test_normalize_demo(argv, want):
    assert normalize_demo(argv) == want


@pytest.mark.parametrize("argv,demo", [
    (["explain", "--demo", "notsleep", "productpage:9080"], "bookinfo"),
    (["explain", "notsleep", "productpage:9080", "--demo", "bookinfo-l4"], "bookinfo-l4"),
    (["explain", "--demo=bookinfo-l4", "notsleep", "productpage:9080"], "bookinfo-l4"),
    (["explain", "--demo", "bookinfo-l4", "notsleep", "productpage:9080"], "bookinfo-l4"),
    (["--demo", "bookinfo-l4", "explain", "notsleep", "productpage:9080"], "bookinfo-l4"),
])
def test_demo_never_eats_src(argv, demo, capsys):
    assert main([*argv, "-o", "json"]) == 3  # notsleep is denied in both demos
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"]["name"].startswith("notsleep-")
    assert doc["istioVersion"]  # explained against the chosen demo:
    assert (doc["path"] == "direct-hbone") == (demo == "bookinfo-l4")


def test_unknown_demo_name_with_equals_is_an_error(capsys):
    assert main(["describe", "pod", "productpage", "--demo=bookinfo-l5"]) == 2
    from ambientctl.demo import demo_names

    assert capsys.readouterr().err == ("ambientctl: describe pod: --demo: no demo cluster named 'bookinfo-l5'; "
                                       f"choose one of: {', '.join(demo_names())}\n")


def test_plugins_alone_lists(capsys):
    assert main(["plugins", "-o", "json"]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "PluginList" and any(p["name"] == "http1" for p in doc["plugins"])
    assert main(["plugins"]) in (0, 1)
    assert capsys.readouterr().out.startswith("GROUP")
