"""When a ScheduleRecurrence fires: v1's frequencies, hours/minutes, week days, intervals, start times, time zones."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest

from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.publish import Schedule, ScheduleRecurrence
from jupyter_amlpipe.publish.time_zones import WINDOWS_ZONES, resolve_time_zone


def utc(text: str) -> float:
    """A Unix time from 'YYYY-MM-DDTHH:MM' in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M")


def fires(rec: ScheduleRecurrence, after: str, count: int, anchor: float = 0.0) -> list[str]:
    """The next ``count`` fire times after ``after`` (UTC, minutes)."""
    out, t = [], utc(after)
    for _ in range(count):
        t = rec.next_after(t, anchor)
        out.append(iso(t))
    return out


def test_day_with_hours_and_minutes_fires_at_each_time_of_day() -> None:
    rec = ScheduleRecurrence("Day", 1, start_time="2026-01-01T00:00", hours=[17, 9], minutes=[30, 0])
    assert fires(rec, "2026-03-02T09:10", 5) == [
        "2026-03-02T09:30",
        "2026-03-02T17:00",
        "2026-03-02T17:30",
        "2026-03-03T09:00",
        "2026-03-03T09:30",
    ]
    window = rec.fire_times(utc("2026-03-02T09:10"), utc("2026-03-03T09:10"), 0.0)
    assert [iso(t) for t in window] == ["2026-03-02T09:30", "2026-03-02T17:00", "2026-03-02T17:30", "2026-03-03T09:00"]


def test_day_with_interval_two_fires_every_other_day_from_the_start() -> None:
    rec = ScheduleRecurrence("Day", 2, start_time="2026-01-01T08:00")
    assert fires(rec, "2026-01-02T12:00", 3) == ["2026-01-03T08:00", "2026-01-05T08:00", "2026-01-07T08:00"]


def test_week_with_week_days_and_hours() -> None:
    rec = ScheduleRecurrence("Week", 1, start_time="2026-01-01T00:00", week_days=["Monday", "Friday"], hours=[6])
    # 2026-03-02 is a Monday
    assert fires(rec, "2026-03-02T07:00", 3) == ["2026-03-06T06:00", "2026-03-09T06:00", "2026-03-13T06:00"]


def test_week_with_interval_two_skips_every_other_week() -> None:
    rec = ScheduleRecurrence("Week", 2, start_time="2026-01-05T07:00", week_days=["Monday"])
    assert fires(rec, "2026-01-01T00:00", 3) == ["2026-01-05T07:00", "2026-01-19T07:00", "2026-02-02T07:00"]


def test_month_with_interval_three_fires_on_the_start_day() -> None:
    rec = ScheduleRecurrence("Month", 3, start_time="2026-01-15T10:30")
    assert fires(rec, "2026-01-01T00:00", 3) == ["2026-01-15T10:30", "2026-04-15T10:30", "2026-07-15T10:30"]


def test_hour_with_interval_and_with_minutes() -> None:
    every_three = ScheduleRecurrence("Hour", 3, start_time="2026-01-01T01:00")
    assert fires(every_three, "2026-01-01T05:00", 2) == ["2026-01-01T07:00", "2026-01-01T10:00"]
    at_minutes = ScheduleRecurrence("Hour", 2, start_time="2026-01-01T10:00", minutes=[45, 15])
    assert fires(at_minutes, "2026-01-01T00:00", 4) == [
        "2026-01-01T10:15",
        "2026-01-01T10:45",
        "2026-01-01T12:15",
        "2026-01-01T12:45",
    ]
    window = at_minutes.fire_times(utc("2026-01-01T10:20"), utc("2026-01-01T12:20"), 0.0)
    assert [iso(t) for t in window] == ["2026-01-01T10:45", "2026-01-01T12:15"]


def test_a_future_start_time_is_the_first_fire_and_a_past_one_keeps_the_cadence() -> None:
    future = ScheduleRecurrence("Minute", 5, start_time="2030-06-01T12:00")
    assert fires(future, "2026-01-01T00:00", 2) == ["2030-06-01T12:00", "2030-06-01T12:05"]
    past = ScheduleRecurrence("Minute", 15, start_time="2026-01-01T00:07")
    assert fires(past, "2026-02-10T10:00", 2) == ["2026-02-10T10:07", "2026-02-10T10:22"]
    no_start = ScheduleRecurrence("Minute", 10)  # counts from the anchor (the schedule's creation)
    assert fires(no_start, "2026-01-01T00:00", 2, anchor=utc("2026-01-01T00:03")) == [
        "2026-01-01T00:03",
        "2026-01-01T00:13",
    ]


@pytest.mark.parametrize(
    ("time_zone", "winter", "summer"),
    [
        ("W. Europe Standard Time", "08:00", "07:00"),
        ("WEuropeStandardTime", "08:00", "07:00"),
        ("Romance Standard Time", "08:00", "07:00"),
        ("Pacific Standard Time", "17:00", "16:00"),
        ("PacificStandardTime", "17:00", "16:00"),
        ("Eastern Standard Time", "14:00", "13:00"),
        ("Tokyo Standard Time", "00:00", "00:00"),
        ("UTCTimeZone", "09:00", "09:00"),
        ("UTC", "09:00", "09:00"),
        ("Europe/Paris", "08:00", "07:00"),
        ("America/New_York", "14:00", "13:00"),
    ],
)
def test_time_zones_windows_and_iana_set_the_local_time_of_day(time_zone: str, winter: str, summer: str) -> None:
    rec = ScheduleRecurrence("Day", 1, start_time="2026-01-01T00:00", hours=[9], time_zone=time_zone)
    (jan,) = fires(rec, "2026-01-10T00:00", 1)
    (jul,) = fires(rec, "2026-07-10T00:00", 1)
    assert jan.endswith(winter) and jul.endswith(summer), (jan, jul)


def test_daylight_saving_change_keeps_the_local_hour() -> None:
    rec = ScheduleRecurrence("Day", 1, hours=[9], start_time="2026-01-01T00:00", time_zone="W. Europe Standard Time")
    # Europe/Berlin moves to summer time on 2026-03-29
    assert fires(rec, "2026-03-28T00:00", 2) == ["2026-03-28T08:00", "2026-03-29T07:00"]


def test_every_windows_zone_resolves() -> None:
    for windows, iana in WINDOWS_ZONES.items():
        assert resolve_time_zone(windows) is not None, (windows, iana)


@pytest.mark.parametrize(
    ("time_zone", "suggested"),
    [
        ("Pacific Standrd Time", "'Pacific Standard Time'"),
        ("Europe/Pariss", "'Europe/Paris'"),
        ("Paris", "'Europe/Paris'"),
    ],
)
def test_an_unknown_time_zone_is_refused_with_did_you_mean(time_zone: str, suggested: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        ScheduleRecurrence("Day", 1, time_zone=time_zone)
    assert f"time_zone {time_zone!r} is not known" in caught.value.message
    assert "Did you mean" in caught.value.message and suggested in caught.value.message


def test_fields_that_do_not_apply_to_the_frequency_are_refused() -> None:
    with pytest.raises(DefinitionError, match=r"week_days=.*applies to frequency 'Week'"):
        ScheduleRecurrence("Day", 1, week_days=["Monday"])
    with pytest.raises(DefinitionError, match=r"hours=.*applies to frequency 'Day' or 'Week'"):
        ScheduleRecurrence("Hour", 1, hours=[3])
    with pytest.raises(DefinitionError, match=r"'Mondy' is not a week day\. Did you mean 'Monday'"):
        ScheduleRecurrence("Week", 1, week_days=["Mondy"])


def test_a_schedule_keeps_its_recurrence_with_a_windows_zone(workspace: Any, pipeline: Any) -> None:
    published = pipeline.publish(name="greet")
    rec = ScheduleRecurrence(
        "Week", 1, hours=[6], minutes=[30], week_days=["Friday"], time_zone="Eastern Standard Time"
    )
    schedule = Schedule.create(workspace, "weekly", published.id, "sched-exp", recurrence=rec)
    again = Schedule.get(workspace, schedule.id).recurrence
    assert again is not None and again.time_zone == "Eastern Standard Time"
    nxt = again.next_after(time.time(), time.time())
    local = datetime.fromtimestamp(nxt, resolve_time_zone("America/New_York"))
    assert (local.strftime("%A"), local.hour, local.minute) == ("Friday", 6, 30)
