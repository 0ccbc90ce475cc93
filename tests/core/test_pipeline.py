"""Building and validating pipelines: every bad definition is refused, naming its culprits.

Errors found on submit leave no trace in the workspace: no run records.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, PipelineData, PipelineParameter, StepSequence
from jupyter_amlpipe.compute import LocalCompute
from jupyter_amlpipe.core.pipeline import PipelineValidationError
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.steps import NotebookStep, PythonScriptStep

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for name in ("core_noop.py", "core_append.py", "core_write.py", "core_read.py"):
        shutil.copy(ASSETS / name, folder / name)
    return folder


def _step(name: str, src: Path, **kwargs: Any) -> PythonScriptStep:
    return PythonScriptStep("core_noop.py", name=name, source_directory=src, **kwargs)


def _no_runs(ws: Any) -> None:
    assert ws._store.list_runs() == []
    assert ws._store.list_runs(kind="step") == []


def _errors(pipeline_or_steps: Any, ws: Any) -> str:
    """The message of the validation error (building the pipeline may already raise it)."""
    with pytest.raises(DefinitionError) as info:
        Pipeline(ws, pipeline_or_steps).validate()
    return str(info.value)


# -- cycles ----------------------------------------------------------------------------------


def test_cycle_through_data(workspace: Any, src: Path) -> None:
    first, second = PipelineData("first"), PipelineData("second")
    make = _step("make", src, inputs=[second], outputs=[first])
    _step("use", src, inputs=[first], outputs=[second])  # reached from make through its input
    message = _errors([make], workspace)  # built from one step of the loop: no endless recursion
    assert "cycle" in message
    assert "'make'" in message and "'use'" in message


def test_cycle_through_data_is_refused_on_submit(workspace: Any, src: Path) -> None:
    first, second = PipelineData("first"), PipelineData("second")
    make = _step("make", src, inputs=[second], outputs=[first])
    _step("use", src, inputs=[first], outputs=[second])
    with pytest.raises(DefinitionError, match="cycle"):
        Experiment(workspace, "bad").submit(Pipeline(workspace, [make]))
    _no_runs(workspace)


def test_cycle_through_run_after(workspace: Any, src: Path) -> None:
    a, b, c = _step("extract", src), _step("transform", src), _step("load", src)
    b.run_after(a)
    c.run_after(b)
    a.run_after(c)
    message = _errors([b], workspace)
    assert "cycle" in message
    for name in ("extract", "transform", "load"):
        assert repr(name) in message
    with pytest.raises(DefinitionError, match="cycle"):
        Experiment(workspace, "bad").submit(Pipeline(workspace, [a]))
    _no_runs(workspace)


def test_pipeline_validation_error_lists_each_error(workspace: Any, src: Path) -> None:
    orphan = PipelineData("orphan")
    step = PythonScriptStep("missing.py", name="consume", inputs=[orphan], source_directory=src)
    with pytest.raises(PipelineValidationError) as info:
        Pipeline(workspace, [step]).validate()
    errors = info.value.errors
    assert len(errors) == 2
    assert any("'orphan'" in e for e in errors) and any("'missing.py'" in e for e in errors)
    assert isinstance(info.value, DefinitionError)


# -- data without one producer ------------------------------------------------------------------


def test_input_without_producer(workspace: Any, src: Path) -> None:
    consume = _step("consume", src, inputs=[PipelineData("features")])
    message = _errors([consume], workspace)
    assert "'features'" in message and "'consume'" in message
    assert "no step in the pipeline produces it" in message
    with pytest.raises(DefinitionError, match="'features'"):
        Experiment(workspace, "bad").submit(Pipeline(workspace, [consume]))
    _no_runs(workspace)


def test_duplicate_output(workspace: Any, src: Path) -> None:
    shared = PipelineData("shared")
    left = _step("left", src, outputs=[shared])
    right = _step("right", src, outputs=[shared])
    message = _errors([left, right], workspace)
    assert "'shared'" in message and "'left'" in message and "'right'" in message
    assert "more than one step" in message
    with pytest.raises(DefinitionError, match="'shared'"):
        Experiment(workspace, "bad").submit(Pipeline(workspace, [left, right]))
    _no_runs(workspace)


def test_redefined_step_replaces_the_old_producer(workspace: Any, src: Path) -> None:
    """Re-running a notebook cell defines the step again under the same name: no duplicate output."""
    data = PipelineData("data")
    _step("prep", src, outputs=[data])
    newer = _step("prep", src, outputs=[data])
    consume = _step("consume", src, inputs=[data])
    pipeline = Pipeline(workspace, [consume])
    assert pipeline.validate() == []
    assert [s for s in pipeline.steps if s.name == "prep"] == [newer]


# -- files and names -------------------------------------------------------------------------


def test_missing_script(workspace: Any, src: Path) -> None:
    step = PythonScriptStep("evaluate.py", name="train", source_directory=src)
    message = _errors([step], workspace)
    assert "'evaluate.py'" in message and str(src) in message and "'train'" in message
    with pytest.raises(DefinitionError, match=r"evaluate\.py"):
        Experiment(workspace, "bad").submit(Pipeline(workspace, [step]))
    _no_runs(workspace)


def test_missing_source_directory(workspace: Any, tmp_path: Path) -> None:
    step = PythonScriptStep("train.py", name="train", source_directory=tmp_path / "nowhere")
    message = _errors([step], workspace)
    assert "nowhere" in message and "does not exist" in message


def test_missing_notebook(workspace: Any, src: Path) -> None:
    step = NotebookStep(name="explore", notebook="explore.ipynb", source_directory=src)
    message = _errors([step], workspace)
    assert "'explore.ipynb'" in message and str(src) in message
    with pytest.raises(DefinitionError, match=r"explore\.ipynb"):
        Experiment(workspace, "bad").submit(Pipeline(workspace, [step]))
    _no_runs(workspace)


def test_unknown_compute_target(workspace: Any, src: Path) -> None:
    LocalCompute(workspace=workspace, name="cpu-cluster")
    step = _step("train", src, compute_target="cpu-clustr")
    message = _errors([step], workspace)
    assert "'cpu-clustr'" in message
    assert "Did you mean 'cpu-cluster'?" in message
    with pytest.raises(DefinitionError, match="cpu-clustr"):
        Experiment(workspace, "bad").submit(Pipeline(workspace, [step]))
    _no_runs(workspace)


# -- parameters ---------------------------------------------------------------------------------


def test_unknown_pipeline_parameter(workspace: Any, src: Path) -> None:
    rate = PipelineParameter("learning_rate", 0.1)
    step = _step("train", src, arguments=["--lr", rate])
    with pytest.raises(DefinitionError) as info:
        Experiment(workspace, "bad").submit(Pipeline(workspace, [step]), pipeline_parameters={"learning_rte": 0.2})
    assert "'learning_rte'" in str(info.value)
    assert "Did you mean 'learning_rate'?" in str(info.value)
    _no_runs(workspace)


def test_non_json_parameter_default() -> None:
    with pytest.raises(DefinitionError) as info:
        PipelineParameter(name="threshold", default_value=object())
    assert "'threshold'" in str(info.value) and "JSON-serializable" in str(info.value)


def test_non_json_parameter_value_at_submit(workspace: Any, src: Path) -> None:
    threshold = PipelineParameter(name="threshold", default_value=0.5)
    step = _step("score", src, arguments=["--threshold", threshold])
    with pytest.raises(DefinitionError) as info:
        Experiment(workspace, "bad").submit(Pipeline(workspace, [step]), pipeline_parameters={"threshold": object()})
    assert "'threshold'" in str(info.value) and "JSON-serializable" in str(info.value)
    _no_runs(workspace)


# -- what a pipeline includes ----------------------------------------------------------------------


def test_nested_step_lists(workspace: Any, src: Path) -> None:
    a, b, c, d = (_step(n, src) for n in "abcd")
    pipeline = Pipeline(workspace, [[a, [b, (c,)]], d])
    assert [s.name for s in pipeline.steps] == ["a", "b", "c", "d"]
    assert pipeline.validate() == []


def test_steps_reachable_through_producers_and_run_after_are_included(workspace: Any, src: Path) -> None:
    raw, features = PipelineData("raw"), PipelineData("features")
    fetch = _step("fetch", src, outputs=[raw])
    featurize = _step("featurize", src, inputs=[raw], outputs=[features])
    train = _step("train", src, inputs=[features])
    setup = _step("setup", src)
    fetch.run_after(setup)
    pipeline = Pipeline(workspace, [train])
    assert {s.name for s in pipeline.steps} == {"train", "featurize", "fetch", "setup"}
    order = [pipeline.steps[i].name for i in pipeline.graph.order()]
    assert order == ["setup", "fetch", "featurize", "train"]
    assert featurize in pipeline.steps


def test_step_sequence_runs_in_order(workspace: Any, src: Path, tmp_path: Path) -> None:
    log = tmp_path / "order.txt"
    steps = [
        PythonScriptStep("core_append.py", name=n, arguments=[n, str(log)], source_directory=src)
        for n in ("first", "second", "third")
    ]
    pipeline = Pipeline(workspace, StepSequence(steps=[steps[0], [steps[1]], steps[2]]))
    assert [pipeline.steps[i].name for i in pipeline.graph.order()] == ["first", "second", "third"]
    run = Experiment(workspace, "seq").submit(pipeline)
    run.wait_for_completion(show_output=False, timeout_seconds=120)
    assert log.read_text(encoding="utf-8") == "first\nsecond\nthird\n"


def test_pipeline_data_only_in_arguments_is_inferred_and_warned(workspace: Any, src: Path) -> None:
    shared = PipelineData("shared")
    write = PythonScriptStep(
        "core_write.py", name="write", arguments=["--output", shared, "--text", "hello"], source_directory=src
    )
    read = PythonScriptStep("core_read.py", name="read", arguments=["--input", shared], source_directory=src)
    with pytest.warns(UserWarning, match="Azure ML v1 needs it listed") as caught:
        pipeline = Pipeline(workspace, [write, read])
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any("'write'" in m and "'shared'" in m and "outputs=[...]" in m for m in messages), messages
    assert any("'read'" in m and "'shared'" in m and "inputs=[...]" in m for m in messages), messages
    assert [pipeline.steps[i].name for i in pipeline.graph.order()] == ["write", "read"]

    run = Experiment(workspace, "inferred").submit(pipeline)
    run.wait_for_completion(show_output=False, timeout_seconds=120)
    assert "content of data.txt: hello" in run.find_step_run("read")[0].get_stdout_log()


def test_argument_only_producer_of_a_listed_input(workspace: Any, src: Path) -> None:
    """The consumer lists the data in inputs; its producer has it only in arguments: an output, with a warning.

    The consumer comes first in the list: the inference does not depend on the order of the steps.
    """
    shared = PipelineData("shared")
    write = PythonScriptStep("core_write.py", name="write", arguments=["--output", shared], source_directory=src)
    read = PythonScriptStep(
        "core_read.py", name="read", arguments=["--input", shared], inputs=[shared], source_directory=src
    )
    with pytest.warns(UserWarning, match=r"Step 'write': PipelineData 'shared' is in arguments but not in outputs"):
        pipeline = Pipeline(workspace, [read, write])
    assert pipeline.validate() == []
    assert [pipeline.steps[i].name for i in pipeline.graph.order()] == ["write", "read"]


def test_validate_returns_an_empty_list_for_a_valid_pipeline(workspace: Any, src: Path) -> None:
    data = PipelineData("data")
    make = _step("make", src, outputs=[data])
    use = _step("use", src, inputs=[data])
    assert Pipeline(workspace, [make, use], description="ok").validate() == []


def test_building_a_large_pipeline_uploads_and_records_nothing(workspace: Any, src: Path) -> None:
    """500 steps, wide and deep: ten chains of 50 joined at every tenth level."""
    steps: list[PythonScriptStep] = []
    previous: list[PipelineData | None] = [None] * 10
    for level in range(50):
        current: list[PipelineData | None] = []
        for lane in range(10):
            out = PipelineData(f"d_{level}_{lane}")
            inputs = [d for d in {previous[lane], previous[(lane + 1) % 10] if level % 10 == 0 else None} if d]
            steps.append(_step(f"s_{level}_{lane}", src, inputs=inputs, outputs=[out]))
            current.append(out)
        previous = current
    pipeline = Pipeline(workspace, steps[-10:])  # the rest is reached through producers
    assert len(pipeline.steps) == 500
    assert pipeline.validate() == []
    assert max(pipeline.graph.depth()) == 49
    _no_runs(workspace)
    store = workspace.get_default_datastore()
    assert store.list_files("") == []
    assert [p for p in (workspace.path / "snapshots").rglob("*") if p.is_file()] == []
