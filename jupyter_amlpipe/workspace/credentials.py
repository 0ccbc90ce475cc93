"""Datastore credentials: never in the metadata store in plain text, never printed.

A secret a datastore needs (an account key, a SAS token, a client secret, an
S3 key pair, a password) is stored in one of two ways:

* **encrypted with the workspace key** (the default for a plain string): the
  database keeps ``{"$secret": "fernet", "token": ...}``; the key is the file
  ``<workspace>/secret.key`` (mode 0600, created on first use). Whoever can
  read that file can read the secrets, so keep the workspace folder private;
  losing the file means registering the datastore again.
* **a reference to an environment variable** (``EnvSecret("NAME")``): the
  database keeps ``{"$secret": "env", "name": "NAME"}``; the value is read from
  the environment of the process that opens the datastore.

:func:`protect` turns the secrets of a datastore config into stored form,
:func:`reveal` turns them back when a filesystem is opened. cryptography is
imported inside functions only.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, ExecutionError, MissingExtraError

__all__ = ["KEY_FILE", "SECRET_FIELDS", "EnvSecret", "is_stored_secret", "protect", "reveal"]

KEY_FILE = "secret.key"
# storage_options keys (at any depth) whose values are secrets.
SECRET_FIELDS = frozenset(
    {
        "account_key",
        "sas_token",
        "client_secret",
        "connection_string",
        "credential",
        "key",
        "secret",
        "token",
        "password",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    }
)


class EnvSecret:
    """A secret read from an environment variable when the datastore is used (never stored).

    ``Datastore.register_azure_blob_container(ws, "blob", "c", "acct", account_key=EnvSecret("AZ_KEY"))``
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name or "=" in name:
            raise DefinitionError(f"EnvSecret needs the name of an environment variable, got {name!r}.")
        self.name = name

    def __repr__(self) -> str:
        return f"EnvSecret({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnvSecret) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("EnvSecret", self.name))


def is_stored_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$secret") in ("fernet", "env")


# -- the workspace key --------------------------------------------------------
def _fernet(workspace_path: str | os.PathLike[str], create: bool) -> Any:
    try:
        from cryptography.fernet import Fernet
    except ImportError as exc:
        raise MissingExtraError(
            "Encrypted datastore credentials need the Python package 'cryptography': pip install \"cryptography\" "
            "(it comes with the [azure] and [s3] extras), or pass secrets as EnvSecret('VARIABLE') references.",
            module="cryptography",
        ) from exc
    path = Path(workspace_path) / KEY_FILE
    if not path.exists():
        if not create:
            raise ExecutionError(
                f"The workspace key file {path} is missing, so the datastore credentials encrypted with it "
                "cannot be read. Register the datastore again with overwrite=True (and its credentials).",
                path=str(path),
            )
        _write_key(path, Fernet.generate_key())
    return Fernet(path.read_bytes().strip())


def _write_key(path: Path, key: bytes) -> None:
    """Write a new key file (0600) atomically; if another process won the race, keep theirs."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if the file exists: never replace a key in use
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


# -- protect and reveal --------------------------------------------------------
def protect(
    workspace_path: str | os.PathLike[str],
    options: dict[str, Any],
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``options`` with every secret in stored form.

    A plain value that equals the decrypted value at the same place in
    ``previous`` (the stored options) keeps its old token, so registering the
    same credentials again is recognized as the same configuration.
    """
    out: dict[str, Any] = {}
    for key, value in options.items():
        before = (previous or {}).get(key)
        if isinstance(value, dict) and not is_stored_secret(value):
            out[key] = protect(workspace_path, value, before if isinstance(before, dict) else None)
        elif isinstance(value, EnvSecret):
            out[key] = {"$secret": "env", "name": value.name}
        elif key in SECRET_FIELDS and isinstance(value, str):
            out[key] = _encrypt(workspace_path, value, before)
        else:
            out[key] = value
    return out


def _encrypt(workspace_path: str | os.PathLike[str], value: str, before: Any) -> dict[str, Any]:
    if isinstance(before, dict) and before.get("$secret") == "fernet":
        try:
            if _decrypt(workspace_path, before["token"]) == value:
                return dict(before)
        except ExecutionError:
            pass
    token = _fernet(workspace_path, create=True).encrypt(value.encode("utf-8")).decode("ascii")
    return {"$secret": "fernet", "token": token}


def _decrypt(workspace_path: str | os.PathLike[str], token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return str(_fernet(workspace_path, create=False).decrypt(token.encode("ascii")).decode("utf-8"))
    except InvalidToken as exc:
        raise ExecutionError(
            f"A datastore credential cannot be decrypted with the workspace key file "
            f"{Path(workspace_path) / KEY_FILE} (the file was replaced). Register the datastore again "
            "with overwrite=True and its credentials.",
        ) from exc


def reveal(workspace_path: str | os.PathLike[str], datastore_name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with every stored secret replaced by its value (for opening a filesystem only).

    Raises:
        ExecutionError: an environment variable a secret refers to is not set,
            or an encrypted secret cannot be decrypted.
    """
    out: dict[str, Any] = {}
    for key, value in options.items():
        if is_stored_secret(value):
            out[key] = _reveal_one(workspace_path, datastore_name, key, value)
        elif isinstance(value, dict):
            out[key] = reveal(workspace_path, datastore_name, value)
        else:
            out[key] = value
    return out


def _reveal_one(workspace_path: str | os.PathLike[str], datastore_name: str, key: str, stored: dict[str, Any]) -> str:
    if stored["$secret"] == "env":
        variable = str(stored["name"])
        value = os.environ.get(variable)
        if value is None:
            raise ExecutionError(
                f"Datastore {datastore_name!r} reads its {key} from the environment variable {variable}, "
                f"which is not set in this process. Set it (export {variable}=...) and try again.",
                datastore=datastore_name,
                variable=variable,
            )
        return value
    return _decrypt(workspace_path, str(stored["token"]))
