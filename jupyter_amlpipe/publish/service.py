"""``PublishService``: what the REST server calls (framework-free; errors are the package's own).

Errors map to HTTP as: LookupFailed → 404, DefinitionError → 400,
PipelineDisabledError → 409, other PublishingError → 409.
"""

from __future__ import annotations

from typing import Any

from jupyter_amlpipe.errors import LookupFailed, PublishingError
from jupyter_amlpipe.publish.body import parse_body
from jupyter_amlpipe.publish.published import PublishedPipeline
from jupyter_amlpipe.publish.queue import QueueWorker, enqueue
from jupyter_amlpipe.workspace import tokens


class PublishService:
    """Published pipelines, endpoints, tokens and the submission queue of one workspace."""

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace
        self._worker: QueueWorker | None = None

    # -- tokens ------------------------------------------------------------------------------
    def check_token(self, token: str) -> str | None:
        """The token's name when it is valid now (exists, not revoked, not expired), else None."""
        return tokens.check_token(self.workspace._store, token)

    # -- submitting --------------------------------------------------------------------------
    def submit_published(
        self, pipeline_id: str, body: dict[str, Any], *, source: str = "rest", properties: dict[str, str] | None = None
    ) -> str:
        """Queue a run of a published pipeline from a v1 body; return the new PipelineRun id (status Queued)."""
        if not isinstance(pipeline_id, str) or not pipeline_id:
            raise LookupFailed(f"No published pipeline with id {pipeline_id!r}.", id=pipeline_id)
        published = PublishedPipeline.get(self.workspace, pipeline_id)
        published.check_active()
        submission = parse_body(body, published.parameters, self.workspace)
        return enqueue(self.workspace, published, submission, source=source, properties=properties)

    def submit_endpoint(
        self,
        endpoint: str,
        body: dict[str, Any],
        version: str | None = None,
        *,
        source: str = "rest",
        properties: dict[str, str] | None = None,
    ) -> str:
        """Queue a run of an endpoint's default version (or ``version``); return the PipelineRun id."""
        from jupyter_amlpipe.publish.endpoints import PipelineEndpoint

        ep = PipelineEndpoint._by_id_or_name(self.workspace, endpoint)
        ep.check_active()
        published = ep.get_pipeline(version)
        props = {"amlpipe.pipeline_endpoint": ep.name, "amlpipe.pipeline_endpoint_id": ep.id, **(properties or {})}
        props["amlpipe.pipeline_endpoint_version"] = ep._version_of(published.id, version)
        return self.submit_published(published.id, body, source=source, properties=props)

    # -- reading -----------------------------------------------------------------------------
    def get_published(self, pipeline_id: str) -> dict[str, Any]:
        """A published pipeline as JSON (Id, Name, Description, Version, Status, Endpoint, GraphId, ...)."""
        return PublishedPipeline.get(self.workspace, pipeline_id).to_json()

    def list_published(self, active_only: bool = True) -> list[dict[str, Any]]:
        return [p.to_json() for p in PublishedPipeline.list(self.workspace, active_only=active_only)]

    def get_endpoint(self, id_or_name: str) -> dict[str, Any]:
        from jupyter_amlpipe.publish.endpoints import PipelineEndpoint

        return PipelineEndpoint._by_id_or_name(self.workspace, id_or_name).to_json()

    def list_endpoints(self, active_only: bool = True) -> list[dict[str, Any]]:
        from jupyter_amlpipe.publish.endpoints import PipelineEndpoint

        return [e.to_json() for e in PipelineEndpoint.list(self.workspace, active_only=active_only)]

    # -- the queue ----------------------------------------------------------------------------
    def start_queued(self, max_running: int) -> list[str]:
        """Start queued submissions in this process (at most ``max_running`` at once); return the ids started."""
        if self._worker is None:
            self._worker = QueueWorker(self.workspace, max_running)
            self._worker.recover()
        self._worker.max_running = max(1, int(max_running))
        return self._worker.start_queued()


__all__ = ["PublishService", "PublishingError", "QueueWorker", "SchedulerLoop"]  # noqa: F822 (lazy)


def __getattr__(name: str) -> Any:
    if name == "SchedulerLoop":  # defined next door (it uses this module)
        from jupyter_amlpipe.publish.scheduler import SchedulerLoop

        return SchedulerLoop
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
