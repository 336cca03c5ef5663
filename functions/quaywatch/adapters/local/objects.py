"""ObjectStore as files under a directory. Writes go to a temporary file, are fsynced and
renamed into place, so a reader never sees half an object; the version is the file's
identity (inode, size, modification time), which every replacement changes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from quaywatch.ports import ObjectChanged


class FileObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"object key {key!r} leaves the store")
        return path

    def put_file(self, key: str, source: Path) -> str:
        with open(source, "rb") as handle:
            self._write(key, lambda out: shutil.copyfileobj(handle, out, 1 << 20))
        return self._version(self._path(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def head(self, key: str) -> str | None:
        path = self._path(key)
        return self._version(path) if path.exists() else None

    def download(self, key: str, target: Path, version: str) -> None:
        path = self._path(key)
        try:
            with open(path, "rb") as source:
                if self._version_of(os.fstat(source.fileno())) != version:
                    raise ObjectChanged(f"{key} changed while reading it")
                with open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
        except FileNotFoundError:
            raise ObjectChanged(f"{key} was removed while reading it") from None

    def get_bytes(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None

    def prune(self, prefix: str, older_than: float) -> int:
        """Remove the objects under ``prefix`` last written before ``older_than`` (a Unix time),
        as the bucket's lifecycle rule does when deployed; returns how many."""
        root = self._path(prefix.rstrip("/"))  # validated like any key: never outside the store
        removed = 0
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and path.stat().st_mtime < older_than:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _write(self, key: str, fill) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    @classmethod
    def _version(cls, path: Path) -> str:
        return cls._version_of(path.stat())

    @staticmethod
    def _version_of(stat: os.stat_result) -> str:
        return f"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}"
