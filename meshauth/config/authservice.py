"""The ``authservice`` section: istio-ecosystem/authservice, the alternative to oauth2-proxy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from meshauth.config.base import At, Model, image_without_tag
from meshauth.config.fieldtypes import DnsLabel, IstioPath, RedisUrl, Text


class AuthService(Model):
    """istio-ecosystem/authservice, asked over gRPC (``authorizer: authservice``)."""

    version: Text = Field("1.0.0", description="Image tag of the authservice release.")
    image: Text = Field(
        "ghcr.io/istio-ecosystem/authservice/authservice",
        description="Image name without tag; the tag is version.",
    )
    namespace: DnsLabel = Field("authservice", description="Where authservice runs.")
    replicas: int = Field(
        1, ge=1, le=100, description="More than 1 needs redisUrl: sessions live in memory otherwise."
    )
    callback_path: IstioPath = Field(
        "/oauth/callback", description="Path on each host where the IdP sends the browser back."
    )
    redis_url: RedisUrl | None = Field(None, description="Session store shared by the replicas.")
    log_level: Literal["trace", "debug", "info", "error", "critical"] = Field(
        "info", description="authservice's log level."
    )

    @field_validator("image")
    @classmethod
    def _image_without_tag(cls, value: str) -> str:
        return image_without_tag(value)

    @model_validator(mode="after")
    def _replicas_share_sessions(self) -> AuthService:
        if self.replicas > 1 and self.redis_url is None:
            raise At(
                ("redisUrl",),
                "required with more than 1 replica: each authservice keeps its sessions in "
                "memory, so a login on one replica is unknown to the others and loops",
            )
        if "*" in self.callback_path:
            raise At(("callbackPath",), "must be an exact path, without *")
        return self
