"""The advisory store for Lambda: one SQLite file published to S3, cached in ``/tmp``.

Why a file and not a DynamoDB table (measured in tests/bench/bench_advisories.py): matching
a 500-package image makes ~500 keyed look-ups plus the advisory metadata; on a local SQLite
file that is ~40 ms warm, while DynamoDB would need at least five BatchGetItem round trips
of 100 keys (plus follow-ups for unprocessed keys) and per-read cost on every re-test. The
price is the download on a cold start (the file of a 200,000-record corpus is ~175 MB), paid
once per Lambda container and skipped whenever the object's ETag is unchanged.

The advisory-sync function imports feeds into a local copy and ``publish``es it; every
other function ``open``s the cached copy read-only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from quaywatch.advisories.store import SqliteAdvisoryStore, StoreError
from quaywatch.observability import logger


class S3StoreCache:
    """Keeps ``local_dir/advisories.db`` equal to ``s3://bucket/key``, by ETag."""

    def __init__(self, s3: Any, bucket: str, key: str, local_dir: Path | str = "/tmp/quaywatch") -> None:
        self._s3 = s3
        self.bucket = bucket
        self.key = key
        self.local_dir = Path(local_dir)
        self.path = self.local_dir / "advisories.db"
        self._etag_path = self.local_dir / "advisories.db.etag"

    def refresh(self) -> bool:
        """Download the published store if it changed; True when a new copy was fetched.
        With nothing published yet the local copy (possibly none) stays."""
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                logger.warning("no advisory store published yet", extra={"bucket": self.bucket, "key": self.key})
                return False
            raise StoreError(f"cannot reach the advisory store s3://{self.bucket}/{self.key}: {exc}") from None
        except BotoCoreError as exc:
            raise StoreError(f"cannot reach the advisory store s3://{self.bucket}/{self.key}: {exc}") from None
        etag = head["ETag"]
        if self.path.exists() and self._etag_path.exists() and self._etag_path.read_text() == etag:
            return False
        self.local_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.local_dir, prefix=".advisories-", suffix=".db")
        os.close(fd)
        try:
            # IfMatch: the object we checked, not one replaced since (else a 412, retried next time)
            body = self._s3.get_object(Bucket=self.bucket, Key=self.key, IfMatch=etag)["Body"]
            with open(temporary, "wb") as out:
                shutil.copyfileobj(body, out, 1 << 20)
            os.replace(temporary, self.path)  # atomic: readers never see half a file
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"cannot download the advisory store: {exc}") from None
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        self._etag_path.write_text(etag)
        logger.info("advisory store downloaded", extra={"etag": etag, "bytes": self.path.stat().st_size})
        return True

    def open(self) -> SqliteAdvisoryStore:
        """The current store (refreshed first); an empty store if none was published."""
        self.refresh()
        return SqliteAdvisoryStore(self.path)

    def publish(self, local_store: Path) -> str:
        """Upload a closed (checkpointed) store file; returns the new ETag."""
        self._s3.upload_file(str(local_store), self.bucket, self.key)
        return self._s3.head_object(Bucket=self.bucket, Key=self.key)["ETag"]
