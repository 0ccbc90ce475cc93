"""The SQL step (AdlaStep / SqlStep) on embedded DuckDB: inputs by name, bound parameters, outputs, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Experiment, Pipeline, PipelineData, PipelineParameter
from jupyter_amlpipe.compute.runtime.sql import rewrite_params
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.steps import AdlaStep, SqlStep

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REPO = Path(__file__).resolve().parents[2]
WAIT = 120


def run_steps(workspace: Any, steps: list[Any], **parameters: Any) -> Any:
    run = Experiment(workspace, "sql").submit(Pipeline(workspace, steps), pipeline_parameters=parameters or None)
    run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False)
    return run


def error_of(run: Any) -> str:
    messages = [run.get_details().get("error", {}).get("error", {}).get("message", "")]
    for step_run in run.get_steps():
        messages.append(step_run.get_details().get("error", {}).get("error", {}).get("message", ""))
    return "\n".join(str(m) for m in messages if m)


@pytest.fixture
def data(workspace: Any, tmp_path: Path) -> Any:
    """``orders.csv`` (a CSV file) and ``customers/`` (a folder of two parquet files) on the default datastore."""
    import duckdb

    store = workspace.get_default_datastore()
    local = tmp_path / "data"
    (local / "customers").mkdir(parents=True)
    (local / "orders.csv").write_text(
        "order_id,customer_id,amount\n1,10,5.0\n2,10,50.0\n3,20,70.0\n4,30,80.0\n5,20,20.0\n", encoding="utf-8"
    )
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (VALUES (10, 'ann', 'north'), (20, 'bob', 'north')) t(customer_id, name, region)) "
        f"TO '{local / 'customers' / 'part-0.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        "COPY (SELECT * FROM (VALUES (30, 'cy', 'south')) t(customer_id, name, region)) "
        f"TO '{local / 'customers' / 'part-1.parquet'}' (FORMAT parquet)"
    )
    con.close()
    store.upload(str(local), target_path="shop", show_progress=False)
    return store


def filter_step(store: Any, region: Any, min_amount: Any = 20) -> tuple[AdlaStep, PipelineData, PipelineData]:
    picked, summary = PipelineData("picked", datastore=store), PipelineData("summary", datastore=store)
    step = AdlaStep(
        script_name="filter.sql",
        name="filter",
        inputs=[
            DataReference(store, "orders", "shop/orders.csv"),
            DataReference(store, "customers", "shop/customers"),
        ],
        outputs=[picked, summary],
        params={"min_amount": min_amount, "region": region},
        source_directory=ASSETS / "sql_filter",
    )
    return step, picked, summary


@pytest.mark.sql
def test_csv_and_parquet_inputs_with_parameters_write_the_outputs(workspace: Any, data: Any) -> None:
    import duckdb

    region = PipelineParameter("region", "north")
    step, _, _ = filter_step(data, region)
    run = run_steps(workspace, [step], region="north")
    assert run.get_status() == "Finished", error_of(run)
    step_run = run.find_step_run("filter")[0]
    picked = data.local_path(step_run.get_output_data("picked").path_on_datastore) / "picked.parquet"
    rows = duckdb.connect().execute(f"SELECT order_id, amount, name FROM read_parquet('{picked}')").fetchall()
    assert rows == [(2, 50.0, "ann"), (3, 70.0, "bob"), (5, 20.0, "bob")]
    summary = data.local_path(step_run.get_output_data("summary").path_on_datastore) / "summary.csv"
    assert summary.read_text(encoding="utf-8").splitlines() == ["n,total", "3,140.0"]
    log = step_run.get_stdout_log()
    assert "input 'customers': view over 2 parquet file(s)" in log
    assert "filter.sql line 2: CREATE TABLE picked AS" in log  # the log shows the statements by line

    # another parameter value reaches the script: a new run, other rows
    south = run_steps(workspace, [filter_step(data, region)[0]], region="south")
    assert south.get_status() == "Finished", error_of(south)
    out = data.local_path(south.find_step_run("filter")[0].get_output_data("picked").path_on_datastore)
    assert duckdb.connect().execute(f"SELECT order_id FROM read_parquet('{out}/picked.parquet')").fetchall() == [(4,)]


@pytest.mark.sql
def test_a_parameter_is_a_value_never_sql_text(workspace: Any, data: Any) -> None:
    hostile = "north' OR '1'='1"
    step, _, _ = filter_step(data, hostile)
    run = run_steps(workspace, [step])
    assert run.get_status() == "Finished", error_of(run)
    log = run.find_step_run("filter")[0].get_stdout_log()
    count_line = log.splitlines()[log.splitlines().index("  n") + 1]
    assert count_line.strip() == "0"  # no region is called that: the quote did not end a string


@pytest.mark.sql
def test_a_sql_error_names_the_script_and_the_line(workspace: Any, data: Any) -> None:
    step = SqlStep("bad.sql", name="bad", source_directory=ASSETS / "sql_error")
    run = run_steps(workspace, [step])
    assert run.get_status() == "Failed"
    message = error_of(run)
    assert "bad.sql line 5" in message, message
    assert "no_such_table" in message


@pytest.mark.sql
def test_an_unknown_dollar_name_says_what_is_known(workspace: Any, data: Any, tmp_path: Path) -> None:
    src = tmp_path / "q"
    src.mkdir()
    (src / "q.sql").write_text("SELECT 1;\nSELECT * FROM read_csv($order);\n", encoding="utf-8")
    step = AdlaStep("q.sql", inputs=[DataReference(data, "orders", "shop/orders.csv")], source_directory=src)
    run = run_steps(workspace, [step])
    assert run.get_status() == "Failed"
    assert "q.sql line 2: $order is not an input, output or parameter of this step. Did you mean 'orders'?" in (
        error_of(run)
    )


@pytest.mark.sql
def test_an_input_the_script_does_not_name_is_not_read(workspace: Any, data: Any, tmp_path: Path) -> None:
    """Only inputs the script names become views: a file that is not parquet at all is never opened."""
    data.local_path("shop/broken.parquet").write_bytes(b"not a parquet file")
    src = tmp_path / "q"
    src.mkdir()
    (src / "q.sql").write_text("SELECT count(*) AS n FROM orders;\n", encoding="utf-8")
    inputs = [DataReference(data, "orders", "shop/orders.csv"), DataReference(data, "spare", "shop/broken.parquet")]
    run = run_steps(workspace, [AdlaStep("q.sql", inputs=inputs, source_directory=src)])
    assert run.get_status() == "Finished", error_of(run)
    log = next(iter(run.get_steps())).get_stdout_log()
    assert "input 'orders': view over 1 csv file(s)" in log
    assert "input 'spare': " in log and "(not named in the script: no view; $spare gives the path)" in log
    (src / "q.sql").write_text("SELECT count(*) AS n FROM spare;\n", encoding="utf-8")
    named = run_steps(workspace, [AdlaStep("q.sql", inputs=inputs, source_directory=src)])
    assert named.get_status() == "Failed" and "broken.parquet" in error_of(named)


def test_without_duckdb_the_step_says_which_extra_to_install(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "duckdb.py").write_text("raise ImportError('No module named duckdb')\n", encoding="utf-8")
    (tmp_path / "q.sql").write_text("SELECT 1;\n", encoding="utf-8")
    spec = {"step": "q", "script": "q.sql", "inputs": {}, "outputs": {}, "params": {}}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO)])}
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_amlpipe.compute.runtime.sql", json.dumps(spec)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert 'pip install "jupyter_amlpipe[sql]"' in proc.stderr
    assert "AdlaStep 'q'" in proc.stderr


def test_at_names_are_rewritten_outside_strings_and_comments_only() -> None:
    sql = "SELECT @a, '@a', \"@a\", @b -- @a\n/* @a */ , @abc, 'it''s @a'"
    assert rewrite_params(sql, {"a"}) == "SELECT $a, '@a', \"@a\", @b -- @a\n/* @a */ , @abc, 'it''s @a'"


def test_definition_errors(workspace: Any) -> None:
    store = workspace.get_default_datastore()
    with pytest.raises(DefinitionError, match="rename one of them"):
        AdlaStep("q.sql", inputs=[DataReference(store, "orders", "x.csv")], params={"orders": 1})
    with pytest.raises(DefinitionError, match="degree_of_parallelism must be at least 1"):
        AdlaStep("q.sql", degree_of_parallelism=0)
    with pytest.raises(DefinitionError, match="needs a script_name"):
        AdlaStep("")
    assert SqlStep is AdlaStep


def test_the_step_is_named_after_its_script_by_default() -> None:
    """v1: "If unspecified, script_name is used" (as for PythonScriptStep)."""
    assert AdlaStep("queries/q.sql").name == "queries/q.sql"
    assert AdlaStep("q.sql", "named").name == "named"
