"""Generated hostile input through the real CLI entry (issue #13 §5): every field of every kind in
model/schema.py's table, and every record of captures, logs, ztunnel config dumps and saved traces, mutated
(wrong types, missing, empty, huge, unicode and control characters, deep nesting, YAML tags and aliases, bytes
cut/flipped/spliced at record boundaries). Each run must end with exit 0-3 (1-2 for what is refused), at most
one line on stderr, no traceback, no file left behind.

Bounded for `make test` (fixed examples, derandomized so a run is reproducible); `python -m tests.fuzz.run
--minutes N` runs the same targets unbounded and reports what it finds.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.targets import TARGETS, saved_trace

SCALE = float(os.environ.get("AMBIENTCTL_FUZZ_SCALE", "1"))
EXAMPLES = {"manifests": 40, "config-dumps": 40, "logs": 100, "captures": 100, "saved-traces": 50}


def _bounded(name: str):  # type: ignore[no-untyped-def]
    target = TARGETS[name]

    @settings(max_examples=max(1, int(EXAMPLES[name] * SCALE)), deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(target.strategy)
    def test(x):  # type: ignore[no-untyped-def]
        problem = target.check(x)
        assert not problem, problem

    return test


@pytest.fixture(scope="module", autouse=True)
def _saved_trace_made_once():  # the saved-trace target copies one real `trace --keep` directory
    saved_trace()


test_manifests = _bounded("manifests")
test_config_dumps = _bounded("config-dumps")
test_logs = _bounded("logs")
test_captures = _bounded("captures")
test_saved_traces = _bounded("saved-traces")


def test_every_schema_field_is_reachable_by_the_mutator():
    """The mutator puts a value at every path of every kind (so a field added to the table is fuzzed)."""
    from ambientctl.model import schema as sc
    from tests.fuzz import strategies as fs

    for key, schema in sc.SCHEMAS.items():
        for path in fs.schema_paths(schema):
            doc: dict = {"apiVersion": "v1", "kind": key[1], "metadata": {"name": "x"}}
            fs.put(doc, path, "MARK", "set", 0)
            assert "MARK" in repr(doc), (key, path)
