"""``amlpipe env list|build|prune``: the Docker images built from environments.

``env build`` builds ahead of a run what a step on DockerCompute would build
on first use: from a Python file that defines an Environment, a
RunConfiguration or a Pipeline (``FILE.py[:NAME]``, loaded like ``amlpipe
submit`` loads a pipeline), or from a requirements file
(``--requirements requirements.txt --name NAME``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from jupyter_amlpipe.cli import loader, render
from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean

__all__ = ["env_group", "register"]


@click.group("env")
def env_group() -> None:
    """Docker images built from environments (one per environment hash).

    \b
    Example:
      amlpipe env build --requirements requirements.txt --name train-env
      amlpipe env build pipeline.py
      amlpipe env list
      amlpipe env prune --dry-run
    """


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover


@env_group.command("list")
def list_cmd() -> None:
    """List the images built from environments: name, hash, size, created, last used."""
    from jupyter_amlpipe.compute.docker.images import list_images

    images = list_images()
    if not images:
        click.echo("No environment images yet. Build one with: amlpipe env build FILE.py (or a DockerCompute run).")
        return
    rows = [
        (im.env_name, im.env_hash[:20], im.tag, _size(im.size), im.created, (im.last_used or "")[:19].replace("T", " "))
        for im in images
    ]
    click.echo(render.table(["ENVIRONMENT", "HASH", "IMAGE", "SIZE", "CREATED", "LAST USED"], rows))


@env_group.command("build")
@click.argument("spec", metavar="FILE.py[:NAME]", required=False)
@click.option(
    "--requirements",
    "-r",
    "requirements",
    type=click.Path(dir_okay=False),
    default=None,
    help="A pip requirements file (instead of FILE.py); needs --name.",
)
@click.option("--name", "-n", default=None, help="Environment name for --requirements.")
@click.option(
    "--base-image",
    default=None,
    help="Base image when the environment names none. Default: $AMLPIPE_BASE_IMAGE, else python:3.11-slim.",
)
@click.option("--notebook", is_flag=True, help="Include notebook support (papermill, ipykernel).")
@click.option("--rebuild", is_flag=True, help="Build again from scratch (no layer cache) even if the image exists.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print the build output.")
def build_cmd(
    spec: str | None,
    requirements: str | None,
    name: str | None,
    base_image: str | None,
    notebook: bool,
    rebuild: bool,
    quiet: bool,
) -> None:
    """Build the images of the environments FILE.py defines (or of a requirements file), if not built yet.

    FILE.py may define Environment, RunConfiguration or Pipeline objects at
    module level (a Pipeline's steps bring their environments; notebook steps
    get notebook support). NAME picks one of them. Prints one line per image.

    \b
    Example:
      amlpipe env build envs.py:train_env
      amlpipe env build --requirements requirements.txt --name train-env
    """
    from jupyter_amlpipe.compute.docker.images import ensure_image

    targets = _targets(spec, requirements, name, base_image, notebook)
    log = None if quiet else _echo_err
    for environment, base, with_notebook in targets:
        tag = ensure_image(environment, base, log=log, notebook=with_notebook, progress=False, rebuild=rebuild)
        click.echo(f"{environment.name}: {tag}{' (with notebook support)' if with_notebook else ''}")


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


def _targets(
    spec: str | None, requirements: str | None, name: str | None, base_image: str | None, notebook: bool
) -> list[tuple[Any, str | None, bool]]:
    """(environment, base image, notebook) for every image to build, without duplicates."""
    from jupyter_amlpipe.core.environment import Environment

    if (spec is None) == (requirements is None):
        raise DefinitionError("Give either FILE.py[:NAME] or --requirements FILE --name NAME (exactly one).")
    if requirements is not None:
        if not name:
            raise DefinitionError("--requirements needs --name NAME (the environment's name).")
        if not Path(requirements).is_file():
            raise LookupFailed(f"No requirements file {requirements!r}: it does not exist.", path=requirements)
        return [(Environment.from_pip_requirements(name, requirements), base_image, notebook)]
    assert spec is not None
    if name is not None:
        raise DefinitionError("--name goes with --requirements; to pick an object of FILE.py write FILE.py:NAME.")
    path, var = loader.split_spec(spec)
    if not path.is_file():
        raise LookupFailed(f"No file {str(path)!r}: it does not exist.", path=str(path))
    namespace = loader._run_file(path)
    if var is not None:
        if var not in namespace:
            known = [k for k, v in namespace.items() if _environments_of(v, base_image, notebook)]
            raise LookupFailed(f"{path} defines no {var!r} at module level.{did_you_mean(var, known)}", name=var)
        found = _environments_of(namespace[var], base_image, notebook)
        if not found:
            raise DefinitionError(
                f"{path}:{var} is a {type(namespace[var]).__name__}, not an Environment, RunConfiguration or Pipeline.",
                name=var,
            )
    else:
        found = [t for obj in list(namespace.values()) for t in _environments_of(obj, base_image, notebook)]
        if not found:
            raise DefinitionError(
                f"{path} defines no Environment, RunConfiguration or Pipeline at module level "
                '(code under `if __name__ == "__main__":` does not run here).',
                path=str(path),
            )
    unique: dict[tuple[int, str | None, bool], tuple[Any, str | None, bool]] = {}
    for env, base, nb in found:
        unique.setdefault((id(env), base, nb), (env, base, nb))
    return list(unique.values())


def _environments_of(obj: Any, base_image: str | None, notebook: bool) -> list[tuple[Any, str | None, bool]]:
    from jupyter_amlpipe.core.environment import Environment, RunConfiguration
    from jupyter_amlpipe.core.pipeline import Pipeline

    if isinstance(obj, Environment):
        return [(obj, base_image, notebook)]
    if isinstance(obj, RunConfiguration):
        return [(obj.environment, base_image, notebook)]
    if isinstance(obj, Pipeline):
        out = []
        for step in obj.steps:
            env = getattr(step, "environment", None)
            if env is None:
                continue
            base = base_image or getattr(getattr(step, "compute_target", None), "base_image", None)
            out.append((env, base, notebook or getattr(step, "step_type", None) == "notebook"))
        return out
    return []


@env_group.command("prune")
@click.option("--all", "all_images", is_flag=True, help="Remove every environment image, the newest ones too.")
@click.option("--name", "-n", "names", multiple=True, help="Only images of this environment name (repeatable).")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
def prune_cmd(all_images: bool, names: tuple[str, ...], dry_run: bool) -> None:
    """Remove environment images: all but the newest per environment name (every one with --all).

    An image a container still uses is kept (and named). Says how much space
    was freed.

    \b
    Example:
      amlpipe env prune --dry-run
      amlpipe env prune --all --name train-env
    """
    from jupyter_amlpipe.compute.docker.images import prune_images

    result = prune_images(all_images=all_images, dry_run=dry_run, names=list(names) or None)
    verb = "Would remove" if dry_run else "Removed"
    for image in result.removed:
        click.echo(f"{verb} {image.tag} ({image.env_name}, {_size(image.size)}, created {image.created})")
    for image_id, reason in result.failed.items():
        click.echo(f"Kept {image_id[7:19]}: {reason}", err=True)
    if not result.removed:
        click.echo("Nothing to remove.")
    elif dry_run:
        click.echo(f"{len(result.removed)} image(s) would be removed; {len(result.kept)} kept.")
    else:
        freed = "unknown space" if result.freed_bytes is None else _size(result.freed_bytes)
        click.echo(f"{len(result.removed)} image(s) removed, {freed} freed; {len(result.kept)} kept.")


def register(group: click.Group) -> None:
    """Add ``amlpipe env`` to the command group."""
    group.add_command(env_group)
