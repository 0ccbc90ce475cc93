"""What published pipelines, endpoints and schedules share: a row of the workspace database behind a handle.

Every property that can change (status above all) is read from the database,
so every handle, old or new, the CLI and a running server see an enable or
disable at once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jupyter_amlpipe.errors import LookupFailed


class StoredObject:
    """A handle on one row of ``TABLE``: id, name, description and status, with status changes persisted."""

    TABLE: ClassVar[str]
    WHAT: ClassVar[str]  # how messages name the kind of object ("Published pipeline")

    def __init__(self, workspace: Any, record: dict[str, Any]) -> None:
        self._workspace = workspace
        self._id: str = record["id"]
        self._rec = record

    def _record(self) -> dict[str, Any]:
        """The row as stored now (and remembered for the other properties)."""
        record = self._workspace._store.get_doc(self.TABLE, self._id)
        if record is None:
            raise LookupFailed(f"{self.WHAT} {self._id!r} no longer exists.", id=self._id)
        self._rec = record
        return record  # type: ignore[no-any-return]

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return str(self._rec["name"])

    @property
    def description(self) -> str | None:
        value = self._rec["doc"].get("description")
        return None if value is None else str(value)

    @property
    def status(self) -> str:
        """As stored now: ``"Active"``, ``"Disabled"`` (or, for endpoints, ``"Archived"``)."""
        return str(self._record()["status"])

    def _set_status(self, status: str) -> None:
        if not self._workspace._store.set_doc_status(self.TABLE, self._id, status):
            raise LookupFailed(f"{self.WHAT} {self._id!r} no longer exists.", id=self._id)
        self._record()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(Name: {self.name}, Id: {self._id}, Status: {self._rec['status']})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._id == self._id

    def __hash__(self) -> int:
        return hash(self._id)
