"""Runtime benchmark (run on demand: ``make bench-runtime``). Prints, never asserts.

1. Lambda cold start: importing each handler module in a fresh interpreter against importing
   boto3 + httpx + pydantic alone (the floor any such function pays), by turns, median of the
   round ratios (target <= 1.5). Also the handler plus boto3, which the first request loads.
2. ``quaywatch serve`` start-up: from the process start to the "serving" line and to the first
   answered API request, on a new data directory and on a restart (target: ready < 1.5 s).
3. The Lambda package as ``sam build`` makes it (functions/requirements.txt, no bytecode, plus
   our code): its size unpacked (target <= 60 MB; Lambda's limit is 250 MB).
4. The local store's commit cost: one acknowledged write (a committed transaction) with
   ``synchronous=FULL`` against ``NORMAL``.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from quaywatch.runtime.template import Template

from tests.support.registry_process import free_port
from tests.unit.test_lambda_package import build_lambda_package

ROUNDS = int(os.environ.get("QUAYWATCH_BENCH_ROUNDS", "7"))
BASELINE = "import boto3, httpx, pydantic"


def _import_seconds(statement: str) -> float:
    probe = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


def cold_starts() -> None:
    handlers = sorted({f["Properties"]["Handler"].rsplit(".", 1)[0] for f in Template.load().functions().values()})
    print(f"1. handler import / `{BASELINE}` (fresh interpreters, by turns, median of {ROUNDS} rounds)")
    for handler in handlers:
        ratios, with_sdk, seconds, floor = [], [], [], []
        for _ in range(ROUNDS):
            base = _import_seconds(BASELINE)
            alone = _import_seconds(f"import {handler}")
            first_request = _import_seconds(f"import {handler}, boto3")
            ratios.append(alone / base)
            with_sdk.append(first_request / base)
            seconds.append(alone)
            floor.append(base)
        print(f"   {handler:38} {statistics.median(seconds) * 1000:6.0f} ms / {statistics.median(floor) * 1000:4.0f} ms"
              f" = {statistics.median(ratios):.2f}   (+ boto3: {statistics.median(with_sdk):.2f})")


def serve_start_up() -> None:
    print("2. quaywatch serve: start -> 'serving' line -> first API answer")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("QUAYWATCH_", "AWS_"))}
    with tempfile.TemporaryDirectory() as data:
        for run in range(5):
            port = free_port()
            started = time.monotonic()
            process = subprocess.Popen([sys.executable, "-m", "quaywatch.cli.main", "serve", "--port", str(port),
                                        "--data-dir", data], stdout=subprocess.PIPE, text=True, env=environment)
            for line in process.stdout:
                if "serving on" in line:
                    break
            ready = time.monotonic() - started
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/projects", timeout=5)
                    break
                except httpx.TransportError:
                    time.sleep(0.01)
            answered = time.monotonic() - started
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            kind = "new data directory" if run == 0 else "restart"
            print(f"   {kind:20} ready {ready:.2f} s, first answer {answered:.2f} s")


def lambda_package() -> None:
    with tempfile.TemporaryDirectory() as work:
        package = build_lambda_package(Path(work) / "package")
        total = sum(p.stat().st_size for p in package.rglob("*") if p.is_file())
        ours = sum(p.stat().st_size for p in (package / "quaywatch").rglob("*") if p.is_file())
        print(f"3. Lambda package unpacked: {total / 1e6:.1f} MB (quaywatch itself {ours / 1e6:.1f} MB); target <= 60 MB")


def commit_cost() -> None:
    from quaywatch.adapters.local.database import Database
    from quaywatch.adapters.local.repositories import SqliteImportsRepository

    print("4. one acknowledged write (import job + 20 images, one transaction)")
    for synchronous in ("FULL", "NORMAL"):
        with tempfile.TemporaryDirectory() as work:
            db = Database(Path(work) / "q.db", synchronous=synchronous)
            repository = SqliteImportsRepository(db)
            times = []
            for n in range(200):
                started = time.perf_counter()
                repository.create({"import_id": f"i{n}", "org_id": "o", "integration_id": "x", "total": 20,
                                   "source": "api", "created_at": "2026-01-01T00:00:00+00:00"},
                                  [f"acme/app:{k}" for k in range(20)])
                times.append(time.perf_counter() - started)
            db.close()
            print(f"   synchronous={synchronous:6} median {statistics.median(times) * 1000:.2f} ms, "
                  f"p95 {sorted(times)[int(len(times) * 0.95)] * 1000:.2f} ms")


if __name__ == "__main__":
    cold_starts()
    serve_start_up()
    lambda_package()
    commit_cost()
