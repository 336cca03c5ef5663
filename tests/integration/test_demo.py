"""The README's first command: ``make demo`` runs this module; ``--exit`` stops after the
summary instead of serving until Ctrl-C."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.registry_process import free_port

pytestmark = [pytest.mark.registry, pytest.mark.slow]


def test_demo_imports_scans_and_summarises(registry_stack) -> None:  # the fixture: fail loudly without docker-registry
    result = subprocess.run([sys.executable, "-m", "tests.support.demo", "--exit", "--port", str(free_port())],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for image in ("acme/alpine:3.10", "acme/app:1.0", "acme/debian:bookworm", "acme/ubi:9"):
        assert image in result.stdout
    assert "console: http://127.0.0.1:" in result.stdout and "admin token" in result.stdout
    assert ("known exploited: acme/app:1.0 org.apache.logging.log4j:log4j-core 2.14.1 CVE-2021-44228 critical "
            "(rated by ghsa, in CISA KEV since 2021-12-10)") in result.stdout
    app_row = next(line for line in result.stdout.splitlines() if line.strip().startswith("acme/app:1.0"))
    cells = [cell.strip() for cell in app_row.split("│")]  # image, platform, all, crit, high, med, low, none
    assert int(cells[3]) > 0 and int(cells[4]) > 0  # CRIT and HIGH counts, no longer all "unknown"
    assert "quaywatch scan" in result.stdout and "--token-stdin" in result.stdout
    assert "export QUAYWATCH_SERVER=http://127.0.0.1:" in result.stdout and "QUAYWATCH_TOKEN=qw_" in result.stdout
    assert ("base-image advice: acme/web:2.0 is built on acme/alpine:3.10; acme/alpine:3.10.3 has "
            in result.stdout.replace("\n", " "))
