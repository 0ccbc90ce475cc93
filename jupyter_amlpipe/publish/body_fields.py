"""The fields of Azure ML v1's submit body: which are honoured, which are accepted and ignored.

One table for the body parser (:mod:`.body`) and the server's OpenAPI
document, so the two always agree. v1's service matched field names without
regard to case (``experimentName`` works as well as ``ExperimentName``), and so
does this one. A field outside the table is accepted and ignored (v1 callers
send metadata of their own, such as ``RunSource``), unless its name is so close
to a known one that it is surely a typo (``ExperimentNme``): that is a 400
naming the field it resembles.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALIASES", "BODY_FIELDS", "HONOURED", "IGNORED", "BodyField", "canonical", "looks_like_typo"]

_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}


@dataclass(frozen=True)
class BodyField:
    """One field of v1's body: its canonical spelling, JSON schema and what this server does with it."""

    name: str
    schema: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    honoured: bool = True
    alias_of: str | None = None  # another spelling of that field (v1's two request shapes differ)


BODY_FIELDS: tuple[BodyField, ...] = (
    BodyField("ExperimentName", {"type": "string"}, "The experiment the run belongs to (required)."),
    BodyField(
        "ParameterAssignments",
        {"type": "object", "additionalProperties": True},
        "Pipeline parameter values by name; missing ones take their published defaults. A value keeps its JSON "
        'type; v1\'s string form ("3", "0.5", "true") is accepted for number and boolean parameters.',
    ),
    BodyField(
        "PipelineParameters",
        {"type": "object", "additionalProperties": True},
        "Another name of ParameterAssignments (v1's SubmitPipelineRunRequest).",
        alias_of="ParameterAssignments",
    ),
    BodyField(
        "DataPathAssignments",
        {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["DataStoreName"],
                "properties": {"DataStoreName": {"type": "string"}, "RelativePath": {"type": "string"}},
            },
        },
        "Data path parameters by name: a datastore and a path on it.",
    ),
    BodyField("Description", {"type": "string"}, "The run's description (also its display name)."),
    BodyField("DisplayName", {"type": "string"}, "The run's display name (wins over Description)."),
    BodyField("ContinueRunOnStepFailure", {"type": "boolean"}, "Keep running independent steps after a step fails."),
    BodyField(
        "ContinueOnStepFailure",
        {"type": "boolean"},
        "Another name of ContinueRunOnStepFailure.",
        alias_of="ContinueRunOnStepFailure",
    ),
    BodyField("EnforceRerun", {"type": "boolean"}, "Run every step again instead of reusing earlier results."),
    BodyField("Tags", _STRINGS, "The run's tags (also spelled 'tags'; values are stored as strings)."),
    BodyField("Properties", _STRINGS, "The run's properties (values are stored as strings)."),
    BodyField(
        "DataSetDefinitionValueAssignments",
        {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "SavedDataSetReference": {
                        "type": "object",
                        "properties": {"Id": {"type": "string"}, "Name": {"type": "string"}, "Version": {}},
                    }
                },
            },
        },
        "Dataset parameters by name: a registered dataset, "
        '{"SavedDataSetReference": {"Id": DATASET_ID}} (or {"Name": NAME, "Version": N}); the dataset is '
        "looked up at submit. Empty ({}) is fine.",
    ),
    *(
        BodyField(name, {}, f"{what} Accepted and ignored.", honoured=False)
        for name, what in (
            ("RunSource", "Where the submission comes from (v1: 'SDK', 'Portal', ...)."),
            ("RunType", "v1's run type ('HTTP', 'SDK', 'Schedule', ...)."),
            ("RunId", "A run id chosen by the caller; the answer's Id is the run's id here."),
            ("ParentRunId", "A parent run; runs started over REST are top-level runs here."),
            ("StepTags", "Tags for every step run."),
            ("ComputeTarget", "A default compute target; published pipelines keep the targets they were frozen with."),
            ("AssetOutputSettingsAssignments", "Where outputs are registered; outputs go to their datastores here."),
            ("EnableNotification", "v1's notification switch."),
            ("SubPipelinesInfo", "v1 designer metadata."),
            ("DatasetAccessModes", "v1 designer metadata."),
            ("PipelineRunSettings", "v1 designer metadata."),
            ("ExperimentId", "An experiment id; ExperimentName names the experiment here."),
        )
    ),
)

HONOURED = tuple(f.name for f in BODY_FIELDS if f.honoured and f.alias_of is None)
IGNORED = tuple(f.name for f in BODY_FIELDS if not f.honoured)
ALIASES = {f.name: f.alias_of for f in BODY_FIELDS if f.alias_of}

_BY_LOWER = {f.name.lower(): f.alias_of or f.name for f in BODY_FIELDS}
_NAMES = tuple(f.name for f in BODY_FIELDS)
TYPO_CUTOFF = 0.85  # closer than this to a known field (case aside) is a misspelling, not a field of its own


def canonical(key: str) -> str | None:
    """The field ``key`` names (any case, aliases resolved), or None for a field outside the table."""
    return _BY_LOWER.get(key.lower())


def looks_like_typo(key: str) -> str | None:
    """The known field an unknown ``key`` is surely a misspelling of, or None."""
    lowered = {name.lower(): name for name in _NAMES}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=TYPO_CUTOFF)
    return lowered[close[0]] if close else None
