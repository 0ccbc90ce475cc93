"""``amlpipe schedule ...``: start a published pipeline on a recurrence or when data changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from jupyter_amlpipe.cli import loader
from jupyter_amlpipe.cli.publish_cmds import _find, _published, _when
from jupyter_amlpipe.cli.session import Session, pass_session
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.publish import Schedule, ScheduleRecurrence
from jupyter_amlpipe.publish.recurrence import FREQUENCIES


# -- schedule ------------------------------------------------------------------------------------
@click.group("schedule")
def schedule_group() -> None:
    """Schedules: start a published pipeline on a recurrence or when data changes (they fire in amlpipe serve)."""


@schedule_group.command("create")
@click.argument("name")
@click.option("--pipeline", "pipeline_id", default=None, help="Published pipeline id (or name).")
@click.option("--endpoint", "endpoint", default=None, help="Pipeline endpoint name or id (its default version).")
@click.option("--experiment", "-e", required=True, help="Experiment the runs go to.")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default=None, help="Time-based: how often.")
@click.option("--interval", type=int, default=1, show_default=True)
@click.option("--start-time", default=None, metavar="ISO", help="Time-based: first fire, e.g. 2026-07-01T02:30.")
@click.option(
    "--time-zone", default=None, help="Time-based: IANA or Windows name (Europe/Paris, Pacific Standard Time)."
)
@click.option("--hours", default=None, metavar="H,H", help="Day/Week: hours of the day, e.g. 2,14.")
@click.option("--minutes", default=None, metavar="M,M", help="Hour/Day/Week: minutes of the hour, e.g. 0,30.")
@click.option("--week-days", default=None, metavar="DAY,DAY", help="Week: days, e.g. Monday,Friday.")
@click.option("--datastore", default=None, help="Data-change: the datastore to watch.")
@click.option("--path", "path_on_datastore", default="", help="Data-change: the path on the datastore.")
@click.option("--polling-interval", type=float, default=5, show_default=True, help="Minutes between data checks.")
@click.option("--param", "-p", "params", multiple=True, metavar="K=V", help="Pipeline parameter (repeatable).")
@pass_session
def schedule_create(
    session: Session,
    name: str,
    pipeline_id: str | None,
    endpoint: str | None,
    experiment: str,
    frequency: str | None,
    interval: int,
    start_time: str | None,
    time_zone: str | None,
    hours: str | None,
    minutes: str | None,
    week_days: str | None,
    datastore: str | None,
    path_on_datastore: str,
    polling_interval: float,
    params: tuple[str, ...],
) -> None:
    """Create schedule NAME (give --frequency for time-based, --datastore/--path for data-change).

    \b
    Example:
      amlpipe schedule create nightly --pipeline 3f2c --experiment nightly --frequency Day
      amlpipe schedule create weekly --pipeline 3f2c -e weekly --frequency Week --week-days Monday,Thursday \\
          --hours 6 --minutes 30 --time-zone "W. Europe Standard Time"
      amlpipe schedule create on-new-data --endpoint train -e train --datastore workspaceblobstore --path incoming
    """
    if (pipeline_id is None) == (endpoint is None):
        raise DefinitionError("Give exactly one of --pipeline and --endpoint.")
    ws = session.workspace()
    recurrence = _recurrence(frequency, interval, start_time, time_zone, hours, minutes, week_days)
    values = dict(loader.parse_param(p) for p in params)
    kwargs: dict[str, Any] = {
        "recurrence": recurrence,
        "pipeline_parameters": values,
        "datastore": datastore,
        "path_on_datastore": path_on_datastore,
        "polling_interval": polling_interval,
    }
    if endpoint is not None:
        s = Schedule.create_for_pipeline_endpoint(ws, name, endpoint, experiment, **kwargs)
    else:
        s = Schedule.create(ws, name, _published(session, str(pipeline_id)).id, experiment, **kwargs)
    click.echo(f"Created schedule {s.name!r} ({s.id}). It fires while `amlpipe serve` runs.")


def _numbers(option: str, text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise DefinitionError(f"{option} takes whole numbers separated by commas, e.g. 0,30; got {text!r}.") from None


def _recurrence(
    frequency: str | None,
    interval: int,
    start_time: str | None,
    time_zone: str | None,
    hours: str | None,
    minutes: str | None,
    week_days: str | None,
) -> ScheduleRecurrence | None:
    if frequency is None:
        given = [o for o, v in (("--start-time", start_time), ("--time-zone", time_zone), ("--hours", hours),
                                ("--minutes", minutes), ("--week-days", week_days)) if v]  # fmt: skip
        if given:
            raise DefinitionError(f"{', '.join(given)} need --frequency (a time-based schedule).")
        return None
    if start_time:
        try:
            datetime.fromisoformat(start_time)
        except ValueError:
            raise DefinitionError(f"--start-time {start_time!r} is not an ISO time such as 2026-07-01T02:30.") from None
    days = [d.strip() for d in week_days.split(",") if d.strip()] if week_days else None
    return ScheduleRecurrence(
        frequency, interval, start_time, time_zone, _numbers("--hours", hours), _numbers("--minutes", minutes), days
    )


@schedule_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include disabled schedules.")
@pass_session
def schedule_list(session: Session, show_all: bool) -> None:
    """List schedules."""
    found = Schedule.list(session.workspace(), active_only=not show_all)
    if not found:
        click.echo("No schedules.")
        return
    click.echo(f"{'ID':<36}  {'STATUS':<8}  {'TRIGGER':<24}  {'LAST FIRED':<19}  NAME")
    for s in found:
        rec = s.recurrence
        trigger = f"every {rec.interval} {rec.frequency}" if rec else f"data {s.datastore_name}:{s.path_on_datastore}"
        click.echo(f"{s.id:<36}  {s.status:<8}  {trigger[:24]:<24}  {_when(s._rec.get('last_fired')):<19}  {s.name}")


def _schedule(session: Session, key: str) -> Schedule:
    found: Schedule = _find(Schedule, session, key, "schedules")
    return found


@schedule_group.command("enable")
@click.argument("schedule_id")
@pass_session
def schedule_enable(session: Session, schedule_id: str) -> None:
    """Enable a schedule (id, prefix or name)."""
    s = _schedule(session, schedule_id)
    s.enable()
    click.echo(f"Schedule {s.name!r} is {s.status}.")


@schedule_group.command("disable")
@click.argument("schedule_id")
@pass_session
def schedule_disable(session: Session, schedule_id: str) -> None:
    """Disable a schedule (id, prefix or name)."""
    s = _schedule(session, schedule_id)
    s.disable()
    click.echo(f"Schedule {s.name!r} is {s.status}.")


@schedule_group.command("runs")
@click.argument("schedule_id")
@pass_session
def schedule_runs(session: Session, schedule_id: str) -> None:
    """List the runs a schedule started, newest first."""
    s = _schedule(session, schedule_id)
    runs = s.get_pipeline_runs()
    if not runs:
        click.echo(f"Schedule {s.name!r} has not started a run yet.")
    for run in runs:
        click.echo(f"{run.id}  {run.get_status()}")


def register(group: click.Group) -> None:
    """Add the ``schedule`` commands to the ``amlpipe`` group."""
    group.add_command(schedule_group)
