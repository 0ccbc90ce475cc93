"""One step in one container: what is mounted where, how it starts, and its handle.

Every host path a step's argv and environment name stays valid inside the
container: the step's run folder (working folder, logs, run-context file,
output staging) and its parent run's folder are bind-mounted read-write at the
same paths, the workspace and mount-mode inputs read-only, and the package
source read-only at :data:`PACKAGE_DIR` (on ``PYTHONPATH``, so
``Run.get_context()`` works with only the standard library). The program's
stdout and stderr are redirected by a tiny ``sh`` wrapper straight into the
step's log files in the mounted run folder: they stream live, in order, with
no thread copying them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_amlpipe.context import run as ctx
from jupyter_amlpipe.runner.job import StepJob

PACKAGE_DIR = "/opt/amlpipe/lib"
VENV_PYTHON = "/opt/amlpipe/venv/bin/python"
PYTHON_MARK = "@amlpipe-python"  # argv[0] placeholder: the image's venv python if present, else python3
LABEL = "amlpipe.managed"
LABEL_STEP_RUN = "amlpipe.step_run"
LABEL_ROOT_RUN = "amlpipe.root_run"
LABEL_WORKSPACE = "amlpipe.workspace"
KILL_GRACE_SECONDS = 3.0
ENGINE_GONE_SECONDS = 10.0  # the engine unreachable this long during a step: the step fails
ENGINE_LOST_CODE = 1

# sh -c WRAPPER amlpipe-step STDOUT STDERR ARGV...: pick the python, then exec the program with its
# output appended to the step's log files (exec: the program is the init's only child, signals reach it).
WRAPPER = (
    'out=$1; err=$2; shift 2; py=python3; [ -x "$AMLPIPE_VENV_PYTHON" ] && py="$AMLPIPE_VENV_PYTHON"; '
    'if [ "$1" = "$AMLPIPE_PYTHON_MARK" ]; then shift; set -- "$py" "$@"; fi; '
    'exec "$@" >>"$out" 2>>"$err"'
)


@dataclass
class MountPlan:
    """Host paths to bind-mount at the same paths: (path, read_only), nested ones after their parents."""

    entries: dict[str, bool] = field(default_factory=dict)

    def add(self, path: Path | str, read_only: bool) -> None:
        resolved = str(Path(path).resolve())
        if not Path(resolved).exists():
            return
        covered = self._covering(resolved)
        if covered is not None and self.entries[covered] == read_only:
            return  # already visible with the same access
        self.entries[resolved] = read_only

    def _covering(self, path: str) -> str | None:
        best = None
        for existing in self.entries:
            inside = path == existing or path.startswith(existing.rstrip("/") + "/")
            if inside and (best is None or len(existing) > len(best)):
                best = existing
        return best

    def mounts(self, sdk: Any, package_source: Path) -> list[Any]:
        types = sdk.types
        out = [types.Mount(f"{PACKAGE_DIR}/jupyter_amlpipe", str(package_source), type="bind", read_only=True)]
        for path in sorted(self.entries, key=lambda p: (p.count("/"), p)):
            out.append(types.Mount(path, path, type="bind", read_only=self.entries[path]))
        return out


def plan_mounts(job: StepJob, read_only_inputs: bool) -> MountPlan:
    """What one job needs mounted: see the module docstring."""
    plan = MountPlan()
    workspace = job.env.get(ctx.ENV_WORKSPACE)
    if workspace:
        plan.add(workspace, read_only=True)
    parent_dir = job.env.get(ctx.ENV_PARENT_RUN_DIR)
    if parent_dir:
        plan.add(parent_dir, read_only=False)
    plan.add(job.run_dir, read_only=False)
    plan.add(job.workdir, read_only=False)
    inputs = [Path(v) for k, v in job.env.items() if k.startswith("AZUREML_DATAREFERENCE_")]
    inputs += [Path(p) for p in job.mounts.values()]
    for path in inputs:
        inside_run = _under(path, job.run_dir)  # download-mode copies and output staging: the step's own
        plan.add(path, read_only=read_only_inputs and not inside_run)
    return plan


def _under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def container_environment(job: StepJob) -> dict[str, str]:
    """The step's environment variables as the container sees them."""
    env = dict(job.env)
    extra = env.get("PYTHONPATH")
    env["PYTHONPATH"] = PACKAGE_DIR + (os.pathsep + extra if extra else "")
    env.setdefault("HOME", "/tmp")
    env["AMLPIPE_VENV_PYTHON"] = VENV_PYTHON
    env["AMLPIPE_PYTHON_MARK"] = PYTHON_MARK
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # the package source is mounted read-only
    return env


def container_command(job: StepJob, argv: list[str]) -> list[str]:
    return ["sh", "-c", WRAPPER, "amlpipe-step", str(job.stdout_path), str(job.stderr_path), *argv]


def step_labels(job: StepJob) -> dict[str, str]:
    return {
        LABEL: "1",
        LABEL_STEP_RUN: job.step_run_id,
        LABEL_ROOT_RUN: job.root_run_id,
        LABEL_WORKSPACE: job.env.get(ctx.ENV_WORKSPACE, ""),
    }


class ContainerHandle:
    """A started step container. ``wait`` gives its exit code and removes it; ``cancel`` stops it within seconds."""

    def __init__(self, container: Any, description: str, job: StepJob, memory: str | None = None) -> None:
        self.container = container
        self.description = description
        self.pid: int | None = None  # the step runs in the engine, not as a process of this machine
        self._job = job
        self._memory = memory
        self._lock = threading.Lock()
        self._done = threading.Event()

    def wait(self) -> int:
        try:
            code = self._wait_exit()
            self._explain_oom(code)
            return code
        finally:
            self._done.set()
            self._remove()

    def _wait_exit(self) -> int:
        from jupyter_amlpipe.compute.docker.client import docker_sdk

        requests_errors = _requests_errors()
        docker = docker_sdk()
        unreachable_since: float | None = None
        while True:
            try:
                result = self.container.wait(timeout=30)
                return int(result.get("StatusCode", 1))
            except docker.errors.NotFound:
                return 137  # removed under us (e.g. `docker rm -f`)
            except docker.errors.APIError:
                raise  # the engine answered with an error: the runner fails the step
            except requests_errors as exc:
                if self._engine_answers():
                    unreachable_since = None
                    continue  # no exit yet: ask again
                now = time.monotonic()
                unreachable_since = unreachable_since if unreachable_since is not None else now
                if now - unreachable_since >= ENGINE_GONE_SECONDS:
                    self._report_engine_lost(exc)
                    return ENGINE_LOST_CODE
                time.sleep(1.0)

    def _engine_answers(self) -> bool:
        try:
            self.container.client.ping()
        except Exception:
            return False
        return True

    def _report_engine_lost(self, exc: BaseException) -> None:
        """The step's error, in its stderr and on the step run: the engine went away while it ran."""
        message = (
            f"Step {self._job.step_name!r}: the Docker engine stopped answering while the step ran "
            f"({type(exc).__name__}), so its result is unknown. Start Docker (check with `docker info`) "
            "and run the pipeline again, or use LocalCompute."
        )
        with contextlib.suppress(OSError):
            with open(self._job.stderr_path, "a", encoding="utf-8") as err:
                err.write(message + "\n")
            with open(self._job.context_file, "a", encoding="utf-8") as out:
                out.write(json.dumps({"type": "error", "message": message}) + "\n")

    def _explain_oom(self, code: int) -> None:
        if code == 0:
            return
        with contextlib.suppress(Exception):
            self.container.reload()
            if self.container.attrs.get("State", {}).get("OOMKilled"):
                with open(self._job.stderr_path, "a", encoding="utf-8") as err:
                    err.write(
                        f"amlpipe: the container ran out of memory (memory limit {self._memory}) and was killed.\n"
                    )

    def cancel(self) -> None:
        with self._lock:
            if self._done.is_set():
                return
            with contextlib.suppress(Exception):
                self.container.kill(signal="SIGTERM")
        threading.Thread(target=self._escalate, daemon=True).start()

    def _escalate(self) -> None:
        if self._done.wait(KILL_GRACE_SECONDS):
            return
        with contextlib.suppress(Exception):
            self.container.kill()

    def _remove(self) -> None:
        for _ in range(3):
            try:
                self.container.remove(force=True)
                return
            except Exception as exc:  # removal already in progress, or gone
                if "No such container" in str(exc) or "404" in str(exc):
                    return
                time.sleep(0.2)


def _requests_errors() -> tuple[type[BaseException], ...]:
    import requests

    # ReadTimeout / ConnectionError: the wait timed out; others (e.g. ChunkedEncodingError): the engine went away
    return (requests.exceptions.RequestException,)
