"""Run objects backed by the workspace's records: ``PipelineRun`` and ``StepRun``.

Any process can build one from a run id (``Run.get(ws, run_id)``,
``Run(experiment, run_id)``, ``PipelineRun(experiment, run_id)``,
``ws.get_run(id)``) and see the same state: everything is read from the
workspace, nothing from the process that ran it.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from jupyter_amlpipe.context.run import Run
from jupyter_amlpipe.errors import DefinitionError, ExecutionError, LookupFailed, RunFailedError, did_you_mean
from jupyter_amlpipe.runner import liveness
from jupyter_amlpipe.runner.metrics import aggregate

TERMINAL = frozenset({"Finished", "Failed", "Canceled"})
STATUSES = ("NotStarted", "Queued", "Running", "Finished", "Failed", "Canceled")

# Runs whose runner lives in this process: run id -> runner (for fast waits and cancel).
ACTIVE: dict[str, Any] = {}


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z") if ts else None


def reconcile(workspace: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Mark a run Failed when the process that ran it died before it finished."""
    root = record if record["kind"] == "pipeline" else None
    if root is None and record["status"] not in TERMINAL and record.get("parent_id"):
        root = workspace._store.find_run(record["parent_id"])
    if root is None or root["status"] in TERMINAL or root["id"] in ACTIVE:
        return record
    if root["status"] == "Queued":  # waiting in a server's submission queue: no runner yet
        return record
    if liveness.is_alive(root.get("runner_pid"), root.get("runner_start"), root.get("runner_host")):
        return record
    mark_runner_died(workspace, root)
    fresh: dict[str, Any] = workspace._store.get_run(record["id"])
    return fresh


def mark_runner_died(workspace: Any, root: dict[str, Any]) -> None:
    store = workspace._store
    reason = (
        f"The process that ran this pipeline (pid {root.get('runner_pid')} on {root.get('runner_host')}) ended "
        f"before the run finished. Resume it (finished steps are reused): amlpipe resume {root['id']}"
    )
    now = time.time()
    with store.write() as conn:
        current = conn.execute("SELECT status FROM runs WHERE id = ?", (root["id"],)).fetchone()
        if current is None or current[0] in TERMINAL:
            return
        for child in store.child_runs(root["id"]):
            if child["status"] == "Running":
                _stop_orphan(child)
            if child["status"] in ("Running", "Queued"):
                store.update_run(child["id"], conn=conn, status="Failed", ended=now, error=reason)
        store.update_run(root["id"], conn=conn, status="Failed", ended=now, error=reason)
        store.add_events([(root["id"], root["id"], "status", {"status": "Failed", "error": reason})], conn=conn)


def _stop_orphan(step_run: dict[str, Any]) -> None:
    """End the process group of a step whose runner died (only on this machine)."""
    import signal

    pid = step_run.get("runner_pid")
    if pid and step_run.get("runner_host") == liveness.host():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(pid), signal.SIGKILL)


def find_record(workspace: Any, run_id: str) -> dict[str, Any]:
    """The run record with this id; an unknown id names the workspace and the closest recent run ids."""
    record: dict[str, Any] | None = workspace._store.find_run(run_id) if isinstance(run_id, str) else None
    if record is not None:
        return record
    store = workspace._store
    recent = [r["id"] for kind in ("pipeline", "step") for r in store.list_runs(None, kind, limit=200)]
    close = difflib.get_close_matches(str(run_id), recent, n=3, cutoff=0.6)
    hint = " Did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""
    raise LookupFailed(
        f"No run with id {run_id!r} in workspace {workspace.name!r} ({workspace.path}).{hint} "
        "List its runs with: amlpipe runs",
        run_id=str(run_id),
    )


class _RecordRun(Run):
    """A run whose state lives in the workspace database."""

    kind = ""

    def __init__(
        self, experiment: Any, run_id: str, *args: Any, _record: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if args and isinstance(args[0], dict) and "kind" in args[0]:  # the record (not v1's outputs= dict)
            _record, args = args[0], args[1:]
        self.experiment = experiment
        self.id = run_id
        record = _record or find_record(experiment.workspace, run_id)
        if record["kind"] != self.kind:
            other = "PipelineRun" if record["kind"] == "pipeline" else "StepRun"
            raise LookupFailed(
                f"Run {run_id!r} is a {other}, not a {type(self).__name__}. "
                f"Use Run.get(ws, {run_id!r}) or {other}(experiment, {run_id!r}).",
                run_id=run_id,
            )
        self._rec = record
        self.name = record["name"]
        self._check_v1_arguments(args, kwargs)

    def _check_v1_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """v1's further constructor arguments (service endpoints, outputs) mean nothing here."""

    # -- state --------------------------------------------------------------------------
    @property
    def workspace(self) -> Any:
        return self.experiment.workspace

    @property
    def _store(self) -> Any:
        return self.experiment.workspace._store

    def _record(self) -> dict[str, Any]:
        rec: dict[str, Any] = self._store.get_run(self.id)
        if rec["status"] not in TERMINAL:
            rec = reconcile(self.workspace, rec)
        self._rec = rec
        return rec

    @property
    def run_id(self) -> str:
        return self.id

    @property
    def display_name(self) -> str:
        return str(self._rec["name"])

    @property
    def status(self) -> str:
        return self.get_status()

    def get_status(self) -> str:
        """NotStarted, Queued, Running, Finished, Failed or Canceled."""
        return str(self._record()["status"])

    def get_details(self) -> dict[str, Any]:
        """v1's run details: ``runId``, ``status``, times, ``properties``, datasets, ``logFiles`` (name -> path).

        ``endTimeUtc`` is there once the run has ended (as in v1); ``error``
        when it failed.
        """
        rec = self._record()
        details: dict[str, Any] = {
            "runId": self.id,
            "target": rec["details"].get("compute"),
            "status": rec["status"],
            "startTimeUtc": _iso(rec["started"]),
        }
        if rec["ended"]:
            details["endTimeUtc"] = _iso(rec["ended"])
        details.update(
            {
                "properties": rec["properties"],
                "tags": rec["tags"],
                "inputDatasets": [],
                "outputDatasets": [],
                "runDefinition": self._run_definition(rec),
                "logFiles": {n: str(self._file(n)) for n in self.get_file_names() if n.startswith("logs/")},
                "submittedBy": rec["details"].get("submitted_by"),
            }
        )
        if rec["error"]:
            details["error"] = {"error": {"message": rec["error"]}}
        return details

    def _run_definition(self, rec: dict[str, Any]) -> dict[str, Any]:
        return {}

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with ``logFiles`` holding each log's content instead of its path (v1)."""
        details = self.get_details()
        details["logFiles"] = {
            name: Path(path).read_text(encoding="utf-8", errors="replace") if Path(path).is_file() else ""
            for name, path in details["logFiles"].items()
        }
        return details

    def get_properties(self) -> dict[str, Any]:
        return dict(self._record()["properties"])

    @property
    def properties(self) -> dict[str, Any]:
        return self.get_properties()

    def get_tags(self) -> dict[str, Any]:
        return dict(self._record()["tags"])

    @property
    def tags(self) -> dict[str, Any]:
        return self.get_tags()

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, run_type: str | None = None, populate: bool = False
    ) -> dict[str, Any]:
        """Metrics logged on this run (``recursive=True``: this run's and its descendants', by run id)."""
        if recursive:
            out: dict[str, Any] = {}
            for run in [self, *self._descendants()]:
                metrics = aggregate(self._store.metrics(run.id))
                if name is not None:
                    metrics = {k: v for k, v in metrics.items() if k == name}
                out[run.id] = metrics
            return out
        metrics = aggregate(self._store.metrics(self.id))
        if name is not None:
            return {k: v for k, v in metrics.items() if k == name}
        return metrics

    def _descendants(self) -> list[_RecordRun]:
        return []

    # -- files ----------------------------------------------------------------------------
    def _dir(self) -> Path:
        return Path(self.workspace.run_dir(self.id))

    def _dirs(self) -> list[Path]:
        """Folders holding this run's files: its own, then (for a reused step) the original execution's."""
        dirs = [self._dir()]
        origin = self._rec["details"].get("artifacts_of")
        if origin:
            dirs.append(Path(self.workspace.run_dir(origin)))
        return dirs

    def _file(self, name: str) -> Path:
        for folder in self._dirs():
            if (folder / name).is_file():
                return folder / name
        return self._dir() / name

    def get_file_names(self) -> list[str]:
        names: set[str] = set()
        for root in self._dirs():
            if not root.is_dir():
                continue
            for path in root.rglob("*"):
                rel = path.relative_to(root).as_posix()
                skip = rel.startswith(("wd/", "staging/", "inputs/", ".")) or rel == "context.jsonl"
                if not skip and path.is_file():
                    names.add(rel)
        return sorted(names)

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None, _validate_checksum: bool = False
    ) -> str:
        source = self._file(name)
        if name not in self.get_file_names():
            raise LookupFailed(
                f"Run {self.id!r} has no file {name!r}.{did_you_mean(name, self.get_file_names())}",
                name=name,
            )
        target = Path(output_file_path) if output_file_path is not None else Path.cwd() / Path(name).name
        if target.is_dir():
            target = target / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return str(target)

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | os.PathLike[str] | None = None,
        output_paths: Any = None,
        batch_size: int = 100,
        append_prefix: bool = True,
    ) -> None:
        out = Path(output_directory or ".")
        for name in self.get_file_names():
            if prefix is None or name.startswith(prefix):
                self.download_file(name, out / name)

    # -- writing from the outside (v1 lets you log on any run you hold) ----------------------
    def _emit(self, record: dict[str, Any]) -> None:
        store = self._store
        root = self._rec.get("parent_id") or self.id
        kind = record["type"]
        with store.write() as conn:
            if kind == "metric":
                store.add_metrics([(self.id, record["name"], record["kind"], record["value"], record["ts"])], conn=conn)
                store.add_events(
                    [(root, self.id, "metric", {"name": record["name"], "value": record["value"]})], conn=conn
                )
        if kind in ("tags", "properties"):
            store.merge_json(self.id, kind, record["values"])

    def _store_file(self, name: str, source: str | os.PathLike[str] | IO[bytes]) -> str:
        from jupyter_amlpipe.context.run import _copy_into

        _copy_into(self._dir() / name, source)
        return name

    # -- lifecycle ------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the run: running steps are stopped within seconds, grandchildren included."""
        root_id = self._rec.get("parent_id") or self.id
        self._store.request_cancel(root_id)
        runner = ACTIVE.get(root_id)
        if runner is not None:
            runner.wake()
            return
        root = self._store.get_run(root_id)
        if root["status"] == "Queued":  # still in a server's queue: it never starts
            with self._store.write() as conn:
                self._store.update_run(root_id, conn=conn, status="Canceled", ended=time.time())
                self._store.add_events([(root_id, root_id, "status", {"status": "Canceled"})], conn=conn)
            return
        if root["status"] not in TERMINAL and not liveness.is_alive(
            root.get("runner_pid"), root.get("runner_start"), root.get("runner_host")
        ):
            mark_runner_died(self.workspace, root)

    def wait_for_completion(
        self,
        show_output: bool = True,
        timeout_seconds: float | None = None,
        raise_on_error: bool = True,
        wait_post_processing: bool = False,
    ) -> Any:
        """Wait for the run to end; with ``show_output`` stream step output as it comes."""
        from jupyter_amlpipe.runner.follow import follow

        root_id = self._rec.get("parent_id") or self.id
        try:
            status = follow(
                self.workspace,
                root_id,
                only_run=None if root_id == self.id else self.id,
                show_output=show_output,
                timeout_seconds=timeout_seconds,
                out=sys.stdout,
            )
        except KeyboardInterrupt:
            if root_id in ACTIVE:  # the run lives in this process: stopping the wait must not orphan it
                print(f"\nInterrupted: canceling run {root_id} (it runs in this process).", file=sys.stderr)
                self.cancel()
                ACTIVE[root_id].done.wait(10) if root_id in ACTIVE else None
            raise
        if status in TERMINAL:
            rec = self._record()
            status = rec["status"]
            if status == "Failed" and raise_on_error:
                raise RunFailedError(_failure_message(self, rec), run_id=self.id, status=status)
        return status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(Experiment: {self.experiment.name}, Id: {self.id}, Type: {self.kind}, Status: {self._rec['status']})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RecordRun) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


def _failure_message(run: _RecordRun, rec: dict[str, Any]) -> str:
    lines = [f"{run.kind.capitalize()} run {run.id} ({rec['name']}) Failed."]
    if run.kind == "pipeline":
        for child in run.workspace._store.child_runs(run.id):
            if child["status"] == "Failed":
                lines.append(f"Step {child['name']!r} failed: {child['error'] or 'see its logs'}")
        if rec["error"] and len(lines) == 1:
            lines.append(str(rec["error"]))
    elif rec["error"]:
        lines.append(str(rec["error"]))
    root = rec.get("parent_id") or run.id
    lines.append(f"Logs: amlpipe logs {root}")
    lines.append(f"Resume (finished steps are reused): amlpipe resume {root}   or   run.resume()")
    return "\n".join(lines)


class PortDataReference:
    """An output of a finished step run (v1 ``PortDataReference``)."""

    def __init__(self, step_run: StepRun, name: str, datastore_name: str, path_on_datastore: str) -> None:
        self._step_run = step_run
        self.name = name
        self.datastore_name = datastore_name
        self.path_on_datastore = path_on_datastore

    @property
    def datastore(self) -> Any:
        from jupyter_amlpipe.workspace.datastore import Datastore

        return Datastore.get(self._step_run.workspace, self.datastore_name)

    def download(self, local_path: str | os.PathLike[str], overwrite: bool = False, show_progress: bool = True) -> str:
        """Download the data under ``local_path`` (keeping its datastore path, like v1); return where it is."""
        self.datastore.download(
            str(local_path), prefix=self.path_on_datastore, overwrite=overwrite, show_progress=show_progress
        )
        return str(Path(local_path) / self.path_on_datastore)

    def as_download(self, *args: Any, **kwargs: Any) -> Any:
        from jupyter_amlpipe.core.data import DataReference

        return DataReference(self.datastore, self.name, self.path_on_datastore, "download")

    def as_mount(self) -> Any:
        from jupyter_amlpipe.core.data import DataReference

        return DataReference(self.datastore, self.name, self.path_on_datastore, "mount")

    def __repr__(self) -> str:
        return (
            f"PortDataReference(name={self.name!r}, datastore={self.datastore_name!r}, path={self.path_on_datastore!r})"
        )


class StepRun(_RecordRun):
    """One step's run inside a pipeline run (v1 ``StepRun``)."""

    kind = "step"

    def _check_v1_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """v1 ``StepRun(experiment, step_run_id, pipeline_run_id, node_id, ...)``: the pipeline run must match."""
        pipeline_run_id = args[0] if args else kwargs.get("pipeline_run_id")
        if pipeline_run_id is not None and pipeline_run_id != self._rec.get("parent_id"):
            raise LookupFailed(
                f"Step run {self.id!r} ({self.name!r}) belongs to pipeline run {self._rec.get('parent_id')!r}, "
                f"not {pipeline_run_id!r}.",
                run_id=self.id,
            )

    def _run_definition(self, rec: dict[str, Any]) -> dict[str, Any]:
        definition = dict(rec["details"].get("definition", {}))
        return {**definition, "target": rec["details"].get("compute"), "snapshotId": rec["details"].get("snapshot_id")}

    @property
    def parent(self) -> PipelineRun:
        return PipelineRun(self.experiment, str(self._rec["parent_id"]))

    @property
    def reused(self) -> bool:
        return bool(self._rec["details"].get("reused_from"))

    def _log(self, stream: str) -> str:
        path = self._file(f"logs/{stream}.txt")
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""

    def get_stdout_log(self) -> str:
        """Everything the step wrote to stdout."""
        return self._log("stdout")

    def get_stderr_log(self) -> str:
        """Everything the step wrote to stderr."""
        return self._log("stderr")

    def get_reuse_info(self) -> dict[str, Any]:
        """Whether this step was reused (and from which run), and why it ran otherwise, in plain words."""
        details = self._record()["details"]
        reuse = details.get("reuse", {})
        reused_from = details.get("reused_from")
        reasons = list(reuse.get("reasons", []))
        if reused_from:
            reasons = [f"reused: same code, parameters and input content as step run {reused_from}"]
        return {"reused": bool(reused_from), "reused_from": reused_from, "reasons": reasons, "key": reuse.get("key")}

    def get_job_log(self) -> str:
        """The runner's log for this step (what was run, where, and how it ended)."""
        return self._log("runner")

    def get_outputs(self) -> dict[str, PortDataReference]:
        outs = self._record()["details"].get("outputs", {})
        return {n: PortDataReference(self, n, o["datastore"], o["path"]) for n, o in outs.items()}

    def get_output(self, name: str) -> PortDataReference:
        return self.get_output_data(name)

    def get_output_data(self, name: str) -> PortDataReference:
        """An output of this step by its PipelineData name (or output_name)."""
        outs = self.get_outputs()
        if name not in outs:
            aliases = self._rec["details"].get("output_names", {})
            if name in aliases:
                return outs[aliases[name]]
            raise LookupFailed(f"Step {self.name!r} has no output {name!r}.{did_you_mean(name, outs)}", name=name)
        if self.get_status() != "Finished":
            raise LookupFailed(
                f"Output {name!r} of step {self.name!r} is not available: the step is {self._rec['status']}, "
                "and only a Finished step's outputs are complete.",
                name=name,
            )
        return outs[name]


class PipelineRun(_RecordRun):
    """A run of a whole pipeline (v1 ``PipelineRun``)."""

    kind = "pipeline"

    def _run_definition(self, rec: dict[str, Any]) -> dict[str, Any]:
        return {"parameters": rec["details"].get("parameters"), "steps": rec["details"].get("steps")}

    @property
    def parent(self) -> None:
        return None

    def _children(self) -> list[StepRun]:
        return [StepRun(self.experiment, r["id"], r) for r in self._store.child_runs(self.id)]

    def _descendants(self) -> list[_RecordRun]:
        return list(self._children())

    def get_steps(self) -> Iterator[StepRun]:
        """The step runs of this pipeline run."""
        self._record()
        return iter(self._children())

    def get_children(
        self,
        recursive: bool = False,
        tags: Any = None,
        properties: Any = None,
        type: Any = None,
        status: str | None = None,
        _rehydrate_runs: bool = True,
    ) -> Iterator[StepRun]:
        children = self._children()
        if status is not None:
            children = [c for c in children if c._rec["status"] == status]
        return iter(children)

    def find_step_run(self, name: str) -> list[StepRun]:
        """Step runs named ``name`` (a list, as in v1)."""
        return [c for c in self._children() if c.name == name]

    def get_step_run(self, name: str) -> StepRun:
        found = self.find_step_run(name)
        if not found:
            names = [c.name for c in self._children()]
            raise LookupFailed(f"Pipeline run {self.id} has no step {name!r}.{did_you_mean(name, names)}", name=name)
        return found[0]

    def resume(self) -> PipelineRun:
        """Continue this Failed or Canceled run as a new run: finished steps are reused, the rest run.

        The resumed run uses the code, parameters and compute targets recorded
        when this run was submitted.
        """
        from jupyter_amlpipe.core.serialize import pipeline_from_dict

        rec = self._record()
        if rec["status"] not in ("Failed", "Canceled"):
            raise DefinitionError(
                f"Run {self.id} is {rec['status']}: only a Failed or Canceled run can be resumed.", run_id=self.id
            )
        from jupyter_amlpipe.runner.plan import recorded_pipeline

        doc = recorded_pipeline(self.workspace, self.id)
        if not doc or "unrecordable" in doc:
            why = (doc or {}).get("unrecordable", "its definition was not recorded")
            raise ExecutionError(f"Run {self.id} cannot be resumed: {why}. Submit the pipeline again.", run_id=self.id)
        pipeline, steps, assigned = pipeline_from_dict(doc, self.workspace)
        position = {id(step): i for i, step in enumerate(pipeline.steps)}
        finished = {}
        for child in self._store.child_runs(self.id):
            index = child["details"].get("index")
            if child["status"] == "Finished" and index is not None and index < len(steps):
                finished[position[id(steps[index])]] = child
        continue_on_failure = rec["properties"].get("amlpipe.continue_on_step_failure") == "True"
        run: PipelineRun = self.experiment.submit(
            pipeline,
            pipeline_parameters=assigned,
            continue_on_step_failure=continue_on_failure,
            regenerate_outputs=rec["properties"].get("amlpipe.regenerate_outputs") == "True",
            _resume=(self.id, finished),
        )
        return run

    def publish_pipeline(
        self,
        name: str,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Publish the pipeline this run ran, with the code snapshots it ran (v1 ``publish_pipeline``)."""
        import importlib

        from jupyter_amlpipe.core.serialize import pipeline_from_dict
        from jupyter_amlpipe.runner.plan import recorded_pipeline

        doc = recorded_pipeline(self.workspace, self.id)
        if not doc or "unrecordable" in doc:
            why = (doc or {}).get("unrecordable", "its definition was not recorded")
            raise ExecutionError(f"Run {self.id} cannot be published: {why}. Publish the Pipeline instead.")
        pipeline, _steps, _assigned = pipeline_from_dict(doc, self.workspace)
        if continue_on_step_failure is None:
            continue_on_step_failure = self._record()["properties"].get("amlpipe.continue_on_step_failure") == "True"
        published_cls = importlib.import_module("jupyter_amlpipe.publish.published").PublishedPipeline
        return published_cls._publish(
            pipeline, name, description, version, continue_on_step_failure, source_run_id=self.id
        )

    def get_pipeline_runtime(self) -> float | None:
        rec = self._record()
        if rec["started"] is None:
            return None
        return float((rec["ended"] or time.time()) - rec["started"])


def new_run_id() -> str:
    return str(uuid.uuid4())


def run_from_id(workspace: Any, run_id: str) -> _RecordRun:
    """The run with this id as its own class: a PipelineRun or a StepRun (``ws.get_run``, ``Run.get``)."""
    from jupyter_amlpipe.runner.experiment import Experiment

    rec = find_record(workspace, run_id)
    experiment = Experiment(workspace, rec["experiment"])
    cls = PipelineRun if rec["kind"] == "pipeline" else StepRun
    return cls(experiment, run_id, rec)
