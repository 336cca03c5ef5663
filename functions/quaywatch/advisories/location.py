"""Where the local advisory store lives, without loading the store (and its pydantic models):
``quaywatch scan`` asks this on every run to learn whether there is anything to match."""

from __future__ import annotations

import os
from pathlib import Path

ENV_STORE = "QUAYWATCH_ADVISORY_DB"


def default_store_path() -> Path:
    """``$QUAYWATCH_ADVISORY_DB``, else ``$XDG_DATA_HOME/quaywatch/advisories.db``."""
    if os.environ.get(ENV_STORE):
        return Path(os.environ[ENV_STORE])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "quaywatch" / "advisories.db"
