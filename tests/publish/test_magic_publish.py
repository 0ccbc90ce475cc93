"""``%amlpipe publish NAME`` in IPython's testing shell, on a real workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import PublishedPipeline, Workspace

pytest.importorskip("IPython", reason="the magics need IPython (extra [jupyter])")

CELL = """\
import sys
print("CELL=v1", word)
"""


def _shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    from IPython.core.getipython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    ip = start_ipython() or get_ipython()
    ip.reset(new_session=False)
    ws = Workspace.create("magics", path=tmp_path / "ws")
    ws.write_config(tmp_path)
    ip.run_line_magic("load_ext", "jupyter_amlpipe")
    from jupyter_amlpipe.jupyter.magics import load_ipython_extension

    load_ipython_extension(ip)
    return ip, ws


def test_publish_magic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ip, ws = _shell(tmp_path, monkeypatch)
    ip.run_cell_magic("amlstep", "say --params word=hello", CELL)
    ip.run_line_magic("amlpipe", "publish greeter --version 1 -o pub")
    out = capsys.readouterr().out
    published = ip.user_ns["pub"]
    assert f"Published 'greeter' as {published.id}" in out and published.endpoint in out
    assert [p.id for p in PublishedPipeline.list(ws)] == [published.id]
    assert published.version == "1" and published.get_step_names() == ["say"]
    ip.run_cell_magic("amlstep", "say --params word=hello", CELL.replace("v1", "v2"))  # redefined after publishing
    run = published.submit(ws, "magic-exp", {"word": "bye"})
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    assert "CELL=v1 bye" in run.find_step_run("say")[0].get_stdout_log()
