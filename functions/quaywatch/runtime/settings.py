"""Settings, read from the environment template.yaml gives each function. Each reader takes
only the variables it needs: a function that never touches a table never asks for its name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from quaywatch.advisories.feed_settings import FeedSettings
from quaywatch.errors import QuaywatchError

__all__ = ["ConfigurationError", "FeedSettings", "RuntimeSettings", "required"]


class ConfigurationError(QuaywatchError):
    """A variable the template should set is missing: a deployment or test-harness bug."""


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set (see template.yaml)")
    return value


@dataclass(frozen=True)
class RuntimeSettings:
    """What the use cases need whatever the runtime (Lambda, ``serve``, tests)."""

    allow_private_registries: bool = False
    work_dir: Path = Path("/tmp/quaywatch")
    max_receives: int = 5  # = the queues' maxReceiveCount: the last try records the failure
    fast_registry_retry: bool = False  # loopback registries in tests: short waits
    advisory_key: str = "advisories/advisories.db"
    public_url: str | None = None  # the API's base URL for the webhook URLs we hand out (and mails' links)
    console_url: str | None = None  # the web console's base URL, for links in mails (serve: its own)
    mail_from: str | None = None  # the From address of mails (deployed: a verified SES identity)
    sync_max_images: int = 10_000  # images a registry sync imports in one run (beyond: ``capped``)

    @classmethod
    def from_environment(cls) -> RuntimeSettings:
        return cls(
            allow_private_registries=os.environ.get("QUAYWATCH_ALLOW_PRIVATE_REGISTRIES", "false") == "true",
            work_dir=Path(os.environ.get("QUAYWATCH_WORK_DIR", "/tmp/quaywatch")),
            max_receives=int(os.environ.get("QUAYWATCH_MAX_RECEIVES", "5")),
            fast_registry_retry=os.environ.get("QUAYWATCH_REGISTRY_RETRY") == "fast",
            advisory_key=os.environ.get("QUAYWATCH_ADVISORY_KEY", "advisories/advisories.db"),
            public_url=os.environ.get("QUAYWATCH_PUBLIC_URL") or None,
            console_url=os.environ.get("QUAYWATCH_CONSOLE_URL") or None,
            mail_from=os.environ.get("QUAYWATCH_MAIL_FROM") or None,
            sync_max_images=int(os.environ.get("QUAYWATCH_SYNC_MAX_IMAGES", "10000")),
        )
