"""Bearer tokens (stored in the workspace layer: ``ws.create_token``, ``ws.list_tokens``, ``ws.revoke_token``)."""

from __future__ import annotations

from jupyter_amlpipe.workspace.tokens import check_token, create_token, list_tokens, revoke_token, token_hash

__all__ = ["check_token", "create_token", "list_tokens", "revoke_token", "token_hash"]
