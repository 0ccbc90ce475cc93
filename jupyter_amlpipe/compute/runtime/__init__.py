"""Programs that built-in step kinds run inside the step process.

Each module here is started as ``python -m jupyter_amlpipe.compute.runtime.<name> SPEC_JSON``
(a ``{"type": "module", ...}`` step program, see :func:`jupyter_amlpipe.compute.local.program_argv`),
so it runs on every compute target that runs Python steps: on LocalCompute with
this interpreter, on DockerCompute with the image's Python and the package source
mounted. They report progress on stdout and, when they fail, one readable message
on stderr (no traceback for a user's mistake) and exit code 1. They import
only what they use (``jupyter_amlpipe.compute`` loads its backends lazily), so
a step process starts in about the time of a bare ``python`` plus its engine.

- :mod:`.transfer`: DataTransferStep's byte-for-byte copy with a checksum check
  (XXH3-128 from ``xxhash``, else sha256; standard library only for local
  paths; fsspec for a cloud destination).
- :mod:`.sql`: the SQL step (AdlaStep) on embedded DuckDB.
"""
