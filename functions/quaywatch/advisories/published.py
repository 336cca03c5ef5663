"""The advisory store the workers match against: one SQLite file published to the object
store (S3 when deployed, the data directory under ``serve``) and cached locally by version.

Why a file and not a table (measured in tests/bench/bench_advisories.py): matching a
500-package image makes ~500 keyed look-ups plus the advisory metadata; on a local SQLite
file that is ~40 ms warm, while DynamoDB would need at least five BatchGetItem round trips
of 100 keys and per-read cost on every re-test. The price is the download on a cold start
(the file of a 200,000-record corpus is ~175 MB), paid once per Lambda container and skipped
whenever the object's version (ETag) is unchanged.

The advisory sync imports feeds into a local copy and ``publish``es it; every other function
``open``s the cached copy read-only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from quaywatch.advisories.store import SqliteAdvisoryStore, StoreError
from quaywatch.observability import logger
from quaywatch.ports import ObjectChanged, ObjectStore, StorageUnavailable


class PublishedAdvisoryStore:
    """Keeps ``local_dir/advisories.db`` equal to the published object, by version."""

    def __init__(self, objects: ObjectStore, key: str, local_dir: Path | str = "/tmp/quaywatch") -> None:
        self._objects = objects
        self.key = key
        self.local_dir = Path(local_dir)
        self.path = self.local_dir / "advisories.db"
        self._version_path = self.local_dir / "advisories.db.etag"

    def refresh(self, expect_published: bool = True) -> bool:
        """Fetch the published store if it changed; True when a new copy was fetched.
        With nothing published yet the local copy (possibly none) stays; readers are warned,
        writers about to publish the first store (``expect_published=False``) are not."""
        try:
            version = self._objects.head(self.key)
        except StorageUnavailable as exc:
            raise StoreError(f"cannot reach the advisory store {self.key}: {exc}") from None
        if version is None:
            if expect_published:
                logger.warning("no advisory store published yet", extra={"key": self.key})
            return False
        if self.path.exists() and self._version_path.exists() and self._version_path.read_text() == version:
            return False
        self.local_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.local_dir, prefix=".advisories-", suffix=".db")
        os.close(fd)
        try:
            # the version we looked at, not one replaced since (else ObjectChanged: next time)
            self._objects.download(self.key, Path(temporary), version)
            os.replace(temporary, self.path)  # atomic: readers never see half a file
        except (ObjectChanged, StorageUnavailable) as exc:
            raise StoreError(f"cannot download the advisory store: {exc}") from None
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        self._version_path.write_text(version)
        logger.info("advisory store downloaded", extra={"version": version, "bytes": self.path.stat().st_size})
        return True

    def open(self) -> SqliteAdvisoryStore:
        """The current store (refreshed first); an empty store if none was published."""
        self.refresh()
        return SqliteAdvisoryStore(self.path)

    def publish(self, local_store: Path) -> str:
        """Upload a closed (checkpointed) store file; returns the new version."""
        return self._objects.put_file(self.key, local_store)
