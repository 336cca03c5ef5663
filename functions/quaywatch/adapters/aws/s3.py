"""ObjectStore on S3: the ETag is the version; downloads are conditional on it (IfMatch)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from quaywatch.ports import ObjectChanged, StorageUnavailable

_MISSING = ("404", "NoSuchKey", "NotFound")


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def put_file(self, key: str, source: Path) -> str:
        self._s3.upload_file(str(source), self.bucket, key)
        return self._s3.head_object(Bucket=self.bucket, Key=key)["ETag"]

    def head(self, key: str) -> str | None:
        try:
            return self._s3.head_object(Bucket=self.bucket, Key=key)["ETag"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StorageUnavailable(f"cannot reach s3://{self.bucket}/{key}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(f"cannot reach s3://{self.bucket}/{key}: {exc}") from None

    def download(self, key: str, target: Path, version: str) -> None:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key, IfMatch=version)["Body"]
            with open(target, "wb") as out:
                shutil.copyfileobj(body, out, 1 << 20)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", *_MISSING):
                raise ObjectChanged(f"s3://{self.bucket}/{key} changed while reading it") from None
            raise StorageUnavailable(f"cannot download s3://{self.bucket}/{key}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(f"cannot download s3://{self.bucket}/{key}: {exc}") from None

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StorageUnavailable(f"cannot read s3://{self.bucket}/{key}: {exc}") from None

    def put_bytes(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data)
