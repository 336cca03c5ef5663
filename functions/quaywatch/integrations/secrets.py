"""Registry credentials in the secrets vault: one secret per integration, only its
reference in the integration's record. The secret never leaves this module except as a
``RegistrySecret``, whose repr hides the token."""

from __future__ import annotations

from dataclasses import dataclass

from quaywatch.errors import QuaywatchError
from quaywatch.ports import SecretNotFound, SecretsVault


class SecretUnavailableError(QuaywatchError):
    """The integration's secret is missing or unreadable."""


@dataclass(frozen=True)
class RegistrySecret:
    token: str
    oauth_token: str | None = None
    ca_bundle: str | None = None

    def __repr__(self) -> str:
        return "RegistrySecret(token=***)"

    def as_record(self) -> dict[str, str | None]:
        return {"token": self.token, "oauth_token": self.oauth_token, "ca_bundle": self.ca_bundle}


class SecretStore:
    def __init__(self, vault: SecretsVault) -> None:
        self._vault = vault

    def create(self, integration_id: str, secret: RegistrySecret) -> str:
        return self._vault.create(integration_id, secret.as_record())

    def update(self, reference: str, secret: RegistrySecret) -> None:
        self._vault.update(reference, secret.as_record())

    def read(self, reference: str) -> RegistrySecret:
        try:
            value = self._vault.read(reference)
            return RegistrySecret(value["token"], value.get("oauth_token"), value.get("ca_bundle"))
        except (SecretNotFound, KeyError, TypeError) as exc:
            raise SecretUnavailableError(f"the integration's credentials cannot be read: {exc}") from None

    def delete(self, reference: str) -> None:
        self._vault.delete(reference)
