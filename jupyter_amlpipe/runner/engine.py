"""The runner: dispatches ready steps to their compute targets and records what happens.

One thread per pipeline run drives ``graphlib``'s ``get_ready()``/``done()``
loop. A started step gets a watcher thread that waits for its process and
reports back through a queue; the loop also wakes every quarter second to
follow logs and metrics, enforce timeouts and notice cancel requests.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from jupyter_amlpipe.core.data import PipelineData
from jupyter_amlpipe.errors import AmlpipeError
from jupyter_amlpipe.runner import liveness
from jupyter_amlpipe.runner.job import JobHandle, StepJob
from jupyter_amlpipe.runner.plan import Plan, StepPlan
from jupyter_amlpipe.runner.prepare import StepPreparer
from jupyter_amlpipe.runner.reuse import ReuseDecision, ReuseKeys
from jupyter_amlpipe.runner.runs import ACTIVE
from jupyter_amlpipe.runner.tail import FileTail, last_lines

POLL_SECONDS = 0.25
CANCEL_GRACE_SECONDS = 3.0
LOG_EVENT_BUDGET = 32 << 20  # log text per step that also goes into the event stream


@dataclass
class _Active:
    sp: StepPlan
    job: StepJob
    handle: JobHandle
    preparer: StepPreparer
    started: float
    tails: dict[str, FileTail] = field(default_factory=dict)
    context: FileTail | None = None
    ending: str | None = None  # "timeout" or "canceled" once we stopped it
    log_budget: int = 0
    log_truncated: bool = False
    decision: ReuseDecision | None = None
    parent_metrics: list[list[Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _output_hint(active: _Active, tail: str) -> str:
    """What to do when a step wrote into an output folder that it did not create (v1's contract)."""
    if "No such file or directory" not in tail:
        return ""
    for name, staging, _store, _rel in active.preparer.staged:
        if str(staging) in tail and not staging.exists():
            is_plain = any(o.name == name and type(o) is PipelineData for o in active.sp.step.outputs)
            alternative = f", or declare it a folder (PipelineData({name!r}, is_directory=True))" if is_plain else ""
            return (
                f"\nOutput {name!r} is a path the step creates, as in Azure ML v1: call "
                f"os.makedirs(path, exist_ok=True) before writing files into it{alternative}."
            )
    return ""


class PipelineRunner:
    """Runs one pipeline run in a background thread of the submitting process."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.ws = plan.workspace
        self.store = plan.workspace._store
        self.root = plan.root_id
        self._queue: queue.Queue[tuple[str, int, int]] = queue.Queue()
        self._running: dict[int, _Active] = {}
        self.done = threading.Event()
        self.keys = ReuseKeys(plan)
        self._decisions: dict[int, ReuseDecision] = {}
        self._thread = threading.Thread(target=self._main, name=f"amlpipe-run-{self.root[:8]}", daemon=False)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        ACTIVE[self.root] = self
        self._thread.start()

    def wake(self) -> None:
        self._queue.put(("wake", -1, 0))

    def _main(self) -> None:
        try:
            self._loop()
        except BaseException as exc:
            self._crash(exc)
        finally:
            ACTIVE.pop(self.root, None)
            self.done.set()

    def _crash(self, exc: BaseException) -> None:
        for active in self._running.values():
            with contextlib.suppress(Exception):
                active.handle.cancel()
        reason = f"The runner failed: {type(exc).__name__}: {exc}"
        (self.ws.run_dir(self.root)).mkdir(parents=True, exist_ok=True)
        (self.ws.run_dir(self.root) / "runner_error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        now = time.time()
        with self.store.write() as conn:
            for child in self.store.child_runs(self.root):
                if child["status"] in ("Running", "Queued"):
                    self.store.update_run(child["id"], conn=conn, status="Failed", ended=now, error=reason)
            self.store.update_run(self.root, conn=conn, status="Failed", ended=now, error=reason)
            self.store.add_events([(self.root, self.root, "status", {"status": "Failed", "error": reason})], conn=conn)

    # -- the loop --------------------------------------------------------------------
    def _loop(self) -> None:
        plan = self.plan
        now = time.time()
        with self.store.write() as conn:
            self.store.update_run(self.root, conn=conn, status="Running", started=now)
            self.store.add_events([(self.root, self.root, "status", {"status": "Running"})], conn=conn)
        sorter = plan.graph.sorter()
        sorter.prepare()
        waiting: dict[str, deque[int]] = {}
        limits: dict[str, int] = {}
        busy: dict[str, int] = {}
        failed = canceled = stop_new = False
        last_poll = time.monotonic()
        while True:
            if not stop_new:
                for i in self._take_ready(sorter):
                    if i < 0:  # a step that could not even be prepared
                        failed = True
                        stop_new = stop_new or not plan.continue_on_step_failure
                        continue
                    target = plan.steps[i].compute
                    waiting.setdefault(target.name, deque()).append(i)
                    limits.setdefault(target.name, max(1, int(target.max_concurrency)))
                queued_now: list[int] = []
                for name, q in waiting.items():
                    while q and busy.get(name, 0) < limits[name] and not stop_new:
                        i = q.popleft()
                        if self._start(plan.steps[i]):
                            busy[name] = busy.get(name, 0) + 1
                        else:
                            failed = True
                            stop_new = stop_new or not plan.continue_on_step_failure
                    queued_now.extend(q)
                self._mark_queued(queued_now)
            if not self._running and (stop_new or not any(waiting.values())):
                break
            try:
                messages = [self._queue.get(timeout=POLL_SECONDS)]
            except queue.Empty:
                messages = []
            while True:
                try:
                    messages.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for kind, i, code in messages:
                if kind != "done":
                    continue
                active = self._running.pop(i)
                busy[active.sp.compute.name] -= 1
                status = self._finish(active, code)
                if status == "Finished":
                    sorter.done(i)
                else:
                    failed = True
                    if not plan.continue_on_step_failure:
                        stop_new = True
            if time.monotonic() - last_poll >= POLL_SECONDS or any(k == "wake" for k, _, _ in messages):
                last_poll = time.monotonic()
                self._follow_running()
                if not canceled and self.store.cancel_requested(self.root):
                    canceled = stop_new = True
                    self._stop_all("canceled")
                self._check_timeouts()
        self._end(failed, canceled)

    def _take_ready(self, sorter: Any) -> list[int]:
        """Steps that must run now; steps whose results can be reused are completed on the spot.

        A reused step finishes at once, which may make its consumers ready: keep
        going until no step becomes ready. A step whose reuse key cannot be
        computed is failed and reported as ``-1``.
        """
        to_run: list[int] = []
        while ready := sorter.get_ready():
            for i in ready:
                sp = self.plan.steps[i]
                try:
                    decision = self.keys.decide(sp)
                    resumed = self.plan.resume_from.get(i)
                    if resumed is not None and self.keys.outputs_intact(resumed):
                        decision.source = resumed
                except Exception as exc:
                    self._fail_before_start(sp, f"Could not prepare the step: {type(exc).__name__}: {exc}")
                    to_run.append(-1)
                    continue
                if decision.source is not None:
                    self._reuse(sp, decision)
                    sorter.done(i)
                else:
                    self._decisions[i] = decision
                    to_run.append(i)
        return to_run

    def _reuse(self, sp: StepPlan, decision: ReuseDecision) -> None:
        """Complete a step from an earlier execution: its outputs, logs, files and metrics."""
        from jupyter_amlpipe.workspace.datastore import Datastore

        source = decision.source
        assert source is not None
        origin = source["details"].get("reused_from") or source["id"]
        outputs = source["details"].get("outputs", {})
        digests = source["details"].get("output_digests", {})
        for out in sp.step.outputs:
            location = outputs.get(out.name)
            if location is not None:
                self.plan.output_of[id(out)] = (Datastore.get(self.ws, location["datastore"]), location["path"])
            self.keys.output_digests[id(out)] = digests.get(out.name, "unknown")
        now = time.time()
        reuse = {"key": decision.key, "components": decision.components, "reasons": [], "reused": True}
        with self.store.write() as conn:
            self.store.merge_json(
                sp.run_id,
                "details",
                {
                    "outputs": outputs,
                    "output_digests": digests,
                    "parent_metrics": source["details"].get("parent_metrics", []),
                    "reused_from": origin,
                    "artifacts_of": source["details"].get("artifacts_of") or source["id"],
                    "reuse": reuse,
                },
            )
            self.store.copy_metrics(source["id"], sp.run_id, conn=conn)
            replay = [(self.root, *m) for m in source["details"].get("parent_metrics", [])]
            self.store.add_metrics([(r, n, k, v, t) for r, n, k, v, t in replay], conn=conn)
            self.store.update_run(sp.run_id, conn=conn, status="Finished", started=now, ended=now)
            self.store.add_events(
                [(self.root, sp.run_id, "status", {"status": "Finished", "step": sp.step.name, "reused_from": origin})],
                conn=conn,
            )

    def _mark_queued(self, indexes: list[int]) -> None:
        fresh = [i for i in indexes if not getattr(self.plan.steps[i], "_queued", False)]
        if not fresh:
            return
        with self.store.write() as conn:
            for i in fresh:
                sp = self.plan.steps[i]
                sp._queued = True  # type: ignore[attr-defined]
                self.store.update_run(sp.run_id, conn=conn, status="Queued")
            self.store.add_events(
                [
                    (
                        self.root,
                        self.plan.steps[i].run_id,
                        "status",
                        {"status": "Queued", "step": self.plan.steps[i].step.name},
                    )
                    for i in fresh
                ],
                conn=conn,
            )

    def _end(self, failed: bool, canceled: bool) -> None:
        status = "Canceled" if canceled else ("Failed" if failed else "Finished")
        now = time.time()
        with self.store.write() as conn:
            for child in self.store.child_runs(self.root):
                if child["status"] == "Queued" or (canceled and child["status"] == "NotStarted"):
                    new = "Canceled" if canceled else "NotStarted"
                    self.store.update_run(child["id"], conn=conn, status=new, ended=now if canceled else None)
            error = None
            if failed and not canceled:
                names = [c["name"] for c in self.store.child_runs(self.root) if c["status"] == "Failed"]
                error = "Step(s) failed: " + ", ".join(repr(n) for n in names) if names else "A step failed."
            self.store.update_run(self.root, conn=conn, status=status, ended=now, error=error)
            self.store.add_events([(self.root, self.root, "status", {"status": status, "error": error})], conn=conn)

    # -- one step ----------------------------------------------------------------------
    def _start(self, sp: StepPlan) -> bool:
        preparer = StepPreparer(self.plan, sp)
        try:
            job = preparer.build()
            handle = sp.compute.start(job)
        except AmlpipeError as exc:
            self._fail_before_start(sp, exc.message)
            return False
        except Exception as exc:
            self._fail_before_start(sp, f"Could not start the step: {type(exc).__name__}: {exc}")
            return False
        started = time.time()
        active = _Active(
            sp,
            job,
            handle,
            preparer,
            time.monotonic(),
            tails={"stdout": FileTail(job.stdout_path), "stderr": FileTail(job.stderr_path)},
            context=FileTail(job.context_file),
            log_budget=LOG_EVENT_BUDGET,
        )
        self._running[sp.index] = active
        decision = self._decisions.pop(sp.index, None)
        with self.store.write() as conn:
            if decision is not None:
                active.decision = decision
                reuse = {"key": decision.key, "components": decision.components, "reasons": decision.reasons}
                self.store.merge_json(sp.run_id, "details", {"reuse": {**reuse, "reused": False}})
            self.store.update_run(
                sp.run_id,
                conn=conn,
                status="Running",
                started=started,
                runner_pid=getattr(handle, "pid", None),
                runner_host=liveness.host(),
            )
            self.store.add_events(
                [(self.root, sp.run_id, "status", {"status": "Running", "step": sp.step.name})], conn=conn
            )
        threading.Thread(
            target=self._watch, args=(sp.index, handle), daemon=True, name=f"amlpipe-step-{sp.step.name[:20]}"
        ).start()
        return True

    def _watch(self, index: int, handle: JobHandle) -> None:
        try:
            code = handle.wait()
        except Exception:
            code = -1
        self._queue.put(("done", index, code))

    def _fail_before_start(self, sp: StepPlan, reason: str) -> None:
        now = time.time()
        run_dir = self.ws.run_dir(sp.run_id)
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        (run_dir / "logs" / "runner.txt").write_text(
            f"Step {sp.step.name!r} could not start:\n{reason}\n", encoding="utf-8"
        )
        with self.store.write() as conn:
            self.store.update_run(sp.run_id, conn=conn, status="Failed", started=now, ended=now, error=reason)
            self.store.add_events(
                [(self.root, sp.run_id, "status", {"status": "Failed", "step": sp.step.name, "error": reason})],
                conn=conn,
            )

    def _follow(self, active: _Active, final: bool = False) -> list[tuple[str, str, str, dict[str, Any]]]:
        """New log text and run-context records of a running (or just ended) step, as events.

        Every line reaches the event stream up to a budget per step; past it one
        event says so and the rest is only in the log files.
        """
        events: list[tuple[str, str, str, dict[str, Any]]] = []
        for stream, tail in active.tails.items():
            while True:
                text = tail.flush_text() if final else tail.read_text()
                if not text:
                    break
                if active.log_budget <= 0:
                    tail.skip_to_end()
                    if not active.log_truncated:
                        active.log_truncated = True
                        note = f"[log output past {LOG_EVENT_BUDGET >> 20} MiB is only in logs/{stream}.txt]\n"
                        events.append(
                            (
                                self.root,
                                active.sp.run_id,
                                "log",
                                {"step": active.sp.step.name, "stream": stream, "text": note},
                            )
                        )
                    break
                active.log_budget -= len(text)
                events.append(
                    (self.root, active.sp.run_id, "log", {"step": active.sp.step.name, "stream": stream, "text": text})
                )
        if active.context is not None:
            self._ingest(active, active.context.read_records(), events)
        return events

    def _ingest(self, active: _Active, records: list[dict[str, Any]], events: list[Any]) -> None:
        if not records:
            return
        metrics = []
        for rec in records:
            target = self.root if rec.get("target") == "parent" else active.sp.run_id
            kind = rec.get("type")
            if kind == "metric":
                metrics.append((target, rec["name"], rec["kind"], rec["value"], rec.get("ts", time.time())))
                if target == self.root:  # replayed onto later pipeline runs that reuse this step
                    active.parent_metrics.append([rec["name"], rec["kind"], rec["value"], rec.get("ts", time.time())])
                events.append(
                    (
                        self.root,
                        target,
                        "metric",
                        {"name": rec["name"], "value": rec["value"], "step": active.sp.step.name},
                    )
                )
            elif kind in ("tags", "properties"):
                self.store.merge_json(target, kind, rec["values"])
            elif kind == "error":
                active.errors.append(str(rec.get("message")))
        if metrics:
            self.store.add_metrics(metrics)

    def _follow_running(self) -> None:
        events = []
        for active in self._running.values():
            events.extend(self._follow(active))
        if events:
            self.store.add_events(events)

    def _check_timeouts(self) -> None:
        now = time.monotonic()
        for active in self._running.values():
            limit = active.job.timeout_seconds
            if limit and active.ending is None and now - active.started > limit:
                active.ending = "timeout"
                active.handle.cancel()

    def _stop_all(self, why: str) -> None:
        for active in self._running.values():
            if active.ending is None:
                active.ending = why
                active.handle.cancel()

    def _finish(self, active: _Active, code: int) -> str:
        sp = active.sp
        events = self._follow(active, final=True)
        duration = time.monotonic() - active.started
        error = None
        digests: dict[str, str] = {}
        try:
            active.preparer.keep_outputs_folder()
            if code == 0 and active.ending is None and not active.errors:
                digests = active.preparer.publish_outputs(self.keys.digests)
        except Exception as exc:
            code = code or 1
            active.errors.append(f"Could not store the step's outputs: {exc}")
        if active.ending == "canceled":
            status = "Canceled"
            error = "Canceled by request."
        elif active.ending == "timeout":
            status = "Failed"
            error = f"Step {sp.step.name!r} timed out after {active.job.timeout_seconds:g} s and was stopped."
        elif code == 0 and not active.errors:
            status = "Finished"
        else:
            status = "Failed"
            error = self._failure_reason(active, code)
        self._write_runner_log(active, code, status, duration, error)
        if status == "Finished":
            shutil.rmtree(active.job.workdir, ignore_errors=True)
        events.append(
            (
                self.root,
                sp.run_id,
                "status",
                {"status": status, "step": sp.step.name, "error": error, "duration": round(duration, 3)},
            )
        )
        if status == "Finished":
            for out in sp.step.outputs:
                self.keys.output_digests[id(out)] = digests.get(out.name, "missing")
        with self.store.write() as conn:
            if status == "Finished":
                self.store.merge_json(
                    sp.run_id, "details", {"output_digests": digests, "parent_metrics": active.parent_metrics}
                )
                if active.decision is not None:
                    self.store.add_reuse_entry(active.decision.key, sp.run_id, conn=conn)
            self.store.update_run(sp.run_id, conn=conn, status=status, ended=time.time(), error=error)
            self.store.add_events(events, conn=conn)
        return status

    def _failure_reason(self, active: _Active, code: int) -> str:
        if active.errors:
            return "\n".join(active.errors)
        what = active.handle.description
        if code < 0:
            import signal

            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = str(-code)
            head = f"{what} was killed by signal {sig}."
        else:
            head = f"{what} exited with code {code}."
        tail = last_lines(active.job.stderr_path, 12)
        kept = f"\nIts working folder is kept at {active.job.workdir}."
        return head + _output_hint(active, tail) + (f"\nLast lines of stderr:\n{tail}" if tail else "") + kept

    def _write_runner_log(self, active: _Active, code: int, status: str, duration: float, error: str | None) -> None:
        lines = [
            f"step: {active.sp.step.name}",
            f"step run: {active.sp.run_id}",
            f"compute: {active.sp.compute.name} ({active.sp.compute.type})",
            f"program: {active.handle.description}",
            f"working folder: {active.job.workdir}",
            f"exit code: {code}",
            f"status: {status}",
            f"duration: {duration:.3f} s",
            f"runner: pid {os.getpid()} on {liveness.host()}",
        ]
        if error:
            lines.append(f"error: {error}")
        (active.job.run_dir / "logs" / "runner.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
