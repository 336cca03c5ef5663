"""SecretsVault in the local database, each secret encrypted with Fernet (AES-128-CBC and
HMAC-SHA256) under the key file of the data directory (mode 0600, created once). A copy of
the database alone reveals no credential."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from quaywatch.adapters.local.database import Database
from quaywatch.ports import AlreadyExists, Record, SecretNotFound


def load_or_create_key(path: Path) -> bytes:
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
            handle.flush()
            os.fsync(handle.fileno())
    return path.read_bytes()


class FernetVault:
    def __init__(self, db: Database, key: bytes) -> None:
        self._db = db
        self._fernet = Fernet(key)

    def create(self, name: str, value: Record) -> str:
        reference = f"local:secret:{name}"
        with self._db.write() as tx:
            if tx.execute("SELECT 1 FROM secrets WHERE name = ?", (name,)).fetchone():
                raise AlreadyExists(f"a secret named {name} exists")
            tx.execute("INSERT INTO secrets VALUES (?, ?, ?)", (reference, name, self._encrypt(value)))
        return reference

    def update(self, reference: str, value: Record) -> None:
        with self._db.write() as tx:
            if not tx.execute("UPDATE secrets SET ciphertext = ? WHERE reference = ?",
                              (self._encrypt(value), reference)).rowcount:
                raise SecretNotFound("the secret does not exist")

    def read(self, reference: str) -> Record:
        row = self._db.read_one("SELECT ciphertext FROM secrets WHERE reference = ?", (reference,))
        if row is None:
            raise SecretNotFound("the secret does not exist")
        try:
            return json.loads(self._fernet.decrypt(bytes(row["ciphertext"])))
        except InvalidToken:
            raise SecretNotFound("the secret cannot be decrypted with this data directory's key") from None

    def delete(self, reference: str) -> None:
        with self._db.write() as tx:
            tx.execute("DELETE FROM secrets WHERE reference = ?", (reference,))

    def _encrypt(self, value: Record) -> bytes:
        return self._fernet.encrypt(json.dumps(value).encode())
