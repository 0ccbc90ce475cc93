"""Selections recorded on a dataset and applied when it is read: v1's take, skip, take_sample, random_split.

A selection is a small dict kept in the dataset's options, so it survives
registration and reaches a step that reads the dataset as an input:

* ``{"op": "take", "count": n}`` and ``{"op": "skip", "count": n}``: the first n
  rows (files), or all but them;
* ``{"op": "sample", "probability": p, "seed": s}``: each row (file) with
  probability p;
* ``{"op": "split", "percentage": p, "seed": s, "part": 0 | 1}``: part 0 is
  ``round(p * n)`` rows chosen at random, part 1 is the rest, both in their
  original order;
* ``{"op": "keep_columns" | "drop_columns", "columns": [...]}`` (rows only).

"At random" is a hash of the row's position with the seed (splitmix64), the
same on every machine and Python version: the same seed gives the same rows,
and the two parts of a split are complementary.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, TypeVar

from jupyter_amlpipe.errors import DefinitionError, LookupFailed

__all__ = ["apply_to_items", "apply_to_table", "check_count", "check_fraction", "new_seed", "unit_hashes"]

T = TypeVar("T")
_MASK = (1 << 64) - 1
_GOLDEN, _MUL1, _MUL2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
ROW_OPS = ("take", "skip", "sample", "split")


def _mix(x: int) -> int:
    z = (x + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * _MUL1) & _MASK
    z = ((z ^ (z >> 27)) * _MUL2) & _MASK
    return z ^ (z >> 31)


def new_seed() -> int:
    """A seed for a selection whose caller gave none (recorded, so both parts of a split agree)."""
    return random.SystemRandom().randrange(1 << 31)


def check_count(count: Any, what: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise DefinitionError(f"{what}: count must be a whole number >= 0, got {count!r}.")
    return count


def check_fraction(value: Any, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise DefinitionError(f"{what}: {name} must be a number between 0 and 1, got {value!r}.")
    return float(value)


def unit_hashes(n: int, seed: int) -> list[float]:
    """n numbers in [0, 1), one per position, fixed by ``seed`` (the pure-Python twin of the row hash)."""
    key = _mix(seed & _MASK)
    return [(_mix(key ^ i) >> 11) * 2.0**-53 for i in range(n)]


def _unit_array(n: int, seed: int) -> Any:
    import numpy as np

    key = np.uint64(_mix(seed & _MASK))
    z = np.arange(n, dtype=np.uint64) ^ key
    z = z + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MUL1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MUL2)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _chosen(units: Sequence[float], op: dict[str, Any]) -> list[bool]:
    """Which positions a sample or a split keeps."""
    if op["op"] == "sample":
        return [u < op["probability"] for u in units]
    k = round(op["percentage"] * len(units))
    order = sorted(range(len(units)), key=lambda i: (units[i], i))
    first = set(order[:k])
    return [(i in first) == (op["part"] == 0) for i in range(len(units))]


def apply_to_items(items: Sequence[T], ops: Sequence[dict[str, Any]]) -> list[T]:
    """A FileDataset's files after its selections."""
    out = list(items)
    for op in ops:
        if op["op"] == "take":
            out = out[: op["count"]]
        elif op["op"] == "skip":
            out = out[op["count"] :]
        else:
            keep = _chosen(unit_hashes(len(out), op["seed"]), op)
            out = [item for item, kept in zip(out, keep, strict=True) if kept]
    return out


def apply_to_table(table: Any, ops: Sequence[dict[str, Any]], what: str) -> Any:
    """A TabularDataset's rows and columns after its selections (a pandas DataFrame)."""
    for op in ops:
        kind = op["op"]
        if kind in ("keep_columns", "drop_columns"):
            missing = [c for c in op["columns"] if c not in table.columns]
            if missing:
                raise LookupFailed(
                    f"{what}: {kind} names column(s) {missing} that the data does not have; "
                    f"it has {list(table.columns)}."
                )
            table = table[list(op["columns"])] if kind == "keep_columns" else table.drop(columns=list(op["columns"]))
            continue
        if kind == "take":
            table = table.iloc[: op["count"]]
        elif kind == "skip":
            table = table.iloc[op["count"] :]
        elif kind == "sample":
            table = table[_unit_array(len(table), op["seed"]) < op["probability"]]
        else:
            import numpy as np

            units = _unit_array(len(table), op["seed"])
            rank = np.empty(len(units), dtype=np.int64)
            rank[np.lexsort((np.arange(len(units)), units))] = np.arange(len(units))
            first = rank < round(op["percentage"] * len(units))
            table = table[first if op["part"] == 0 else ~first]
        table = table.reset_index(drop=True)
    return table
