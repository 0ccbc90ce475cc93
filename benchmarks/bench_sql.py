"""The SQL step (AdlaStep on DuckDB) versus the same SQL run with the duckdb library directly.

Ours: one AdlaStep (``allow_reuse=False``) whose script reads a CSV input (a
view made by the step), aggregates it with a bound ``@min_qty`` parameter and
writes a parquet file to its PipelineData output, timed from ``submit`` until
``wait_for_completion(show_output=False)`` returns.
Baseline: a new ``python`` process (the same interpreter) that imports duckdb,
opens an in-memory database and runs the same statements on the same CSV file
(``read_csv('<path>')``, the parameter bound the same way) writing the same
parquet file: what a user would run by hand. Both sides pay a Python start, the
duckdb import and the query; ours adds the runner (submit, snapshot of the
source folder, the input's digest for the reuse key, bookkeeping, publishing
the output), the step's runtime module and its view and variable set-up. The
outputs are compared (sums of doubles rounded: parallel aggregation adds them
in any order). The target ratio is at 2M rows (19 MB of CSV); the same
comparison at 20,000 rows is printed for information: there the query takes
little time, so it shows what the step adds.

    python -m benchmarks.bench_sql [--quick] [--repeat N]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_sql.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    PYTHON,
    REPO,
    fmt_samples,
    header,
    interleaved,
    load,
    median,
    parse_args,
    ratio_line,
    scratch,
    target_line,
    time_pipeline,
    time_shell,
)

ROWS = 2_000_000
QUICK_ROWS = 20_000
TARGET_RATIO = 1.2

STEP_SQL = """\
CREATE TABLE totals AS
SELECT store, count(*) AS n, sum(qty * price) AS revenue, avg(price) AS avg_price
FROM sales WHERE qty >= @min_qty GROUP BY store;
COPY (SELECT * FROM totals ORDER BY store) TO ($totals || '/totals.parquet') (FORMAT parquet);
"""

BASELINE = """\
import sys
import duckdb

csv, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(
    "CREATE TABLE totals AS SELECT store, count(*) AS n, sum(qty * price) AS revenue, avg(price) AS avg_price "
    "FROM read_csv($csv) WHERE qty >= $min_qty GROUP BY store",
    {"csv": csv, "min_qty": 3},
)
con.execute("COPY (SELECT * FROM totals ORDER BY store) TO $out (FORMAT parquet)", {"out": out})
"""


def main() -> int:
    args = parse_args(__doc__.splitlines()[0], repeat=9)
    header("bench_sql: AdlaStep vs the duckdb library", args)
    try:
        import duckdb
    except ImportError:
        print('skipped: duckdb is not installed (pip install "jupyter_amlpipe[sql]")')
        return 0
    # step processes run `python -m jupyter_amlpipe.compute.runtime...`: they load this checkout
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    with scratch("sql") as root:
        from jupyter_amlpipe import Workspace

        ws = Workspace.create("bench", path=root / "ws", exist_ok=True)
        (root / "src").mkdir()
        (root / "src" / "totals.sql").write_text(STEP_SQL, encoding="utf-8")
        (root / "baseline.py").write_text(BASELINE, encoding="utf-8")
        sizes = [QUICK_ROWS] if args.quick else [ROWS, QUICK_ROWS]
        medians = {rows: compare(duckdb, ws, root, rows, args.repeat) for rows in sizes}
    t_ours, t_bare = medians[sizes[0]]
    ratio = ratio_line("AdlaStep vs duckdb directly", t_ours, t_bare, "duckdb directly")
    target_line("AdlaStep vs duckdb directly", ratio, "x", "<=", TARGET_RATIO)
    if not args.quick:
        s_ours, s_bare = medians[QUICK_ROWS]
        print(
            f"info: at {QUICK_ROWS:,} rows (the query takes little time: the step's fixed costs) "
            f"{s_ours / s_bare:.2f}x ({s_ours:.3f} s vs {s_bare:.3f} s; the step adds {1000 * (s_ours - s_bare):.0f} ms)"
        )
    print(f"after: {load()}")
    return 0


def compare(duckdb: Any, ws: Any, root: Path, rows: int, repeat: int) -> tuple[float, float]:
    """Median seconds of the step and of duckdb directly on a CSV of ``rows`` rows; the outputs compared."""
    from jupyter_amlpipe import DataReference, Pipeline, PipelineData
    from jupyter_amlpipe.compute import LocalCompute
    from jupyter_amlpipe.steps import AdlaStep

    store = ws.get_default_datastore()
    csv = store.local_path(f"sales{rows}/sales.csv")
    csv.parent.mkdir(parents=True)
    duckdb.connect().execute(
        f"COPY (SELECT i % 50 AS store, i % 7 AS qty, (i % 1000) / 10.0 AS price FROM range({rows}) t(i)) "
        "TO $p (HEADER)",
        {"p": str(csv)},
    )
    print(f"data: {rows} rows, {csv.stat().st_size / 1e6:.1f} MB of CSV")
    compute = LocalCompute(workspace=ws, name="local")
    results: dict[str, Path] = {}

    def ours() -> float:
        out = PipelineData("totals", datastore=store)
        step = AdlaStep(
            "totals.sql",
            name="totals",
            inputs=[DataReference(store, "sales", f"sales{rows}/sales.csv")],
            outputs=[out],
            params={"min_qty": 3},
            source_directory=root / "src",
            compute_target=compute,
            allow_reuse=False,
        )
        elapsed, run = time_pipeline(ws, Pipeline(ws, [step]), experiment="bench")
        port = run.find_step_run("totals")[0].get_output_data("totals")
        results["ours"] = store.local_path(port.path_on_datastore) / "totals.parquet"
        return elapsed

    def bare() -> float:
        results["bare"] = root / f"bare{rows}.parquet"
        return time_shell(f"'{PYTHON}' '{root / 'baseline.py'}' '{csv}' '{results['bare']}'")

    samples = interleaved({"ours": ours, "bare": bare}, repeat)
    same = (
        duckdb.connect()
        .execute(
            "SELECT count(*) FROM (SELECT store, n, round(revenue, 3), round(avg_price, 6) FROM read_parquet($a) "
            "EXCEPT SELECT store, n, round(revenue, 3), round(avg_price, 6) FROM read_parquet($b))",
            {"a": str(results["ours"]), "b": str(results["bare"])},
        )
        .fetchone()
    )
    if same is None or same[0] != 0:
        raise SystemExit("the step's output differs from the baseline's")
    print(f"samples ours: {fmt_samples(samples['ours'])}; duckdb directly: {fmt_samples(samples['bare'])}")
    paired = median([a / b for a, b in zip(samples["ours"], samples["bare"], strict=True)])
    print(f"info: {rows:,} rows, median of the paired ratios (each repetition's two sides back to back): {paired:.2f}x")
    return median(samples["ours"]), median(samples["bare"])


if __name__ == "__main__":
    sys.exit(main())
