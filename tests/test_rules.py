"""Cross-resource rules on whole bundles: silent on everything meshauth renders, and each rule
fires, alone, when one fault is put into a rendered bundle (the mesh config travels with it)."""

from __future__ import annotations

import copy

import pytest
from conftest import EXAMPLES, OVERLAYS, ROOT, VALID_CASES

import meshauth
from meshauth.validation.rules import registry as rules

SEED = meshauth.render(ROOT / "examples" / "seed.yaml")
QUICKSTART = meshauth.render(ROOT / "examples" / "quickstart.yaml")


def rule_ids(findings):
    return {f.rule for f in findings}


def bundles():
    for example in EXAMPLES:
        yield example.stem, meshauth.render(example)
        for overlay in OVERLAYS:
            yield f"{example.stem}+{overlay.stem}", meshauth.render(meshauth.load_config(example, [overlay]))
    for case in VALID_CASES:
        yield case.stem, meshauth.render(case)


@pytest.mark.parametrize("name,bundle", list(bundles()), ids=lambda v: v if isinstance(v, str) else "")
def test_rendered_bundles_have_no_error_findings(name, bundle):
    findings = meshauth.validate(bundle)
    assert [str(f) for f in findings if f.severity == "error"] == []
    # identity's advisory plan warnings (scopes, cookie size, provider fallback, logout) may show too
    assert rule_ids(findings) <= {"config", "MA018", "MA061", "MA062", "MA063", "MA064", "MA065"}


def get(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def args(objects):
    return get(objects, "Deployment", "oauth2-proxy")["spec"]["template"]["spec"]["containers"][0]["args"]


def provider(mesh):
    return mesh["spec"]["meshConfig"]["extensionProviders"][0]


def rules_of(objects, name):
    return get(objects, "AuthorizationPolicy", name)["spec"]["rules"]


def _ma002(objects, mesh):
    provider(mesh)["name"] = "OAuth2-Proxy"
    get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]["name"] = "OAuth2-Proxy"


def _drop_acme(objects, mesh):
    for r in rules_of(objects, "quickstart-login"):
        operation = r["to"][0]["operation"]
        if "notPaths" in operation:  # (the rule for the path over HTTPS stays as it is)
            operation["notPaths"] = [p for p in operation["notPaths"] if "acme" not in p]


def _short_cookie_secret(objects, mesh):
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "oauth2-proxy", "namespace": "oauth2-proxy"},
            "type": "Opaque",
            "stringData": {"client-secret": "s", "cookie-secret": "too-short"},
        }
    )


def _when(name, condition):
    def mutate(objects, mesh):
        rules_of(objects, name)[0].setdefault("when", []).append(condition)

    return mutate


def _arg(old, new):
    def mutate(objects, mesh):
        values = args(objects)
        values[:] = [new if a.startswith(old) else a for a in values] if old else [*values, new]

    return mutate


MUTATIONS = {
    "MA001": lambda o, m: get(o, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"].update(
        name="oauth2proxy"
    ),
    "MA002": _ma002,
    "MA003": _drop_acme,
    "MA004": _arg("--cookie-domain=", "--cookie-domain=example.org"),
    "MA005": _arg("--cookie-refresh=", "--cookie-refresh=4h"),
    "MA006": _short_cookie_secret,
    "MA007": _when(
        "quickstart-grafana-access", {"key": "request.auth.claims[email_verified]", "values": ["true"]}
    ),
    "MA008": _when("quickstart-login", {"key": "request.auth.claims[groups]", "values": ["admins"]}),
    "MA009": lambda o, m: rules_of(o, "quickstart-access")[1]["when"][0].update(values=["another-client"]),
    "MA010": lambda o, m: get(o, "Certificate", "quickstart-docs")["spec"].update(secretName="docs-cert"),
    "MA011": lambda o, m: provider(m)["envoyExtAuthzHttp"].update(port=8080),
    "MA012": lambda o, m: provider(m)["envoyExtAuthzHttp"].update(headersToDownstreamOnDeny=["content-type"]),
    "MA013": _arg("--upstream=", "--upstream=http://grafana.monitoring.svc:3000"),
    "MA015": _arg(None, "--no-such-flag=1"),
    "MA016": lambda o, m: get(o, "Namespace", "monitoring")["metadata"]["labels"].pop("istio-injection"),
    "MA017": lambda o, m: rules_of(o, "quickstart-access").pop(),
}


@pytest.mark.parametrize("rule", sorted(MUTATIONS))
def test_one_fault_in_a_rendered_bundle_yields_exactly_its_rule(rule):
    objects, mesh = copy.deepcopy(list(QUICKSTART.objects)), copy.deepcopy(QUICKSTART.mesh_config)
    MUTATIONS[rule](objects, mesh)
    findings = meshauth.validate([*objects, mesh], istio_version="1.30", kubernetes_version="1.30")
    assert rule_ids(findings) == {rule}, [str(f) for f in findings]


def test_ma014_istio_v1_apis_on_an_older_istio():
    findings = meshauth.validate(QUICKSTART, istio_version="1.16")
    assert rule_ids(findings) == {"MA014"}
    flagged = {f.object.split()[0] for f in findings}
    assert flagged == {
        "AuthorizationPolicy",
        "RequestAuthentication",
        "PeerAuthentication",
        "Gateway",
        "VirtualService",
    }


def test_ma018_warns_on_the_blog_refresh():
    objects = copy.deepcopy(list(SEED.objects))
    _arg("--cookie-refresh=", "--cookie-refresh=1h")(objects, None)
    findings = meshauth.validate([*objects, SEED.mesh_config])
    assert [(f.rule, f.severity) for f in findings] == [("MA018", "warning")]


def test_ma001_names_the_defined_providers():
    objects = copy.deepcopy(list(SEED.objects))
    login = next(o for o in objects if o["kind"] == "AuthorizationPolicy" and o["spec"]["action"] == "CUSTOM")
    login["spec"]["provider"]["name"] = "oauth2proxy"
    findings = rules.check(objects, SEED.mesh_config)
    assert [(f.rule, f.object, f.path) for f in findings] == [
        ("MA001", "AuthorizationPolicy istio-system/blog-login", "spec.provider.name")
    ]
    assert "denies every request" in findings[0].message and "defined: oauth2-proxy" in findings[0].message


def test_ma001_needs_a_mesh_config_to_judge():
    assert rules.check(list(SEED.objects), None) == []


def test_mesh_findings_name_the_mesh_document_and_file():
    mesh = copy.deepcopy(SEED.mesh_config)
    provider(mesh)["envoyExtAuthzHttp"]["includeRequestHeadersInCheck"] = ["authorization"]
    bundle = meshauth.Bundle(**{**SEED.__dict__, "mesh_config": mesh})
    [finding] = [f for f in meshauth.validate(bundle) if f.rule != "config"]  # not the config's own
    assert (finding.rule, finding.object, finding.file) == (
        "MA012",
        "IstioOperator istio-system/blog-mesh",
        "mesh/istio-operator.yaml",
    )
    assert (
        finding.path == "spec.meshConfig.extensionProviders[0].envoyExtAuthzHttp.includeRequestHeadersInCheck"
    )


def test_messages_never_show_a_cookie_secret():
    objects = copy.deepcopy(list(QUICKSTART.objects))
    _short_cookie_secret(objects, None)
    findings = meshauth.validate(objects)
    assert any(f.rule == "MA006" for f in findings)
    assert not any("too-short" in str(f) for f in findings)


def test_validate_raises_on_request():
    objects = copy.deepcopy(list(SEED.objects))
    next(o for o in objects if o["kind"] == "Deployment")["spec"]["replicas"] = "x"
    with pytest.raises(meshauth.ValidationFailed) as failure:
        meshauth.validate(objects, raise_on_error=True)
    assert failure.value.findings[0].rule == "schema"


# docs/rules.md is generated from the registry: tests/test_rulesdoc.py.


# --- no false errors: configs across versions, issuers, IdPs, secret sources and app shapes -------

ISTIO = ["1.9", "1.11", "1.14", "1.17", "1.22", "1.30"]
TLS = [
    None,
    {"issuer": {"acme": {"email": "x@example.com"}}},
    {"issuer": {"acme": {"solver": "dns01", "dns01": {"cloudDNS": {"project": "p"}}}}},
    {"issuer": {"kind": "Issuer"}},
    {"issuer": {"create": False}},
]
IDENTITY = [
    {"preset": "google", "clientId": "g.apps.googleusercontent.com"},
    {"preset": "keycloak", "issuerUrl": "https://kc.example.com/realms/x", "clientId": "kc"},
    {"issuerUrl": "https://idp.example.com", "jwksUri": "https://idp.example.com/k", "clientId": "cid"},
]
SECRETS = [
    {"source": "existing"},
    {
        "source": "inline",
        "allowPlaintext": True,
        "inline": {"clientSecret": "s", "cookieSecret": "0123456789abcdef0123456789abcdef"},
    },
    {
        "source": "external-secrets",
        "externalSecret": {
            "storeRef": {"name": "vault"},
            "data": {"clientSecret": {"key": "k"}, "cookieSecret": {"key": "k2"}},
        },
    },
    {
        "source": "sealed-secrets",
        "sealed": {"encryptedData": {"client-secret": "AgAA" * 100, "cookie-secret": "AgBB" * 100}},
    },
]
APPS = [
    [{"name": "a", "host": "a.example.com"}],
    [
        {
            "name": "a",
            "host": "a.example.com",
            "publicPaths": ["/healthz", "/static/*"],
            "authorization": {"emails": ["x@example.com"]},
        },
        {
            "name": "b",
            "namespace": "shared",
            "hosts": ["b.example.com", "c.example.com"],
            "deploy": {"image": "nginxinc/nginx-unprivileged:1.27"},
        },
    ],
    [
        {
            "name": "a",
            "host": "a.example.com",
            "deploy": {"image": "nginxinc/nginx-unprivileged:1.27", "containerPort": 8080},
            "authorization": {
                "groups": ["g"],
                "claims": {"dept": ["x"]},
                "principals": ["https://idp.example.com/123"],
            },
        }
    ],
]


ISSUERS = {"google": "https://accounts.google.com"}


def _apps_for(identity: dict, apps: list) -> list:
    """Authorization that can match this IdP: principals from its issuer, no groups for Google."""
    issuer = identity.get("issuerUrl") or ISSUERS[identity["preset"]]
    out = copy.deepcopy(apps)
    for app in out:
        authz = app.get("authorization", {})
        if "principals" in authz:
            authz["principals"] = [f"{issuer}/123"]
        if identity.get("preset") == "google" and "groups" in authz:
            del authz["groups"]
            authz.setdefault("claims", {})["hd"] = ["example.com"]
    return out


def generated_configs(step: int = 7):
    import itertools

    combos = itertools.product(
        ISTIO, TLS, IDENTITY, SECRETS, APPS, ["istioctl", "helm"], ["STRICT", "PERMISSIVE"]
    )
    for index, (istio, tls, identity, secret, apps, install, mtls) in enumerate(combos):
        if index % step:
            continue
        spec = {
            "platform": {"istioVersion": istio},
            "identity": identity,
            "secret": secret,
            "apps": _apps_for(identity, apps),
            "mesh": {"install": install, "mtls": mtls},
            "oauth2Proxy": {
                "cookie": {"refresh": "30m", "domains": ["example.com"], "secure": tls is not None}
            },
        }
        if tls:
            spec["tls"] = tls
        yield (
            f"{index}",
            {
                "apiVersion": "meshauth.dev/v1alpha1",
                "kind": "MeshAuthConfig",
                "metadata": {"name": "gen"},
                "spec": spec,
            },
        )


@pytest.mark.parametrize(
    "name,data", list(generated_configs()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_generated_configs_have_no_error_findings(name, data):
    findings = meshauth.validate(meshauth.render(data))
    assert [str(f) for f in findings if f.severity == "error"] == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_rendered_files_validate_as_hand_written_manifests(example, tmp_path):
    bundle = meshauth.render(example)
    bundle.write(tmp_path / "out")
    manifests = meshauth.load_manifests([tmp_path / "out"])
    assert [s.path for s in manifests.mesh] == ["spec.meshConfig"]
    findings = meshauth.validate(manifests, istio_version=bundle.istio_version)
    assert [str(f) for f in findings if f.severity == "error"] == []
