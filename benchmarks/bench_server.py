"""REST submissions accepted per second, against an authenticated no-op route of the same server.

Ours: ``POST /pipelines/v1/published/{id}`` with v1's body (the run is queued,
not finished: the answer comes at once). Baseline: ``GET /whoami``, which
checks the bearer token against the workspace database and does nothing else.
Both from one asyncio client (httpx) on loopback at 10 and 100 concurrent
requests, against ``amlpipe serve`` in its own process (``--max-running 1``, so
the runs it starts meanwhile load both sides alike). Reported: requests per
second and p50/p99 latency, each as a ratio to the baseline, sides interleaved.
Afterwards every accepted submission must be in the workspace database: a
lost one makes the benchmark exit 1.

    python -m benchmarks.bench_server [--quick] [--repeat N]
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: python benchmarks/bench_server.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, REPO, header, load, parse_args, ratio_line, scratch, target_line

CONCURRENCY = (10, 100)
REQUESTS = {10: 300, 100: 600}
QUICK_REQUESTS = {10: 30, 100: 100}
NOOP_STEP = 'print("noop")\n'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(ws_path: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    args = [PYTHON, "-m", "jupyter_amlpipe", "serve", "--workspace", str(ws_path), "--port", str(port)]
    args += ["--max-running", "1"]
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not answer /health within 60 s:\n{log.read_text()}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


async def burst(
    url: str, token: str, concurrency: int, total: int, method: str, path: str, body: Any
) -> tuple[float, list[float], list[Any]]:
    """``total`` requests, ``concurrency`` at a time: (wall seconds, latencies, answers' JSON or error strings)."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    answers: list[Any] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:

        async def one() -> None:
            async with gate:
                start = time.perf_counter()
                response = await client.request(method, path, json=body)
                latencies.append(time.perf_counter() - start)
                answers.append(response.json() if response.status_code == 200 else f"{response.status_code}")

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        wall = time.perf_counter() - start
    return wall, latencies, answers


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    args = parse_args("REST submissions per second versus an authenticated no-op route.", repeat=3, quick_repeat=1)
    header("bench_server: REST submissions accepted (queued) vs an authenticated no-op route", args)
    sizes = QUICK_REQUESTS if args.quick else REQUESTS
    from jupyter_amlpipe import Pipeline, Workspace
    from jupyter_amlpipe.steps import PythonScriptStep

    lost_total = 0
    with scratch("server") as root:
        ws = Workspace.create("bench", path=root / "ws", exist_ok=True)
        src = root / "src"
        src.mkdir()
        (src / "noop.py").write_text(NOOP_STEP, encoding="utf-8")
        step = PythonScriptStep(name="noop", script_name="noop.py", source_directory=str(src))
        published = Pipeline(workspace=ws, steps=[step]).publish(name="bench-noop")
        token = ws.create_token(name="bench")
        proc, url = start_server(root / "ws", root / "server.log")
        accepted: list[str] = []
        try:
            submit_path = f"/pipelines/v1/published/{published.id}"
            body = {"ExperimentName": "bench", "ParameterAssignments": {}}
            for concurrency in CONCURRENCY:
                total = sizes[concurrency]
                asyncio.run(burst(url, token, concurrency, min(total, 20), "GET", "/whoami", None))  # warm-up
                rates: dict[str, list[float]] = {"submit": [], "noop": []}
                lats: dict[str, list[float]] = {"submit": [], "noop": []}
                for _ in range(args.repeat):
                    for side, method, path, payload in (
                        ("noop", "GET", "/whoami", None),
                        ("submit", "POST", submit_path, body),
                    ):
                        wall, latencies, answers = asyncio.run(
                            burst(url, token, concurrency, total, method, path, payload)
                        )
                        failed = [a for a in answers if not isinstance(a, dict)]
                        if failed:
                            print(f"{side}: {len(failed)} of {total} requests failed: {sorted(set(failed))}")
                            return 1
                        if side == "submit":
                            accepted.extend(a["Id"] for a in answers)
                        rates[side].append(total / wall)
                        lats[side].extend(latencies)
                ours, base = statistics.median(rates["submit"]), statistics.median(rates["noop"])
                ratio_line(f"submissions/s at {concurrency} concurrent", ours, base, "no-op route", " req/s")
                for q, name in ((0.5, "p50"), (0.99, "p99")):
                    ours_ms = percentile(lats["submit"], q) * 1000
                    base_ms = percentile(lats["noop"], q) * 1000
                    ratio_line(f"{name} latency at {concurrency} concurrent", ours_ms, base_ms, "no-op route", " ms")
        finally:
            stop_server(proc)
        from jupyter_amlpipe.runner.runs import TERMINAL, run_from_id

        lost = [run_id for run_id in accepted if ws._store.find_run(run_id) is None]
        lost_total = len(lost)
        print(f"accepted submissions: {len(accepted)}; in the database: {len(accepted) - lost_total}; {load()}")
        target_line("submissions lost", float(lost_total), "", "<=", 0)
        for rec in ws._store.list_runs("bench", "pipeline"):  # leave nothing queued behind
            if rec["status"] not in TERMINAL:
                run_from_id(ws, rec["id"]).cancel()
    if lost_total:
        print(f"FAIL: {lost_total} accepted submissions are not in the database", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
