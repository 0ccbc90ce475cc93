"""Without the [server] extra, the server says exactly what to install; the rest of the CLI still works."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from jupyter_amlpipe.errors import MissingExtraError


def test_a_missing_server_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from jupyter_amlpipe.server._deps import require_server_extra

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if uvicorn were not installed
    with pytest.raises(MissingExtraError) as info:
        require_server_extra()
    assert 'pip install "jupyter_amlpipe[server]"' in str(info.value)
    assert "uvicorn" in str(info.value)


def test_amlpipe_serve_without_the_extra_fails_cleanly(monkeypatch: pytest.MonkeyPatch, workspace: object) -> None:
    from jupyter_amlpipe.cli.main import cli

    monkeypatch.setitem(sys.modules, "fastapi", None)
    result = CliRunner().invoke(cli, ["serve", "--workspace", str(workspace.path)])  # type: ignore[attr-defined]
    assert result.exit_code != 0
    assert 'pip install "jupyter_amlpipe[server]"' in result.output
    assert "Traceback" not in result.output
