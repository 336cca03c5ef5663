"""Registry sync benchmark (run on demand: ``make bench-sync``). Prints, never asserts.

A registry of 10,000 repositories x 5 tags (``QUAYWATCH_BENCH_REPOSITORIES``,
``QUAYWATCH_BENCH_TAGS``), simulated in memory (tests/support/simulated_registry.py) and
limited like quay.io: nginx zones for the catalog, tags/list and manifests, 429 without
Retry-After. At quay.io's own rates the floor of such a sync from one address is
10,000 tags/list at 5/s: 2,000 s. To fit the benchmark in minutes both the registry's limits
and quaywatch's limiter are scaled by ``QUAYWATCH_BENCH_SCALE`` (default 10); what is
measured is how close the sync comes to the floor the limits allow, and how many of its
requests the registry refused.

The sync runs in ``serve`` (its SyncQueue pollers, 4 threads, as deployed: one message per
repository) through the API: a dry run (the index built, nothing imported). Then the images
route is timed on the 10,000-repository index: a page, a search, the last page.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from quaywatch.runtime.embedded.server import EmbeddedServer

from tests.support.registry_process import free_port
from tests.support.simulated_registry import SimulatedRegistry

REPOSITORIES = int(os.environ.get("QUAYWATCH_BENCH_REPOSITORIES", "10000"))
TAGS = int(os.environ.get("QUAYWATCH_BENCH_TAGS", "5"))
SCALE = float(os.environ.get("QUAYWATCH_BENCH_SCALE", "10"))


def _timed(call, repeat: int = 20) -> float:
    """The median of ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    os.environ["QUAYWATCH_REGISTRY_LIMITS"] = "quay"
    os.environ["QUAYWATCH_REGISTRY_LIMITS_SCALE"] = str(SCALE)
    os.environ["QUAYWATCH_REGISTRY_RETRY"] = "fast"
    registry = SimulatedRegistry(REPOSITORIES, TAGS, scale=SCALE).start()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(Path(tmp) / "server", port=free_port())
        started = server.start()
        api = httpx.Client(base_url=started.url, headers={"Authorization": f"Bearer {started.admin_token}"},
                           timeout=120)
        try:
            created = api.post("/integrations", json={"kind": "quay", "url": f"http://{registry.host}",
                                                      "username": "acme+robot", "token": "unused"})
            created.raise_for_status()
            integration_id = created.json()["id"]
            before = registry.limits.requests
            begun = time.perf_counter()
            sync_id = api.post(f"/integrations/{integration_id}/sync", json={"dry_run": True}).json()["id"]
            while True:
                last = api.get(f"/integrations/{integration_id}/sync").json()
                if last["id"] == sync_id and last["status"] != "running":
                    break
                time.sleep(1)
            took = time.perf_counter() - begun
            requests = registry.limits.requests - before
            floor = registry.floor_seconds()
            print(f"registry: {REPOSITORIES} repositories x {TAGS} tags, quay.io's limits x{SCALE:g} "
                  f"(at quay.io's own rates the floor is {floor * SCALE:,.0f} s)")
            print(f"dry-run sync: {last['status']}, {last['repositories']} repositories and {last['tags']} tags indexed "
                  f"in {took:.1f} s; the limits' floor {floor:.1f} s: {took / floor:.2f}x the floor")
            print(f"requests: {requests} ({registry.limits.by_zone}); answered 429: {registry.limits.limited} "
                  f"({100 * registry.limits.limited / max(requests, 1):.2f} %); the run counted {last['throttled']}")
            page = _timed(lambda: api.get(f"/integrations/{integration_id}/images").raise_for_status())
            search = _timed(lambda: api.get(f"/integrations/{integration_id}/images",
                                            params={"search": "service-0999"}).raise_for_status())
            miss = _timed(lambda: api.get(f"/integrations/{integration_id}/images",
                                          params={"search": "no-such-repository"}).raise_for_status())
            before_listing = registry.limits.requests
            api.get(f"/integrations/{integration_id}/images", params={"search": "service"}).raise_for_status()
            print(f"images route on the {REPOSITORIES}-repository index (median of 20, through serve's HTTP API): "
                  f"first page {page:.1f} ms, a search {search:.1f} ms, a search matching nothing {miss:.1f} ms "
                  f"(target < 300 ms); registry requests while listing: {registry.limits.requests - before_listing}")
        finally:
            api.close()
            server.stop()
            registry.stop()


if __name__ == "__main__":
    main()
