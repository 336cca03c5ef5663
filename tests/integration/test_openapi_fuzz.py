"""schemathesis against the OpenAPI document of a running ``serve`` (a bounded number of
generated requests per operation, seeded): no request may get a server error."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from quaywatch.runtime.embedded.server import EmbeddedServer

from tests.support.registry_process import free_port

pytestmark = pytest.mark.slow


def test_generated_requests_never_get_a_server_error(tmp_path) -> None:
    # schemathesis through the interpreter running the tests: a virtual environment's python
    # need not be on PATH, and its console script then is not either
    assert importlib.util.find_spec("schemathesis"), "schemathesis is a test extra: pip install -e '.[test]'"
    server = EmbeddedServer(tmp_path / "data", port=free_port())
    server.start()
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", "10",
             "--seed", "20261202", "--phases", "coverage,fuzzing", "--header", f"Authorization: Bearer {token}",
             "--request-timeout", "20"],
            capture_output=True, text=True, timeout=600)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]  # a server error fails the run
    assert "generated" in result.stdout and "passed" in result.stdout
