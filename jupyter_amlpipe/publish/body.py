"""v1's submit body (``ExperimentName``, ``ParameterAssignments``, ...) checked into a submission.

Every mistake a caller can make is a :class:`DefinitionError` that names the
field and what to send instead, so the server answers 400, never 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean

FIELDS = (
    "ExperimentName",
    "ParameterAssignments",
    "DataPathAssignments",
    "DataSetDefinitionValueAssignments",
    "Description",
    "ContinueRunOnStepFailure",
    "tags",
    "Properties",
    "ContinueOnStepFailure",
    "RunSource",
)
_EXPERIMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


@dataclass
class Submission:
    """A checked submission, JSON-ready (it is stored in the queue as is)."""

    experiment_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    data_paths: dict[str, list[str]] = field(default_factory=dict)  # parameter -> [datastore, relative path]
    description: str | None = None
    continue_on_step_failure: bool | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Submission:
        return cls(**doc)


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def check_value(name: str, default: Any, value: Any) -> Any:
    """``value`` for a parameter whose default is ``default``: same JSON type (an integer may stand for a number)."""
    if default is None or (isinstance(default, dict) and ("datastore" in default or "$datapath" in default)):
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise DefinitionError(
            f"Parameter {name!r} takes a {_type_name(default)} (default {default!r}); "
            f"got the {_type_name(value)} {value!r}.",
            parameter=name,
        )
    return value


def parse_body(body: Any, defaults: dict[str, Any], workspace: Any) -> Submission:
    """Check a v1 body against a published pipeline's parameters (``defaults``)."""
    if not isinstance(body, dict):
        raise DefinitionError('The request body must be a JSON object such as {"ExperimentName": "my-experiment"}.')
    unknown = [k for k in body if k not in FIELDS]
    if unknown:
        raise DefinitionError(
            f"Unknown field {unknown[0]!r} in the request body.{did_you_mean(unknown[0], FIELDS)}", field=unknown[0]
        )
    experiment = body.get("ExperimentName")
    if not experiment:
        raise DefinitionError('"ExperimentName" is required: name the experiment the run goes to.')
    if not isinstance(experiment, str) or not _EXPERIMENT_RE.match(experiment):
        raise DefinitionError(
            f"ExperimentName {experiment!r} is not valid: use letters, digits, '-', '_' or '.' (at most 255)."
        )
    params = _mapping(body, "ParameterAssignments")
    checked: dict[str, Any] = {}
    for key, value in params.items():
        if key not in defaults:
            raise DefinitionError(
                f"ParameterAssignments names {key!r}, which is not a parameter of this pipeline."
                f"{did_you_mean(key, defaults)}",
                parameter=key,
            )
        checked[key] = check_value(key, defaults[key], value)
    data_paths: dict[str, list[str]] = {}
    for key, value in _mapping(body, "DataPathAssignments").items():
        if key not in defaults:
            raise DefinitionError(
                f"DataPathAssignments names {key!r}, which is not a parameter of this pipeline."
                f"{did_you_mean(key, defaults)}",
                parameter=key,
            )
        if not isinstance(value, dict) or not isinstance(value.get("DataStoreName"), str):
            raise DefinitionError(
                f'DataPathAssignments[{key!r}] must be {{"DataStoreName": NAME, "RelativePath": PATH}}.',
                parameter=key,
            )
        path = value.get("RelativePath", "")
        if not isinstance(path, str):
            raise DefinitionError(f"DataPathAssignments[{key!r}].RelativePath must be a string.", parameter=key)
        _check_datastore(workspace, value["DataStoreName"], key)
        data_paths[key] = [value["DataStoreName"], path]
    description = body.get("Description")
    if description is not None and not isinstance(description, str):
        raise DefinitionError("Description must be a string.")
    cont = body.get("ContinueRunOnStepFailure", body.get("ContinueOnStepFailure"))
    if cont is not None and not isinstance(cont, bool):
        raise DefinitionError("ContinueRunOnStepFailure must be true or false.")
    return Submission(
        experiment,
        checked,
        data_paths,
        description,
        cont,
        {str(k): str(v) for k, v in _mapping(body, "tags").items()},
        {str(k): str(v) for k, v in _mapping(body, "Properties").items()},
    )


def _mapping(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DefinitionError(f"{key} must be a JSON object, got {_type_name(value)}.", field=key)
    return value


def _check_datastore(workspace: Any, name: str, parameter: str) -> None:
    from jupyter_amlpipe.workspace.datastore import Datastore

    try:
        Datastore.get(workspace, name)
    except LookupFailed as exc:
        raise DefinitionError(f"DataPathAssignments[{parameter!r}]: {exc.message}", parameter=parameter) from exc


def parameter_values(workspace: Any, submission: Submission) -> dict[str, Any]:
    """The pipeline_parameters a submission assigns (data paths as DataPath objects)."""
    from jupyter_amlpipe.core.data import DataPath
    from jupyter_amlpipe.workspace.datastore import Datastore

    values = dict(submission.parameters)
    for key, (store, path) in submission.data_paths.items():
        values[key] = DataPath(Datastore.get(workspace, store), path)
    return values
