"""Snapshots of source directories: ignore rules, symlinks, ids, materializing, fast path."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

import pytest

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError, LookupFailed
from jupyter_amlpipe.workspace.objects import PACK_MAX_OBJECT, Batch
from jupyter_amlpipe.workspace.snapshot import RACY_NS, Snapshot, SnapshotStore


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _age(root: Path, seconds: float = 60.0) -> None:
    """Backdate every file, as if written a minute ago (older than the racy window)."""
    past = time.time_ns() - int(seconds * 1e9)
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.utime(path, ns=(past, past))


class CountingStore(SnapshotStore):
    """Counts how many files are read (and hashed) while taking snapshots."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def _digest_and_store(self, path: str, batch: Batch) -> str:
        self.reads.append(os.path.basename(path))
        return super()._digest_and_store(path, batch)


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


# -- ignore rules -----------------------------------------------------------------------
def test_amlignore_wins_over_gitignore_and_only_one_applies(store: SnapshotStore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": "", "notes.txt": "", "run.log": "", ".gitignore": "*.txt\n"})
    assert sorted(store.take(src).files) == [".gitignore", "run.log", "train.py"]
    (src / ".amlignore").write_text("*.log\n")
    assert sorted(store.take(src).files) == [".amlignore", ".gitignore", "notes.txt", "train.py"]


def test_nested_and_negated_patterns(store: SnapshotStore, tmp_path: Path) -> None:
    src = _tree(
        tmp_path / "src",
        {
            ".amlignore": "data/\n*.log\n!keep.log\nsub/*.tmp\n**/cache/*.bin\n/top.txt\n",
            "data/big.csv": "",
            "pkg/data/inner.csv": "",
            "a.log": "",
            "pkg/keep.log": "",
            "sub/x.tmp": "",
            "pkg/sub/x.tmp": "",
            "pkg/cache/w.bin": "",
            "top.txt": "",
            "pkg/top.txt": "",
            "train.py": "",
        },
    )
    assert sorted(store.take(src).files) == [
        ".amlignore",
        "pkg/keep.log",
        "pkg/sub/x.tmp",  # 'sub/*.tmp' is anchored to the source directory
        "pkg/top.txt",
        "train.py",
    ]


def test_git_pycache_and_checkpoints_are_always_left_out(store: SnapshotStore, tmp_path: Path) -> None:
    src = _tree(
        tmp_path / "src",
        {
            ".amlignore": "!.git\n!__pycache__/\n",
            ".git/config": "",
            "pkg/__pycache__/m.cpython-311.pyc": "",
            "nb/.ipynb_checkpoints/a-checkpoint.ipynb": "",
            "pkg/m.py": "",
        },
    )
    assert sorted(store.take(src).files) == [".amlignore", "pkg/m.py"]


# -- symlinks -----------------------------------------------------------------------------
def test_symlinks_inside_the_source_directory_are_followed(store: SnapshotStore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"real.txt": "content", "lib/util.py": "u = 1"})
    os.symlink("real.txt", src / "alias.txt")
    os.symlink("lib", src / "lib_link")
    files = store.take(src).files
    assert sorted(files) == ["alias.txt", "lib/util.py", "lib_link/util.py", "real.txt"]
    assert files["alias.txt"].sha256 == files["real.txt"].sha256
    out = store.materialize(store.take(src), tmp_path / "out")
    assert not (out / "alias.txt").is_symlink() and (out / "alias.txt").read_text() == "content"


def test_symlink_outside_the_source_directory_is_refused(store: SnapshotStore, tmp_path: Path) -> None:
    secret = _tree(tmp_path / "elsewhere", {"secret.txt": "s"}) / "secret.txt"
    src = _tree(tmp_path / "src", {"train.py": ""})
    os.symlink(secret, src / "data.txt")
    with pytest.raises(DefinitionError) as info:
        store.take(src)
    message = str(info.value)
    assert "'data.txt'" in message and str(secret) in message
    assert "Copy the file into the source directory or remove the link" in message
    (src / ".amlignore").write_text("data.txt\n")  # an ignored link is fine
    assert sorted(store.take(src).files) == [".amlignore", "train.py"]


def test_symlink_loop_is_refused(store: SnapshotStore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"sub/a.txt": ""})
    os.symlink("..", src / "sub" / "up")
    with pytest.raises(DefinitionError, match=r"'sub/up'.*its own parent"):
        store.take(src)


# -- ids and materializing -------------------------------------------------------------------
def test_same_content_same_id_and_any_change_a_new_id(store: SnapshotStore, tmp_path: Path) -> None:
    files = {"train.py": "print(1)\n", "conf/a.json": "{}"}
    first = store.take(_tree(tmp_path / "one", files))
    assert store.take(_tree(tmp_path / "two", files)).id == first.id  # content-addressed, not by path
    (tmp_path / "one" / "train.py").write_text("print(2)\n")  # one byte
    changed = store.take(tmp_path / "one")
    assert changed.id != first.id and changed.digest == changed.id
    (tmp_path / "one" / "train.py").chmod(0o755)
    assert store.take(tmp_path / "one").id != changed.id
    (tmp_path / "one" / "conf" / "a.json").rename(tmp_path / "one" / "conf" / "b.json")
    assert store.take(tmp_path / "one").id not in {first.id, changed.id}


def test_materialize_reproduces_files_and_modes(store: SnapshotStore, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": "print('hi')\n", "pkg/data.bin": "\x00\x01", "run.sh": "echo"})
    (src / "run.sh").chmod(0o755)
    snap = store.take(src)
    fresh = SnapshotStore(store.root)  # as another process would
    loaded = fresh.load(snap.id)
    assert loaded == snap and loaded.files == snap.files
    out = fresh.materialize(snap.id, tmp_path / "work")
    for rel in ("train.py", "pkg/data.bin", "run.sh"):
        assert (out / rel).read_bytes() == (src / rel).read_bytes()
    assert stat.S_IMODE((out / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "train.py").stat().st_mode) == 0o644


def test_objects_are_stored_once_and_no_temporary_files_remain(store: SnapshotStore, tmp_path: Path) -> None:
    big = os.urandom(PACK_MAX_OBJECT + 1)
    src = _tree(tmp_path / "src", {"a.txt": "same", "b.txt": "same", "c.txt": "other"})
    (src / "big.bin").write_bytes(big)
    snap = store.take(src)
    store.take(src)  # nothing new: no second pack
    packs = store.objects.packs()
    assert len(packs) == 1
    small = {snap.files[n].sha256 for n in ("a.txt", "b.txt", "c.txt")}
    assert set(packs[0].objects) == small and packs[0].size == len("same") + len("other")
    assert [sha for sha, _ in store.objects.loose()] == [hashlib.sha256(big).hexdigest()]
    leftovers = [p.name for p in store.root.rglob(".tmp-*")]
    assert leftovers == []
    assert store.manifest_path(snap.id).is_file()
    out = SnapshotStore(store.root).materialize(snap.id, tmp_path / "out")
    assert (out / "big.bin").read_bytes() == big and (out / "b.txt").read_text() == "same"


def test_a_damaged_pack_is_a_clear_error(store: SnapshotStore, tmp_path: Path) -> None:
    snap = store.take(_tree(tmp_path / "src", {"train.py": "print('hi')\n"}))
    (pack,) = store.objects.packs()
    pack.pack_path.write_bytes(b"")  # truncated
    with pytest.raises(AmlpipeError, match=r"'train\.py'.*missing or damaged.*submit the pipeline again"):
        store.materialize(snap.id, tmp_path / "out")


def test_unknown_snapshot_and_missing_source_are_clear_errors(store: SnapshotStore, tmp_path: Path) -> None:
    with pytest.raises(LookupFailed, match="No snapshot"):
        store.load("0" * 64)
    with pytest.raises(LookupFailed, match="not a snapshot id"):
        store.load("../../etc/passwd")
    with pytest.raises(DefinitionError, match="does not exist or is not a folder"):
        store.take(tmp_path / "missing")


def test_snapshot_of_an_empty_folder(store: SnapshotStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    snap = store.take(tmp_path / "empty")
    assert isinstance(snap, Snapshot) and snap.files == {}
    assert store.load(snap.id).files == {}


# -- the fast path ----------------------------------------------------------------------------
def test_second_take_of_an_unchanged_tree_reads_no_file(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": "x = 1\n", "lib/util.py": "y = 2\n"})
    _age(src)
    store = CountingStore(tmp_path / "snapshots")
    first = store.take(src)
    assert sorted(store.reads) == ["train.py", "util.py"]
    store.reads.clear()
    assert store.take(src).id == first.id
    assert store.reads == []
    SnapshotStore._memory_index.clear()  # a new process: the on-disk index answers
    other = CountingStore(tmp_path / "snapshots")
    assert other.take(src).id == first.id
    assert other.reads == []


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"train.py": "x = 1\n", "util.py": "y = 2\n"})
    _age(src)
    store = CountingStore(tmp_path / "snapshots")
    first = store.take(src)
    store.reads.clear()
    (src / "train.py").write_text("x = 3\n")  # same size, new mtime
    assert store.take(src).id != first.id
    assert store.reads == ["train.py"]


def test_a_file_written_just_before_a_snapshot_is_not_trusted_to_the_index(tmp_path: Path) -> None:
    # Within the timestamp granularity a rewrite can keep size, mtime and inode;
    # such young files are read again instead of being trusted.
    src = _tree(tmp_path / "src", {"train.py": "x = 1\n"})
    store = CountingStore(tmp_path / "snapshots")
    first = store.take(src)
    st = (src / "train.py").stat()
    with open(src / "train.py", "r+") as handle:  # same inode, same size
        handle.write("x = 2\n")
    os.utime(src / "train.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert time.time_ns() - st.st_mtime_ns < RACY_NS
    assert store.take(src).id != first.id
    assert store.reads == ["train.py", "train.py"]


def test_a_workspace_inside_the_source_directory_is_left_out(tmp_path: Path) -> None:
    from jupyter_amlpipe import Workspace

    src = tmp_path / "project"
    src.mkdir()
    (src / "train.py").write_text("print('hi')\n")
    Workspace.create("inner", path=src / "ws")
    store = SnapshotStore(tmp_path / "store")
    first = store.take(src)
    assert sorted(first.files) == ["train.py"]
    (src / "ws" / "runs" / "r1").mkdir(parents=True)
    (src / "ws" / "runs" / "r1" / "log.txt").write_text("new run\n")
    assert store.take(src).id == first.id
