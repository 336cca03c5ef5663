"""AdvisorySyncFunction (scheduled): refresh the advisory store and re-test what changed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from quaywatch.advisories.sync import (
    copy_store,
    feed_sources,
    read_s3_json,
    state_object,
    sync_feeds,
)
from quaywatch.handlers import wiring
from quaywatch.observability import logger
from quaywatch.projects.retests import enqueue_retests
from quaywatch.runtime import aws


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: Any) -> dict:
    config = wiring.settings()
    cache = wiring.advisory_cache()
    cache.refresh()
    work = Path(config.work_dir) / "sync"
    writable = work / "advisories.db"
    copy_store(cache.path, writable)
    s3 = aws.client("s3")
    state = read_s3_json(s3, config.advisory_bucket, state_object(config.advisory_key))
    sources = feed_sources(
        os.environ.get("QUAYWATCH_OSV_BASE_URL", "https://osv-vulnerabilities.storage.googleapis.com"),
        [e.strip() for e in os.environ.get("QUAYWATCH_OSV_ECOSYSTEMS", "").split(",")],
        os.environ.get("QUAYWATCH_ALPINE_SECDB_URL", "https://secdb.alpinelinux.org"),
        [r.strip() for r in os.environ.get("QUAYWATCH_ALPINE_RELEASES", "").split(",") if r.strip()],
    )
    with httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0), follow_redirects=True) as http:
        report = sync_feeds(writable, sources, work / "feeds", state, http)
    if report.downloaded:
        cache.publish(writable)
    s3.put_object(Bucket=config.advisory_bucket, Key=state_object(config.advisory_key),
                  Body=json.dumps(state).encode(), ContentType="application/json")
    projects = sorted(wiring.findings().projects_with(report.changed)) if report.changed else []
    enqueued = enqueue_retests(aws.client("sqs"), config.retest_queue_url, projects, "advisories") if projects else 0
    logger.info("advisory-driven re-tests enqueued", extra={"count": enqueued})
    return {"downloaded": report.downloaded, "unchanged": report.unchanged, "failed": report.failed,
            "records": report.records, "changed_keys": len(report.changed), "retests": enqueued}
