"""The SQL step's program (AdlaStep): run a ``.sql`` script on an in-memory DuckDB database.

Run as ``python -m jupyter_amlpipe.compute.runtime.sql SPEC_JSON`` in the step's
working folder, where the spec is::

    {"step": name, "script": "query.sql", "inputs": {name: path}, "outputs": {name: path},
     "params": {name: JSON value}, "threads": int | null}

Before the script runs, every input, output and parameter is a DuckDB variable
(``SET VARIABLE name = ?``, bound, so ``getvariable('name')`` works), and an
input made of CSV, parquet or JSON files that the script names is a view of
that name (DuckDB binds a view when it is created, reading the file's header
and sniffing a CSV, so an input the script never names gets no view). The script is
split into statements by DuckDB's parser; ``@name`` outside strings and
comments is rewritten to ``$name`` for the declared parameters, and each
statement runs as a prepared statement with exactly the ``$name`` values it
uses bound: values never become SQL text. A failing statement is reported with
the script's name and the line it failed on.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json", ".jsonl": "json"}
READERS = {"csv": "read_csv", "parquet": "read_parquet", "json": "read_json_auto"}
PREVIEW_ROWS = 10
_LINE = re.compile(r"LINE (\d+):")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAMED = re.compile(r'with name "?([A-Za-z_][A-Za-z0-9_.]*)"?|"([A-Za-z_][A-Za-z0-9_.]*)" not found')


class SqlScriptError(Exception):
    """The script failed: the message names the script and the line."""


def rewrite_params(sql: str, names: set[str]) -> str:
    """``@name`` → ``$name`` for the given names, outside quotes and comments (the length is kept)."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":  # a string or a quoted identifier; a doubled quote stays inside
            i += 1
            while i < n and not (sql[i] == c and not (i + 1 < n and sql[i + 1] == c)):
                i += 2 if sql[i] == c else 1
            i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c == "@":
            match = _IDENT.match(sql, i + 1)
            if match and match.group(0) in names:
                out[i] = "$"
                i = match.end()
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


def _line_of(sql: str, offset: int) -> int:
    return sql.count("\n", 0, offset) + 1


def _first_code(text: str) -> int:
    """Offset of the first character of ``text`` that is not blank or a comment."""
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
        else:
            return i
    return 0


def _files_of(path: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    found = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found += [os.path.join(root, n) for n in sorted(names) if not n.startswith((".", "_"))]
    return found


def names_in(sql: str, name: str) -> bool:
    """Whether ``name`` occurs in ``sql`` as a whole word (anywhere: in code, strings or comments)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", sql, re.IGNORECASE) is not None


def create_view(con: Any, name: str, path: str) -> str:
    """A view named ``name`` over the CSV/parquet/JSON file(s) at ``path``; returns a line for the log."""
    files = _files_of(path)
    kinds = {FORMATS.get(os.path.splitext(f)[1].lower()) for f in files}
    if not files or len(kinds) != 1 or None in kinds:
        return f"input {name!r}: {path} (no view: not one CSV, parquet or JSON file or folder of them; use ${name})"
    kind = next(iter(kinds))
    assert kind is not None
    con.execute(f'SET VARIABLE "amlpipe_files_{name}" = ?', [files])
    con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM {READERS[kind]}(getvariable('amlpipe_files_{name}'))")
    return f"input {name!r}: view over {len(files)} {kind} file(s) in {path}"


def _preview(cursor: Any, statement: Any) -> list[str]:
    if cursor.description is None or getattr(statement.type, "name", "") != "SELECT":
        return []
    rows = cursor.fetchmany(PREVIEW_ROWS)
    header = " | ".join(str(d[0]) for d in cursor.description)
    return [f"  {header}"] + [f"  {' | '.join(str(v) for v in row)}" for row in rows]


def run_script(con: Any, sql: str, script: str, values: dict[str, Any], shown: str | None = None) -> int:
    """Run every statement of ``sql``; returns how many ran. Raises SqlScriptError with the line.

    ``shown`` is the script as written (``sql`` with ``@name`` rewritten has the same length), for the log.
    """
    shown = sql if shown is None else shown
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlScriptError(_located(script, exc, 1, 1)) from None
    pos = 0
    for statement in statements:
        start = sql.find(statement.query, pos)
        start = pos if start < 0 else start
        pos = start + len(statement.query)
        base_line = _line_of(sql, start)
        code_line = _line_of(sql, start + _first_code(statement.query))
        missing = sorted(set(statement.named_parameters) - set(values))
        if missing:
            from jupyter_amlpipe.errors import did_you_mean

            raise SqlScriptError(
                f"{script} line {code_line}: ${missing[0]} is not an input, output or parameter of this step."
                + did_you_mean(missing[0], values)
            )
        bound = {k: values[k] for k in statement.named_parameters}
        started = time.perf_counter()
        try:
            cursor = con.execute(statement, bound) if bound else con.execute(statement)
            preview = _preview(cursor, statement)
        except duckdb.Error as exc:
            raise SqlScriptError(_located(script, exc, base_line, code_line, statement.query)) from None
        text = shown[start : start + len(statement.query)]
        first = text[_first_code(text) :].strip().splitlines()[0][:80]
        print(f"sql: {script} line {code_line}: {first} ({time.perf_counter() - started:.3f} s)", flush=True)
        for line in preview:
            print(line, flush=True)
    return len(statements)


def _located(script: str, exc: Exception, base_line: int, code_line: int, text: str = "") -> str:
    """The error with the script's line: DuckDB's ``LINE n`` when it gives one, else the line of the
    name the message is about (``Table with name x``), else the statement's first line."""
    message = str(exc)
    match = _LINE.search(message)
    if match:
        return f"{script} line {base_line + int(match.group(1)) - 1}: {message}"
    line = code_line
    named = _NAMED.search(message.splitlines()[0] if message else "")
    if named and text:
        found = re.search(rf"\b{re.escape(named.group(1) or named.group(2))}\b", text)
        if found:
            line = base_line + text.count("\n", 0, found.start())
    return f"{script} line {line}: {message}"


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    what = f"AdlaStep {spec.get('step', '')!r}"
    try:
        import duckdb
    except ImportError:
        from jupyter_amlpipe.errors import MissingExtraError

        error = MissingExtraError.for_module("duckdb", "sql", "The SQL step (AdlaStep)")
        print(f"{what}: {error}", file=sys.stderr, flush=True)
        return 1
    script = spec["script"]
    try:
        with open(script, encoding="utf-8") as f:
            sql = f.read()
    except OSError as exc:
        print(f"{what}: cannot read the script {script!r}: {exc.strerror}.", file=sys.stderr, flush=True)
        return 1
    params: dict[str, Any] = dict(spec.get("params") or {})
    values: dict[str, Any] = {**spec.get("inputs", {}), **spec.get("outputs", {}), **params}
    con = duckdb.connect()
    try:
        if spec.get("threads"):
            con.execute(f"SET threads = {int(spec['threads'])}")
        for name, value in values.items():
            con.execute(f'SET VARIABLE "{name}" = ?', [value])
        for name, path in spec.get("inputs", {}).items():
            if names_in(sql, name):
                print(f"sql: {create_view(con, name, path)}", flush=True)
            else:
                print(
                    f"sql: input {name!r}: {path} (not named in the script: no view; ${name} gives the path)",
                    flush=True,
                )
        for name, path in spec.get("outputs", {}).items():
            os.makedirs(path, exist_ok=True)  # a SQL step's output is a folder: COPY ... TO ($name || '/file')
            print(f"sql: output {name!r}: {path} (${name}, getvariable('{name}'))", flush=True)
        started = time.perf_counter()
        count = run_script(con, rewrite_params(sql, set(params)), script, values, shown=sql)
        print(f"sql: {script}: {count} statement(s) in {time.perf_counter() - started:.3f} s", flush=True)
    except SqlScriptError as exc:
        print(f"{what}: {exc}", file=sys.stderr, flush=True)
        return 1
    except duckdb.Error as exc:  # setting up the inputs (an unreadable file)
        print(f"{what}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
