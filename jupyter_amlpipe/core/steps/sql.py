"""``AdlaStep`` (alias ``SqlStep``): a ``.sql`` script run on embedded DuckDB, shaped like v1's AdlaStep."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_amlpipe.core.data import PipelineParameter, data_name
from jupyter_amlpipe.core.environment import Environment
from jupyter_amlpipe.core.naming import check_identifier
from jupyter_amlpipe.core.steps.base import Resolver, Step, ValueResolver, capture
from jupyter_amlpipe.errors import DefinitionError

SQL_MODULE = "jupyter_amlpipe.compute.runtime.sql"


class AdlaStep(Step):
    """Run a SQL script from ``source_directory`` on DuckDB (v1 ``AdlaStep``; needs ``jupyter_amlpipe[sql]``).

    Inside the script every input and output is known by its name
    (``data_reference_name`` or the PipelineData's name):

    - ``$name`` and ``getvariable('name')`` give its path (a file or a folder);
    - an input holding CSV, parquet or JSON files (one file, or a folder of one
      kind) is also a view ``name`` over all of them;
    - an output is written where the script says, e.g.
      ``COPY (SELECT ...) TO ($result || '/part.parquet') (FORMAT parquet)``.

    ``params`` are referenced as ``@name`` (as in U-SQL) or ``$name`` and are
    bound as prepared-statement parameters, never pasted into the SQL text;
    ``getvariable('name')`` gives them too. ``degree_of_parallelism`` sets
    DuckDB's ``threads``; ``priority`` and ``runtime_version`` are accepted for
    v1 compatibility and ignored.
    """

    step_type = "sql"

    def __init__(
        self,
        script_name: str,
        name: str | None = None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        degree_of_parallelism: int | None = None,
        priority: int | None = None,
        runtime_version: str | None = None,
        compute_target: Any = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: Sequence[str] | None = None,
        *,
        environment: Environment | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self._spec = capture(locals())
        if not isinstance(script_name, str) or not script_name:
            raise DefinitionError(f"AdlaStep needs a script_name (a .sql file), got {script_name!r}.")
        if degree_of_parallelism is not None and (
            isinstance(degree_of_parallelism, bool) or not isinstance(degree_of_parallelism, int)
        ):
            raise DefinitionError(
                f"AdlaStep {name or script_name!r}: degree_of_parallelism must be a positive integer, "
                f"got {degree_of_parallelism!r}."
            )
        if degree_of_parallelism is not None and degree_of_parallelism < 1:
            raise DefinitionError(
                f"AdlaStep {name or script_name!r}: degree_of_parallelism must be at least 1, "
                f"got {degree_of_parallelism}."
            )
        self.script_name = script_name
        self.degree_of_parallelism = degree_of_parallelism
        self.priority = priority
        self.runtime_version = runtime_version
        super().__init__(
            name or script_name,
            inputs=inputs,
            outputs=outputs,
            compute_target=compute_target,
            source_directory=source_directory,
            params=params,
            allow_reuse=allow_reuse,
            hash_paths=hash_paths,
            environment=environment,
            timeout_seconds=timeout_seconds,
            version=version,
        )
        data = set(self._data_names())
        for key in self.params:
            check_identifier(key, f"AdlaStep {self.name!r}: parameter")
            if key in data:
                raise DefinitionError(
                    f"AdlaStep {self.name!r}: parameter {key!r} has the name of an input or output; inside the "
                    "script both are $name, so rename one of them."
                )

    def _main_file(self) -> str | None:
        return self.script_name

    def _program(self, resolve: Resolver, value_of: ValueResolver) -> dict[str, Any]:
        spec = {
            "step": self.name,
            "script": self.script_name,
            "inputs": {data_name(i): resolve(i) for i in self._inputs},
            "outputs": {o.name: resolve(o) for o in self.outputs},
            "params": {k: value_of(v) if isinstance(v, PipelineParameter) else v for k, v in self.params.items()},
            "threads": self.degree_of_parallelism,
        }
        return {
            "type": "module",
            "module": SQL_MODULE,
            "args": [json.dumps(spec)],
            "description": f"SQL script {self.script_name!r}",
        }

    def _definition(self) -> dict[str, Any]:
        return {
            **super()._definition(),
            "script_name": self.script_name,
            "degree_of_parallelism": self.degree_of_parallelism,
        }


SqlStep = AdlaStep
"""A clearer name for :class:`AdlaStep`: the same class."""
