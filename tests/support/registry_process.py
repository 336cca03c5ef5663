"""Runs Debian's ``docker-registry`` (distribution v2) on 127.0.0.1 with token auth."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.tokens import ISSUER, SERVICE, TokenServer

REGISTRY_BINARIES = ("docker-registry", "registry")


def find_registry_binary() -> str | None:
    for name in REGISTRY_BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RegistryProcess:
    """A real distribution registry whose tokens come from ``TokenServer``."""

    def __init__(self, workdir: Path, tokens: TokenServer) -> None:
        binary = find_registry_binary()
        if binary is None:
            raise RuntimeError("docker-registry is not installed: apt-get install docker-registry")
        self.port = free_port()
        self.storage = workdir / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        cert = tokens.write_certificate(workdir / "token-signer.pem")
        config = workdir / "config.yml"
        config.write_text(
            f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{self.port}
  secret: quaywatch-test-secret
auth:
  token:
    realm: {tokens.realm}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {cert}
"""
        )
        self._log = open(workdir / "registry.log", "wb")  # noqa: SIM115
        self._process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {self._process.returncode}")
            try:
                if httpx.get(f"{self.url}/v2/", timeout=1).status_code == 401:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start within 20 s")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._log.close()
