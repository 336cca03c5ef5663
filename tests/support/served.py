"""``quaywatch serve`` in a subprocess, as users run it, plus the CLI pointed at it."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.shared_data import ADVISORIES


class Served:
    def __init__(self, data_dir: Path, port: int, extra: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 open_files: int | None = None) -> None:
        """``open_files``: the process's limit of open files (RLIMIT_NOFILE), as a small server has."""
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("QUAYWATCH_", "AWS_"))}
        environment["QUAYWATCH_LOG_LEVEL"] = "WARNING"
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "quaywatch.cli.main", "serve", "--port", str(port), "--data-dir", str(data_dir),
             "--advisories", str(ADVISORIES / "alpine-secdb"), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
        if open_files:  # from outside, at once: it holds a handful of files while it imports
            resource.prlimit(self.process.pid, resource.RLIMIT_NOFILE, (open_files, open_files))
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while not any("quaywatch is serving on" in line for line in self.output):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("serve did not start: " + "".join(self.output))
            time.sleep(0.05)
        time.sleep(0.3)  # the data-directory and token lines follow at once

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a power cut would: no clean-up runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=5)

    def api(self, method: str, path: str, token: str, body: object = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", json=body, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=5)
        return code

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("QUAYWATCH_", "AWS_"))}
        environment.update(env or {})
        return subprocess.run([sys.executable, "-m", "quaywatch.cli.main", *args, "--server", self.url,
                               "--data-dir", str(self.data_dir)], capture_output=True, text=True, env=environment,
                              timeout=180)
