"""Freezing a pipeline for publishing, and rebuilding it for a run.

A frozen pipeline is the JSON of :mod:`jupyter_amlpipe.core.serialize` with a
code snapshot per step, taken at publish time: later edits of a source
directory do not change what a published pipeline runs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.pipeline import Pipeline
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.errors import PublishingError


def freeze(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline as JSON, with a snapshot of each step's source directory taken now."""
    pipeline.validate()
    ws = pipeline.workspace
    snapshots: dict[int, str] = {}
    taken: dict[Path, str] = {}
    for i, step in enumerate(pipeline.steps):
        frozen = getattr(step, "_snapshot_id", None)
        if frozen:
            snapshots[i] = frozen
            continue
        src = step._source_dir(pipeline._default_source_directory)
        if src not in taken:
            taken[src] = ws.snapshots.take(src).id
        snapshots[i] = taken[src]
    try:
        doc: dict[str, Any] = pipeline_to_dict(pipeline, snapshots)
    except Exception as exc:  # a step that cannot be recorded cannot be published
        raise PublishingError(f"This pipeline cannot be published: {exc}") from exc
    return doc


def describe(doc: dict[str, Any]) -> dict[str, Any]:
    """What a published pipeline shows about its frozen pipeline: graph id, steps, parameter defaults."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    names = [str(s["kwargs"].get("name", s["type"])) for s in doc["steps"]]
    return {
        "graph_id": hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32],
        "step_names": names,
        "total_run_steps": len(names),
        "parameters": dict(doc.get("parameters", {})),
        "snapshot_ids": sorted({s["snapshot_id"] for s in doc["steps"] if s.get("snapshot_id")}),
    }


def rebuild(workspace: Any, doc: dict[str, Any]) -> Pipeline:
    """A new Pipeline object from a frozen pipeline (its steps run their frozen snapshots)."""
    pipeline, _steps, _assigned = pipeline_from_dict(doc, workspace)
    return pipeline
