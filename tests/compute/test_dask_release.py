"""DaskCompute lets go of finished steps' futures after the next submit, or on a timer (no Dask needed)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from jupyter_amlpipe.compute.dask import handle


class Future:
    def __init__(self) -> None:
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()


@pytest.fixture(autouse=True)
def nothing_pending() -> Any:
    handle.release_pending()
    yield
    handle.release_pending()


def test_a_finished_future_is_released_by_the_next_submit_not_before() -> None:
    first, second = Future(), Future()
    handle.release_later(first)
    handle.release_later(second)
    assert not first.released.is_set() and not second.released.is_set()

    handle.release_pending()  # what DaskCompute.start does right after submitting

    assert first.released.is_set() and second.released.is_set()


def test_without_a_next_submit_the_timer_releases_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handle, "RELEASE_AFTER", 0.05)
    last = Future()
    handle.release_later(last)
    assert last.released.wait(timeout=10), "the last step's future was never released: its worker stays busy"


def test_a_release_that_fails_does_not_stop_the_others() -> None:
    class Broken(Future):
        def release(self) -> None:
            raise RuntimeError("client closed")

    kept = Future()
    handle.release_later(Broken())
    handle.release_later(kept)
    handle.release_pending()
    assert kept.released.is_set()
