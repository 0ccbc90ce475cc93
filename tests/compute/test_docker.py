"""DockerCompute: the compute conformance suite in containers, plus what only containers do.

Needs a Docker engine and the image named by AMLPIPE_BASE_IMAGE (CI builds
``amlpipe-base:local`` with scripts/build-base-image).
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Experiment, Pipeline, PipelineData
from jupyter_amlpipe.compute import ComputeTarget, DockerCompute, LocalCompute
from jupyter_amlpipe.core.environment import Environment, RunConfiguration
from jupyter_amlpipe.steps import CommandStep, PythonScriptStep

from .conformance import ASSETS, REPO_ROOT, WAIT, ComputeConformance, copy_assets, error_of, finish, reported

pytestmark = pytest.mark.docker

LABEL = "amlpipe.workspace"


def docker_client() -> Any:
    import docker

    return docker.from_env(timeout=60)


def containers_of(workspace: Any) -> list[Any]:
    """Every container (running or not) a DockerCompute started for ``workspace``."""
    client = docker_client()
    try:
        return list(client.containers.list(all=True, filters={"label": f"{LABEL}={workspace.path}"}))
    finally:
        client.close()


def wait_no_containers(workspace: Any, within: float = 15.0) -> list[Any]:
    deadline = time.monotonic() + within
    left = containers_of(workspace)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = containers_of(workspace)
    return left


class TestDockerCompute(ComputeConformance):
    def make_target(self, workspace: Any, name: str = "conformance", max_concurrency: int | None = None) -> Any:
        self._workspace = workspace
        # rt_barrier.py writes into its mount-mode input folder (v1 mounts were writable): allow it here.
        return DockerCompute(workspace=workspace, name=name, max_concurrency=max_concurrency, read_only_inputs=False)

    def assert_process_gone(self, pid: int, within: float = 10.0) -> None:
        """The step's grandchild ran in the step's container: the container must be gone (killed and removed)."""
        left = wait_no_containers(self._workspace, within)
        assert not left, f"containers still there after the run ended: {[c.name for c in left]}"

    @pytest.fixture(autouse=True)
    def _no_orphans(self, workspace: Any) -> Iterator[None]:
        yield
        assert wait_no_containers(workspace) == [], "a step container was left behind"


# -- what only containers do ------------------------------------------------------------


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = copy_assets(tmp_path / "src")
    for asset in ASSETS.glob("docker_*"):
        shutil.copyfile(asset, folder / asset.name)
    return folder


def submit(workspace: Any, steps: list[Any], **kwargs: Any) -> Any:
    return Experiment(workspace, "docker").submit(Pipeline(workspace, steps), **kwargs)


@contextlib.contextmanager
def traversable_for_others(paths: list[Path]) -> Iterator[None]:
    """Let other users traverse the folders above ``paths`` (e.g. /root above pyenv), restored afterwards."""
    changed: list[tuple[Path, int]] = []
    try:
        for path in paths:
            for folder in [path, *path.parents]:
                mode = folder.stat().st_mode
                if folder.is_dir() and not mode & 0o001:
                    os.chmod(folder, mode | 0o001)
                    changed.append((folder, mode))
        yield
    finally:
        for folder, mode in reversed(changed):
            os.chmod(folder, mode)


def test_outputs_owned_by_a_non_root_submitter() -> None:
    """A pipeline submitted by a non-root user (uid 1000 under CI's root) writes outputs owned by that user."""
    if os.getuid() != 0:
        uid, gid = os.getuid(), os.getgid()
        prefix: list[str] = []
    else:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to submit as a non-root user")
        uid = gid = 1000
        socket_gid = Path("/var/run/docker.sock").stat().st_gid  # the submitter may use the engine, as its group
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", f"--groups={socket_gid}"]
    folder = Path(tempfile.mkdtemp(prefix="amlpipe-owner-"))  # not under root's private pytest folder
    try:
        copy_assets(folder / "src")
        shutil.copyfile(ASSETS / "docker_owner.py", folder / "src" / "docker_owner.py")
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, uid, gid)
        env = {**os.environ, "HOME": str(folder), "AMLPIPE_HOME": str(folder / "home"), "PYTHONPATH": str(REPO_ROOT)}
        with traversable_for_others([Path(sys.prefix), REPO_ROOT] if prefix else []):
            result = subprocess.run(
                [*prefix, sys.executable, str(ASSETS / "docker_submit_owner.py"), str(folder)],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "STATUS Finished" in result.stdout, result.stdout + result.stderr
        assert "owner step ran as" not in result.stderr
        out = Path(result.stdout.split("OUTPUT ", 1)[1].split()[0])
        written = out / "owned.txt"
        assert written.read_text() == f"written by uid {uid}\n"
        assert (written.stat().st_uid, written.stat().st_gid) == (uid, gid)
        step_logs = Path(result.stdout.split("RUNDIR ", 1)[1].split()[0]) / "logs"
        assert "owner step ran as 1000" in (step_logs / "stdout.txt").read_text() or uid != 1000
        assert {p.stat().st_uid for p in step_logs.iterdir()} == {uid}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _host_address() -> str:
    """This machine's address on the Docker bridge (containers reach the host there)."""
    client = docker_client()
    try:
        config = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
        return str(config.get("Gateway") or ipaddress.ip_network(config["Subnet"])[1])
    finally:
        client.close()


@pytest.fixture
def http_server() -> Iterator[str]:
    """An HTTP server on the host that answers 'hello from the host'; its URL as seen from a container."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello from the host"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{_host_address()}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_network_none_cuts_the_network(workspace: Any, src: Path, http_server: str) -> None:
    """The host's HTTP server answers a default-network container and not a network='none' one."""
    default = DockerCompute(workspace=workspace, name="net")
    cut = DockerCompute(workspace=workspace, name="nonet", network="none")
    steps = [
        PythonScriptStep("docker_fetch.py", name=name, arguments=[http_server], source_directory=src, compute_target=t)
        for name, t in (("reachable", default), ("cut", cut))
    ]
    run = submit(workspace, steps)

    assert finish(run) == "Finished", error_of(run)
    assert "FETCH ok hello from the host" in run.find_step_run("reachable")[0].get_stdout_log()
    assert "FETCH failed" in run.find_step_run("cut")[0].get_stdout_log()


def test_limits_user_and_home_reach_the_container(workspace: Any, src: Path) -> None:
    target = DockerCompute(workspace=workspace, name="limited", cpus=0.5, memory="256m")
    step = PythonScriptStep("docker_limits.py", name="limits", source_directory=src, compute_target=target)
    run = submit(workspace, [step])

    assert finish(run) == "Finished", error_of(run)
    report = reported(run.find_step_run("limits")[0], "LIMITS")
    assert report["cpus"] == 0.5
    assert report["memory"] == 256 * 1024 * 1024
    assert report["uid"] == os.getuid()
    assert report["home"] == "/tmp"


def test_missing_package_traceback_lands_in_stderr(workspace: Any, src: Path) -> None:
    target = DockerCompute(workspace=workspace, name="bare")
    step = PythonScriptStep("docker_needs_package.py", name="needs", source_directory=src, compute_target=target)
    run = submit(workspace, [step])

    assert finish(run) == "Failed"
    step_run = run.find_step_run("needs")[0]
    assert "ModuleNotFoundError: No module named 'amlpipe_not_installed_pkg'" in step_run.get_stderr_log()
    assert "amlpipe_not_installed_pkg" in error_of(step_run)


def test_mount_mode_inputs_are_read_only_by_default(workspace: Any, src: Path, tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("keep me\n")
    store = workspace.get_default_datastore()
    store.upload_files([str(tmp_path / "data.txt")], target_path="ro", overwrite=True, show_progress=False)
    data = DataReference(store, "ro_in", "ro/data.txt")
    out = PipelineData("written", datastore=store)
    step = CommandStep(
        name="ro",
        command='cat "$AZUREML_DATAREFERENCE_ro_in"; echo changed > "$AZUREML_DATAREFERENCE_ro_in" || echo REFUSED; '
        'mkdir -p "$AZUREML_DATAREFERENCE_written" && echo fine > "$AZUREML_DATAREFERENCE_written/w.txt"',
        inputs=[data],
        outputs=[out],
        source_directory=src,
        compute_target=DockerCompute(workspace=workspace, name="ro"),
    )
    run = submit(workspace, [step])

    assert finish(run) == "Finished", error_of(run)
    step_run = run.find_step_run("ro")[0]
    assert "keep me\nREFUSED" in step_run.get_stdout_log()
    assert "Read-only file system" in step_run.get_stderr_log()
    assert (Path(store.local_path("ro/data.txt"))).read_text() == "keep me\n"
    where = Path(step_run.get_output_data("written").download(tmp_path / "got", show_progress=False))
    assert (where / "w.txt").read_text() == "fine\n"


def test_v1_path_and_engine_errors(workspace: Any, src: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ComputeTarget.create with a provisioning configuration; ws.compute_targets finds it; errors name the fix."""
    created = ComputeTarget.create(workspace, "v1docker", DockerCompute.provisioning_configuration(cpus=1))
    assert isinstance(created, DockerCompute)
    found = workspace.compute_targets["v1docker"]
    assert isinstance(found, DockerCompute) and found.cpus == 1

    missing = DockerCompute(workspace=workspace, name="noimage", base_image="amlpipe-no-such-image:never")
    step = PythonScriptStep("rt_logs.py", name="noimg", source_directory=src, compute_target=missing)
    run = submit(workspace, [step])
    assert finish(run) == "Failed"
    message = error_of(run.find_step_run("noimg")[0])
    assert "amlpipe-no-such-image:never" in message
    assert "scripts/build-base-image" in message


def test_engine_not_running_says_what_to_do(workspace: Any, src: Path, tmp_path: Path) -> None:
    """With DOCKER_HOST pointing nowhere, the step fails with 'start Docker, or use LocalCompute'."""
    script = (
        "import sys\n"
        "from jupyter_amlpipe.compute.docker.client import get_client\n"
        "from jupyter_amlpipe.errors import ComputeError\n"
        "try:\n    get_client('offline')\nexcept ComputeError as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert "DockerCompute 'offline': the Docker engine is not reachable" in result.stdout, result.stderr
    assert "Start Docker, or use LocalCompute." in result.stdout


def test_canceled_pipeline_leaves_no_container(workspace: Any, src: Path) -> None:
    target = DockerCompute(workspace=workspace, name="cancel", max_concurrency=2)
    steps = [
        PythonScriptStep("rt_sleep.py", name=f"s{i}", arguments=["120"], source_directory=src, compute_target=target)
        for i in range(2)
    ]
    run = submit(workspace, steps)
    deadline = time.monotonic() + WAIT
    while len([s for s in run.get_steps() if s.get_status() == "Running"]) < 2:
        assert time.monotonic() < deadline, "the steps never started"
        time.sleep(0.2)
    assert len(containers_of(workspace)) == 2

    run.cancel()

    assert finish(run, timeout=60) == "Canceled"
    assert wait_no_containers(workspace) == []


def test_quickstart_runs_on_docker(tmp_path: Path) -> None:
    """The quickstart pipeline file, with only its compute target switched to DockerCompute, finishes."""
    folder = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    setup = subprocess.run(
        [sys.executable, "-m", "jupyter_amlpipe", "demo", str(folder), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    pipeline_file = folder / "pipeline.py"
    text = pipeline_file.read_text(encoding="utf-8")
    switched = text.replace(
        'compute = LocalCompute(workspace=ws, name="local")', 'compute = DockerCompute(workspace=ws, name="docker")'
    ).replace("from jupyter_amlpipe.compute import LocalCompute", "from jupyter_amlpipe.compute import DockerCompute")
    assert switched.count("DockerCompute") == 2
    pipeline_file.write_text(switched, encoding="utf-8")

    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_amlpipe", "submit", str(pipeline_file) + ":pipeline"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Status: Finished" in proc.stdout, proc.stdout + proc.stderr
    assert "[train] accuracy:" in proc.stdout
    from jupyter_amlpipe import Workspace

    ws = Workspace(path=folder / "ws")
    (run,) = ws._store.list_runs(experiment="pipeline")  # amlpipe submit names the experiment after the file
    steps = {c["name"]: c for c in ws._store.child_runs(run["id"])}
    assert sorted(steps) == ["count", "evaluate", "prep", "train"]
    for child in steps.values():
        runner = (ws.run_dir(child["id"]) / "logs" / "runner.txt").read_text(encoding="utf-8")
        assert "compute: docker (docker)" in runner, runner
    assert wait_no_containers(ws) == []


def test_use_docker_runconfig_environment(workspace: Any, src: Path) -> None:
    """RunConfiguration().environment = env with use_docker=True, on a DockerCompute: env vars reach the step."""
    env = Environment("envvars")
    env.environment_variables["DOCKER_ENV_PROBE"] = "from the environment"
    runconfig = RunConfiguration()
    runconfig.environment = env
    runconfig.docker.use_docker = True
    step = CommandStep(
        name="probe",
        command='echo "PROBE=$DOCKER_ENV_PROBE"',
        source_directory=src,
        compute_target=DockerCompute(workspace=workspace, name="rc"),
        runconfig=runconfig,
    )
    run = submit(workspace, [step])
    assert finish(run) == "Finished", error_of(run)
    assert "PROBE=from the environment" in run.find_step_run("probe")[0].get_stdout_log()


def test_use_docker_on_local_compute_runs_in_a_container(workspace: Any, src: Path) -> None:
    """v1: a LocalCompute step whose environment has docker.use_docker=True runs in a container."""
    runconfig = RunConfiguration()
    runconfig.docker.use_docker = True
    inside = CommandStep(
        name="inside",
        command="test -f /.dockerenv && echo IN_CONTAINER uid=$(id -u)",
        source_directory=src,
        compute_target=LocalCompute(workspace=workspace, name="local"),
        runconfig=runconfig,
    )
    run = submit(workspace, [inside])

    assert finish(run) == "Finished", error_of(run)
    assert f"IN_CONTAINER uid={os.getuid()}" in run.find_step_run("inside")[0].get_stdout_log()
    assert wait_no_containers(workspace) == []


def test_reuse_follows_the_environment_image(workspace: Any, src: Path) -> None:
    """The same environment again is reused; a package change changes the image hash in the reuse key."""
    target = DockerCompute(workspace=workspace, name="reuse")

    def pipeline_run() -> Any:
        env = Environment("reuse-env")
        step = PythonScriptStep(
            "rt_logs.py",
            name="same",
            source_directory=src,
            compute_target=target,
            runconfig=RunConfiguration(environment=env),
        )
        return submit(workspace, [step])

    first, second = pipeline_run(), None
    assert finish(first) == "Finished", error_of(first)
    second = pipeline_run()
    assert finish(second) == "Finished", error_of(second)
    info = second.find_step_run("same")[0].get_reuse_info()
    assert info["reused"] is True
    assert info["reused_from"] == first.find_step_run("same")[0].id

    plain, changed = Environment("reuse-env"), Environment("reuse-env")
    changed.python.conda_dependencies.add_pip_package("example-package==1.0")
    assert target.describe_environment(plain) == target.describe_environment(Environment("reuse-env"))
    assert target.describe_environment(plain) != target.describe_environment(changed)


@pytest.mark.parametrize("module", ["jupyter_amlpipe.compute", "jupyter_amlpipe.compute.docker"])
def test_importing_the_target_does_not_import_the_docker_sdk(module: str) -> None:
    code = f"import sys, {module}; print('docker' in sys.modules, {module}.DockerCompute.__name__)"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "DockerCompute"], result.stderr


def test_an_image_build_does_not_hold_up_other_steps_or_cancel(workspace: Any, src: Path) -> None:
    """While one step's image builds, other steps run and finish; cancel ends the building step at once."""
    slow_build = f"FROM {DockerCompute(name='x').base_image}\n# {uuid.uuid4()}\nRUN sleep 90 && exit 1\n"
    building = PythonScriptStep(
        "rt_sleep.py",
        name="building",
        arguments=["1"],
        source_directory=src,
        compute_target=DockerCompute(workspace=workspace, name="slow-build"),
        runconfig=RunConfiguration(environment=Environment.from_dockerfile("slow-build", slow_build)),
    )
    quick = CommandStep(name="quick", command="echo quick", compute_target=LocalCompute(workspace, "local"))
    run = submit(workspace, [building, quick])
    quick_run = run.find_step_run("quick")[0]
    quick_run.wait_for_completion(show_output=False, timeout_seconds=WAIT)
    assert quick_run.get_status() == "Finished"
    building_run = run.find_step_run("building")[0]
    assert building_run.get_status() == "Running"  # still building (90 s), yet the other step ran
    assert "building the image" in building_run.get_stdout_log()

    run.cancel()

    assert finish(run, timeout=60) == "Canceled"
    assert building_run.get_status() == "Canceled"
    assert containers_of(workspace) == []


class _SocketProxy:
    """A Unix socket forwarding to the real Docker engine; ``stop()`` makes the engine vanish for its clients."""

    def __init__(self, path: Path, upstream: str) -> None:
        import socket

        self.path, self.upstream = path, upstream
        self._socket = socket
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(str(path))
        self._server.listen(16)
        self._conns: list[Any] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            up = self._socket.socket(self._socket.AF_UNIX)
            up.connect(self.upstream)
            self._conns += [conn, up]
            for a, b in ((conn, up), (up, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: Any, b: Any) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.shutdown(self._socket.SHUT_RDWR)

    def stop(self) -> None:
        self._server.close()
        self.path.unlink(missing_ok=True)
        for sock in self._conns:
            with contextlib.suppress(OSError):
                sock.shutdown(self._socket.SHUT_RDWR)
                sock.close()


def test_engine_lost_mid_step_fails_the_step_and_says_what_to_do() -> None:
    """The engine vanishing while a step's container runs ends the step (no hang) with a message naming the step."""
    from jupyter_amlpipe.compute.docker.container import LABEL as MANAGED
    from jupyter_amlpipe.compute.docker.container import ContainerHandle
    from jupyter_amlpipe.runner.job import StepJob

    real = docker_client()
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.skip(f"needs the engine on a Unix socket, DOCKER_HOST is {host}")
    folder = Path(tempfile.mkdtemp(prefix="amlpipe-lost-"))  # short: Unix socket paths are limited
    proxy = _SocketProxy(folder / "engine.sock", host.removeprefix("unix://"))
    container = None
    try:
        import docker

        via_proxy = docker.DockerClient(base_url=f"unix://{proxy.path}", timeout=60)
        job = StepJob(
            step_run_id="lost-run",
            step_name="lost",
            root_run_id="lost-root",
            program={"type": "exec", "argv": ["sleep", "300"]},
            workdir=folder,
            run_dir=folder,
            env={},
            stdout_path=folder / "stdout.txt",
            stderr_path=folder / "stderr.txt",
            context_file=folder / "context.jsonl",
        )
        image = DockerCompute(name="x").base_image
        container = via_proxy.containers.create(image, ["sleep", "300"], init=True, labels={MANAGED: "1"})
        container.start()
        handle = ContainerHandle(container, "sleep 300", job)
        result: dict[str, Any] = {}
        waiter = threading.Thread(target=lambda: result.update(code=handle.wait()), daemon=True)
        waiter.start()
        time.sleep(1.0)

        proxy.stop()
        waiter.join(120)

        assert not waiter.is_alive(), "the step kept waiting for an engine that is gone"
        assert result.get("code") == 1, result
        stderr = job.stderr_path.read_text(encoding="utf-8")
        assert "Step 'lost': the Docker engine stopped answering" in stderr
        assert "Start Docker" in stderr
        assert '"type": "error"' in job.context_file.read_text(encoding="utf-8")
    finally:
        proxy.stop()
        if container is not None:
            with contextlib.suppress(Exception):
                real.containers.get(container.id).remove(force=True)
        real.close()
        shutil.rmtree(folder, ignore_errors=True)
