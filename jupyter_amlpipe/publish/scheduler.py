"""``SchedulerLoop``: fires a workspace's due schedules (runs in ``amlpipe serve``).

A time-based schedule fires at its recurrence's times; when several were
missed (no server was running) it fires once, and the run's properties say
so (``amlpipe.schedule_missed``). A data-change schedule polls its path every
``polling_interval`` minutes and fires when the files under it changed.
Fired runs go through the submission queue, like REST submissions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from datetime import datetime, timezone
from typing import Any

from jupyter_amlpipe.errors import AmlpipeError, LookupFailed
from jupyter_amlpipe.publish.recurrence import ScheduleRecurrence
from jupyter_amlpipe.publish.service import PublishService


def fingerprint(workspace: Any, datastore_name: str, path: str) -> str:
    """A digest of the names, sizes and modification times of the files under ``path`` of a datastore."""
    from jupyter_amlpipe.workspace.datastore import Datastore

    store = Datastore.get(workspace, datastore_name)
    local = store.local_path(path)
    entries: list[str] = []
    if local is not None:
        if local.is_file():
            st = local.stat()
            entries.append(f"{local.name}\0{st.st_size}\0{st.st_mtime_ns}")
        elif local.is_dir():
            for root, dirs, files in os.walk(local):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    try:
                        st = os.stat(full)
                    except OSError:
                        continue
                    entries.append(f"{os.path.relpath(full, local)}\0{st.st_size}\0{st.st_mtime_ns}")
    else:
        entries = sorted(store.list_files(path))
    return hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


class SchedulerLoop:
    """Checks the workspace's active schedules every ``tick_seconds`` and fires the due ones."""

    def __init__(self, workspace: Any, tick_seconds: float = 0.25, service: PublishService | None = None) -> None:
        self.workspace = workspace
        self.tick_seconds = tick_seconds
        self.service = service or PublishService(workspace)
        self.started_at = time.time()
        self._polled: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Fire what was missed while no server ran (once per schedule), then keep firing due schedules."""
        self.started_at = time.time()
        self._stop.clear()
        self.tick()
        self._thread = threading.Thread(target=self._loop, name="amlpipe-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            with contextlib.suppress(Exception):  # one broken schedule must not stop the others
                self.tick()

    def tick(self, now: float | None = None) -> list[str]:
        """Fire every due schedule once; return the ids of the runs queued."""
        now = time.time() if now is None else now
        queued = []
        for record in self.workspace._store.list_docs("schedules"):
            if record["status"] != "Active":
                continue
            run_id = self._check(record, now)
            if run_id is not None:
                queued.append(run_id)
        return queued

    def _check(self, record: dict[str, Any], now: float) -> str | None:
        doc = record["doc"]
        state = json.loads(record.get("last_state") or "{}")
        last = record.get("last_fired") or doc["anchor"]
        if doc.get("recurrence"):
            recurrence = ScheduleRecurrence.from_json(doc["recurrence"])
            times = recurrence.fire_times(last, now, doc["anchor"])
            if not times:
                return None
            latest = times[-1]
            props = {"amlpipe.schedule_fire_time": _iso(latest)}
            missed = [t for t in times if t < self.started_at]
            if missed:
                props["amlpipe.schedule_missed"] = (
                    f"{len(times)} fire time(s) passed while no server ran (last {_iso(latest)}); fired once on start"
                )
            return self._fire(record, {}, latest, props)
        interval = float(doc["polling_interval"]) * 60.0
        polled = self._polled.get(record["id"])
        if polled is not None and now - polled < interval:
            return None
        self._polled[record["id"]] = now
        try:
            current = fingerprint(self.workspace, doc["datastore"], doc["path_on_datastore"])
        except AmlpipeError as exc:
            self._save(record["id"], None, {"last_error": exc.message})
            return None
        if current == state.get("fingerprint"):
            return None
        state = {"fingerprint": current}
        props = {"amlpipe.schedule_trigger": f"data changed under {doc['datastore']}:{doc['path_on_datastore']}"}
        if polled is None and now - self.started_at < interval + 60:
            props["amlpipe.schedule_missed"] = "data changed while no server ran; fired once on start"
        return self._fire(record, state, now, props)

    def _fire(self, record: dict[str, Any], state: dict[str, Any], fired: float, props: dict[str, str]) -> str | None:
        """Submit the schedule's pipeline; ``state`` holds what to remember with it (a data fingerprint)."""
        doc = record["doc"]
        body = json.loads(json.dumps(doc["body"]))
        param = doc.get("data_path_parameter_name")
        if doc.get("datastore") and param:
            body["DataPathAssignments"] = {
                param: {"DataStoreName": doc["datastore"], "RelativePath": doc["path_on_datastore"]}
            }
        props = {**props, "azureml.scheduleid": record["id"], "amlpipe.schedule": record["name"]}
        run_id = None
        try:
            if doc.get("pipeline_endpoint_id"):
                run_id = self.service.submit_endpoint(
                    doc["pipeline_endpoint_id"], body, source="schedule", properties=props
                )
            else:
                run_id = self.service.submit_published(doc["pipeline_id"], body, source="schedule", properties=props)
            changes: dict[str, Any] = {**state, "last_error": None}
        except AmlpipeError as exc:  # e.g. the pipeline was disabled: remember why, try again next time
            changes = {**state, "last_error": exc.message}
        self._save(record["id"], fired, changes)
        return run_id

    def _save(self, schedule_id: str, fired: float | None, changes: dict[str, Any]) -> None:
        """Store what this tick learned, in one transaction over the schedule as it is now: a
        ``schedule.update`` made while the tick ran keeps its recurrence time and its other state
        (a None value removes that key)."""

        def change(record: dict[str, Any]) -> None:
            raw = record.get("last_state")
            state = dict(raw) if isinstance(raw, dict) else json.loads(raw or "{}")
            for key, value in changes.items():
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
            record["last_state"] = state
            if fired is not None:
                record["last_fired"] = max(fired, record.get("last_fired") or fired)

        with contextlib.suppress(LookupFailed):  # deleted while the tick ran: nothing to record
            self.workspace._store.modify_doc("schedules", schedule_id, change)
