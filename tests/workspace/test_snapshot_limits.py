"""Snapshots over v1's limits (2,000 files, 300 MB) still work, with a warning that says what to leave out."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline
from jupyter_amlpipe.steps import PythonScriptStep
from jupyter_amlpipe.workspace.snapshot import MAX_FILES, SnapshotStore


def many_files(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"row{i:05d}.txt").write_text(f"{i}\n")


def test_more_than_2000_files_warn_naming_the_folder_with_most_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("print('hi')\n")
    many_files(src / "cache", MAX_FILES - 1)
    store = SnapshotStore(tmp_path / "snapshots")

    at_limit = store.take(src)  # exactly 2,000 files
    assert at_limit.warning is None

    (src / "cache" / "one-more.txt").write_text("over\n")
    over = store.take(src)
    assert over.warning is not None
    assert "2,001 files (limit 2,000)" in over.warning
    assert "Most files: cache/ (2,000 files), main.py (1 file)" in over.warning
    assert repr(str(src / ".amlignore")) in over.warning
    assert "e.g. a line: /cache/" in over.warning
    assert len(store.load(over.id).files) == 2001  # the snapshot is complete all the same
    copy = store.materialize(over.id, tmp_path / "copy")
    assert (copy / "cache" / "one-more.txt").read_text() == "over\n"

    (src / ".amlignore").write_text("cache/\n")
    ignored = store.take(src)
    assert ignored.warning is None
    assert list(ignored.files) == [".amlignore", "main.py"]


def test_more_than_300_mb_warns_naming_the_biggest_entry(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "train.py").write_text("print('train')\n")
    (src / "data" / "small.csv").write_text("a,b\n1,2\n")
    (src / ".gitignore").write_text("*.log\n")
    with open(src / "data" / "huge.bin", "wb") as f:
        f.truncate(301 * 1024 * 1024)  # sparse: no disk space until the snapshot stores it

    snapshot = SnapshotStore(tmp_path / "snapshots").take(src)

    assert snapshot.warning is not None
    assert "301.0 MiB (limit 300.0 MiB)" in snapshot.warning
    assert snapshot.warning.splitlines()[1].startswith("Biggest by size: data/ (301.0 MiB), ")
    assert ".amlignore" in snapshot.warning and "it replaces .gitignore" in snapshot.warning
    assert "e.g. a line: /data/" in snapshot.warning
    assert snapshot.files["data/huge.bin"].size == 301 * 1024 * 1024


def test_submit_warns_once_per_source_directory_and_runs(workspace: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    many_files(src / "rows", MAX_FILES + 1)
    (src / "count.py").write_text("import os; print(len(os.listdir('rows')), 'rows')\n")
    first = PythonScriptStep("count.py", name="first", source_directory=src)
    second = PythonScriptStep("count.py", name="second", source_directory=src, arguments=["again"])

    with pytest.warns(UserWarning) as caught:
        run = Experiment(workspace, "limits").submit(Pipeline(workspace, [first, second]))
    status = run.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)

    about_size = [w for w in caught if ".amlignore" in str(w.message)]
    assert len(about_size) == 1
    assert "Most files: rows/ (2,001 files)" in str(about_size[0].message)
    assert about_size[0].filename == __file__  # it names the line that submitted
    assert status == "Finished"
    assert run.find_step_run("second")[0].get_stdout_log().strip() == "2001 rows"


def test_the_warning_stays_when_an_unchanged_tree_is_taken_again(tmp_path: Path) -> None:
    src = tmp_path / "src"
    many_files(src / "cache", MAX_FILES + 1)
    old = time.time() - 60  # older than the racy window, so the index trusts every file
    for path in (src / "cache").iterdir():
        os.utime(path, (old, old))
    store = SnapshotStore(tmp_path / "snapshots")
    first = store.take(src)
    assert first.warning is not None
    assert store.take(src).warning == first.warning  # same process: remembered snapshot
    SnapshotStore._memory_index.clear()  # as in a new process: the index and its warning come from disk
    SnapshotStore._memory_snapshots.clear()
    SnapshotStore._index_ids.clear()
    SnapshotStore._index_warnings.clear()
    again = SnapshotStore(tmp_path / "snapshots").take(src)
    assert again.id == first.id and again.warning == first.warning
