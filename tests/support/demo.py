"""``make demo``: the scanning engine and vulnerability matching end to end on this machine.

Starts a real docker-registry with Quay-like robot-token auth on 127.0.0.1, pushes sample
images built from the fixture trees (Debian, Alpine 3.19 and 3.10, UBI, and an application
image with Python, npm, Java and Go content), loads the real advisory feeds (PyPA OSV, Alpine
secdb) and the hand-written Debian/Ubuntu/RHEL records into a local advisory store with
``quaywatch advisories import``, then runs ``quaywatch scan`` on each image, as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import fixtures
from tests.support.images import executable
from tests.support.registry_process import find_registry_binary
from tests.support.shared_data import ADVISORIES
from tests.support.stack import ROBOT, running_stack

FEEDS = [
    ADVISORIES / "alpine-secdb",
    ADVISORIES / "pypa-osv" / "vulns",
    fixtures.FIXTURES / "advisories" / "debian-osv",
    fixtures.FIXTURES / "advisories" / "debian-tracker",
    fixtures.FIXTURES / "advisories" / "rhel-osv",
]


def main() -> int:
    if find_registry_binary() is None:
        print("docker-registry is missing: sudo apt-get install docker-registry", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="quaywatch-demo-") as tmp, running_stack(Path(tmp)) as stack:
        app = [fixtures.debian_base(), fixtures.python_layer(), fixtures.npm_layer(), fixtures.java_layer()]
        binary = fixtures.go_binary()
        if binary is not None:
            app.append({"usr/local/bin/hello": executable(binary)})
        images = {
            "acme/debian:bookworm": [fixtures.debian_base()],
            "acme/alpine:3.19": [fixtures.alpine_base()],
            "acme/alpine:3.10": [fixtures.alpine_310_base()],
            "acme/ubi:9": [fixtures.ubi_base()],
            "acme/app:1.0": app,
        }
        for ref, layers in images.items():
            repository, tag = ref.split(":")
            stack.pusher.push_image(repository, tag, layers)
        env = {
            **os.environ,
            "QUAYWATCH_REGISTRY_USERNAME": ROBOT.username,
            "QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret,
            "QUAYWATCH_CACHE_DIR": str(Path(tmp) / "cache"),
            "QUAYWATCH_ADVISORY_DB": str(Path(tmp) / "advisories.db"),
        }
        print(f"Local registry with Quay-style robot auth at {stack.host}; robot {ROBOT.username}\n")
        for command in (["quaywatch", "advisories", "import", *map(str, FEEDS)], ["quaywatch", "advisories", "status"]):
            print("$ " + " ".join(command), flush=True)
            result = subprocess.run(command, env=env, stderr=subprocess.DEVNULL)
            if result.returncode != 0:
                return result.returncode
            print()
        for ref in images:
            command = ["quaywatch", "scan", f"{stack.host}/{ref}", "--plain-http"]
            print("$ " + " ".join(command), flush=True)
            result = subprocess.run(command, env=env)
            if result.returncode != 0:
                return result.returncode
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
