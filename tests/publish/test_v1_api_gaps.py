"""v1 publishing calls beyond the basics: get_all aliases, schedule lookups and update, TimeZone, endpoint versions,
renaming, archiving and reactivating."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jupyter_amlpipe import Datastore, PipelineEndpoint, PublishedPipeline, Schedule, ScheduleRecurrence
from jupyter_amlpipe.errors import DefinitionError, LookupFailed, PipelineDisabledError, PublishingError
from jupyter_amlpipe.publish import PublishService, SchedulerLoop
from jupyter_amlpipe.publish.time_zones import WINDOWS_ZONES


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def _typo(text: str) -> str:
    """``text`` with its last character changed: a near miss that "did you mean" must catch."""
    return text[:-1] + ("0" if text[-1] != "0" else "1")


# -- PublishedPipeline ---------------------------------------------------------------------------------
def test_published_pipeline_get_all_is_list(workspace: Any, pipeline: Any) -> None:
    first = pipeline.publish(name="greet", version="1")
    second = pipeline.publish(name="greet", version="2")
    second.disable()
    assert PublishedPipeline.get_all(workspace) == [first]
    assert PublishedPipeline.get_all(workspace, active_only=False) == [first, second]
    assert PublishedPipeline.get_all(workspace, False) == PublishedPipeline.list(workspace, active_only=False)
    assert [p.version for p in PublishedPipeline.get_all(workspace, active_only=False)] == ["1", "2"]
    with pytest.raises(LookupFailed, match=f"Did you mean '{first.id}'"):
        PublishedPipeline.get(workspace, _typo(first.id))


# -- TimeZone ------------------------------------------------------------------------------------------
def test_time_zone_enum_has_v1_members_importable_where_schedule_is() -> None:
    from jupyter_amlpipe import TimeZone as top
    from jupyter_amlpipe.pipeline import TimeZone
    from jupyter_amlpipe.publish.schedules import TimeZone as beside_schedule

    assert TimeZone is top is beside_schedule
    assert TimeZone.UTC.value == "UTC"
    assert TimeZone.PacificStandardTime.value == "Pacific Standard Time"
    assert TimeZone.WEuropeStandardTime.value == "W. Europe Standard Time"
    assert TimeZone.UTC11.value == "UTC-11" and TimeZone.UTC12.value == "UTC+12"
    assert TimeZone.PacificStandardTimeMexico.value == "Pacific Standard Time (Mexico)"
    assert TimeZone.AusCentralWStandardTime.value == "Aus Central W. Standard Time"
    assert TimeZone["EEuropeStandardTime"] is TimeZone("E. Europe Standard Time")
    assert str(TimeZone.RomanceStandardTime) == "Romance Standard Time"
    assert len(TimeZone) == len(WINDOWS_ZONES) == 131  # v1's enum has 131 members
    for member in TimeZone:  # every member sets a real zone
        rec = ScheduleRecurrence("Day", 1, hours=[9], time_zone=member)
        assert str(rec._tz()) == (WINDOWS_ZONES[member.value] if member.value != "UTC" else "UTC"), member


def test_recurrence_with_a_time_zone_member_fires_at_that_local_time(workspace: Any, pipeline: Any) -> None:
    from jupyter_amlpipe.pipeline import TimeZone

    rec = ScheduleRecurrence(
        "Day", 1, start_time="2026-01-01T00:00", hours=[9], minutes=[30], time_zone=TimeZone.PacificStandardTime
    )
    assert rec.time_zone == "Pacific Standard Time"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    winter = rec.next_after(start, start)
    assert _iso(winter) == "2026-01-01T17:30:00Z"  # 09:30 PST is 17:30 UTC
    july = datetime(2026, 7, 1, tzinfo=timezone.utc).timestamp()
    assert _iso(rec.next_after(july, start)) == "2026-07-01T16:30:00Z"  # 09:30 PDT

    published = pipeline.publish(name="greet")
    schedule = Schedule.create(workspace, "pacific", published.id, "tz-exp", recurrence=rec)
    stored = Schedule.get(workspace, schedule.id).recurrence
    assert stored is not None and stored.time_zone == "Pacific Standard Time" and stored.hours == [9]


# -- Schedule lookups -------------------------------------------------------------------------------------
def test_schedule_lists_and_lookups(workspace: Any, pipeline: Any) -> None:
    first = pipeline.publish(name="greet", version="1")
    unscheduled = pipeline.publish(name="greet", version="2")
    endpoint = PipelineEndpoint.publish(workspace, "greeter", None, first)
    hourly = ScheduleRecurrence("Hour", 1)
    s1 = Schedule.create(workspace, "s1", first.id, "e", recurrence=hourly)
    s2 = Schedule.create(workspace, "s2", first.id, "e", recurrence=hourly)
    s3 = Schedule.create_for_pipeline_endpoint(workspace, "s3", endpoint.id, "e", recurrence=hourly)
    s2.disable()

    assert Schedule.list(workspace) == [s1, s3]
    assert Schedule.get_all(workspace) == [s1, s3]
    assert Schedule.get_all(workspace, active_only=False) == [s1, s2, s3]
    # with a pipeline or endpoint id, every schedule of it, disabled ones too (as in v1)
    assert Schedule.get_schedules_for_pipeline_id(workspace, first.id) == [s1, s2]
    assert Schedule.list(workspace, pipeline_id=first.id) == [s1, s2]
    assert Schedule.get_all(workspace, pipeline_id=first.id) == [s1, s2]
    assert [s.status for s in Schedule.get_schedules_for_pipeline_id(workspace, first.id)] == ["Active", "Disabled"]
    assert Schedule.get_schedules_for_pipeline_endpoint_id(workspace, endpoint.id) == [s3]
    assert Schedule.get_schedules_for_pipeline_endpoint_id(workspace, "greeter") == [s3]
    assert Schedule.list(workspace, pipeline_endpoint_id=endpoint.id) == [s3]
    assert Schedule.get_schedules_for_pipeline_id(workspace, unscheduled.id) == []
    assert s3.pipeline_endpoint_id == endpoint.id and s3.pipeline_id is None

    with pytest.raises(LookupFailed, match=f"Did you mean '{first.id}'"):
        Schedule.get_schedules_for_pipeline_id(workspace, _typo(first.id))
    with pytest.raises(LookupFailed, match="Did you mean 'greeter'"):
        Schedule.get_schedules_for_pipeline_endpoint_id(workspace, "greeterr")
    with pytest.raises(LookupFailed, match=f"Did you mean '{s1.id}'"):
        Schedule.get(workspace, _typo(s1.id))


# -- Schedule.update ---------------------------------------------------------------------------------------
def test_update_applies_a_new_recurrence_name_and_parameters(workspace: Any, pipeline: Any, stdout_of: Any) -> None:
    published = pipeline.publish(name="greet")
    loop = SchedulerLoop(workspace)
    schedule = Schedule.create(
        workspace, "every-minute", published.id, "upd-exp", recurrence=ScheduleRecurrence("Minute", 1)
    )
    created = schedule._rec["doc"]["anchor"]
    assert len(loop.tick(now=created + 0.5)) == 1  # a new schedule fires at once, as in v1

    schedule.update(
        name="every-two-hours",
        description="slower",
        recurrence=ScheduleRecurrence("Hour", 2),
        pipeline_parameters={"greeting": "slow"},
        wait_for_provisioning=True,
    )
    updated = schedule._rec["doc"]["anchor"]
    assert updated >= created
    fresh = Schedule.get(workspace, schedule.id)
    assert (fresh.name, fresh.description, fresh.status) == ("every-two-hours", "slower", "Active")
    assert fresh.recurrence is not None and (fresh.recurrence.frequency, fresh.recurrence.interval) == ("Hour", 2)
    assert fresh.pipeline_parameters == {"greeting": "slow"}

    assert loop.tick(now=updated + 61) == []  # the old recurrence would have fired here
    assert loop.tick(now=updated + 3600) == []
    fired = loop.tick(now=updated + 7201)
    assert len(fired) == 1
    run = schedule.get_last_pipeline_run()
    assert run.id == fired[0]
    assert run.properties["amlpipe.schedule_fire_time"] == _iso(updated + 7200)
    assert run.properties["amlpipe.schedule"] == "every-two-hours"
    first, latest = reversed(schedule.get_pipeline_runs())
    assert latest.id == run.id
    assert PublishService(workspace).start_queued(2) == [first.id, latest.id]
    assert "GREETING=hello" in stdout_of(first)  # fired before the update: the published default
    assert "GREETING=slow" in stdout_of(latest)  # after it: the updated parameters


def test_update_to_a_daily_time_in_a_windows_time_zone(workspace: Any, pipeline: Any) -> None:
    from jupyter_amlpipe.pipeline import TimeZone

    published = pipeline.publish(name="greet")
    loop = SchedulerLoop(workspace)
    schedule = Schedule.create(workspace, "s", published.id, "e", recurrence=ScheduleRecurrence("Hour", 1))
    schedule.update(
        recurrence=ScheduleRecurrence("Day", 1, hours=[9], minutes=[0], time_zone=TimeZone.WEuropeStandardTime)
    )
    updated = schedule._rec["doc"]["anchor"]
    berlin = datetime.fromtimestamp(updated, ZoneInfo("Europe/Berlin"))
    nine = berlin.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine.timestamp() <= updated:
        nine = (berlin + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    expected = nine.timestamp()
    assert loop.tick(now=expected - 1) == []
    fired = loop.tick(now=expected + 1)
    assert len(fired) == 1
    run = schedule.get_last_pipeline_run()
    assert run.properties["amlpipe.schedule_fire_time"] == _iso(expected)
    assert loop.tick(now=expected + 3600) == []  # daily now, not hourly


def test_update_status_and_refusals(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    loop = SchedulerLoop(workspace)
    schedule = Schedule.create(workspace, "tick", published.id, "e", recurrence=ScheduleRecurrence("Second", 1))
    created = schedule._rec["doc"]["anchor"]
    schedule.update(status="Disabled")
    assert schedule.status == "Disabled" and Schedule.list(workspace) == []
    assert loop.tick(now=created + 5) == []
    schedule.update(status="Active", continue_on_step_failure=True)
    assert schedule.status == "Active" and schedule.continue_on_step_failure is True

    with pytest.raises(DefinitionError, match="Did you mean 'Disabled'"):
        schedule.update(status="Disable")
    with pytest.raises(DefinitionError, match="Did you mean 'greeting'"):
        schedule.update(name="renamed", pipeline_parameters={"greting": "x"})
    with pytest.raises(DefinitionError, match="is time-based: datastore, path_on_datastore"):
        schedule.update(datastore=Datastore.get_default(workspace), path_on_datastore="incoming")
    with pytest.raises(DefinitionError, match="not valid"):
        schedule.update(name="bad/name")
    with pytest.raises(DefinitionError, match="polling_interval"):
        schedule.update(polling_interval=1)
    fresh = Schedule.get(workspace, schedule.id)  # a refused update changed nothing
    assert fresh.name == "tick" and fresh.pipeline_parameters == {} and fresh.status == "Active"


def test_update_a_data_change_schedule(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    store = Datastore.get_default(workspace)
    for folder in ("incoming", "other"):
        store.local_path(folder).mkdir(parents=True)
        (store.local_path(folder) / "a.csv").write_text("1\n")
    loop = SchedulerLoop(workspace)
    schedule = Schedule.create(
        workspace, "on-data", published.id, "data-exp", datastore=store, path_on_datastore="incoming",
        polling_interval=0.001,
    )  # fmt: skip
    with pytest.raises(DefinitionError, match="fires when data changes: it takes no recurrence"):
        schedule.update(recurrence=ScheduleRecurrence("Hour", 1))

    schedule.update(path_on_datastore="other", polling_interval=0.002)
    assert schedule.path_on_datastore == "other" and schedule.polling_interval == 0.002
    now = datetime.now(timezone.utc).timestamp()
    assert loop.tick(now=now) == []  # the new path is watched from now on: nothing changed yet
    (store.local_path("incoming") / "b.csv").write_text("2\n")
    assert loop.tick(now=now + 1) == []  # the old path is no longer watched
    (store.local_path("other") / "b.csv").write_text("2\n")
    fired = loop.tick(now=now + 2)
    assert len(fired) == 1
    assert "other" in schedule.get_last_pipeline_run().properties["amlpipe.schedule_trigger"]
    schedule.update(data_path_parameter_name="input_data")
    assert Schedule.get(workspace, schedule.id).data_path_parameter_name == "input_data"


# -- PipelineEndpoint ---------------------------------------------------------------------------------------
def test_endpoint_versions_are_v1_objects_and_mappings(workspace: Any, pipeline: Any) -> None:
    from jupyter_amlpipe.pipeline import PipelineIdVersion, PipelineVersion

    v0 = pipeline.publish(name="greet", version="a")
    v1 = pipeline.publish(name="greet", version="b")
    outsider = pipeline.publish(name="other")
    endpoint = PipelineEndpoint.publish(workspace, "greeter", "greets", v0)
    endpoint.add(v1)

    versions = endpoint.list_versions()
    assert all(isinstance(v, PipelineVersion) and isinstance(v, PipelineIdVersion) for v in versions)
    assert [(v.version, v.pipeline_id) for v in versions] == [("0", v0.id), ("1", v1.id)]
    assert [v.pipeline for v in versions] == [v0, v1]
    assert versions[1].pipeline.version == "b"
    assert versions[0]["pipeline_id"] == v0.id and versions[0]["version"] == "0"  # the older dict access
    assert versions[0] == {"version": "0", "pipeline_id": v0.id} and dict(versions[1]) == {
        "version": "1",
        "pipeline_id": v1.id,
    }
    assert [(v.version, v.pipeline_id) for v in endpoint.get_all_versions()] == [("0", v0.id), ("1", v1.id)]
    assert [v.pipeline_id for v in endpoint.pipeline_version_list] == [v0.id, v1.id]

    assert endpoint.get_all_pipelines() == [v0, v1]
    v1.disable()
    assert endpoint.get_all_pipelines() == [v0]
    assert endpoint.get_all_pipelines(active_only=False) == endpoint.list_pipelines(active_only=False) == [v0, v1]
    v1.enable()

    endpoint.set_default(v1)
    assert endpoint.default_version == "1" and endpoint.get_pipeline().id == v1.id
    endpoint.set_default(v0)
    assert PipelineEndpoint.get(workspace, name="greeter").get_default_version() == "0"
    with pytest.raises(LookupFailed, match=r"is not a version of pipeline endpoint 'greeter'.*add_default"):
        endpoint.set_default(outsider)
    with pytest.raises(LookupFailed, match=f"Did you mean '{v1.id}'"):
        endpoint.set_default(_typo(v1.id))
    assert endpoint.get_default_version() == "0"


def test_endpoint_get_all_rename_archive_reactivate(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    endpoint = PipelineEndpoint.publish(workspace, "greeter", None, published)
    other = PipelineEndpoint.publish(workspace, "other", None, published)
    url = endpoint.endpoint
    assert PipelineEndpoint.get_all(workspace) == [endpoint, other] == PipelineEndpoint.list(workspace)

    endpoint.set_name("renamed")
    assert endpoint.name == "renamed" and endpoint.endpoint == url
    assert PipelineEndpoint.get(workspace, name="renamed").id == endpoint.id
    with pytest.raises(LookupFailed, match="No pipeline endpoint 'greeter'"):
        PipelineEndpoint.get(workspace, name="greeter")
    with pytest.raises(PublishingError, match="named 'other' already exists"):
        endpoint.set_name("other")

    endpoint.disable()
    assert PipelineEndpoint.get_all(workspace) == [other]
    endpoint.enable()
    endpoint.archive()
    assert endpoint.status == "Archived"
    assert PipelineEndpoint.get_all(workspace) == [other]
    assert PipelineEndpoint.get_all(workspace, active_only=False) == [endpoint, other]
    with pytest.raises(PipelineDisabledError, match="archived"):
        endpoint.submit("x")

    assert PipelineEndpoint.get(workspace, name="renamed") == endpoint  # archived, it keeps its name until taken
    successor = PipelineEndpoint.publish(workspace, "renamed", "takes the archived one's name", published)
    assert PipelineEndpoint.get(workspace, name="renamed") == successor
    assert PipelineEndpoint.get(workspace, id=endpoint.id).name == f"renamed (archived {endpoint.id})"
    with pytest.raises(PublishingError, match="named 'renamed' already exists"):
        endpoint.reactivate("renamed")
    back = endpoint.reactivate("renamed-old")
    assert back is endpoint and (endpoint.name, endpoint.status) == ("renamed-old", "Active")
    assert PipelineEndpoint.get(workspace, name="renamed-old").get_pipeline() == published
    assert [e.name for e in PipelineEndpoint.get_all(workspace)] == ["renamed-old", "other", "renamed"]
    other.archive()
    assert other.reactivate("other").status == "Active"  # an archived endpoint keeps its name until another takes it
