"""Settings of the deployed functions, read from the environment template.yaml gives them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from quaywatch.errors import QuaywatchError


class ConfigurationError(QuaywatchError):
    """A variable the template should set is missing: a deployment or test-harness bug."""


@dataclass(frozen=True)
class Settings:
    access_table: str
    integrations_table: str
    projects_table: str
    imports_table: str
    findings_table: str
    import_queue_url: str
    retest_queue_url: str
    event_bus: str
    notification_topic: str
    advisory_bucket: str
    advisory_key: str
    secret_prefix: str
    allow_private_registries: bool
    work_dir: str

    @classmethod
    def from_environment(cls) -> Settings:
        def required(name: str) -> str:
            value = os.environ.get(name)
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set (see template.yaml)")
            return value

        return cls(
            access_table=required("QUAYWATCH_ACCESS_TABLE"),
            integrations_table=required("QUAYWATCH_INTEGRATIONS_TABLE"),
            projects_table=required("QUAYWATCH_PROJECTS_TABLE"),
            imports_table=required("QUAYWATCH_IMPORTS_TABLE"),
            findings_table=required("QUAYWATCH_FINDINGS_TABLE"),
            import_queue_url=required("QUAYWATCH_IMPORT_QUEUE_URL"),
            retest_queue_url=required("QUAYWATCH_RETEST_QUEUE_URL"),
            event_bus=required("QUAYWATCH_EVENT_BUS"),
            notification_topic=required("QUAYWATCH_NOTIFICATION_TOPIC"),
            advisory_bucket=required("QUAYWATCH_ADVISORY_BUCKET"),
            advisory_key=os.environ.get("QUAYWATCH_ADVISORY_KEY", "advisories/advisories.db"),
            secret_prefix=os.environ.get("QUAYWATCH_SECRET_PREFIX", "quaywatch/integrations/"),
            allow_private_registries=os.environ.get("QUAYWATCH_ALLOW_PRIVATE_REGISTRIES", "false") == "true",
            work_dir=os.environ.get("QUAYWATCH_WORK_DIR", "/tmp/quaywatch"),
        )
