"""Freeing space: delete the runs, outputs and snapshots that nothing kept needs (``amlpipe gc``).

What is kept:

- **pipeline runs**: with ``keep_last=N`` the N most recent ended runs of each
  experiment, otherwise all of them; a run that has not ended (NotStarted,
  Queued, Running) is always kept;
- **step runs**: those of kept pipeline runs, and the step runs they reused
  (``details["reused_from"]``, the execution that made the outputs). Those keep
  their outputs and reuse entries, so later submissions still reuse them; the
  pipeline run that holds such a step run keeps its record too (only its
  other step runs go);
- **snapshots**: the manifests that kept step runs ran with, those that the
  recorded pipelines of kept runs and of remaining Failed or Canceled runs
  name (a resume runs them), and those of published pipelines; the stored
  files that kept manifests list.

Everything else goes: the records of other runs (runs, metrics, events, reuse
entries), their run folders under ``<workspace>/runs/``, their outputs on the
datastores (``azureml/<step run id>/``), run folders no record knows, and the
leftover ``staging/``, ``inputs/`` and ``wd/`` folders of ended step runs
(a Failed step keeps ``wd/``, its working folder, for debugging).

The order keeps the workspace consistent if gc is interrupted: reuse entries
go first (no new submission picks a doomed result), then files, then records,
then snapshots; what remains is found again by the next gc. Runs that are in
progress keep what they use; run gc while no pipeline is being *submitted*, as
a submission that takes its snapshot during a gc may find files of it removed
(its steps then fail, asking to submit again).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError, LookupFailed
from jupyter_amlpipe.runner.plan import recorded_pipeline
from jupyter_amlpipe.runner.runs import TERMINAL, reconcile
from jupyter_amlpipe.workspace.snapshot import format_size

__all__ = ["GcReport", "collect_garbage", "format_size"]

# Folders of a step run that only matter while it runs.
LEFTOVERS = ("staging", "inputs", "wd")
_CHUNK = 400  # ids per SQL statement (SQLite allows 999 parameters)


@dataclass
class GcReport:
    """What a gc deleted (or, with ``dry_run``, would delete) and the space it freed."""

    dry_run: bool
    kept_runs: list[str] = field(default_factory=list)  # pipeline runs kept whole
    held_runs: list[str] = field(default_factory=list)  # pipeline runs kept for step runs that kept runs reuse
    pipeline_runs: list[str] = field(default_factory=list)  # pipeline runs deleted
    step_runs: list[str] = field(default_factory=list)  # step runs deleted
    reuse_entries: int = 0
    cleaned_step_runs: int = 0  # kept step runs whose leftover folders were removed
    orphan_folders: int = 0  # run folders that no run record knows
    manifests: int = 0
    objects: int = 0
    freed: dict[str, int] = field(default_factory=dict)  # what -> bytes
    problems: list[str] = field(default_factory=list)

    @property
    def freed_bytes(self) -> int:
        """All bytes freed (or that would be)."""
        return sum(self.freed.values())


def _published_snapshot_ids(ws: Any) -> set[str]:
    """Snapshot ids that published pipelines run with (enabled or not); gc keeps them and the files they list."""
    ids: set[str] = set()
    for record in ws._store.list_docs("published_pipelines"):
        ids.update(record["doc"].get("snapshot_ids", []))
        ids.update(s["snapshot_id"] for s in record["doc"].get("pipeline", {}).get("steps", []) if s.get("snapshot_id"))
    return ids


class _Space:
    """Bytes that deleting paths frees: a file counts once all its hard links are among them."""

    def __init__(self) -> None:
        self._inodes: dict[tuple[int, int], list[Any]] = {}  # (dev, ino) -> [size, nlink, links seen, what]
        self._remote: dict[str, int] = {}

    def measure(self, path: Path, what: str) -> None:
        try:
            st = path.lstat()
        except OSError:
            return
        if not path.is_dir() or path.is_symlink():
            self._add(st, what)
            return
        for folder, dirs, files in os.walk(path):
            for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                try:
                    self._add(os.lstat(os.path.join(folder, name)), what)
                except OSError:
                    continue

    def _add(self, st: os.stat_result, what: str) -> None:
        entry = self._inodes.setdefault((st.st_dev, st.st_ino), [st.st_size, st.st_nlink, 0, what])
        entry[2] += 1
        entry[3] = what

    def add_size(self, what: str, size: int) -> None:
        self._remote[what] = self._remote.get(what, 0) + size

    def totals(self) -> dict[str, int]:
        out = dict(self._remote)
        for size, nlink, seen, what in self._inodes.values():
            if seen >= nlink:
                out[what] = out.get(what, 0) + size
        return out


@dataclass
class _Scan:
    """The workspace's runs as gc sees them, and what is kept."""

    pipelines: dict[str, dict[str, Any]]
    steps: dict[str, dict[str, Any]]
    kept: set[str]  # pipeline runs kept whole
    needed: set[str]  # step runs kept

    def holders(self) -> set[str]:
        """Pipeline runs kept only for the step runs they hold."""
        parents = {self.steps[s].get("parent_id") for s in self.needed if s in self.steps}
        return {p for p in parents if p is not None and p in self.pipelines} - self.kept

    def doomed_steps(self) -> list[str]:
        return [s for s in self.steps if s not in self.needed]

    def doomed_pipelines(self) -> list[str]:
        spared = self.kept | self.holders()
        return [p for p in self.pipelines if p not in spared]


def collect_garbage(ws: Any, keep_last: int | None = None, dry_run: bool = False) -> GcReport:
    """Delete what no kept run, reuse entry or published pipeline needs; report what was freed.

    Args:
        ws: the workspace.
        keep_last: keep only the N most recent ended pipeline runs of each
            experiment (and what they reuse); None keeps every run and only
            removes leftovers, orphaned folders and unused snapshots.
        dry_run: delete nothing; report what would be deleted and freed.
    """
    if keep_last is not None and keep_last < 1:
        raise DefinitionError(f"keep_last must be at least 1, got {keep_last}.", keep_last=keep_last)
    started = time.time()
    store = ws._store
    scan = _scan(ws, keep_last)
    report = GcReport(dry_run=dry_run, kept_runs=sorted(scan.kept))
    space = _Space()

    doomed = scan.doomed_steps()
    dangling = store.reuse_entry_runs() - set(scan.steps)
    entries = (set(doomed) | dangling) & store.reuse_entry_runs()
    report.reuse_entries = len(entries)
    if not dry_run:
        store.delete_reuse_entries(sorted(entries))  # first: no new submission can pick these results now
        rescued = _in_progress_needs(ws, scan)[0] & set(doomed)
        scan.needed |= rescued
        doomed = [s for s in doomed if s not in rescued]

    stuck = _delete_step_files(ws, scan, doomed, space, report)
    doomed = [s for s in doomed if s not in stuck]
    stuck_parents = {scan.steps[s].get("parent_id") for s in stuck}
    pipelines = [p for p in scan.doomed_pipelines() if p not in stuck_parents]
    for run_id in pipelines:
        _remove(ws.run_dir(run_id), "run folders", space, report)
    if not dry_run:
        forget = [ws.run_dir(i) for i in [*doomed, *pipelines]] + [
            p for s in doomed for p in _output_paths(ws, scan, s)
        ]
        _delete_runs(store, [*doomed, *pipelines], forget=forget)
    report.step_runs = sorted(doomed)
    report.pipeline_runs = sorted(pipelines)
    report.held_runs = sorted(set(scan.pipelines) - scan.kept - set(pipelines))

    _clean_leftovers(ws, scan, space, report)
    _remove_orphan_folders(ws, scan, space, report)
    _sweep_snapshots(ws, scan, started, space, report)
    report.freed = space.totals()
    return report


# -- which runs are kept ---------------------------------------------------------------------
def _scan(ws: Any, keep_last: int | None) -> _Scan:
    store = ws._store
    pipelines = {}
    store = ws._store
    for record in store.list_runs(None, "pipeline"):  # newest first
        if record["status"] not in TERMINAL:
            record = reconcile(ws, record)  # a run whose process died is Failed now
        pipelines[record["id"]] = record
    steps = {r["id"]: r for r in store.list_runs(None, "step")}
    kept: set[str] = set()
    ended_per_experiment: dict[str, int] = {}
    for run_id, record in pipelines.items():
        if record["status"] not in TERMINAL or keep_last is None:
            kept.add(run_id)
            continue
        seen = ended_per_experiment.get(record["experiment"], 0)
        if seen < keep_last:
            kept.add(run_id)
            ended_per_experiment[record["experiment"]] = seen + 1
    if keep_last is None:
        needed = set(steps)
    else:
        needed = {s for s, r in steps.items() if r.get("parent_id") in kept}
        needed |= {o for s in list(needed) if (o := steps[s]["details"].get("reused_from")) and o in steps}
    return _Scan(pipelines, steps, kept, needed)


def _in_progress_needs(ws: Any, scan: _Scan) -> tuple[set[str], set[str]]:
    """Step runs and snapshots that runs in progress (or submitted since the scan) use now."""
    steps: set[str] = set()
    snapshots: set[str] = set()
    store = ws._store
    for record in store.list_runs(None, "pipeline"):
        if record["status"] in TERMINAL and record["id"] in scan.pipelines:
            continue
        snapshots |= _pipeline_snapshots(ws, record)
        for child in store.child_runs(record["id"]):
            steps.add(child["id"])
            if child["details"].get("reused_from"):
                steps.add(child["details"]["reused_from"])
            if child["details"].get("snapshot_id"):
                snapshots.add(child["details"]["snapshot_id"])
    return steps, snapshots


def _pipeline_snapshots(ws: Any, record: dict[str, Any]) -> set[str]:
    """The snapshot ids a pipeline run's recorded pipeline names (what a resume would run)."""
    doc = recorded_pipeline(ws, record["id"]) or {}
    return {s["snapshot_id"] for s in doc.get("steps", []) if isinstance(s, dict) and s.get("snapshot_id")}


# -- deleting runs -------------------------------------------------------------------------------
def _output_paths(ws: Any, scan: _Scan, step_id: str) -> list[Path]:
    """Local folders ``azureml/<step run id>`` that a step run wrote its outputs to."""
    out = []
    for name in _output_datastores(scan.steps[step_id], step_id):
        try:
            local = _datastore(ws, name).local_path(f"azureml/{step_id}")
        except AmlpipeError:
            continue
        if local is not None:
            out.append(local)
    return out


def _output_datastores(record: dict[str, Any], step_id: str) -> set[str]:
    """Datastores holding this step run's own outputs (a reused step run's outputs belong to another)."""
    prefix = f"azureml/{step_id}/"
    outputs = record["details"].get("outputs", {})
    return {o["datastore"] for o in outputs.values() if str(o.get("path", "")).startswith(prefix)}


def _datastore(ws: Any, name: str) -> Any:
    from jupyter_amlpipe.workspace.datastore import Datastore

    return Datastore.get(ws, name)


def _delete_step_files(ws: Any, scan: _Scan, doomed: Sequence[str], space: _Space, report: GcReport) -> set[str]:
    """Delete the outputs and run folders of doomed step runs; return those that could not be deleted."""
    stuck: set[str] = set()
    for step_id in doomed:
        for name in sorted(_output_datastores(scan.steps[step_id], step_id)):
            try:
                _remove_output(ws, name, step_id, space, report.dry_run)
            except Exception as exc:  # a remote store may be unreachable: keep the record, retry next time
                stuck.add(step_id)
                report.problems.append(
                    f"Could not delete the outputs of step run {step_id} on datastore {name!r}: "
                    f"{type(exc).__name__}: {exc}. Its record is kept; run gc again later."
                )
        if step_id not in stuck and not _remove(ws.run_dir(step_id), "run folders", space, report):
            stuck.add(step_id)
    return stuck


def _remove_output(ws: Any, name: str, step_id: str, space: _Space, dry_run: bool) -> None:
    try:
        store = _datastore(ws, name)
    except LookupFailed:
        return  # the datastore was unregistered: its files are no longer the workspace's
    rel = f"azureml/{step_id}"
    local = store.local_path(rel)
    if local is not None:
        if local.exists() or local.is_symlink():
            space.measure(local, "outputs")
            if not dry_run:
                _rm(local)
        return
    fs = store._fs
    full = store._full_path(rel)
    if not fs.exists(full):
        return
    with contextlib.suppress(Exception):  # the size is only for the report
        space.add_size("outputs", int(fs.du(full, total=True)))
    if not dry_run:
        fs.rm(full, recursive=True)


def _rm(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _remove(path: Path, what: str, space: _Space, report: GcReport) -> bool:
    """Measure and (unless dry run) delete a local file or folder; False when it could not be deleted."""
    if not (path.exists() or path.is_symlink()):
        return True
    space.measure(path, what)
    if report.dry_run:
        return True
    try:
        _rm(path)
    except OSError as exc:
        report.problems.append(f"Could not delete {str(path)!r}: {exc}.")
        return False
    return True


def _delete_runs(store: Any, ids: Sequence[str], forget: Iterable[Path] = ()) -> None:
    """Delete the records of runs: the runs, their metrics, events and reuse entries, and cached digests.

    ``forget``: folders whose files' cached content digests go too (they were deleted).
    """
    ids = list(ids)
    with store.write() as conn:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM events WHERE root_id IN ({marks}) OR run_id IN ({marks})", [*chunk, *chunk])
            conn.execute(f"DELETE FROM metrics WHERE run_id IN ({marks})", chunk)
            conn.execute(f"DELETE FROM reuse_entries WHERE step_run_id IN ({marks})", chunk)
            conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", chunk)
        for folder in forget:
            prefix = os.path.abspath(folder)
            conn.execute("DELETE FROM digest_cache WHERE path = ?", (prefix,))
            conn.execute("DELETE FROM digest_cache WHERE path >= ? AND path < ?", (prefix + "/", prefix + "/\uffff"))


# -- leftovers and orphans -----------------------------------------------------------------------
def _clean_leftovers(ws: Any, scan: _Scan, space: _Space, report: GcReport) -> None:
    """Remove ``staging/``, ``inputs/`` and ``wd/`` of kept step runs that ended (a Failed one keeps ``wd/``)."""
    for step_id in sorted(scan.needed):
        record = scan.steps.get(step_id)
        if record is None or record["status"] not in TERMINAL:
            continue
        run_dir = ws.run_dir(step_id)
        names = [n for n in LEFTOVERS if not (n == "wd" and record["status"] == "Failed")]
        found = [run_dir / n for n in names if (run_dir / n).exists()]
        held_files = any(_has_files(p) for p in found)  # an empty staging/ is not worth a line in the report
        if all([_remove(p, "leftovers", space, report) for p in found]) and held_files:
            report.cleaned_step_runs += 1


def _has_files(folder: Path) -> bool:
    return any(files for _, _, files in os.walk(folder))


def _remove_orphan_folders(ws: Any, scan: _Scan, space: _Space, report: GcReport) -> None:
    """Remove run folders that no run record knows (left by an interrupted gc)."""
    root = Path(ws.path) / "runs"
    if not root.is_dir():
        return
    known = set(scan.pipelines) | set(scan.steps)
    for entry in sorted(root.iterdir()):
        if entry.name in known or not entry.is_dir():
            continue
        if ws._store.find_run(entry.name) is not None:  # submitted since the scan
            continue
        if _remove(entry, "orphaned folders", space, report):
            report.orphan_folders += 1


# -- snapshots -----------------------------------------------------------------------------------
def _sweep_snapshots(ws: Any, scan: _Scan, started: float, space: _Space, report: GcReport) -> None:
    """Delete manifests no kept run names, then the stored files no remaining manifest lists."""
    snapshots = ws.snapshots
    manifests_dir = snapshots.root / "manifests"
    if not manifests_dir.is_dir():
        return
    keep = _published_snapshot_ids(ws)
    keep |= {i for s in scan.needed if (i := scan.steps[s]["details"].get("snapshot_id"))}
    resumable = {p for p in scan.holders() if scan.pipelines[p]["status"] in ("Failed", "Canceled")}
    for run_id in scan.kept | resumable:  # a resume runs the snapshots its recorded pipeline names
        keep |= _pipeline_snapshots(ws, scan.pipelines[run_id])
    if report.dry_run:
        listed = _manifest_ids(manifests_dir)
    else:
        keep |= _in_progress_needs(ws, scan)[1]
        listed = _manifest_ids(manifests_dir, before=started)
    for snapshot_id in sorted(listed - keep):
        if _remove(snapshots.manifest_path(snapshot_id), "snapshots", space, report):
            report.manifests += 1
    kept_manifests = (listed & keep) | (set() if report.dry_run else _manifest_ids(manifests_dir) - listed)
    wanted: set[str] = set()
    for snapshot_id in kept_manifests:
        try:
            wanted |= {entry.sha256 for entry in snapshots.load(snapshot_id).files.values()}
        except AmlpipeError:
            continue
    _sweep_objects(snapshots.objects, wanted, started, space, report)


def _sweep_objects(objects: Any, wanted: set[str], started: float, space: _Space, report: GcReport) -> None:
    """Delete loose objects and packs no kept manifest lists; rewrite packs that are mostly unwanted."""
    for sha, path in objects.loose():
        if sha not in wanted and _remove(path, "snapshots", space, report):
            report.objects += 1
    for pack in objects.packs():
        with contextlib.suppress(OSError):
            if pack.index_path.stat().st_mtime >= started:
                continue  # written by a snapshot taken since gc started: its manifest may not exist yet
        live = wanted & pack.objects.keys()
        dead = len(pack.objects) - len(live)
        if not live:
            _remove(pack.index_path, "snapshots", space, report)
            if _remove(pack.pack_path, "snapshots", space, report):
                report.objects += dead
            continue
        live_bytes = sum(pack.objects[sha][1] for sha in live)
        if live_bytes * 2 >= pack.size:
            continue  # mostly wanted: rewriting it would cost more than it frees
        space.add_size("snapshots", pack.size - live_bytes)
        report.objects += dead
        if not report.dry_run:
            try:
                objects.repack(pack, live)
            except OSError as exc:
                report.problems.append(f"Could not rewrite snapshot pack {str(pack.pack_path)!r}: {exc}.")


def _manifest_ids(folder: Path, before: float | None = None) -> set[str]:
    """Ids of the stored manifests (only those written before ``before``, when given)."""
    out = set()
    for path in folder.glob("*.json"):
        if before is not None:
            try:
                if path.stat().st_mtime >= before:
                    continue
            except OSError:
                continue
        out.add(path.stem)
    return out
