"""``LocalCompute``: each step in its own process on this machine."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from typing import Any

from jupyter_amlpipe.compute._notebook_launcher import DEFAULT_KERNEL, kernel_name_for
from jupyter_amlpipe.core.compute_target import ComputeTarget
from jupyter_amlpipe.errors import ComputeError, DefinitionError
from jupyter_amlpipe.runner.job import JobHandle, StepJob

NOTEBOOK_LAUNCHER = "jupyter_amlpipe.compute._notebook_launcher"
DEFAULT_KERNEL_POOL_SIZE = 2


def program_argv(job: StepJob, python: str) -> tuple[list[str], str]:
    """The argv that runs a job's program with ``python``, and a description for logs and errors."""
    program = job.program
    kind = program["type"]
    if kind == "python":
        return [python, program["script"], *program["args"]], f"Script {program['script']!r}"
    if kind == "shell":
        command = program["command"]
        folder = _interpreter_folder(python)
        script = command if folder is None else f'export PATH={shlex.quote(folder)}:"$PATH"\n{command}'
        return ["/bin/bash", "-c", script], f"Command {command[:80]!r}"
    if kind == "exec":
        return list(program["argv"]), f"Command {' '.join(program['argv'])[:80]!r}"
    if kind == "module":  # a built-in step's program: jupyter_amlpipe.compute.runtime.<name>, run by this Python
        return [python, "-m", program["module"], *program["args"]], program.get("description") or program["module"]
    if kind == "notebook":
        spec = job.run_dir / ".notebook_spec.json"
        spec.write_text(json.dumps({**program, "cwd": str(job.workdir)}), encoding="utf-8")
        return [python, "-m", NOTEBOOK_LAUNCHER, str(spec)], f"Notebook {program['notebook']!r}"
    raise ComputeError(f"Unknown program type {kind!r} for step {job.step_name!r}.")


def _interpreter_folder(python: str) -> str | None:
    """The folder to put first on PATH so ``python`` in a shell command is ``python`` (the submitting one).

    None when ``python`` is a placeholder (Docker, Dask: the image's or the
    worker's own interpreter) or when ``python`` on PATH already is it.
    """
    if not os.path.isabs(python) or not os.path.isfile(python):
        return None
    folder = os.path.dirname(python)
    if not os.access(os.path.join(folder, "python"), os.X_OK):
        return None  # e.g. /usr/bin/python3 without /usr/bin/python: reordering PATH would not help
    found = shutil.which("python")
    if found is not None and os.path.realpath(found) == os.path.realpath(python):
        return None
    return folder


def _uses_docker(environment: Any) -> bool:
    """An environment with ``docker.use_docker = True`` (or a Dockerfile) runs in a container even on LocalCompute."""
    return bool(getattr(getattr(environment, "docker", None), "enabled", False))


class _ProcessHandle:
    """A step process in its own process group, so cancel reaches its grandchildren."""

    def __init__(self, proc: subprocess.Popen[bytes], description: str) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.description = description
        self._lock = threading.Lock()

    def wait(self) -> int:
        code = self.proc.wait()
        # The step is over: background processes it left behind end with it, as in a container.
        self._kill_group(signal.SIGKILL)
        return code

    def cancel(self) -> None:
        with self._lock:
            if self.proc.poll() is not None:
                self._kill_group(signal.SIGKILL)  # leftovers of the group, if any
                return
            self._kill_group(signal.SIGTERM)
        threading.Thread(target=self._escalate, daemon=True).start()

    def _escalate(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=3.0)
        self._kill_group(signal.SIGKILL)

    def _kill_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


def spawn_step_process(
    argv: list[str],
    description: str,
    step_name: str,
    cwd: str | os.PathLike[str],
    env: dict[str, str],
    stdout_path: str | os.PathLike[str],
    stderr_path: str | os.PathLike[str],
) -> _ProcessHandle:
    """Start a step process in its own session, its output appended to the step's log files.

    Used by LocalCompute and by the tasks DaskCompute runs on its workers. No
    ``preexec_fn``: without one, ``subprocess`` starts the process with ``vfork``.
    """
    with open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise ComputeError(f"Step {step_name!r}: could not start {argv[0]!r}: {exc}") from exc
    return _ProcessHandle(proc, description)


class LocalCompute(ComputeTarget):
    """Run steps as processes on this machine, ``max_concurrency`` at a time (default: the cores).

    Notebook steps run on warm kernels: when a pipeline with notebook steps is
    submitted, up to ``kernel_pool_size`` (default 2; 0 turns the pool off)
    notebook launchers per kernel name start ahead of time, papermill imported
    and a kernel running, and each runs exactly one step (see
    :mod:`jupyter_amlpipe.compute.kernel_pool`). :meth:`prewarm` starts them
    before submitting.
    """

    type = "local"

    def __init__(
        self,
        workspace: Any = None,
        name: str = "local",
        max_concurrency: int | None = None,
        kernel_pool_size: int = DEFAULT_KERNEL_POOL_SIZE,
        **kwargs: Any,
    ) -> None:
        if max_concurrency is not None and (not isinstance(max_concurrency, int) or max_concurrency < 1):
            raise DefinitionError(
                f"LocalCompute {name!r}: max_concurrency must be a positive integer, got {max_concurrency!r}."
            )
        if isinstance(kernel_pool_size, bool) or not isinstance(kernel_pool_size, int) or kernel_pool_size < 0:
            raise DefinitionError(
                f"LocalCompute {name!r}: kernel_pool_size must be an integer >= 0 (0 turns the warm-kernel pool "
                f"off), got {kernel_pool_size!r}."
            )
        self.workspace = workspace
        self.name = name
        self._max_concurrency = max_concurrency
        self.kernel_pool_size = kernel_pool_size
        config: dict[str, Any] = {"max_concurrency": max_concurrency}
        if kernel_pool_size != DEFAULT_KERNEL_POOL_SIZE:
            config["kernel_pool_size"] = kernel_pool_size
        self._record(config)

    @classmethod
    def prewarm(cls, kernel_name: str = DEFAULT_KERNEL, n: int = 2, wait: bool = False, timeout: float = 120.0) -> int:
        """Start ``n`` warm notebook launchers for ``kernel_name`` now, so the next notebook steps start at once.

        With ``wait=True``, block until they are ready (at most ``timeout``
        seconds). Returns how many are ready. Kernels that are not Python
        kernels are not pooled (their steps start a fresh kernel): 0.
        """
        from jupyter_amlpipe.compute.kernel_pool import get_pool

        pool = get_pool()
        pool.want(kernel_name, n)
        if wait:
            return pool.wait_ready(kernel_name, n, timeout=timeout)
        return pool.status().get(kernel_name, {}).get("ready", 0)

    @staticmethod
    def shutdown_kernel_pool() -> None:
        """Stop the warm launchers and kernels no step has taken (they also stop when idle, and at exit)."""
        from jupyter_amlpipe.compute import kernel_pool

        if kernel_pool._POOL is not None:
            kernel_pool._POOL.shutdown()

    @classmethod
    def _provision(cls, workspace: Any, name: str, config: Any) -> ComputeTarget:
        max_nodes = getattr(config, "max_nodes", None)
        return cls(workspace=workspace, name=name, max_concurrency=int(max_nodes) if max_nodes else None)

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency or os.cpu_count() or 1

    @property
    def status(self) -> Any:
        return {"provisioning_state": "Succeeded", "max_concurrency": self.max_concurrency}

    def describe_environment(self, environment: Any) -> dict[str, Any]:
        import platform

        if _uses_docker(environment):
            from jupyter_amlpipe.compute.docker.target import DockerCompute

            return DockerCompute(name=self.name).describe_environment(environment)
        spec = environment.digest() if environment is not None else None
        return {"python": os.path.realpath(sys.executable), "version": platform.python_version(), "environment": spec}

    def check_step(self, step: Any) -> list[str]:
        if self.kernel_pool_size > 0 and getattr(step, "step_type", None) == "notebook":
            self._announce_notebook(step)
        env = step.environment
        if env is not None and env.has_packages():
            return [
                f"Step {step.name!r}: environment {env.name!r} lists packages; LocalCompute does not install them "
                "(the step runs with this Python): install them into this environment yourself."
            ]
        return []

    def _announce_notebook(self, step: Any) -> None:
        """A notebook step is being submitted: have a warm launcher ready for its kernel."""
        from jupyter_amlpipe.compute.kernel_pool import get_pool

        notebook = step._source_dir() / step.notebook
        get_pool().announce(kernel_name_for(notebook, step.kernel_name), self.kernel_pool_size)

    def _start_warm(self, job: StepJob, env: dict[str, str]) -> _ProcessHandle | None:
        """Hand a notebook step to a warm launcher of the pool; None when there is none for its kernel."""
        from jupyter_amlpipe.compute.kernel_pool import get_pool

        program = job.program
        kernel = kernel_name_for(job.workdir / program["notebook"], program.get("kernel_name"))
        pool = get_pool()
        launcher = pool.take(kernel)
        if launcher is None:
            return None
        spec = job.run_dir / ".notebook_spec.json"
        job_line = {"spec": str(spec), "env": env, "stdout": str(job.stdout_path), "stderr": str(job.stderr_path)}
        if not pool.hand_over(launcher, job_line):
            return None
        return _ProcessHandle(launcher.proc, f"Notebook {program['notebook']!r} (warm {kernel!r} kernel)")

    def start(self, job: StepJob) -> JobHandle:
        if _uses_docker(job.environment):  # v1: a local run with docker.use_docker=True runs in a container
            from jupyter_amlpipe.compute.docker.target import DockerCompute

            return DockerCompute(name=self.name, max_concurrency=self._max_concurrency).start(job)
        argv, description = program_argv(job, sys.executable)
        env = {**os.environ, **job.env}
        env.pop("JPY_SESSION_NAME", None)  # names the notebook of the kernel that submitted, not this step
        if job.program["type"] == "notebook" and self.kernel_pool_size > 0:
            handle = self._start_warm(job, env)
            if handle is not None:
                return handle
        return spawn_step_process(argv, description, job.step_name, job.workdir, env, job.stdout_path, job.stderr_path)
