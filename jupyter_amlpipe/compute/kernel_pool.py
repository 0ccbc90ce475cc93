"""The warm-kernel pool: notebook launchers started ahead of time, each used for exactly one step.

A warm launcher (:mod:`jupyter_amlpipe.compute._warm_launcher`) is a process in
its own process group that has imported papermill and started a kernel; it waits
for one step job on its stdin. :meth:`KernelPool.take` hands a step to one, so a
notebook step starts without paying for imports and kernel start-up. After the
step the kernel is shut down: no state passes from one step to the next.

The pool keeps, per kernel name, as many launchers as were asked for (by
:meth:`KernelPool.want`: LocalCompute asks when a pipeline with notebook steps
is submitted, or a user calls ``LocalCompute.prewarm``), refills in the
background after one is taken, starts at most :attr:`KernelPool.max_warming`
at a time so warm-ups do not starve running steps, discards launchers idle for
:attr:`KernelPool.idle_seconds`, and shuts everything down at interpreter exit.
Only kernels whose kernelspec is a Python kernel are pooled; others run cold.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

WARM_LAUNCHER = "jupyter_amlpipe.compute._warm_launcher"
IDLE_SECONDS = 300.0
STOP_GRACE_SECONDS = 5.0


@dataclass
class WarmLauncher:
    """One launcher process of the pool: warming up, then ready, until a step takes it."""

    kernel_name: str
    proc: subprocess.Popen[bytes]
    log_path: str
    started: float = field(default_factory=time.monotonic)
    ready: threading.Event = field(default_factory=threading.Event)
    failed: bool = False
    kernel_pid: int = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return not self.failed and self.proc.poll() is None


class KernelPool:
    """Warm notebook launchers per kernel name. One pool per process: :func:`get_pool`."""

    def __init__(self, max_warming: int | None = None, idle_seconds: float = IDLE_SECONDS) -> None:
        self.max_warming = max_warming or max(1, (os.cpu_count() or 2) // 2)
        self.idle_seconds = idle_seconds
        self._cond = threading.Condition()
        self._launchers: list[WarmLauncher] = []  # not yet taken
        self._targets: dict[str, int] = {}  # kernel name -> launchers to keep
        self._pending: dict[str, int] = {}  # kernel name -> steps announced but not started
        self._python: dict[str, bool] = {}  # kernel name -> is a Python kernel installed here
        self._last_used = time.monotonic()
        self._dir: str | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.started_count = 0  # launchers started so far (for tests and benchmarks)
        self.taken_count = 0

    # -- what LocalCompute and users call ----------------------------------------------
    def announce(self, kernel_name: str, cap: int) -> None:
        """A notebook step on ``kernel_name`` was submitted: keep up to ``cap`` launchers warm for it."""
        if cap <= 0:
            return
        with self._cond:
            self._pending[kernel_name] = self._pending.get(kernel_name, 0) + 1
            wanted = min(cap, self._pending[kernel_name])
        self.want(kernel_name, wanted)

    def want(self, kernel_name: str, n: int) -> None:
        """Keep at least ``n`` launchers for ``kernel_name`` (warming or ready) until the pool goes idle."""
        if n <= 0 or not self.poolable(kernel_name):
            return
        with self._cond:
            if self._closed:
                return
            self._targets[kernel_name] = max(self._targets.get(kernel_name, 0), n)
            self._last_used = time.monotonic()
            self._ensure_thread()
            self._cond.notify_all()

    def wait_ready(self, kernel_name: str, n: int, timeout: float = 120.0) -> int:
        """Block until ``n`` launchers for ``kernel_name`` are ready (or ``timeout``); how many are."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                ready = sum(
                    1 for w in self._launchers if w.kernel_name == kernel_name and w.ready.is_set() and w.alive()
                )
                left = deadline - time.monotonic()
                if ready >= n or left <= 0 or not self._targets.get(kernel_name):
                    return ready
                self._cond.wait(min(left, 0.5))

    def take(self, kernel_name: str) -> WarmLauncher | None:
        """A launcher for ``kernel_name`` that no step has used, ready ones first; None when there is none.

        A launcher still warming up is taken too: the job waits in its pipe and
        starts as soon as the kernel answers, which is sooner than a cold start.
        """
        with self._cond:
            self._pending[kernel_name] = max(0, self._pending.get(kernel_name, 0) - 1)
            self._last_used = time.monotonic()
            candidates = [w for w in self._launchers if w.kernel_name == kernel_name and w.alive()]
            candidates.sort(key=lambda w: (not w.ready.is_set(), w.started))
            chosen = candidates[0] if candidates else None
            if chosen is not None:
                self._launchers.remove(chosen)
                self.taken_count += 1
            self._cond.notify_all()  # refill
        return chosen

    def hand_over(self, launcher: WarmLauncher, job: dict[str, Any]) -> bool:
        """Give ``job`` to a taken launcher; False when it died meanwhile (then run the step cold)."""
        stdin = launcher.proc.stdin
        if stdin is None:
            return False
        try:
            stdin.write((json.dumps(job) + "\n").encode("utf-8"))
            stdin.close()
        except OSError:
            _kill_group(launcher.pid, signal.SIGKILL)
            launcher.proc.wait()
            return False
        return True

    def poolable(self, kernel_name: str) -> bool:
        """Whether ``kernel_name`` is an installed Python kernel (the setup execution is Python code)."""
        if kernel_name not in self._python:
            try:
                from jupyter_client.kernelspec import KernelSpecManager

                spec = KernelSpecManager().get_kernel_spec(kernel_name)
                self._python[kernel_name] = (spec.language or "").lower() == "python"
            except Exception:
                self._python[kernel_name] = False
        return self._python[kernel_name]

    def status(self) -> dict[str, dict[str, int]]:
        """Per kernel name: launchers ``ready``, ``warming``, and the ``target`` kept."""
        with self._cond:
            out: dict[str, dict[str, int]] = {}
            for name in set(self._targets) | {w.kernel_name for w in self._launchers}:
                mine = [w for w in self._launchers if w.kernel_name == name and w.alive()]
                ready = sum(1 for w in mine if w.ready.is_set())
                out[name] = {"ready": ready, "warming": len(mine) - ready, "target": self._targets.get(name, 0)}
            return out

    def pids(self) -> list[int]:
        """Process ids of the launchers and kernels the pool holds (not those handed to steps)."""
        with self._cond:
            return [p for w in self._launchers for p in (w.pid, w.kernel_pid) if p]

    def shutdown(self) -> None:
        """Stop every launcher not taken by a step, and their kernels. The pool can be used again afterwards."""
        with self._cond:
            launchers, self._launchers = self._launchers, []
            self._targets.clear()
            self._pending.clear()
            self._cond.notify_all()
        _stop(launchers)

    def close(self) -> None:
        """Shut down for good (at interpreter exit)."""
        with self._cond:
            self._closed = True
        self.shutdown()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    # -- the refill thread ---------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._refill_loop, name="amlpipe-kernel-pool", daemon=True)
            self._thread.start()

    def _refill_loop(self) -> None:
        while True:
            idle: list[WarmLauncher] = []
            with self._cond:
                if self._closed:
                    return
                self._launchers = [w for w in self._launchers if w.alive() or _reap(w)]
                if time.monotonic() - self._last_used > self.idle_seconds and self._launchers:
                    idle, self._launchers = self._launchers, []
                    self._targets.clear()
                    self._pending.clear()
                to_start = [] if idle else self._missing()
            if idle:
                _stop(idle)
                continue
            for name in to_start:
                self._spawn(name)
            with self._cond:
                self._cond.wait(timeout=min(self.idle_seconds, 1.0) if self._launchers else self.idle_seconds)

    def _missing(self) -> list[str]:
        """Kernel names to start a launcher for now, within the cap on concurrent warm-ups."""
        warming = sum(1 for w in self._launchers if not w.ready.is_set())
        room = self.max_warming - warming
        out: list[str] = []
        for name, target in self._targets.items():
            have = sum(1 for w in self._launchers if w.kernel_name == name)
            for _ in range(max(0, target - have)):
                if room <= 0:
                    return out
                out.append(name)
                room -= 1
        return out

    def _spawn(self, kernel_name: str) -> None:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="amlpipe-pool-")
        log_path = os.path.join(self._dir, f"warmup-{kernel_name}-{self.started_count}.log")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(log_path, "ab") as log:
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-m", WARM_LAUNCHER, kernel_name],
                    cwd=self._dir,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,
                )
            except OSError:
                with self._cond:
                    self._python[kernel_name] = False  # cannot start launchers: run cold
                return
        launcher = WarmLauncher(kernel_name, proc, log_path)
        with self._cond:
            self.started_count += 1
            if self._closed:
                _stop([launcher])
                return
            self._launchers.append(launcher)
        threading.Thread(target=self._watch_ready, args=(launcher,), daemon=True).start()

    def _watch_ready(self, launcher: WarmLauncher) -> None:
        stdout: IO[bytes] | None = launcher.proc.stdout
        line = b""
        if stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                line = stdout.readline()
            with contextlib.suppress(OSError):
                stdout.close()
        words = line.decode("utf-8", "replace").split()
        with self._cond:
            if words[:1] == ["ready"]:
                launcher.kernel_pid = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
            else:
                launcher.failed = True
                if launcher in self._launchers:
                    # Its kernel cannot start: stop refilling it (a new submit asks again) rather than
                    # re-importing papermill in a loop; its steps start a fresh kernel and log why it fails.
                    self._targets.pop(launcher.kernel_name, None)
            launcher.ready.set()
            self._cond.notify_all()


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap(launcher: WarmLauncher) -> bool:
    """Drop a dead launcher (its warm-up failed, or it was killed) and whatever of its group is left."""
    _kill_group(launcher.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.unlink(launcher.log_path)
    return False


def _stop(launchers: list[WarmLauncher]) -> None:
    """End of input tells a launcher to shut its kernel down and exit; kill what is still there after a grace."""
    for w in launchers:
        if w.proc.stdin is not None:
            with contextlib.suppress(OSError):
                w.proc.stdin.close()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for w in launchers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        # A launcher still warming up exits once its kernel is up; do not wait for that.
        if w.proc.poll() is None:
            _kill_group(w.pid, signal.SIGKILL)
            w.proc.wait()
            if w.kernel_pid:  # its kernel is in a session of its own; it would follow within a second anyway
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(w.kernel_pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.unlink(w.log_path)


_POOL: KernelPool | None = None
_POOL_LOCK = threading.Lock()


def get_pool() -> KernelPool:
    """This process's kernel pool (created on first use, shut down at interpreter exit)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = KernelPool()
            atexit.register(_POOL.close)
        return _POOL
