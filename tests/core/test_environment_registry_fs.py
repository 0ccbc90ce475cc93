"""The environment registry on filesystems without hard links, and registrations at the same moment."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Environment
from jupyter_amlpipe.core import environment_registry
from jupyter_amlpipe.errors import LookupFailed


def _no_hard_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """The filesystem refuses hard links, as some network and FUSE mounts do."""

    def refuse(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(dst))

    monkeypatch.setattr(os, "link", refuse)


def _env(name: str, package: str) -> Environment:
    env = Environment(name)
    env.python.conda_dependencies.add_pip_package(package)
    return env


def _folder(workspace: Any, name: str) -> Path:
    return Path(workspace.path) / "environments" / name


def test_register_without_hard_links(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_hard_links(monkeypatch)
    assert _env("sk", "scikit-learn").register(workspace).version == "1"
    assert _env("sk", "scikit-learn").register(workspace).version == "1"  # unchanged: same version
    assert _env("sk", "pandas").register(workspace).version == "2"

    folder = _folder(workspace, "sk")
    assert sorted(p.name for p in folder.iterdir()) == ["1.json", "2.json"]  # no temporary file or lock left
    assert json.loads((folder / "2.json").read_text())["python"]["pip"] == ["pandas"]
    latest = Environment.get(workspace, "sk")
    assert (latest.version, latest.python.conda_dependencies.pip_packages) == ("2", ["pandas"])


def test_simultaneous_writers_without_hard_links_get_distinct_versions(
    workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_hard_links(monkeypatch)
    packages = [f"package-{i}" for i in range(6)]
    start = threading.Barrier(len(packages))
    got: dict[str, str] = {}

    def register(package: str) -> None:
        start.wait()
        got[package] = str(_env("shared", package).register(workspace).version)

    threads = [threading.Thread(target=register, args=(p,)) for p in packages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(got.values(), key=int) == [str(i) for i in range(1, len(packages) + 1)]
    for package, version in got.items():
        stored = Environment.get(workspace, "shared", version=version)
        assert stored.python.conda_dependencies.pip_packages == [package]


def test_a_version_still_being_written_is_skipped(workspace: Any) -> None:
    _env("sk", "scikit-learn").register(workspace)
    folder = _folder(workspace, "sk")
    (folder / "2.json").write_bytes(b"")  # taken with O_EXCL by a writer that has not written it yet
    (folder / "3.json").write_bytes(b'{"name": "sk", "pyth')  # half written

    assert Environment.get(workspace, "sk").version == "1"
    assert Environment.list(workspace)["sk"].version == "1"
    assert _env("sk", "scikit-learn").register(workspace).version == "1"  # unchanged from the latest complete one
    assert _env("sk", "pandas").register(workspace).version == "4"  # never one of the versions taken
    with pytest.raises(LookupFailed, match=r"2\.json cannot be read \(it may still be being written"):
        Environment.get(workspace, "sk", version="2")


def test_identical_registrations_at_the_same_moment_add_one_version(
    workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync
    others: list[threading.Thread] = []
    results: list[str] = []

    def fsync_while_another_registers(fd: int) -> None:
        real_fsync(fd)
        if not others:  # the first writer has checked "unchanged?" and is storing its version: the second comes
            other = threading.Thread(
                target=lambda: results.append(str(_env("same", "numpy").register(workspace).version))
            )
            others.append(other)
            other.start()
            other.join(timeout=1.0)  # it either finishes now (no lock) or waits for this writer (lock)

    monkeypatch.setattr(os, "fsync", fsync_while_another_registers)
    results.append(str(_env("same", "numpy").register(workspace).version))
    others[0].join()

    assert results == ["1", "1"]
    assert sorted(p.name for p in _folder(workspace, "same").iterdir()) == ["1.json"]


def test_a_lock_left_by_a_dead_process_is_broken(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment_registry, "LOCK_STALE_SECONDS", 0.2)
    folder = _folder(workspace, "sk")
    folder.mkdir(parents=True)
    (folder / environment_registry.LOCK_NAME).write_text("99999 crashed-writer")

    assert _env("sk", "scikit-learn").register(workspace).version == "1"
    assert sorted(p.name for p in folder.iterdir()) == ["1.json"]
