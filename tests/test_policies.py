"""What the rendered policies mean: who gets a login, which paths skip it, who may enter an app."""

from __future__ import annotations

import copy

import pytest
import yaml
from configs import many_apps
from conftest import ROOT

import meshauth

QUICKSTART = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
ACME = "/.well-known/acme-challenge/*"
ALL_HOSTS = [
    "grafana.example.com",
    "grafana.example.com:*",
    "docs.example.com",
    "docs.example.com:*",
    "www.docs.example.com",
    "www.docs.example.com:*",
]


def render(mutate=None):
    data = copy.deepcopy(QUICKSTART)
    if mutate:
        mutate(data)
    return meshauth.render(data)


def get(bundle, kind, name):
    return next(o for o in bundle.objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_login_policy_guards_each_app_host_except_its_open_paths():
    policy = get(render(), "AuthorizationPolicy", "quickstart-login")
    assert policy["spec"]["action"] == "CUSTOM"
    assert policy["spec"]["provider"] == {"name": "oauth2-proxy"}
    assert policy["spec"]["selector"] == {"matchLabels": {"app": "istio-ingressgateway"}}
    operations = [rule["to"][0]["operation"] for rule in policy["spec"]["rules"]]
    assert operations == [
        {"hosts": ["grafana.example.com", "grafana.example.com:*"], "notPaths": ["/api/health", ACME]},
        {
            "hosts": [
                "docs.example.com",
                "docs.example.com:*",
                "www.docs.example.com",
                "www.docs.example.com:*",
            ],
            "notPaths": ["/static/*", ACME],
        },
        # the ACME challenge skips the login on plain HTTP only: over HTTPS it is an app path
        {"hosts": ALL_HOSTS, "paths": [ACME], "notPorts": ["80", "8080"]},
    ]


def test_gateway_access_policy_lets_exactly_the_open_paths_through_without_a_token():
    policy = get(render(), "AuthorizationPolicy", "quickstart-access")
    rules = policy["spec"]["rules"]
    assert policy["spec"]["action"] == "ALLOW"
    all_hosts = ALL_HOSTS
    assert rules[0] == {"to": [{"operation": {"notHosts": all_hosts}}]}
    assert rules[1] == {
        "to": [{"operation": {"hosts": all_hosts}}],
        "when": [{"key": "request.auth.audiences", "values": ["meshauth"]}],
    }
    assert rules[2]["to"][0]["operation"]["paths"] == ["/api/health"]
    assert rules[3]["to"][0]["operation"]["paths"] == ["/static/*"]
    assert rules[4] == {"to": [{"operation": {"hosts": all_hosts, "paths": [ACME], "ports": ["80", "8080"]}}]}
    assert "when" not in rules[2] and "when" not in rules[3] and len(rules) == 5


def test_dns01_needs_no_acme_exception_and_redirects_http():
    bundle = render(
        lambda d: d["spec"]["tls"]["issuer"]["acme"].update(
            solver="dns01", dns01={"cloudDNS": {"project": "p"}}
        )
    )
    login = get(bundle, "AuthorizationPolicy", "quickstart-login")
    assert all(ACME not in r["to"][0]["operation"].get("notPaths", []) for r in login["spec"]["rules"])
    issuer = get(bundle, "ClusterIssuer", "letsencrypt")
    assert issuer["spec"]["acme"]["solvers"] == [{"dns01": {"cloudDNS": {"project": "p"}}}]
    assert not [o for o in bundle.objects if o["kind"] == "IngressClass"]
    http = [s for s in get(bundle, "Gateway", "meshauth")["spec"]["servers"] if s["port"]["number"] == 80]
    assert http[0]["tls"] == {"httpsRedirect": True}


def test_http01_leaves_port_80_to_the_acme_solver():
    bundle = render()
    servers = get(bundle, "Gateway", "meshauth")["spec"]["servers"]
    assert [s["port"]["number"] for s in servers] == [443, 443]
    assert servers[0]["tls"] == {"mode": "SIMPLE", "credentialName": "quickstart-grafana-tls"}
    certificate = get(bundle, "Certificate", "quickstart-grafana")
    assert certificate["metadata"]["namespace"] == "istio-system"
    assert certificate["spec"]["secretName"] == "quickstart-grafana-tls"
    assert certificate["spec"]["dnsNames"] == ["grafana.example.com"]
    issuer = get(bundle, "ClusterIssuer", "letsencrypt")
    assert issuer["spec"]["acme"]["solvers"] == [{"http01": {"ingress": {"ingressClassName": "istio"}}}]
    assert get(bundle, "IngressClass", "istio")["spec"]["controller"] == "istio.io/ingress-controller"


def test_without_tls_apps_are_plain_http_and_no_certificates():
    bundle = render(lambda d: (d["spec"].pop("tls"), d["spec"]["oauth2Proxy"]["cookie"].update(secure=False)))
    kinds = {o["kind"] for o in bundle.objects}
    assert not kinds & {"Certificate", "ClusterIssuer", "IngressClass"}
    servers = get(bundle, "Gateway", "meshauth")["spec"]["servers"]
    assert servers == [
        {
            "port": {"number": 80, "name": "http", "protocol": "HTTP"},
            "hosts": ["grafana.example.com", "docs.example.com", "www.docs.example.com"],
        }
    ]
    assert bundle.warnings and bundle.warnings[0].path == "spec.tls"


def test_existing_issuer_is_referenced_not_created():
    bundle = render(lambda d: d["spec"]["tls"]["issuer"].update(create=False, name="corp-ca", kind="Issuer"))
    assert not [o for o in bundle.objects if o["kind"] in ("ClusterIssuer", "Issuer")]
    assert get(bundle, "Certificate", "quickstart-docs")["spec"]["issuerRef"] == {
        "name": "corp-ca",
        "kind": "Issuer",
        "group": "cert-manager.io",
    }


def test_app_policy_without_authorization_admits_any_logged_in_user():
    policy = get(render(), "AuthorizationPolicy", "quickstart-docs-access")
    assert policy["metadata"]["namespace"] == "docs"
    assert policy["spec"]["selector"] == {"matchLabels": {"app": "docs"}}
    assert policy["spec"]["rules"] == [
        {
            "from": [{"source": {"requestPrincipals": ["*"]}}],
            "when": [{"key": "request.auth.audiences", "values": ["meshauth"]}],
        },
        {"to": [{"operation": {"paths": ["/static/*"]}}]},
    ]


def test_app_identities_are_alternatives_and_claims_are_required_for_each():
    def authz(d):
        d["spec"]["apps"][0]["authorization"] = {
            "audiences": ["grafana"],
            "emails": ["a@example.com"],
            "groups": ["ops"],
            "principals": ["https://idp.example.com/123"],
            "claims": {"tier": ["gold"], "dept": ["it"]},
        }

    rules = get(render(authz), "AuthorizationPolicy", "quickstart-grafana-access")["spec"]["rules"]
    required = [
        {"key": "request.auth.audiences", "values": ["grafana"]},
        {"key": "request.auth.claims[dept]", "values": ["it"]},
        {"key": "request.auth.claims[tier]", "values": ["gold"]},
    ]
    assert rules[0]["when"] == required + [{"key": "request.auth.claims[email]", "values": ["a@example.com"]}]
    assert rules[1]["when"] == required + [{"key": "request.auth.claims[groups]", "values": ["ops"]}]
    assert rules[2] == {
        "from": [{"source": {"requestPrincipals": ["https://idp.example.com/123"]}}],
        "when": required,
    }
    assert rules[3] == {"to": [{"operation": {"paths": ["/api/health"]}}]}
    gateway = get(render(authz), "AuthorizationPolicy", "quickstart-access")
    assert gateway["spec"]["rules"][1]["when"][0]["values"] == ["grafana", "meshauth"]


def test_request_authentication_at_gateway_and_sidecar_forward_the_token():
    bundle = render()
    for name, namespace, selector in [
        ("quickstart-jwt", "istio-system", {"app": "istio-ingressgateway"}),
        ("quickstart-grafana-jwt", "monitoring", {"app": "grafana"}),
    ]:
        ra = get(bundle, "RequestAuthentication", name)
        assert ra["metadata"]["namespace"] == namespace
        assert ra["spec"] == {
            "selector": {"matchLabels": selector},
            "jwtRules": [
                {
                    "issuer": "https://idp.example.com",
                    "jwksUri": "https://idp.example.com/keys",
                    "forwardOriginalToken": True,
                }
            ],
        }


def test_mesh_wide_strict_mtls_and_injected_namespaces():
    bundle = render()
    peer = get(bundle, "PeerAuthentication", "default")
    assert peer["metadata"]["namespace"] == "istio-system"
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}} and "selector" not in peer["spec"]
    namespaces = {
        o["metadata"]["name"]: o["metadata"]["labels"] for o in bundle.objects if o["kind"] == "Namespace"
    }
    assert set(namespaces) == {"oauth2-proxy", "monitoring", "docs"}
    assert all(labels["istio-injection"] == "enabled" for labels in namespaces.values())


def test_virtual_service_routes_the_app_hosts_through_the_gateway():
    vs = get(render(), "VirtualService", "quickstart-grafana")
    assert vs["metadata"]["namespace"] == "monitoring"
    assert vs["spec"] == {
        "hosts": ["grafana.example.com"],
        "gateways": ["istio-system/meshauth"],
        "http": [
            {
                "route": [
                    {
                        "destination": {
                            "host": "grafana.monitoring.svc.cluster.local",
                            "port": {"number": 3000},
                        }
                    }
                ]
            }
        ],
    }


def test_every_object_carries_the_ownership_labels():
    for obj in render().objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "meshauth"
        assert labels["app.kubernetes.io/part-of"] == "quickstart"
        assert "app.kubernetes.io/instance" not in labels


def test_policies_come_before_the_routes_that_expose_the_apps():
    kinds = [o["kind"] for o in render().objects]
    last_policy = max(i for i, k in enumerate(kinds) if k == "AuthorizationPolicy")
    first_route = min(i for i, k in enumerate(kinds) if k in ("Gateway", "VirtualService"))
    assert kinds[0] == "Namespace" and last_policy < first_route


@pytest.mark.parametrize(
    "source, kind", [("external-secrets", "ExternalSecret"), ("sealed-secrets", "SealedSecret")]
)
def test_secret_sources_render_the_secret_the_deployment_reads(source, kind):
    secret = {"source": source, "name": "sso"}
    if source == "external-secrets":
        secret["externalSecret"] = {
            "storeRef": {"name": "vault"},
            "data": {
                "clientSecret": {"key": "sso/app", "property": "client-secret"},
                "cookieSecret": {"key": "sso/app", "property": "cookie-secret"},
            },
        }
    else:
        secret["sealed"] = {"encryptedData": {"client-secret": "AgA1" * 100, "cookie-secret": "AgA2" * 100}}
    bundle = render(lambda d: d["spec"].update(secret=secret))
    produced = get(bundle, kind, "sso")
    assert produced["metadata"]["namespace"] == "oauth2-proxy"
    deployment = get(bundle, "Deployment", "oauth2-proxy")
    pod = deployment["spec"]["template"]["spec"]
    refs = {v["secret"]["secretName"] for v in pod["volumes"]}  # newest release: read as files
    assert refs == {"sso"} and "env" not in pod["containers"][0]
    assert not [o for o in bundle.objects if o["kind"] == "Secret"]


def test_redis_deploy_renders_a_hardened_store_the_proxy_points_at():
    bundle = render(lambda d: d["spec"]["oauth2Proxy"].update(sessionStore={"type": "redis", "deploy": True}))
    redis = get(bundle, "Deployment", "oauth2-proxy-redis")
    pod = redis["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert get(bundle, "Service", "oauth2-proxy-redis")["spec"]["ports"][0]["port"] == 6379
    args = get(bundle, "Deployment", "oauth2-proxy")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--redis-connection-url=redis://oauth2-proxy-redis.oauth2-proxy.svc.cluster.local:6379" in args


def test_redis_without_deploy_renders_only_the_flags():
    bundle = render(
        lambda d: d["spec"]["oauth2Proxy"].update(
            sessionStore={"type": "redis", "url": "rediss://cache.example.com:6380"}
        )
    )
    assert not [o for o in bundle.objects if "redis" in o["metadata"]["name"]]
    args = get(bundle, "Deployment", "oauth2-proxy")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--session-store-type=redis" in args
    assert "--redis-connection-url=rediss://cache.example.com:6380" in args


def test_ma018_warns_when_refresh_outlives_the_google_id_token():
    def google(refresh):
        def mutate(d):
            d["spec"]["identity"] = {"preset": "google", "clientId": "x.apps.googleusercontent.com"}
            d["spec"]["apps"][0]["authorization"] = {"claims": {"hd": ["example.com"]}}  # no groups
            d["spec"]["oauth2Proxy"]["cookie"]["refresh"] = refresh

        return mutate

    def ma018(bundle):
        return [f for f in meshauth.validate(bundle) if f.rule == "MA018"]

    warned = ma018(render(google("1h")))
    assert [(w.severity, w.object) for w in warned] == [("warning", "Deployment oauth2-proxy/oauth2-proxy")]
    assert "Jwt is expired" in warned[0].message
    assert ma018(render(google("45m"))) == []
    assert ma018(render()) == []  # a generic IdP's token lifetime is unknown: no guess


# --- many apps: one rule per distinct set of open paths, and Istio's 512 rules per policy ---------


def _many(apps, paths):
    return many_apps(apps, lambda i: {"publicPaths": paths(i), "service": {"name": "web", "port": 80}})


def _gateway_policies(bundle, action):
    return {
        o["metadata"]["name"]: o["spec"]["rules"]
        for o in bundle.objects
        if o["kind"] == "AuthorizationPolicy"
        and o["spec"].get("action") == action
        and o["metadata"]["namespace"] == "istio-system"
    }


def test_apps_that_open_the_same_paths_share_one_rule():
    bundle = meshauth.render(_many(4, lambda i: ["/healthz"] if i % 2 else []))
    login = _gateway_policies(bundle, "CUSTOM")["many-login"]
    assert [(r["to"][0]["operation"]["hosts"], r["to"][0]["operation"]["notPaths"]) for r in login[:2]] == [
        (["app0.example.com", "app0.example.com:*", "app2.example.com", "app2.example.com:*"], [ACME]),
        (
            ["app1.example.com", "app1.example.com:*", "app3.example.com", "app3.example.com:*"],
            ["/healthz", ACME],
        ),
    ]
    assert login[2]["to"][0]["operation"]["notPorts"] == ["80", "8080"]
    access = _gateway_policies(bundle, "ALLOW")["many-access"]
    assert [r["to"][0]["operation"].get("paths") for r in access[2:]] == [["/healthz"], [ACME]]


def test_past_512_rules_the_gateway_policies_continue_in_numbered_ones():
    bundle = meshauth.render(_many(600, lambda i: [f"/public-{i}"]))
    logins, allows = _gateway_policies(bundle, "CUSTOM"), _gateway_policies(bundle, "ALLOW")
    assert {name: len(rules) for name, rules in logins.items()} == {"many-login": 512, "many-login-2": 90}
    assert {name: len(rules) for name, rules in allows.items()} == {"many-access": 512, "many-access-2": 93}
    assert "notHosts" in allows["many-access"][0]["to"][0]["operation"]  # token rules: the first only
    assert all("notHosts" not in rule["to"][0]["operation"] for rule in allows["many-access-2"])
    assert [f for f in meshauth.validate(bundle) if f.severity == "error"] == []
    last = "app599.example.com"
    assert meshauth.simulate(_many(600, lambda i: [f"/public-{i}"]), host=last, path="/public-599").allowed
    login = meshauth.simulate(_many(600, lambda i: [f"/public-{i}"]), host=last, path="/private")
    assert (login.allowed, login.decided_by) == (False, "AuthorizationPolicy istio-system/many-login-2")
