"""Datastore records in the workspace's metadata store.

A datastore is stored as one row of the ``datastores`` table: its name, its
type (``kind``) and a JSON config (protocol, root, storage options, v1
attributes and ``is_default``). This module reads and writes those rows: look
one up (with a "did you mean" hint), find the default, register the two
default datastores, change the default, and store a new config (refusing a
different config under an existing name unless ``overwrite``).

:class:`~jupyter_amlpipe.workspace.datastore.Datastore` turns the records into
objects; nothing here imports fsspec or a backend library.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean

if TYPE_CHECKING:
    from jupyter_amlpipe.workspace.store import MetadataStore

__all__ = [
    "DEFAULT_DATASTORES",
    "WorkspaceLike",
    "default_record",
    "get_record",
    "list_records",
    "register_defaults",
    "save_record",
    "set_default",
]

_TABLE = "datastores"
DEFAULT_DATASTORES = {"workspaceblobstore": "AzureBlob", "workspacefilestore": "AzureFile"}
_NAME = re.compile(r"^[A-Za-z0-9_]{1,255}$")


class WorkspaceLike(Protocol):
    """What a datastore needs from a workspace (``Workspace`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path: ...

    @property
    def _store(self) -> MetadataStore: ...


def get_record(workspace: WorkspaceLike, datastore_name: str) -> dict[str, Any]:
    """The record of the datastore named ``datastore_name``.

    Raises:
        LookupFailed: no datastore has that name.
    """
    record = workspace._store.get_named(_TABLE, datastore_name)
    if record is None:
        known = [r["name"] for r in workspace._store.list_named(_TABLE)]
        raise LookupFailed(
            f"No datastore named {datastore_name!r} in workspace {workspace.name!r}."
            f"{did_you_mean(datastore_name, known)} Register it first, for example with "
            f"Datastore.register_local(ws, {datastore_name!r}, path) or Datastore.register_fsspec(ws, "
            f"{datastore_name!r}, url).",
            datastore=datastore_name,
            known=known,
        )
    return record


def default_record(workspace: WorkspaceLike) -> dict[str, Any]:
    """The record of the workspace's default datastore.

    Raises:
        LookupFailed: no datastore is marked as the default.
    """
    records = workspace._store.list_named(_TABLE)
    for record in records:
        if record["config"].get("is_default"):
            return record
    raise LookupFailed(
        f"Workspace {workspace.name!r} has no default datastore. Choose one with "
        f"ws.set_default_datastore(name); registered: {sorted(r['name'] for r in records)}.",
        workspace=workspace.name,
    )


def list_records(workspace: WorkspaceLike) -> list[dict[str, Any]]:
    """Every datastore record of ``workspace``, in registration order."""
    return workspace._store.list_named(_TABLE)


def set_default(workspace: WorkspaceLike, name: str) -> None:
    """Mark ``name`` as the default datastore and every other one as not."""
    get_record(workspace, name)  # raises LookupFailed with a hint
    store = workspace._store
    with store.write():
        for record in store.list_named(_TABLE):
            config = dict(record["config"], is_default=record["name"] == name)
            store.put_named(_TABLE, record["name"], record["kind"], config)


def register_defaults(workspace: WorkspaceLike) -> None:
    """Register ``workspaceblobstore`` (default) and ``workspacefilestore`` if absent.

    Both are local folders ``<workspace>/datastores/<name>``, stored relative
    to the workspace so the workspace folder can move. Idempotent.
    """
    store = workspace._store
    with store.write():
        has_default = any(r["config"].get("is_default") for r in store.list_named(_TABLE))
        for name, datastore_type in DEFAULT_DATASTORES.items():
            (Path(workspace.path) / "datastores" / name).mkdir(parents=True, exist_ok=True)
            if store.get_named(_TABLE, name) is not None:
                continue
            config = {
                "datastore_type": datastore_type,
                "protocol": "file",
                "root": f"datastores/{name}",
                "workspace_relative": True,
                "storage_options": {},
                "is_default": name == "workspaceblobstore" and not has_default,
            }
            store.put_named(_TABLE, name, datastore_type, config)


def save_record(workspace: WorkspaceLike, name: str, config: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """Store ``config`` under ``name`` and return the record.

    The same config again is a no-op (the stored record is returned); another
    config needs ``overwrite``, which keeps the datastore's ``is_default``.

    Raises:
        DefinitionError: the name is not valid, the config is not JSON, or
            another config is registered under ``name`` and ``overwrite`` is false.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise DefinitionError(
            f"Datastore name {name!r} is not valid: use 1-255 letters, digits and underscores.",
            datastore=name,
        )
    config = _json_roundtrip(config, name)
    store = workspace._store
    with store.write():
        existing = store.get_named(_TABLE, name)
        is_default = False
        if existing is not None:
            old = {k: v for k, v in existing["config"].items() if k != "is_default"}
            if old == config:
                return existing
            if not overwrite:
                changed = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
                raise DefinitionError(
                    f"Datastore {name!r} is already registered in workspace {workspace.name!r} with a "
                    f"different configuration (differs in: {', '.join(changed)}). Pass overwrite=True to "
                    "replace it, or register under another name.",
                    datastore=name,
                )
            is_default = bool(existing["config"].get("is_default"))
        config["is_default"] = is_default
        store.put_named(_TABLE, name, str(config["datastore_type"]), config)
    return {"name": name, "kind": config["datastore_type"], "config": config}


def _json_roundtrip(config: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = json.loads(json.dumps(config))
    except (TypeError, ValueError) as exc:
        raise DefinitionError(
            f"The configuration of datastore {name!r} cannot be stored ({exc}): "
            "pass storage options made of strings, numbers, booleans, lists and dicts.",
            datastore=name,
        ) from exc
    return result
