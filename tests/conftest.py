"""Shared test configuration: engine markers, a private AMLPIPE_HOME, fixtures.

Engine markers (``docker``, ``dask``, ``spark``, ``browser``, ``sql``): a test
that needs an engine is skipped with the reason when the engine is absent, and
fails instead when ``AMLPIPE_REQUIRE_ENGINES`` names that engine (a
comma-separated list, or ``all``). CI sets it for the engines it installs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from storage_servers import AZURITE_HOW, S3_HOW, azurite_server, check_azurite, check_s3, s3_server  # noqa: F401

REQUIRE_ENGINES_ENV = "AMLPIPE_REQUIRE_ENGINES"
CHROMIUM = Path("/usr/bin/chromium")


def _check_docker() -> str | None:
    try:
        import docker
    except ImportError as exc:
        return f"docker engine not reachable: the `docker` package is not installed ({exc})"
    try:
        client = docker.from_env(timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"docker engine not reachable: {type(exc).__name__}: {exc}"
    return None


def _check_dask() -> str | None:
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        return f"dask.distributed not importable: {exc}"
    return None


def _check_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"pyspark not importable: {exc}"
    if shutil.which("java") is None:
        return "spark needs java on PATH, and there is none"
    return None


def _check_browser() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError as exc:
        return f"playwright not importable: {exc}"
    if not CHROMIUM.exists():
        return f"browser tests need Chromium at {CHROMIUM}, and it does not exist"
    return None


def _check_sql() -> str | None:
    try:
        import duckdb  # noqa: F401
    except ImportError as exc:
        return f"duckdb not importable: {exc}"
    return None


# name -> (check returning None when available or the reason it is not, how to set it up)
ENGINES: dict[str, tuple[Callable[[], str | None], str]] = {
    "docker": (_check_docker, 'set up Docker (pip install "jupyter_amlpipe[docker]" and start dockerd)'),
    "dask": (_check_dask, 'pip install "jupyter_amlpipe[dask]"'),
    "spark": (_check_spark, 'pip install "jupyter_amlpipe[spark]" and install Java 17'),
    "browser": (_check_browser, "pip install playwright and apt-get install chromium"),
    "sql": (_check_sql, 'pip install "jupyter_amlpipe[sql]"'),
    "azurite": (check_azurite, AZURITE_HOW),
    "s3": (check_s3, S3_HOW),
}

# Session cache: engine name -> None (available) or the reason it is not.
_engine_status: dict[str, str | None] = {}
# AMLPIPE_HOME as it was before the session, restored at the end.
_saved_home: list[str | None] = []
_home_key = pytest.StashKey[str]()


def _required_engines() -> set[str]:
    raw = os.environ.get(REQUIRE_ENGINES_ENV, "")
    names = {name.strip().lower() for name in raw.split(",") if name.strip()}
    if "all" in names:
        return set(ENGINES)
    unknown = names - set(ENGINES)
    if unknown:
        raise pytest.UsageError(
            f"{REQUIRE_ENGINES_ENV}={raw!r} names unknown engine(s) {sorted(unknown)}; "
            f"known: {sorted(ENGINES)} or 'all'"
        )
    return names


def _engine_unavailable(name: str) -> str | None:
    if name not in _engine_status:
        check, _ = ENGINES[name]
        _engine_status[name] = check()
    return _engine_status[name]


def pytest_configure(config: pytest.Config) -> None:
    _required_engines()  # fail fast on a misspelt engine name
    # Tests never touch ~/.amlpipe: the whole session gets its own home.
    _saved_home.append(os.environ.get("AMLPIPE_HOME"))
    home = tempfile.mkdtemp(prefix="amlpipe-home-")
    os.environ["AMLPIPE_HOME"] = home
    config.stash[_home_key] = home
    # Step processes import jupyter_amlpipe: make this checkout importable even without `pip install -e .`.
    repo = str(Path(__file__).resolve().parents[1])
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if repo not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([repo, *parts])


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_home_key, None)
    if home:
        shutil.rmtree(home, ignore_errors=True)
    if _saved_home:
        previous = _saved_home.pop()
        if previous is None:
            os.environ.pop("AMLPIPE_HOME", None)
        else:
            os.environ["AMLPIPE_HOME"] = previous


def pytest_runtest_setup(item: pytest.Item) -> None:
    required = _required_engines()
    for name in ENGINES:
        if item.get_closest_marker(name) is None:
            continue
        reason = _engine_unavailable(name)
        if reason is None:
            continue
        _, how = ENGINES[name]
        if name in required:
            pytest.fail(
                f"{reason}; {REQUIRE_ENGINES_ENV} requires the {name} engine: {how}, "
                f"or remove {name!r} from {REQUIRE_ENGINES_ENV}",
                pytrace=False,
            )
        pytest.skip(f"{reason}; {how} to run this test, or set {REQUIRE_ENGINES_ENV}={name} to make it fail")


@pytest.fixture
def workspace(tmp_path: Path) -> Any:
    """A fresh workspace named ``test`` in ``tmp_path / "ws"``."""
    import jupyter_amlpipe  # imported lazily: collection must not depend on the package importing

    return jupyter_amlpipe.Workspace.create("test", path=tmp_path / "ws")
