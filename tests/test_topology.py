"""Every shape of Istio meshauth renders: what each mode emits, and that all modes serve and protect
the same hosts with the same open paths."""

from __future__ import annotations

import json

import pytest
from topology_support import (
    MODES,
    config,
    login_hosts,
    of_kind,
    render_mode,
    routed_hosts,
    token_hosts,
)

import meshauth

HOSTS = {"grafana.example.com", "docs.example.com", "www.docs.example.com", "wiki.example.com"}
ACME = "/.well-known/acme-challenge/*"


def get(bundle, kind, name, namespace=None):
    return next(
        o
        for o in of_kind(bundle, kind)
        if o["metadata"]["name"] == name
        and (namespace is None or o["metadata"].get("namespace") == namespace)
    )


# --- the same hosts, protected the same way, in every mode ------------------------------------------


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_routes_and_protects_the_same_hosts(mode):
    bundle = render_mode(mode)
    assert routed_hosts(bundle) == HOSTS
    assert login_hosts(bundle) == HOSTS
    assert token_hosts(bundle) == HOSTS
    assert not [f for f in meshauth.validate(bundle) if f.severity == "error"]


def _open_paths(bundle):
    """host -> paths that skip the login (the ACME path is the solver's, on port 80, left out)."""
    paths = {}
    for policy in of_kind(bundle, "AuthorizationPolicy"):
        if policy["spec"].get("action") == "CUSTOM":
            for rule in policy["spec"]["rules"]:
                operation = rule["to"][0]["operation"]
                if operation.get("paths") == [ACME]:
                    continue  # the login on the ACME path over HTTPS
                for host in operation["hosts"]:
                    paths[host.split(":")[0]] = sorted(set(operation.get("notPaths", [])) - {ACME})
    public = {
        r["name"]
        for f in of_kind(bundle, "EnvoyFilter")
        for p in f["spec"]["configPatches"]
        if p["applyTo"] == "HTTP_ROUTE"
        for r in [p["match"]["routeConfiguration"]["vhost"]["route"]]
    }
    for vs in of_kind(bundle, "VirtualService") if public else ():
        for host in vs["spec"]["hosts"]:
            routes = [r for r in vs["spec"]["http"] if r.get("name") in public]
            paths[host] = sorted(
                m["uri"].get("exact") or m["uri"]["prefix"] + "*" for r in routes for m in r["match"]
            )
    return paths


@pytest.mark.parametrize("mode", sorted(set(MODES) - {"sidecar"}))
def test_every_mode_opens_the_same_public_paths(mode):
    assert (
        _open_paths(render_mode(mode))
        == _open_paths(render_mode("sidecar"))
        == {
            "grafana.example.com": ["/api/health"],
            "docs.example.com": ["/static/*"],
            "www.docs.example.com": ["/static/*"],
            "wiki.example.com": ["/status"],
        }
    )


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_checks_each_app_s_users_where_the_app_is(mode):
    bundle = render_mode(mode)
    policy = get(bundle, "AuthorizationPolicy", "quickstart-grafana-access", "monitoring")
    assert {"key": "request.auth.claims[groups]", "values": ["platform-team"]} in policy["spec"]["rules"][0][
        "when"
    ]
    attach = policy["spec"].get("targetRefs") or policy["spec"]["selector"]
    expected = (
        [{"group": "", "kind": "Service", "name": "grafana"}]
        if "ambient" in mode
        else {"matchLabels": {"app": "grafana"}}
    )
    assert attach == expected


# --- Gateway API -----------------------------------------------------------------------------------


def test_gateway_api_listeners_admit_only_the_app_namespace():
    bundle = render_mode("gateway-api")
    gateway = get(bundle, "Gateway", "meshauth", "istio-system")
    assert gateway["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert gateway["spec"]["gatewayClassName"] == "istio"
    listeners = {x["name"]: x for x in gateway["spec"]["listeners"]}
    grafana = listeners["https-grafana.example.com"]
    assert grafana["hostname"] == "grafana.example.com" and grafana["port"] == 443
    assert grafana["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [{"group": "", "kind": "Secret", "name": "quickstart-grafana-tls"}],
    }
    assert grafana["allowedRoutes"]["namespaces"] == {
        "from": "Selector",
        "selector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    }
    assert listeners["https-wiki.example.com"]["allowedRoutes"]["namespaces"] == {"from": "Same"}
    assert listeners["http"] == {
        "name": "http",
        "port": 80,
        "protocol": "HTTP",
        "allowedRoutes": {"namespaces": {"from": "Same"}},
    }
    certificate = get(bundle, "Certificate", "quickstart-grafana")
    assert certificate["metadata"]["namespace"] == "istio-system"  # the Secret is next to the Gateway


def test_gateway_api_routes_and_policies_attach_to_the_gateway():
    bundle = render_mode("gateway-api")
    route = get(bundle, "HTTPRoute", "quickstart-docs", "docs")
    assert route["spec"]["hostnames"] == ["docs.example.com", "www.docs.example.com"]
    assert [p["sectionName"] for p in route["spec"]["parentRefs"]] == [
        "https-docs.example.com",
        "https-www.docs.example.com",
    ]
    assert route["spec"]["rules"] == [{"backendRefs": [{"name": "docs", "port": 80}]}]
    target = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "meshauth"}]
    for kind, name in [
        ("AuthorizationPolicy", "quickstart-login"),
        ("AuthorizationPolicy", "quickstart-access"),
        ("RequestAuthentication", "quickstart-jwt"),
    ]:
        spec = get(bundle, kind, name, "istio-system")["spec"]
        assert spec["targetRefs"] == target and "selector" not in spec
    assert not of_kind(bundle, "VirtualService") and not of_kind(bundle, "IngressClass")
    issuer = get(bundle, "ClusterIssuer", "letsencrypt")
    assert issuer["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"] == [
        {**target[0], "namespace": "istio-system", "sectionName": "http"}
    ]


def test_gateway_api_external_service_routes_to_the_service_entry_host():
    route = get(render_mode("gateway-api"), "HTTPRoute", "quickstart-wiki", "istio-system")
    assert route["spec"]["rules"] == [
        {
            "backendRefs": [
                {
                    "group": "networking.istio.io",
                    "kind": "Hostname",
                    "name": "wiki.internal.example.net",
                    "port": 443,
                }
            ],
            "filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "wiki.internal.example.net"}}],
        }
    ]


def test_gateway_api_with_dns01_redirects_plain_http():
    bundle = meshauth.render(
        config(
            ingress={"api": "gateway-api"},
            tls={"issuer": {"acme": {"solver": "dns01", "dns01": {"cloudDNS": {"project": "p"}}}}},
        )
    )
    route = get(bundle, "HTTPRoute", "quickstart-https-redirect", "istio-system")
    assert route["spec"]["parentRefs"][0]["sectionName"] == "http"
    assert set(route["spec"]["hostnames"]) == HOSTS
    assert route["spec"]["rules"] == [
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    ]


def test_gateway_api_without_tls_serves_plain_http_listeners():
    data = config(ingress={"api": "gateway-api"}, oauth2Proxy={"cookie": {"secure": False}})
    del data["spec"]["tls"]
    gateway = get(meshauth.render(data), "Gateway", "meshauth")
    assert {(x["name"], x["port"], x["protocol"]) for x in gateway["spec"]["listeners"]} == {
        (f"http-{h}", 80, "HTTP") for h in HOSTS
    }


# --- ambient ---------------------------------------------------------------------------------------


def test_ambient_enrolls_app_namespaces_in_a_waypoint():
    bundle = render_mode("ambient")
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in of_kind(bundle, "Namespace")}
    for namespace in ("monitoring", "docs"):
        assert labels[namespace]["istio.io/dataplane-mode"] == "ambient"
        assert labels[namespace]["istio.io/use-waypoint"] == "waypoint"
        assert labels[namespace]["istio.io/ingress-use-waypoint"] == "true"
        assert "istio-injection" not in labels[namespace]
        waypoint = get(bundle, "Gateway", "waypoint", namespace)
        assert waypoint["spec"] == {
            "gatewayClassName": "istio-waypoint",
            "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
        }
        jwt = get(bundle, "RequestAuthentication", "quickstart-waypoint-jwt", namespace)
        assert jwt["spec"]["targetRefs"] == [
            {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "waypoint"}
        ]
    assert labels["oauth2-proxy"] == {**labels["oauth2-proxy"], "istio.io/dataplane-mode": "ambient"}
    assert "istio.io/use-waypoint" not in labels["oauth2-proxy"]
    policies = of_kind(bundle, "AuthorizationPolicy") + of_kind(bundle, "RequestAuthentication")
    in_apps = [p for p in policies if p["metadata"]["namespace"] in ("monitoring", "docs")]
    assert in_apps and all("targetRefs" in p["spec"] and "selector" not in p["spec"] for p in in_apps)


# --- external services -----------------------------------------------------------------------------


def test_external_service_entry_tls_origination_and_route():
    bundle = render_mode("sidecar")
    entry = get(bundle, "ServiceEntry", "quickstart-wiki", "istio-system")
    assert entry["spec"] == {
        "hosts": ["wiki.internal.example.net"],
        "location": "MESH_EXTERNAL",
        "resolution": "DNS",
        "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}],
    }
    rule = get(bundle, "DestinationRule", "quickstart-wiki", "istio-system")
    assert rule["spec"]["trafficPolicy"]["portLevelSettings"] == [
        {"port": {"number": 443}, "tls": {"mode": "SIMPLE", "sni": "wiki.internal.example.net"}}
    ]
    vs = get(bundle, "VirtualService", "quickstart-wiki", "istio-system")
    assert vs["spec"]["http"] == [
        {
            "rewrite": {"authority": "wiki.internal.example.net"},
            "route": [{"destination": {"host": "wiki.internal.example.net", "port": {"number": 443}}}],
        }
    ]
    assert get(bundle, "Certificate", "quickstart-wiki")["spec"]["dnsNames"] == ["wiki.example.com"]
    args = get(bundle, "Deployment", "oauth2-proxy")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--whitelist-domain=wiki.example.com" in args  # the login may send users back there


def test_external_service_without_tls_has_no_destination_rule():
    data = config()
    data["spec"]["externalServices"][0]["upstream"].update(port=8080, tls=False)
    bundle = meshauth.render(data)
    assert not of_kind(bundle, "DestinationRule")
    assert get(bundle, "ServiceEntry", "quickstart-wiki")["spec"]["ports"] == [
        {"number": 8080, "name": "http", "protocol": "HTTP"}
    ]


# --- Istio before 1.9: the EnvoyFilter login -----------------------------------------------------------


def _login_filter(bundle):
    return get(bundle, "EnvoyFilter", "quickstart-login", "istio-system")


def test_envoy_filter_login_inserts_ext_authz_before_the_jwt_filter_per_app_sni():
    bundle = render_mode("envoyfilter")
    patches = _login_filter(bundle)["spec"]["configPatches"]
    filters = [p for p in patches if p["applyTo"] == "HTTP_FILTER"]
    assert [p["match"]["listener"]["filterChain"]["sni"] for p in filters] == [
        "grafana.example.com",
        "docs.example.com",
        "wiki.example.com",
    ]
    chain = filters[0]["match"]["listener"]["filterChain"]
    assert chain["filter"] == {
        "name": "envoy.http_connection_manager",
        "subFilter": {"name": "envoy.filters.http.jwt_authn"},
    }
    patch = filters[0]["patch"]
    assert patch["operation"] == "INSERT_BEFORE"
    config_ = patch["value"]["typed_config"]
    assert patch["value"]["name"] == "envoy.filters.http.ext_authz"
    assert config_["@type"] == "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"
    assert config_["http_service"]["server_uri"]["cluster"] == (
        "outbound|4180||oauth2-proxy.oauth2-proxy.svc.cluster.local"
    )
    assert config_["failure_mode_allow"] is False
    assert not [p for p in of_kind(bundle, "AuthorizationPolicy") if p["spec"]["action"] == "CUSTOM"]
    assert bundle.mesh_config["spec"] == {"meshConfig": {}}


def test_envoy_filter_turns_ext_authz_off_on_the_public_route():
    bundle = render_mode("envoyfilter")
    routes = [p for p in _login_filter(bundle)["spec"]["configPatches"] if p["applyTo"] == "HTTP_ROUTE"]
    assert [p["match"]["routeConfiguration"]["vhost"]["route"]["name"] for p in routes] == [
        "quickstart-grafana-public",
        "quickstart-docs-public",
        "quickstart-wiki-public",
    ]
    assert routes[0]["patch"] == {
        "operation": "MERGE",
        "value": {
            "typed_per_filter_config": {
                "envoy.filters.http.ext_authz": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute",
                    "disabled": True,
                }
            }
        },
    }
    vs = get(bundle, "VirtualService", "quickstart-docs", "docs")
    assert vs["spec"]["http"][0]["name"] == "quickstart-docs-public"
    assert vs["spec"]["http"][0]["match"] == [{"uri": {"prefix": "/static/"}}]
    assert "match" not in vs["spec"]["http"][1]


def test_envoy_filter_without_tls_warns_that_every_host_gets_the_login():
    data = config(istio="1.7", oauth2Proxy={"cookie": {"secure": False}})
    del data["spec"]["tls"]
    bundle = meshauth.render(data)
    assert [
        p["match"]["listener"]["filterChain"]
        for p in _login_filter(bundle)["spec"]["configPatches"]
        if p["applyTo"] == "HTTP_FILTER"
    ] == [
        {
            "filter": {
                "name": "envoy.http_connection_manager",
                "subFilter": {"name": "envoy.filters.http.jwt_authn"},
            }
        }
    ]
    assert any("every host this gateway serves" in w.message for w in bundle.warnings)


# --- authservice -----------------------------------------------------------------------------------


def test_authservice_config_has_a_chain_per_host_and_no_secret():
    bundle = meshauth.render(
        config(
            authorizer="authservice",
            secret={
                "source": "inline",
                "allowPlaintext": True,
                "inline": {
                    "clientSecret": "s3cr3t-client",
                    "cookieSecret": "0123456789abcdef0123456789abcdef",
                },
            },
        )
    )
    config_map = get(bundle, "ConfigMap", "authservice", "authservice")
    text = config_map["data"]["config.json"]
    assert "s3cr3t-client" not in text
    parsed = json.loads(text)
    assert parsed["listen_port"] == 10003 and parsed["allow_unmatched_requests"] is False
    chains = {c["name"]: c for c in parsed["chains"]}
    assert set(chains) == HOSTS | {f"{h}-with-port" for h in HOSTS}
    assert chains["docs.example.com"]["match"] == {"header": ":authority", "equality": "docs.example.com"}
    assert chains["docs.example.com-with-port"]["match"] == {
        "header": ":authority",
        "prefix": "docs.example.com:",
    }
    oidc = chains["www.docs.example.com"]["filters"][0]["oidc"]
    assert oidc["callback_uri"] == "https://www.docs.example.com/oauth/callback"
    assert oidc["configuration_uri"] == "https://idp.example.com/.well-known/openid-configuration"
    assert oidc["client_secret_ref"] == {"namespace": "authservice", "name": "oauth2-proxy"}
    assert oidc["id_token"] == {"preamble": "Bearer", "header": "authorization"}
    assert get(bundle, "Secret", "oauth2-proxy", "authservice")  # the secret lives next to it
    assert get(bundle, "Role", "authservice-secrets")["rules"][0]["resources"] == ["secrets"]
    assert not [
        o
        for o in bundle.objects
        if o["metadata"].get("namespace") == "oauth2-proxy"
        or o["metadata"]["name"] == "oauth2-proxy"
        and o["kind"] == "Namespace"
    ]


def test_authservice_is_a_grpc_extension_provider_with_the_same_policies():
    bundle = render_mode("authservice")
    provider = bundle.mesh_config["spec"]["meshConfig"]["extensionProviders"][0]
    assert provider == {
        "name": "oauth2-proxy",
        "envoyExtAuthzGrpc": {"service": "authservice.authservice.svc.cluster.local", "port": 10003},
    }
    deployment = get(bundle, "Deployment", "authservice", "authservice")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "ghcr.io/istio-ecosystem/authservice/authservice:1.0.0"
    assert pod["volumes"] == [{"name": "config", "configMap": {"name": "authservice"}}]
    assert pod["securityContext"]["runAsNonRoot"] is True
    sidecar = render_mode("sidecar")
    for name in ("quickstart-login", "quickstart-access", "quickstart-docs-access"):
        assert (
            get(bundle, "AuthorizationPolicy", name)["spec"]
            == get(sidecar, "AuthorizationPolicy", name)["spec"]
        )


def test_before_1_9_the_helm_values_add_nothing_either():
    bundle = meshauth.render(config(istio="1.8", mesh={"install": "helm"}))
    assert bundle.mesh_config == {"meshConfig": {}}
    assert bundle.mesh_file == "mesh/istiod-values.yaml"


def test_every_mode_writes_a_file_per_object(tmp_path):
    for mode in MODES:
        bundle = render_mode(mode)
        files = bundle.files()
        assert len(files) == len(bundle.objects) + 2  # + kustomization.yaml and the mesh file
        bundle.write(tmp_path / mode)
        assert (tmp_path / mode / "kustomization.yaml").is_file()
