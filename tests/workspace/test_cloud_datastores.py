"""Cloud datastores against real servers on loopback: Azure Blob on Azurite, S3 on moto.

Credentials never reach the metadata store in plain text nor anything printed;
a pipeline reads a DataReference from the cloud store and writes PipelineData to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_amlpipe import DataReference, Experiment, Pipeline, PipelineData
from jupyter_amlpipe.errors import DefinitionError, ExecutionError
from jupyter_amlpipe.steps import PythonScriptStep
from jupyter_amlpipe.workspace.credentials import KEY_FILE, EnvSecret
from jupyter_amlpipe.workspace.datastore import Datastore

SCRIPT = """
import argparse, pathlib
p = argparse.ArgumentParser()
p.add_argument("--src")
p.add_argument("--out")
a = p.parse_args()
src = pathlib.Path(a.src)
text = "".join(f.read_text() for f in sorted(src.rglob("*.txt"))) if src.is_dir() else src.read_text()
out = pathlib.Path(a.out)
out.mkdir(parents=True, exist_ok=True)
(out / "upper.txt").write_text(text.upper())
"""


def _db_bytes(ws: Any) -> bytes:
    return b"".join(p.read_bytes() for p in Path(ws.path).glob("amlpipe.db*"))


def _azure(ws: Any, server: Any, name: str = "blob", **kwargs: Any) -> Datastore:
    return Datastore.register_azure_blob_container(
        ws,
        name,
        server.new_container(),
        server.account_name,
        endpoint=server.blob_endpoint,
        create_if_not_exists=True,
        **{"account_key": server.account_key, **kwargs},
    )


def _s3(ws: Any, server: Any, name: str = "bucket", **kwargs: Any) -> Datastore:
    return Datastore.register_s3(
        ws,
        name,
        server.new_bucket(),
        endpoint_url=server.endpoint_url,
        create_if_not_exists=True,
        **{"key": server.key, "secret": server.secret, **kwargs},
    )


def _roundtrip(store: Datastore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_bytes(b"\x00\x01binary")
    store.upload(str(src), target_path="data", overwrite=True, show_progress=False)
    assert store.list_files("data") == ["data/a.txt", "data/sub/b.txt"]
    assert store.download(tmp_path / "down", prefix="data/s", show_progress=False) == 1
    assert (tmp_path / "down" / "data" / "sub" / "b.txt").read_bytes() == b"\x00\x01binary"
    store.get_to_local("data", tmp_path / "got")
    assert (tmp_path / "got" / "a.txt").read_text() == "alpha"


def _pipeline_reads_and_writes(ws: Any, store: Datastore, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "one.txt").write_text("hello ")
    (src / "two.txt").write_text("cloud")
    store.upload(str(src), target_path="raw", overwrite=True, show_progress=False)
    code = tmp_path / "code"
    code.mkdir()
    (code / "up.py").write_text(SCRIPT)
    raw = DataReference(store, data_reference_name="raw", path_on_datastore="raw")  # mount: downloaded first
    first = PipelineData("first", datastore=store)
    second = PipelineData("second", datastore=store)
    step1 = PythonScriptStep(
        "up.py",
        name="s1",
        arguments=["--src", raw, "--out", first],
        inputs=[raw],
        outputs=[first],
        source_directory=str(code),
    )
    step2 = PythonScriptStep(
        "up.py",
        name="s2",
        arguments=["--src", first.as_download(), "--out", second],
        inputs=[first.as_download()],
        outputs=[second],
        source_directory=str(code),
    )
    run = Experiment(ws, "cloud").submit(Pipeline(ws, [step1, step2]))
    run.wait_for_completion(show_output=False, raise_on_error=True)
    assert run.get_status() == "Finished"
    s2 = run.find_step_run("s2")[0]
    out = s2.get_output_data("second")
    assert out.datastore.name == store.name
    assert store.list_files(out.path_on_datastore) == [f"{out.path_on_datastore}/upper.txt"]
    out.download(tmp_path / "result")  # v1: keeps the datastore path
    assert (tmp_path / "result" / out.path_on_datastore / "upper.txt").read_text() == "HELLO CLOUD"
    again = Experiment(ws, "cloud").submit(Pipeline(ws, [step1, step2]))  # unchanged cloud input: reused
    again.wait_for_completion(show_output=False, raise_on_error=True)
    assert all(s.get_reuse_info()["reused_from"] for s in again.get_steps())


# -- Azure Blob on Azurite -----------------------------------------------------------
@pytest.mark.azurite
def test_azure_blob_upload_and_download(workspace: Any, azurite_server: Any, tmp_path: Path) -> None:
    store = _azure(workspace, azurite_server)
    assert store.datastore_type == "AzureBlob"
    assert store.account_name == azurite_server.account_name
    _roundtrip(Datastore.get(workspace, "blob"), tmp_path)  # a fresh object: config read back from the store


@pytest.mark.azurite
def test_azure_account_key_is_encrypted_and_never_shown(workspace: Any, azurite_server: Any) -> None:
    store = _azure(workspace, azurite_server)
    key = azurite_server.account_key
    assert key.encode() not in _db_bytes(workspace)
    assert key not in repr(store) and key not in repr(workspace.datastores)
    key_file = Path(workspace.path) / KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    shown = subprocess.run(
        [sys.executable, "-m", "jupyter_amlpipe", "workspace", "show", "--path", str(workspace.path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "blob" in shown and key not in shown
    # the same credentials again are the same registration (no overwrite needed)
    again = Datastore.register_azure_blob_container(
        workspace,
        "blob",
        store.container_name,
        azurite_server.account_name,
        account_key=key,
        endpoint=azurite_server.blob_endpoint,
    )
    assert again.container_name == store.container_name


@pytest.mark.azurite
def test_azure_sas_token_from_an_environment_variable(
    workspace: Any, azurite_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta, timezone

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    keyed = _azure(workspace, azurite_server, name="keyed")
    sas = generate_container_sas(
        azurite_server.account_name,
        keyed.container_name,
        account_key=azurite_server.account_key,
        permission=ContainerSasPermissions(read=True, write=True, list=True, delete=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    monkeypatch.setenv("AMLPIPE_TEST_SAS", sas)
    store = Datastore.register_azure_blob_container(
        workspace,
        "bysas",
        keyed.container_name,
        azurite_server.account_name,
        sas_token=EnvSecret("AMLPIPE_TEST_SAS"),
        endpoint=azurite_server.blob_endpoint,
    )
    assert sas.encode() not in _db_bytes(workspace)
    _roundtrip(store, tmp_path)
    assert keyed.list_files("data") == ["data/a.txt", "data/sub/b.txt"]  # the same container
    monkeypatch.delenv("AMLPIPE_TEST_SAS")
    with pytest.raises(ExecutionError, match="AMLPIPE_TEST_SAS, which is not set"):
        Datastore.get(workspace, "bysas").list_files()


@pytest.mark.azurite
def test_pipeline_reads_from_and_writes_to_azure_blob(workspace: Any, azurite_server: Any, tmp_path: Path) -> None:
    _pipeline_reads_and_writes(workspace, _azure(workspace, azurite_server), tmp_path)


# -- S3 on moto ----------------------------------------------------------------------
@pytest.mark.s3
def test_s3_upload_and_download(workspace: Any, s3_server: Any, tmp_path: Path) -> None:
    store = _s3(workspace, s3_server)
    assert store.datastore_type == "S3"
    _roundtrip(Datastore.get(workspace, "bucket"), tmp_path)


@pytest.mark.s3
def test_s3_secret_encrypted_and_key_from_environment(
    workspace: Any, s3_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMLPIPE_TEST_S3_KEY", s3_server.key)
    secret = "a-secret-that-must-not-leak-1234"
    store = _s3(workspace, s3_server, key=EnvSecret("AMLPIPE_TEST_S3_KEY"), secret=secret)
    assert secret.encode() not in _db_bytes(workspace)
    record = workspace._store.get_named("datastores", "bucket")["config"]["storage_options"]
    assert record["key"] == {"$secret": "env", "name": "AMLPIPE_TEST_S3_KEY"}
    assert record["secret"]["$secret"] == "fernet"
    _roundtrip(store, tmp_path)
    with pytest.raises(DefinitionError, match="differs in: storage_options"):  # other credentials need overwrite
        Datastore.register_s3(
            workspace, "bucket", record and store.root, secret="other", key="k", endpoint_url=s3_server.endpoint_url
        )
    (Path(workspace.path) / KEY_FILE).unlink()
    with pytest.raises(ExecutionError, match=r"key file .* is missing"):
        Datastore.get(workspace, "bucket").list_files()


@pytest.mark.s3
def test_pipeline_reads_from_and_writes_to_s3(workspace: Any, s3_server: Any, tmp_path: Path) -> None:
    _pipeline_reads_and_writes(workspace, _s3(workspace, s3_server), tmp_path)


# -- no server needed ------------------------------------------------------------------
def test_invalid_container_name_is_refused_with_the_rule(workspace: Any) -> None:
    pytest.importorskip("adlfs")
    with pytest.raises(DefinitionError, match="3-63 lowercase letters"):
        Datastore.register_azure_blob_container(workspace, "blob", "My_Container", "acct", account_key="k")


def test_s3_key_without_secret_is_refused(workspace: Any) -> None:
    pytest.importorskip("s3fs")
    with pytest.raises(DefinitionError, match="key and secret together"):
        Datastore.register_s3(workspace, "b", "bucket", key="k")


def test_secrets_in_fsspec_storage_options_are_encrypted_too(workspace: Any) -> None:
    Datastore.register_fsspec(workspace, "mem", "memory://h-secrets", storage_options={"password": "hunter22"})
    assert b"hunter22" not in _db_bytes(workspace)
    assert os.stat(Path(workspace.path) / KEY_FILE).st_mode & 0o777 == 0o600
    assert Datastore.get(workspace, "mem").list_files() == []  # opens fine with the revealed options
