"""Schedules: time-based (frequency "Second"), data-change, and a missed schedule firing once on start."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jupyter_amlpipe import Datastore, Schedule, ScheduleRecurrence
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.publish import PublishService, QueueWorker, SchedulerLoop


def test_time_based_fires_at_its_seconds(workspace: Any, pipeline: Any, stdout_of: Any) -> None:
    published = pipeline.publish(name="greet")
    loop = SchedulerLoop(workspace)  # the server was running before the schedule was made
    schedule = Schedule.create(
        workspace, "every-second", published.id, "sched-exp", recurrence=ScheduleRecurrence("Second", 1),
        pipeline_parameters={"greeting": "tick"},
    )  # fmt: skip
    anchor = schedule._rec["doc"]["anchor"]
    assert len(loop.tick(now=anchor + 0.5)) == 1
    assert loop.tick(now=anchor + 0.7) == []  # not due again yet
    assert len(loop.tick(now=anchor + 3.2)) == 1  # several seconds late: one run, not three
    schedule.disable()
    assert loop.tick(now=anchor + 9) == []
    schedule.enable()

    runs = schedule.get_pipeline_runs()
    assert len(runs) == 2 and all("amlpipe.schedule_missed" not in r.properties for r in runs)
    assert PublishService(workspace).start_queued(4) == [r.id for r in reversed(runs)]
    assert "GREETING=tick" in stdout_of(schedule.get_last_pipeline_run())


def test_missed_schedule_fires_once_on_start(workspace: Any, pipeline: Any, stdout_of: Any) -> None:
    published = pipeline.publish(name="greet")
    schedule = Schedule.create(
        workspace, "missed", published.id, "sched-exp", recurrence=ScheduleRecurrence("Minute", 1)
    )
    anchor = schedule._rec["doc"]["anchor"]
    loop = SchedulerLoop(workspace)
    loop.started_at = anchor + 600  # the server comes back ten minutes later
    queued = loop.tick(now=anchor + 600)
    assert len(queued) == 1
    run = schedule.get_last_pipeline_run()
    assert "fired once on start" in run.properties["amlpipe.schedule_missed"]
    assert loop.tick(now=anchor + 601) == []
    PublishService(workspace).start_queued(1)
    assert "GREETING=hello" in stdout_of(run)


def test_data_change_trigger(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    store = Datastore.get_default(workspace)
    folder = store.local_path("incoming")
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("1\n")
    loop = SchedulerLoop(workspace)
    schedule = Schedule.create(
        workspace, "on-data", published.id, "data-exp", datastore=store, path_on_datastore="incoming",
        polling_interval=0.001,
    )  # fmt: skip
    now = time.time()
    assert loop.tick(now=now) == []  # nothing changed since the schedule was made
    (folder / "b.csv").write_text("2\n")
    fired = loop.tick(now=now + 1)
    assert len(fired) == 1
    assert loop.tick(now=now + 2) == []
    run = schedule.get_last_pipeline_run()
    assert run.id == fired[0] and "incoming" in run.properties["amlpipe.schedule_trigger"]


def test_loop_and_worker_threads_run_scheduled_runs(workspace: Any, pipeline: Any, stdout_of: Any) -> None:
    published = pipeline.publish(name="greet")
    worker, loop = QueueWorker(workspace, 2, poll_seconds=0.2), SchedulerLoop(workspace, tick_seconds=0.2)
    worker.start()
    loop.start()
    try:
        schedule = Schedule.create(
            workspace, "s", published.id, "thread-exp", recurrence=ScheduleRecurrence("Second", 1)
        )
        deadline = time.time() + 120
        while len(schedule.get_pipeline_runs()) < 2 and time.time() < deadline:
            time.sleep(0.2)
        schedule.disable()
    finally:
        loop.stop()
    try:
        runs = schedule.get_pipeline_runs()
        assert len(runs) >= 2
        for run in runs:
            assert "GREETING=hello" in stdout_of(run)
    finally:
        worker.stop()


def test_bad_schedules_are_refused(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    with pytest.raises(DefinitionError, match="Minute"):
        ScheduleRecurrence("Minutes", 1)
    with pytest.raises(DefinitionError, match="either recurrence"):
        Schedule.create(workspace, "x", published.id, "e")
    with pytest.raises(DefinitionError, match="Did you mean 'greeting'"):
        Schedule.create(
            workspace, "x", published.id, "e", recurrence=ScheduleRecurrence("Hour", 1),
            pipeline_parameters={"greting": "a"},
        )  # fmt: skip
