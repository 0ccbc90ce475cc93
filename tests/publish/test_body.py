"""v1's submit body as v1 callers send it: extra metadata accepted, typos of known fields refused."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.publish import PublishService, QueueWorker
from jupyter_amlpipe.publish.body import parse_body
from jupyter_amlpipe.publish.body_fields import HONOURED, IGNORED

DEFAULTS = {"greeting": "hello", "epochs": 3, "lr": 0.1, "shuffle": True}


def test_a_full_v1_body_is_accepted_and_the_metadata_is_ignored(workspace: Any) -> None:
    body = {
        "ExperimentName": "v1-caller",
        "ParameterAssignments": {"greeting": "hola"},
        "DataPathAssignments": {},
        "DataSetDefinitionValueAssignments": {},
        "AssetOutputSettingsAssignments": {},
        "RunSource": "SDK",
        "RunType": "HTTP",
        "RunId": "my-own-id",
        "ParentRunId": "parent",
        "StepTags": {"a": "b"},
        "Tags": {"caller": "adf"},
        "Properties": {"ticket": 42},
        "ContinueOnStepFailure": True,
        "DisplayName": "from ADF",
        "Description": "nightly",
        "SomethingOfTheCallers": {"x": 1},
    }
    sub = parse_body(body, DEFAULTS, workspace)
    assert sub.experiment_name == "v1-caller" and sub.parameters == {"greeting": "hola"}
    assert sub.tags == {"caller": "adf"} and sub.properties == {"ticket": "42"}
    assert sub.continue_on_step_failure is True and sub.display_name == "from ADF" and sub.description == "nightly"
    assert sub.ignored == [
        "AssetOutputSettingsAssignments",
        "RunSource",
        "RunType",
        "RunId",
        "ParentRunId",
        "StepTags",
        "SomethingOfTheCallers",
    ]


def test_field_names_match_in_any_case_and_aliases_count(workspace: Any) -> None:
    sub = parse_body(
        {"experimentName": "e", "pipelineParameters": {"epochs": 5}, "tags": {"t": "1"}, "enforceRerun": True},
        DEFAULTS,
        workspace,
    )
    assert sub.experiment_name == "e" and sub.parameters == {"epochs": 5}
    assert sub.tags == {"t": "1"} and sub.regenerate_outputs is True
    with pytest.raises(DefinitionError, match="gives Tags twice, as 'tags' and 'Tags'"):
        parse_body({"ExperimentName": "e", "tags": {"a": "1"}, "Tags": {"a": "2"}}, DEFAULTS, workspace)


@pytest.mark.parametrize(
    ("field", "meant"),
    [
        ("ParameterAssignment", "ParameterAssignments"),
        ("ExperimentNme", "ExperimentName"),
        ("DataPathAssignment", "DataPathAssignments"),
        ("ContinueRunOnStepFailur", "ContinueRunOnStepFailure"),
        ("Tag", "Tags"),
        ("descriptoin", "Description"),
    ],
)
def test_a_typo_of_a_known_field_is_refused_with_did_you_mean(workspace: Any, field: str, meant: str) -> None:
    body = {"ExperimentName": "e", field: {}} if field != "ExperimentNme" else {field: "e"}
    with pytest.raises(DefinitionError) as caught:
        parse_body(body, DEFAULTS, workspace)
    assert f"Unknown field {field!r}" in caught.value.message and f"Did you mean {meant!r}?" in caught.value.message


def test_v1_string_values_are_taken_for_numbers_and_booleans(workspace: Any) -> None:
    body = {"ExperimentName": "e", "ParameterAssignments": {"epochs": "7", "lr": "0.5", "shuffle": "false"}}
    assert parse_body(body, DEFAULTS, workspace).parameters == {"epochs": 7, "lr": 0.5, "shuffle": False}
    for name, value in (("epochs", "many"), ("epochs", "1.5"), ("shuffle", "maybe"), ("greeting", 3)):
        with pytest.raises(DefinitionError, match=f"Parameter '{name}' takes a"):
            parse_body({"ExperimentName": "e", "ParameterAssignments": {name: value}}, DEFAULTS, workspace)


def test_dataset_assignments_must_be_empty_and_metadata_types_are_checked(workspace: Any) -> None:
    with pytest.raises(DefinitionError, match=r"DataSetDefinitionValueAssignments names 'raw', which is not a param"):
        parse_body(
            {"ExperimentName": "e", "DataSetDefinitionValueAssignments": {"raw": {"SavedDataSetReference": {}}}},
            DEFAULTS,
            workspace,
        )
    with pytest.raises(DefinitionError, match=r"'epochs' does not take a dataset .*ParameterAssignments"):
        parse_body({"ExperimentName": "e", "DataSetDefinitionValueAssignments": {"epochs": {}}}, DEFAULTS, workspace)
    with pytest.raises(DefinitionError, match="DisplayName must be a string"):
        parse_body({"ExperimentName": "e", "DisplayName": 3}, DEFAULTS, workspace)
    with pytest.raises(DefinitionError, match="EnforceRerun must be true or false"):
        parse_body({"ExperimentName": "e", "EnforceRerun": "yes"}, DEFAULTS, workspace)


def test_the_known_fields_never_look_like_typos_of_each_other(workspace: Any) -> None:
    for name in (*HONOURED, *IGNORED):
        value: Any = "e" if name == "ExperimentName" else None
        parse_body({"ExperimentName": "e", name: value}, DEFAULTS, workspace)


def test_a_v1_body_runs_with_its_tags_display_name_and_ignored_fields_listed(
    workspace: Any, pipeline: Any, stdout_of: Any
) -> None:
    published = pipeline.publish(name="greet")
    body = {
        "experimentName": "v1-caller",
        "ParameterAssignments": {"greeting": "bonjour"},
        "RunSource": "SDK",
        "DataSetDefinitionValueAssignments": {},
        "Tags": {"caller": "logic-app"},
        "DisplayName": "called by the logic app",
    }
    run_id = PublishService(workspace).submit_published(published.id, body)
    worker = QueueWorker(workspace, max_running=1, poll_seconds=0.2)
    worker.start()
    try:
        run = workspace.get_run(run_id)
        assert "GREETING=bonjour" in stdout_of(run)
    finally:
        worker.stop()
    run = workspace.get_run(run_id)
    assert run.get_tags() == {"caller": "logic-app"}
    assert run.display_name == "called by the logic app"
    assert run.properties["amlpipe.ignored_fields"] == "RunSource"
