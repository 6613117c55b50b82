"""jsonlist.loads gives json.loads' value and errors, for the big List documents it decodes in steps."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambientctl.sources import jsonlist

PAD = "x" * jsonlist.STEPPED_ABOVE  # makes any document big enough for the stepped path

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), values, max_size=5), st.sampled_from(["", " ", "\n  ", "\t"]))
def test_same_value_as_json_loads(doc, ws) -> None:  # type: ignore[no-untyped-def]
    doc = {**doc, "pad": PAD, "items": [doc, [doc], {"k": doc}]}
    text = json.dumps(doc, indent=1 if ws else None).replace("\n", "\n" + ws)
    assert jsonlist.loads(ws + text + ws) == json.loads(text)


@pytest.mark.parametrize("bad", ['{"a": 1,}', '{"a" 1}', '{"a": [1 2]}', '{"a": 1} x', '{a: 1}', '{"a": [1,'])
def test_same_errors_as_json_loads(bad: str) -> None:
    text = bad.replace("{", '{"pad": "' + PAD + '", ', 1)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        jsonlist.loads(text)


def test_a_kubectl_list() -> None:
    """A `kubectl get -o json`-shaped 5,000-item List, indented as kubectl prints it."""
    items = [{"kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"app": "x"}}, "spec": {"containers": []}}
             for i in range(5000)]
    text = json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}}, indent=2)
    assert len(text) > jsonlist.STEPPED_ABOVE and jsonlist.loads(text) == json.loads(text)
