"""A project is one image: (integration, repository, tag, platform). Its id is derived from
that identity, so re-importing or a redelivered message finds the same project."""

from __future__ import annotations

import hashlib


def project_id(integration_id: str, repository: str, tag: str, platform: str) -> str:
    key = "\n".join((integration_id, repository, tag, platform))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def image_name(repository: str, tag: str) -> str:
    return f"{repository}:{tag}"
