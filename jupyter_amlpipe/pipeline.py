"""v1's ``azureml.pipeline.core`` names in one module: pipelines, data, parameters, publishing, schedules."""

from jupyter_amlpipe.core.data import PipelineData, PipelineParameter
from jupyter_amlpipe.core.dataset import PipelineOutputFileDataset, PipelineOutputTabularDataset
from jupyter_amlpipe.core.pipeline import Pipeline
from jupyter_amlpipe.core.steps import StepSequence
from jupyter_amlpipe.publish import (
    PipelineEndpoint,
    PipelineIdVersion,
    PipelineVersion,
    PublishedPipeline,
    Schedule,
    ScheduleRecurrence,
    TimeZone,
)
from jupyter_amlpipe.runner.runs import PipelineRun, StepRun

__all__ = [
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineIdVersion",
    "PipelineOutputFileDataset",
    "PipelineOutputTabularDataset",
    "PipelineParameter",
    "PipelineRun",
    "PipelineVersion",
    "PublishedPipeline",
    "Schedule",
    "ScheduleRecurrence",
    "StepRun",
    "StepSequence",
    "TimeZone",
]
