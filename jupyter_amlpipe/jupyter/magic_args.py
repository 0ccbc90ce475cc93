"""Parsing the argument lines of ``%%amlstep`` and ``%amlpipe``: argparse that reports instead of exiting."""

from __future__ import annotations

import argparse
import ast
import json
import shlex
from collections.abc import Sequence
from typing import Any, NoReturn

from jupyter_amlpipe.errors import DefinitionError

__all__ = ["ArgumentError", "HelpShown", "MagicParser", "amlstep_parser", "parse_assignments", "parse_value", "split"]


class ArgumentError(DefinitionError):
    """A magic's argument line is wrong; the message ends with the usage line."""


class HelpShown(Exception):
    """``--help`` was asked for and printed; nothing else is to be done."""


class MagicParser(argparse.ArgumentParser):
    """An ArgumentParser that raises :class:`ArgumentError` instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentError(f"{self.prog}: {message}\n{self.format_usage().strip()}\n(`{self.prog} --help` says more.)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status:
            raise ArgumentError(message or f"{self.prog}: invalid arguments")
        raise HelpShown()


def split(line: str) -> list[str]:
    """Split a magic's line like a shell would."""
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise ArgumentError(f"Cannot read the arguments {line!r}: {exc} (a quote is not closed?).") from None


def parse_value(text: str) -> Any:
    """A ``k=V`` value: JSON or a Python literal when it reads as one (0.1, 3, true, [1, 2]), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if isinstance(value, tuple):
        value = list(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return text
    return value


def parse_assignments(items: Sequence[str], option: str, prog: str) -> list[tuple[str, str]]:
    """``["a=x", "b=y"]`` as pairs; an item without ``=`` is an error naming the option."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ArgumentError(f"{prog}: {option} takes NAME=VALUE items, got {item!r}.")
        pairs.append((key.strip(), value.strip()))
    return pairs


AMLSTEP_DESCRIPTION = """\
Turn the cell into a step of the notebook's pipeline. Declaring does not run it.

The cell becomes a script (or with --notebook a notebook run by papermill) in its
own source folder <notebook folder>/.amlpipe/<notebook name>/NAME/. Every input
and output is a variable holding its path (an output is a folder the cell writes
files into); every parameter is a variable holding its value. Running the cell
again replaces the step; steps that use its outputs keep using them.

REF is an output of an earlier step (prep.clean), a datastore path
(workspaceblobstore:reviews/reviews.csv) or the name of a DataReference,
DataPath or PipelineData in the notebook's namespace."""


def amlstep_parser() -> MagicParser:
    """The parser of ``%%amlstep``'s line."""
    p = MagicParser(
        prog="%%amlstep",
        description=AMLSTEP_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=True,
    )
    p.add_argument("name", metavar="NAME", help="the step's name (letters, digits, '_')")
    p.add_argument("--inputs", nargs="+", default=[], metavar="VAR=REF", help="inputs, bound to variables")
    p.add_argument("--outputs", nargs="+", default=[], metavar="VAR", help="output folders, bound to variables")
    p.add_argument("--params", nargs="+", default=[], metavar="K=V", help="pipeline parameters with their defaults")
    p.add_argument("--compute", metavar="NAME", help="compute target (default: the local compute target)")
    p.add_argument("--source", metavar="DIR", help="a folder copied into the step's source (helpers to import)")
    p.add_argument("--after", nargs="+", default=[], metavar="STEP", help="steps this one runs after")
    p.add_argument("--no-reuse", action="store_true", help="always run, never reuse an earlier result")
    p.add_argument("--notebook", action="store_true", help="run the cell as a notebook with papermill")
    p.add_argument("--run", action="store_true", help="run this step now (upstream steps reused or run)")
    return p
