"""Datastores: named roots for data, with the Azure ML SDK v1 API, backed by fsspec.

A datastore is a record in the workspace's metadata store plus an fsspec
filesystem built from its config on first use. :class:`Datastore` is the v1 API
and a stable internal API for the workspace and the runner (``_register_defaults``,
``_list``, ``_set_default``, ``_fs``, ``_full_path``, ``local_path``, ``exists``,
``list_files``, ``get_to_local``, ``put_from_local``). The work behind it lives by
concern in :mod:`.datastore_records` (rows of the metadata store),
:mod:`.datastore_kinds` (each kind's config and filesystem), :mod:`.transfer`
(walking, uploads, downloads) and :mod:`.paths` (path rules). fsspec, tqdm and the
backend libraries are imported inside functions, never at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed
from jupyter_amlpipe.workspace import credentials, transfer
from jupyter_amlpipe.workspace import datastore_cloud as cloud
from jupyter_amlpipe.workspace import datastore_kinds as kinds
from jupyter_amlpipe.workspace import datastore_records as records
from jupyter_amlpipe.workspace.datastore_kinds import LOCAL_PROTOCOLS as _LOCAL_PROTOCOLS
from jupyter_amlpipe.workspace.datastore_records import DEFAULT_DATASTORES, WorkspaceLike
from jupyter_amlpipe.workspace.paths import normalize_relpath, safe_join

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jupyter_amlpipe.core.data import DataReference

__all__ = ["DEFAULT_DATASTORES", "Datastore", "WorkspaceLike"]


class Datastore:
    """A named root for data in a workspace (Azure ML SDK v1 ``Datastore``).

    ``Datastore(ws)`` is the default datastore, ``Datastore(ws, name)`` the one
    registered under ``name``. Every workspace has two local ones,
    ``workspaceblobstore`` (the default) and ``workspacefilestore``, under
    ``<workspace>/datastores/<name>``. Register more with :meth:`register_local`,
    :meth:`register_fsspec` (any fsspec URL), :meth:`register_azure_blob_container`
    (adlfs), :meth:`register_azure_data_lake_gen2` (adlfs), :meth:`register_azure_file_share`
    (SMB) or :meth:`register_s3` (s3fs). :meth:`set_as_default` makes one the default;
    :meth:`unregister` removes a registration (never the data).
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
        return cls._from_record(workspace, records.get_record(workspace, datastore_name))

    @classmethod
    def get_default(cls, workspace: WorkspaceLike) -> Datastore:
        """The workspace's default datastore (``workspaceblobstore`` unless changed)."""
        return cls._from_record(workspace, records.default_record(workspace))

    @classmethod
    def _list(cls, workspace: WorkspaceLike) -> dict[str, Datastore]:
        """All datastores of ``workspace`` by name, in registration order (``ws.datastores``)."""
        return {r["name"]: cls._from_record(workspace, r) for r in records.list_records(workspace)}

    @classmethod
    def _set_default(cls, workspace: WorkspaceLike, name: str) -> None:
        """Make ``name`` the default datastore (``ws.set_default_datastore``)."""
        records.set_default(workspace, name)

    @classmethod
    def _register_defaults(cls, workspace: WorkspaceLike) -> None:
        """Register ``workspaceblobstore`` (default) and ``workspacefilestore`` if absent (idempotent)."""
        records.register_defaults(workspace)

    # -- registration ----------------------------------------------------------
    @classmethod
    def _register(cls, workspace: WorkspaceLike, name: str, config: dict[str, Any], overwrite: bool) -> Datastore:
        """Store ``config`` under ``name``; same config again is a no-op, another needs overwrite.

        Secrets in the storage options are stored encrypted or as environment
        variable references (:mod:`.credentials`), never in plain text.
        """
        try:
            previous = records.get_record(workspace, name)["config"].get("storage_options")
        except LookupFailed:
            previous = None
        config = dict(config)
        config["storage_options"] = credentials.protect(workspace.path, config.get("storage_options") or {}, previous)
        return cls._from_record(workspace, records.save_record(workspace, name, config, overwrite))

    @classmethod
    def register_local(
        cls, workspace: WorkspaceLike, datastore_name: str, path: str | os.PathLike[str], overwrite: bool = False
    ) -> Datastore:
        """Register a local folder; a file at ``path_on_datastore`` lives at ``<path>/<path_on_datastore>``.

        The folder is created if needed and stored as an absolute path.
        """
        return cls._register(workspace, datastore_name, kinds.local_config(path), overwrite)

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
        config = kinds.fsspec_config(datastore_name, url, storage_options)
        return cls._register(workspace, datastore_name, config, overwrite)

    @classmethod
    def register_azure_blob_container(
        cls,
        workspace: WorkspaceLike,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | credentials.EnvSecret | None = None,
        account_key: str | credentials.EnvSecret | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        **kwargs: Any,
    ) -> Datastore:
        """Register an Azure Blob container (through adlfs, ``pip install "jupyter_amlpipe[azure]"``).

        ``endpoint`` is the storage suffix (default ``core.windows.net``), or a
        full blob endpoint URL such as ``http://127.0.0.1:10000/devstoreaccount1``
        (the Azurite emulator). Service-principal credentials ``tenant_id``,
        ``client_id`` and ``client_secret`` are passed on; other v1 keyword
        arguments are accepted and ignored. A secret given as a string is stored
        encrypted with the workspace key; ``EnvSecret("NAME")`` stores only the
        name of an environment variable to read it from. ``create_if_not_exists``
        creates the container.
        """
        config = cloud.azure_blob_config(
            datastore_name, container_name, account_name, sas_token, account_key, protocol, endpoint, **kwargs
        )
        datastore = cls._register(workspace, datastore_name, config, overwrite)
        if create_if_not_exists and not datastore._fs.exists(container_name):
            datastore._fs.mkdir(container_name)
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
        config = kinds.azure_file_config(datastore_name, file_share_name, account_name, account_key, protocol, endpoint)
        return cls._register(workspace, datastore_name, config, overwrite)

    @classmethod
    def register_s3(
        cls,
        workspace: WorkspaceLike,
        datastore_name: str,
        bucket_name: str,
        key: str | credentials.EnvSecret | None = None,
        secret: str | credentials.EnvSecret | None = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
    ) -> Datastore:
        """Register an S3 bucket (or ``bucket/prefix``) through s3fs (``pip install "jupyter_amlpipe[s3]"``).

        Without ``key``/``secret`` s3fs uses the usual AWS credential chain.
        ``endpoint_url`` reaches S3-compatible servers (MinIO, moto, Ceph).
        Secrets are stored as for :meth:`register_azure_blob_container`
        (encrypted, or ``EnvSecret("NAME")``). ``create_if_not_exists``
        creates the bucket.
        """
        config = cloud.s3_config(datastore_name, bucket_name, key, secret, endpoint_url, region_name)
        datastore = cls._register(workspace, datastore_name, config, overwrite)
        if create_if_not_exists:
            bucket = str(config["bucket_name"])
            if not datastore._fs.exists(bucket):
                datastore._fs.mkdir(bucket)
        return datastore

    @classmethod
    def register_azure_data_lake_gen2(
        cls,
        workspace: WorkspaceLike,
        datastore_name: str,
        filesystem: str,
        account_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | credentials.EnvSecret | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        grant_workspace_access: bool = False,
        *,
        account_key: str | credentials.EnvSecret | None = None,
        sas_token: str | credentials.EnvSecret | None = None,
    ) -> Datastore:
        """Register an Azure Data Lake Storage Gen2 filesystem (through adlfs, ``pip install "jupyter_amlpipe[azure]"``).

        adlfs reaches the account through its blob endpoint
        (``<protocol>://<account_name>.blob.<endpoint>``; ``endpoint`` may also
        be a full URL such as Azurite's). As in v1, the credentials are a
        service principal (``tenant_id``, ``client_id``, ``client_secret``); an
        ``account_key`` or ``sas_token`` (keyword-only, not in v1) works too,
        and with none adlfs uses Azure's default credential chain. Secrets are
        stored as for :meth:`register_azure_blob_container` (encrypted with the
        workspace key, or ``EnvSecret("NAME")``), never printed.
        ``resource_url``, ``authority_url``, ``subscription_id`` and
        ``resource_group`` are recorded (the public Azure cloud's login is
        used); ``grant_workspace_access`` is accepted and ignored.
        """
        secrets = {
            "tenant_id": tenant_id,
            "client_id": client_id,
            "client_secret": client_secret,
            "account_key": account_key,
            "sas_token": sas_token,
        }
        recorded = {
            "resource_url": resource_url,
            "authority_url": authority_url,
            "subscription_id": subscription_id,
            "resource_group": resource_group,
        }
        config = cloud.adls_gen2_config(datastore_name, filesystem, account_name, secrets, protocol, endpoint, recorded)
        return cls._register(workspace, datastore_name, config, overwrite)

    @classmethod
    def register_azure_sql_database(
        cls, workspace: WorkspaceLike, datastore_name: str, *args: Any, **kwargs: Any
    ) -> Datastore:
        """Not provided: a datastore here is a file store; see the error for what to do instead."""
        raise _database_not_provided("register_azure_sql_database", "Azure SQL Database", datastore_name)

    @classmethod
    def register_azure_postgre_sql(
        cls, workspace: WorkspaceLike, datastore_name: str, *args: Any, **kwargs: Any
    ) -> Datastore:
        """Not provided: a datastore here is a file store; see the error for what to do instead."""
        raise _database_not_provided("register_azure_postgre_sql", "Azure Database for PostgreSQL", datastore_name)

    # -- v1 management ---------------------------------------------------------
    def set_as_default(self) -> None:
        """Make this the workspace's default datastore (v1; the same as ``ws.set_default_datastore(name)``)."""
        records.set_default(self.workspace, self.name)
        self._config["is_default"] = True

    def unregister(self) -> None:
        """Remove this datastore's registration from the workspace; the data it holds is left untouched.

        Raises:
            DefinitionError: this is the default datastore (make another the
                default first).
            LookupFailed: it is not registered (any more).
        """
        record = records.get_record(self.workspace, self.name)
        if record["config"].get("is_default"):
            others = sorted(r["name"] for r in records.list_records(self.workspace) if r["name"] != self.name)
            raise DefinitionError(
                f"Datastore {self.name!r} is the default datastore of workspace {self.workspace.name!r} and cannot "
                "be unregistered. Make another one the default first, e.g. "
                f"ws.set_default_datastore({(others or ['other'])[0]!r}), then unregister it.",
                datastore=self.name,
            )
        self.workspace._store.delete_named("datastores", self.name)

    # -- attributes ----------------------------------------------------------
    @property
    def is_default(self) -> bool:
        """Whether this was the workspace's default datastore when it was loaded."""
        return bool(self._config.get("is_default"))

    @property
    def filesystem(self) -> str | None:
        """The ADLS Gen2 filesystem name (v1 attribute), else None."""
        value = self._config.get("filesystem")
        return None if value is None else str(value)

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
        return kinds.configured_root(self._config, self.workspace.path)

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
            config = dict(self._config)
            options = credentials.reveal(self.workspace.path, self.name, config.get("storage_options") or {})
            config["storage_options"] = cloud.filesystem_options(config, options)
            self._connection = kinds.open_filesystem(self.name, config, self._configured_root())
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
        return transfer.list_files(self, prefix)

    def get_to_local(self, path_on_datastore: str | os.PathLike[str] | None, local_path: str | os.PathLike[str]) -> int:
        """Copy a file or folder from the datastore to ``local_path``; returns the number of files.

        A folder's contents land directly in ``local_path`` (created even when empty).

        Raises:
            LookupFailed: nothing exists at ``path_on_datastore``.
        """
        return transfer.get_to_local(self, path_on_datastore, local_path)

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
        return transfer.put_from_local(self, local_path, path_on_datastore, overwrite)

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
        return transfer.upload_files(self, files, relative_root, target_path, overwrite, show_progress)

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
        return transfer.upload(self, src_dir, target_path, overwrite, show_progress)

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
        return transfer.download(self, target_path, prefix, overwrite, show_progress)

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


def _database_not_provided(method: str, service: str, datastore_name: str) -> DefinitionError:
    return DefinitionError(
        f"Datastore.{method}({datastore_name!r}, ...) is not provided by jupyter_amlpipe: a datastore here is a "
        f"file store (fsspec), not a database connection. To use {service} data, read it inside a step (e.g. "
        "with SQLAlchemy, the password from an environment variable), or export the tables to files and register "
        "where they are with Datastore.register_fsspec, register_azure_blob_container or register_local "
        "(an AdlaStep can then query them with SQL on DuckDB).",
        datastore=datastore_name,
    )
