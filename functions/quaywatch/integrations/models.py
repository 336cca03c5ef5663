"""API shapes of integrations (pydantic: validation and the OpenAPI document)."""

from __future__ import annotations

import ssl

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from quaywatch.tenancy.members import EmailAddress


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern="^quay$", description="only Quay registries for now")
    url: str = Field(min_length=8, max_length=300, description="registry base URL, e.g. https://quay.io")
    username: str = Field(min_length=1, max_length=255, description="robot account, org+name")
    token: SecretStr = Field(min_length=1, max_length=4096)
    oauth_token: SecretStr | None = Field(None, max_length=4096)
    ca_bundle: str | None = Field(None, max_length=65536, description="PEM CA certificates for a self-hosted Quay")
    auto_import: bool = False

    @field_validator("ca_bundle")
    @classmethod
    def _pem_certificates(cls, value: str | None) -> str | None:
        """Refused here, in plain words, rather than when the first connection loads it."""
        if value is None or not value.strip():
            return None
        if "-----BEGIN CERTIFICATE-----" not in value:
            raise ValueError("must be PEM certificates (-----BEGIN CERTIFICATE----- ...)")
        try:
            ssl.create_default_context(cadata=value)
        except (ssl.SSLError, ValueError):
            raise ValueError("is not a readable PEM certificate bundle: a certificate in it does not parse") from None
        return value


class IntegrationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(None, min_length=1, max_length=255)
    token: SecretStr | None = Field(None, min_length=1, max_length=4096)
    oauth_token: SecretStr | None = Field(None, max_length=4096)
    auto_import: bool | None = None


class IntegrationView(BaseModel):
    id: str
    kind: str = "quay"
    status: str
    url: str
    username: str
    repository_count: int
    auto_import: bool = False
    created_at: str
    last_tested_at: str | None = None
    webhook_url: str | None = Field(None, description="shown only at creation and rotation")


class Channel(BaseModel):
    """A webhook or Slack channel has a ``url``; an email channel a ``to`` address."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^(webhook|slack|email)$",
                      description="generic JSON webhook, Slack incoming webhook, or email")
    url: str | None = Field(None, min_length=10, max_length=2000, pattern="^https?://",
                            description="webhook and slack: where to POST")
    to: EmailAddress | None = Field(None, description="email: the address every new issue is mailed to")

    @model_validator(mode="after")
    def _one_destination(self) -> Channel:
        if self.type == "email" and (self.to is None or self.url is not None):
            raise ValueError("an email channel has a `to` address and no url")
        if self.type != "email" and (self.url is None or self.to is not None):
            raise ValueError(f"a {self.type} channel has a `url` (http:// or https://) and no `to`")
        return self


class ChannelsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(max_length=10)
