"""Evaluate the trained model on the held-out reviews: the last step of the quickstart pipeline.

    python evaluate.py --clean CLEAN_FOLDER --model MODEL_FOLDER

Logs accuracy, precision, recall and F1 on the held-out rows, a confusion
matrix, the accuracy per product, and stores a readable report with the run as
``outputs/report.txt``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from itertools import pairwise
from pathlib import Path

from jupyter_amlpipe import Run


def features(text: str) -> set[str]:
    """Words and adjacent word pairs (as in train.ipynb)."""
    words = text.split()
    return set(words) | {f"{a} {b}" for a, b in pairwise(words)}


def score(model: dict, text: str) -> float:
    z = model["bias"] + sum(model["weights"].get(f, 0.0) for f in features(text))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", required=True, help="folder holding clean.csv")
    parser.add_argument("--model", required=True, help="folder holding model.json")
    args = parser.parse_args()

    run = Run.get_context()
    model = json.loads((Path(args.model) / "model.json").read_text(encoding="utf-8"))
    with open(Path(args.clean) / "clean.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if not int(r["review_id"]) % model["holdout_every"]]

    tp = fp = tn = fn = 0
    per_product: dict[str, list[int]] = {}
    for row in rows:
        predicted = score(model, row["text"]) >= 0.5
        actual = row["label"] == "1"
        tp += predicted and actual
        fp += predicted and not actual
        tn += not predicted and not actual
        fn += not predicted and actual
        per_product.setdefault(row["product"], []).append(int(predicted == actual))

    accuracy = (tp + tn) / len(rows)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    products = sorted(per_product)

    run.log("test_rows", len(rows))
    run.log("accuracy", round(accuracy, 4))
    run.log("precision", round(precision, 4))
    run.log("recall", round(recall, 4))
    run.log("f1", round(f1, 4))
    run.log_row("confusion", tp=tp, fp=fp, tn=tn, fn=fn)
    run.log_table(
        "accuracy_by_product",
        {
            "product": products,
            "accuracy": [round(sum(per_product[p]) / len(per_product[p]), 3) for p in products],
        },
    )

    lines = [
        "Quickstart model report",
        "=======================",
        f"model: {model['kind']} on {model['features']}, lr={model['lr']}, epochs={model['epochs']}",
        f"held-out rows: {len(rows)}",
        f"accuracy:  {accuracy:.3f}",
        f"precision: {precision:.3f}",
        f"recall:    {recall:.3f}",
        f"f1:        {f1:.3f}",
        "",
        "                 predicted +   predicted -",
        f"actual positive  {tp:11d}   {fn:11d}",
        f"actual negative  {fp:11d}   {tn:11d}",
        "",
        "accuracy by product:",
        *(f"  {p:<16} {sum(per_product[p]) / len(per_product[p]):.2f}  ({len(per_product[p])} rows)" for p in products),
    ]
    report = Path("report.txt")
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run.upload_file("outputs/report.txt", str(report))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
