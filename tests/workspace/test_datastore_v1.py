"""v1 datastore management: set_as_default, unregister, ADLS Gen2 registration, the database kinds refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import Datastore
from jupyter_amlpipe.errors import DefinitionError, LookupFailed
from jupyter_amlpipe.workspace import credentials
from jupyter_amlpipe.workspace import datastore_cloud as cloud
from jupyter_amlpipe.workspace.credentials import EnvSecret

SECRET = "sp-secret-Zq8~not-for-printing"


def _db_bytes(ws: Any) -> bytes:
    return b"".join(p.read_bytes() for p in Path(ws.path).glob("amlpipe.db*"))


# -- set_as_default / set_default_datastore ----------------------------------------------
def test_set_as_default_changes_what_the_workspace_gives(workspace: Any, tmp_path: Path) -> None:
    assert workspace.get_default_datastore().name == "workspaceblobstore"
    mine = Datastore.register_local(workspace, "mine", tmp_path / "mine")
    assert not mine.is_default
    mine.set_as_default()
    assert mine.is_default
    assert workspace.get_default_datastore().name == "mine"
    assert Datastore(workspace).name == "mine" and Datastore.get_default(workspace).name == "mine"
    assert not Datastore.get(workspace, "workspaceblobstore").is_default
    # an upload to "the default datastore" lands in the new one
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    workspace.get_default_datastore().upload_files([str(tmp_path / "f.txt")], target_path="d", show_progress=False)
    assert (tmp_path / "mine" / "d" / "f.txt").read_text(encoding="utf-8") == "x"
    workspace.set_default_datastore("workspaceblobstore")  # v1's workspace method, back again
    assert workspace.get_default_datastore().name == "workspaceblobstore"
    assert not Datastore.get(workspace, "mine").is_default


# -- unregister --------------------------------------------------------------------------------
def test_unregister_removes_the_registration_and_keeps_the_data(workspace: Any, tmp_path: Path) -> None:
    store = Datastore.register_local(workspace, "scratch", tmp_path / "scratch")
    (tmp_path / "scratch" / "keep.txt").write_text("still here", encoding="utf-8")
    store.unregister()
    assert "scratch" not in workspace.datastores
    with pytest.raises(LookupFailed, match="No datastore named 'scratch'"):
        Datastore.get(workspace, "scratch")
    assert (tmp_path / "scratch" / "keep.txt").read_text(encoding="utf-8") == "still here"
    with pytest.raises(LookupFailed, match="scratch"):
        store.unregister()  # already gone: said so
    again = Datastore.register_local(workspace, "scratch", tmp_path / "scratch")  # the name is free again
    assert again.list_files() == ["keep.txt"]


def test_the_default_datastore_cannot_be_unregistered(workspace: Any, tmp_path: Path) -> None:
    default = workspace.get_default_datastore()
    with pytest.raises(DefinitionError) as caught:
        default.unregister()
    message = str(caught.value)
    assert "'workspaceblobstore' is the default datastore" in message
    assert "ws.set_default_datastore('workspacefilestore')" in message
    assert "workspaceblobstore" in workspace.datastores
    # a stale object of what is now the default is refused too (the store decides, not the loaded object)
    other = Datastore.register_local(workspace, "other", tmp_path / "other")
    other.set_as_default()
    with pytest.raises(DefinitionError, match="'other' is the default"):
        Datastore.get(workspace, "other").unregister()
    default.unregister()  # no longer the default: it goes
    assert sorted(workspace.datastores) == ["other", "workspacefilestore"]


# -- ADLS Gen2 ---------------------------------------------------------------------------------
def test_adls_gen2_service_principal_is_encrypted_and_reaches_adlfs(workspace: Any) -> None:
    store = Datastore.register_azure_data_lake_gen2(
        workspace,
        "lake",
        filesystem="raw-data",
        account_name="myaccount",
        tenant_id="tenant-1",
        client_id="client-1",
        client_secret=SECRET,
        resource_group="rg",
        subscription_id="sub",
    )
    assert store.datastore_type == "AzureDataLakeGen2"
    assert store.filesystem == "raw-data" and store.account_name == "myaccount" and store.container_name is None
    assert store.url == "abfs://raw-data"
    assert SECRET.encode() not in _db_bytes(workspace)
    assert SECRET not in repr(store) and SECRET not in repr(workspace.datastores)
    shown = subprocess.run(
        [sys.executable, "-m", "jupyter_amlpipe", "workspace", "show", "--path", str(workspace.path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "lake" in shown and SECRET not in shown
    # what adlfs is given (no network: the filesystem object is built, nothing is contacted)
    fresh = Datastore.get(workspace, "lake")
    config = fresh._config
    assert config["resource_group"] == "rg" and config["subscription_id"] == "sub"
    options = cloud.filesystem_options(config, credentials.reveal(workspace.path, "lake", config["storage_options"]))
    assert options["account_host"] == "myaccount.blob.core.windows.net"
    assert (options["tenant_id"], options["client_id"], options["client_secret"]) == ("tenant-1", "client-1", SECRET)
    assert "connection_string" not in options
    fs = fresh._fs
    assert type(fs).__name__ == "AzureBlobFileSystem"
    assert fs.account_name == "myaccount" and fs.account_url == "https://myaccount.blob.core.windows.net"
    assert (fs.tenant_id, fs.client_id, fs.client_secret) == ("tenant-1", "client-1", SECRET)
    assert fresh.root == "raw-data"


def test_adls_gen2_client_secret_from_an_environment_variable(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    Datastore.register_azure_data_lake_gen2(
        workspace,
        "lake",
        "raw-data",
        "myaccount",
        "tenant-1",
        "client-1",
        EnvSecret("LAKE_SP_SECRET"),
        endpoint="core.chinacloudapi.cn",
        protocol="https",
    )
    assert b"LAKE_SP_SECRET" in _db_bytes(workspace)
    monkeypatch.setenv("LAKE_SP_SECRET", SECRET)
    fs = Datastore.get(workspace, "lake")._fs
    assert fs.client_secret == SECRET
    assert fs.account_url == "https://myaccount.blob.core.chinacloudapi.cn"


def test_adls_gen2_arguments_are_checked(workspace: Any) -> None:
    with pytest.raises(DefinitionError, match="filesystem 'Raw_Data' is not a valid ADLS Gen2 filesystem name"):
        Datastore.register_azure_data_lake_gen2(workspace, "lake", "Raw_Data", "acct")
    with pytest.raises(DefinitionError, match="client_id and client_secret together"):
        Datastore.register_azure_data_lake_gen2(workspace, "lake", "raw", "acct", tenant_id="t", client_id="c")
    with pytest.raises(DefinitionError, match="needs its tenant_id"):
        Datastore.register_azure_data_lake_gen2(workspace, "lake", "raw", "acct", client_id="c", client_secret="s")
    assert "lake" not in workspace.datastores


@pytest.mark.azurite
def test_adls_gen2_on_azurite_blob_endpoint_roundtrip(workspace: Any, azurite_server: Any, tmp_path: Path) -> None:
    """adlfs reaches Gen2 through the blob API, so Azurite's blob endpoint serves it (with an account key)."""
    filesystem = azurite_server.new_container()
    store = Datastore.register_azure_data_lake_gen2(
        workspace,
        "lake",
        filesystem,
        azurite_server.account_name,
        endpoint=azurite_server.blob_endpoint,
        account_key=azurite_server.account_key,
    )
    assert azurite_server.account_key.encode() not in _db_bytes(workspace)
    store._fs.mkdir(filesystem)
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "a.csv").write_text("k,v\n1,2\n", encoding="utf-8")
    (tmp_path / "src" / "sub" / "b.bin").write_bytes(b"\x00\x01")
    store.upload(str(tmp_path / "src"), target_path="in", show_progress=False)
    fresh = Datastore.get(workspace, "lake")
    assert fresh.list_files("in") == ["in/a.csv", "in/sub/b.bin"]
    fresh.get_to_local("in", tmp_path / "down")
    assert (tmp_path / "down" / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    fresh.unregister()  # the registration goes, the files stay in the filesystem
    again = Datastore.register_azure_data_lake_gen2(
        workspace,
        "lake",
        filesystem,
        azurite_server.account_name,
        endpoint=azurite_server.blob_endpoint,
        account_key=azurite_server.account_key,
    )
    assert again.list_files("in") == ["in/a.csv", "in/sub/b.bin"]


# -- database datastores: not provided -----------------------------------------------------
@pytest.mark.parametrize(
    ("method", "service"),
    [
        ("register_azure_sql_database", "Azure SQL Database"),
        ("register_azure_postgre_sql", "Azure Database for PostgreSQL"),
    ],
)
def test_database_datastores_are_refused_with_the_alternative(workspace: Any, method: str, service: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        getattr(Datastore, method)(workspace, "db", "server", "database", username="u", password="p")
    message = str(caught.value)
    assert f"Datastore.{method}('db', ...) is not provided" in message
    assert service in message and "register_fsspec" in message and "inside a step" in message
    assert "db" not in workspace.datastores
