"""What the rules read of oauth2-proxy: which of several proxies a provider reaches, and settings
held in flags, in literal variables, or in the Secret keys a variable or envFrom names (never a
Secret of another name or namespace, never a value that is not base64 under data)."""

from __future__ import annotations

import base64

import pytest

import meshauth

ISSUER = "https://idp.example.com"


def proxy(namespace="oauth2-proxy", args=(), env=(), env_from=(), app="oauth2-proxy"):
    container = {
        "name": "oauth2-proxy",
        "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0",
        "args": ["--http-address=0.0.0.0:4180", "--upstream=static://200", *args],
    }
    if env:
        container["env"] = list(env)
    if env_from:
        container["envFrom"] = list(env_from)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "oauth2-proxy", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container]}},
        },
    }


def service(namespace, app="oauth2-proxy"):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "oauth2-proxy", "namespace": namespace},
        "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 4180}]},
    }


def mesh(namespace):
    return {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "metadata": {"name": "mesh", "namespace": "istio-system"},
        "spec": {
            "meshConfig": {
                "extensionProviders": [
                    {
                        "name": "oauth2-proxy",
                        "envoyExtAuthzHttp": {
                            "service": f"oauth2-proxy.{namespace}.svc.cluster.local",
                            "port": 4180,
                            "includeRequestHeadersInCheck": ["cookie"],
                        },
                    }
                ]
            }
        },
    }


LOGIN = {
    "apiVersion": "security.istio.io/v1",
    "kind": "AuthorizationPolicy",
    "metadata": {"name": "login", "namespace": "istio-system"},
    "spec": {
        "selector": {"matchLabels": {"istio": "ingressgateway"}},
        "action": "CUSTOM",
        "provider": {"name": "oauth2-proxy"},
        "rules": [{"to": [{"operation": {"hosts": ["app.example.com"]}}]}],
    },
}


def found(docs, rule):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == rule]


# --- which proxy ---------------------------------------------------------------------------------------


def two_proxies():
    return [
        proxy("auth", args=["--cookie-domain=.example.org"]),
        service("auth"),
        proxy("sso", args=["--cookie-domain=.example.com"]),
        service("sso"),
    ]


def test_the_provider_reaches_the_proxy_its_service_selects():
    wrong = "Deployment auth/oauth2-proxy"
    path = "spec.template.spec.containers[0].args[2]"
    assert found([*two_proxies(), mesh("auth"), LOGIN], "MA004") == [(wrong, path)]
    assert found([*two_proxies(), mesh("sso"), LOGIN], "MA004") == []


def test_a_service_selecting_other_pods_reaches_no_proxy():
    docs = two_proxies()
    docs[1] = service("auth", app="something-else")
    assert found([*docs, mesh("auth"), LOGIN], "MA004") == []


def test_with_several_proxies_and_no_provider_to_follow_none_is_guessed():
    assert found([*two_proxies(), LOGIN], "MA004") == []
    assert found([two_proxies()[0], LOGIN], "MA004") == [
        ("Deployment auth/oauth2-proxy", "spec.template.spec.containers[0].args[2]")
    ]


# --- values held in Secrets -----------------------------------------------------------------------------


def secret(name="oauth2-proxy", namespace="oauth2-proxy", **data):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def b64(text):
    return base64.b64encode(text.encode()).decode()


CLIENT_REF = {
    "name": "OAUTH2_PROXY_CLIENT_ID",
    "valueFrom": {"secretKeyRef": {"name": "oauth2-proxy", "key": "client-id"}},
}
AUDIENCES = {
    "apiVersion": "security.istio.io/v1",
    "kind": "RequestAuthentication",
    "metadata": {"name": "jwt", "namespace": "istio-system"},
    "spec": {"jwtRules": [{"issuer": ISSUER, "audiences": ["api"]}]},
}


def test_a_client_id_held_in_a_secret_is_read():
    docs = [
        proxy(args=[f"--oidc-issuer-url={ISSUER}"], env=[CLIENT_REF]),
        secret(**{"client-id": b64("web")}),
        AUDIENCES,
    ]
    assert found(docs, "MA009") == [("RequestAuthentication istio-system/jwt", "spec.jwtRules[0].audiences")]
    docs[1] = secret(**{"client-id": b64("api")})
    assert found(docs, "MA009") == []


@pytest.mark.parametrize(
    "where",
    [
        secret(name="other", **{"client-id": b64("web")}),
        secret(namespace="default", **{"client-id": b64("web")}),
        secret(**{"client_id": b64("web")}),
        secret(**{"client-id": "not base64!"}),
    ],
    ids=["other-name", "other-namespace", "other-key", "not-base64"],
)
def test_a_secret_the_variable_does_not_name_is_not_read(where):
    docs = [proxy(args=[f"--oidc-issuer-url={ISSUER}"], env=[CLIENT_REF]), where, AUDIENCES]
    assert found(docs, "MA009") == []


def test_a_reference_for_another_variable_is_not_this_setting():
    ref = {**CLIENT_REF, "name": "OAUTH2_PROXY_CLIENT_SECRET"}
    docs = [
        proxy(args=[f"--oidc-issuer-url={ISSUER}"], env=[ref]),
        secret(**{"client-id": b64("web")}),
        AUDIENCES,
    ]
    assert found(docs, "MA009") == []


def test_env_from_reads_the_variable_named_key():
    docs = [
        proxy(
            args=[f"--oidc-issuer-url={ISSUER}"], env_from=[{"secretRef": {"name": "oauth2-proxy"}}, "junk"]
        ),
        secret(OAUTH2_PROXY_CLIENT_ID=b64("web")),
        AUDIENCES,
    ]
    assert found(docs, "MA009") == [("RequestAuthentication istio-system/jwt", "spec.jwtRules[0].audiences")]
    docs[0]["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"configMapRef": {"name": "oauth2-proxy"}}
    ]
    assert found(docs, "MA009") == []


def test_string_data_is_read_before_data():
    docs = [
        proxy(args=[f"--oidc-issuer-url={ISSUER}"], env=[CLIENT_REF]),
        {**secret(**{"client-id": b64("api")}), "stringData": {"client-id": "web"}},
        AUDIENCES,
    ]
    assert found(docs, "MA009") == [("RequestAuthentication istio-system/jwt", "spec.jwtRules[0].audiences")]


@pytest.mark.parametrize(
    "issuer", ["http://idp.example.com", "idp.example.com/", "https://idp.example.com//"]
)
def test_an_issuer_is_the_same_with_another_scheme_or_trailing_slashes(issuer):
    jwt = {**AUDIENCES, "spec": {"jwtRules": [{"issuer": issuer, "audiences": ["api"]}]}}
    assert len(found([proxy(args=[f"--oidc-issuer-url={ISSUER}", "--client-id=web"]), jwt], "MA009")) == 1


def test_a_login_whose_provider_reaches_no_proxy_does_not_hide_the_next_login():
    opa = {**LOGIN, "metadata": {"name": "a-opa", "namespace": "istio-system"}}
    opa = {**opa, "spec": {**LOGIN["spec"], "provider": {"name": "opa"}}}
    path = "spec.template.spec.containers[0].args[2]"
    assert found([*two_proxies(), mesh("auth"), opa, LOGIN], "MA004") == [
        ("Deployment auth/oauth2-proxy", path)
    ]
