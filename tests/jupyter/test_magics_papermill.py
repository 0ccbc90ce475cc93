"""The magics in a real kernel: a notebook using %load_ext and %%amlstep, executed by papermill."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from jupyter_amlpipe import Workspace

papermill = pytest.importorskip("papermill", reason="papermill runs the notebook (a core dependency)")
pytest.importorskip("IPython", reason="the magics need IPython (extra [jupyter])")

CELLS = [
    "%load_ext jupyter_amlpipe",
    """%%amlstep prep --inputs raw=workspaceblobstore:data/raw.csv --outputs clean --params scale=2
import os
values = [int(line.split(",")[1]) for line in open(raw).read().splitlines()[1:]]
with open(os.path.join(clean, "values.txt"), "w") as f:
    f.write(" ".join(str(v * scale) for v in values))
""",
    """%%amlstep total --inputs clean=prep.clean --outputs result --run
import os
numbers = [int(v) for v in open(os.path.join(clean, "values.txt")).read().split()]
print("sum is", sum(numbers))
with open(os.path.join(result, "sum.txt"), "w") as f:
    f.write(str(sum(numbers)))
""",
    "%amlpipe submit papermill-exp --param scale=5 -o run",
    "status = run.wait_for_completion(show_output=False, timeout_seconds=120)\nprint('final', status)",
]


def test_magics_run_in_a_real_kernel_through_papermill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create("pm", path=tmp_path / "ws")
    ws.write_config(tmp_path)
    (tmp_path / "raw.csv").write_text("id,value\n1,1\n2,2\n3,3\n", encoding="utf-8")
    ws.get_default_datastore().upload_files([str(tmp_path / "raw.csv")], target_path="data", show_progress=False)
    notebook = tmp_path / "pipeline-nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)
    # As jupyter_server does for the kernels it starts: the kernel learns the notebook's path.
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))

    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(notebook),
        str(executed),
        cwd=str(tmp_path),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=300,
    )

    out = nbformat.read(executed, as_version=4)
    text = lambda cell: "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")  # noqa: E731
    assert "[total] sum is 12" in text(out.cells[2])  # --run shows the step's output in the cell
    assert "final Finished" in text(out.cells[4])
    assert (tmp_path / ".amlpipe" / "pipeline-nb" / "prep" / "amlstep_cell.py").is_file()

    runs = {r["experiment"]: r for r in ws._store.list_runs()}
    assert set(runs) == {"pipeline-nb", "papermill-exp"}  # --run uses the notebook's name as experiment
    run = ws.get_run(runs["papermill-exp"]["id"])
    assert run.get_status() == "Finished"
    assert {s.name: s.get_status() for s in run.get_steps()} == {"prep": "Finished", "total": "Finished"}
    result = run.find_step_run("total")[0].get_output_data("result").download(tmp_path / "dl", show_progress=False)
    assert (Path(result) / "sum.txt").read_text(encoding="utf-8") == "30"
