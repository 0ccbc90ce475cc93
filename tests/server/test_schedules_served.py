"""Schedules fire in ``amlpipe serve``: a time-based one (frequency "Second") and a data-change trigger."""

from __future__ import annotations

from typing import Any

from jupyter_amlpipe import Datastore, Schedule, ScheduleRecurrence
from tests.server import follow, wait_until
from tests.server.conftest import Served


def _stdout(served: Served, run_id: str) -> str:
    """The step's stdout, read over REST."""
    with served.server.client(served.token) as client:
        logs = client.get(f"/runs/{run_id}/logs").json()
    return str(logs["steps"][0]["stdout"])


def _finished_runs(schedule: Any, count: int) -> list[Any]:
    def ready() -> list[Any] | None:
        runs = [r for r in schedule.get_pipeline_runs() if r.get_status() in ("Finished", "Failed", "Canceled")]
        return runs if len(runs) >= count else None

    runs: list[Any] = wait_until(ready, f"{count} run(s) of schedule {schedule.name!r} to end")
    return runs


def test_a_time_based_schedule_fires_in_the_server(served: Served) -> None:
    schedule = Schedule.create(
        served.ws, "every-second", served.published.id, "served-schedule",
        recurrence=ScheduleRecurrence("Second", 1), pipeline_parameters={"text": "from-the-schedule"},
    )  # fmt: skip
    try:
        runs = _finished_runs(schedule, 2)
    finally:
        schedule.disable()
    for run in runs[:2]:
        assert run.get_status() == "Finished"
        assert run.properties["amlpipe.schedule"] == "every-second"
        assert "wrote from-the-schedule 1" in _stdout(served, run.id)


def test_a_data_change_schedule_fires_when_a_file_arrives(served: Served) -> None:
    store = Datastore.get_default(served.ws)
    folder = store.local_path("incoming")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "first.csv").write_text("1\n")
    schedule = Schedule.create(
        served.ws, "on-data", served.published.id, "served-data",
        datastore=store, path_on_datastore="incoming", polling_interval=0.005,
        pipeline_parameters={"text": "data-arrived"},
    )  # fmt: skip
    try:
        assert schedule.get_pipeline_runs() == []  # nothing changed since it was made
        (folder / "second.csv").write_text("2\n")
        (run,) = _finished_runs(schedule, 1)
    finally:
        schedule.disable()
    assert run.get_status() == "Finished"
    assert "incoming" in run.properties["amlpipe.schedule_trigger"]
    with served.server.client(served.token) as client:
        view = follow(client, run.id)  # the run started by the server is readable over REST
    assert view["status"] == "Finished"
    assert "wrote data-arrived 1" in _stdout(served, run.id)
