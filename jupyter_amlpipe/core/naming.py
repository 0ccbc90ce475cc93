"""Checks for the names users give to data, parameters and steps."""

from __future__ import annotations

import json
import re
from typing import Any

from jupyter_amlpipe.errors import DefinitionError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: Any, what: str) -> str:
    """A data or parameter name becomes a variable and an environment variable name."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise DefinitionError(
            f"{what} name {name!r} is not valid: use letters, digits and '_', not starting with a digit "
            "(it becomes an environment variable and a notebook variable).",
            name=name,
        )
    return name


def check_json_value(value: Any, what: str) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(
            f"{what} must be JSON-serializable (a number, string, boolean, None, or a list/dict of those); "
            f"got {type(value).__name__}: {value!r:.80}",
        ) from exc
    return value
