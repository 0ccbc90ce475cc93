"""The process a DatabricksStep runs in: ``python -m jupyter_amlpipe.compute.spark._runtime SPEC_JSON``.

A script step runs through ``spark-submit`` on the master named by
``AMLPIPE_SPARK_MASTER`` (``local[*]`` when unset, as on LocalCompute). A
notebook step runs through papermill on a fresh kernel whose startup file
(``PYTHONSTARTUP``, as the ``pyspark`` shell does) creates ``spark`` (a
SparkSession on that master), ``sc`` and a small ``dbutils`` whose
``widgets.get(name)`` returns the notebook's parameters, inputs and outputs as
strings, as on Databricks. Failures are recorded on the step run with what to
do next.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from jupyter_amlpipe.compute.spark._submit import (
    DEFAULT_MASTER,
    ENV_CONF,
    ENV_MASTER,
    effective_settings,
    java_executable,
    spark_env,
    spark_home,
    submit_argv,
)
from jupyter_amlpipe.errors import AmlpipeError

_TAIL_LINES = 400

SESSION_STARTUP = '''\
# Written by jupyter_amlpipe for a DatabricksStep notebook: what Databricks gives a notebook.
from pyspark.sql import SparkSession as _AmlpipeSparkSession

_amlpipe_builder = _AmlpipeSparkSession.builder.master({master!r}).appName({name!r})
for _amlpipe_key, _amlpipe_value in {conf!r}.items():
    _amlpipe_builder = _amlpipe_builder.config(_amlpipe_key, _amlpipe_value)
spark = _amlpipe_builder.getOrCreate()
sc = spark.sparkContext


class _AmlpipeWidgets:
    """``dbutils.widgets.get(name)``: the step's notebook_params, inputs and outputs, as strings."""

    _values = {widgets!r}

    def get(self, name):
        if name not in self._values:
            raise ValueError(f"No widget {{name!r}}; this step has: {{sorted(self._values)}}")
        return self._values[name]

    def getArgument(self, name, default=None):
        return self._values.get(name, default)


class _AmlpipeDBUtils:
    widgets = _AmlpipeWidgets()


dbutils = _AmlpipeDBUtils()
del _amlpipe_builder
'''


def record_error(message: str) -> None:
    """Print ``message`` to stderr and record it as the step run's error."""
    print(message, file=sys.stderr, flush=True)
    path = os.environ.get("AMLPIPE_CONTEXT_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"type": "error", "message": message}) + "\n")


def last_exception(lines: list[str]) -> str | None:
    """The final line of the last Python traceback in ``lines`` (``ValueError: boom``), if any."""
    start = max((i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")), default=-1)
    if start < 0:
        return None
    for line in lines[start + 1 :]:
        if line and not line.startswith((" ", "\t")) and not line.startswith("Traceback"):
            return line.strip()
    return None


def _tee(source: IO[bytes], sink: IO[bytes], tail: collections.deque[str]) -> None:
    for raw in iter(source.readline, b""):
        sink.write(raw)
        sink.flush()
        tail.append(raw.decode("utf-8", "replace").rstrip("\n"))


def run_script(spec: dict[str, Any], argv: list[str], env: dict[str, str]) -> int:
    """``spark-submit`` the script; its output goes to the step's logs, and its last exception into the error.

    Spark passes the Python driver's stderr on through its own stdout, so both
    streams are searched for the script's traceback.
    """
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    tails: list[collections.deque[str]] = []
    readers = []
    for source, sink in ((proc.stdout, sys.stdout.buffer), (proc.stderr, sys.stderr.buffer)):
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        tails.append(tail)
        readers.append(threading.Thread(target=_tee, args=(source, sink, tail), daemon=True))
        readers[-1].start()
    code = proc.wait()
    for reader in readers:
        reader.join()
    if code != 0:
        cause = last_exception(list(tails[0])) or last_exception(list(tails[1]))
        record_error(
            f"Spark script {spec['script']!r} failed (spark-submit exit code {code})"
            + (f": {cause}" if cause else "; Spark's own error is at the end of the step's stderr log.")
        )
    return code


def _widget(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def run_spark_notebook(spec: dict[str, Any], master: str, conf: dict[str, str], env: dict[str, str]) -> int:
    """Run the notebook with papermill on a kernel that starts with ``spark``, ``sc`` and ``dbutils``."""
    from jupyter_amlpipe.compute import _notebook_launcher as launcher

    run_dir = Path(os.environ.get("AMLPIPE_RUN_DIR") or ".")
    startup = run_dir / ".spark_session_startup.py"
    widgets = {k: _widget(v) for k, v in spec["parameters"].items()}
    startup.write_text(
        SESSION_STARTUP.format(master=master, name=spec["run_name"], conf=conf, widgets=widgets), encoding="utf-8"
    )
    os.environ.clear()
    os.environ.update(env)
    os.environ["PYTHONSTARTUP"] = str(startup)  # IPython kernels run it at start, as the pyspark shell does
    nb_spec = {
        "notebook": spec["notebook"],
        "cwd": os.getcwd(),
        "output": str(run_dir / "notebooks" / Path(spec["notebook"]).name),
        "parameters": spec["parameters"],
        "copy_to": [],
        "kernel_name": None,
    }
    launcher.import_papermill()
    kernel_name = launcher.choose_kernel(nb_spec)
    return launcher.run_notebook(nb_spec, launcher.kernel_manager(kernel_name), kernel_name)


def main(args: list[str]) -> int:
    if len(args) != 1:
        print("usage: python -m jupyter_amlpipe.compute.spark._runtime SPEC_JSON", file=sys.stderr)
        return 2
    spec: dict[str, Any] = json.loads(args[0])
    what = f"DatabricksStep {spec.get('step', '?')!r}"
    master = os.environ.get(ENV_MASTER) or DEFAULT_MASTER
    try:
        home = spark_home(what)
        java_executable()
        master, conf = effective_settings(master, json.loads(os.environ.get(ENV_CONF) or "{}"), spec)
    except AmlpipeError as exc:
        record_error(exc.message)
        return 1
    env = spark_env(os.environ, master, sys.executable, home, spec)
    if spec["kind"] == "notebook":
        return run_spark_notebook(spec, master, conf, env)
    script = os.path.abspath(spec["script"])
    if not os.path.isfile(script):
        record_error(f"{what}: python_script_name {spec['script']!r} is not in the step's source directory.")
        return 1
    return run_script(spec, submit_argv(home, master, conf, spec, script), env)


if __name__ == "__main__":
    from jupyter_amlpipe.compute._notebook_launcher import exit_now

    exit_now(main(sys.argv[1:]))  # skip the interpreter's teardown (a notebook's zmq contexts)
