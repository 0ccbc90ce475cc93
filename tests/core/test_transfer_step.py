"""DataTransferStep: byte-for-byte copies between datastores, checked, feeding later steps."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Datastore, Experiment, Pipeline, PipelineData
from jupyter_amlpipe.compute.runtime import transfer as runtime
from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.steps import DataTransferStep, PythonScriptStep

ASSETS = Path(__file__).resolve().parents[1] / "assets"
WAIT = 120


def run_steps(workspace: Any, steps: list[Any]) -> Any:
    run = Experiment(workspace, "transfer").submit(Pipeline(workspace, steps))
    run.wait_for_completion(show_output=False, timeout_seconds=WAIT, raise_on_error=False)
    return run


def error_of(run: Any) -> str:
    """The run's error and each failed step's error (what `amlpipe show` and the widgets show)."""
    messages = [run.get_details().get("error", {}).get("error", {}).get("message", "")]
    for step_run in run.get_steps():
        messages.append(step_run.get_details().get("error", {}).get("error", {}).get("message", ""))
    return "\n".join(str(m) for m in messages if m)


def make_tree(root: Path) -> Path:
    """A folder with nested files, an empty file, a binary file bigger than one copy chunk and an empty folder."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty_folder").mkdir()
    (root / "a.csv").write_text("k,v\n1,10\n2,20\n", encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "sub" / "big.bin").write_bytes(os.urandom(runtime.CHUNK + 12345))
    (root / "sub" / "deeper" / "c.txt").write_text("deep\n", encoding="utf-8")
    return root


def assert_same_tree(left: Path, right: Path) -> None:
    def listing(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) + ("/" if p.is_dir() else "") for p in root.rglob("*"))

    assert listing(left) == listing(right)
    for path in left.rglob("*"):
        if path.is_file():
            assert filecmp.cmp(path, right / path.relative_to(left), shallow=False), path


@pytest.fixture
def stores(workspace: Any, tmp_path: Path) -> tuple[Any, Any]:
    """The default datastore holding ``raw/`` (a tree) and a second local datastore ``archive``."""
    store = workspace.get_default_datastore()
    store.upload(str(make_tree(tmp_path / "tree")), target_path="raw", show_progress=False)
    (store.local_path("raw") / "empty_folder").mkdir(exist_ok=True)  # uploads carry files only
    archive = Datastore.register_local(workspace, "archive", tmp_path / "archive")
    return store, archive


def test_directory_to_another_datastore_byte_for_byte(workspace: Any, stores: tuple[Any, Any], tmp_path: Path) -> None:
    store, archive = stores
    step = DataTransferStep(
        name="archive_raw",
        source_data_reference=store.path("raw"),
        destination_data_reference=DataReference(archive, "archived", "copies/raw"),
        source_reference_type="directory",
        destination_reference_type="directory",
    )
    run = run_steps(workspace, [step])
    assert run.get_status() == "Finished", error_of(run)
    assert_same_tree(store.local_path("raw"), tmp_path / "archive" / "copies" / "raw")
    assert (tmp_path / "archive" / "copies" / "raw" / "empty_folder").is_dir()
    assert not list((tmp_path / "archive").rglob(f"*{runtime.PARTIAL}"))
    out = run.find_step_run("archive_raw")[0].get_stdout_log()
    assert "transfer: 100% (" in out and "4 of 4 files" in out
    assert "the xxh3-128 checksum of every copy, read back, matched its source's" in out


def test_file_to_file_on_a_data_reference(workspace: Any, stores: tuple[Any, Any], tmp_path: Path) -> None:
    store, archive = stores
    step = DataTransferStep(
        name="one_file",
        source_data_reference=store.path("raw/sub/big.bin"),
        destination_data_reference=archive.path("files/big_copy.bin"),
        source_reference_type="file",
    )
    run = run_steps(workspace, [step])
    assert run.get_status() == "Finished", error_of(run)
    copied = tmp_path / "archive" / "files" / "big_copy.bin"
    assert copied.read_bytes() == (tmp_path / "tree" / "sub" / "big.bin").read_bytes()


def test_transfer_output_feeds_a_script_step(workspace: Any, stores: tuple[Any, Any], tmp_path: Path) -> None:
    store, _ = stores
    staged = PipelineData("staged", datastore=store)
    copied = PipelineData("copied", datastore=store)
    transfer = DataTransferStep(
        name="stage", source_data_reference=store.path("raw"), destination_data_reference=staged
    )
    src = tmp_path / "src"
    src.mkdir()
    shutil.copyfile(ASSETS / "rt_copy.py", src / "rt_copy.py")
    consumer = PythonScriptStep(
        "rt_copy.py",
        name="consume",
        arguments=["--src", staged, "--dest", copied],
        inputs=[staged],
        outputs=[copied],
        source_directory=src,
    )
    run = run_steps(workspace, [consumer, transfer])  # ordered by the data, not the list
    assert run.get_status() == "Finished", error_of(run)
    port = run.find_step_run("consume")[0].get_output_data("copied")
    target = store.local_path(port.path_on_datastore)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    assert {p.name for p in files} == {"a.csv", "empty.txt", "big.bin", "c.txt"}
    for f in files:
        assert f.read_bytes() == next((tmp_path / "tree").rglob(f.name)).read_bytes()


def test_a_file_into_pipeline_data_is_a_file_for_the_consumer(
    workspace: Any, stores: tuple[Any, Any], tmp_path: Path
) -> None:
    store, _ = stores
    one = PipelineData("one_file")
    src = tmp_path / "src"
    src.mkdir()
    (src / "read.py").write_text(
        "import sys, hashlib, os\nprint('isfile', os.path.isfile(sys.argv[1]))\n"
        "print('sha', hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())\n",
        encoding="utf-8",
    )
    transfer = DataTransferStep(
        name="pick",
        source_data_reference=store.path("raw/a.csv"),
        destination_data_reference=one,
        source_reference_type="file",
    )
    reader = PythonScriptStep("read.py", name="read", arguments=[one], inputs=[one], source_directory=src)
    run = run_steps(workspace, [transfer, reader])
    assert run.get_status() == "Finished", error_of(run)
    out = run.find_step_run("read")[0].get_stdout_log()
    assert "isfile True" in out
    assert hashlib.sha256((tmp_path / "tree" / "a.csv").read_bytes()).hexdigest() in out


def test_an_earlier_runs_output_port_is_a_source(workspace: Any, stores: tuple[Any, Any], tmp_path: Path) -> None:
    """v1 accepts a PortDataReference (``step_run.get_output_data(name)``) as source_data_reference."""
    store, archive = stores
    staged = PipelineData("staged", datastore=store)
    first = run_steps(workspace, [DataTransferStep("stage", store.path("raw"), staged)])
    assert first.get_status() == "Finished", error_of(first)
    port = first.find_step_run("stage")[0].get_output_data("staged")
    again = DataTransferStep("archive", port, DataReference(archive, "archived", "from_port"), allow_reuse=False)
    run = run_steps(workspace, [again])
    assert run.get_status() == "Finished", error_of(run)
    assert_same_tree(store.local_path(port.path_on_datastore), tmp_path / "archive" / "from_port")


def test_unchanged_source_is_reused_and_changed_source_copies_again(
    workspace: Any, stores: tuple[Any, Any], tmp_path: Path
) -> None:
    store, archive = stores

    def step() -> DataTransferStep:
        return DataTransferStep("copy", store.path("raw/a.csv"), archive.path("a.csv"), source_reference_type="file")

    assert run_steps(workspace, [step()]).get_status() == "Finished"
    again = run_steps(workspace, [step()])
    assert again.find_step_run("copy")[0].get_reuse_info()["reused"] is True
    (tmp_path / "tree" / "a.csv").write_text("k,v\n9,90\n", encoding="utf-8")
    store.upload_files([str(tmp_path / "tree" / "a.csv")], target_path="raw", overwrite=True, show_progress=False)
    changed = run_steps(workspace, [step()])
    assert changed.get_status() == "Finished", error_of(changed)
    assert changed.find_step_run("copy")[0].get_reuse_info()["reused"] is False
    assert (tmp_path / "archive" / "a.csv").read_text(encoding="utf-8") == "k,v\n9,90\n"


# -- the check of every copy ---------------------------------------------------------------------
def local_spec(source: Path, destination: Path) -> dict[str, Any]:
    return {"step": "s", "source": str(source), "kind": "directory", "destination": {"path": str(destination)}}


def test_a_copy_that_differs_from_its_source_fails_and_leaves_no_file(tmp_path: Path, monkeypatch: Any) -> None:
    """A copy the storage altered (here: one byte flipped as it was written) fails the step; nothing is left
    under the file's name or as a partial file, and the files already checked stay."""
    source = make_tree(tmp_path / "tree")
    copy = runtime.kernel_copy

    def corrupting_copy(src: str, dst: str) -> None:
        copy(src, dst)
        if src.endswith("big.bin"):
            with open(dst, "r+b") as f:
                f.seek(1000)
                byte = f.read(1)
                f.seek(1000)
                f.write(bytes([byte[0] ^ 1]))

    monkeypatch.setattr(runtime, "kernel_copy", corrupting_copy)
    monkeypatch.setattr(runtime, "workers_for", lambda count: 1)  # in order: a.csv, empty.txt, sub/big.bin, ...
    with pytest.raises(runtime.TransferError, match=r"checksum mismatch for .*big\.bin.*xxh3-128 of the source"):
        runtime.transfer(local_spec(source, tmp_path / "copy"), runtime.LocalSide(), str(tmp_path / "copy"))
    assert not (tmp_path / "copy" / "sub" / "big.bin").exists()
    assert not list((tmp_path / "copy").rglob(f"*{runtime.PARTIAL}"))
    assert (tmp_path / "copy" / "a.csv").read_bytes() == (source / "a.csv").read_bytes()


def test_a_source_that_changes_while_it_is_copied_fails_the_step(tmp_path: Path, monkeypatch: Any) -> None:
    source = make_tree(tmp_path / "tree")
    copy = runtime.kernel_copy

    def copy_then_append(src: str, dst: str) -> None:
        copy(src, dst)
        with open(src, "ab") as f:  # another process appends to the source meanwhile
            f.write(b"more")

    monkeypatch.setattr(runtime, "kernel_copy", copy_then_append)
    with pytest.raises(runtime.TransferError, match=r"the source file .* changed while it was copied"):
        runtime.transfer(local_spec(source, tmp_path / "copy"), runtime.LocalSide(), str(tmp_path / "copy"))
    assert not list((tmp_path / "copy").rglob(f"*{runtime.PARTIAL}"))


def test_a_filesystem_without_copy_file_range_is_copied_with_sendfile(tmp_path: Path, monkeypatch: Any) -> None:
    import errno

    def refuse(*args: Any) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    source = make_tree(tmp_path / "tree")
    runtime.transfer(local_spec(source, tmp_path / "copy"), runtime.LocalSide(), str(tmp_path / "copy"))
    assert_same_tree(source, tmp_path / "copy")


def test_a_filesystem_where_copy_file_range_copies_nothing_is_copied_with_sendfile(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """copy_file_range answers 0 at once for pseudo-files and some FUSE and network filesystems."""
    monkeypatch.setattr(os, "copy_file_range", lambda *args: 0, raising=False)
    source = make_tree(tmp_path / "tree")
    runtime.transfer(local_spec(source, tmp_path / "copy"), runtime.LocalSide(), str(tmp_path / "copy"))
    assert_same_tree(source, tmp_path / "copy")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fallocate(2) is Linux's")
def test_preallocation_reserves_the_blocks_of_the_copy(tmp_path: Path) -> None:
    target = tmp_path / "reserved.bin"
    with open(target, "wb") as f:
        assert runtime.preallocate(f.fileno(), 8 << 20), f"fallocate refused on {tmp_path}"
    assert target.stat().st_size == 0  # FALLOC_FL_KEEP_SIZE: reserved, not yet written
    assert target.stat().st_blocks * 512 >= 8 << 20


def test_without_xxhash_the_check_is_sha256(tmp_path: Path) -> None:
    """A step process whose Python lacks xxhash (a container image with the standard library only)."""
    source = make_tree(tmp_path / "tree")
    spec = json.dumps(local_spec(source, tmp_path / "copy"))
    code = (
        "import sys; sys.modules['xxhash'] = None\n"  # makes `import xxhash` fail as if not installed
        "from jupyter_amlpipe.compute.runtime import transfer\n"
        "sys.exit(transfer.main(sys.argv[1:]))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(runtime.__file__).parents[3])}  # this checkout's package
    done = subprocess.run([sys.executable, "-c", code, spec], capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert "the sha256 checksum of every copy, read back, matched its source's" in done.stdout
    assert_same_tree(source, tmp_path / "copy")


def test_progress_lines_count_the_checked_bytes(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setattr(runtime, "PROGRESS_EVERY", 0.0)
    source = make_tree(tmp_path / "tree")
    runtime.transfer(local_spec(source, tmp_path / "copy"), runtime.LocalSide(), str(tmp_path / "copy"))
    lines = [line for line in capsys.readouterr().out.splitlines() if "%" in line]
    assert lines and lines[-1].startswith("transfer: 100% (") and "4 of 4 files" in lines[-1]


# -- errors ---------------------------------------------------------------------------------------
def test_a_missing_source_fails_the_step_and_says_what_to_do(workspace: Any, stores: tuple[Any, Any]) -> None:
    store, archive = stores
    step = DataTransferStep("copy", store.path("raw/nope.csv"), archive.path("x.csv"), source_reference_type="file")
    run = run_steps(workspace, [step])
    assert run.get_status() == "Failed"
    message = error_of(run)
    assert "'raw/nope.csv'" in message and "does not exist" in message
    assert "Upload it first" in message


def test_a_folder_declared_as_a_file_names_the_fix(workspace: Any, stores: tuple[Any, Any], tmp_path: Path) -> None:
    store, archive = stores
    step = DataTransferStep("copy", store.path("raw"), archive.path("raw_copy"), source_reference_type="file")
    run = run_steps(workspace, [step])
    assert run.get_status() == "Failed"
    message = error_of(run)
    assert "is a directory, but source_reference_type is 'file'" in message
    assert "source_reference_type='directory'" in message
    assert not (tmp_path / "archive" / "raw_copy").exists()


def test_definition_errors_name_the_fix(workspace: Any) -> None:
    store = workspace.get_default_datastore()
    with pytest.raises(DefinitionError, match=r"file to file or directory to directory\. Set both to 'file'"):
        DataTransferStep("x", store.path("a"), store.path("b"), "local", "file", "directory")
    with pytest.raises(DefinitionError, match="must be 'file' or 'directory', got 'folder'"):
        DataTransferStep("x", store.path("a"), store.path("b"), source_reference_type="folder")
    with pytest.raises(DefinitionError, match="destination_data_reference must be a DataReference"):
        DataTransferStep("x", store.path("a"), "b/c.csv")
    with pytest.raises(DefinitionError, match="source_data_reference must be"):
        DataTransferStep("x", "a.csv", store.path("b"))
    with pytest.raises(DefinitionError, match="is_directory=True but the transfer copies a file"):
        DataTransferStep("x", store.path("a"), PipelineData("p", is_directory=True), source_reference_type="file")
    with pytest.raises(DefinitionError, match="a file destination needs a path_on_datastore"):
        DataTransferStep("x", store.path("a"), store.as_mount(), source_reference_type="file")


def test_a_checksum_mismatch_fails_with_a_message(tmp_path: Path) -> None:
    """Storage that alters what was written (here: one byte appended before the read-back) is caught."""
    import fsspec

    class AlteringSide(runtime.FsspecSide):
        def open_read(self, path: str) -> Any:
            self.fs.pipe_file(path, self.fs.cat_file(path) + b"!")
            return super().open_read(path)

    source = tmp_path / "src.bin"
    source.write_bytes(b"payload")
    spec = {"step": "s", "source": str(source), "kind": "file", "destination": {"datastore": "m"}}
    side = AlteringSide(fsspec.filesystem("memory"))
    with pytest.raises(runtime.TransferError, match=r"checksum mismatch for .*d\.bin.*xxh3-128 of the source"):
        runtime.transfer(spec, side, f"/e-{tmp_path.name}/d.bin")


def test_the_runtime_reports_a_destination_inside_the_source(tmp_path: Path, capsys: Any) -> None:
    make_tree(tmp_path / "tree")
    spec = {
        "step": "s",
        "source": str(tmp_path / "tree"),
        "kind": None,
        "destination": {"path": str(tmp_path / "tree" / "sub")},
    }
    assert runtime.main([json.dumps(spec)]) == 1
    err = capsys.readouterr().err
    assert "DataTransferStep 's': the destination" in err and "is the source or inside it" in err
    assert not list((tmp_path / "tree" / "sub").rglob("a.csv"))


@pytest.mark.docker
def test_a_transfer_runs_in_a_container_on_docker_compute(
    workspace: Any, stores: tuple[Any, Any], tmp_path: Path
) -> None:
    from jupyter_amlpipe.compute import DockerCompute

    store, _ = stores
    staged = PipelineData("staged", datastore=store)
    compute = DockerCompute(workspace=workspace, name="dock", read_only_inputs=False)
    step = DataTransferStep("in_docker", store.path("raw"), staged, compute_target=compute)
    run = run_steps(workspace, [step])
    assert run.get_status() == "Finished", error_of(run)
    port = run.find_step_run("in_docker")[0].get_output_data("staged")
    assert_same_tree(store.local_path("raw"), store.local_path(port.path_on_datastore))
