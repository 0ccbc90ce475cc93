"""LocalCompute passes the compute conformance suite."""

from __future__ import annotations

from typing import Any

from jupyter_amlpipe.compute import LocalCompute

from .conformance import ComputeConformance


class TestLocalCompute(ComputeConformance):
    def make_target(self, workspace: Any, name: str = "conformance", max_concurrency: int | None = None) -> Any:
        return LocalCompute(workspace=workspace, name=name, max_concurrency=max_concurrency)
