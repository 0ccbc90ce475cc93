"""Clean the raw reviews: the first step of the quickstart pipeline.

    python prep.py --input RAW_CSV --output FOLDER

Reads the raw export, drops rows with blank text or a rating outside 1-5,
removes duplicate reviews, normalises the text and adds a ``label`` column
(1 for 4-5 stars, 0 for 1-3 stars). Writes ``FOLDER/clean.csv``.

Runs the same outside a pipeline: ``Run.get_context()`` then gives an offline
run that prints the metrics instead of recording them.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

from jupyter_amlpipe import Run

FIELDS = ["review_id", "product", "rating", "price", "helpful_votes", "verified", "label", "text"]


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def clean_rows(rows: list[dict[str, str]]) -> tuple[list[dict[str, object]], dict[str, int]]:
    dropped = {"blank_text": 0, "bad_rating": 0, "duplicate": 0}
    seen: set[tuple[str, str, str]] = set()
    out: list[dict[str, object]] = []
    for row in rows:
        text = normalise(row.get("text", ""))
        if not text:
            dropped["blank_text"] += 1
            continue
        rating = row.get("rating", "").strip()
        if rating not in {"1", "2", "3", "4", "5"}:
            dropped["bad_rating"] += 1
            continue
        key = (row["product"], rating, text)
        if key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        price = row.get("price", "").strip()
        out.append(
            {
                "review_id": int(row["review_id"]),
                "product": row["product"].strip(),
                "rating": int(rating),
                "price": float(price) if price else "",
                "helpful_votes": int(row.get("helpful_votes") or 0),
                "verified": int(row.get("verified") or 0),
                "label": 1 if int(rating) >= 4 else 0,
                "text": text,
            }
        )
    return out, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="the raw reviews CSV")
    parser.add_argument("--output", required=True, help="folder to write clean.csv into")
    args = parser.parse_args()

    run = Run.get_context()
    with open(args.input, newline="", encoding="utf-8") as f:
        raw = list(csv.DictReader(f))
    rows, dropped = clean_rows(raw)

    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "clean.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)

    positive = sum(int(r["label"]) for r in rows)
    print(f"read {len(raw)} raw rows from {args.input}")
    print(f"dropped: {', '.join(f'{k}={v}' for k, v in dropped.items())}")
    print(f"wrote {len(rows)} clean rows ({positive} positive) to {out_dir / 'clean.csv'}")

    run.log("rows", len(rows))
    run.log("positive_share", round(positive / len(rows), 3))
    run.log_row("dropped", **dropped)
    if run.parent is not None:  # the pipeline run; None outside a pipeline
        run.parent.log("raw_rows", len(raw))


if __name__ == "__main__":
    main()
