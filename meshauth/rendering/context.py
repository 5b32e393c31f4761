"""What every shape renders from: the config, the facts derived from it, and the naming.

A shape (:mod:`meshauth.rendering.shapes`) gets a :class:`RenderContext` and returns the objects it
owns as :class:`Planned` values: a template and the values it lays out. The context holds only
what several shapes share: the spec, the Istio features of the target version, the metadata every
object carries, the sites served behind the login and the paths that skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from meshauth.compat.versions import IstioFeatures, istio_features
from meshauth.config.model import ACME_CHALLENGE_PATH, App, ExternalService, MeshAuthConfig


@dataclass(frozen=True)
class Planned:
    template: str
    values: dict[str, Any]


class RenderContext:
    """The config as the shapes read it, with the facts they share."""

    def __init__(self, config: MeshAuthConfig) -> None:
        self.config = config
        self.spec = config.spec
        self.name = config.metadata.name
        self.istio: IstioFeatures = istio_features(self.spec.platform.istio)
        self.labels = {
            "app.kubernetes.io/managed-by": "meshauth",
            "app.kubernetes.io/part-of": self.name,
        }
        self._apps_by_namespace: dict[str | None, list[App]] = {}
        for app in self.spec.apps:
            self._apps_by_namespace.setdefault(app.namespace, []).append(app)

    def meta(self, name: str, namespace: str | None = None, **extra: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": {**self.labels, **extra}}

    def apps_in(self, namespace: str) -> list[App]:
        return self._apps_by_namespace.get(namespace, [])

    @property
    def http01(self) -> bool:
        return self.spec.tls is not None and self.spec.tls.http01

    def open_paths(self, app: App | ExternalService) -> list[str]:
        """Paths of ``app`` that skip the login: its public paths and the ACME challenge path."""
        acme = [ACME_CHALLENGE_PATH] if self.http01 else []
        return [*app.public_paths, *(p for p in acme if p not in app.public_paths)]

    @staticmethod
    def host_patterns(hosts: list[str]) -> list[str]:
        """A host as Istio matches it: bare, and with any port (``Host: app.example.com:443``)."""
        return [pattern for host in hosts for pattern in (host, f"{host}:*")]

    def audiences(self, app: App | ExternalService) -> list[str]:
        assert app.authorization is not None
        return app.authorization.audiences or [self.spec.identity.client_id]

    def sites(self) -> list[App | ExternalService]:
        """Everything served at the gateway behind the login: the apps, then external services."""
        return [*self.spec.apps, *self.spec.external_services]

    @cached_property
    def host_groups(self) -> list[list[App | ExternalService]]:
        """The sites by the hosts they serve: apps that split a host by ``pathPrefix`` form one
        group (the config checks that they list the same hosts), in config order; the first site
        of a group names what is rendered once per host (server, listener, Certificate, route)."""
        groups: dict[tuple[str, ...], list[App | ExternalService]] = {}
        for site in self.sites():
            groups.setdefault(tuple(sorted(site.all_hosts)), []).append(site)
        return list(groups.values())

    def host_sites(self) -> list[App | ExternalService]:
        """One site per group of hosts: what the Gateway, its Certificates and SNIs are made for."""
        return [group[0] for group in self.host_groups]

    @cached_property
    def _group_of(self) -> dict[int, list[App | ExternalService]]:
        return {id(site): group for group in self.host_groups for site in group}

    def host_group(self, site: App | ExternalService) -> list[App | ExternalService]:
        """The sites on ``site``'s hosts, ``site`` among them, in config order."""
        return self._group_of[id(site)]

    def shares_host(self, app: App) -> bool:
        """Is ``app`` one of several apps on its hosts (or on a part of a host)?"""
        return app.path_prefix != "/" or len(self.host_group(app)) > 1

    def siblings(self, app: App) -> list[App]:
        """The other apps on ``app``'s hosts."""
        return [other for other in self.host_group(app) if other is not app and isinstance(other, App)]

    def gateway_ref(self) -> str:
        return f"{self.spec.ingress.namespace}/{self.spec.ingress.gateway}"

    @cached_property
    def open_groups(self) -> list[tuple[list[str], list[str]]]:
        """(host patterns, paths) for each distinct list of paths that skip the login, in the order
        the sites first use it: one rule serves every site that opens the same paths, so that a few
        hundred apps stay one rule or a handful, not a rule each."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for sites in self.host_groups:
            paths = dict.fromkeys(path for site in sites for path in self.open_paths(site))
            groups.setdefault(tuple(paths), []).extend(self.host_patterns(sites[0].all_hosts))
        return [(hosts, list(paths)) for paths, hosts in groups.items()]

    def gateway_workload(self) -> tuple[dict[str, str], str]:
        """Pod labels and service account of the ingress gateway pods that call the workloads.

        With Gateway API, Istio deploys the gateway itself as ``<gateway>-<class>``, with that
        service account and the ``gateway.networking.k8s.io/gateway-name`` pod label.
        """
        ingress = self.spec.ingress
        if ingress.api != "gateway-api":
            return dict(ingress.selector), ingress.service_account
        account = (
            ingress.service_account
            if "service_account" in ingress.model_fields_set
            else f"{ingress.gateway}-{ingress.gateway_class}"
        )
        return {"gateway.networking.k8s.io/gateway-name": ingress.gateway}, account
