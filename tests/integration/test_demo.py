"""The README's first command: ``make demo`` runs this module; ``--exit`` stops after the
summary instead of serving until Ctrl-C."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.registry_process import free_port

pytestmark = [pytest.mark.registry, pytest.mark.slow]


def _demo(data_dir) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tests.support.demo", "--exit", "--port", str(free_port()),
                             "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_demo_imports_scans_and_summarises(registry_stack, tmp_path) -> None:  # the fixture: fail loudly without docker-registry
    result = _demo(tmp_path / "demo")
    assert f"demo data directory: {tmp_path / 'demo'} (kept for the next run)" in result.stdout
    for image in ("acme/alpine:3.10", "acme/app:1.0", "acme/debian:bookworm", "acme/ubi:9"):
        assert image in result.stdout
    assert "console: http://127.0.0.1:" in result.stdout and "admin token" in result.stdout
    assert ("known exploited: acme/app:1.0 org.apache.logging.log4j:log4j-core 2.14.1 CVE-2021-44228 critical "
            "(rated by ghsa, in CISA KEV since 2021-12-10)") in result.stdout
    app_row = next(line for line in result.stdout.splitlines() if line.strip().startswith("acme/app:1.0"))
    cells = [cell.strip() for cell in app_row.split("│")]  # image, platform, all, crit, high, med, low, none
    assert int(cells[3]) > 0 and int(cells[4]) > 0  # CRIT and HIGH counts, no longer all "unknown"
    assert int(cells[-2]) <= int(cells[2]) // 3  # most findings rated (GitHub's Django advisories among the feeds)
    assert "quaywatch scan" in result.stdout and "--token-stdin" in result.stdout
    assert "export QUAYWATCH_SERVER=http://127.0.0.1:" in result.stdout and "QUAYWATCH_TOKEN=qw_" in result.stdout
    assert ("base-image advice: acme/web:2.0 is built on acme/alpine:3.10; acme/alpine:3.10.3 has "
            in result.stdout.replace("\n", " "))
    assert "mail to you@demo.localhost: [quaywatch] 26 new issues in acme/web:2.0" in result.stdout
    assert "mail to you@demo.localhost: [quaywatch] Weekly digest for default:" in result.stdout
    assert len(list((tmp_path / "demo" / "mail").glob("*.eml"))) == 2

    again = _demo(tmp_path / "demo")  # the same data directory: the same token, registry and projects
    assert "(reused: projects and settings from the last run)" in again.stdout
    token = next(line for line in result.stdout.splitlines() if "QUAYWATCH_TOKEN=" in line).split("QUAYWATCH_TOKEN=")[1]
    assert f"QUAYWATCH_TOKEN={token}" in again.stdout
    assert "acme/app:1.0" in again.stdout and "Weekly digest" in again.stdout
