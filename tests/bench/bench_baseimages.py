"""Base image recommendation benchmark (run on demand: ``make bench-baseimages``). Prints,
never asserts.

A base repository of ``QUAYWATCH_BENCH_BASE_TAGS`` (default 50) tags (Alpine 3.10 trees whose
musl and openssl releases differ from tag to tag, each tag its own digest) and an application
image built on one of them are pushed to the local registry behind the Quay-like front; an
embedded server holds the integration, the base image sources and the real Alpine secdb.
Measured on the base-image service the workers call, each against a baseline measured in the
same run (one cold scan of the application image):
1. detection by layers over every tag, cold (manifests and configs read), warm (the diff IDs
   kept per digest; manifests still read, as a new worker would) and again within a few minutes
   in the same worker (the resolved tags reused: every further image of an import);
2. recommendation (the base and up to three candidates), cold (scans) and warm (scans cached
   per digest, matched again against the advisories).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx
from quaywatch.registry.reference import ImageReference
from quaywatch.runtime.embedded.server import EmbeddedServer
from quaywatch.scanning.scanner import ImageScanner

from tests.support import fixtures
from tests.support.registry_process import free_port
from tests.support.shared_data import ADVISORIES
from tests.support.stack import ROBOT, running_stack

TAGS = int(os.environ.get("QUAYWATCH_BENCH_BASE_TAGS", "50"))


def base_tags(count: int) -> dict[str, dict]:
    tags = {}
    for n in range(count):
        minor, patch = divmod(n, 10)
        musl = "1.1.22-r3" if n % 3 else "1.1.22-r2"
        openssl = "1.1.1d-r0" if n % 4 == 3 else "1.1.1c-r0"
        tags[f"3.{minor}.{patch}"] = fixtures.alpine_310_with(musl=musl, openssl=openssl, marker=f"3.{minor}.{patch}")
    return tags


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp) / "registry") as stack:
        tags = base_tags(TAGS)
        for tag, tree in tags.items():
            stack.pusher.push_image("acme/base", tag, [tree])
        stack.pusher.push_image("acme/app", "1", [tags["3.0.0"], fixtures.python_layer()])
        nvd = fixtures.FIXTURES / "advisories" / "enrichment" / "nvd"  # rates musl and openssl CVEs
        server = EmbeddedServer(Path(tmp) / "server", port=free_port(), advisories=[ADVISORIES / "alpine-secdb", nvd])
        started = server.start()
        try:
            api = httpx.Client(base_url=started.url, headers={"Authorization": f"Bearer {started.admin_token}"})
            integration = api.post("/integrations", json={"kind": "quay", "url": f"http://{stack.host}",
                                                          "username": ROBOT.username, "token": ROBOT.secret}).json()
            services = server.services
            sources = services.base_images.sources([{"integration_id": integration["id"], "repositories": ["acme/base"]}])
            record = services.integrations.by_id(integration["id"])

            with services.integrations.client_for(record) as client:
                begin = time.perf_counter()
                app = ImageScanner(client).scan(ImageReference(client.registry, "acme/app", "1"))
                baseline = time.perf_counter() - begin

            timings = {}
            for label in ("detect cold", "detect warm", "detect again"):
                if label == "detect warm":
                    services.base_images.forget_tags()  # as a new worker: only the digest-keyed caches
                begin = time.perf_counter()
                base = services.base_images.detect_by_layers(app.image.diff_ids, app.image.platform, sources,
                                                             app.image.digest)
                timings[label] = time.perf_counter() - begin
            assert base is not None and base[1].tag == "3.0.0", base
            source, base = base
            for label in ("recommend cold", "recommend warm"):
                begin = time.perf_counter()
                _, recommendations = services.base_images.recommend(source, base, app.image.platform)
                timings[label] = time.perf_counter() - begin
            print(f"base repository: {TAGS} tags; application image built on acme/base:{base.tag}")
            print(f"baseline (one cold scan of the application image): {baseline:.3f} s")
            for label, seconds in timings.items():
                print(f"{label:15s} {seconds:7.3f} s  ratio {seconds / baseline:6.2f}")
            print("recommended:", ", ".join(f"{r['kind']} {r['tag']} ({r['fewer']['critical'] + r['fewer']['high']} "
                                             "fewer critical/high)" for r in recommendations) or "none")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
