"""Name → implementation registries, loaded lazily (papermill's engines, fsspec's registry).

An entry is a class or a ``"module:attribute"`` string imported on first use,
so optional engines cost nothing until asked for. Plugins add entries through
the entry-point group. An unknown name is answered with the known ones; a
missing optional library with the exact ``pip install`` to run.
"""

from __future__ import annotations

import importlib
from typing import Any, Generic, TypeVar

from jupyter_amlpipe.errors import DefinitionError, MissingExtraError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """A lazily loading map from a name to a class."""

    def __init__(self, kind: str, entry_point_group: str) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._extras: dict[str, str] = {}
        self._entry_points_loaded = False

    def register(self, name: str, target: T | str, extra: str | None = None) -> None:
        """Register ``target`` (a class, or ``"module:attr"``) under ``name``."""
        self._entries[name] = target
        if extra:
            self._extras[name] = extra

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.entry_point_group):
            self._entries.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def get(self, name: str) -> T:
        if name not in self._entries:
            self._load_entry_points()
        if name not in self._entries:
            raise DefinitionError(
                f"Unknown {self.kind} {name!r}.{did_you_mean(name, self._entries)}",
                name=name,
            )
        target = self._entries[name]
        if isinstance(target, str):
            module_name, _, attr = target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                extra = self._extras.get(name)
                missing = getattr(exc, "name", None) or str(exc)
                if extra:
                    raise MissingExtraError.for_module(missing, extra, f"The {self.kind} {name!r}") from exc
                raise
            loaded: Any = getattr(module, attr)
            self._entries[name] = loaded
            return loaded  # type: ignore[no-any-return]
        return target
