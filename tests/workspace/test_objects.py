"""The object store under snapshots: packs for small files, loose files for large ones."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from jupyter_amlpipe.workspace.objects import ObjectStore


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_back(store: ObjectStore, data: bytes, tmp_path: Path) -> bytes:
    target = tmp_path / "copy"
    target.unlink(missing_ok=True)
    with store.reader() as reader:
        reader.copy_to(sha(data), len(data), target)
    return target.read_bytes()


def test_a_pack_is_seen_only_once_its_batch_closes(tmp_path: Path) -> None:
    writer, other = ObjectStore(tmp_path / "a"), ObjectStore(tmp_path / "a")
    with writer.batch() as batch:
        batch.add(sha(b"one"), b"one")
        batch.add(sha(b"one"), b"one")  # stored once
        other.refresh()
        assert not other.has(sha(b"one"))  # half-written packs are invisible
        assert [p.name for p in (tmp_path / "a" / "packs").iterdir() if not p.name.startswith(".tmp-")] == []
    ObjectStore._indexes.clear()  # as a new process would see the store
    fresh = ObjectStore(tmp_path / "a")
    assert fresh.size(sha(b"one")) == 3
    assert read_back(fresh, b"one", tmp_path) == b"one"
    (pack,) = fresh.packs()
    assert pack.size == 3
    assert json.loads(pack.index_path.read_text())["objects"] == {sha(b"one"): [0, 3]}


def test_a_failing_batch_keeps_what_it_wrote_whole(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    with pytest.raises(RuntimeError), store.batch() as batch:
        batch.add(sha(b"kept"), b"kept")
        raise RuntimeError("the walk failed")
    assert store.has(sha(b"kept"))
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_repack_keeps_only_wanted_objects(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    dead, live = b"x" * 10_000, b"live bytes"
    with store.batch() as batch:
        batch.add(sha(dead), dead)
        batch.add(sha(live), live)
    (old,) = store.packs()
    store.repack(old, {sha(live)})
    (new,) = store.packs()
    assert new.name != old.name and not old.pack_path.exists()
    assert set(new.objects) == {sha(live)} and new.size == len(live)
    assert not store.has(sha(dead))
    assert read_back(store, live, tmp_path) == live
    other = ObjectStore(tmp_path)
    other.refresh()
    assert other.has(sha(live)) and not other.has(sha(dead))


def test_a_pack_deleted_by_another_process_is_forgotten(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    with store.batch() as batch:
        batch.add(sha(b"gone"), b"gone")
    (pack,) = store.packs()
    pack.index_path.unlink()
    pack.pack_path.unlink()
    assert store.has(sha(b"gone"))  # until the store looks again
    store.refresh()
    assert not store.has(sha(b"gone"))
