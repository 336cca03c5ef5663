"""The CLI's warnings are readable lines; JSON logs only when QUAYWATCH_LOG_LEVEL asks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "advisories" / "bad"


def import_bad(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("QUAYWATCH_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL")}
    return subprocess.run(
        [sys.executable, "-m", "quaywatch.cli.main", "advisories", "import", str(BAD), "--db", str(tmp_path / "a.db")],
        capture_output=True, text=True, env={**clean, **env}, timeout=60)


def test_warnings_are_one_readable_line_per_feed(tmp_path: Path) -> None:
    result = import_bad(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    warnings = [line for line in lines if line.startswith("quaywatch: warning:")]
    assert all(line in warnings or line.startswith("  skipped ") for line in lines)  # the command's own list
    assert len(warnings) == 1 and "advisory records skipped" in warnings[0] and "skipped: 3" in warnings[0]
    assert "{" not in warnings[0]


def test_structured_logs_when_a_log_level_is_set(tmp_path: Path) -> None:
    result = import_bad(tmp_path, QUAYWATCH_LOG_LEVEL="WARNING")
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("{")]
    record = json.loads(line)
    assert record["message"] == "advisory records skipped" and record["skipped"] == 3


def test_plain_lines_leave_out_the_lambda_context() -> None:
    """serve runs the functions in process, with a Lambda context: at a terminal its keys
    (function name, ARN, request id, ...) are noise around the sentence."""
    import logging

    from quaywatch.observability import _PlainFormatter, logger

    logger.thread_safe_clear_keys()  # an API test run before on this thread leaves its request id
    record = logging.LogRecord("quaywatch", logging.WARNING, __file__, 1, "feed download failed", None, None)
    record.__dict__.update({"feed": "osv:PyPI", "cold_start": True, "function_name": "AdvisorySyncFunction",
                            "function_request_id": "d12b", "function_arn": "arn:aws:lambda:local:0:function:q"})
    assert _PlainFormatter().format(record) == "quaywatch: warning: feed download failed (feed: osv:PyPI)"
