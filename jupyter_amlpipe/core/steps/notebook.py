"""``NotebookStep`` (papermill) and its v1 alias ``NotebookRunnerStep``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_amlpipe.core.data import PipelineData, PipelineParameter, data_name
from jupyter_amlpipe.core.environment import Environment, RunConfiguration
from jupyter_amlpipe.core.steps.base import Resolver, Step, ValueResolver, capture
from jupyter_amlpipe.errors import DefinitionError


class NotebookStep(Step):
    """Run a notebook with papermill in its own process.

    papermill adds an ``injected-parameters`` cell where ``params`` keep their
    JSON types (a PipelineParameter as its value) and every input and output is
    a variable holding its path. The executed notebook is kept with the step
    run, and is also the output named ``output_notebook_pipeline_data_name``.
    """

    step_type = "notebook"

    def __init__(
        self,
        name: str | None = None,
        notebook: str | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        params: Mapping[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        output_notebook_pipeline_data_name: str | None = None,
        compute_target: Any = None,
        allow_reuse: bool = True,
        runconfig: RunConfiguration | None = None,
        version: str | None = None,
        *,
        kernel_name: str | None = None,
        hash_paths: Sequence[str] | None = None,
        environment: Environment | None = None,
        timeout_seconds: float | None = None,
        output_notebook: str | None = None,
    ) -> None:
        self._spec = capture(locals())
        if not isinstance(notebook, str) or not notebook:
            raise DefinitionError(f"NotebookStep {name or ''!r} needs notebook='path/to/notebook.ipynb'.")
        if not notebook.endswith(".ipynb"):
            raise DefinitionError(f"NotebookStep {name or notebook!r}: {notebook!r} is not a .ipynb notebook.")
        self.notebook = notebook
        self.kernel_name = kernel_name
        self.output_notebook = output_notebook
        self.output_notebook_pipeline_data_name = output_notebook_pipeline_data_name
        super().__init__(
            name or os.path.splitext(os.path.basename(notebook))[0],
            inputs=inputs,
            outputs=outputs,
            arguments=None,
            compute_target=compute_target,
            source_directory=source_directory,
            params=params,
            allow_reuse=allow_reuse,
            hash_paths=hash_paths,
            runconfig=runconfig,
            environment=environment,
            timeout_seconds=timeout_seconds,
            version=version,
        )
        if output_notebook_pipeline_data_name:
            existing = [o for o in self._outputs if o.name == output_notebook_pipeline_data_name]
            if existing:
                self._notebook_output = existing[0]
            else:
                self._notebook_output = PipelineData(output_notebook_pipeline_data_name)
                self._implicit_outputs.append(self._notebook_output)
                self._notebook_output._add_producer(self)

    def _main_file(self) -> str | None:
        return self.notebook

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        for key, value in self.params.items():
            parameters[key] = value_of(value) if isinstance(value, PipelineParameter) else value
        for item in self._inputs:
            parameters[data_name(item)] = resolve(item)
        for out in self.outputs:
            parameters[out.name] = resolve(out)
        copy_to = []
        if self.output_notebook_pipeline_data_name:
            copy_to.append(os.path.join(resolve(self._notebook_output), os.path.basename(self.notebook)))
        return {
            "type": "notebook",
            "notebook": self.notebook,
            "parameters": parameters,
            "kernel_name": self.kernel_name,
            "copy_to": copy_to,
            "output_notebook": self.output_notebook,
        }

    def _definition(self) -> dict[str, Any]:
        return {
            **super()._definition(),
            "notebook": self.notebook,
            "output_notebook_pipeline_data_name": self.output_notebook_pipeline_data_name,
            "kernel_name": self.kernel_name,
            "output_notebook": self.output_notebook,
        }


class NotebookRunConfig:
    """v1 ``NotebookRunConfig``: where the notebook is and what to pass it."""

    def __init__(
        self,
        source_directory: str | None = None,
        notebook: str | None = None,
        output_notebook: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        handler: Any = None,
        run_config: RunConfiguration | None = None,
        kernel_name: str | None = None,
    ) -> None:
        self.source_directory = source_directory
        self.notebook = notebook
        self.output_notebook = output_notebook
        self.parameters = dict(parameters or {})
        self.run_config = run_config
        self.kernel_name = kernel_name


class NotebookRunnerStep(NotebookStep):
    """v1's ``NotebookRunnerStep``: a NotebookStep that also takes ``notebook_run_config``."""

    def __init__(
        self,
        name: str | None = None,
        notebook_run_config: NotebookRunConfig | None = None,
        runconfig: RunConfiguration | None = None,
        compute_target: Any = None,
        params: Mapping[str, Any] | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        output_notebook_pipeline_data_name: str | None = None,
        runconfig_pipeline_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._spec = capture(locals())
        cfg = notebook_run_config
        kwargs.setdefault("output_notebook", cfg.output_notebook if cfg else None)
        notebook = kwargs.pop("notebook", None) or (cfg.notebook if cfg else None)
        source_directory = kwargs.pop("source_directory", None) or (cfg.source_directory if cfg else None)
        merged = {**(cfg.parameters if cfg else {}), **dict(params or {})}
        super().__init__(
            name=name,
            notebook=notebook,
            source_directory=source_directory,
            params=merged,
            inputs=inputs,
            outputs=outputs,
            output_notebook_pipeline_data_name=output_notebook_pipeline_data_name,
            compute_target=compute_target,
            allow_reuse=allow_reuse,
            runconfig=runconfig or (cfg.run_config if cfg else None),
            version=version,
            kernel_name=kwargs.pop("kernel_name", None) or (cfg.kernel_name if cfg else None),
            **kwargs,
        )
