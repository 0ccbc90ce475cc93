"""Datastores: named roots for data, with the Azure ML SDK v1 API, backed by fsspec.

A datastore is a record in the workspace's metadata store (name, type and a
JSON config) plus an fsspec filesystem built from that config on first use.
Every workspace has two local datastores, ``workspaceblobstore`` (the default)
and ``workspacefilestore``, kept under ``<workspace>/datastores/<name>``; more
can be registered: a local folder, any fsspec URL, Azure Blob (adlfs), Azure
File shares (SMB) and S3 (s3fs).

Public (v1) API: ``Datastore(ws, name=None)``, ``Datastore.get``,
``Datastore.get_default``, the ``register_*`` class methods, ``upload_files``,
``upload``, ``download``, ``path``, ``as_mount`` and ``as_download``.

Internal API for the workspace and the runner (stable, documented below):
``_register_defaults(ws)``, ``_list(ws)``, ``_set_default(ws, name)``, ``_fs``,
``_full_path``, ``local_path``, ``exists``, ``list_files``, ``get_to_local``
and ``put_from_local``.

fsspec, tqdm and the backend libraries are imported inside functions, never
at import time. This module is longer than most because the v1 API of a
datastore is one class; the path rules live in :mod:`.paths`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError, LookupFailed, MissingExtraError, did_you_mean
from jupyter_amlpipe.workspace.paths import normalize_relpath, safe_join, safe_join_path

if TYPE_CHECKING:
    from jupyter_amlpipe.core.data import DataReference
    from jupyter_amlpipe.workspace.store import MetadataStore

__all__ = ["Datastore", "WorkspaceLike"]

_TABLE = "datastores"
DEFAULT_DATASTORES = {"workspaceblobstore": "AzureBlob", "workspacefilestore": "AzureFile"}
_NAME = re.compile(r"^[A-Za-z0-9_]{1,255}$")
# fsspec protocol -> (package, extra, feature) for a clear error when the package is missing.
_BACKENDS: dict[str, tuple[str, str, str]] = {
    "abfs": ("adlfs", "azure", "Azure Blob datastores"),
    "az": ("adlfs", "azure", "Azure Blob datastores"),
    "smb": ("smbprotocol", "azure", "Azure File share datastores"),
    "s3": ("s3fs", "s3", "S3 datastores"),
}
_LOCAL_PROTOCOLS = {"file", "local"}


class WorkspaceLike(Protocol):
    """What a datastore needs from a workspace (``Workspace`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> Path: ...

    @property
    def _store(self) -> MetadataStore: ...


def _require_backend(protocol: str) -> None:
    """Raise MissingExtraError when the package behind ``protocol`` is not installed."""
    backend = _BACKENDS.get(protocol)
    if backend is not None and importlib.util.find_spec(backend[0]) is None:
        raise MissingExtraError.for_module(*backend)


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


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@contextmanager
def _progress(total: int, desc: str, enabled: bool) -> Iterator[Any]:
    """A tqdm bar (on stderr, or a widget in notebooks), or a no-op when disabled."""
    if not enabled or total == 0:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="file", file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()


class Datastore:
    """A named root for data in a workspace (Azure ML SDK v1 ``Datastore``).

    ``Datastore(ws)`` is the default datastore, ``Datastore(ws, name)`` the one
    registered under ``name``. Register more with :meth:`register_local`,
    :meth:`register_fsspec`, :meth:`register_azure_blob_container`,
    :meth:`register_azure_file_share` or :meth:`register_s3`.
    """

    name: str
    datastore_type: str
    workspace: WorkspaceLike
    _config: dict[str, Any]
    _connection: tuple[Any, str] | None

    def __new__(cls, workspace: WorkspaceLike, name: str | None = None) -> Datastore:
        if name is None:
            return cls.get_default(workspace)
        return cls.get(workspace, name)

    def __init__(self, workspace: WorkspaceLike, name: str | None = None) -> None:
        """Nothing to do: ``__new__`` returned a loaded datastore."""

    @classmethod
    def _from_record(cls, workspace: WorkspaceLike, record: dict[str, Any]) -> Datastore:
        self = object.__new__(cls)
        self.workspace = workspace
        self.name = str(record["name"])
        self._config = dict(record["config"])
        self.datastore_type = str(self._config.get("datastore_type", record["kind"]))
        self._connection = None
        return self

    # -- lookup --------------------------------------------------------------
    @classmethod
    def get(cls, workspace: WorkspaceLike, datastore_name: str) -> Datastore:
        """The datastore registered as ``datastore_name`` in ``workspace``.

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
        return cls._from_record(workspace, record)

    @classmethod
    def get_default(cls, workspace: WorkspaceLike) -> Datastore:
        """The workspace's default datastore (``workspaceblobstore`` unless changed)."""
        records = workspace._store.list_named(_TABLE)
        for record in records:
            if record["config"].get("is_default"):
                return cls._from_record(workspace, record)
        raise LookupFailed(
            f"Workspace {workspace.name!r} has no default datastore. Choose one with "
            f"ws.set_default_datastore(name); registered: {sorted(r['name'] for r in records)}.",
            workspace=workspace.name,
        )

    @classmethod
    def _list(cls, workspace: WorkspaceLike) -> dict[str, Datastore]:
        """All datastores of ``workspace`` by name, in registration order (``ws.datastores``)."""
        return {r["name"]: cls._from_record(workspace, r) for r in workspace._store.list_named(_TABLE)}

    @classmethod
    def _set_default(cls, workspace: WorkspaceLike, name: str) -> None:
        """Make ``name`` the default datastore (``ws.set_default_datastore``)."""
        cls.get(workspace, name)  # raises LookupFailed with a hint
        store = workspace._store
        with store.write():
            for record in store.list_named(_TABLE):
                config = dict(record["config"], is_default=record["name"] == name)
                store.put_named(_TABLE, record["name"], record["kind"], config)

    @classmethod
    def _register_defaults(cls, workspace: WorkspaceLike) -> None:
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

    # -- registration ----------------------------------------------------------
    @classmethod
    def _register(cls, workspace: WorkspaceLike, name: str, config: dict[str, Any], overwrite: bool) -> Datastore:
        """Store ``config`` under ``name``; same config again is a no-op, another needs overwrite."""
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
                    return cls._from_record(workspace, existing)
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
        return cls._from_record(workspace, {"name": name, "kind": config["datastore_type"], "config": config})

    @classmethod
    def register_local(
        cls, workspace: WorkspaceLike, datastore_name: str, path: str | os.PathLike[str], overwrite: bool = False
    ) -> Datastore:
        """Register a local folder; a file at ``path_on_datastore`` lives at ``<path>/<path_on_datastore>``.

        The folder is created if needed and stored as an absolute path.
        """
        root = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        root.mkdir(parents=True, exist_ok=True)
        config = {"datastore_type": "Local", "protocol": "file", "root": root.as_posix(), "storage_options": {}}
        return cls._register(workspace, datastore_name, config, overwrite)

    @classmethod
    def register_fsspec(
        cls,
        workspace: WorkspaceLike,
        datastore_name: str,
        url: str,
        storage_options: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> Datastore:
        """Register any fsspec URL (``memory://x``, ``s3://bucket/prefix``, ``file:///data``, a plain path).

        Plain paths and ``file://`` URLs are local folders (created, stored
        absolute). ``storage_options`` go to the fsspec filesystem.
        """
        options = dict(storage_options or {})
        if ("://" not in url and "::" not in url) or url.startswith("file://"):
            local = url[len("file://") :] if url.startswith("file://") else url
            root = Path(os.path.abspath(os.path.expanduser(local)))
            root.mkdir(parents=True, exist_ok=True)
            config = {
                "datastore_type": "Fsspec",
                "protocol": "file",
                "root": root.as_posix(),
                "storage_options": options,
            }
            return cls._register(workspace, datastore_name, config, overwrite)
        cls._check_url(datastore_name, url)
        config = {"datastore_type": "Fsspec", "url": url, "storage_options": options}
        return cls._register(workspace, datastore_name, config, overwrite)

    @staticmethod
    def _check_url(name: str, url: str) -> None:
        """Refuse a URL whose fsspec protocol is unknown or whose package is missing."""
        import fsspec

        protocol = url.split("::")[-1].split("://")[0] if "::" in url else url.split("://")[0]
        if protocol not in fsspec.available_protocols():
            raise DefinitionError(
                f"Datastore {name!r}: fsspec knows no protocol {protocol!r} (url {url!r})."
                f"{did_you_mean(protocol, fsspec.available_protocols())} Use a URL fsspec supports.",
                datastore=name,
            )
        _require_backend(protocol)

    @classmethod
    def register_azure_blob_container(
        cls,
        workspace: WorkspaceLike,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        **kwargs: Any,
    ) -> Datastore:
        """Register an Azure Blob container (through adlfs, ``pip install "jupyter_amlpipe[azure]"``).

        ``endpoint`` is the storage suffix (default ``core.windows.net``).
        Service-principal credentials ``tenant_id``, ``client_id`` and
        ``client_secret`` are passed on; other v1 keyword arguments are accepted
        and ignored. Credentials are stored in the workspace database.
        """
        _require_backend("abfs")
        options = _drop_none(
            {
                "account_name": account_name,
                "sas_token": sas_token,
                "account_key": account_key,
                "account_host": f"{account_name}.blob.{endpoint}" if endpoint else None,
                "tenant_id": kwargs.get("tenant_id"),
                "client_id": kwargs.get("client_id"),
                "client_secret": kwargs.get("client_secret"),
            }
        )
        config = {
            "datastore_type": "AzureBlob",
            "protocol": "abfs",
            "root": container_name,
            "storage_options": options,
            "container_name": container_name,
            "account_name": account_name,
            "endpoint": endpoint or "core.windows.net",
            "account_protocol": protocol or "https",
        }
        datastore = cls._register(workspace, datastore_name, config, overwrite)
        if create_if_not_exists:
            datastore._fs.makedirs(container_name, exist_ok=True)
        return datastore

    @classmethod
    def register_azure_file_share(
        cls,
        workspace: WorkspaceLike,
        datastore_name: str,
        file_share_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
    ) -> Datastore:
        """Register an Azure File share, reached over SMB (smbprotocol, ``[azure]`` extra).

        SMB authenticates with the account key; a SAS token cannot be used.
        ``create_if_not_exists`` and ``skip_validation`` are accepted for v1
        compatibility; the share must exist.
        """
        if not account_key:
            raise DefinitionError(
                f"Datastore {datastore_name!r}: Azure File shares are reached over SMB, which needs "
                "account_key (a SAS token cannot be used). Pass account_key=..., or mount the share and "
                "use Datastore.register_local(ws, name, mount_path).",
                datastore=datastore_name,
            )
        _require_backend("smb")
        host = f"{account_name}.file.{endpoint or 'core.windows.net'}"
        config = {
            "datastore_type": "AzureFile",
            "protocol": "smb",
            "root": f"/{file_share_name}",
            "storage_options": {"host": host, "username": account_name, "password": account_key, "encrypt": True},
            "container_name": file_share_name,
            "account_name": account_name,
            "endpoint": endpoint or "core.windows.net",
            "account_protocol": protocol or "https",
        }
        return cls._register(workspace, datastore_name, config, overwrite)

    @classmethod
    def register_s3(
        cls,
        workspace: WorkspaceLike,
        datastore_name: str,
        bucket_name: str,
        key: str | None = None,
        secret: str | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        overwrite: bool = False,
    ) -> Datastore:
        """Register an S3 bucket (or ``bucket/prefix``) through s3fs.

        Without ``key``/``secret`` s3fs uses the usual AWS credential chain.
        """
        _require_backend("s3")
        client_kwargs = _drop_none({"endpoint_url": endpoint_url, "region_name": region_name})
        options = _drop_none({"key": key, "secret": secret})
        if client_kwargs:
            options["client_kwargs"] = client_kwargs
        root = bucket_name.strip("/")
        config = {"datastore_type": "S3", "protocol": "s3", "root": root, "storage_options": options}
        return cls._register(workspace, datastore_name, config, overwrite)

    # -- attributes ----------------------------------------------------------
    @property
    def is_default(self) -> bool:
        """Whether this was the workspace's default datastore when it was loaded."""
        return bool(self._config.get("is_default"))

    @property
    def container_name(self) -> str | None:
        """The Azure container or file share name (v1 attribute), else None."""
        value = self._config.get("container_name")
        return None if value is None else str(value)

    @property
    def account_name(self) -> str | None:
        """The Azure storage account name (v1 attribute), else None."""
        value = self._config.get("account_name")
        return None if value is None else str(value)

    @property
    def root(self) -> str:
        """The datastore's root as an fsspec path of :attr:`_fs` (no protocol)."""
        configured = self._configured_root()
        return configured if configured is not None else self._connect()[1]

    @property
    def url(self) -> str:
        """The root as a URL (``file:///...``, ``abfs://container``, ``memory://...``)."""
        if "url" in self._config:
            return str(self._config["url"])
        return f"{self._config['protocol']}://{self.root}"

    def _configured_root(self) -> str | None:
        """The root known from the config alone (None for URL datastores)."""
        if "url" in self._config:
            return None
        root = str(self._config["root"])
        if self._config.get("workspace_relative"):
            return (Path(self.workspace.path) / root).absolute().as_posix()
        return root

    def __repr__(self) -> str:
        where = self.url if "url" in self._config else self._configured_root()
        return f"Datastore(name={self.name!r}, datastore_type={self.datastore_type!r}, root={where!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Datastore):
            return NotImplemented
        return (self.name, self._workspace_key()) == (other.name, other._workspace_key())

    def __hash__(self) -> int:
        return hash((self.name, self._workspace_key()))

    def _workspace_key(self) -> str:
        return os.path.abspath(self.workspace.path)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_connection"] = None  # filesystems are rebuilt where the datastore lands
        return state

    # -- filesystem internals (used by the runner) ----------------------------
    def _connect(self) -> tuple[Any, str]:
        """Build (once per instance) the fsspec filesystem and the root path on it."""
        if self._connection is None:
            import fsspec

            options = dict(self._config.get("storage_options") or {})
            protocol = str(self._config.get("protocol", ""))
            try:
                if "url" in self._config:
                    fs, root = fsspec.core.url_to_fs(self._config["url"], **options)
                else:
                    fs, root = fsspec.filesystem(protocol, **options), self._configured_root()
            except ImportError as exc:
                _require_backend(protocol)
                raise MissingExtraError(
                    f"Datastore {self.name!r} needs a package that is not installed ({exc}). "
                    "Install it, then use the datastore again.",
                    datastore=self.name,
                ) from exc
            self._connection = (fs, str(root))
        return self._connection

    @property
    def _fs(self) -> Any:
        """The fsspec filesystem of this datastore (built on first use, cached per instance)."""
        return self._connect()[0]

    def _is_local(self) -> bool:
        if "url" not in self._config:
            return self._config.get("protocol") in _LOCAL_PROTOCOLS
        protocols = self._fs.protocol
        names = {protocols} if isinstance(protocols, str) else set(protocols)
        return bool(names & _LOCAL_PROTOCOLS)

    def _what(self) -> str:
        return f"datastore {self.name!r}"

    def _full_path(self, path_on_datastore: str | os.PathLike[str] | None, *, label: str = "path_on_datastore") -> str:
        """The fsspec path of ``path_on_datastore`` (None or "" is the root); refuses escapes."""
        return safe_join(self.root, path_on_datastore, self._what(), label=label, allow_root=True)

    def _relative(self, fs_path: str) -> str:
        """The datastore-relative POSIX path of an fsspec path under the root."""
        base = self.root.rstrip("/")
        path = str(self._fs._strip_protocol(fs_path))
        if not base:
            return path.lstrip("/")
        if path == base:
            return ""
        if not path.startswith(base + "/"):
            raise AmlpipeError(f"{fs_path!r} is not under the root of {self._what()} ({base!r}).")
        return path[len(base) + 1 :]

    def local_path(self, path_on_datastore: str | os.PathLike[str] | None = "") -> Path | None:
        """The local path of ``path_on_datastore`` when the datastore is a local folder, else None."""
        if not self._is_local():
            return None
        return Path(self._full_path(path_on_datastore))

    def exists(self, path_on_datastore: str | os.PathLike[str] | None) -> bool:
        """Whether a file or folder exists at ``path_on_datastore`` (no fsspec import for local folders)."""
        full = self._full_path(path_on_datastore)
        if "url" not in self._config and self._config.get("protocol") in _LOCAL_PROTOCOLS:
            return os.path.exists(full)
        return bool(self._fs.exists(full))

    def list_files(self, prefix: str | os.PathLike[str] | None = "") -> list[str]:
        """Datastore-relative POSIX paths of the files in FOLDER ``prefix`` (or that file), sorted.

        ``prefix`` is a folder, not a string prefix: ``list_files("out")`` does
        not list ``out2/...`` (:meth:`download` keeps v1's string prefixes).
        """
        full = self._full_path(prefix, label="prefix")
        return sorted(self._relative(p) for p in self._fs.find(full))

    def get_to_local(self, path_on_datastore: str | os.PathLike[str] | None, local_path: str | os.PathLike[str]) -> int:
        """Copy a file or folder from the datastore to ``local_path``; returns the number of files.

        A folder's contents land directly in ``local_path`` (created even when empty).

        Raises:
            LookupFailed: nothing exists at ``path_on_datastore``.
        """
        full = self._full_path(path_on_datastore)
        dest = Path(local_path)
        fs = self._fs
        if fs.isdir(full):
            dest.mkdir(parents=True, exist_ok=True)
            base = self._relative(full)
            count = 0
            for fs_path in fs.find(full):
                rel = self._relative(fs_path)[len(base) :].lstrip("/")
                self._get_file(fs_path, safe_join_path(dest, rel, f"local folder {str(dest)!r}"))
                count += 1
            return count
        if fs.isfile(full):
            self._get_file(full, dest)
            return 1
        raise LookupFailed(
            f"Nothing at {str(path_on_datastore)!r} on {self._what()}: check the path, or list what is there "
            f"with Datastore.get(ws, {self.name!r}).list_files().",
            datastore=self.name,
            path=str(path_on_datastore),
        )

    def put_from_local(
        self,
        local_path: str | os.PathLike[str],
        path_on_datastore: str | os.PathLike[str] | None,
        overwrite: bool = True,
    ) -> int:
        """Copy a local file or folder to ``path_on_datastore``; returns the number of files written.

        A folder's contents go directly under ``path_on_datastore``; existing
        files are kept when ``overwrite`` is false.
        """
        source = Path(local_path)
        target = normalize_relpath(path_on_datastore, self._what(), label="path_on_datastore", allow_root=True)
        if source.is_dir():
            pairs = [(f, safe_join(target, rel, self._what())) for f, rel in _walk(source)]
        elif source.is_file():
            pairs = [(source, normalize_relpath(target, self._what(), label="path_on_datastore"))]
        else:
            raise DefinitionError(f"Local path {str(source)!r} does not exist: nothing to copy to {self._what()}.")
        written, _skipped = self._put_pairs(pairs, overwrite, show_progress=False)
        return written

    def _get_file(self, fs_path: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._fs.get_file(fs_path, str(dest))

    def _put_file(self, source: Path, rel: str) -> None:
        """Write one file; on a local datastore through a temporary file and a rename."""
        target = self._full_path(rel)
        if self._is_local():
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            tmp = f"{target}.tmp-{uuid.uuid4().hex}"
            try:
                shutil.copyfile(source, tmp)
                shutil.copymode(source, tmp)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            return
        self._fs.put_file(str(source), target)

    def _put_pairs(self, pairs: Sequence[tuple[Path, str]], overwrite: bool, show_progress: bool) -> tuple[int, int]:
        """Upload (local file, datastore-relative path) pairs; returns (written, skipped)."""
        written = skipped = 0
        with _progress(len(pairs), f"Uploading to {self.name}", show_progress) as bar:
            for source, rel in pairs:
                if not overwrite and self.exists(rel):
                    skipped += 1
                else:
                    self._put_file(source, rel)
                    written += 1
                if bar is not None:
                    bar.update(1)
        return written, skipped

    def _report_skipped(self, skipped: int, verb: str) -> None:
        if skipped:
            print(
                f"{self._what()}: skipped {skipped} existing file(s) while {verb}; pass overwrite=True to replace them.",
                file=sys.stderr,
            )

    # -- v1 data movement ------------------------------------------------------
    def upload_files(
        self,
        files: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
        relative_root: str | os.PathLike[str] | None = None,
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload files to ``target_path``, keeping their paths relative to ``relative_root``.

        ``relative_root`` defaults to the common folder of the files (as in v1),
        so files of one folder land directly under ``target_path``. All files are
        checked before anything is uploaded. Existing files are skipped unless
        ``overwrite`` is true. Returns a DataReference to ``target_path``.
        """
        paths = [files] if isinstance(files, (str, os.PathLike)) else list(files)
        sources = [Path(os.path.abspath(os.fspath(f))) for f in paths]
        if not sources:
            raise DefinitionError(f"upload_files to {self._what()} got no files: pass a list of file paths.")
        for original, source in zip(paths, sources, strict=True):
            if not source.is_file():
                state = "is a folder (use upload(src_dir=...) for folders)" if source.is_dir() else "does not exist"
                raise DefinitionError(
                    f"Cannot upload {os.fspath(original)!r} to {self._what()}: it {state}. Nothing was uploaded.",
                    file=os.fspath(original),
                )
        base = Path(os.path.abspath(relative_root)) if relative_root is not None else _common_folder(sources)
        target = normalize_relpath(target_path, self._what(), label="target_path", allow_root=True)
        pairs = [(s, safe_join(target, _relative_to(s, base), self._what(), label="target_path")) for s in sources]
        _written, skipped = self._put_pairs(pairs, overwrite, show_progress)
        self._report_skipped(skipped, "uploading")
        return self.path(target or None)

    def upload(
        self,
        src_dir: str | os.PathLike[str],
        target_path: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> DataReference:
        """Upload the contents of ``src_dir`` (recursively) directly under ``target_path``.

        Existing files are skipped unless ``overwrite`` is true. Returns a
        DataReference to ``target_path``.
        """
        source = Path(src_dir)
        if not source.is_dir():
            raise DefinitionError(
                f"Cannot upload src_dir {os.fspath(src_dir)!r} to {self._what()}: it is not an existing folder. "
                "Pass a folder (or use upload_files for single files).",
                src_dir=os.fspath(src_dir),
            )
        target = normalize_relpath(target_path, self._what(), label="target_path", allow_root=True)
        pairs = [(f, safe_join(target, rel, self._what())) for f, rel in _walk(source)]
        _written, skipped = self._put_pairs(pairs, overwrite, show_progress)
        self._report_skipped(skipped, "uploading")
        return self.path(target or None)

    def download(
        self,
        target_path: str | os.PathLike[str],
        prefix: str | None = None,
        overwrite: bool = False,
        show_progress: bool = True,
    ) -> int:
        """Download the files whose datastore path starts with ``prefix`` (None: all) into ``target_path``.

        As in v1, ``prefix`` is a string prefix (``"data/tr"`` matches
        ``data/train.csv``). Files keep their datastore-relative paths; existing
        local files are kept unless ``overwrite``. Returns the number of files
        downloaded.
        """
        wanted = normalize_relpath(prefix, self._what(), label="prefix", allow_root=True)
        if wanted and prefix is not None and prefix.replace("\\", "/").endswith("/"):
            wanted += "/"
        folder = wanted.rsplit("/", 1)[0] if "/" in wanted else ""
        names = [n for n in self.list_files(folder) if n.startswith(wanted)]
        dest = Path(target_path)
        dest.mkdir(parents=True, exist_ok=True)
        count = skipped = 0
        with _progress(len(names), f"Downloading from {self.name}", show_progress) as bar:
            for name in names:
                local = safe_join_path(dest, name, f"local folder {os.fspath(target_path)!r}")
                if not overwrite and local.exists():
                    skipped += 1
                else:
                    self._get_file(self._full_path(name), local)
                    count += 1
                if bar is not None:
                    bar.update(1)
        self._report_skipped(skipped, "downloading")
        return count

    # -- data references -------------------------------------------------------
    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        """A DataReference to ``path`` on this datastore (None: the root)."""
        from jupyter_amlpipe.core.data import DataReference

        normalized = normalize_relpath(path, self._what(), label="path", allow_root=True) if path is not None else None
        return DataReference(
            datastore=self, data_reference_name=data_reference_name, path_on_datastore=normalized or None
        )

    def as_mount(self) -> DataReference:
        """A DataReference to the datastore root, mounted (direct access) on the compute."""
        from jupyter_amlpipe.core.data import DataReference

        return DataReference(datastore=self, mode="mount")

    def as_download(self, path_on_compute: str | None = None) -> DataReference:
        """A DataReference to the datastore root, downloaded to the compute."""
        from jupyter_amlpipe.core.data import DataReference

        return DataReference(datastore=self, mode="download", path_on_compute=path_on_compute)


def _walk(folder: Path) -> list[tuple[Path, str]]:
    """(file, POSIX path relative to folder) for every file under ``folder``, sorted."""
    found: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for filename in sorted(filenames):
            file = Path(dirpath) / filename
            if file.is_file():
                found.append((file, file.relative_to(folder).as_posix()))
    return found


def _common_folder(files: Sequence[Path]) -> Path:
    """The deepest folder containing every file (v1's default ``relative_root``)."""
    return Path(os.path.commonpath([str(f.parent) for f in files]))


def _relative_to(file: Path, base: Path) -> str:
    if not file.is_relative_to(base):
        raise DefinitionError(
            f"File {str(file)!r} is not under relative_root {str(base)!r}: pass a relative_root that contains "
            "every file, or leave it out to use their common folder. Nothing was uploaded.",
            file=str(file),
        )
    return file.relative_to(base).as_posix()
