"""Bearer tokens: new on every call, only their SHA-256 stored, revocable, expiring."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from jupyter_amlpipe.errors import LookupFailed, PublishingError
from jupyter_amlpipe.publish import PublishService


def test_tokens_are_new_and_stored_as_hashes_only(workspace: Any) -> None:
    first = workspace.create_token()
    second = workspace.create_token()
    assert first != second and len(first) >= 43
    service = PublishService(workspace)
    names = [t["name"] for t in workspace.list_tokens()]
    assert service.check_token(first) == names[0] and service.check_token(second) == names[1]
    assert service.check_token(first + "x") is None
    raw = (workspace.path / "amlpipe.db").read_bytes() + b"".join(
        p.read_bytes() for p in workspace.path.glob("amlpipe.db-*")
    )
    assert first.encode() not in raw
    digest = hashlib.sha256(first.encode()).hexdigest()
    assert workspace._store.token_by_hash(digest)["name"] == names[0]


def test_revoke_and_expiry(workspace: Any) -> None:
    service = PublishService(workspace)
    token = workspace.create_token(name="ci")
    with pytest.raises(PublishingError, match="already exists"):
        workspace.create_token(name="ci")
    workspace.revoke_token("ci")
    assert service.check_token(token) is None
    assert workspace.list_tokens()[0]["status"] == "Revoked"
    with pytest.raises(LookupFailed, match="No token named 'cj'"):
        workspace.revoke_token("cj")

    short = workspace.create_token(name="short", expires=1.0)
    assert service.check_token(short) == "short"
    deadline = time.time() + 30
    while service.check_token(short) is not None and time.time() < deadline:
        time.sleep(0.2)
    assert service.check_token(short) is None
    assert {t["name"]: t["status"] for t in workspace.list_tokens()}["short"] == "Expired"
