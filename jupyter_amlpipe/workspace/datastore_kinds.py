"""Datastore kinds: the config of each ``register_*`` and the fsspec filesystem built from it.

Each kind of datastore (a local folder, any fsspec URL, an Azure Blob
container, an Azure File share, an S3 bucket) is a config: either a
``protocol`` and a ``root`` on that protocol's filesystem, or a ``url``, plus
the ``storage_options`` fsspec passes to the filesystem and the v1 attributes
(``container_name``, ``account_name``, ...). The builders here check the
arguments and the backend package, and return that config;
:func:`configured_root` and :func:`open_filesystem` read a stored config back
into a root path and a filesystem.

fsspec and the backend libraries (adlfs, smbprotocol, s3fs) are imported
inside functions, never at import time.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, MissingExtraError, did_you_mean

__all__ = [
    "LOCAL_PROTOCOLS",
    "azure_file_config",
    "check_url",
    "configured_root",
    "fsspec_config",
    "local_config",
    "open_filesystem",
    "require_backend",
]

# fsspec protocol -> (package, extra, feature) for a clear error when the package is missing.
_BACKENDS: dict[str, tuple[str, str, str]] = {
    "abfs": ("adlfs", "azure", "Azure Blob datastores"),
    "az": ("adlfs", "azure", "Azure Blob datastores"),
    "smb": ("smbprotocol", "azure", "Azure File share datastores"),
    "s3": ("s3fs", "s3", "S3 datastores"),
}
LOCAL_PROTOCOLS = {"file", "local"}


def require_backend(protocol: str) -> None:
    """Raise MissingExtraError when the package behind ``protocol`` is not installed."""
    backend = _BACKENDS.get(protocol)
    if backend is not None and importlib.util.find_spec(backend[0]) is None:
        raise MissingExtraError.for_module(*backend)


def check_url(name: str, url: str) -> None:
    """Refuse a URL whose fsspec protocol is unknown or whose package is missing."""
    import fsspec

    protocol = url.split("::")[-1].split("://")[0] if "::" in url else url.split("://")[0]
    if protocol not in fsspec.available_protocols():
        raise DefinitionError(
            f"Datastore {name!r}: fsspec knows no protocol {protocol!r} (url {url!r})."
            f"{did_you_mean(protocol, fsspec.available_protocols())} Use a URL fsspec supports.",
            datastore=name,
        )
    require_backend(protocol)


def _local_root(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute (``~`` expanded), created if needed, as a POSIX string."""
    root = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    root.mkdir(parents=True, exist_ok=True)
    return root.as_posix()


def local_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A local folder (``register_local``): created if needed, stored absolute."""
    return {"datastore_type": "Local", "protocol": "file", "root": _local_root(path), "storage_options": {}}


def fsspec_config(name: str, url: str, storage_options: dict[str, Any] | None) -> dict[str, Any]:
    """Any fsspec URL (``register_fsspec``); plain paths and ``file://`` URLs are local folders."""
    options = dict(storage_options or {})
    if ("://" not in url and "::" not in url) or url.startswith("file://"):
        local = url[len("file://") :] if url.startswith("file://") else url
        return {"datastore_type": "Fsspec", "protocol": "file", "root": _local_root(local), "storage_options": options}
    check_url(name, url)
    return {"datastore_type": "Fsspec", "url": url, "storage_options": options}


def azure_file_config(
    datastore_name: str,
    file_share_name: str,
    account_name: str,
    account_key: str | None,
    protocol: str | None,
    endpoint: str | None,
) -> dict[str, Any]:
    """An Azure File share over SMB through smbprotocol (``register_azure_file_share``); needs the account key."""
    if not account_key:
        raise DefinitionError(
            f"Datastore {datastore_name!r}: Azure File shares are reached over SMB, which needs "
            "account_key (a SAS token cannot be used). Pass account_key=..., or mount the share and "
            "use Datastore.register_local(ws, name, mount_path).",
            datastore=datastore_name,
        )
    require_backend("smb")
    host = f"{account_name}.file.{endpoint or 'core.windows.net'}"
    return {
        "datastore_type": "AzureFile",
        "protocol": "smb",
        "root": f"/{file_share_name}",
        "storage_options": {"host": host, "username": account_name, "password": account_key, "encrypt": True},
        "container_name": file_share_name,
        "account_name": account_name,
        "endpoint": endpoint or "core.windows.net",
        "account_protocol": protocol or "https",
    }


def configured_root(config: dict[str, Any], workspace_path: str | os.PathLike[str]) -> str | None:
    """The root path of a stored config, known without fsspec (None for URL datastores).

    A ``workspace_relative`` root (the default datastores) is resolved against
    ``workspace_path``, so the workspace folder can move.
    """
    if "url" in config:
        return None
    root = str(config["root"])
    if config.get("workspace_relative"):
        return (Path(workspace_path) / root).absolute().as_posix()
    return root


def open_filesystem(name: str, config: dict[str, Any], configured_root: str | None) -> tuple[Any, str]:
    """The fsspec filesystem of a stored config and the datastore's root path on it.

    ``configured_root`` is the root known from the config alone (None for URL
    datastores, whose root comes from the URL).

    Raises:
        MissingExtraError: the filesystem needs a package that is not installed.
    """
    import fsspec

    options = dict(config.get("storage_options") or {})
    protocol = str(config.get("protocol", ""))
    try:
        if "url" in config:
            fs, root = fsspec.core.url_to_fs(config["url"], **options)
        else:
            fs, root = fsspec.filesystem(protocol, **options), configured_root
    except ImportError as exc:
        require_backend(protocol)
        raise MissingExtraError(
            f"Datastore {name!r} needs a package that is not installed ({exc}). "
            "Install it, then use the datastore again.",
            datastore=name,
        ) from exc
    return fs, str(root)
