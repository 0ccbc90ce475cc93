"""Finding the pipeline in a Python file (``FILE.py[:NAME]``) and parsing ``--param k=v``.

The file runs with ``__name__ == "__amlpipe__"``, so its
``if __name__ == "__main__":`` block (which usually submits) does not run; the
pipeline is the ``Pipeline`` object it defines at module level.
"""

from __future__ import annotations

import json
import re
import runpy
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_amlpipe.errors import AmlpipeError, DefinitionError, LookupFailed, did_you_mean

if TYPE_CHECKING:
    from jupyter_amlpipe.core.pipeline import Pipeline

RUN_NAME = "__amlpipe__"


def split_spec(spec: str) -> tuple[Path, str | None]:
    """``path/to/file.py:NAME`` -> (path, NAME); a plain path -> (path, None)."""
    path, sep, name = spec.rpartition(":")
    if sep and path and name.isidentifier() and not Path(spec).is_file():
        return Path(path), name
    return Path(spec), None


def experiment_name_for(path: Path) -> str:
    """The default experiment name: the file's stem, made a valid experiment name."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem).lstrip("_.-")
    return name[:255] or "pipeline"


def parse_param(text: str) -> tuple[str, Any]:
    """``k=v``: the value as JSON when it parses (``0.1``, ``true``, ``[1,2]``), else as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise DefinitionError(f"--param {text!r} is not NAME=VALUE (for example --param lr=0.05).", param=text)
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def load_pipeline(path: Path, name: str | None = None) -> tuple[str, Pipeline]:
    """Run ``path`` and return (variable name, Pipeline) of the pipeline it defines."""
    from jupyter_amlpipe.core.pipeline import Pipeline

    if not path.is_file():
        raise LookupFailed(f"No pipeline file {str(path)!r}: it does not exist.", path=str(path))
    namespace = _run_file(path)
    pipelines: dict[str, Pipeline] = {}
    for key, obj in namespace.items():
        if isinstance(obj, Pipeline) and not any(obj is other for other in pipelines.values()):
            pipelines[key] = obj
    if name is not None:
        if name not in namespace:
            raise LookupFailed(
                f"{path} defines no {name!r} at module level.{did_you_mean(name, pipelines)}", path=str(path), name=name
            )
        obj = namespace[name]
        if not isinstance(obj, Pipeline):
            raise DefinitionError(
                f"{path}:{name} is a {type(obj).__name__}, not a Pipeline.{did_you_mean(name, pipelines)}",
                path=str(path),
                name=name,
            )
        return name, obj
    if not pipelines:
        raise DefinitionError(
            f"{path} defines no Pipeline object at module level. Build it outside "
            f'`if __name__ == "__main__":` (that block does not run under amlpipe), e.g. '
            f"pipeline = Pipeline(workspace=ws, steps=[...]).",
            path=str(path),
        )
    if len(pipelines) > 1:
        names = ", ".join(sorted(pipelines))
        raise DefinitionError(
            f"{path} defines {len(pipelines)} Pipeline objects ({names}); choose one with "
            f"{path}:NAME, e.g. amlpipe submit {path}:{sorted(pipelines)[0]}",
            path=str(path),
            names=sorted(pipelines),
        )
    return next(iter(pipelines.items()))


def _run_file(path: Path) -> dict[str, Any]:
    """Run a Python file as ``python FILE`` would (its folder first on sys.path), but not as __main__."""
    folder = str(path.resolve().parent)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(path)]
    sys.path.insert(0, folder)
    try:
        return runpy.run_path(str(path.resolve()), run_name=RUN_NAME)  # __file__ absolute, as `python FILE` sets it
    except AmlpipeError:
        raise
    except (Exception, SystemExit) as exc:
        raise DefinitionError(
            f"Running {path} to find its pipeline failed:\n{_user_traceback(exc, path)}"
            f"Fix the file, then run the command again.",
            path=str(path),
        ) from None
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def _user_traceback(exc: BaseException, path: Path) -> str:
    """The exception with only the frames of the user's own files (none of runpy's or ours)."""
    import traceback

    ours = str(Path(__file__).resolve().parents[1])
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(ours) and "runpy" not in Path(f.filename).name
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines)
