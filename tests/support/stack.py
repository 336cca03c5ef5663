"""Starts the whole local registry stack (token server, docker-registry, Quay-like front)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from quaywatch.registry.client import Credentials, RegistryClient
from quaywatch.registry.retry import RetryPolicy

from tests.support.images import ImagePusher
from tests.support.quay_front import QuayFront
from tests.support.registry_process import RegistryProcess
from tests.support.tokens import Account, SigningKey, TokenServer

ROBOT = Credentials("acme+scanner", "robot-token-0123456789")
OTHER_ROBOT = Credentials("other+robot", "other-token-9876543210")


@dataclass
class RegistryStack:
    """The registry under test, its Quay-like token server and front, and a pusher."""

    registry: RegistryProcess
    tokens: TokenServer
    front: QuayFront
    pusher: ImagePusher

    @property
    def host(self) -> str:
        """Where clients connect: the Quay-like front."""
        return self.front.host

    def client(self, credentials: Credentials | None = ROBOT, **kwargs: object) -> RegistryClient:
        kwargs.setdefault("retry", RetryPolicy.fast())
        return RegistryClient(self.host, credentials, plain_http=True, **kwargs)  # type: ignore[arg-type]


@contextmanager
def running_stack(workdir: Path, realm_host: str = "127.0.0.1", port: int = 0) -> Iterator[RegistryStack]:
    """``port``: where the Quay-like front listens (0: any free port)."""
    tokens = TokenServer(SigningKey.generate(), public_repositories={"public/base"}).start()
    tokens.realm_host = realm_host
    tokens.accounts[ROBOT.username] = Account(ROBOT.secret, {"acme/*": ["pull"]})
    tokens.accounts[OTHER_ROBOT.username] = Account(OTHER_ROBOT.secret, {"other/*": ["pull"]})
    tokens.accounts["admin"] = Account("admin-password", {"*": ["*"]})
    registry = RegistryProcess(workdir, tokens)
    front = QuayFront(registry.url, tokens, port).start()
    pusher = ImagePusher(registry.url, tokens)
    try:
        yield RegistryStack(registry, tokens, front, pusher)
    finally:
        pusher.close()
        front.stop()
        registry.stop()
        tokens.stop()
