"""Faults under load: many images imported through ``quaywatch serve`` (a subprocess) while a
fifth of the registry requests fail (429 without Retry-After, 503, resets, stalls), a tenth of
the queue messages are delivered twice, and the server is killed with SIGKILL twice. Every
image ends succeeded, progress counts are exact, no project is duplicated, nothing is left in
flight. ``QUAYWATCH_FAULT_RUN_IMAGES`` sets the size (default 1,000)."""

from __future__ import annotations

import os
import random
import sqlite3
import sys
import time

import pytest

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.served import Served

pytestmark = [pytest.mark.registry, pytest.mark.slow]
IMAGES = int(os.environ.get("QUAYWATCH_FAULT_RUN_IMAGES", "1000"))


def _wait(predicate, timeout: float = 900.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _progress(served: Served, token: str, import_id: str) -> dict:
    reply = served.api("GET", f"/imports/{import_id}", token)
    return reply.json() if reply.status_code == 200 else {"succeeded": -1, "failed": -1, "status": "?"}


def test_a_thousand_images_with_faults_duplicates_and_two_kills(stack, tmp_path) -> None:
    base = fixtures.alpine_310_base()
    for n in range(IMAGES):
        stack.pusher.push_image("acme/fleet", f"1.{n}", [base, {"srv/build-id": f"{n}\n"}])
    data_dir = tmp_path / "data"
    port = free_port()
    options = {"extra": ("--workers", "8"), "env": {"QUAYWATCH_REGISTRY_RETRY": "fast"}}
    served = Served(data_dir, port, **options)
    try:
        token = (data_dir / "admin-token").read_text().strip()
        created = served.api("POST", "/integrations", token, {"kind": "quay", "url": f"http://{stack.host}",
                                                              "username": ROBOT.username, "token": ROBOT.secret})
        assert created.status_code == 201, created.text
        stack.front.random_faults(0.2, seed=11, stall_seconds=0.3)
        started = time.monotonic()
        reply = served.api("POST", "/imports", token, {"integration_id": created.json()["id"],
                                                       "images": [{"repository": "acme/fleet"}]})
        assert reply.status_code == 202, reply.text
        import_id = reply.json()["id"]

        with sqlite3.connect(data_dir / "quaywatch.db", timeout=30) as db:  # the queue delivers some twice
            bodies = [row[0] for row in db.execute("SELECT body FROM queue_messages WHERE queue = 'ImportQueue'")]
            twice = random.Random(3).sample(bodies, len(bodies) // 10)
            db.executemany("INSERT INTO queue_messages (queue, body, visible_at, created_at) "
                           "VALUES ('ImportQueue', ?, 0, 0)", [(body,) for body in twice])
        kills = 0
        for share in (3, 3 / 2):
            _wait(lambda share=share, served=served: _progress(served, token, import_id)["succeeded"] >= IMAGES / share)
            served.kill()
            kills += 1
            served = Served(data_dir, port, **options)
    except BaseException:
        served.kill()  # no server outlives a failed test
        raise
    try:
        done = _wait(lambda: (s := _progress(served, token, import_id))["status"] == "completed" and s)
        elapsed = time.monotonic() - started
        assert (done["total"], done["succeeded"], done["failed"]) == (IMAGES, IMAGES, 0)
        log = served.api("GET", f"/imports/{import_id}/log", token).json()["entries"]
        assert len(log) == IMAGES and all(e["status"] == "succeeded" for e in log)
        projects, cursor = [], ""
        while True:  # the projects come in pages, as a client follows them
            page = served.api("GET", f"/projects?repository=acme/fleet&limit=300&cursor={cursor}", token).json()
            projects += [p for g in page["repositories"] for p in g["projects"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(projects) == IMAGES and len({p["id"] for p in projects}) == IMAGES
        assert {p["id"] for p in projects} == {e["project_id"] for e in log}
        _wait(lambda: _queue(data_dir) == (0, 0), timeout=60)  # nothing in flight, nothing dead
    finally:
        injected = dict(stack.front.injected)
        stack.front.random_faults(0.0)
        assert served.stop() == 0
    print(f"{IMAGES} images, 20 % registry faults {injected}, {len(twice)} duplicate deliveries, "
          f"{kills} kills: {elapsed:.0f} s = {IMAGES / elapsed * 60:.0f} images/min", file=sys.stderr)


def _queue(data_dir) -> tuple[int, int]:
    with sqlite3.connect(data_dir / "quaywatch.db", timeout=30) as db:
        waiting = db.execute("SELECT COUNT(*) FROM queue_messages WHERE queue = 'ImportQueue'").fetchone()[0]
        dead = db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
    return waiting, dead
