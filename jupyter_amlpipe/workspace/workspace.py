"""The workspace: a folder holding metadata (SQLite), datastores, snapshots and runs."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, did_you_mean
from jupyter_amlpipe.workspace import config as _config
from jupyter_amlpipe.workspace.store import MetadataStore

if TYPE_CHECKING:
    from jupyter_amlpipe.workspace.datastore import Datastore
    from jupyter_amlpipe.workspace.snapshot import SnapshotStore

DB_FILE = "amlpipe.db"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
# Azure arguments v1 code passes to Workspace.create/get; recorded, not used.
_AZURE_KEYS = (
    "subscription_id",
    "resource_group",
    "location",
    "create_resource_group",
    "sku",
    "tags",
    "friendly_name",
    "storage_account",
    "key_vault",
    "app_insights",
    "container_registry",
    "adb_workspace",
    "primary_user_assigned_identity",
    "cmk_keyvault",
    "resource_cmk_uri",
    "hbi_workspace",
    "default_cpu_compute_target",
    "default_gpu_compute_target",
    "private_endpoint_config",
    "private_endpoint_auto_approval",
    "user_assigned_identity_for_cmk_encryption",
    "system_datastores_auth_mode",
    "v1_legacy_mode",
    "image_build_compute",
    "public_network_access",
    "identity_type",
    "auth",
)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise DefinitionError(
            f"Workspace name {name!r} is not valid: use letters, digits, '-', '_' or '.', starting with a letter or digit.",
            name=name,
        )
    return name


class Workspace:
    """A local workspace (Azure ML SDK v1 ``Workspace``), kept in one folder.

    The folder holds ``workspace.json``, the SQLite database ``amlpipe.db``,
    ``datastores/`` (the default datastores' files), ``snapshots/`` and
    ``runs/``. Open one with :meth:`create`, :meth:`get` or :meth:`from_config`.
    """

    _cache: ClassVar[dict[Path, MetadataStore]] = {}

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        workspace_name: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        # v1 signature: Workspace(subscription_id, resource_group, workspace_name)
        name = workspace_name or kwargs.pop("name", None)
        if path is None:
            if not name:
                raise DefinitionError("Workspace() needs a workspace_name or a path.")
            path = _config.default_root() / _check_name(name)
        folder = Path(path).expanduser().resolve()
        meta_file = folder / _config.WORKSPACE_FILE
        if not meta_file.is_file():
            raise LookupFailed(
                f"No workspace in {folder}. Create it with Workspace.create({name or folder.name!r}, path={str(folder)!r}) "
                f"or: amlpipe workspace create {name or folder.name} --path {folder}",
                path=str(folder),
            )
        meta = _config.read_json(meta_file)
        self.name: str = str(meta["name"])
        self.path: Path = folder
        self.subscription_id = meta.get("subscription_id") or subscription_id
        self.resource_group = meta.get("resource_group") or resource_group
        self.location = meta.get("location")
        self._meta = meta
        store = Workspace._cache.get(folder)
        if store is None or not store.path.exists():
            store = MetadataStore(folder / DB_FILE)
            Workspace._cache[folder] = store
        self._store = store

    # -- v1 constructors -----------------------------------------------------
    @classmethod
    def create(
        cls,
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        create_resource_group: bool = True,
        sku: str = "basic",
        *,
        path: str | os.PathLike[str] | None = None,
        exist_ok: bool = False,
        show_output: bool = True,
        **kwargs: Any,
    ) -> Workspace:
        """Create a workspace folder at ``path`` (default ``$AMLPIPE_HOME/workspaces/<name>``).

        Azure arguments of v1 (subscription_id, resource_group, location, sku,
        ...) are accepted and recorded so old code runs unchanged.
        """
        _check_name(name)
        folder = Path(path).expanduser().resolve() if path is not None else _config.default_root() / name
        meta_file = folder / _config.WORKSPACE_FILE
        if meta_file.is_file():
            if not exist_ok:
                raise DefinitionError(
                    f"A workspace already exists in {folder}. Pass exist_ok=True to use it, "
                    f"or open it with Workspace.get({name!r}, path={str(folder)!r}).",
                    path=str(folder),
                )
            return cls(path=folder)
        if folder.exists() and folder.is_file():
            raise DefinitionError(f"Cannot create workspace {name!r}: {folder} is a file.", path=str(folder))
        azure = {k: v for k, v in kwargs.items() if k in _AZURE_KEYS}
        azure.update(create_resource_group=create_resource_group, sku=sku)
        unknown = sorted(set(kwargs) - set(_AZURE_KEYS))
        if unknown:
            raise DefinitionError(f"Workspace.create() got unexpected arguments {unknown}.", arguments=unknown)
        meta: dict[str, Any] = {
            "name": name,
            "subscription_id": subscription_id,
            "resource_group": resource_group,
            "location": location,
            "azure": azure,
        }
        for sub in ("datastores", "snapshots", "runs"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        store = MetadataStore(folder / DB_FILE)
        cls._cache[folder] = store
        _config.write_json_atomic(meta_file, meta)  # written last: the folder is complete
        ws = cls(path=folder)
        from jupyter_amlpipe.workspace.datastore import Datastore

        Datastore._register_defaults(ws)
        if show_output and os.environ.get("AMLPIPE_QUIET") != "1":
            pass  # v1 prints deployment progress; a local create is instant
        return ws

    @classmethod
    def get(
        cls,
        name: str,
        auth: Any = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> Workspace:
        """Open the workspace ``name`` (in ``path``, or under the default root)."""
        _check_name(name)
        folder = Path(path).expanduser().resolve() if path is not None else _config.default_root() / name
        if not (folder / _config.WORKSPACE_FILE).is_file():
            root = _config.default_root()
            known = [p.name for p in root.iterdir() if (p / _config.WORKSPACE_FILE).is_file()] if root.is_dir() else []
            raise LookupFailed(
                f"No workspace {name!r} in {folder}.{did_you_mean(name, known) if path is None else ''} "
                f"Create it with Workspace.create({name!r}, path=...).",
                name=name,
            )
        ws = cls(path=folder)
        if ws.name != name:
            raise LookupFailed(f"The workspace in {folder} is named {ws.name!r}, not {name!r}.", name=name)
        return ws

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        auth: Any = None,
        _logger: Any = None,
        _file_name: str | None = None,
    ) -> Workspace:
        """Find ``.azureml/config.json`` from ``path`` (default: cwd) or a parent, like v1."""
        config_file, data = _config.find_config(path, _file_name)
        folder = _config.workspace_folder_from_config(config_file, data)
        if not (folder / _config.WORKSPACE_FILE).is_file():
            name = str(data.get("workspace_name") or folder.name)
            if "workspace_path" not in data:
                # A v1 Azure config: the named workspace lives under the default root.
                return cls.create(
                    name,
                    path=folder,
                    exist_ok=True,
                    subscription_id=data.get("subscription_id"),
                    resource_group=data.get("resource_group"),
                )
            raise LookupFailed(
                f"Config file {config_file} points to {folder}, which holds no workspace. "
                f"Create it with Workspace.create({name!r}, path={str(folder)!r}).",
                path=str(folder),
            )
        return cls(path=folder)

    def write_config(self, path: str | os.PathLike[str] | None = None, file_name: str | None = None) -> Path:
        """Write ``<path or cwd>/.azureml/config.json`` naming this workspace; return its path."""
        folder = Path(path) if path is not None else Path.cwd()
        target = folder.expanduser().resolve() / _config.CONFIG_DIR / (file_name or _config.CONFIG_FILE)
        data = {
            "workspace_name": self.name,
            "workspace_path": str(self.path),
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
        }
        _config.write_json_atomic(target, data)
        return target

    # -- members ---------------------------------------------------------------
    @property
    def datastores(self) -> dict[str, Datastore]:
        from jupyter_amlpipe.workspace.datastore import Datastore

        return Datastore._list(self)

    @property
    def datasets(self) -> dict[str, Any]:
        """The latest version of every registered dataset, by name (v1 ``ws.datasets``)."""
        from jupyter_amlpipe.workspace.dataset import Dataset

        return dict(Dataset.get_all(self))

    def get_default_datastore(self) -> Datastore:
        from jupyter_amlpipe.workspace.datastore import Datastore

        return Datastore.get_default(self)

    def set_default_datastore(self, name: str) -> None:
        from jupyter_amlpipe.workspace.datastore import Datastore

        Datastore._set_default(self, name)

    @property
    def compute_targets(self) -> Mapping[str, Any]:
        from jupyter_amlpipe.core.compute_target import ComputeTarget

        return {r["name"]: ComputeTarget._from_record(self, r) for r in self._store.list_named("compute_targets")}

    @property
    def experiments(self) -> Mapping[str, Any]:
        experiment_cls = _runner_attr("jupyter_amlpipe.runner.experiment", "Experiment")
        return {name: experiment_cls(self, name) for name in self._store.list_experiments()}

    def get_run(self, run_id: str) -> Any:
        """The run (pipeline run or step run) with this id."""
        fn = _runner_attr("jupyter_amlpipe.runner.runs", "run_from_id")
        return fn(self, run_id)

    @property
    def snapshots(self) -> SnapshotStore:
        from jupyter_amlpipe.workspace.snapshot import SnapshotStore

        return SnapshotStore(self.path / "snapshots")

    def get_details(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "schema_version": self._store.schema_version(), **self._meta}

    def run_dir(self, run_id: str) -> Path:
        """The folder of one run's logs and artifacts."""
        return self.path / "runs" / run_id

    # -- bearer tokens for the REST server (only their SHA-256 is stored) ---------------------
    def create_token(self, name: str | None = None, expires: Any = None) -> str:
        """A new bearer token (256 random bits), shown only now; ``expires``: seconds, timedelta or datetime."""
        from jupyter_amlpipe.workspace.tokens import create_token

        return create_token(self._store, name, expires)

    def list_tokens(self) -> list[dict[str, Any]]:
        """The workspace's tokens: name, created, expires, revoked, status (never the secret)."""
        from jupyter_amlpipe.workspace.tokens import list_tokens

        return list_tokens(self._store)

    def revoke_token(self, name: str) -> None:
        """Revoke a token: the server refuses it from its next request on."""
        from jupyter_amlpipe.workspace.tokens import revoke_token

        revoke_token(self._store, name)

    @property
    def server_address(self) -> str:
        """The REST server's base URL for endpoints (``server_address`` in workspace.json)."""
        return str(self._meta.get("server_address") or "http://127.0.0.1:8787").rstrip("/")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"Workspace.create(name={self.name!r}, path={str(self.path)!r})"


def _runner_attr(module: str, attr: str) -> Any:
    """Reach a run object class from the layer above, loaded lazily by name.

    The workspace layer hands out runs and experiments (v1's ``ws.get_run``,
    ``ws.experiments``) but must not import the runner; like a registry entry,
    the class is found by its dotted name when first needed.
    """
    import importlib

    return getattr(importlib.import_module(module), attr)
