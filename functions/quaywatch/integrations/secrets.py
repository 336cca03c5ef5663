"""Registry credentials in AWS Secrets Manager: one secret per integration, only its ARN in
DynamoDB. The secret never leaves this module except as a ``Credentials`` object, whose repr
hides the token."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from quaywatch.errors import QuaywatchError


class SecretUnavailableError(QuaywatchError):
    """The integration's secret is missing or unreadable."""


@dataclass(frozen=True)
class RegistrySecret:
    token: str
    oauth_token: str | None = None
    ca_bundle: str | None = None

    def __repr__(self) -> str:
        return "RegistrySecret(token=***)"


class SecretStore:
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def create(self, integration_id: str, secret: RegistrySecret) -> str:
        response = self._client.create_secret(
            Name=f"{self._prefix}{integration_id}",
            SecretString=json.dumps({"token": secret.token, "oauth_token": secret.oauth_token,
                                     "ca_bundle": secret.ca_bundle}),
            Tags=[{"Key": "quaywatch:integration", "Value": integration_id}],
        )
        return response["ARN"]

    def update(self, arn: str, secret: RegistrySecret) -> None:
        self._client.put_secret_value(
            SecretId=self._get(arn)["ARN"],
            SecretString=json.dumps({"token": secret.token, "oauth_token": secret.oauth_token,
                                     "ca_bundle": secret.ca_bundle}),
        )

    def read(self, arn: str) -> RegistrySecret:
        try:
            value = json.loads(self._get(arn)["SecretString"])
        except (ClientError, KeyError, ValueError) as exc:
            raise SecretUnavailableError(f"the integration's credentials cannot be read: {type(exc).__name__}") from None
        return RegistrySecret(value["token"], value.get("oauth_token"), value.get("ca_bundle"))

    def _get(self, arn: str) -> dict:
        try:
            return self._client.get_secret_value(SecretId=arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException" or ":secret:" not in arn:
                raise
            # A restored secret (embedded mode) has the same name and a new random ARN suffix.
            return self._client.get_secret_value(SecretId=arn.split(":secret:", 1)[1].rsplit("-", 1)[0])

    def delete(self, arn: str) -> None:
        try:
            self._client.delete_secret(SecretId=self._get(arn)["ARN"], RecoveryWindowInDays=7)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
