"""SparkCompute and DatabricksStep (SparkStep).

Tests marked ``spark`` start Spark: each ``spark-submit`` costs about 10 s, so
there are few of them (three submits, one to a standalone cluster on loopback, and one notebook
kernel with a session).
The rest check argument assembly, settings and errors without starting Spark.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import ComputeTarget, DataReference, Experiment, Pipeline, PipelineData, PipelineParameter
from jupyter_amlpipe.compute import DatabricksCompute, SparkCompute
from jupyter_amlpipe.compute.spark._runtime import last_exception
from jupyter_amlpipe.compute.spark._submit import effective_settings, spark_home, submit_argv
from jupyter_amlpipe.core.serialize import pipeline_from_dict, pipeline_to_dict
from jupyter_amlpipe.errors import ComputeError, DefinitionError, MissingExtraError
from jupyter_amlpipe.steps import DatabricksStep, PythonScriptStep, SparkStep

from .conformance import ComputeConformance, finish, reported

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REPO_ROOT = Path(__file__).resolve().parents[2]
QUIET = {"spark.ui.enabled": "false"}  # no web UI (and no port to find) in tests
ROWS = "id,value\n1,10\n2,-5\n3,7\n"


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for asset in ASSETS.glob("spark_*"):
        (folder / asset.name).write_bytes(asset.read_bytes())
    return folder


@pytest.fixture
def raw(workspace: Any, tmp_path: Path) -> DataReference:
    data = tmp_path / "data.csv"
    data.write_text(ROWS, encoding="utf-8")
    store = workspace.get_default_datastore()
    store.upload_files([str(data)], target_path="raw", overwrite=True, show_progress=False)
    return DataReference(store, data_reference_name="raw", path_on_datastore="raw/data.csv")


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Step processes (and the Spark driver) import the package from this checkout."""
    current = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), current])))


def fake_resolve(item: Any) -> str:
    """A data link's path as the runner would give it, for checking argument assembly without running."""
    if isinstance(item, PipelineParameter):
        return str(item.default_value)
    return f"/data/{getattr(item, 'data_reference_name', None) or item.name}"


# -- with Spark ---------------------------------------------------------------------------------------------
@pytest.mark.spark
@pytest.mark.usefixtures("importable")
def test_spark_step_feeds_a_script_step_and_is_reused(workspace: Any, src: Path, raw: DataReference) -> None:
    spark = SparkCompute(workspace, "spark", spark_conf=QUIET)
    scaled = PipelineData("scaled")
    factor = PipelineParameter("factor", default_value=2)
    scale = DatabricksStep(
        "scale",
        inputs=[raw],
        outputs=[scaled],
        python_script_name="spark_scale.py",
        python_script_params=["--factor", factor],
        source_directory=src,
        num_workers=2,
        existing_cluster_id="0123-456789-abcde",
        compute_target=spark,
    )
    read = PythonScriptStep(
        "spark_read.py", arguments=["--scaled", scaled], inputs=[scaled], source_directory=src, compute_target=spark
    )
    with pytest.warns(UserWarning, match="existing_cluster_id"):
        run = Experiment(workspace, "spark").submit(
            Pipeline(workspace, [scale, read]), pipeline_parameters={"factor": 3}
        )
    assert finish(run, timeout=600) == "Finished", run.get_details()
    spark_run, read_run = run.find_step_run("scale")[0], run.find_step_run("spark_read.py")[0]

    # the parameter's submitted value, then --<input> <path> and --<output> <path>, in that order
    argv = reported(spark_run, "SPARK_ARGV")
    assert argv[:3] == ["--factor", "3", "--raw"]
    assert argv[3].endswith("raw/data.csv") and Path(argv[3]).read_text(encoding="utf-8") == ROWS
    assert argv[4] == "--scaled" and len(argv) == 6
    assert reported(spark_run, "SPARK_MASTER") == "local[2]"  # num_workers=2 on a local master
    assert reported(read_run, "SCALED") == [
        {"id": "1", "value": "10", "scaled": "30.0"},
        {"id": "2", "value": "-5", "scaled": "-15.0"},
        {"id": "3", "value": "7", "scaled": "21.0"},
    ]
    assert spark_run.get_metrics() == {"rows": 3, "total": 36.0}

    # unchanged: nothing runs again, Spark is not started
    with pytest.warns(UserWarning, match="existing_cluster_id"):
        again = Experiment(workspace, "spark").submit(
            Pipeline(workspace, [scale, read]), pipeline_parameters={"factor": 3}
        )
    assert finish(again) == "Finished"
    reused = again.find_step_run("scale")[0]
    assert reused.get_reuse_info()["reused_from"] == spark_run.id
    assert again.find_step_run("spark_read.py")[0].get_reuse_info()["reused"] is True
    assert reused.get_metrics() == {"rows": 3, "total": 36.0}


@pytest.mark.spark
@pytest.mark.usefixtures("importable")
def test_a_failing_spark_script_fails_the_step_with_its_exception(workspace: Any, src: Path) -> None:
    step = SparkStep("boom", python_script_name="spark_fail.py", source_directory=src, spark_conf=QUIET)
    run = Experiment(workspace, "spark").submit(Pipeline(workspace, [step]))
    assert finish(run, timeout=600) == "Failed"
    failed = run.find_step_run("boom")[0]
    message = failed.get_details()["error"]["error"]["message"]
    assert "Spark script 'spark_fail.py' failed" in message
    assert "ValueError: no rows to scale" in message


@pytest.mark.spark
@pytest.mark.usefixtures("importable")
def test_notebook_step_runs_with_spark_and_dbutils_on_local_compute(
    workspace: Any, src: Path, raw: DataReference, tmp_path: Path
) -> None:
    kept = PipelineData("kept")
    step = DatabricksStep(
        "filter",
        inputs=[raw],
        outputs=[kept],
        notebook_path="spark_filter.ipynb",
        notebook_params={"threshold": PipelineParameter("threshold", default_value=0)},
        source_directory=src,
        spark_conf=QUIET,
    )
    run = Experiment(workspace, "spark").submit(Pipeline(workspace, [step]), pipeline_parameters={"threshold": 8})
    assert finish(run, timeout=600) == "Finished", run.get_details()
    step_run = run.find_step_run("filter")[0]
    assert "NB_MASTER local[*] 8" in step_run.get_stdout_log()  # the session's master; the widget holds the value
    assert step_run.get_metrics() == {"kept_rows": 1}
    assert "notebooks/spark_filter.ipynb" in step_run.get_file_names()
    out = Path(step_run.get_output_data("kept").download(tmp_path / "out", show_progress=False))
    parts = sorted(p for p in out.rglob("part-*.csv"))
    assert [p.read_text(encoding="utf-8") for p in parts] == ["id,value\n1,10\n"]


@pytest.mark.spark
@pytest.mark.usefixtures("importable")
def test_without_java_the_step_fails_with_what_to_install(
    workspace: Any, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no java anywhere
    monkeypatch.delenv("JAVA_HOME", raising=False)
    step = DatabricksStep("scale", python_script_name="spark_scale.py", source_directory=src)

    # on SparkCompute: refused before a process starts
    step.compute_target = SparkCompute(workspace, "spark")
    run = Experiment(workspace, "spark").submit(Pipeline(workspace, [step]))
    assert finish(run) == "Failed"
    message = run.find_step_run("scale")[0].get_details()["error"]["error"]["message"]
    assert "Spark needs Java 17 or newer" in message and "JAVA_HOME" in message

    # anywhere else (LocalCompute): the step process says the same
    context = tmp_path / "context.jsonl"
    spec = {"step": "scale", "kind": "script", "script": "spark_scale.py", "args": [], "run_name": "scale"}
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_amlpipe.compute.spark._runtime", json.dumps(spec)],
        cwd=src,
        env={**os.environ, "AMLPIPE_CONTEXT_FILE": str(context)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "Spark needs Java 17 or newer" in done.stderr
    assert "Spark needs Java" in json.loads(context.read_text(encoding="utf-8"))["message"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[str]:
    """A Spark standalone master and one worker on loopback; their URL. Ends only the two processes it started."""
    home = spark_home("the standalone cluster fixture")
    env = {**os.environ, "SPARK_HOME": home, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    url = f"spark://127.0.0.1:{_free_port()}"
    started: list[subprocess.Popen[bytes]] = []
    logs = {name: tmp_path / f"{name}.log" for name in ("master", "worker")}
    master_args = ["--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], "--webui-port", str(_free_port())]
    worker_args = ["--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--webui-port", str(_free_port()), url]
    try:
        for name, cls, args in (
            ("master", "org.apache.spark.deploy.master.Master", master_args),
            ("worker", "org.apache.spark.deploy.worker.Worker", worker_args),
        ):
            with open(logs[name], "wb") as log:
                started.append(
                    subprocess.Popen(
                        [os.path.join(home, "bin", "spark-class"), cls, *args],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 180
        while "Successfully registered with master" not in logs["worker"].read_text(errors="replace"):
            if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                pytest.fail(
                    "the standalone Spark cluster did not start:\n" + logs["worker"].read_text(errors="replace")
                )
            time.sleep(0.5)
        yield url
    finally:
        for proc in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.mark.spark
@pytest.mark.usefixtures("importable")
def test_spark_step_on_a_standalone_cluster(workspace: Any, src: Path, raw: DataReference, standalone: str) -> None:
    cluster = SparkCompute(
        workspace, "cluster", master=standalone, spark_conf={**QUIET, "spark.executor.memory": "512m"}
    )
    scaled = PipelineData("scaled")
    step = DatabricksStep(
        "scale",
        inputs=[raw],
        outputs=[scaled],
        python_script_name="spark_scale.py",
        python_script_params=["--factor", 10],
        source_directory=src,
        num_workers=2,
        compute_target=cluster,
    )
    read = PythonScriptStep("spark_read.py", arguments=["--scaled", scaled], inputs=[scaled], source_directory=src)
    run = Experiment(workspace, "spark").submit(Pipeline(workspace, [step, read]))
    assert finish(run, timeout=600) == "Finished", run.get_details()
    assert reported(run.find_step_run("scale")[0], "SPARK_MASTER") == standalone
    rows = reported(run.find_step_run("spark_read.py")[0], "SCALED")
    assert [r["scaled"] for r in rows] == ["100.0", "-50.0", "70.0"]


# -- a couple of conformance checks: other steps on a SparkCompute run as on LocalCompute ----------------------
class TestSparkComputeRunsOtherSteps(ComputeConformance):
    def make_target(self, workspace: Any, name: str = "conformance", max_concurrency: int | None = None) -> Any:
        return SparkCompute(workspace, name, max_concurrency=max_concurrency)

    # Only data, parameters and a failing step: the full suite runs on LocalCompute, whose process
    # handling SparkCompute shares.
    test_stdout_and_stderr_logs = None
    test_metrics_and_files_through_run_context = None
    test_timeout_stops_step = None
    test_cancel_stops_step_and_its_grandchild = None
    test_max_concurrency_is_honoured = None
    test_notebook_step_params_keep_json_types = None


# -- without Spark: definitions, settings, errors -------------------------------------------------------------
def test_inputs_and_outputs_follow_the_script_params(workspace: Any, raw: DataReference) -> None:
    out = PipelineData("scaled")
    step = DatabricksStep(
        "scale",
        inputs=[raw],
        outputs=[out],
        python_script_name="job.py",
        python_script_params=["--factor", PipelineParameter("factor", 2), "--mode", "fast"],
        spark_conf={"spark.sql.shuffle.partitions": 4, "spark.sql.ansi.enabled": True},
        num_workers=3,
    )
    program = step._program(fake_resolve, lambda v: getattr(v, "default_value", v))
    spec = program["spark"]
    assert program["type"] == "module" and program["module"] == "jupyter_amlpipe.compute.spark._runtime"
    assert json.loads(program["args"][0]) == spec
    assert spec["args"] == ["--factor", "2", "--mode", "fast", "--raw", "/data/raw", "--scaled", "/data/scaled"]
    assert spec["spark_conf"] == {"spark.sql.shuffle.partitions": "4", "spark.sql.ansi.enabled": "true"}
    assert spec["num_workers"] == 3 and spec["run_name"] == "scale"
    assert [p.name for p in step._parameters()] == ["factor"]


def test_notebook_gets_params_inputs_and_outputs_by_name(raw: DataReference) -> None:
    step = DatabricksStep(
        "nb",
        inputs=[raw],
        outputs=[PipelineData("kept")],
        notebook_path="filter.ipynb",
        notebook_params={"threshold": PipelineParameter("threshold", 5), "label": "x"},
        run_name="nightly filter",
    )
    spec = step._program(fake_resolve, lambda v: getattr(v, "default_value", v))["spark"]
    assert spec["kind"] == "notebook" and spec["run_name"] == "nightly filter"
    assert spec["parameters"] == {"threshold": 5, "label": "x", "raw": "/data/raw", "kept": "/data/kept"}
    assert [p.name for p in step._parameters()] == ["threshold"]


def test_definition_covers_what_changes_the_result() -> None:
    base = {"name": "s", "python_script_name": "job.py", "python_script_params": ["--a", "1"]}
    first = DatabricksStep(**base)._definition()  # type: ignore[arg-type]
    for change in (
        {"python_script_params": ["--a", "2"]},
        {"spark_conf": {"spark.sql.ansi.enabled": "true"}},
        {"spark_env_variables": {"MODE": "x"}},
        {"num_workers": 4},
    ):
        assert DatabricksStep(**{**base, **change})._definition() != first, change  # type: ignore[arg-type]
    notebook = DatabricksStep("s", notebook_path="a.ipynb", notebook_params={"k": 1})._definition()
    assert notebook != DatabricksStep("s", notebook_path="a.ipynb", notebook_params={"k": 2})._definition()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of python_script_name and notebook_path (neither given)"),
        ({"python_script_name": "a.py", "notebook_path": "a.ipynb"}, "(both given)"),
        ({"python_script_path": "dbfs:/scripts/train.py"}, "python_script_name='train.py'"),
        ({"main_class_name": "org.example.Main"}, "JAR steps (main_class_name, jar_params) are not supported"),
        ({"notebook_path": "/Users/me/prep"}, "must name a .ipynb notebook"),
        ({"python_script_name": "a.py", "num_workers": 0}, "num_workers must be a positive integer"),
        ({"python_script_name": "a.py", "notebook_params": {"k": 1}}, "notebook_params go with notebook_path"),
        ({"notebook_path": "a.ipynb", "python_script_params": ["--k"]}, "python_script_params go with"),
        ({"python_script_name": "a.py", "spark_conf": {"k": [1]}}, "spark_conf['k'] must be a string"),
        ({"python_script_name": "a.py", "min_workers": 4, "max_workers": 2}, "min_workers (4) is larger"),
    ],
)
def test_definition_errors_say_what_is_supported(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DefinitionError) as err:
        DatabricksStep("s", **kwargs)
    assert message in str(err.value)


def test_databricks_only_settings_are_noted_not_refused() -> None:
    step = DatabricksStep(
        "s",
        python_script_name="a.py",
        existing_cluster_id="abc",
        node_type="Standard_D3_v2",
        pypi_libraries=["pandas"],
        min_workers=1,
        max_workers=3,
    )
    notes = "\n".join(step._notes())
    assert "existing_cluster_id, node_type" in notes and "pypi_libraries" in notes
    assert "max_workers=3" in notes and step.workers == 3
    assert SparkCompute(name="x").check_step(step) == step._notes()


def test_num_workers_and_conf_become_spark_settings() -> None:
    spec = {"num_workers": 3, "spark_conf": {"spark.sql.shuffle.partitions": "8"}, "spark_env_variables": {"A": "1"}}
    master, conf = effective_settings(
        "local[*]", {"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"}, spec
    )
    assert master == "local[3]"
    assert conf["spark.sql.shuffle.partitions"] == "8" and conf["spark.ui.enabled"] == "false"  # step over compute
    assert conf["spark.executorEnv.A"] == "1"
    master, conf = effective_settings("spark://127.0.0.1:7077", {"spark.executor.cores": "2"}, spec)
    assert master == "spark://127.0.0.1:7077" and conf["spark.cores.max"] == "6"
    _, conf = effective_settings("yarn", {}, spec)
    assert conf["spark.executor.instances"] == "3"
    _, conf = effective_settings("local[2]", {}, {"spark_conf": {"spark.log.level": "INFO"}})
    assert conf["spark.log.level"] == "INFO"  # the default (WARN) gives way
    argv = submit_argv("/spark", "local[2]", {"b": "2", "a": "1"}, {"run_name": "job", "args": ["--x", "1"]}, "/w/s.py")
    assert argv == [
        *["/spark/bin/spark-submit", "--master", "local[2]", "--name", "job"],
        *["--conf", "a=1", "--conf", "b=2", "/w/s.py", "--x", "1"],
    ]


def test_the_last_exception_of_a_traceback_is_found() -> None:
    lines = [
        "INFO starting",
        "Traceback (most recent call last):",
        '  File "s.py", line 3',
        "    raise",
        "KeyError: 'x'",
    ]
    assert last_exception(lines) == "KeyError: 'x'"
    assert last_exception(["WARN nothing here"]) is None


def test_spark_compute_is_recorded_and_found_by_name(workspace: Any) -> None:
    SparkCompute(workspace, "cluster", master="spark://127.0.0.1:7077", spark_conf={"spark.executor.memory": "1g"})
    found = ComputeTarget(workspace, "cluster")
    assert isinstance(found, SparkCompute)
    assert (found.master, found.spark_conf) == ("spark://127.0.0.1:7077", {"spark.executor.memory": "1g"})
    assert found.status["master"] == "spark://127.0.0.1:7077"
    config = DatabricksCompute.attach_configuration(resource_group="rg", workspace_name="w", access_token="dapi-secret")
    attached = ComputeTarget.attach(workspace, "databricks", config)
    assert isinstance(attached, SparkCompute) and attached.master == "local[*]"
    assert isinstance(DatabricksCompute(workspace, "databricks"), SparkCompute)
    assert isinstance(attached, DatabricksCompute) and isinstance(found, DatabricksCompute)  # as v1 code checks
    assert not isinstance(workspace.get_default_datastore(), DatabricksCompute)
    assert "dapi-secret" not in json.dumps(workspace._store.get_named("compute_targets", "databricks"))


def test_the_compute_spark_conf_is_part_of_the_environment_key() -> None:
    plain = SparkCompute(name="a").describe_environment(None)
    tuned = SparkCompute(name="a", spark_conf={"spark.sql.ansi.enabled": True}).describe_environment(None)
    assert plain != tuned and tuned["spark"]["spark_conf"] == {"spark.sql.ansi.enabled": "true"}


def test_a_bad_master_is_refused() -> None:
    with pytest.raises(DefinitionError, match=r"'mesos-ish' is not a Spark master URL\. Use one of: local"):
        SparkCompute(name="x", master="mesos-ish")


def test_missing_pyspark_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPARK_HOME", raising=False)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    with pytest.raises(MissingExtraError) as err:
        spark_home("DatabricksStep 'scale'")
    assert 'pip install "jupyter_amlpipe[spark]"' in str(err.value)
    assert isinstance(err.value, ComputeError)


def test_a_recorded_pipeline_rebuilds_the_step(workspace: Any, raw: DataReference) -> None:
    step = DatabricksStep(
        "scale",
        inputs=[raw],
        outputs=[PipelineData("scaled")],
        python_script_name="job.py",
        python_script_params=["--factor", PipelineParameter("factor", 2)],
        spark_conf={"spark.sql.ansi.enabled": "true"},
        num_workers=2,
    )
    _, steps, _ = pipeline_from_dict(pipeline_to_dict(Pipeline(workspace, [step])), workspace)
    assert type(steps[0]) is DatabricksStep
    assert steps[0]._definition() == step._definition()
