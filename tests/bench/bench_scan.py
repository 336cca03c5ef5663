"""Scanning benchmark (run on demand: ``make bench``). Prints ratios, never asserts times.

Builds a large synthetic image (>= 300 MB uncompressed, >= 20,000 files, 5 layers) with
realistic package databases, serves it from the local docker-registry with token auth, and
measures in the same run:

1. quaywatch scan time / time to merely download and decompress the same layers (target <= 1.3)
2. quaywatch / Trivy and quaywatch / syft on the same registry image, cold caches (targets
   <= 0.8 and <= 0.25), when those tools are installed (``pip install -e '.[bench]'``)
3. peak RSS of ``quaywatch scan`` on a small and on the large image (target < 150 MB, flat)
4. a second image sharing the base layers / the first scan (target <= 0.2)
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from quaywatch.image.allocator import tune_for_layer_streaming
from quaywatch.image.cache import DiskLayerCache, NullLayerCache
from quaywatch.image.decompress import StreamStats, decompressed_chunks
from quaywatch.image.limits import ScanLimits
from quaywatch.registry.reference import ImageReference
from quaywatch.scanning.scanner import ImageScanner

from tests.support import fixtures
from tests.support.stack import ROBOT, running_stack

MiB = 1 << 20
WORDS = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ".split()


def blob(rng: random.Random, size: int) -> bytes:
    """Half random, half text: compresses about 2:1 like real binaries and libraries."""
    half = size // 2
    text = b" ".join(rng.choice(WORDS) for _ in range(half // 6 + 1))[: size - half]
    return rng.randbytes(half) + text


def tar_of(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in entries:
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def dpkg_status(count: int) -> str:
    return "\n".join(
        f"Package: lib{n}\nStatus: install ok installed\nArchitecture: amd64\nSource: src{n // 3}\n"
        f"Version: 1.{n}-1+deb12u1\nDescription: synthetic package {n}\n" for n in range(count)
    )


def build_layers(rng: random.Random) -> list[bytes]:
    base = [("usr/lib/os-release", fixtures.DEBIAN_OS_RELEASE.encode()), ("var/lib/dpkg/status", dpkg_status(400).encode())]
    base += [(f"usr/lib/x86_64-linux-gnu/lib{n}.so.1", blob(rng, 9_000 + rng.randrange(12_000))) for n in range(7_000)]
    base += [(f"usr/share/doc/pkg{n}/copyright", blob(rng, 2_000)) for n in range(2_600)]
    python = []
    for n in range(400):
        site = "usr/local/lib/python3.11/site-packages"
        python.append((f"{site}/pkg{n}-1.{n}.0.dist-info/METADATA", f"Metadata-Version: 2.1\nName: pkg{n}\nVersion: 1.{n}.0\n".encode()))
        python += [(f"{site}/pkg{n}/mod{m}.py", blob(rng, 6_000)) for m in range(10)]
    node = []
    for n in range(1_500):
        root = f"app/node_modules/mod{n}"
        node.append((f"{root}/package.json", json.dumps({"name": f"mod{n}", "version": f"2.{n}.0"}).encode()))
        node += [(f"{root}/lib/file{m}.js", blob(rng, 3_000)) for m in range(3)]
    jars = [(f"opt/app/lib/dep{n}-1.0.{n}.jar", fixtures.jar({
        f"META-INF/maven/org.example/dep{n}/pom.properties": f"groupId=org.example\nartifactId=dep{n}\nversion=1.0.{n}\n",
        "payload.bin": blob(rng, 200_000)})) for n in range(60)]
    bulk = [(f"opt/data/chunk{n}.bin", blob(rng, 4 * MiB)) for n in range(36)]
    return [tar_of(layer) for layer in (base, python, node, jars, bulk)]


def without_jars(rng: random.Random) -> bytes:
    """A stand-in for the jar layer of the same size: Trivy cannot scan jars offline on a first
    run (it insists on downloading its Java DB), so the peer comparison uses this variant."""
    return tar_of([(f"opt/app/lib/dep{n}.dat", blob(rng, 200_000)) for n in range(60)])


def download_and_decompress(stack_client, repository: str, layers) -> float:
    started = time.perf_counter()

    def one(descriptor):
        with stack_client.open_blob(repository, descriptor.digest) as chunks:
            for _ in decompressed_chunks(chunks, ScanLimits(), descriptor.digest, StreamStats()):
                pass

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, layers))
    return time.perf_counter() - started


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (MB, sampled every 10 ms) and exit status of a child process."""
    import psutil

    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            print(f"  {command[0]} failed: {errors.read().decode(errors='replace')[-600:]}")
    return elapsed, peak // MiB, process.returncode


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def timed_runs(commands: list[list[str]], env: dict[str, str]) -> tuple[float, int, int]:
    """Median wall seconds, highest peak RSS and last exit status of cold runs, one per command
    (single runs of the peers swung by 25 % on this 2-core machine)."""
    results = [timed_process(command, env) for command in commands]
    return median([r[0] for r in results]), max(r[1] for r in results), results[-1][2]


RUNS = 3
PAIRS = 7
PEER_ROUNDS = 5


def main() -> None:
    tune_for_layer_streaming()  # as the CLI and the scanning workers run: both sides get it
    rng = random.Random(42)
    print("building the benchmark image ...", flush=True)
    tars = build_layers(rng)
    total = sum(len(t) for t in tars)
    files = sum(len(tarfile.open(fileobj=io.BytesIO(t)).getmembers()) for t in tars)  # noqa: SIM115 - in memory
    with tempfile.TemporaryDirectory(prefix="quaywatch-bench-") as tmp, running_stack(Path(tmp), realm_host="localhost") as stack:
        host = stack.registry.host  # the real registry, token auth, no Python front in the path
        stack.pusher.push_image("acme/big", "1", tars)
        stack.pusher.push_image("acme/big", "2", tars[:4] + [tar_of([("opt/data/other.bin", blob(rng, 8 * MiB))])])
        stack.pusher.push_image("acme/small", "1", [fixtures.alpine_base()])
        stack.pusher.push_image("acme/big-nojava", "1", tars[:3] + [without_jars(rng)] + tars[4:])
        print(f"image: {total / MiB:.0f} MB uncompressed, {files} files, {len(tars)} layers\n")
        ref = ImageReference.parse(f"{host}/acme/big:1")
        with stack.client() as client:
            client.base_url = f"http://{host}"
            manifest = ImageScanner(client).resolve(ref).manifest
            # Baseline and scan alternate, and the ratio is the median of each pair's ratio:
            # this machine's speed drifts by 20-30 % within a minute, which two separate
            # blocks of runs would read as a change of ratio.
            baselines, scans = [], []
            for _ in range(PAIRS):
                baselines.append(download_and_decompress(client, "acme/big", manifest.layers))
                started = time.perf_counter()
                inventory = ImageScanner(client, cache=NullLayerCache()).scan(ref)
                scans.append(time.perf_counter() - started)
            baseline, scan_time = median(baselines), median(scans)
            scan_ratio = median([s / b for s, b in zip(scans, baselines, strict=True)])
            cache_dir = Path(tmp) / "layers"
            scanner = ImageScanner(client, cache=DiskLayerCache(cache_dir))
            started = time.perf_counter()
            scanner.scan(ref)
            first = time.perf_counter() - started
            started = time.perf_counter()
            scanner.scan(ImageReference.parse(f"{host}/acme/big:2"))
            second = time.perf_counter() - started
        print(f"packages found: {len(inventory.packages)}")
        print(f"download+decompress baseline: {baseline:.2f} s; quaywatch scan (in process): {scan_time:.2f} s "
              f"(medians of {PAIRS} alternating pairs)")
        pair_ratios = ", ".join(f"{s / b:.2f}" for s, b in sorted(zip(scans, baselines, strict=True), key=lambda p: p[0] / p[1]))
        print(f"  ratio scan / download+decompress = {scan_ratio:.2f}  (target <= 1.3; pairs: {pair_ratios})")
        print(f"shared base layers: first {first:.2f} s, second image {second:.2f} s")
        print(f"  ratio second / first = {second / first:.2f}  (target <= 0.2)\n")

        env = {**os.environ, "QUAYWATCH_REGISTRY_USERNAME": ROBOT.username, "QUAYWATCH_REGISTRY_TOKEN": ROBOT.secret,
               "TRIVY_USERNAME": ROBOT.username, "TRIVY_PASSWORD": ROBOT.secret,
               "SYFT_REGISTRY_AUTH_USERNAME": ROBOT.username, "SYFT_REGISTRY_AUTH_PASSWORD": ROBOT.secret,
               "SYFT_REGISTRY_AUTH_AUTHORITY": host, "SYFT_REGISTRY_INSECURE_USE_HTTP": "true",
               "SYFT_CHECK_FOR_APP_UPDATE": "false"}
        quaywatch = [sys.executable, "-m", "quaywatch.cli.main", "scan", "--plain-http", "--no-cache", "--format", "cyclonedx"]
        ours, rss_big, code = timed_runs([[*quaywatch, f"{host}/acme/big:1"]] * RUNS, env)
        _, rss_small, _ = timed_runs([[*quaywatch, f"{host}/acme/small:1"]] * RUNS, env)
        print(f"quaywatch scan (process, cold, median of {RUNS}): {ours:.2f} s, exit {code}")
        print(f"peak RSS: small image {rss_small} MB, large image {rss_big} MB  (target < 150 MB, flat)\n")
        trivy, syft = shutil.which("trivy"), shutil.which("syft")
        if trivy:
            def trivy_run(n: int) -> list[str]:  # a fresh cache directory each time: cold, like ours
                return [trivy, "image", "--image-src", "remote", "--scanners", "", "--format", "cyclonedx", "--offline-scan",
                        "--skip-db-update", "--skip-java-db-update", "--insecure",
                        "--cache-dir", str(Path(tmp) / f"trivy-cache-{n}"), f"{host}/acme/big-nojava:1"]
            compare("trivy (image without jars)", [*quaywatch, f"{host}/acme/big-nojava:1"], trivy_run, 0.8, env)
        if syft:
            compare("syft", [*quaywatch, f"{host}/acme/big:1"],
                    lambda _: [syft, "scan", f"registry:{host}/acme/big:1", "-o", "cyclonedx-json", "-q"], 0.25, env)
        if not (trivy or syft):
            print("Trivy and syft are not installed: pip install -e '.[bench]' to compare")


def compare(name: str, ours: list[str], peer: Callable[[int], list[str]], target: float, env: dict[str, str]) -> None:
    """quaywatch and a peer run by turns on the same image, cold; the ratio is the median of
    each round's ratio, so that the machine's drift between rounds cancels out."""
    rounds = [(timed_process(ours, env), timed_process(peer(n), env)) for n in range(PEER_ROUNDS)]
    mine, theirs = [r[0] for r in rounds], [r[1] for r in rounds]
    failed = [r[2] for r in mine + theirs if r[2] != 0]
    note = f"  (exit {failed[0]}: comparison not valid)" if failed else ""
    print(f"{name}: {median([t[0] for t in theirs]):.2f} s, peak RSS {max(t[1] for t in theirs)} MB; "
          f"quaywatch {median([m[0] for m in mine]):.2f} s (medians of {PEER_ROUNDS} rounds){note}")
    ratios = [m[0] / t[0] for m, t in rounds]
    listed = ", ".join(f"{r:.2f}" for r in sorted(ratios))
    print(f"  ratio quaywatch / {name} = {median(ratios):.2f}  (target <= {target}; rounds: {listed})")


if __name__ == "__main__":
    main()
