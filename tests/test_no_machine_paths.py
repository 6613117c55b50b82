"""No absolute path of a development machine in the repository (#19): the demo data and READMEs name a seed by
its file name and realdata by its repo-relative path (tests/realdata/...), never by where they sit on a machine. Runs the
`git grep` a reviewer would, over every tracked file, so it stays true."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Roots where a development machine keeps checkouts, homes and scratch files. Written split so that this file
# does not match itself.
MACHINE_ROOTS = ["/" + "work/", "/" + "root/", "/" + "home/", "/" + "Users/", "/" + "tmp/"]
# In Kubernetes manifests (and the script that writes the demo ones) a path under tmp is inside a container
# (Bookinfo's LOG_DIR, Cilium's --config-dir): data about the workload, not about a machine.
MANIFEST_DIRS = ("ambientctl/demo/data/", "tests/realdata/", "tests/cluster/manifests/")
MANIFEST_WRITERS = ("tests/demo/generate_demo_data.py",)


def test_no_absolute_machine_path_in_tracked_files():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    pattern = r"(^|[^A-Za-z0-9_.~$-])(" + "|".join(re.escape(r) for r in MACHINE_ROOTS) + ")"
    r = subprocess.run(["git", "grep", "-n", "-I", "-E", pattern], cwd=REPO, capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    found = []
    for line in r.stdout.splitlines():
        path, _, rest = line.partition(":")
        text = rest.partition(":")[2]
        hits = re.findall(r"(?:^|[^A-Za-z0-9_.~$-])(/(?:work|root|home|Users|tmp)/)", text)
        in_manifest = path in MANIFEST_WRITERS or (path.startswith(MANIFEST_DIRS)
                                                   and path.endswith((".yaml", ".yml", ".json")))
        if in_manifest and all(h == "/" + "tmp/" for h in hits):
            continue
        found.append(f"{path}: {text.strip()[:120]}")
    assert not found, "absolute machine paths in tracked files (name seeds by file name, realdata by " \
                      "tests/realdata/...):\n" + "\n".join(found)


def test_the_check_finds_what_it_should(tmp_path):
    """The pattern is not vacuous: it matches a seed path written the old way, and not a container path."""
    pattern = re.compile(r"(^|[^A-Za-z0-9_.~$-])(" + "|".join(re.escape(r) for r in MACHINE_ROOTS) + ")")
    assert pattern.search("# Seed: " + "/" + "work/shared/seeds/001_e807b8d8164aa239.txt step 5")
    assert pattern.search("KUBECONFIG=" + "/" + "tmp/abc/kubeconfig")
    assert not pattern.search("see ~/.kube/config and tests/realdata/istio-istio/samples/")
