"""``amlpipe serve``: the REST server of a workspace's published pipelines.

The server's libraries (FastAPI, uvicorn) come with the ``[server]`` extra and
are imported only when the command runs, so the rest of the CLI works
without them.
"""

from __future__ import annotations

import click

from jupyter_amlpipe.cli.session import Session, pass_session

__all__ = ["register", "serve"]


@click.command("serve")
@click.option(
    "--workspace",
    "-w",
    "workspace_path",
    metavar="PATH",
    default=None,
    help="Workspace folder (default: the group's --workspace, or .azureml/config.json found from here).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes the server.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="HTTP worker processes (queued runs and schedules run once, in this process).",
)
@click.option(
    "--max-running",
    default=None,
    type=click.IntRange(1, 1024),
    help="Submitted runs that execute at once; more wait in the queue (default: the publish layer's).",
)
@click.option(
    "--max-body-bytes",
    default=1024 * 1024,
    show_default=True,
    type=click.IntRange(1024, 1024**3),
    help="Larger request bodies get 413.",
)
@pass_session
def serve(
    session: Session,
    workspace_path: str | None,
    host: str,
    port: int,
    workers: int,
    max_running: int | None,
    max_body_bytes: int,
) -> None:
    """Serve the workspace's published pipelines over REST (Azure ML v1's request body).

    Every route but /health needs 'Authorization: Bearer TOKEN' (amlpipe token create).
    The OpenAPI document is at /openapi.json. Queued runs and schedules run in this process.

    \b
    Example:
      amlpipe token create --name caller
      amlpipe serve --workspace ./ws --port 8787
      curl -X POST http://127.0.0.1:8787/pipelines/v1/published/ID \\
           -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
           -d '{"ExperimentName": "rest", "ParameterAssignments": {"lr": 0.05}}'
    """
    from jupyter_amlpipe.server._deps import require_server_extra

    require_server_extra()
    from jupyter_amlpipe.server.serve import serve as run_server

    ws = session.workspace(workspace_path)
    click.echo(
        f"Serving workspace {ws.name!r} ({ws.path}) on http://{host}:{port} "
        f"(OpenAPI: http://{host}:{port}/openapi.json). Stop with Ctrl-C.",
        err=True,
    )
    run_server(ws, host=host, port=port, workers=workers, max_running=max_running, max_body_bytes=max_body_bytes)


def register(group: click.Group) -> None:
    """Add ``serve`` to the ``amlpipe`` group."""
    group.add_command(serve)
