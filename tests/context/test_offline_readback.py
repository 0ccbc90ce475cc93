"""The offline run (``Run.get_context()`` outside a pipeline) reads back what this process logged on it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_amlpipe import Run

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _outside_any_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMLPIPE_CONTEXT_FILE", raising=False)


def test_get_metrics_returns_what_was_logged_in_this_process(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run.get_context()
    run.log("accuracy", 0.75)
    run.log("loss", 3)
    run.log("loss", 2)
    run.log_list("sizes", [1, 2, 3])
    run.log_row("table", epoch=1, score=0.5)
    run.log_row("table", epoch=2, score=0.25)
    run.log_table("by_product", {"product": ["kettle", "lamp"], "accuracy": [1.0, 0.6]})

    assert run.get_metrics() == {
        "accuracy": 0.75,
        "loss": [3, 2],
        "sizes": [1, 2, 3],
        "table": {"epoch": [1, 2], "score": [0.5, 0.25]},
        "by_product": {"product": ["kettle", "lamp"], "accuracy": [1.0, 0.6]},
    }
    assert run.get_metrics(name="loss") == {"loss": [3, 2]}
    assert run.get_metrics(recursive=True) == {run.id: run.get_metrics()}
    assert "Attempted to log scalar metric accuracy:\n0.75" in capsys.readouterr().out  # still prints, as in v1


def test_each_offline_run_keeps_its_own_metrics() -> None:
    first, second = Run.get_context(), Run.get_context()
    first.log("rows", 10)
    assert second.get_metrics() == {}
    assert first.id != second.id


def test_offline_run_identity_status_tags_and_details() -> None:
    run = Run.get_context()
    assert re.fullmatch(r"OfflineRun_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", run.id)
    assert run.display_name == run.id
    assert run.get_status() == "Running"
    run.tag("team", "nlp")
    run.set_tags({"data": "v1"})
    run.add_properties({"model": "bert"})
    assert run.get_tags() == {"team": "nlp", "data": "v1"}
    assert run.get_properties() == {"model": "bert"}
    details = run.get_details()
    assert details["runId"] == run.id
    assert details["status"] == "Running"
    assert "endTimeUtc" not in details  # v1: absent while the run is in progress
    assert details["properties"] == {"model": "bert"}
    assert details["logFiles"] == {}
    assert details["startTimeUtc"].endswith("Z")


def test_offline_run_works_in_a_bare_interpreter() -> None:
    """A script run by hand: it logs, then reads its metrics back (the context module is stdlib-only)."""
    program = (
        "from jupyter_amlpipe import Run\n"
        "run = Run.get_context()\n"
        "run.log('rows', 191)\n"
        "run.log('rows', 200)\n"
        "print('metrics', run.get_metrics())\n"
        "import sys\n"
        "print('runner loaded', any(m.startswith('jupyter_amlpipe.runner') for m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(REPO_ROOT),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "metrics {'rows': [191, 200]}" in done.stdout
    assert "runner loaded False" in done.stdout
