"""SecretsVault on AWS Secrets Manager: one secret per name, its ARN is the reference."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from quaywatch.ports import Record, SecretNotFound

# A deleted secret waits out its recovery window, during which reading it is an
# InvalidRequestException: for us it is gone.
_GONE = ("ResourceNotFoundException", "InvalidRequestException")


class SecretsManagerVault:
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def create(self, name: str, value: Record) -> str:
        response = self._client.create_secret(Name=f"{self._prefix}{name}", SecretString=json.dumps(value),
                                              Tags=[{"Key": "quaywatch:integration", "Value": name}])
        return response["ARN"]

    def update(self, reference: str, value: Record) -> None:
        self._client.put_secret_value(SecretId=reference, SecretString=json.dumps(value))

    def read(self, reference: str) -> Record:
        try:
            return json.loads(self._client.get_secret_value(SecretId=reference)["SecretString"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] in _GONE:
                raise SecretNotFound("the secret does not exist") from None
            raise

    def delete(self, reference: str) -> None:
        try:
            self._client.delete_secret(SecretId=reference, RecoveryWindowInDays=7)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in _GONE:
                raise
