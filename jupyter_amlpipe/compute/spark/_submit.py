"""Finding Spark and Java, and the ``spark-submit`` command line of one step.

Standard library only, and no pyspark import: the runner (to check a step
before it starts) and the step process (to build the command) both use it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from jupyter_amlpipe.errors import ComputeError, DefinitionError, MissingExtraError

ENV_MASTER = "AMLPIPE_SPARK_MASTER"
"""The Spark master a step runs on (set by SparkCompute; unset means ``local[*]``)."""
ENV_CONF = "AMLPIPE_SPARK_CONF"
"""The compute target's ``spark_conf`` as JSON (set by SparkCompute)."""
DEFAULT_MASTER = "local[*]"
MASTER_FORMS = "local, local[N], local[*], spark://host:port, yarn, or k8s://https://host:port"
_LOCAL = re.compile(r"^local(\[(\*|\d+)(,\d+)?\])?$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_master(master: Any, owner: str) -> str:
    """``master`` if it is a Spark master URL this package can submit to; else a DefinitionError."""
    if isinstance(master, str):
        if _LOCAL.match(master) or master == "yarn":
            return master
        if master.startswith(("spark://", "k8s://")) and len(master) > len("spark://"):
            return master
    raise DefinitionError(f"{owner}: master {master!r} is not a Spark master URL. Use one of: {MASTER_FORMS}.")


def is_local(master: str) -> bool:
    return bool(_LOCAL.match(master))


def _on_loopback(master: str) -> bool:
    if not master.startswith("spark://"):
        return False
    hosts = [urlsplit("spark://" + part).hostname for part in master[len("spark://") :].split(",")]
    return all(h in _LOOPBACK for h in hosts)


def spark_home(feature: str) -> str:
    """The Spark installation to submit with: ``$SPARK_HOME`` when it has ``bin/spark-submit``, else pyspark's folder."""
    explicit = os.environ.get("SPARK_HOME")
    if explicit and os.path.isfile(os.path.join(explicit, "bin", "spark-submit")):
        return explicit
    try:
        spec = importlib.util.find_spec("pyspark")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError.for_module("pyspark", "spark", feature)
    return str(next(iter(spec.submodule_search_locations)))


def java_executable() -> str:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java``, else ``java`` on PATH; else a ComputeError."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.isfile(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    found = shutil.which("java")
    if found:
        return found
    raise ComputeError(
        "Spark needs Java 17 or newer, and there is no `java` on PATH"
        + (f" nor in JAVA_HOME={home!r}" if home else " and JAVA_HOME is not set")
        + ". Install a JDK or JRE (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME, "
        "then submit the pipeline again."
    )


def check_spark(feature: str) -> str:
    """Spark's home folder, after checking that pyspark and Java are both there (else a clear error)."""
    home = spark_home(feature)
    java_executable()
    return home


def effective_settings(
    master: str, compute_conf: Mapping[str, str], spec: Mapping[str, Any]
) -> tuple[str, dict[str, str]]:
    """The master and Spark conf one step runs with.

    The step's ``spark_conf`` wins over the compute target's. ``num_workers``
    becomes ``local[N]`` on a local master, N one-core executors on a
    standalone master (``spark.executor.cores`` × N = ``spark.cores.max``),
    and ``spark.executor.instances`` on YARN or Kubernetes; a conf that
    already sets those keys wins.
    """
    conf = {
        "spark.log.level": "WARN",
        "spark.ui.showConsoleProgress": "false",
        **dict(compute_conf),
        **dict(spec.get("spark_conf") or {}),
    }
    workers = spec.get("num_workers")
    if workers:
        if is_local(master):
            master = f"local[{int(workers)}]"
        elif master.startswith("spark://"):
            cores = conf.setdefault("spark.executor.cores", "1")
            per = int(cores) if cores.isdigit() else 1
            conf.setdefault("spark.cores.max", str(int(workers) * per))
        else:
            conf.setdefault("spark.executor.instances", str(int(workers)))
    for key, value in (spec.get("spark_env_variables") or {}).items():
        conf.setdefault(f"spark.executorEnv.{key}", str(value))
    return master, conf


def spark_env(base: Mapping[str, str], master: str, python: str, home: str, spec: Mapping[str, Any]) -> dict[str, str]:
    """The environment of ``spark-submit`` (and of a notebook's kernel)."""
    env = dict(base)
    env["SPARK_HOME"] = home
    env.setdefault("PYSPARK_PYTHON", python)
    env["PYSPARK_DRIVER_PYTHON"] = python  # the step's Python, even where a user set it to `jupyter` for notebooks
    env.pop("PYSPARK_DRIVER_PYTHON_OPTS", None)
    if is_local(master) or _on_loopback(master):
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    env.update({str(k): str(v) for k, v in (spec.get("spark_env_variables") or {}).items()})
    return env


def submit_argv(home: str, master: str, conf: Mapping[str, str], spec: Mapping[str, Any], script: str) -> list[str]:
    """``spark-submit --master M --name N --conf k=v ... SCRIPT ARGS...``."""
    argv = [os.path.join(home, "bin", "spark-submit"), "--master", master, "--name", str(spec["run_name"])]
    for key in sorted(conf):
        argv += ["--conf", f"{key}={conf[key]}"]
    return [*argv, script, *spec.get("args", [])]


__all__ = [
    "DEFAULT_MASTER",
    "ENV_CONF",
    "ENV_MASTER",
    "MASTER_FORMS",
    "check_master",
    "check_spark",
    "effective_settings",
    "is_local",
    "java_executable",
    "spark_env",
    "spark_home",
    "submit_argv",
]
