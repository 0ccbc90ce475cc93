"""DaskCompute: the compute conformance suite on a local cluster and on separate scheduler/worker processes.

Plus what only a cluster does: cancel kills the step's process on its worker,
v1's ``AmlCompute.provisioning_configuration`` gives a DaskCompute, the
cluster's status counts its nodes, and management calls from a step are refused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Experiment, Pipeline, Workspace
from jupyter_amlpipe.compute import AmlCompute, ComputeTarget, DaskCompute
from jupyter_amlpipe.compute.dask import cluster as dask_clusters
from jupyter_amlpipe.errors import ComputeError, DefinitionError, MissingExtraError
from jupyter_amlpipe.steps import PythonScriptStep

from .conformance import REPO_ROOT, WAIT, ComputeConformance, copy_assets, error_of, finish, process_gone

pytestmark = pytest.mark.dask


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """End a process we started in its own session, and its children (the worker's), by its PID."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dask scheduler` and `dask worker --nworkers 2` as separate processes on loopback, ended by PID."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask-logs")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    dask_cli = [sys.executable, "-m", "dask"]
    started: list[subprocess.Popen[bytes]] = []
    try:
        with open(logs / "scheduler.log", "wb") as out:
            started.append(
                subprocess.Popen(
                    [*dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            )
        with open(logs / "workers.log", "wb") as out:
            started.append(
                subprocess.Popen(
                    [
                        *dask_cli,
                        "worker",
                        address,
                        *("--host", "127.0.0.1", "--nworkers", "2", "--nthreads", "1"),
                        *("--no-dashboard", "--memory-limit", "0"),
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            )
        from distributed import Client

        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        dask_clusters.close(address)
        for proc in reversed(started):
            _end_group(proc)


class TestDaskLocalCluster(ComputeConformance):
    """A local cluster started by the target, adapting between 0 and max_nodes workers."""

    def make_target(self, workspace: Any, name: str = "conformance", max_concurrency: int | None = None) -> Any:
        return DaskCompute(workspace, name, max_nodes=max_concurrency or 2)


class TestDaskSeparateProcesses(ComputeConformance):
    """A scheduler and two workers started as separate processes (the `dask` CLI) on loopback."""

    @pytest.fixture(autouse=True)
    def _scheduler(self, scheduler_address: str) -> None:
        self.address = scheduler_address

    def make_target(self, workspace: Any, name: str = "conformance", max_concurrency: int | None = None) -> Any:
        return DaskCompute(workspace, name, address=self.address, max_nodes=max_concurrency or 2)


# -- what only a cluster does -------------------------------------------------------------------


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return copy_assets(tmp_path / "src")


@pytest.fixture(autouse=True)
def _package_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))


def submit(workspace: Any, steps: list[Any]) -> Any:
    return Experiment(workspace, "dask").submit(Pipeline(workspace, steps))


def wait_for_file(path: Path, run: Any, within: float = WAIT) -> str:
    deadline = time.monotonic() + within
    while not path.exists():
        assert run.get_status() not in ("Finished", "Failed", "Canceled"), error_of(run)
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)
    return path.read_text(encoding="utf-8")


def submit_sleeper(workspace: Any, target: DaskCompute, src: Path, pid_file: Path) -> Any:
    """A run of one step that writes its process id to ``pid_file`` and sleeps."""
    step = PythonScriptStep(
        "rt_pid_sleep.py", name="sleeper", arguments=[str(pid_file)], source_directory=src, compute_target=target
    )
    return submit(workspace, [step])


def assert_ends(pid: int, message: str) -> None:
    deadline = time.monotonic() + 10
    while not process_gone(pid):
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


@pytest.mark.parametrize("where", ["local", "separate"])
def test_cancel_kills_the_step_process_on_its_worker(
    where: str, workspace: Any, src: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    address = request.getfixturevalue("scheduler_address") if where == "separate" else None
    target = DaskCompute(workspace, f"cancel-{where}", address=address, max_nodes=2)
    run = submit_sleeper(workspace, target, src, tmp_path / "step.pid")
    pid = 0
    try:
        pid = int(wait_for_file(tmp_path / "step.pid", run))
        assert not process_gone(pid)

        run.cancel()

        assert finish(run, timeout=30) == "Canceled"
        assert run.find_step_run("sleeper")[0].get_status() == "Canceled"
        assert_ends(pid, f"step process {pid} still runs on the worker after cancel")
    finally:
        if pid and not process_gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_step_process_does_not_outlive_a_killed_worker(workspace: Any, src: Path, tmp_path: Path) -> None:
    """SIGKILL leaves a worker no chance to clean up: its reaper ends the step it was running."""
    target = DaskCompute(workspace, "reaped", min_nodes=1, max_nodes=1)
    run = submit_sleeper(workspace, target, src, tmp_path / "step.pid")
    pid = 0
    try:
        pid = int(wait_for_file(tmp_path / "step.pid", run))
        connection = dask_clusters.existing(target._key())
        assert connection is not None
        worker_pids = list(connection.client.run(os.getpid).values())
        assert len(worker_pids) == 1 and pid != worker_pids[0]

        os.kill(worker_pids[0], signal.SIGKILL)

        assert_ends(pid, f"step process {pid} outlived its worker {worker_pids[0]}")
    finally:
        run.cancel()
        finish(run, timeout=30)
        if pid and not process_gone(pid):
            os.kill(pid, signal.SIGKILL)
        target.delete()


def test_amlcompute_provisioning_gives_a_dask_cluster(workspace: Any, src: Path, capsys: Any) -> None:
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=1, max_nodes=3)
    cluster = ComputeTarget.create(workspace, "cpu-cluster", config)
    try:
        assert isinstance(cluster, DaskCompute)
        assert (cluster.min_nodes, cluster.max_nodes, cluster.max_concurrency) == (1, 3, 3)
        fetched = ComputeTarget(Workspace(path=workspace.path), "cpu-cluster")
        assert isinstance(fetched, DaskCompute)
        assert (fetched.min_nodes, fetched.max_nodes, fetched.vm_size) == (1, 3, "STANDARD_D2_V2")

        cluster.wait_for_completion(show_output=True)

        printed = capsys.readouterr().out
        assert "'cpu-cluster' (dask, tcp://127.0.0.1:" in printed and "Succeeded" in printed
        assert cluster.status.current_node_count >= 1
        step = PythonScriptStep(
            "rt_logs.py", name="logs", source_directory=src, compute_target=("cpu-cluster", "AmlCompute")
        )
        run = submit(workspace, [step])
        assert finish(run) == "Finished", error_of(run)
        assert "rt out line 1" in run.find_step_run("logs")[0].get_stdout_log()
    finally:
        cluster.delete()
    assert "cpu-cluster" not in workspace.compute_targets
    assert cluster.status.current_node_count == 0  # deleting closed the local cluster


def test_status_counts_busy_and_idle_nodes(workspace: Any, src: Path, tmp_path: Path) -> None:
    target = DaskCompute(workspace, "counted", min_nodes=2, max_nodes=2)
    before = target.status
    assert (before.current_node_count, before.address) == (0, None)  # not started until used

    target.wait_for_completion()
    idle = target.status
    assert (idle.nodes, idle.busy, idle.idle) == (2, 0, 2)
    assert idle.allocation_state == "Steady"
    assert idle.address is not None and idle.address.startswith("tcp://127.0.0.1:")
    assert idle.scale_settings.maximum_node_count == 2

    pid_file = tmp_path / "busy.pid"
    step = PythonScriptStep(
        "rt_pid_sleep.py", name="busy", arguments=[str(pid_file)], source_directory=src, compute_target=target
    )
    run = submit(workspace, [step])
    try:
        wait_for_file(pid_file, run)
        busy = target.status
        assert busy.node_state_counts.running_node_count == 1
        assert busy.node_state_counts.idle_node_count == 1
        assert busy["current_node_count"] == 2
    finally:
        run.cancel()
        finish(run, timeout=30)
    target.delete()


def test_management_calls_from_inside_a_step_are_refused(workspace: Any, src: Path) -> None:
    DaskCompute(workspace, "managed", max_nodes=1)
    (src / "manage.py").write_text(
        "from jupyter_amlpipe import ComputeTarget, Run\n"
        "ws = Run.get_context().experiment.workspace\n"
        "ComputeTarget(ws, 'managed').wait_for_completion()\n"
        "print('waited from inside a step')\n",
        encoding="utf-8",
    )
    step = PythonScriptStep("manage.py", name="manage", source_directory=src, compute_target="managed")
    run = submit(workspace, [step])

    assert finish(run) == "Failed"
    step_run = run.find_step_run("manage")[0]
    assert "wait_for_completion was called from inside a running step" in step_run.get_stderr_log()
    assert "waited from inside a step" not in step_run.get_stdout_log()


def test_missing_dask_names_the_extra(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r'pip install "jupyter_amlpipe\[dask\]"'):
        ComputeTarget.create(workspace, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2))
    with pytest.raises(MissingExtraError, match="DaskCompute 'plain'"):
        DaskCompute(workspace, "plain")


def test_bad_settings_are_definition_errors(workspace: Any) -> None:
    with pytest.raises(DefinitionError, match=r"min_nodes \(3\) is larger than max_nodes \(2\)"):
        DaskCompute(workspace, "bad", min_nodes=3, max_nodes=2)
    with pytest.raises(DefinitionError, match="address must be a scheduler address like 'tcp://"):
        DaskCompute(workspace, "bad", address="localhost")
    assert "bad" not in workspace.compute_targets


def test_an_unreachable_scheduler_fails_the_step_with_what_to_do(
    workspace: Any, src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dask_clusters, "CONNECT_TIMEOUT", 2.0)
    target = DaskCompute(workspace, "nowhere", address=f"tcp://127.0.0.1:{_free_port()}")
    step = PythonScriptStep("rt_logs.py", name="logs", source_directory=src, compute_target=target)
    run = submit(workspace, [step])

    assert finish(run) == "Failed"
    message = error_of(run.find_step_run("logs")[0])
    assert "Could not reach the Dask scheduler" in message and "dask scheduler" in message
    with pytest.raises(ComputeError, match="Could not reach the Dask scheduler"):
        target.wait_for_completion()
