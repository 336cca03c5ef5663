"""Organisation-wide recount benchmark (run on demand: ``make bench-recount``). Prints, never
asserts.

10,000 projects (``QUAYWATCH_BENCH_PROJECTS``), each with a latest test of 20 findings, are
seeded through the ports of ``serve``'s local adapters (SQLite in a temporary directory). Then
an organisation ignore is added twice, measured two ways on the same data:

- baseline: the recount as it was before issue 18, inside the API call (every project
  recounted before the answer);
- queued: the API call answers after enqueueing one message, and 4 worker threads (serve's
  default ``--workers``) drain the re-test queue: the fan-out, then batches of 100.

Targets (issue 18): the answer in under a second, the counts right within 60 s.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from quaywatch.advisories.models import FixStatus
from quaywatch.inventory.models import ImageSummary, Inventory, OperatingSystem, Package
from quaywatch.matching.models import Finding
from quaywatch.runtime.embedded.root import LocalServices
from quaywatch.runtime.settings import RuntimeSettings
from quaywatch.tenancy.access import Principal
from quaywatch.usecases.projects import list_projects
from quaywatch.usecases.retests import process_retest_queue_message
from quaywatch.usecases.triage import IgnoreCreate, add_ignore, recount

from tests.support.records import record_test

PROJECTS = int(os.environ.get("QUAYWATCH_BENCH_PROJECTS", "10000"))
FINDINGS = 20
WORKERS = 4


def _seed(services: LocalServices, org_id: str) -> None:
    packages = [Package(type="apk", name=f"pkg{n}", version="1.0", path="lib/apk/db/installed") for n in range(FINDINGS)]
    findings = [Finding(id=f"CVE-2026-{n:04d}", package=f"pkg{n}", package_type="apk", installed_version="1.0",
                        matched_as=f"pkg{n}", matched_version="1.0", ecosystem="Alpine", status=FixStatus.FIXED,
                        fixed_version="1.1", severity=("critical", "high", "medium", "low")[n % 4],
                        severity_source="alpine", origin="os", path="lib/apk/db/installed") for n in range(FINDINGS)]
    now = datetime.now(UTC)
    for number in range(PROJECTS):
        project_id = f"p{number:05d}"
        inventory = Inventory(image=ImageSummary(reference=f"q/acme/app:{number}", registry="q", repository="acme/app",
                                                 tag=str(number), digest="sha256:aa", platform="linux/amd64"),
                              os=OperatingSystem(id="alpine", version_id="3.20.0"), packages=packages)
        record_test(services.projects, services.findings, project_id=project_id, org_id=org_id, image=inventory,
                    found=findings, tested_at=now)


def _drain(services: LocalServices) -> None:
    """Serve's pollers: WORKERS threads taking one message at a time until the queue is empty."""
    def work() -> None:
        idle = 0
        while idle < 3:
            batch = services.retest_queue.receive(1, visibility_timeout=300)
            if not batch:
                idle += 1
                time.sleep(0.05)
                continue
            idle = 0
            for message in batch:
                process_retest_queue_message(services, message.body, message.receive_count)
                services.retest_queue.ack(message)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _time_pages(services: LocalServices, admin: Principal) -> None:
    """``GET /projects``'s use case, a page of 200 at a time (issue 19: under 300 ms a page at
    10,000 projects): the first page, and every page to the last by the cursors."""
    started = time.perf_counter()
    list_projects(services, admin, None, None, 200, None)
    first = time.perf_counter() - started
    cursor, pages, slowest = None, 0, 0.0
    while True:
        started = time.perf_counter()
        _, cursor = list_projects(services, admin, None, None, 200, cursor)
        slowest = max(slowest, time.perf_counter() - started)
        pages += 1
        if cursor is None:
            break
    print(f"projects pages of 200 over {PROJECTS} projects: the first in {first * 1000:.0f} ms, the slowest of "
          f"{pages} in {slowest * 1000:.0f} ms (target < 300 ms)")


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        services = LocalServices(Path(work) / "data", RuntimeSettings(work_dir=Path(work) / "work"))
        org_id = services.access.create_organisation("bench")
        admin = Principal(user_id="bench", org_id=org_id, role="admin")
        started = time.perf_counter()
        _seed(services, org_id)
        print(f"seeded {PROJECTS} projects of {FINDINGS} findings in {time.perf_counter() - started:.1f} s")
        _time_pages(services, admin)

        # Baseline: the rule stored, then every project recounted inside the call (as before).
        started = time.perf_counter()
        organisation = services.access.organisation(org_id) or {}
        services.access.set_ignores(org_id, [*organisation.get("ignores", []), {
            "id": "CVE-2026-0000", "reason": "baseline", "ignore_id": "base", "scope": "organisation",
            "created_by": "bench", "created_at": datetime.now(UTC).isoformat(timespec="seconds")}])
        for project in services.projects.list(admin):
            recount(services, project)
        baseline = time.perf_counter() - started
        assert services.projects.get("p00000").ignored_count == 1

        started = time.perf_counter()
        add_ignore(services, admin, IgnoreCreate(vulnerability_id="CVE-2026-0001", reason="queued"), None)
        answered = time.perf_counter() - started
        _drain(services)
        counted = time.perf_counter() - started
        right = sum(1 for project in services.projects.list(admin) if project.ignored_count == 2)
        services.close()
    print(f"baseline (inline recount): the API call took {baseline:.1f} s")
    print(f"queued: answered in {answered * 1000:.0f} ms ({baseline / answered:.0f}x sooner), "
          f"counts right for {right} of {PROJECTS} projects after {counted:.1f} s "
          f"({counted / baseline:.2f}x the baseline's time; targets: < 1 s, < 60 s)")


if __name__ == "__main__":
    main()
