"""The Dask clusters and clients DaskCompute uses: made on first use, shared by the runs of a process, closed at exit.

A local cluster is a scheduler in this process and worker processes on
127.0.0.1 (one thread each: a worker runs one step at a time) that the
cluster adds and removes as steps arrive and end, between ``min_nodes`` and
``max_nodes``. Workers are started as ``python -m dask spec`` subprocesses
rather than through ``multiprocessing`` (as ``LocalCluster`` does), so a
script that submits a pipeline at its top level, without an
``if __name__ == "__main__":`` guard, is not run again in every worker.

``dask`` and ``distributed`` are imported here, inside functions only.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any

from jupyter_amlpipe.errors import ComputeError, MissingExtraError

CONNECT_TIMEOUT = 30.0  # seconds to reach a scheduler given by address


def require_distributed(feature: str) -> None:
    """Raise MissingExtraError with the pip command when dask.distributed is not installed."""
    for module in ("dask", "distributed"):
        if not _installed(module):
            raise MissingExtraError.for_module(module, "dask", feature)


def _installed(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None  # None: blocked, as if not installed
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class LocalSpec:
    """What identifies a local cluster: targets with equal specs in one process share it."""

    name: str
    min_nodes: int
    max_nodes: int
    idle_seconds_before_scaledown: int | None


@dataclass
class Connection:
    """A client, and the cluster it started (None when it connected to a scheduler by address)."""

    client: Any
    cluster: Any = None


_LOCK = threading.Lock()
_CONNECTIONS: dict[LocalSpec | str, Connection] = {}


def _adaptive_class() -> Any:
    """An Adaptive that asks for one worker per step in flight (each step holds a worker's only thread)."""
    from distributed.deploy.adaptive import Adaptive

    base: Any = Adaptive

    class StepAdaptive(base):  # type: ignore[misc]
        async def target(self) -> int:
            scheduler: Any = self.cluster.scheduler  # the in-process Scheduler of the local cluster
            processing = sum(len(ws.processing) for ws in scheduler.workers.values())
            return processing + len(scheduler.queued) + len(scheduler.unrunnable)

    return StepAdaptive


def _start_local(spec: LocalSpec) -> Connection:
    import distributed
    from distributed.deploy.subprocess import SubprocessWorker

    dist: Any = distributed

    worker = {
        "cls": SubprocessWorker,
        "options": {
            "worker_class": "distributed.Worker",
            "worker_kwargs": {
                "host": "127.0.0.1",
                "nthreads": 1,
                "dashboard": False,
                "memory_limit": 0,  # a worker only watches its step process: no memory pausing
                "silence_logs": logging.ERROR,
                "death_timeout": 30,
            },
        },
    }
    scheduler = {
        "cls": dist.Scheduler,
        "options": {"host": "127.0.0.1", "port": 0, "dashboard": False, "dashboard_address": ":0"},
    }
    cluster = dist.SpecCluster(
        workers={i: worker for i in range(spec.min_nodes)},
        scheduler=scheduler,
        worker=worker,
        silence_logs=logging.ERROR,
        name=f"amlpipe-{spec.name}",
    )
    adapt: dict[str, Any] = {"minimum": spec.min_nodes, "maximum": spec.max_nodes, "interval": "500ms"}
    if spec.idle_seconds_before_scaledown is not None:
        adapt["wait_count"] = max(1, 2 * int(spec.idle_seconds_before_scaledown))
    cluster.adapt(Adaptive=_adaptive_class(), **adapt)
    return Connection(dist.Client(cluster, set_as_default=False), cluster)


def _connect(address: str) -> Connection:
    import distributed

    dist: Any = distributed
    try:
        client = dist.Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ComputeError(
            f"Could not reach the Dask scheduler at {address!r}: {exc}. Start one with `dask scheduler --host HOST "
            "--port PORT` and workers with `dask worker tcp://HOST:PORT --nthreads 1`, or leave address=None for a "
            "local cluster."
        ) from exc
    return Connection(client)


def connection(key: LocalSpec | str) -> Connection:
    """The shared connection for a local cluster spec or a scheduler address, made on first use."""
    with _LOCK:
        current = _CONNECTIONS.get(key)
        if current is not None and current.client.status in ("running", "connecting"):
            return current
        made = _start_local(key) if isinstance(key, LocalSpec) else _connect(key)
        _CONNECTIONS[key] = made
        return made


def existing(key: LocalSpec | str) -> Connection | None:
    """The connection if one was made (a status query does not start a cluster)."""
    with _LOCK:
        return _CONNECTIONS.get(key)


def close(key: LocalSpec | str) -> None:
    """Close one connection (and the local cluster it started, with its workers)."""
    with _LOCK:
        made = _CONNECTIONS.pop(key, None)
    if made is not None:
        _close(made)


def _close(made: Connection) -> None:
    with contextlib.suppress(Exception):
        made.client.close(timeout=5)
    if made.cluster is not None:
        with contextlib.suppress(Exception):
            made.cluster.close(timeout=10)


@atexit.register
def close_all() -> None:
    """Close every client and local cluster of this process (at exit)."""
    with _LOCK:
        made = list(_CONNECTIONS.values())
        _CONNECTIONS.clear()
    for one in made:
        _close(one)
