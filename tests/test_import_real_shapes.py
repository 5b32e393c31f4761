"""``meshauth import`` on the setups people run: Kubeflow's auth stack (tests/fixtures/kubeflow, written
in the shapes kubeflow/manifests builds), UDS Core's authservice, istio.io's ext-authz provider.

Import carries every setting it can express, lists in the config's header every one it cannot (by
object and field), and names for deletion only the objects its config replaces.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

import meshauth
from meshauth.importer.compare import pair
from meshauth.importer.run import import_manifests

KUBEFLOW = ROOT / "tests" / "fixtures" / "kubeflow"


@pytest.fixture(scope="module")
def kubeflow():
    return import_manifests([str(KUBEFLOW)])


def messages(imported, text=""):
    return [f"{f.object}: {f.path}: {f.message}" for f in imported.findings if text in f.message]


def delete_advice(imported) -> str:
    found = [f.message for f in imported.findings if "delete them once the new ones work" in f.message]
    return found[0] if found else ""


def copy_fixture(tmp_path, edit=None):
    target = tmp_path / "kubeflow"
    shutil.copytree(KUBEFLOW, target)
    if edit:
        for name, (old, new) in edit.items():
            path = target / name
            text = path.read_text(encoding="utf-8")
            assert old in text
            path.write_text(text.replace(old, new), encoding="utf-8")
    return target


def test_kubeflow_imports_to_a_config_that_renders(kubeflow):
    assert kubeflow.valid, messages(kubeflow)
    meshauth.render(meshauth.load_config(kubeflow.config))


def test_multi_line_toml_routes_are_carried_under_their_flag_names(kubeflow):
    extra = kubeflow.config["spec"]["oauth2Proxy"]["extraArgs"]
    assert extra["skip-auth-route"] == ["^/dex/"]
    assert extra["api-route"] == ["/api/", "/apis/", "^/ml_metadata"]
    assert not messages(kubeflow, "routes is not imported")


def test_bearer_tokens_set_through_a_configmap_variable_are_carried(kubeflow):
    assert kubeflow.config["spec"]["identity"]["bearerTokens"] == {}


def test_bearer_tokens_set_through_env_from_a_configmap_are_carried(tmp_path):
    folder = copy_fixture(
        tmp_path,
        {
            "oauth2-proxy.yaml": (
                "        - name: OAUTH2_PROXY_SKIP_JWT_BEARER_TOKENS\n"
                "          valueFrom:\n"
                "            configMapKeyRef: {name: oauth2-proxy-parameters-5g7b8m2t4c, key: ENABLE_M2M_TOKENS}\n",
                "        envFrom:\n        - configMapRef: {name: oauth2-proxy-env}\n",
            )
        },
    )
    (folder / "env.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: oauth2-proxy-env, namespace: oauth2-proxy}\n"
        'data:\n  OAUTH2_PROXY_SKIP_JWT_BEARER_TOKENS: "true"\n  OAUTH2_PROXY_COOKIE_EXPIRE: 12h\n'
    )
    imported = import_manifests([str(folder)])
    assert imported.config["spec"]["identity"]["bearerTokens"] == {}
    # oauth2-proxy's precedence: the environment over the --config file (cookie_expire = "24h")
    assert imported.config["spec"]["oauth2Proxy"]["cookie"]["expire"] == "12h"
    assert not messages(imported, "envFrom")


def test_not_paths_without_hosts_are_public_paths_of_every_host(kubeflow):
    [app] = kubeflow.config["spec"]["apps"]
    assert app["host"] == "kubeflow.example.com"
    assert app["publicPaths"] == ["/dex/*", "/oauth2/*"]  # "/dex/**" is within "/dex/*"
    assert not messages(kubeflow, "was not behind the login")
    assert not messages(kubeflow, "notPaths")


def test_a_not_path_public_paths_cannot_express_is_listed_by_field(tmp_path):
    folder = copy_fixture(
        tmp_path,
        {
            "oauth2-proxy.yaml": (
                'notPaths: ["/dex/*", "/dex/**", "/oauth2/*"]',
                'notPaths: ["/dex/*", "*/healthz"]',
            )
        },
    )
    imported = import_manifests([str(folder)])
    assert imported.config["spec"]["apps"][0]["publicPaths"] == ["/dex/*"]
    [finding] = [f for f in imported.findings if "*/healthz" in f.message]
    assert finding.object == "AuthorizationPolicy istio-system/istio-ingressgateway-oauth2-proxy"
    assert finding.path == "spec.rules[0].to[].operation.notPaths[1]"


def test_the_delete_list_names_only_what_the_config_replaces(kubeflow):
    advice = delete_advice(kubeflow)
    for replaced in (
        "kubectl delete authorizationpolicy istio-ingressgateway-oauth2-proxy -n istio-system",
        "kubectl delete authorizationpolicy istio-ingressgateway-require-jwt -n istio-system",
    ):
        assert replaced in advice
    for kept in (
        "global-deny-all",  # the mesh-wide allow-nothing
        "cluster-local-gateway",  # Knative's
        "virtualservice dex",  # dex's route: not imported
        "namespace",
        "secret",
        "configmap",
        "dex-jwt",  # its outputClaimToHeaders is not carried: it must stay
    ):
        assert kept not in advice, kept


def test_pairing_needs_something_in_common_even_with_one_candidate():
    old = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "auth"}}
    new = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow", "labels": {"a": "b"}}}
    pairs, removed, added = pair([old], [new])
    assert pairs == [] and removed == [old] and added == [new]


def test_what_is_not_carried_is_listed_in_the_header_by_object_and_field(kubeflow):
    header = kubeflow.text.split("\napiVersion:")[0]
    assert (
        "RequestAuthentication istio-system/dex-jwt: spec.jwtRules[0].outputClaimToHeaders: "
        "outputClaimToHeaders (email -> kubeflow-userid, groups -> kubeflow-groups) is not carried over"
    ) in header
    assert "AuthorizationPolicy istio-system/global-deny-all: not imported" in header


def test_a_quoted_provider_port_is_its_number(tmp_path):
    folder = copy_fixture(tmp_path, {"istio.yaml": ("        port: 80\n", '        port: "4180"\n')})
    assert not messages(import_manifests([str(folder)]), "provider port")
    folder = copy_fixture(tmp_path / "b", {"istio.yaml": ("        port: 80\n", '        port: "8080"\n')})
    assert messages(import_manifests([str(folder)]), "provider port 8080")


_STRICT = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: global-strict-mtls, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
"""


def test_a_mesh_wide_peer_authentication_need_not_be_named_default(tmp_path):
    folder = copy_fixture(tmp_path)
    (folder / "mtls.yaml").write_text(_STRICT)
    imported = import_manifests([str(folder)])
    assert not messages(imported, "no mesh-wide PeerAuthentication")
    assert not messages(imported, "renders only the mesh-wide PeerAuthentication")
    assert "mtls" not in imported.config["spec"].get("mesh", {})  # STRICT, meshauth's default
    # meshauth's own (default) replaces it
    assert "kubectl delete peerauthentication global-strict-mtls -n istio-system" in delete_advice(imported)
    # with a selector it is not mesh-wide
    (folder / "mtls.yaml").write_text(_STRICT + "  selector:\n    matchLabels: {app: x}\n")
    imported = import_manifests([str(folder)])
    assert messages(imported, "no mesh-wide PeerAuthentication")
    assert "global-strict-mtls" not in delete_advice(imported)


def test_import_and_validate_agree_on_the_istio_version(kubeflow, tmp_path):
    assert kubeflow.config["spec"]["platform"]["istioVersion"] == "1.29"  # pilot and proxyv2 tags
    assert meshauth.load_manifests([KUBEFLOW]).istio_version == "1.29"
    assert not messages(kubeflow, "is a guess")
    # an IstioOperator asking for 1.28 while the images run 1.29: both say what runs
    folder = copy_fixture(tmp_path)
    (folder / "operator.yaml").write_text(
        "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n"
        "metadata: {name: installed-state, namespace: istio-system}\nspec: {tag: 1.28.2}\n"
    )
    assert import_manifests([str(folder)]).config["spec"]["platform"]["istioVersion"] == "1.29"
    assert meshauth.load_manifests([folder]).istio_version == "1.29"


def test_the_kubeflow_set_validates_without_errors():
    findings = meshauth.validate(meshauth.load_manifests([KUBEFLOW]))
    assert [str(f) for f in findings if f.severity == "error"] == []


# --- UDS Core's shape: authservice over gRPC, policies at the app's sidecars --------------------------

_UDS = """\
meshConfig:
  accessLogFile: /dev/stdout
  pathNormalization: {normalization: MERGE_SLASHES}
  extensionProviders:
  - name: authservice
    envoyExtAuthzGrpc:
      service: authservice.authservice.svc.cluster.local
      port: "10003"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: authservice, namespace: authservice}
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: authservice}
  template:
    metadata:
      labels: {app.kubernetes.io/name: authservice}
    spec:
      containers:
      - name: authservice
        image: ghcr.io/istio-ecosystem/authservice/authservice:1.1.3
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tenant-gateway, namespace: istio-tenant-gateway}
spec:
  selector: {app: tenant-ingressgateway}
  servers:
  - hosts: ["*.uds.dev"]
    port: {name: https, number: 443, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: gateway-tls}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: web}
spec:
  hosts: [web.uds.dev]
  gateways: [istio-tenant-gateway/tenant-gateway]
  http:
  - route:
    - destination: {host: web.web.svc.cluster.local, port: {number: 8080}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-authservice, namespace: web}
spec:
  action: CUSTOM
  provider: {name: authservice}
  selector:
    matchLabels: {protect: keycloak}
  rules:
  - when:
    - key: request.headers[authorization]
      notValues: ["*"]
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: web-jwt, namespace: web}
spec:
  selector:
    matchLabels: {protect: keycloak}
  jwtRules:
  - issuer: https://sso.uds.dev/realms/uds
    jwksUri: https://sso.uds.dev/realms/uds/protocol/openid-connect/certs
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: web-jwt-authz, namespace: web}
spec:
  action: DENY
  selector:
    matchLabels: {protect: keycloak}
  rules:
  - from:
    - source:
        notRequestPrincipals: ["https://sso.uds.dev/realms/uds/*"]
"""


def test_the_authservice_grpc_provider_imports_as_authorizer_authservice(tmp_path):
    (tmp_path / "uds.yaml").write_text(_UDS)
    imported = import_manifests([str(tmp_path)])
    spec = imported.config["spec"]
    assert spec["authorizer"] == "authservice"
    assert spec["authservice"] == {"version": "1.1.3"}
    assert spec["mesh"]["extensionProvider"] == "authservice"
    assert "oauth2Proxy" not in spec
    assert not messages(imported, "is not envoyExtAuthzHttp")
    assert not messages(imported, "provider port")  # "10003" is authservice's port
    assert not messages(imported, "no oauth2-proxy Deployment found")


def test_a_sidecar_level_deny_is_not_described_as_at_the_gateway(tmp_path):
    (tmp_path / "uds.yaml").write_text(_UDS)
    imported = import_manifests([str(tmp_path)])
    [message] = messages(imported, "web-jwt-authz") or [
        m for m in messages(imported, "DENY policy") if "web-jwt-authz" in m
    ]
    assert "at the sidecars of web" in message and "at the gateway" not in message
    assert "web-jwt-authz" not in delete_advice(imported)
