"""Shared fixtures: a real docker-registry with Quay-like token auth, started once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.registry_process import find_registry_binary
from tests.support.stack import OTHER_ROBOT, ROBOT, RegistryStack, running_stack

__all__ = ["OTHER_ROBOT", "ROBOT"]


@pytest.fixture(scope="session")
def registry_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryStack]:
    if find_registry_binary() is None:  # never a silent skip: these tests are the registry protocol's proof
        pytest.fail("docker-registry is not installed: `make setup` (or apt-get install docker-registry) first")
    with running_stack(tmp_path_factory.mktemp("registry")) as stack:
        yield stack


@pytest.fixture
def stack(registry_stack: RegistryStack) -> Iterator[RegistryStack]:
    """The session registry with the front's faults and counters reset for this test."""
    registry_stack.front.reset()
    registry_stack.tokens.requests.clear()
    registry_stack.tokens.token_ttl = 3600
    yield registry_stack
    registry_stack.front.reset()


@pytest.fixture(autouse=True)
def fresh_registry_caches() -> Iterator[None]:
    """The process-wide token and config caches and rate limiters (registry/client.py,
    scanning/scanner.py, registry/ratelimit.py) emptied before each test: tests that count
    registry requests see only their own, and one test's 429s never slow the next."""
    from quaywatch.registry.client import forget_shared_tokens
    from quaywatch.registry.ratelimit import forget_limiters
    from quaywatch.scanning.scanner import forget_configs

    forget_shared_tokens()
    forget_configs()
    forget_limiters()
    yield
