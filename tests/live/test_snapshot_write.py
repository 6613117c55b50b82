"""`snapshot save` output without a cluster: every format reads back through the snapshot source, and a write
that cannot happen leaves nothing behind and says where in one line."""

from __future__ import annotations

import pytest

from ambientctl.cli.commands.snapshot import render, write_atomically
from ambientctl.errors import InputError
from ambientctl.sources.files import load_snapshot
from ambientctl.sources.kube import LiveRead


def a_read() -> LiveRead:
    r = LiveRead(server="https://127.0.0.1:6443", context="test")
    r.items["Namespace"] = [{"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": "default", "labels": {"istio.io/dataplane-mode": "ambient"}}}]
    r.items["Pod"] = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                       "spec": {"containers": [{"name": "app", "image": "app:1"}]},
                       "status": {"phase": "Running", "podIP": "10.0.0.5"}}]
    r.items["Service"] = []
    r.unreadable["AuthorizationPolicy"] = "403 Forbidden: no"
    return r


@pytest.mark.parametrize("name", ["s.tar.gz", "s.tgz", "s.json", "s.yaml", "dir/"])
def test_every_format_reads_back(tmp_path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / name)
    write_atomically(path, render(a_read(), path))
    c = load_snapshot(path)
    assert list(c.namespaces) == ["default"] and [p.meta.name for p in c.pods] == ["web"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name.rstrip("/")]


def test_directory_has_one_file_per_kind_and_says_what_was_unreadable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = render(a_read(), str(tmp_path / "d") + "/")
    assert sorted(files) == ["namespaces.yaml", "pods.yaml"]
    assert b"# not readable: AuthorizationPolicy: 403 Forbidden: no" in files["pods.yaml"]


def test_unwritable_places_fail_in_one_line_and_leave_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"^-o .*/missing/s\.yaml: directory .*/missing does not exist$"):
        write_atomically(str(tmp_path / "missing" / "s.yaml"), render(a_read(), "s.yaml"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    with pytest.raises(InputError, match=r"directory exists and is not empty \(--force replaces it\)"):
        write_atomically(str(tmp_path / "full") + "/", render(a_read(), "full/"))
    with pytest.raises(InputError, match="is a directory"):
        write_atomically(str(tmp_path / "full"), render(a_read(), "full.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["x"]
