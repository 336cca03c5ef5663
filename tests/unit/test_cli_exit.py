"""How the ``quaywatch`` process leaves: the status ``sys.exit`` would give, and the atexit
hooks and stdout that the fast exit (no interpreter teardown) must not lose."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from quaywatch.cli.main import _exit_status


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), (130, 130), ("boom", 1)])
def test_exit_status_is_what_sys_exit_would_give(code: object, status: int, capsys) -> None:
    assert _exit_status(code) == status
    assert capsys.readouterr().err == ("boom\n" if code == "boom" else "")


def test_fast_exit_runs_atexit_hooks_and_flushes_buffered_output(tmp_path) -> None:
    marker = tmp_path / "hook-ran"
    script = textwrap.dedent(f"""
        import atexit, pathlib, sys
        import quaywatch.cli.main as entry
        atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text("yes"))
        @entry.cli.command("emit")
        def emit():
            sys.stdout.write("x" * 200_000)  # buffered: lost unless flushed before os._exit
            sys.exit(3)
        sys.argv = ["quaywatch", "emit"]
        entry.main()
        print("not reached")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout == "x" * 200_000
    assert marker.read_text() == "yes"
