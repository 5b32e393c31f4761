"""What the rules read of oauth2-proxy: which of several proxies a provider reaches, and settings
held in flags, in literal variables, or in the Secret keys a variable or envFrom names (never a
Secret of another name or namespace, never a value that is not base64 under data)."""

from __future__ import annotations

import base64

import pytest
from handwritten import gateway_login, istio_operator, oauth2_proxy

import meshauth

ISSUER = "https://idp.example.com"


def proxy(namespace="oauth2-proxy", args=(), env=(), env_from=(), app="oauth2-proxy"):
    return oauth2_proxy(*args, env=env, env_from=env_from, namespace=namespace, app=app)


def service(namespace, app="oauth2-proxy"):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "oauth2-proxy", "namespace": namespace},
        "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 4180}]},
    }


def mesh(namespace):
    return istio_operator(
        service=f"oauth2-proxy.{namespace}.svc.cluster.local",
        port=4180,
        includeRequestHeadersInCheck=["cookie"],
    )


LOGIN = gateway_login({"to": [{"operation": {"hosts": ["app.example.com"]}}]})


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


def _providers(*entries):
    doc = mesh("auth")
    doc["spec"]["meshConfig"]["extensionProviders"] = list(entries)
    return doc


def _http(name, namespace):
    return {
        "name": name,
        "envoyExtAuthzHttp": {"service": f"oauth2-proxy.{namespace}.svc.cluster.local", "port": 4180},
    }


def test_the_login_reaches_the_proxy_of_the_provider_it_names():
    login = {**LOGIN, "spec": {**LOGIN["spec"], "provider": {"name": "sso"}}}
    docs = [*two_proxies(), _providers(_http("auth", "auth"), _http("sso", "sso")), login]
    assert found(docs, "MA004") == []  # sso's proxy has the right cookie domain; auth's would not
    docs[-2] = _providers(_http("auth", "sso"), _http("sso", "auth"))
    assert found(docs, "MA004") == [
        ("Deployment auth/oauth2-proxy", "spec.template.spec.containers[0].args[2]")
    ]


def test_a_provider_of_that_name_that_is_no_ext_authz_reaches_no_service():
    tracing = {
        "name": "oauth2-proxy",
        "zipkin": {"service": "zipkin.istio-system.svc.cluster.local", "port": 9411},
    }
    docs = [proxy("auth", args=["--cookie-domain=.example.org"]), service("auth"), _providers(tracing), LOGIN]
    # then, with one oauth2-proxy in the manifests, that one is the login's
    assert found(docs, "MA004") == [
        ("Deployment auth/oauth2-proxy", "spec.template.spec.containers[0].args[2]")
    ]


@pytest.mark.parametrize(
    "selector",
    [{"app": "oauth2-proxy", "tier": "auth"}, {}],
    ids=["selects-more-labels", "no-selector"],
)
def test_a_service_that_does_not_select_the_proxys_pods_does_not_reach_it(selector):
    docs = [*two_proxies(), mesh("auth"), LOGIN]
    docs[1]["spec"]["selector"] = selector  # auth's Service; auth's proxy has the wrong cookie domain
    assert found(docs, "MA004") == []  # no proxy reached, and two to choose from: none guessed


def test_a_provider_service_not_in_the_manifests_leaves_the_only_proxy():
    docs = [proxy("auth", args=["--cookie-domain=.example.org"]), mesh("elsewhere"), LOGIN]
    assert found(docs, "MA004") == [
        ("Deployment auth/oauth2-proxy", "spec.template.spec.containers[0].args[2]")
    ]


def test_a_literal_variable_is_read_where_it_is_set():
    env = [{"name": "OAUTH2_PROXY_COOKIE_SECRET", "value": "too-short"}]
    assert found([proxy(env=env)], "MA006") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].env[0].value")
    ]


def test_other_secrets_listed_first_do_not_hide_the_one_read():
    docs = [
        proxy(args=[f"--oidc-issuer-url={ISSUER}"], env=[CLIENT_REF]),
        secret(name="other", **{"client-id": b64("api")}),
        secret(**{"client-id": "d2Vi!"}),  # not base64 (a stray '!'): not read
        secret(**{"client-id": b64("web")}),  # the same Secret written twice: the later one is read
        AUDIENCES,
    ]
    assert found(docs, "MA009") == [("RequestAuthentication istio-system/jwt", "spec.jwtRules[0].audiences")]


def test_a_value_with_a_stray_character_is_not_base64():
    docs = [
        proxy(args=[f"--oidc-issuer-url={ISSUER}"], env=[CLIENT_REF]),
        secret(**{"client-id": "d2Vi!"}),
        AUDIENCES,
    ]
    assert found(docs, "MA009") == []
