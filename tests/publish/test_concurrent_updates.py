"""Changes to schedules and endpoints keep what another handle or process wrote meanwhile.

Each race is reproduced without timing: the other writer's change is made from inside the call under test
(from a function it calls between reading the record and writing it), as a scheduler tick or a second
notebook would make it.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from jupyter_amlpipe import Datastore, PipelineEndpoint, Schedule, ScheduleRecurrence
from jupyter_amlpipe.errors import PublishingError
from jupyter_amlpipe.publish import scheduler, schedules


def test_schedule_update_keeps_a_ticks_state_and_a_disable_made_meanwhile(
    workspace: Any, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = pipeline.publish(name="greet")
    store = Datastore.get_default(workspace)
    for folder in ("incoming", "incoming2"):
        store.local_path(folder).mkdir(parents=True)
        (store.local_path(folder) / "a.csv").write_text(folder)
    schedule = Schedule.create(
        workspace, "on-data", published.id, "data-exp", datastore=store, path_on_datastore="incoming",
        polling_interval=0.001,
    )  # fmt: skip
    real_fingerprint = scheduler.fingerprint

    def fingerprint_then_others_write(ws: Any, datastore_name: str, path: str) -> str:
        value = real_fingerprint(ws, datastore_name, path)
        # meanwhile: a scheduler tick records a failed firing, and another notebook disables the schedule
        workspace._store.set_schedule_state(schedule.id, 1234.5, {"fingerprint": "x", "last_error": "it broke"})
        Schedule.get(workspace, schedule.id).disable()
        return value

    monkeypatch.setattr(scheduler, "fingerprint", fingerprint_then_others_write)
    schedule.update(path_on_datastore="incoming2", description="watch the second folder")

    again = Schedule.get(workspace, schedule.id)
    assert again.status == "Disabled"  # the disable made meanwhile stays
    assert again.last_error == "it broke"  # so does the tick's error ...
    assert again._rec["last_fired"] == 1234.5  # ... and its fired time
    assert (again.path_on_datastore, again.description) == ("incoming2", "watch the second folder")
    assert again.to_json()["PathOnDatastore"] == "incoming2"
    monkeypatch.undo()
    stored_state = again._rec["last_state"]
    assert real_fingerprint(workspace, store.name, "incoming2") in stored_state  # the new folder is watched


def test_schedule_update_of_recurrence_keeps_the_last_error_a_tick_wrote_meanwhile(
    workspace: Any, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = pipeline.publish(name="greet")
    schedule = Schedule.create(workspace, "hourly", published.id, "sched-exp", recurrence=ScheduleRecurrence("Hour", 1))
    real_parse_body = schedules.parse_body

    def parse_then_tick(*args: Any, **kwargs: Any) -> Any:
        result = real_parse_body(*args, **kwargs)
        workspace._store.set_schedule_state(schedule.id, 99.0, {"last_error": "pipeline disabled"})
        return result

    monkeypatch.setattr(schedules, "parse_body", parse_then_tick)
    schedule.update(recurrence=ScheduleRecurrence("Minute", 5), pipeline_parameters={"greeting": "hi"})

    again = Schedule.get(workspace, schedule.id)
    assert again.last_error == "pipeline disabled"
    assert again.recurrence is not None and (again.recurrence.frequency, again.recurrence.interval) == ("Minute", 5)
    assert again._rec["last_fired"] == again._rec["doc"]["anchor"]  # the new cadence counts from the update
    assert again.pipeline_parameters == {"greeting": "hi"}
    assert again.status == "Active"


def test_endpoint_rename_keeps_a_default_version_and_status_set_meanwhile(
    workspace: Any, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_amlpipe.publish import endpoints

    v0 = pipeline.publish(name="greet", version="a")
    v1 = pipeline.publish(name="greet", version="b")
    endpoint = PipelineEndpoint.publish(workspace, "greeter", "greets", v0)
    endpoint.add(v1)
    real_free_name = endpoints._free_name

    def free_name_then_others_write(ws: Any, name: str) -> None:
        real_free_name(ws, name)
        other = PipelineEndpoint.get(workspace, id=endpoint.id)  # a second notebook's handle
        other.set_default_version("1")
        other.disable()

    monkeypatch.setattr(endpoints, "_free_name", free_name_then_others_write)
    endpoint.set_name("greeter-2")

    again = PipelineEndpoint.get(workspace, name="greeter-2")
    assert again.id == endpoint.id
    assert again.default_version == "1"
    assert again.status == "Disabled"
    assert again.to_json()["Description"] == "greets"


def test_reactivate_keeps_a_default_version_set_meanwhile(
    workspace: Any, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_amlpipe.publish import endpoints

    v0 = pipeline.publish(name="greet", version="a")
    endpoint = PipelineEndpoint.publish(workspace, "greeter", None, v0)
    endpoint.add_default(pipeline.publish(name="greet", version="b"))
    assert endpoint.default_version == "1"
    endpoint.archive()
    real_free_name = endpoints._free_name

    def free_name_then_set_default(ws: Any, name: str) -> None:
        real_free_name(ws, name)
        PipelineEndpoint.get(workspace, id=endpoint.id).set_default_version("0")

    monkeypatch.setattr(endpoints, "_free_name", free_name_then_set_default)
    endpoint.reactivate("greeter-again")
    again = PipelineEndpoint.get(workspace, name="greeter-again")
    assert (again.status, again.default_version) == ("Active", "0")


def test_one_of_several_simultaneous_renames_to_one_name_wins(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    names = [f"ep-{i}" for i in range(4)]
    for name in names:
        PipelineEndpoint.publish(workspace, name, None, published)
    start = threading.Barrier(len(names) + 2)
    outcomes: list[str] = []

    def rename(name: str) -> None:
        handle = PipelineEndpoint.get(workspace, name=name)
        start.wait()
        try:
            handle.set_name("the-one")
            outcomes.append("renamed")
        except PublishingError as exc:
            outcomes.append("refused" if "already exists" in exc.message else repr(exc))
        except Exception as exc:  # e.g. sqlite3.IntegrityError from a lost race
            outcomes.append(repr(exc))

    def publish() -> None:
        start.wait()
        try:
            PipelineEndpoint.publish(workspace, "the-one", None, published)
            outcomes.append("published")
        except PublishingError as exc:
            outcomes.append("refused" if "already exists" in exc.message else repr(exc))
        except Exception as exc:
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=rename, args=(n,)) for n in names]
    threads += [threading.Thread(target=publish), threading.Thread(target=publish)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == sorted(["refused"] * (len(threads) - 1) + [outcomes_winner(outcomes)])
    holders = [e for e in PipelineEndpoint.list(workspace) if e.name == "the-one"]
    assert len(holders) == 1
    assert len(PipelineEndpoint.list(workspace)) == len(names) + (1 if "published" in outcomes else 0)


def outcomes_winner(outcomes: list[str]) -> str:
    winners = [o for o in outcomes if o in ("renamed", "published")]
    assert len(winners) == 1, outcomes
    return winners[0]


def test_a_tick_that_fires_while_the_schedule_is_updated_keeps_the_update(
    workspace: Any, pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler's own write merges into the schedule as it is then, not as the tick read it."""
    published = pipeline.publish(name="greet")
    loop = scheduler.SchedulerLoop(workspace)
    schedule = Schedule.create(
        workspace, "every-second", published.id, "tick-exp", recurrence=ScheduleRecurrence("Second", 1)
    )
    anchor = schedule._rec["doc"]["anchor"]
    real_submit = loop.service.submit_published

    def submit_while_updated(*args: Any, **kwargs: Any) -> Any:
        run_id = real_submit(*args, **kwargs)
        workspace._store.set_schedule_state(schedule.id, anchor + 50.0, {"note": "kept"})  # an update meanwhile
        return run_id

    monkeypatch.setattr(loop.service, "submit_published", submit_while_updated)
    assert len(loop.tick(now=anchor + 1.5)) == 1

    again = Schedule.get(workspace, schedule.id)
    assert again._rec["last_fired"] == anchor + 50.0  # the later time written meanwhile stays
    assert '"note": "kept"' in again._rec["last_state"] or '"note":"kept"' in again._rec["last_state"]
