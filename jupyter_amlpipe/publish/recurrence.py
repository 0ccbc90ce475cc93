"""``ScheduleRecurrence`` and when it fires.

v1's frequencies are Minute, Hour, Day, Week and Month; ``"Second"`` is an
extension (handy in tests and demos). ``hours``/``minutes`` pick times of day
for Day and Week (``minutes`` also the minutes of an Hour recurrence),
``week_days`` the days of a Week recurrence. Times are local to ``time_zone``
(IANA or v1's Windows names, :mod:`.time_zones`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, did_you_mean
from jupyter_amlpipe.publish.time_zones import resolve_time_zone

FREQUENCIES = ("Second", "Minute", "Hour", "Day", "Week", "Month")
WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SECONDS = {"Second": 1, "Minute": 60, "Hour": 3600}


def _check_applies(frequency: str, hours: Any, minutes: Any, week_days: Any) -> None:
    """v1's rules: hours for Day and Week, minutes for Hour, Day and Week, week_days for Week."""
    for what, value, allowed in (
        ("hours", hours, ("Day", "Week")),
        ("minutes", minutes, ("Hour", "Day", "Week")),
        ("week_days", week_days, ("Week",)),
    ):
        if value and frequency not in allowed:
            raise DefinitionError(
                f"ScheduleRecurrence {what}={value!r} applies to frequency {' or '.join(map(repr, allowed))}, "
                f"not {frequency!r}: drop {what} or change the frequency."
            )


class ScheduleRecurrence:
    """How often a time-based schedule fires (v1 arguments)."""

    def __init__(
        self,
        frequency: str,
        interval: int,
        start_time: datetime | str | None = None,
        time_zone: str | None = None,
        hours: list[int] | None = None,
        minutes: list[int] | None = None,
        week_days: list[str] | None = None,
        time_of_day: str | None = None,
    ) -> None:
        if frequency not in FREQUENCIES:
            raise DefinitionError(
                f"ScheduleRecurrence frequency {frequency!r} is not one of {', '.join(FREQUENCIES)}."
                f"{did_you_mean(str(frequency), FREQUENCIES)}"
            )
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise DefinitionError(f"ScheduleRecurrence interval must be a whole number >= 1, got {interval!r}.")
        _check_applies(frequency, hours, minutes, week_days)
        for day in week_days or []:
            if day not in WEEK_DAYS:
                raise DefinitionError(f"week_days: {day!r} is not a week day.{did_you_mean(str(day), WEEK_DAYS)}")
        if time_of_day is not None and not hours and not minutes:
            hh, _, mm = str(time_of_day).partition(":")
            hours, minutes = [int(hh)], [int(mm or 0)]
        for h in hours or []:
            if not 0 <= int(h) <= 23:
                raise DefinitionError(f"hours: {h!r} is not an hour (0-23).")
        for m in minutes or []:
            if not 0 <= int(m) <= 59:
                raise DefinitionError(f"minutes: {m!r} is not a minute (0-59).")
        self.frequency = frequency
        self.interval = interval
        self.start_time = datetime.fromisoformat(start_time) if isinstance(start_time, str) else start_time
        time_zone = getattr(time_zone, "value", time_zone)  # a v1-style TimeZone enum member
        self.time_zone = str(time_zone) if time_zone else None
        self.hours = [int(h) for h in hours or []]
        self.minutes = [int(m) for m in minutes or []]
        self.week_days = list(week_days or [])
        self._tz()  # fail early on an unknown time zone

    def _tz(self) -> tzinfo:
        return resolve_time_zone(self.time_zone)

    def to_json(self) -> dict[str, Any]:
        return {
            "frequency": self.frequency,
            "interval": self.interval,
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "time_zone": self.time_zone,
            "hours": self.hours,
            "minutes": self.minutes,
            "week_days": self.week_days,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ScheduleRecurrence:
        return cls(**doc)

    def _base(self, anchor: float) -> datetime:
        tz = self._tz()
        if self.start_time is None:
            return datetime.fromtimestamp(anchor, tz)
        start = self.start_time
        return start.astimezone(tz) if start.tzinfo else start.replace(tzinfo=tz)

    def next_after(self, t: float, anchor: float) -> float:
        """The first fire time after ``t`` (Unix time); ``anchor`` stands for a missing start_time."""
        base = self._base(anchor)
        if self.frequency == "Hour" and self.minutes:
            return self._next_hourly(t, base)
        if self.frequency in _SECONDS:
            period = _SECONDS[self.frequency] * self.interval
            b = anchor if self.start_time is None else base.timestamp()
            if t < b:
                return b
            k = int((t - b) // period) + 1
            while b + k * period <= t:  # float rounding must never give a time already fired
                k += 1
            return b + k * period
        tz = self._tz()
        day = datetime.fromtimestamp(max(t, base.timestamp()), tz).date() - timedelta(days=1)
        hours = self.hours or [base.hour]
        minutes = self.minutes or [base.minute]
        for _ in range(400 * self.interval + 2):
            day += timedelta(days=1)
            if not self._day_matches(day, base):
                continue
            for h in sorted(hours):
                for m in sorted(minutes):
                    moment = datetime(day.year, day.month, day.day, h, m, tzinfo=tz).timestamp()
                    if moment > t and moment >= base.timestamp():
                        return moment
        raise DefinitionError("This recurrence never fires.")

    def _next_hourly(self, t: float, base: datetime) -> float:
        """Hour frequency with ``minutes``: those minutes of every ``interval``-th hour from the start."""
        period = 3600 * self.interval
        first_hour = base.replace(minute=0, second=0, microsecond=0).timestamp()
        k = max(0, int((t - first_hour) // period) - 1)
        while True:
            hour = first_hour + k * period
            for m in sorted(self.minutes):
                moment = hour + 60 * m
                if moment > t and moment >= base.timestamp():
                    return moment
            k += 1

    def _day_matches(self, day: Any, base: datetime) -> bool:
        delta = (day - base.date()).days
        if delta < 0:
            return False
        if self.frequency == "Day":
            return bool(delta % self.interval == 0)
        if self.frequency == "Week":
            days = self.week_days or [WEEK_DAYS[base.weekday()]]
            week = (delta + base.weekday()) // 7
            return bool(WEEK_DAYS[day.weekday()] in days and week % self.interval == 0)
        months = (day.year - base.year) * 12 + day.month - base.month
        return bool(day.day == base.day and months % self.interval == 0)

    def fire_times(self, after: float, until: float, anchor: float, limit: int = 10000) -> list[float]:
        """Fire times in ``(after, until]`` (at most ``limit``, the latest kept)."""
        out: list[float] = []
        if self.frequency in _SECONDS and not self.minutes:  # evenly spaced: no need to step through an outage
            period = _SECONDS[self.frequency] * self.interval
            first = self.next_after(after, anchor)
            if first > until:
                return out
            count = int((until - first) // period) + 1
            while first + count * period <= until:
                count += 1
            start = max(0, count - limit)
            return [first + k * period for k in range(start, count)]
        t = after
        while True:
            t = self.next_after(t, anchor)
            if t > until:
                return out
            out.append(t)
            if len(out) > limit:
                out = out[-limit:]

    def __repr__(self) -> str:
        return f"ScheduleRecurrence(frequency={self.frequency!r}, interval={self.interval})"
