"""Published pipelines, versioned endpoints, schedules and the submission queue (v1 ``azureml.pipeline.core``).

``pipeline.publish(...)`` freezes a pipeline (graph, step definitions, code
snapshots, parameter defaults, compute targets by name) into a
:class:`PublishedPipeline` that other systems start with a POST to ``amlpipe
serve``; :class:`PipelineEndpoint` keeps versions of published pipelines
behind one name; :class:`Schedule` starts them on a recurrence or when data
changes. :class:`PublishService` is what the REST server calls.
"""

from __future__ import annotations

from jupyter_amlpipe.publish.endpoints import PipelineEndpoint, PipelineIdVersion, PipelineVersion
from jupyter_amlpipe.publish.published import PublishedPipeline
from jupyter_amlpipe.publish.queue import QueueWorker
from jupyter_amlpipe.publish.scheduler import SchedulerLoop
from jupyter_amlpipe.publish.schedules import Schedule, ScheduleRecurrence, TimeZone
from jupyter_amlpipe.publish.service import PublishService

__all__ = [
    "PipelineEndpoint",
    "PipelineIdVersion",
    "PipelineVersion",
    "PublishService",
    "PublishedPipeline",
    "QueueWorker",
    "Schedule",
    "ScheduleRecurrence",
    "SchedulerLoop",
    "TimeZone",
]
