"""The submission queue: submissions are recorded in the workspace database and run by a ``QueueWorker``.

A REST submission is answered at once with the id of a pipeline run in status
``Queued``; the worker in the serving process starts it when a slot is free.
Because the queue is in the database, a restarted server runs what was still
queued, and runs that were running when it died are marked Failed (resumable).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from jupyter_amlpipe.publish.body import Submission, parameter_values
from jupyter_amlpipe.publish.launch import launch
from jupyter_amlpipe.publish.published import PublishedPipeline
from jupyter_amlpipe.runner import liveness
from jupyter_amlpipe.runner.runs import ACTIVE, TERMINAL, new_run_id, reconcile

_WAKE: dict[Path, set[threading.Event]] = {}  # workers of this process, by workspace folder
_WAKE_LOCK = threading.Lock()


def wake_workers(workspace: Any) -> None:
    """Tell this process's queue workers of ``workspace`` that something was queued."""
    with _WAKE_LOCK:
        for event in _WAKE.get(Path(workspace.path), ()):
            event.set()


def enqueue(
    workspace: Any,
    published: PublishedPipeline,
    submission: Submission,
    *,
    source: str,
    properties: dict[str, str] | None = None,
) -> str:
    """Record a submission and its Queued pipeline run; return the run id."""
    run_id = new_run_id()
    props = {
        **submission.properties,
        **published.run_properties(),
        **(properties or {}),
        "azureml.runsource": "azureml.PipelineRun",
        "amlpipe.started_by": source,
    }
    if submission.ignored:  # the caller can see what was not used
        props["amlpipe.ignored_fields"] = ", ".join(submission.ignored)
    placeholder = {
        "id": run_id,
        "experiment": submission.experiment_name,
        "kind": "pipeline",
        "name": submission.display_name or submission.description or published.name,
        "status": "Queued",
        "properties": props,
        "tags": dict(submission.tags),
        "details": {"started_by": source, "published_pipeline_id": published.id, "queued": True},
    }
    store = workspace._store
    store.ensure_experiment(submission.experiment_name)
    store.enqueue(
        placeholder, source, {"pipeline_id": published.id, "submission": submission.to_json(), "properties": props}
    )
    wake_workers(workspace)
    return run_id


def start_submission(workspace: Any, item: dict[str, Any]) -> bool:
    """Run one claimed submission in this process; False when it was canceled before it started."""
    store = workspace._store
    rec = store.find_run(item["id"])
    if rec is None or rec["status"] != "Queued" or rec["cancel_requested"]:
        if rec is not None and rec["status"] == "Queued":
            store.update_run(item["id"], status="Canceled", ended=time.time())
        store.set_submission_state(item["id"], "done")
        return False
    doc = item["doc"]
    sub = Submission.from_json(doc["submission"])
    try:
        published = PublishedPipeline.get(workspace, doc["pipeline_id"])
        cont = (
            published.continue_on_step_failure if sub.continue_on_step_failure is None else sub.continue_on_step_failure
        )
        launch(
            workspace,
            sub.experiment_name,
            published._rec["doc"]["pipeline"],
            parameter_values(workspace, sub),
            continue_on_step_failure=cont,
            properties=dict(doc.get("properties", {})),
            tags=sub.tags,
            description=sub.display_name or sub.description,
            regenerate_outputs=sub.regenerate_outputs,
            root_id=item["id"],
            started_by=item["source"],
        )
    except Exception as exc:  # the run fails with the reason; the queue goes on
        reason = f"The queued run could not start: {exc}"
        with store.write() as conn:
            store.update_run(item["id"], conn=conn, status="Failed", ended=time.time(), error=reason)
            store.add_events([(item["id"], item["id"], "status", {"status": "Failed", "error": reason})], conn=conn)
        store.set_submission_state(item["id"], "done")
        return False
    return True


class QueueWorker:
    """Runs queued submissions of a workspace in this process, at most ``max_running`` at a time."""

    def __init__(self, workspace: Any, max_running: int = 4, poll_seconds: float = 0.5) -> None:
        self.workspace = workspace
        self.max_running = max(1, int(max_running))
        self.poll_seconds = poll_seconds
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Recover after a previous server, run what was queued, then keep taking new submissions."""
        self.recover()
        with _WAKE_LOCK:
            _WAKE.setdefault(Path(self.workspace.path), set()).add(self._wake)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="amlpipe-queue", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking submissions (runs already started go on)."""
        self._stop.set()
        self._wake.set()
        with _WAKE_LOCK:
            _WAKE.get(Path(self.workspace.path), set()).discard(self._wake)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a broken submission must not stop the queue
                self.start_queued()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    # -- work ----------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Submissions a dead process had taken: back to the queue if they never started, else reconciled.

        Returns the ids of runs found interrupted (marked Failed; ``amlpipe resume ID`` continues them).
        """
        store = self.workspace._store
        interrupted = []
        for item in store.submissions("running"):
            owner = item["claimed_by"]
            if item["id"] in ACTIVE or (owner != os.getpid() and liveness.is_alive(owner, None, None)):
                continue
            rec = store.find_run(item["id"])
            if rec is None:
                store.set_submission_state(item["id"], "done")
            elif rec["status"] == "Queued":
                store.set_submission_state(item["id"], "queued")
            else:
                if rec["status"] not in TERMINAL:
                    rec = reconcile(self.workspace, rec)
                    if rec["status"] == "Failed":
                        interrupted.append(item["id"])
                store.set_submission_state(item["id"], "done")
        return interrupted

    def _reap(self) -> None:
        store = self.workspace._store
        for run_id in list(self._running):
            if run_id in ACTIVE:
                continue
            rec = store.find_run(run_id)
            if rec is None or rec["status"] in TERMINAL:
                store.set_submission_state(run_id, "done")
                self._running.discard(run_id)

    def start_queued(self) -> list[str]:
        """Start queued submissions while slots are free; return the ids started."""
        started: list[str] = []
        with self._lock:
            self._reap()
            store = self.workspace._store
            for item in store.submissions("queued"):
                if len(self._running) >= self.max_running:
                    break
                if not store.claim_submission(item["id"], os.getpid()):
                    continue
                if start_submission(self.workspace, item):
                    self._running.add(item["id"])
                    started.append(item["id"])
        return started

    @property
    def running(self) -> list[str]:
        """Ids of the runs this worker started that have not ended."""
        with self._lock:
            self._reap()
            return sorted(self._running)
