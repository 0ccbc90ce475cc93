"""``amlpipe publish``, ``pipelines``, ``enable``/``disable``, ``endpoint``, ``schedule`` and ``token``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import click

from jupyter_amlpipe.cli import loader
from jupyter_amlpipe.cli.session import Session, pass_session
from jupyter_amlpipe.cli.submit import _workspace_for
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.publish import PipelineEndpoint, PublishedPipeline

__all__ = ["register"]


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


# -- publish / pipelines / enable / disable ------------------------------------------------------
@click.command("publish")
@click.argument("spec", metavar="FILE.py[:NAME]")
@click.option("--name", "-n", required=True, help="Name of the published pipeline.")
@click.option("--description", "-d", default=None, help="What it does.")
@click.option("--version", "-v", "version", default=None, help="A version label, e.g. 1.0.")
@click.option("--continue-on-step-failure", is_flag=True, help="Let independent steps go on when one fails.")
@click.option("--endpoint", default=None, help="Also add it as the default version of this pipeline endpoint.")
@pass_session
def publish(
    session: Session,
    spec: str,
    name: str,
    description: str | None,
    version: str | None,
    continue_on_step_failure: bool,
    endpoint: str | None,
) -> None:
    """Publish the pipeline of FILE.py (frozen: later edits of its code do not change it).

    \b
    Example:
      amlpipe publish pipeline.py --name nightly --version 1
      amlpipe publish pipeline.py:training --name train --endpoint train
    """
    path, var = loader.split_spec(spec)
    _, pipeline = loader.load_pipeline(path, var)
    ws = _workspace_for(session, pipeline, spec)
    published = pipeline.publish(name, description, version, continue_on_step_failure)
    click.echo(f"Published {published.name!r} as {published.id}")
    click.echo(f"  endpoint: {published.endpoint}")
    if endpoint is not None:
        try:
            ep = PipelineEndpoint.get(ws, name=endpoint)
        except LookupError:
            ep = PipelineEndpoint.publish(ws, endpoint, description, published)
            click.echo(f"Created pipeline endpoint {endpoint!r} (version 0).")
        else:
            click.echo(f"Pipeline endpoint {endpoint!r}: default version {ep.add_default(published)}.")


@click.command("pipelines")
@click.option("--all", "show_all", is_flag=True, help="Include disabled pipelines.")
@pass_session
def pipelines(session: Session, show_all: bool) -> None:
    """List published pipelines (active ones unless --all)."""
    found = PublishedPipeline.list(session.workspace(), active_only=not show_all)
    if not found:
        click.echo("No published pipelines." + ("" if show_all else " (--all shows disabled ones)"))
        return
    click.echo(f"{'ID':<36}  {'STATUS':<8}  {'VERSION':<8}  {'STEPS':>5}  NAME")
    for p in found:
        click.echo(f"{p.id:<36}  {p.status:<8}  {p.version or '-':<8}  {p.total_run_steps:>5}  {p.name}")


def _find(cls: Any, session: Session, key: str, what: str) -> Any:
    """The object of ``cls`` (PublishedPipeline, Schedule) that ``key`` names: an id, a unique id prefix or a name."""
    ws = session.workspace()
    matches = [o for o in cls.list(ws, active_only=False) if o.id.startswith(key) or o.name == key]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise DefinitionError(f"{key!r} names {len(matches)} {what}: give more of the id.")
    return cls.get(ws, key)  # raises LookupFailed naming the id


def _published(session: Session, key: str) -> PublishedPipeline:
    found: PublishedPipeline = _find(PublishedPipeline, session, key, "published pipelines")
    return found


@click.command("enable")
@click.argument("pipeline_id")
@pass_session
def enable(session: Session, pipeline_id: str) -> None:
    """Enable a published pipeline (id, unique id prefix or name)."""
    p = _published(session, pipeline_id)
    p.enable()
    click.echo(f"Enabled {p.name!r} ({p.id}).")


@click.command("disable")
@click.argument("pipeline_id")
@pass_session
def disable(session: Session, pipeline_id: str) -> None:
    """Disable a published pipeline: submissions are refused (runs already started go on)."""
    p = _published(session, pipeline_id)
    p.disable()
    click.echo(f"Disabled {p.name!r} ({p.id}).")


# -- endpoint ------------------------------------------------------------------------------------
@click.group("endpoint")
def endpoint_group() -> None:
    """Pipeline endpoints: versions of published pipelines behind one name."""


@endpoint_group.command("create")
@click.argument("name")
@click.argument("pipeline_id")
@click.option("--description", "-d", default=None)
@pass_session
def endpoint_create(session: Session, name: str, pipeline_id: str, description: str | None) -> None:
    """Create endpoint NAME whose version 0 (the default) is PIPELINE_ID."""
    ep = PipelineEndpoint.publish(session.workspace(), name, description, _published(session, pipeline_id))
    click.echo(f"Created pipeline endpoint {ep.name!r} ({ep.id}); default version 0.")


@endpoint_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include disabled and archived endpoints.")
@pass_session
def endpoint_list(session: Session, show_all: bool) -> None:
    """List pipeline endpoints."""
    found = PipelineEndpoint.list(session.workspace(), active_only=not show_all)
    if not found:
        click.echo("No pipeline endpoints.")
        return
    click.echo(f"{'ID':<36}  {'STATUS':<8}  {'DEFAULT':<7}  {'VERSIONS':>8}  NAME")
    for ep in found:
        click.echo(f"{ep.id:<36}  {ep.status:<8}  {ep.default_version:<7}  {len(ep.list_versions()):>8}  {ep.name}")


@endpoint_group.command("show")
@click.argument("name")
@pass_session
def endpoint_show(session: Session, name: str) -> None:
    """Show an endpoint's versions (the default is marked with *)."""
    ep = PipelineEndpoint._by_id_or_name(session.workspace(), name)
    click.echo(f"{ep.name} ({ep.id}) {ep.status}  {ep.endpoint}")
    for v in ep.list_versions():
        mark = "*" if v["version"] == ep.default_version else " "
        click.echo(f" {mark} {v['version']:<4} {v['pipeline_id']}")


@endpoint_group.command("add")
@click.argument("name")
@click.argument("pipeline_id")
@click.option("--default", "make_default", is_flag=True, help="Make the new version the default.")
@pass_session
def endpoint_add(session: Session, name: str, pipeline_id: str, make_default: bool) -> None:
    """Add PIPELINE_ID as a new version of endpoint NAME."""
    ep = PipelineEndpoint._by_id_or_name(session.workspace(), name)
    published = _published(session, pipeline_id)
    version = ep.add_default(published) if make_default else ep.add(published)
    click.echo(f"Added version {version} to {ep.name!r}" + (" (now the default)." if make_default else "."))


@endpoint_group.command("set-default")
@click.argument("name")
@click.argument("version")
@pass_session
def endpoint_set_default(session: Session, name: str, version: str) -> None:
    """Make VERSION the default version of endpoint NAME."""
    ep = PipelineEndpoint._by_id_or_name(session.workspace(), name)
    ep.set_default_version(version)
    click.echo(f"{ep.name!r}: default version {version}.")


def _endpoint_status(verb: str) -> Any:
    @endpoint_group.command(verb)
    @click.argument("name")
    @pass_session
    def command(session: Session, name: str) -> None:
        ep = PipelineEndpoint._by_id_or_name(session.workspace(), name)
        getattr(ep, verb)()
        click.echo(f"{ep.name!r} is {ep.status}.")

    command.__doc__ = f"{verb.capitalize()} endpoint NAME."
    command.help = command.__doc__
    return command


for _verb in ("enable", "disable", "archive"):
    _endpoint_status(_verb)


# -- token ---------------------------------------------------------------------------------------
@click.group("token")
def token_group() -> None:
    """Bearer tokens for the REST server (only their SHA-256 is stored)."""


@token_group.command("create")
@click.option("--name", "-n", default=None, help="A name to revoke it by (default: generated).")
@click.option("--expires", type=float, default=None, metavar="SECONDS", help="Expire after this many seconds.")
@pass_session
def token_create(session: Session, name: str | None, expires: float | None) -> None:
    """Create a token and print it (it is shown only once)."""
    token = session.workspace().create_token(name=name, expires=expires)
    click.echo(token)


@token_group.command("list")
@pass_session
def token_list(session: Session) -> None:
    """List tokens (names and status; never the tokens themselves)."""
    found = session.workspace().list_tokens()
    if not found:
        click.echo("No tokens. Create one with: amlpipe token create")
        return
    click.echo(f"{'NAME':<24}  {'STATUS':<8}  {'CREATED':<19}  EXPIRES")
    now = time.time()
    for t in found:
        expires = _when(t["expires"]) if t["expires"] else "never"
        if t["expires"] and t["expires"] > now and t["status"] == "Active":
            expires += f" (in {int(t['expires'] - now)}s)"
        click.echo(f"{t['name']:<24}  {t['status']:<8}  {_when(t['created']):<19}  {expires}")


@token_group.command("revoke")
@click.argument("name")
@pass_session
def token_revoke(session: Session, name: str) -> None:
    """Revoke token NAME: the server refuses it from its next request on."""
    session.workspace().revoke_token(name)
    click.echo(f"Revoked token {name!r}.")


def register(group: click.Group) -> None:
    """Add the publishing commands to the ``amlpipe`` group."""
    for command in (publish, pipelines, enable, disable, endpoint_group, token_group):
        group.add_command(command)
