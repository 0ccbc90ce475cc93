"""Bearer tokens for a workspace's REST server.

A token is 256 random bits shown once, when it is created; the workspace
keeps only its SHA-256 (a fast hash is enough for random secrets of that
size). The server looks a token up in the database on every request, so a
token created or revoked while it runs counts at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from jupyter_amlpipe.errors import DefinitionError, LookupFailed, PublishingError, did_you_mean

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _expiry(expires: Any) -> float | None:
    """``expires`` as a Unix time: None, seconds from now (int/float), a timedelta or a datetime."""
    if expires is None:
        return None
    if isinstance(expires, bool):
        raise DefinitionError(f"expires={expires!r} is not a time: pass seconds, a timedelta or a datetime.")
    if isinstance(expires, (int, float)):
        return time.time() + float(expires)
    if isinstance(expires, timedelta):
        return time.time() + expires.total_seconds()
    if isinstance(expires, datetime):
        moment = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    raise DefinitionError(f"expires={expires!r} is not a time: pass seconds, a timedelta or a datetime.")


def create_token(store: Any, name: str | None = None, expires: Any = None) -> str:
    """Create a token and return it (the only time it is shown)."""
    if name is None:
        name = f"token-{secrets.token_hex(4)}"
        while store.has_token(name):
            name = f"token-{secrets.token_hex(4)}"
    elif not isinstance(name, str) or not _NAME_RE.match(name):
        raise DefinitionError(f"Token name {name!r} is not valid: use letters, digits, '-', '_' or '.'.", name=name)
    elif store.has_token(name):
        raise PublishingError(
            f"A token named {name!r} already exists. Pick another name, or revoke it: amlpipe token revoke {name}",
            name=name,
        )
    token = secrets.token_urlsafe(32)  # 256 bits
    store.add_token(name, token_hash(token), _expiry(expires))
    return token


def check_token(store: Any, token: str) -> str | None:
    """The token's name when it exists, is not revoked and has not expired; else None."""
    if not isinstance(token, str) or not token:
        return None
    row = store.token_by_hash(token_hash(token))
    if row is None or row["revoked"] is not None:
        return None
    if row["expires"] is not None and row["expires"] <= time.time():
        return None
    return str(row["name"])


def list_tokens(store: Any) -> list[dict[str, Any]]:
    """Every token's name, created, expires and revoked times and status (never the token itself)."""
    now = time.time()
    out = []
    for row in store.list_tokens():
        if row["revoked"] is not None:
            status = "Revoked"
        elif row["expires"] is not None and row["expires"] <= now:
            status = "Expired"
        else:
            status = "Active"
        out.append({**row, "status": status})
    return out


def revoke_token(store: Any, name: str) -> None:
    """Revoke a token by name; the server refuses it from the next request on."""
    if store.revoke_token(name):
        return
    names = [t["name"] for t in store.list_tokens()]
    if name in names:
        return  # already revoked
    raise LookupFailed(f"No token named {name!r}.{did_you_mean(name, names)} List them with: amlpipe token list")
