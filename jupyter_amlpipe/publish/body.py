"""v1's submit body (``ExperimentName``, ``ParameterAssignments``, ...) checked into a submission.

Every mistake a caller can make is a :class:`DefinitionError` that names the
field and what to send instead, so the server answers 400, never 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.publish.body_fields import ALIASES, HONOURED, IGNORED, canonical, looks_like_typo

FIELDS = HONOURED + IGNORED + tuple(ALIASES)  # every field name the body may use (any case)
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
    display_name: str | None = None
    regenerate_outputs: bool = False
    ignored: list[str] = field(default_factory=list)  # fields accepted and ignored, as the caller spelled them
    datasets: dict[str, str] = field(default_factory=dict)  # dataset parameter -> registered dataset id

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Submission:
        return cls(**doc)


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _from_v1_string(default: Any, value: str) -> Any:
    """v1's string form of a number or boolean (its ParameterAssignments were strings); the value as is otherwise."""
    text = value.strip()
    try:
        if isinstance(default, bool):
            if text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
        elif isinstance(default, int):
            return int(text)
        elif isinstance(default, float):
            return float(text)
    except ValueError:
        pass
    return value


def check_value(name: str, default: Any, value: Any) -> Any:
    """``value`` for a parameter whose default is ``default``: same JSON type (an integer may stand for a number).

    A string that spells a number or a boolean is taken for a number or boolean parameter: v1's callers
    (its C# and Logic Apps examples) send every parameter value as a string.
    """
    if isinstance(default, dict) and "$datasetdef" in default:
        raise DefinitionError(
            f"Parameter {name!r} takes a dataset: assign it with "
            f'"DataSetDefinitionValueAssignments": {{{name!r}: {{"SavedDataSetReference": {{"Id": DATASET_ID}}}}}}.',
            parameter=name,
        )
    if default is None or (isinstance(default, dict) and ("datastore" in default or "$datapath" in default)):
        return value
    if isinstance(value, str) and isinstance(default, (bool, int, float)):
        value = _from_v1_string(default, value)
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


def _fields(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The body's known fields by canonical name, and the names of fields accepted and ignored."""
    found: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    ignored: list[str] = []
    for key, value in body.items():
        name = canonical(str(key))
        if name is None:
            typo = looks_like_typo(str(key))
            if typo is not None:
                raise DefinitionError(
                    f"Unknown field {key!r} in the request body. Did you mean {typo!r}?", field=str(key)
                )
            ignored.append(str(key))
            continue
        if name in IGNORED:
            ignored.append(str(key))
            continue
        if name in found and found[name] != value:
            raise DefinitionError(
                f"The request body gives {name} twice, as {spelled[name]!r} and {key!r}, with different values: "
                "send it once.",
                field=name,
            )
        found[name], spelled[name] = value, str(key)
    return found, ignored


def parse_body(body: Any, defaults: dict[str, Any], workspace: Any) -> Submission:
    """Check a v1 body against a published pipeline's parameters (``defaults``).

    Field names match in any case; v1 fields this server does not use are accepted and ignored
    (:mod:`.body_fields` lists them); a name close to a known field is refused as a typo.
    """
    if not isinstance(body, dict):
        raise DefinitionError('The request body must be a JSON object such as {"ExperimentName": "my-experiment"}.')
    fields, ignored = _fields(body)
    experiment = fields.get("ExperimentName")
    if not experiment:
        raise DefinitionError('"ExperimentName" is required: name the experiment the run goes to.')
    if not isinstance(experiment, str) or not _EXPERIMENT_RE.match(experiment):
        raise DefinitionError(
            f"ExperimentName {experiment!r} is not valid: use letters, digits, '-', '_' or '.' (at most 255)."
        )
    checked: dict[str, Any] = {}
    for key, value in _mapping(fields, "ParameterAssignments").items():
        if key not in defaults:
            raise DefinitionError(
                f"ParameterAssignments names {key!r}, which is not a parameter of this pipeline."
                f"{did_you_mean(key, defaults)}",
                parameter=key,
            )
        checked[key] = check_value(key, defaults[key], value)
    data_paths = _data_paths(_mapping(fields, "DataPathAssignments"), defaults, workspace)
    datasets = _datasets(_mapping(fields, "DataSetDefinitionValueAssignments"), defaults, workspace)
    description = _optional(fields, "Description", str, "a string")
    display_name = _optional(fields, "DisplayName", str, "a string")
    cont = _optional(fields, "ContinueRunOnStepFailure", bool, "true or false")
    rerun = _optional(fields, "EnforceRerun", bool, "true or false")
    return Submission(
        experiment,
        checked,
        data_paths,
        description,
        cont,
        {str(k): str(v) for k, v in _mapping(fields, "Tags").items()},
        {str(k): str(v) for k, v in _mapping(fields, "Properties").items()},
        datasets=datasets,
        display_name=display_name,
        regenerate_outputs=bool(rerun),
        ignored=ignored,
    )


def _optional(fields: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = fields.get(key)
    if value is not None and not isinstance(value, kind):
        raise DefinitionError(f"{key} must be {what}, got the {_type_name(value)} {value!r}.", field=key)
    return value


def _data_paths(assigned: dict[str, Any], defaults: dict[str, Any], workspace: Any) -> dict[str, list[str]]:
    data_paths: dict[str, list[str]] = {}
    for key, value in assigned.items():
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
    return data_paths


_DATASET_SHAPE = (
    '{"SavedDataSetReference": {"Id": DATASET_ID}} or {"SavedDataSetReference": {"Name": NAME, "Version": N}}'
)


def _datasets(assigned: dict[str, Any], defaults: dict[str, Any], workspace: Any) -> dict[str, str]:
    """v1's DataSetDefinitionValueAssignments: a registered dataset (by id, or name and version) per parameter."""
    from jupyter_amlpipe.workspace.dataset import Dataset

    chosen: dict[str, str] = {}
    for key, value in assigned.items():
        where = f"DataSetDefinitionValueAssignments[{key!r}]"
        if key not in defaults:
            raise DefinitionError(
                f"DataSetDefinitionValueAssignments names {key!r}, which is not a parameter of this pipeline."
                f"{did_you_mean(key, defaults)}",
                parameter=key,
            )
        default = defaults[key]
        if not (isinstance(default, dict) and "$datasetdef" in default):
            other = "DataPathAssignments" if isinstance(default, dict) else "ParameterAssignments"
            raise DefinitionError(
                f"{where}: parameter {key!r} does not take a dataset (its default is {default!r}); "
                f"assign it with {other}.",
                parameter=key,
            )
        ref = value.get("SavedDataSetReference") or value.get("DataSetReference") if isinstance(value, dict) else None
        ref = ref if isinstance(ref, dict) else value
        if not isinstance(ref, dict):
            raise DefinitionError(f"{where} must be {_DATASET_SHAPE}.", parameter=key)
        fields = {str(k).lower(): v for k, v in ref.items()}
        try:
            if isinstance(fields.get("id"), str) and fields["id"]:
                dataset = Dataset.get_by_id(workspace, fields["id"])
            elif isinstance(fields.get("name"), str) and fields["name"]:
                dataset = Dataset.get_by_name(workspace, fields["name"], str(fields.get("version") or "latest"))
            else:
                raise DefinitionError(f"{where} must be {_DATASET_SHAPE}.", parameter=key)
        except LookupFailed as exc:
            raise DefinitionError(f"{where}: {exc.message}", parameter=key) from exc
        assert dataset.id is not None
        chosen[key] = dataset.id
    return chosen


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
    """The pipeline_parameters a submission assigns (data paths as DataPath objects, datasets as datasets)."""
    from jupyter_amlpipe.core.data import DataPath
    from jupyter_amlpipe.workspace.dataset import Dataset
    from jupyter_amlpipe.workspace.datastore import Datastore

    values = dict(submission.parameters)
    for key, (store, path) in submission.data_paths.items():
        values[key] = DataPath(Datastore.get(workspace, store), path)
    for key, dataset_id in submission.datasets.items():
        values[key] = Dataset.get_by_id(workspace, dataset_id)
    return values
