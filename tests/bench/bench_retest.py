"""The daily re-test cycle at scale (run on demand: ``make bench-retest``). Prints, never asserts.

10,000 projects (``QUAYWATCH_BENCH_PROJECTS``) of one integration, each a tag of the local
registry (behind the Quay-like front) whose digest has not changed since its last test, are
seeded through the ports of ``serve``'s local adapters (the first test of each: its inventory
and findings, as an import would have recorded them). Then ``quaywatch serve`` (4 workers per
queue) fires the daily schedule and the whole cycle is timed: the scheduler finds the due
projects and enqueues them, the workers resolve each tag's digest (unchanged: no scan), match
the stored inventory against today's advisories and record the test.

Baseline, measured in the same run: resolving every tag's digest with 4 threads and one
registry client, the registry's share that no re-test can avoid. Target (issue 18): the cycle
in under 60 s on this machine.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.projects.identity import project_id
from quaywatch.registry.client import Credentials, RegistryClient
from quaywatch.registry.retry import RetryPolicy
from quaywatch.runtime.embedded.root import LocalServices
from quaywatch.runtime.embedded.server import EmbeddedServer
from quaywatch.runtime.settings import RuntimeSettings

from tests.support import fixtures
from tests.support.records import record_test
from tests.support.registry_process import free_port
from tests.support.shared_data import ADVISORIES
from tests.support.stack import ROBOT, RegistryStack, running_stack

PROJECTS = int(os.environ.get("QUAYWATCH_BENCH_PROJECTS", "10000"))
WORKERS = int(os.environ.get("QUAYWATCH_BENCH_WORKERS", "4"))
REPOSITORY = "acme/fleet"


def _tags() -> list[str]:
    return [f"t{number:05d}" for number in range(PROJECTS)]


def _push(stack: RegistryStack) -> str:
    """One image under every tag (the same manifest PUT again: no layers pushed twice)."""
    pushed = stack.pusher.push_image(REPOSITORY, "t00000", [fixtures.alpine_310_base()])
    with RegistryClient(stack.host, Credentials(ROBOT.username, ROBOT.secret), plain_http=True) as client:
        manifest = client.get_manifest(REPOSITORY, "t00000")
    document = json.loads(manifest.body)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda tag: stack.pusher.push_manifest(REPOSITORY, tag, document, manifest.media_type),
                      _tags()[1:]))
    return pushed.digest


def _seed(data_dir: Path, integration_id: str, org_id: str, digest: str) -> str:
    """What an import would have left: each project's first test, two days ago (returned as
    the projects record it)."""
    services = LocalServices(data_dir, RuntimeSettings(work_dir=data_dir / "work"))
    packages = [Package(type="apk", name="musl", version="1.1.22-r2", path="lib/apk/db/installed"),
                Package(type="apk", name="busybox", version="1.30.1-r2", path="lib/apk/db/installed")]
    tested = datetime.now(UTC) - timedelta(days=2)
    for tag in _tags():
        identity = project_id(integration_id, REPOSITORY, tag, "linux/amd64")
        inventory = Inventory(image=ImageSummary(reference=f"q/{REPOSITORY}:{tag}", registry="q", repository=REPOSITORY,
                                                 tag=tag, digest=digest, platform="linux/amd64"),
                              os=OperatingSystem(id="alpine", version_id="3.10.2"), packages=packages)
        record_test(services.projects, services.findings, project_id=identity, org_id=org_id,
                    integration_id=integration_id, image=inventory, tested_at=tested)
    services.close()
    return tested.isoformat(timespec="seconds")


def _registry_floor(stack: RegistryStack) -> float:
    """Every tag's digest resolved (HEAD-less GET of the manifest, as the re-test does)."""
    started = time.perf_counter()
    with RegistryClient(stack.host, Credentials(ROBOT.username, ROBOT.secret), plain_http=True,
                        retry=RetryPolicy.fast(), max_concurrency=WORKERS) as client, ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda tag: client.get_manifest(REPOSITORY, tag), _tags()))
    return time.perf_counter() - started


def main() -> None:
    os.environ["QUAYWATCH_REGISTRY_RETRY"] = "fast"
    with tempfile.TemporaryDirectory() as work, running_stack(Path(work) / "registry") as stack:
        started = time.perf_counter()
        digest = _push(stack)
        print(f"{PROJECTS} tags pushed in {time.perf_counter() - started:.1f} s")
        data_dir = Path(work) / "serve"
        server = EmbeddedServer(data_dir, port=free_port(), advisories=[ADVISORIES / "alpine-secdb"], workers=WORKERS)
        server.start()
        token = (data_dir / "admin-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{server.url}/integrations", headers=headers, timeout=60, json={
            "kind": "quay", "url": f"http://{stack.host}", "username": ROBOT.username, "token": ROBOT.secret})
        created.raise_for_status()
        integration_id = created.json()["id"]
        org_id = server.services.access.authenticate(f"Bearer {token}").org_id
        server.stop()
        started = time.perf_counter()
        seeded_at = _seed(data_dir, integration_id, org_id, digest)
        print(f"{PROJECTS} projects seeded through the ports in {time.perf_counter() - started:.1f} s")

        floor = _registry_floor(stack)
        server = EmbeddedServer(data_dir, port=free_port(), advisories=[ADVISORIES / "alpine-secdb"], workers=WORKERS)
        server.start()
        try:
            started = time.perf_counter()
            fired = httpx.post(f"{server.url}/_embedded/schedules/daily", headers=headers, timeout=600)
            fired.raise_for_status()
            enqueued_after = time.perf_counter() - started
            database = sqlite3.connect(f"file:{data_dir / 'quaywatch.db'}?mode=ro", uri=True, timeout=30)
            while True:
                waiting = database.execute("SELECT COUNT(*) FROM queue_messages WHERE queue = 'RetestQueue'").fetchone()[0]
                if waiting == 0:
                    break
                time.sleep(0.2)
            cycle = time.perf_counter() - started
            # Re-tested: a last test other than the seeded one (compared as written, not with
            # the wall clock, which may step while the cycle runs).
            tested = sum(1 for (data,) in database.execute("SELECT data FROM projects")
                         if json.loads(data)["last_tested_at"] != seeded_at)
            database.close()
            metrics = httpx.get(f"{server.url}/metrics", headers=headers, timeout=30).text
        finally:
            server.stop()
    scans = next((line.split()[-1] for line in metrics.splitlines() if line.startswith("quaywatch_images_scanned_total")),
                 "0")
    print(f"daily cycle: {fired.json()['result']['enqueued']} enqueued in {enqueued_after:.1f} s, "
          f"{tested} of {PROJECTS} re-tested in {cycle:.1f} s ({PROJECTS / cycle:.0f} projects/s; {scans} scans; "
          f"target < 60 s)")
    print(f"baseline, the registry alone (every tag's manifest asked, {WORKERS} at a time, one client): {floor:.1f} s; "
          f"cycle / baseline: {cycle / floor:.2f}x (the cycle adds matching the stored inventories and recording "
          f"the tests, and overlaps them with the registry's answers)")


if __name__ == "__main__":
    main()
