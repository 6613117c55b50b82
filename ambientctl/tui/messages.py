"""Results of the app's workers. Workers never touch widgets: they post one of these and the screen that
asked renders it (Textual's rule, and what keeps a 5,000-pod cluster from freezing the UI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from ambientctl.mesh.view import MeshView
from ambientctl.tui.facts import NamespaceRow, PodRow, PolicyEvidence


@dataclass
class ViewLoaded(Message):
    """The cluster state is read and the mesh view built."""

    view: MeshView
    namespaces: list[NamespaceRow]


@dataclass
class LoadFailed(Message):
    """Reading the cluster state failed; `error` is the one-line message."""

    error: str


@dataclass
class PodsReady(Message):
    """The rows of one namespace."""

    ns: str
    rows: list[PodRow]


@dataclass
class FindingsCounted(Message):
    """A batch of findings counts: pod key -> (count, worst severity)."""

    ns: str
    counts: dict[str, tuple[int, str]]


@dataclass
class DescriptionReady(Message):
    pod_key: str
    doc: dict[str, Any] | None
    error: str = ""


@dataclass
class ExplanationReady(Message):
    """An Explanation (design.md §2) and the evidence for its decision; `error` set instead when it failed."""

    dst_ref: str
    doc: dict[str, Any] | None
    evidence: list[PolicyEvidence]
    error: str = ""
