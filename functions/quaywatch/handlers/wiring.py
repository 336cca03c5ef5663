"""The services handlers use: installed by a composition root (``serve``, tests), else the
AWS one, built once per process (a Lambda container) on first use."""

from __future__ import annotations

from quaywatch.runtime.services import Services

_installed: Services | None = None


def install(services: Services | None) -> None:
    """Choose the services every handler of this process uses (None: back to the default)."""
    global _installed
    _installed = services


def services() -> Services:
    global _installed
    if _installed is None:
        from quaywatch.runtime.lambda_root import AwsServices

        _installed = AwsServices()
    return _installed
