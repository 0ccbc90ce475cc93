"""Datastores: defaults, registration, v1 upload/download semantics, path safety."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, MissingExtraError
from jupyter_amlpipe.workspace.datastore import Datastore
from jupyter_amlpipe.workspace.paths import is_within, normalize_relpath, safe_join

ESCAPES = ["../x", "/etc/passwd", "a/../../x", "..\\x"]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        _write(root / rel, text)
    return root


@pytest.fixture
def ws(workspace: Any) -> Any:
    return workspace


@pytest.fixture
def memory_store(ws: Any) -> Iterator[Datastore]:
    """A datastore on fsspec's in-memory filesystem, removed afterwards."""
    import fsspec

    bucket = f"t-{uuid.uuid4().hex[:8]}"
    yield Datastore.register_fsspec(ws, "mem", f"memory://{bucket}")
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{bucket}"):
        fs.rm(f"/{bucket}", recursive=True)


# -- defaults and lookup -------------------------------------------------------------
def test_default_datastores_are_local_folders_of_the_workspace(ws: Any) -> None:
    stores = ws.datastores
    assert list(stores) == ["workspaceblobstore", "workspacefilestore"]
    assert stores["workspaceblobstore"].datastore_type == "AzureBlob"
    assert stores["workspacefilestore"].datastore_type == "AzureFile"
    for name, store in stores.items():
        folder = store.local_path()
        assert folder == ws.path / "datastores" / name
        assert folder.is_dir()
    assert ws.get_default_datastore().name == "workspaceblobstore"
    assert Datastore(ws).name == "workspaceblobstore"
    assert Datastore(ws, "workspacefilestore") == Datastore.get(ws, "workspacefilestore")


def test_set_default_datastore_changes_what_datastore_without_name_returns(ws: Any) -> None:
    ws.set_default_datastore("workspacefilestore")
    assert Datastore(ws).name == "workspacefilestore"
    assert [n for n, s in ws.datastores.items() if s.is_default] == ["workspacefilestore"]


def test_unknown_datastore_name_suggests_the_close_one_and_how_to_register(ws: Any) -> None:
    with pytest.raises(LookupFailed) as info:
        Datastore(ws, "workspaceblobstor")
    message = str(info.value)
    assert "did you mean 'workspaceblobstore'" in message.lower()
    assert "Datastore.register_local(" in message
    with pytest.raises(LookupFailed):
        ws.set_default_datastore("nope")


# -- registration ----------------------------------------------------------------------
def test_register_local_maps_path_on_datastore_to_a_file_under_the_folder(ws: Any, tmp_path: Path) -> None:
    folder = tmp_path / "shared" / "data"
    store = Datastore.register_local(ws, "shared", str(folder))
    assert folder.is_dir()
    store.upload_files([str(_write(tmp_path / "in" / "a.csv", "1,2"))], target_path="raw/2024")
    assert (folder / "raw" / "2024" / "a.csv").read_text() == "1,2"
    assert store.local_path("raw/2024/a.csv") == folder / "raw" / "2024" / "a.csv"
    reopened = type(ws)(path=ws.path)  # another process would see the same record
    assert Datastore.get(reopened, "shared").local_path() == folder


def test_register_again_is_idempotent_but_a_different_config_needs_overwrite(ws: Any, tmp_path: Path) -> None:
    Datastore.register_local(ws, "d", tmp_path / "one")
    assert Datastore.register_local(ws, "d", tmp_path / "one").local_path() == tmp_path / "one"
    with pytest.raises(DefinitionError, match="overwrite=True"):
        Datastore.register_local(ws, "d", tmp_path / "two")
    assert Datastore.get(ws, "d").local_path() == tmp_path / "one"
    Datastore.register_local(ws, "d", tmp_path / "two", overwrite=True)
    assert Datastore.get(ws, "d").local_path() == tmp_path / "two"


def test_register_fsspec_plain_path_is_a_local_folder(ws: Any, tmp_path: Path) -> None:
    store = Datastore.register_fsspec(ws, "plain", f"file://{tmp_path / 'f'}")
    assert store.local_path("x") == tmp_path / "f" / "x"


def test_register_fsspec_unknown_protocol_is_refused(ws: Any) -> None:
    with pytest.raises(DefinitionError, match=r"no protocol 'memori'.*memory"):
        Datastore.register_fsspec(ws, "bad", "memori://x")
    assert "bad" not in ws.datastores


def test_invalid_datastore_name_is_refused(ws: Any, tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="letters, digits and underscores"):
        Datastore.register_local(ws, "my store", tmp_path)


def test_azure_blob_without_adlfs_names_the_extra_to_install(ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "adlfs", None)  # as if the [azure] extra were not installed
    with pytest.raises(MissingExtraError, match=r'pip install "jupyter_amlpipe\[azure\]"'):
        Datastore.register_azure_blob_container(ws, "blob", "container", "account", account_key="k")
    assert "blob" not in ws.datastores


# -- memory filesystem round trip ----------------------------------------------------
def test_memory_datastore_round_trip(memory_store: Datastore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"a.txt": "A", "sub/b.txt": "B"})
    ref = memory_store.upload(str(src), target_path="in")
    assert ref.path_on_datastore == "in"
    assert memory_store.local_path() is None
    assert memory_store.list_files() == ["in/a.txt", "in/sub/b.txt"]
    assert memory_store.download(str(tmp_path / "out")) == 2
    assert (tmp_path / "out" / "in" / "sub" / "b.txt").read_text() == "B"


def test_runner_copies_folders_to_and_from_a_datastore(memory_store: Datastore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "out", {"model.bin": "m", "metrics/m.json": "{}"})
    assert memory_store.put_from_local(src, "azureml/run1/model") == 2
    assert memory_store.exists("azureml/run1/model/metrics/m.json")
    assert memory_store.list_files("azureml/run1/model") == [
        "azureml/run1/model/metrics/m.json",
        "azureml/run1/model/model.bin",
    ]
    assert memory_store.list_files("azureml/run1/mod") == []  # folders, not string prefixes
    assert memory_store.get_to_local("azureml/run1/model", tmp_path / "back") == 2
    assert (tmp_path / "back" / "metrics" / "m.json").read_text() == "{}"
    with pytest.raises(LookupFailed, match="Nothing at 'nope'"):
        memory_store.get_to_local("nope", tmp_path / "x")


# -- upload_files ------------------------------------------------------------------
def test_upload_files_from_one_folder_land_directly_under_target_path(ws: Any, tmp_path: Path) -> None:
    store = Datastore(ws)
    files = [str(_write(tmp_path / "in" / name, name)) for name in ("a.txt", "b.txt")]
    ref = store.upload_files(files, target_path="t", show_progress=False)
    assert ref.path_on_datastore == "t"
    assert store.list_files() == ["t/a.txt", "t/b.txt"]


def test_upload_files_keeps_paths_relative_to_relative_root(ws: Any, tmp_path: Path) -> None:
    store = Datastore(ws)
    files = [_write(tmp_path / "in" / "x" / "deep" / "a.txt", "a"), _write(tmp_path / "in" / "y" / "b.txt", "b")]
    store.upload_files(files, relative_root=str(tmp_path), target_path="t", show_progress=False)
    assert store.list_files() == ["t/in/x/deep/a.txt", "t/in/y/b.txt"]
    store.upload_files(files, target_path="common", show_progress=False)  # default: their common folder
    assert store.list_files("common") == ["common/x/deep/a.txt", "common/y/b.txt"]
    with pytest.raises(DefinitionError, match="not under relative_root"):
        store.upload_files(files, relative_root=str(tmp_path / "in" / "x"), show_progress=False)


def test_upload_files_skips_existing_files_unless_overwrite(
    ws: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Datastore(ws)
    source = _write(tmp_path / "a.txt", "old")
    store.upload_files([str(source)], target_path="t", show_progress=False)
    source.write_text("new")
    store.upload_files([str(source)], target_path="t", show_progress=False)
    assert (store.local_path("t/a.txt") or Path()).read_text() == "old"
    assert "skipped 1 existing file(s)" in capsys.readouterr().err
    store.upload_files([str(source)], target_path="t", overwrite=True, show_progress=False)
    assert (store.local_path("t/a.txt") or Path()).read_text() == "new"


def test_upload_files_with_a_missing_file_uploads_nothing(ws: Any, tmp_path: Path) -> None:
    store = Datastore(ws)
    good = _write(tmp_path / "good.txt", "g")
    with pytest.raises(DefinitionError, match=r"missing\.txt.*does not exist.*Nothing was uploaded"):
        store.upload_files([str(good), str(tmp_path / "missing.txt")], show_progress=False)
    assert store.list_files() == []


# -- upload and download ----------------------------------------------------------
def test_upload_puts_the_contents_of_src_dir_directly_under_target_path(ws: Any, tmp_path: Path) -> None:
    store = Datastore(ws)
    src = _tree(tmp_path / "src", {"a.txt": "a", "sub/b.txt": "b"})
    store.upload(str(src), target_path="data", show_progress=False)
    assert store.list_files() == ["data/a.txt", "data/sub/b.txt"]
    store.upload(str(src), show_progress=False)
    assert store.exists("a.txt") and store.exists("sub/b.txt")
    with pytest.raises(DefinitionError, match="not an existing folder"):
        store.upload(str(tmp_path / "nope"))


def test_download_by_prefix_counts_files_and_keeps_existing_ones(ws: Any, tmp_path: Path) -> None:
    store = Datastore(ws)
    src = _tree(tmp_path / "src", {"data/train.csv": "tr", "data/test.csv": "test", "other/x.txt": "x"})
    store.upload(str(src), show_progress=False)
    out = tmp_path / "out"
    assert store.download(str(out), prefix="data/tr", show_progress=False) == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["data/train.csv"]
    (out / "data" / "train.csv").write_text("local edit")
    assert store.download(str(out), show_progress=False) == 2  # train.csv exists locally: kept
    assert (out / "data" / "train.csv").read_text() == "local edit"
    assert store.download(str(out), overwrite=True, show_progress=False) == 3
    assert (out / "data" / "train.csv").read_text() == "tr"
    assert store.download(str(tmp_path / "none"), prefix="nothing/", show_progress=False) == 0


# -- path safety ----------------------------------------------------------------------
@pytest.mark.parametrize("bad", ESCAPES)
def test_paths_that_leave_the_datastore_are_refused(ws: Any, tmp_path: Path, bad: str) -> None:
    store = Datastore(ws)
    src = _tree(tmp_path / "src", {"a.txt": "a"})
    with pytest.raises(DefinitionError, match="datastore 'workspaceblobstore'"):
        store.upload(str(src), target_path=bad, show_progress=False)
    with pytest.raises(DefinitionError, match="datastore 'workspaceblobstore'"):
        store.upload_files([str(src / "a.txt")], target_path=bad, show_progress=False)
    with pytest.raises(DefinitionError, match="datastore 'workspaceblobstore'"):
        store.download(str(tmp_path / "out"), prefix=bad, show_progress=False)
    with pytest.raises(DefinitionError, match="datastore 'workspaceblobstore'"):
        store.path(bad)
    with pytest.raises(DefinitionError):
        store.put_from_local(src, bad)
    assert store.list_files() == []
    assert not (ws.path / "datastores" / "x").exists() and not (tmp_path / "out").exists()


def test_escape_messages_say_what_to_do(ws: Any) -> None:
    store = Datastore(ws)
    with pytest.raises(DefinitionError) as info:
        store.path("../x")
    assert str(info.value) == (
        "path '../x' escapes the root of datastore 'workspaceblobstore': use a path relative to that root, "
        "without '..'."
    )
    with pytest.raises(DefinitionError, match=r"drop the leading '/'.*'etc/passwd'"):
        store.path("/etc/passwd")


def test_path_helpers_return_data_references(ws: Any) -> None:
    store = Datastore(ws)
    ref = store.path("raw\\2024/./a.csv", data_reference_name="raw")
    assert (ref.path_on_datastore, ref.data_reference_name, ref.mode) == ("raw/2024/a.csv", "raw", "mount")
    assert ref.datastore == store
    assert store.as_mount().mode == "mount"
    download = store.as_download(path_on_compute="data")
    assert (download.mode, download.path_on_compute, download.path_on_datastore) == ("download", "data", None)


def test_relative_path_rules() -> None:
    assert normalize_relpath("a\\b/../c", "datastore 'd'") == "a/c"
    assert safe_join("/", "etc", "datastore 'root'") == "/etc"
    assert safe_join("", "a/b", "datastore 'm'") == "a/b"
    with pytest.raises(DefinitionError, match="empty"):
        normalize_relpath("", "datastore 'd'")
    with pytest.raises(DefinitionError, match="NUL"):
        normalize_relpath("a\x00b", "datastore 'd'")
    with pytest.raises(DefinitionError, match="absolute"):
        normalize_relpath("C:\\x", "datastore 'd'")


def test_is_within_resolves_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = _write(tmp_path / "outside.txt", "x")
    os.symlink(outside, root / "link")
    assert is_within(root, root / "a" / "b")
    assert not is_within(root, root / "link")
