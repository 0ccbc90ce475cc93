"""Not a step: a chain of counted steps ``s1 -> s2 -> ... -> sN`` (``reuse_step.py``), and a submitter.

``build_chain`` is loaded by the resume tests; run as a program
(``reuse_chain.py WS_PATH SOURCE_DIR WORK_DIR [STEPS]``) it submits the chain
from this process, prints ``REUSE_RUN_ID <id>``, waits for the run and prints
``REUSE_STATUS <status>``. WORK_DIR holds the count file ``count.txt``, the
markers folder ``markers/`` and the hold files ``hold/sK`` (a step waits
while its hold file exists).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def build_chain(ws: Any, source: Path | str, work: Path | str, steps: int = 4, **step_args: Any) -> Any:
    """A fresh Pipeline of ``steps`` chained steps; ``sK`` writes output ``oK``, read by ``sK+1``."""
    from jupyter_amlpipe import Pipeline, PipelineData
    from jupyter_amlpipe.compute import LocalCompute
    from jupyter_amlpipe.steps import PythonScriptStep

    work = Path(work)
    target = LocalCompute(ws, "local")
    chain = []
    previous = None
    for k in range(1, steps + 1):
        name = f"s{k}"
        out = PipelineData(f"o{k}")
        arguments: list[Any] = [name, work / "count.txt", "--out", out, "--markers", work / "markers"]
        arguments += ["--hold", work / "hold" / name, "--fail-if", work / "fail" / name]
        if previous is not None:
            arguments += ["--in", previous]
        chain.append(
            PythonScriptStep(
                "reuse_step.py",
                name=name,
                arguments=arguments,
                inputs=[previous] if previous is not None else [],
                outputs=[out],
                source_directory=str(source),
                compute_target=target,
                **step_args.get(name, {}),
            )
        )
        previous = out
    return Pipeline(ws, chain)


def prepare_work(work: Path | str) -> Path:
    work = Path(work)
    for folder in ("markers", "hold", "fail"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    return work


if __name__ == "__main__":
    from jupyter_amlpipe import Experiment, Workspace

    ws_path, source, work_dir = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    workspace = Workspace(path=ws_path)
    submitted = Experiment(workspace, "chain").submit(build_chain(workspace, source, prepare_work(work_dir), count))
    print(f"REUSE_RUN_ID {submitted.id}", flush=True)
    status = submitted.wait_for_completion(show_output=False, timeout_seconds=120, raise_on_error=False)
    print(f"REUSE_STATUS {status}", flush=True)
