"""``Run.get_context()`` outside a pipeline: an offline run that prints instead of failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_amlpipe import Run
from jupyter_amlpipe.errors import AmlpipeError


@pytest.fixture(autouse=True)
def _outside_any_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMLPIPE_CONTEXT_FILE", raising=False)


def test_get_context_outside_a_pipeline_is_offline() -> None:
    run = Run.get_context()
    assert run.id.startswith("OfflineRun")
    assert "offline" in repr(run)


def test_log_prints_attempted_to_log(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run.get_context()
    run.log("rows", 123)
    out = capsys.readouterr().out
    assert "Attempted to log" in out
    assert "rows" in out and "123" in out


def test_every_tracking_call_prints_and_never_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Run.get_context()
    report = tmp_path / "report.txt"
    report.write_text("hello", encoding="utf-8")
    run.log_list("losses", [0.5, 0.25])
    run.log_row("scores", epoch=1, f1=0.8)
    run.log_table("table", {"a": [1, 2], "b": [3, 4]})
    run.tag("team", "nlp")
    run.add_properties({"model": "bert"})
    run.upload_file("outputs/report.txt", str(report))
    out = capsys.readouterr().out
    assert out.count("Attempted to log") == 3
    for word in ("losses", "scores", "table", "team", "model", "outputs/report.txt"):
        assert word in out


def test_offline_run_has_no_parent() -> None:
    assert Run.get_context().parent is None


def test_offline_run_has_no_experiment() -> None:
    with pytest.raises(AmlpipeError) as info:
        _ = Run.get_context().experiment
    message = str(info.value)
    assert "offline run" in message
    assert "Workspace.from_config()" in message  # says what to do instead


def test_get_context_without_offline_raises() -> None:
    with pytest.raises(AmlpipeError, match="outside a pipeline"):
        Run.get_context(allow_offline=False)
