"""What ``--inputs var=REF`` of ``%%amlstep`` may name, and how it becomes a data link.

A REF is, in this order:

- ``step.output``: an output of a step of the notebook's pipeline (a PipelineData);
- ``datastore:path``: a path on a datastore of the workspace (a DataReference
  named after the variable);
- a name in the user's namespace holding a DataReference, DataPath or PipelineData.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from jupyter_amlpipe.core.data import DataPath, DataReference, PipelineData
from jupyter_amlpipe.core.steps.base import Step
from jupyter_amlpipe.errors import DefinitionError, did_you_mean

__all__ = ["RefError", "namespace_data", "resolve_ref"]

_STEP_OUTPUT = re.compile(r"^(?P<step>[A-Za-z_][A-Za-z0-9_]*)\.(?P<output>[A-Za-z_][A-Za-z0-9_]*)$")
_DATASTORE_PATH = re.compile(r"^(?P<store>[A-Za-z0-9_][A-Za-z0-9_.-]*):(?P<path>.*)$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DATA_TYPES = (DataReference, DataPath, PipelineData)


class RefError(DefinitionError):
    """An ``--inputs`` REF names nothing that exists."""


def namespace_data(user_ns: Mapping[str, Any]) -> list[str]:
    """Names in the user's namespace that hold a data link usable as a REF."""
    return sorted(k for k, v in user_ns.items() if not k.startswith("_") and isinstance(v, DATA_TYPES))


def _what_exists(steps: Mapping[str, Step], user_ns: Mapping[str, Any], datastores: list[str] | None) -> str:
    outputs = [f"{name}.{out.name}" for name, step in steps.items() for out in step.outputs]
    lines = [
        "  step outputs: " + (", ".join(outputs) or "none yet"),
        "  namespace objects (DataReference, DataPath, PipelineData): "
        + (", ".join(namespace_data(user_ns)) or "none"),
    ]
    if datastores is None:
        lines.append("  datastore paths: DATASTORE:PATH (no workspace found yet)")
    else:
        lines.append("  datastore paths: " + ", ".join(f"{d}:PATH" for d in datastores))
    return "\n".join(lines)


def _close(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return (" Did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""


def resolve_ref(
    variable: str,
    ref: str,
    steps: Mapping[str, Step],
    user_ns: Mapping[str, Any],
    datastores: Callable[[], Mapping[str, Any] | None],
    step_name: str,
) -> Any:
    """The data link ``ref`` names, for the input bound to ``variable`` of step ``step_name``."""
    where = f"%%amlstep {step_name}: --inputs {variable}={ref}"
    match = _STEP_OUTPUT.match(ref)
    if match and match["step"] in steps:
        producer = steps[match["step"]]
        outputs = {o.name: o for o in producer.outputs}
        if match["output"] not in outputs:
            raise RefError(
                f"{where}: step {producer.name!r} has no output {match['output']!r}."
                f"{did_you_mean(match['output'], outputs)} Its outputs: {', '.join(outputs) or 'none'}.",
                ref=ref,
            )
        return outputs[match["output"]]
    match = _DATASTORE_PATH.match(ref)
    if match:
        stores = datastores()
        if stores is not None and match["store"] in stores:
            path = match["path"].strip("/")
            if not path:
                raise RefError(
                    f"{where}: give a path after {match['store']!r}:, e.g. {match['store']}:folder/file.csv."
                )
            try:
                return DataReference(stores[match["store"]], data_reference_name=variable, path_on_datastore=path)
            except DefinitionError as exc:
                raise RefError(f"{where}: {exc}", ref=ref) from exc
        known = sorted(stores or {})
        raise RefError(
            f"{where}: the workspace has no datastore {match['store']!r}.{did_you_mean(match['store'], known)}\n"
            f"What exists:\n{_what_exists(steps, user_ns, known if stores is not None else None)}",
            ref=ref,
        )
    if _IDENT.match(ref) and ref in user_ns:
        value = user_ns[ref]
        if isinstance(value, DATA_TYPES):
            return value
        raise RefError(
            f"{where}: {ref!r} in the namespace is a {type(value).__name__}, not a DataReference, DataPath or "
            "PipelineData.",
            ref=ref,
        )
    stores = datastores()
    known_refs = [f"{n}.{o.name}" for n, s in steps.items() for o in s.outputs] + namespace_data(user_ns)
    raise RefError(
        f"{where}: unknown REF {ref!r}.{_close(ref, known_refs)}\n"
        f"What exists:\n{_what_exists(steps, user_ns, sorted(stores) if stores is not None else None)}",
        ref=ref,
    )
