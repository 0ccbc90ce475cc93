"""Cloud datastore kinds: Azure Blob containers (adlfs) and S3 buckets (s3fs).

The builders here return the config a datastore record stores; secrets in it
are still plain (or :class:`~.credentials.EnvSecret`) and are put in stored
form by :func:`~.credentials.protect` when the record is saved.
:func:`filesystem_options` turns a stored config, secrets revealed, into the
keyword arguments of the fsspec filesystem.

Azure endpoints: ``endpoint`` is v1's storage suffix (``core.windows.net``,
with ``protocol`` https or http), giving ``<protocol>://<account>.blob.<endpoint>``;
a full URL (``http://127.0.0.1:10000/devstoreaccount1`` for the Azurite
emulator) is used as the blob endpoint as it is.

Cloud filesystems are opened without fsspec's instance and listing caches:
another process (a step, another kernel) may have written since the last look.
"""

from __future__ import annotations

import re
from typing import Any

from jupyter_amlpipe.errors import DefinitionError
from jupyter_amlpipe.workspace.datastore_kinds import require_backend

__all__ = ["adls_gen2_config", "azure_blob_config", "blob_endpoint", "filesystem_options", "s3_config"]

_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
_FRESH = {"skip_instance_cache": True, "use_listings_cache": False}


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def blob_endpoint(account_name: str, protocol: str | None, endpoint: str | None) -> str:
    """The blob service URL of an account (see the module docstring)."""
    if endpoint and "://" in endpoint:
        return endpoint.rstrip("/")
    return f"{protocol or 'https'}://{account_name}.blob.{endpoint or 'core.windows.net'}"


def azure_blob_config(
    datastore_name: str,
    container_name: str,
    account_name: str,
    sas_token: Any,
    account_key: Any,
    protocol: str | None,
    endpoint: str | None,
    **kwargs: Any,
) -> dict[str, Any]:
    """An Azure Blob container (``register_azure_blob_container``).

    Of the other keyword arguments, the service-principal credentials
    ``tenant_id``, ``client_id`` and ``client_secret`` are kept; the rest are
    accepted for v1 compatibility and ignored.
    """
    require_backend("abfs")
    if not isinstance(container_name, str) or not _CONTAINER.match(container_name):
        raise DefinitionError(
            f"Datastore {datastore_name!r}: container_name {container_name!r} is not a valid Azure container "
            "name: use 3-63 lowercase letters, digits and single hyphens (folders go in path_on_datastore).",
            datastore=datastore_name,
        )
    if protocol not in (None, "https", "http"):
        raise DefinitionError(
            f"Datastore {datastore_name!r}: protocol {protocol!r} must be 'https' or 'http'.", datastore=datastore_name
        )
    if sas_token is not None and account_key is not None:
        raise DefinitionError(
            f"Datastore {datastore_name!r}: pass either sas_token or account_key, not both.", datastore=datastore_name
        )
    options = _drop_none(
        {
            "account_name": account_name,
            "sas_token": sas_token,
            "account_key": account_key,
            "tenant_id": kwargs.get("tenant_id"),
            "client_id": kwargs.get("client_id"),
            "client_secret": kwargs.get("client_secret"),
        }
    )
    return {
        "datastore_type": "AzureBlob",
        "protocol": "abfs",
        "root": container_name,
        "storage_options": options,
        "container_name": container_name,
        "account_name": account_name,
        "endpoint": endpoint or "core.windows.net",
        "account_protocol": protocol or ("http" if endpoint and endpoint.startswith("http://") else "https"),
        "blob_endpoint": blob_endpoint(account_name, protocol, endpoint),
    }


def adls_gen2_config(
    datastore_name: str,
    filesystem: str,
    account_name: str,
    credentials: dict[str, Any],
    protocol: str | None,
    endpoint: str | None,
    recorded: dict[str, Any],
) -> dict[str, Any]:
    """An ADLS Gen2 filesystem (``register_azure_data_lake_gen2``), reached by adlfs through the blob API.

    adlfs talks to a Gen2 (hierarchical namespace) account through its blob
    endpoint, ``<protocol>://<account>.blob.<endpoint>`` (or ``endpoint`` as
    a full URL), so the filesystem is a container there. ``credentials``
    holds the service principal (``tenant_id``, ``client_id``,
    ``client_secret``) and/or ``account_key`` / ``sas_token``; ``recorded``
    the v1 arguments kept only as attributes (authority and resource URLs,
    subscription, resource group).
    """
    if not isinstance(filesystem, str) or not _CONTAINER.match(filesystem):
        raise DefinitionError(
            f"Datastore {datastore_name!r}: filesystem {filesystem!r} is not a valid ADLS Gen2 filesystem name: use "
            "3-63 lowercase letters, digits and single hyphens (folders go in path_on_datastore).",
            datastore=datastore_name,
        )
    config = azure_blob_config(
        datastore_name,
        filesystem,
        account_name,
        credentials.get("sas_token"),
        credentials.get("account_key"),
        protocol,
        endpoint,
        tenant_id=credentials.get("tenant_id"),
        client_id=credentials.get("client_id"),
        client_secret=credentials.get("client_secret"),
    )
    if (credentials.get("client_id") is None) != (credentials.get("client_secret") is None):
        raise DefinitionError(
            f"Datastore {datastore_name!r}: pass client_id and client_secret together (a service principal, with "
            "its tenant_id), or neither.",
            datastore=datastore_name,
        )
    if credentials.get("client_id") is not None and not credentials.get("tenant_id"):
        raise DefinitionError(
            f"Datastore {datastore_name!r}: a service principal (client_id, client_secret) needs its tenant_id.",
            datastore=datastore_name,
        )
    del config["container_name"]
    config.update(
        datastore_type="AzureDataLakeGen2",
        filesystem=filesystem,
        tenant_id=credentials.get("tenant_id"),
        client_id=credentials.get("client_id"),
        **_drop_none(recorded),
    )
    return config


def s3_config(
    datastore_name: str,
    bucket_name: str,
    key: Any,
    secret: Any,
    endpoint_url: str | None,
    region_name: str | None,
) -> dict[str, Any]:
    """An S3 bucket (or ``bucket/prefix``) through s3fs (``register_s3``)."""
    require_backend("s3")
    if not bucket_name or not bucket_name.strip("/"):
        raise DefinitionError(f"Datastore {datastore_name!r}: bucket_name is empty.", datastore=datastore_name)
    if (key is None) != (secret is None):
        raise DefinitionError(
            f"Datastore {datastore_name!r}: pass key and secret together (or neither, to use the AWS "
            "credential chain: environment variables, ~/.aws/credentials, instance roles).",
            datastore=datastore_name,
        )
    client_kwargs = _drop_none({"endpoint_url": endpoint_url, "region_name": region_name})
    options = _drop_none({"key": key, "secret": secret})
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    return {
        "datastore_type": "S3",
        "protocol": "s3",
        "root": bucket_name.strip("/"),
        "storage_options": options,
        "bucket_name": bucket_name.strip("/").split("/")[0],
        "endpoint_url": endpoint_url,
    }


def filesystem_options(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The fsspec keyword arguments for a cloud config whose secrets are revealed in ``options``."""
    if "url" in config:
        return options
    protocol = config.get("protocol")
    if protocol == "abfs" and config.get("account_name"):
        return {**_azure_options(config, options), **_FRESH}
    if protocol == "s3":
        return {**options, **_FRESH}
    return options


def _azure_options(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """adlfs arguments: a connection string when there is a key or SAS token (any endpoint, http too)."""
    out = dict(options)
    endpoint = str(config.get("blob_endpoint") or blob_endpoint(str(config["account_name"]), None, None))
    account = str(out.get("account_name") or config["account_name"])
    key, sas = out.pop("account_key", None), out.pop("sas_token", None)
    if key is not None:
        scheme = endpoint.split("://")[0]
        out["connection_string"] = (
            f"DefaultEndpointsProtocol={scheme};AccountName={account};AccountKey={key};BlobEndpoint={endpoint};"
        )
    elif sas is not None:
        out["connection_string"] = f"BlobEndpoint={endpoint};SharedAccessSignature={str(sas).lstrip('?')}"
    else:
        out["account_host"] = endpoint.split("://", 1)[-1]
    return out
