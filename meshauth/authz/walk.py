"""What the halves of a request's walk (:mod:`meshauth.authz.ingress`, :mod:`meshauth.authz.logins`)
ask of :class:`~meshauth.authz.meshview.MeshView`, which they are mixed into and which provides it:
the object index, the walk's notes and its stops. Declared once here so that each half type-checks
on its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn


class Walk:
    """The part of MeshView both halves of the walk use (each method is MeshView's)."""

    def stop(self, allowed: bool, status: int, by: str, reason: str, dest: str | None = None) -> NoReturn:
        raise NotImplementedError

    def note(self, hop: str, stage: str, outcome: str, policy: str = "") -> None:
        raise NotImplementedError

    def kind(self, kind: str, namespace: str | None = None) -> list[Mapping[str, Any]]:
        raise NotImplementedError

    def target_port(self, fqdn: str, port: int) -> int:
        raise NotImplementedError

    def service(self, fqdn: str) -> Mapping[str, Any] | None:
        raise NotImplementedError

    def deployment_for(self, service: Mapping[str, Any]) -> Mapping[str, Any] | None:
        raise NotImplementedError
