"""MA003 on hand-written setups: an HTTP-01 issuer whose challenge path the gateway login sends to
the IdP (issuing and renewal fail). Judged for the hosts the issuer's Certificates name, else the
routed hosts, else the login's own; one finding per login, silent once the path is kept from it."""

from __future__ import annotations

import pytest

import meshauth

ACME = "/.well-known/acme-challenge/*"


def issuer(kind="ClusterIssuer", name="letsencrypt", namespace=None, solvers=({"http01": {"ingress": {}}},)):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": {"acme": {"server": "https://acme.example", "solvers": list(solvers)}},
    }


def certificate(hosts, issuer_ref, namespace="istio-system"):
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"secretName": "web-cert", "dnsNames": list(hosts), "issuerRef": issuer_ref},
    }


def login(hosts=("app.example.com",), not_paths=(), selector=None):
    operation = {"notPaths": list(not_paths)} if not_paths else {}
    if hosts is not None:
        operation["hosts"] = list(hosts)
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "login", "namespace": "istio-system"},
        "spec": {
            "selector": {"matchLabels": selector or {"istio": "ingressgateway"}},
            "action": "CUSTOM",
            "provider": {"name": "oauth2-proxy"},
            "rules": [{"to": [{"operation": operation}]}],
        },
    }


CLUSTER_REF = {"name": "letsencrypt", "kind": "ClusterIssuer"}


def ma003(docs):
    return [
        (f.object, f.path, f.message.split(" to the login")[0].removeprefix("sends "))
        for f in meshauth.validate(docs)
        if f.rule == "MA003"
    ]


def reported(host):
    return [("AuthorizationPolicy istio-system/login", "spec.rules", f"{host}/.well-known/acme-challenge/")]


def test_a_login_in_front_of_the_challenge_path_breaks_issuing():
    docs = [issuer(), certificate(["app.example.com"], CLUSTER_REF), login()]
    assert ma003(docs) == reported("app.example.com")
    docs[-1] = login(not_paths=[ACME])
    assert ma003(docs) == []


def test_the_issuer_is_named():
    docs = [issuer(), certificate(["app.example.com"], CLUSTER_REF), login()]
    [finding] = [f for f in meshauth.validate(docs) if f.rule == "MA003"]
    assert "but ClusterIssuer letsencrypt solves ACME HTTP-01" in finding.message


def test_without_an_http01_solver_there_is_no_challenge_path():
    dns = issuer(solvers=[{"dns01": {"cloudflare": {}}}, "http01"])
    assert ma003([dns, certificate(["app.example.com"], CLUSTER_REF), login()]) == []
    assert ma003([certificate(["app.example.com"], CLUSTER_REF), login()]) == []


def test_a_certificate_for_a_host_outside_the_login_is_fine():
    assert ma003([issuer(), certificate(["wiki.example.com"], CLUSTER_REF), login()]) == []


def test_the_first_certificate_host_the_login_covers_is_named():
    docs = [
        issuer(),
        certificate(["wiki.example.com", "*.example.com"], CLUSTER_REF),
        login(["*.example.com"]),
    ]
    assert ma003(docs) == reported("wiki.example.com")
    docs = [
        issuer(),
        certificate(["wiki.example.org", "*.example.com"], CLUSTER_REF),
        login(["*.example.com"]),
    ]
    assert ma003(docs) == reported("probe.example.com")


@pytest.mark.parametrize(
    "issuer_kind, ref, certificate_namespace, counts",
    [
        ("ClusterIssuer", {"name": "letsencrypt", "kind": "ClusterIssuer"}, "apps", True),
        ("ClusterIssuer", {"name": "other", "kind": "ClusterIssuer"}, "apps", False),
        ("ClusterIssuer", {"name": "letsencrypt"}, "apps", False),  # the kind defaults to Issuer
        ("Issuer", {"name": "letsencrypt"}, "istio-system", True),
        ("Issuer", {"name": "letsencrypt", "kind": "Issuer"}, "istio-system", True),
        ("Issuer", {"name": "letsencrypt", "kind": "ClusterIssuer"}, "istio-system", False),
        ("Issuer", {"name": "letsencrypt"}, "apps", False),  # an Issuer serves its own namespace
    ],
)
def test_only_the_issuers_own_certificates_say_which_hosts_it_serves(
    issuer_kind, ref, certificate_namespace, counts
):
    # The issuer's certificate is for wiki, which the login does not cover; a certificate of another
    # issuer says nothing, and the login's own host is judged instead.
    namespace = "istio-system" if issuer_kind == "Issuer" else None
    docs = [
        issuer(issuer_kind, namespace=namespace),
        certificate(["wiki.example.com"], ref, certificate_namespace),
        login(),
    ]
    assert ma003(docs) == ([] if counts else reported("app.example.com"))


def test_without_certificates_the_routed_hosts_are_judged():
    route = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "app", "namespace": "apps"},
        "spec": {
            "hosts": ["app.example.com"],
            "gateways": ["istio-system/web"],
            "http": [{"route": [{"destination": {"host": "app.apps.svc.cluster.local"}}]}],
        },
    }
    assert ma003([issuer(), route, login(["*.example.com"])]) == reported("app.example.com")
    assert ma003([issuer(), route, login(["docs.example.com"])]) == []


def test_without_certificates_or_routes_the_logins_hosts_are_judged():
    assert ma003([issuer(), login(["app.example.com"])]) == reported("app.example.com")
    assert ma003([issuer(), login(hosts=None)]) == reported("every host's ")


def test_a_login_that_may_not_apply_at_the_gateway_is_not_judged():
    docs = [issuer(), login(selector={"istio": "ingressgateway", "zone": "b"})]
    assert ma003(docs) == []


def test_an_issuer_with_an_http01_solver_among_others_is_judged():
    both = issuer(
        solvers=[
            {"dns01": {"cloudflare": {}}, "selector": {"dnsZones": ["example.org"]}},
            {"http01": {"ingress": {}}},
        ]
    )
    assert ma003([both, certificate(["app.example.com"], CLUSTER_REF), login()]) == reported(
        "app.example.com"
    )
