"""Import throughput of ``quaywatch serve`` (run on demand: ``make bench-pipeline``). Prints,
never asserts.

N small Alpine images of one repository (a shared base layer and a layer of their own) are
pushed to the local registry behind the Quay-like front; one import of the whole repository
is timed from ``POST /imports`` to its completion, first without faults, then with
``QUAYWATCH_BENCH_FAULTS`` (default 20 %) of the registry requests failing (429 without
Retry-After, 503, connection resets, stalls): images per minute for both and their ratio
(targets: >= 600 images/min without faults, faults <= 1.5x the time).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx
from quaywatch.runtime.embedded.server import EmbeddedServer

from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.shared_data import ADVISORIES
from tests.support.stack import ROBOT, RegistryStack, running_stack

IMAGES = int(os.environ.get("QUAYWATCH_BENCH_IMAGES", "300"))
FAULTS = float(os.environ.get("QUAYWATCH_BENCH_FAULTS", "0.2"))
WORKERS = int(os.environ.get("QUAYWATCH_BENCH_WORKERS", "4"))


def push_images(stack: RegistryStack, repository: str, count: int) -> None:
    base = fixtures.alpine_310_base()
    for n in range(count):
        stack.pusher.push_image(repository, f"1.{n}", [base, {"srv/build-id": f"{n}\n"}])


def timed_import(stack: RegistryStack, workdir: Path, repository: str, fault_ratio: float) -> tuple[float, dict]:
    server = EmbeddedServer(workdir, port=free_port(), advisories=[ADVISORIES / "alpine-secdb"], workers=WORKERS)
    server.start()
    token = (workdir / "admin-token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as api:
            created = api.post("/integrations", json={"kind": "quay", "url": f"http://{stack.host}",
                                                      "username": ROBOT.username, "token": ROBOT.secret})
            created.raise_for_status()
            stack.front.random_faults(fault_ratio, seed=7, stall_seconds=float(os.environ.get("QUAYWATCH_BENCH_STALL", "1.5")))
            started = time.monotonic()
            reply = api.post("/imports", json={"integration_id": created.json()["id"],
                                               "images": [{"repository": repository}]})
            reply.raise_for_status()
            while (status := api.get(f"/imports/{reply.json()['id']}").json())["status"] != "completed":
                time.sleep(0.05)
            return time.monotonic() - started, {**status, "injected": dict(getattr(stack.front, "injected", {}))}
    finally:
        stack.front.random_faults(0.0)
        server.stop()


def main() -> None:
    os.environ["QUAYWATCH_REGISTRY_RETRY"] = "fast"
    with tempfile.TemporaryDirectory() as work, running_stack(Path(work) / "registry") as stack:
        push_images(stack, "acme/bench", IMAGES)
        print(f"{IMAGES} images pushed; serve with {WORKERS} workers per queue")
        clean, status = timed_import(stack, Path(work) / "clean", "acme/bench", 0.0)
        print(f"no faults:       {clean:6.1f} s = {IMAGES / clean * 60:6.0f} images/min "
              f"(succeeded {status['succeeded']}, failed {status['failed']})")
        faulty, status = timed_import(stack, Path(work) / "faulty", "acme/bench", FAULTS)
        print(f"{FAULTS:.0%} faults:      {faulty:6.1f} s = {IMAGES / faulty * 60:6.0f} images/min "
              f"(succeeded {status['succeeded']}, failed {status['failed']}; injected {status['injected']})")
        print(f"faults / no faults: {faulty / clean:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
