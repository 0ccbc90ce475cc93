"""What a pipeline or a run looks like, as plain JSON-ready dicts.

One read model for every viewer: the notebook widgets, the JupyterLab panel and
the REST server show the same statuses, progress counts, reuse reasons and log
tails. Everything is read in bulk from the workspace (one query for the step
runs of a run), so a view of a 200-step run takes a few milliseconds.

- ``pipeline_graph(pipeline)``: the steps and data links of a pipeline not yet run.
- ``run_view(workspace, run_id)``: a run's status, times, progress, steps and graph.
- ``step_tail(workspace, step_run_id, lines)``: the last lines of a step's stdout/stderr.
- ``step_metrics(workspace, step_run_id)``: the metrics a step logged.
- ``step_detail(workspace, step_run_id, lines)``: tail, metrics and reuse facts together.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jupyter_amlpipe.core.data import PipelineData, data_name
from jupyter_amlpipe.runner.metrics import aggregate
from jupyter_amlpipe.runner.runs import TERMINAL, reconcile
from jupyter_amlpipe.runner.tail import last_lines

# --- graphs ---------------------------------------------------------------------------


def _edges(
    names: list[str],
    deps: dict[int, set[int]] | dict[int, list[int]],
    produced: list[set[str]],
    consumed: list[set[str]],
) -> list[dict[str, Any]]:
    """One edge per (producer, consumer) pair, labelled with the data between them; no data: a run_after edge."""
    edges: list[dict[str, Any]] = []
    for target in range(len(names)):
        for source in sorted(deps.get(target, ())):
            if not 0 <= source < len(names) or source == target:
                continue
            data = sorted(produced[source] & consumed[target])
            edges.append(
                {
                    "source": names[source],
                    "target": names[target],
                    "data": data,
                    "kind": "data" if data else "run_after",
                    "label": ", ".join(data),
                }
            )
    return edges


def pipeline_graph(pipeline: Any) -> dict[str, Any]:
    """The nodes (steps: name, kind, compute) and edges (producer → consumer with data names) of a pipeline."""
    steps = list(pipeline.steps)
    graph = pipeline.graph
    names = [step.name for step in steps]
    produced = [{o.name for o in step.outputs} for step in steps]
    consumed: list[set[str]] = []
    for step in steps:
        items = getattr(step, "_consumed", None) or [i for i in step.inputs if isinstance(i, PipelineData)]
        consumed.append({data_name(i) for i in items} | {data_name(i) for i in step.inputs})
    nodes = [
        {
            "name": step.name,
            "kind": step.step_type,
            "compute": _compute_name(step.compute_target),
            "status": "NotStarted",
            "inputs": sorted(consumed[i]),
            "outputs": [o.name for o in step.outputs],
            "reused": False,
        }
        for i, step in enumerate(steps)
    ]
    return {"nodes": nodes, "edges": _edges(names, graph.deps, produced, consumed)}


def _compute_name(target: Any) -> str:
    if target is None:
        return "local"
    if isinstance(target, tuple) and target:
        target = target[0]
    return str(getattr(target, "name", target))


# --- runs -----------------------------------------------------------------------------


def _duration(rec: dict[str, Any], now: float) -> float | None:
    started, ended = rec.get("started"), rec.get("ended")
    if not started:
        return None
    return round(float(ended or now) - float(started), 3)


def _reuse(details: dict[str, Any]) -> tuple[bool, str | None, list[str]]:
    reused_from = details.get("reused_from")
    if reused_from:
        return True, reused_from, [f"reused: same code, parameters and input content as step run {reused_from}"]
    return False, None, [str(r) for r in details.get("reuse", {}).get("reasons", [])]


def _step_row(rec: dict[str, Any], now: float) -> dict[str, Any]:
    details = rec["details"]
    definition = details.get("definition", {})
    reused, reused_from, reasons = _reuse(details)
    error = rec.get("error")
    return {
        "name": rec["name"],
        "run_id": rec["id"],
        "kind": definition.get("type", rec["properties"].get("StepType", "")),
        "compute": details.get("compute") or "local",
        "status": rec["status"],
        "created": rec["created"],
        "started": rec["started"],
        "ended": rec["ended"],
        "duration": _duration(rec, now),
        "reused": reused,
        "reused_from": reused_from,
        "reasons": reasons,
        "outputs": dict(details.get("outputs", {})),
        "error": str(error).splitlines()[0] if error else None,
    }


def _consumed_names(definition: dict[str, Any]) -> set[str]:
    names = {str(n) for n in definition.get("inputs", [])}
    for arg in definition.get("arguments", []):
        if isinstance(arg, dict) and "data" in arg:
            names.add(str(arg["data"]))
    return names


def progress(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of a run's steps: ran, reused, failed, canceled, running, queued, not_started, done, total."""
    counts = dict.fromkeys(("ran", "reused", "failed", "canceled", "running", "queued", "not_started"), 0)
    key = {"Failed": "failed", "Canceled": "canceled", "Running": "running", "Queued": "queued"}
    for step in steps:
        status = step["status"]
        if status == "Finished":
            counts["reused" if step["reused"] else "ran"] += 1
        else:
            counts[key.get(status, "not_started")] += 1
    counts["done"] = counts["ran"] + counts["reused"] + counts["failed"] + counts["canceled"]
    counts["total"] = len(steps)
    return counts


def run_view(workspace: Any, run_id: str) -> dict[str, Any]:
    """Everything a viewer shows about a pipeline run (a step run's id shows its pipeline run).

    Keys: ``id``, ``name``, ``experiment``, ``status``, ``created``, ``started``,
    ``ended``, ``duration``, ``error``, ``progress`` (counts), ``steps`` (one dict
    per step run: status, times, duration, reused, reused_from, reasons, run_id,
    outputs, error), ``nodes`` and ``edges`` (the run's graph; nodes carry the
    step's status), ``terminal`` (the run has ended) and ``metrics`` (the
    pipeline run's own metrics).
    """
    store = workspace._store
    rec = store.get_run(run_id)
    if rec["kind"] != "pipeline" and rec.get("parent_id"):
        rec = store.get_run(rec["parent_id"])
    if rec["status"] not in TERMINAL:
        rec = reconcile(workspace, rec)
    children = store.child_runs(rec["id"])
    now = time.time()
    steps = [_step_row(child, now) for child in children]
    by_index: dict[int, int] = {}
    for pos, child in enumerate(children):
        by_index[int(child["details"].get("index", pos))] = pos
    names = [c["name"] for c in children]
    produced = [set(c["details"].get("definition", {}).get("outputs", [])) for c in children]
    consumed = [_consumed_names(c["details"].get("definition", {})) for c in children]
    deps = {
        pos: {by_index[d] for d in child["details"].get("depends_on", []) if d in by_index}
        for pos, child in enumerate(children)
    }
    nodes = [
        {
            "name": s["name"],
            "kind": s["kind"],
            "compute": s["compute"],
            "status": s["status"],
            "run_id": s["run_id"],
            "duration": s["duration"],
            "reused": s["reused"],
            "reused_from": s["reused_from"],
            "reasons": s["reasons"],
            "inputs": sorted(consumed[pos]),
            "outputs": sorted(produced[pos]),
            "error": s["error"],
        }
        for pos, s in enumerate(steps)
    ]
    return {
        "id": rec["id"],
        "name": rec["name"],
        "experiment": rec["experiment"],
        "status": rec["status"],
        "terminal": rec["status"] in TERMINAL,
        "created": rec["created"],
        "started": rec["started"],
        "ended": rec["ended"],
        "duration": _duration(rec, now),
        "error": rec.get("error"),
        "progress": progress(steps),
        "steps": steps,
        "nodes": nodes,
        "edges": _edges(names, deps, produced, consumed),
        "metrics": aggregate(store.metrics(rec["id"])),
    }


# --- one step -------------------------------------------------------------------------


def _log_dirs(workspace: Any, rec: dict[str, Any]) -> list[Path]:
    dirs = [Path(workspace.run_dir(rec["id"]))]
    origin = rec["details"].get("artifacts_of")
    if origin:
        dirs.append(Path(workspace.run_dir(origin)))
    return dirs


def _tail_of(dirs: list[Path], stream: str, lines: int) -> str:
    for folder in dirs:
        path = folder / "logs" / f"{stream}.txt"
        if path.is_file():
            return last_lines(path, count=lines, max_bytes=max(16 * 1024, lines * 400))
    return ""


def step_tail(workspace: Any, step_run_id: str, lines: int = 20) -> dict[str, Any]:
    """The last ``lines`` lines of a step run's stdout and stderr (a reused step: the original execution's)."""
    rec = workspace._store.get_run(step_run_id)
    dirs = _log_dirs(workspace, rec)
    return {
        "run_id": rec["id"],
        "step": rec["name"],
        "status": rec["status"],
        "stdout": _tail_of(dirs, "stdout", lines),
        "stderr": _tail_of(dirs, "stderr", lines),
    }


def step_metrics(workspace: Any, step_run_id: str) -> dict[str, Any]:
    """The metrics a step run logged, in ``get_metrics()`` shapes (a list for a metric logged as a list)."""
    return aggregate(workspace._store.metrics(step_run_id))


def step_detail(workspace: Any, step_run_id: str, lines: int = 20) -> dict[str, Any]:
    """A step's log tail, metrics and reuse facts: what a viewer shows for a selected step."""
    rec = workspace._store.get_run(step_run_id)
    out = step_tail(workspace, step_run_id, lines)
    row = _step_row(rec, time.time())
    out.update(
        {
            "metrics": step_metrics(workspace, step_run_id),
            "duration": row["duration"],
            "reused": row["reused"],
            "reused_from": row["reused_from"],
            "reasons": row["reasons"],
            "error": rec.get("error"),
            "outputs": row["outputs"],
        }
    )
    return out
