"""%%amlstep and %amlpipe in-process, in IPython's testing shell, on a real workspace in tmp_path.

Each test loads the extension on a fresh magics instance, works in its own
``tmp_path`` (the cwd, which holds ``.azureml/config.json``) and runs real
pipelines on the local compute target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, PipelineData, Workspace
from jupyter_amlpipe.steps import PythonScriptStep

pytest.importorskip("IPython", reason="the magics need IPython (extra [jupyter])")

from IPython.core.error import UsageError

TIMEOUT = 120

PREP = """\
import os
rows = [line.split(",") for line in open(raw).read().splitlines()[1:]]
total = sum(int(r[1]) for r in rows) * factor
with open(os.path.join(clean, "total.txt"), "w") as f:
    f.write(str(total))
print("prep total", total)
"""

TRAIN = """\
import os
total = int(open(os.path.join(data, "total.txt")).read())
with open(os.path.join(model, "model.txt"), "w") as f:
    f.write(f"{label}:{total + 1}")
print("trained", label)
"""

EVALUATE = """\
import os
model_text = open(os.path.join(model, "model.txt")).read()
total = open(os.path.join(clean, "total.txt")).read()
with open(os.path.join(report, "report.txt"), "w") as f:
    f.write(f"model={model_text} total={total}")
"""


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """IPython's testing shell with the extension freshly loaded, working in tmp_path on a new workspace."""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    ip = _testing_shell()
    ip.reset(new_session=False)
    ws = Workspace.create("magics", path=tmp_path / "ws")
    ws.write_config(tmp_path)
    (tmp_path / "raw.csv").write_text("id,value\n1,10\n2,20\n3,12\n", encoding="utf-8")
    ws.get_default_datastore().upload_files(
        [str(tmp_path / "raw.csv")], target_path="data", overwrite=True, show_progress=False
    )
    ip.run_line_magic("load_ext", "jupyter_amlpipe")
    from jupyter_amlpipe.jupyter.magics import load_ipython_extension

    load_ipython_extension(ip)  # a fresh magics instance (and state) for this test
    magics(ip).run_timeout = TIMEOUT
    return ip


def _testing_shell() -> Any:
    """IPython's testing shell (one per process; start_ipython() returns it only the first time)."""
    from IPython.core.getipython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    return start_ipython() or get_ipython()


def magics(ip: Any) -> Any:
    return ip.magics_manager.registry["AmlpipeMagics"]


def state(ip: Any) -> Any:
    return magics(ip).state


def declare_three(ip: Any, train_notebook: bool = False) -> None:
    ip.run_cell_magic(
        "amlstep", "prep --inputs raw=workspaceblobstore:data/raw.csv --outputs clean --params factor=2", PREP
    )
    nb = " --notebook" if train_notebook else ""
    ip.run_cell_magic("amlstep", f"train --inputs data=prep.clean --outputs model --params label=base{nb}", TRAIN)
    ip.run_cell_magic("amlstep", "evaluate --inputs model=train.model clean=prep.clean --outputs report", EVALUATE)


def output_text(run: Any, step: str, output: str, name: str, dest: Path) -> str:
    folder = run.find_step_run(step)[0].get_output_data(output).download(dest, show_progress=False)
    return (Path(folder) / name).read_text(encoding="utf-8")


def test_three_cells_make_a_pipeline_that_runs(shell: Any, tmp_path: Path) -> None:
    before = set(shell.user_ns)
    declare_three(shell, train_notebook=True)
    assert list(state(shell).steps) == ["prep", "train", "evaluate"]
    assert set(shell.user_ns) == before  # declaring puts nothing in the namespace

    shell.run_line_magic("amlpipe", "submit magics-exp -o run")
    assert set(shell.user_ns) - before == {"run"}  # only the variable the user named
    run = shell.user_ns["run"]
    assert run.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT) == "Finished"
    assert {s.name: s.get_status() for s in run.get_steps()} == {
        "prep": "Finished",
        "train": "Finished",
        "evaluate": "Finished",
    }
    assert output_text(run, "prep", "clean", "total.txt", tmp_path / "dl") == "84"
    assert output_text(run, "train", "model", "model.txt", tmp_path / "dl") == "base:85"
    assert output_text(run, "evaluate", "report", "report.txt", tmp_path / "dl") == "model=base:85 total=84"

    # Pipeline parameters come from --params: submit can override them.
    shell.run_line_magic("amlpipe", "submit magics-exp --param factor=3 label=tuned -o run2")
    run2 = shell.user_ns["run2"]
    assert run2.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT) == "Finished"
    assert output_text(run2, "evaluate", "report", "report.txt", tmp_path / "dl2") == "model=tuned:127 total=126"


def test_each_cell_has_its_own_source_folder(shell: Any, tmp_path: Path) -> None:
    declare_three(shell)
    root = tmp_path / ".amlpipe" / "notebook"
    assert sorted(p.name for p in root.iterdir()) == ["evaluate", "prep", "train"]
    assert (root / "prep" / "amlstep_cell.py").read_text(encoding="utf-8") == PREP  # line for line
    train_file = root / "train" / "amlstep_cell.py"
    stamp = train_file.stat().st_mtime_ns
    shell.run_cell_magic(
        "amlstep", "prep --inputs raw=workspaceblobstore:data/raw.csv --outputs clean --params factor=2", PREP + "\n"
    )
    assert train_file.stat().st_mtime_ns == stamp  # editing one cell leaves the other steps' sources alone


def test_rerunning_a_cell_replaces_the_step_and_consumers_follow(shell: Any, tmp_path: Path) -> None:
    declare_three(shell)
    old_prep = state(shell).steps["prep"]
    shell.run_cell_magic(
        "amlstep",
        "prep --inputs raw=workspaceblobstore:data/raw.csv --outputs clean --params factor=2",
        PREP.replace("* factor", "* factor * 10"),
    )
    steps = state(shell).steps
    assert list(steps) == ["prep", "train", "evaluate"]  # no duplicate, same place
    assert steps["prep"] is not old_prep
    pipe = state(shell).pipeline()
    assert sorted(s.name for s in pipe.steps) == ["evaluate", "prep", "train"]
    clean = steps["train"].inputs[0]
    assert clean._producers == [steps["prep"]]  # the consumer now reads the new step's output

    run = state(shell).submit("replace")
    assert run.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT) == "Finished"
    assert output_text(run, "evaluate", "report", "report.txt", tmp_path / "dl") == "model=base:841 total=840"


def test_putting_back_an_output_a_cell_dropped_mends_its_readers(shell: Any, tmp_path: Path) -> None:
    write = "import os\nopen(os.path.join({out}, 'v.txt'), 'w').write('7')\n"
    shell.run_cell_magic("amlstep", "make --outputs clean", write.format(out="clean"))
    shell.run_cell_magic(
        "amlstep",
        "use --inputs d=make.clean --outputs twice",
        "import os\nopen(os.path.join(twice, 't.txt'), 'w').write(open(os.path.join(d, 'v.txt')).read() * 2)\n",
    )
    shell.run_cell_magic("amlstep", "make --outputs renamed", write.format(out="renamed"))  # 'use' now reads nothing
    with pytest.raises(UsageError, match="'clean' is an input of step 'use' but no step in the pipeline produces it"):
        shell.run_line_magic("amlpipe", "pipeline -o p")

    shell.run_cell_magic("amlstep", "make --outputs clean", write.format(out="clean"))  # the cell as it was

    assert state(shell).steps["use"].inputs[0]._producers == [state(shell).steps["make"]]
    run = state(shell).submit("mended")
    assert run.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT) == "Finished"
    assert output_text(run, "use", "twice", "t.txt", tmp_path / "dl") == "77"


def test_run_flag_runs_the_step_with_its_upstream_and_shows_output(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell_magic(
        "amlstep", "prep --inputs raw=workspaceblobstore:data/raw.csv --outputs clean --params factor=2", PREP
    )
    shell.run_cell_magic("amlstep", "train --inputs data=prep.clean --outputs model --params label=x --run", TRAIN)
    out = capsys.readouterr().out
    assert "[prep] prep total 84" in out
    assert "[train] trained x" in out
    run = state(shell).runs[-1]
    assert run.get_status() == "Finished"
    assert sorted(s.name for s in run.get_steps()) == ["prep", "train"]
    assert run.experiment.name == "notebook"

    shell.run_cell_magic("amlstep", "train --inputs data=prep.clean --outputs model --params label=y --run", TRAIN)
    out = capsys.readouterr().out
    assert "[train] trained y" in out
    second = state(shell).runs[-1]
    assert second.find_step_run("prep")[0].get_reuse_info()["reused"] is True
    assert second.find_step_run("train")[0].get_reuse_info()["reused"] is False


def test_a_cell_that_raises_fails_its_step_and_names_the_line(shell: Any) -> None:
    body = "x = 1\ny = 2\nraise ValueError(f'boom {x + y}')\nprint('never')\n"
    with pytest.raises(UsageError) as err:
        shell.run_cell_magic("amlstep", "bad --run", body)
    message = str(err.value)
    assert "Step 'bad' failed: ValueError: boom 3" in message
    assert "at line 3 of the %%amlstep bad cell: raise ValueError(f'boom {x + y}')" in message
    assert state(shell).runs[-1].find_step_run("bad")[0].get_status() == "Failed"
    assert 'amlstep_cell.py", line 3' in state(shell).runs[-1].find_step_run("bad")[0].get_stderr_log()


def test_a_cell_that_exits_quietly_says_how_it_ended(shell: Any) -> None:
    with pytest.raises(UsageError) as err:
        shell.run_cell_magic("amlstep", "quits --run", "import sys\nsys.exit(3)\n")
    assert "Step 'quits' failed: Script 'amlstep_main.py' exited with code 3." in str(err.value)


def test_a_notebook_cell_that_raises_names_the_line(shell: Any) -> None:
    body = "a = 1\nb = 0\nprint(a / b)\n"
    with pytest.raises(UsageError) as err:
        shell.run_cell_magic("amlstep", "nbbad --notebook --run", body)
    message = str(err.value)
    assert "Step 'nbbad' failed" in message
    assert "ZeroDivisionError" in message
    assert "at line 3 of the %%amlstep nbbad cell: print(a / b)" in message


def test_source_folder_helpers_are_importable(shell: Any, tmp_path: Path) -> None:
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "textutil.py").write_text("def shout(s):\n    return s.upper() + '!'\n", encoding="utf-8")
    shell.run_cell_magic(
        "amlstep",
        "greet --outputs out --source helpers --run",
        "import os\nfrom textutil import shout\nopen(os.path.join(out, 'g.txt'), 'w').write(shout('hi'))\n",
    )
    run = state(shell).runs[-1]
    assert output_text(run, "greet", "out", "g.txt", tmp_path / "dl") == "HI!"
    # A change in the helper folder reaches the next run (the folder is copied again on submit).
    (helpers / "textutil.py").write_text("def shout(s):\n    return s.upper() + '?'\n", encoding="utf-8")
    run = state(shell).submit(names=["greet"])
    assert run.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT) == "Finished"
    assert output_text(run, "greet", "out", "g.txt", tmp_path / "dl2") == "HI?"


def test_magics_and_python_api_mix(shell: Any, tmp_path: Path) -> None:
    ws = Workspace.from_config()
    src = tmp_path / "api_src"
    src.mkdir()
    (src / "make.py").write_text(
        "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(os.path.join(sys.argv[1], 'v.txt'), 'w').write('41')\n",
        encoding="utf-8",
    )
    seed = PipelineData("seed")
    shell.user_ns["seed"] = seed
    state(shell).add_step(
        PythonScriptStep("make.py", name="make", arguments=[seed], outputs=[seed], source_directory=str(src))
    )
    shell.run_cell_magic(
        "amlstep",
        "use --inputs s=seed --outputs result",
        "import os\nv = int(open(os.path.join(s, 'v.txt')).read())\nopen(os.path.join(result, 'r.txt'), 'w').write(str(v + 1))\n",
    )
    shell.run_cell_magic(
        "amlstep",
        "again --inputs m=make.seed --outputs twice",
        "import os\nopen(os.path.join(twice, 't.txt'), 'w').write(open(os.path.join(m, 'v.txt')).read() * 2)\n",
    )
    shell.run_line_magic("amlpipe", "pipeline -o p")
    pipe = shell.user_ns["p"]
    assert sorted(s.name for s in pipe.steps) == ["again", "make", "use"]
    run = Experiment(ws, "mixed").submit(pipe)
    assert run.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT) == "Finished"
    assert output_text(run, "use", "result", "r.txt", tmp_path / "dl") == "42"
    assert output_text(run, "again", "twice", "t.txt", tmp_path / "dl") == "4141"


def test_after_orders_steps_without_data(shell: Any, tmp_path: Path) -> None:
    marker = tmp_path / "order.txt"
    shell.run_cell_magic("amlstep", "first", f"open({str(marker)!r}, 'a').write('first ')\n")
    shell.run_cell_magic("amlstep", "second --after first --no-reuse", f"open({str(marker)!r}, 'a').write('second')\n")
    assert state(shell).steps["second"]._run_after == [state(shell).steps["first"]]
    assert state(shell).steps["second"].allow_reuse is False
    run = state(shell).submit("order")
    assert run.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT) == "Finished"
    assert marker.read_text(encoding="utf-8") == "first second"


# -- %amlpipe ---------------------------------------------------------------------------------
def test_amlpipe_help_lists_subcommands_and_explains_each(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("amlpipe", "help")
    out = capsys.readouterr().out
    for name in ("show", "submit", "status", "steps", "clear", "runs", "pipeline", "workspace"):
        assert f"  {name} " in out
    shell.run_line_magic("amlpipe", "submit --help")
    out = capsys.readouterr().out
    assert "usage: %amlpipe submit [-h] [--param K=V [K=V ...]] [-o VAR]" in out
    assert "EXPERIMENT" in out
    shell.run_line_magic("amlpipe", "help workspace")
    assert "--create" in capsys.readouterr().out
    shell.run_cell_magic("amlstep", "--help", "pass\n")
    assert "REF is an output of an earlier step (prep.clean)" in capsys.readouterr().out


def test_amlpipe_unknown_subcommand_lists_the_known_ones(shell: Any) -> None:
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("amlpipe", "submut exp")
    message = str(err.value)
    assert "unknown subcommand 'submut'. Did you mean 'submit'?" in message
    assert "  workspace  " in message and "  runs  " in message


def test_amlpipe_steps_status_runs_clear(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("amlpipe", "status")
    assert "No run from this notebook yet" in capsys.readouterr().out
    declare_three(shell)
    shell.run_line_magic("amlpipe", "steps")
    out = capsys.readouterr().out
    assert "train (cell)  inputs: prep.clean  outputs: model  params: label='base'" in out
    assert "prep (cell)  inputs: raw=workspaceblobstore:data/raw.csv" in out
    run = state(shell).submit("listing")
    run.wait_for_completion(show_output=False, timeout_seconds=TIMEOUT)
    shell.run_line_magic("amlpipe", "status")
    out = capsys.readouterr().out
    assert f"Run {run.id} (listing): Finished" in out
    assert "evaluate" in out and "Finished" in out
    shell.run_line_magic("amlpipe", "runs")
    out = capsys.readouterr().out
    assert f"* {run.id}  listing" in out
    with pytest.raises(UsageError, match=r"Step 'prep' cannot be removed: 'train', 'evaluate' use its outputs"):
        shell.run_line_magic("amlpipe", "clear prep")
    shell.run_line_magic("amlpipe", "clear evaluate")
    assert list(state(shell).steps) == ["prep", "train"]
    shell.run_line_magic("amlpipe", "clear")
    assert state(shell).steps == {}
    assert "Cleared the notebook's pipeline (2 step(s) forgotten)." in capsys.readouterr().out
    with pytest.raises(UsageError, match="has no steps yet"):
        shell.run_line_magic("amlpipe", "pipeline -o p")


def test_amlpipe_workspace_chooses_or_creates(shell: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "elsewhere"
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("amlpipe", f"workspace {missing}")
    assert f"No workspace at {missing}" in str(err.value)
    assert "--create" in str(err.value)
    shell.run_line_magic("amlpipe", f"workspace {missing} --create")
    assert state(shell).workspace.path == missing
    assert (missing / "workspace.json").is_file()
    shell.run_line_magic("amlpipe", "workspace")
    assert f"Workspace 'elsewhere' at {missing}" in capsys.readouterr().out
    shell.run_line_magic("amlpipe", f"workspace {tmp_path}")  # a folder holding .azureml/config.json
    assert state(shell).workspace.path == tmp_path / "ws"


def test_no_workspace_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_amlpipe.jupyter.magics import load_ipython_extension

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    ip = _testing_shell()
    load_ipython_extension(ip)
    ip.run_cell_magic("amlstep", "lonely --outputs o", "pass\n")  # declaring needs no workspace
    with pytest.raises(UsageError) as err:
        ip.run_line_magic("amlpipe", "submit exp")
    message = str(err.value)
    assert f"No workspace found: no .azureml/config.json in {tmp_path}" in message
    assert "%amlpipe workspace PATH --create" in message


def test_notebook_path_from_the_server_names_the_folders(
    shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_amlpipe.jupyter.magics import load_ipython_extension

    nb_dir = tmp_path / "analysis"
    nb_dir.mkdir()
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb_dir / "My Analysis.ipynb"))
    load_ipython_extension(shell)
    magics(shell).run_timeout = TIMEOUT
    shell.run_cell_magic("amlstep", "hello --run", "print('hello')\n")
    assert (nb_dir / ".amlpipe" / "My Analysis" / "hello" / "amlstep_cell.py").is_file()
    assert state(shell).runs[-1].experiment.name == "My-Analysis"


# -- bad input ------------------------------------------------------------------------------------
BAD_CASES = [
    (
        "unknown-ref",
        ["prep --outputs clean", "use --inputs x=nothere"],
        [
            "unknown REF 'nothere'",
            "step outputs: prep.clean",
            "namespace objects (DataReference, DataPath, PipelineData): ext",
            "datastore paths: workspaceblobstore:PATH, workspacefilestore:PATH",
        ],
    ),
    ("unknown-output", ["prep --outputs clean", "use --inputs x=prep.dirty"], ["step 'prep' has no output 'dirty'"]),
    (
        "unknown-datastore",
        ["use --inputs x=blobby:data/raw.csv"],
        ["the workspace has no datastore 'blobby'", "workspaceblobstore:PATH"],
    ),
    ("namespace-wrong-type", ["use --inputs x=number"], ["'number' in the namespace is a int, not a DataReference"]),
    (
        "cycle",
        ["a", "b --after a", "c --after b", "a --after c"],
        ["this would make a cycle: a → b → c → a", "Steps in the cycle: a, b, c"],
    ),
    ("data-cycle", ["a --outputs x", "b --inputs y=a.x --outputs z", "a --inputs w=b.z --outputs x"], ["cycle"]),
    ("self-after", ["a --after a"], ["a step cannot run after itself"]),
    ("duplicate-output", ["a --outputs out out"], ["duplicate output name 'out'"]),
    (
        "output-equals-input",
        ["p --outputs o", "a --inputs o=p.o --outputs o"],
        ["duplicate name 'o' (a input and a output)"],
    ),
    ("unknown-after", ["first", "a --after firstt"], ["--after names unknown step 'firstt'", "Did you mean 'first'?"]),
    ("bad-name", ["2fast"], ["step name '2fast' is not valid"]),
    ("bad-name-dash", ["my-step"], ["step name 'my-step' is not valid"]),
    ("bad-option", ["a --ouputs x"], ["unrecognized arguments: --ouputs x", "usage: %%amlstep"]),
    ("bad-assignment", ["a --inputs x"], ["--inputs takes NAME=VALUE items, got 'x'"]),
    ("unknown-compute", ["a --compute gpu-cluster"], ["unknown compute target 'gpu-cluster'"]),
    ("missing-source", ["a --source no/such/dir"], ["--source 'no/such/dir' is not a folder"]),
]


@pytest.mark.parametrize(("lines", "expected"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_bad_input_is_one_clear_message(shell: Any, lines: list[str], expected: list[str]) -> None:
    from jupyter_amlpipe import DataReference

    ws = Workspace.from_config()
    shell.user_ns["ext"] = DataReference(ws.get_default_datastore(), "ext", "data/raw.csv")
    shell.user_ns["number"] = 3
    for line in lines[:-1]:
        shell.run_cell_magic("amlstep", line, "pass\n")
    before = dict(state(shell).steps)
    with pytest.raises(UsageError) as err:
        shell.run_cell_magic("amlstep", lines[-1], "pass\n")
    for text in expected:
        assert text in str(err.value)
    assert state(shell).steps == before  # a refused cell changes nothing


def test_a_syntax_error_is_reported_at_declaration(shell: Any) -> None:
    with pytest.raises(UsageError) as err:
        shell.run_cell_magic("amlstep", "oops", "x = 1\nif x\n    pass\n")
    assert "the cell is not valid Python" in str(err.value)
    assert "at line 2 of the cell: 'if x'" in str(err.value)
    assert "oops" not in state(shell).steps


def test_a_conflicting_parameter_default_is_refused(shell: Any) -> None:
    shell.run_cell_magic("amlstep", "a --params lr=0.1", "pass\n")
    with pytest.raises(UsageError, match=r"'lr' is already a pipeline parameter with default 0.1 \(steps 'a'\)"):
        shell.run_cell_magic("amlstep", "b --params lr=0.2", "pass\n")
    shell.run_cell_magic("amlstep", "b --params lr=0.1", "pass\n")  # the same default is shared
    assert state(shell).steps["a"].params["lr"] is state(shell).steps["b"].params["lr"]


def test_import_jupyter_amlpipe_does_not_import_ipython() -> None:
    code = "import sys, jupyter_amlpipe, jupyter_amlpipe.jupyter; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_generated_notebook_has_a_parameters_cell(shell: Any, tmp_path: Path) -> None:
    shell.run_cell_magic("amlstep", "p --outputs clean", "pass\n")
    shell.run_cell_magic("amlstep", "nb --inputs d=p.clean --outputs m --params k=3 --notebook", "print(d, m, k)\n")
    nb = json.loads((tmp_path / ".amlpipe" / "notebook" / "nb" / "amlstep_cell.ipynb").read_text(encoding="utf-8"))
    cells = nb["cells"]
    assert cells[0]["metadata"]["tags"] == ["parameters"]
    assert "k = 3" in cells[0]["source"]
    assert "d = clean" in cells[1]["source"]
    assert cells[-1]["source"] == "print(d, m, k)"
