"""Each identity-provider preset: what it derives, which oauth2-proxy provider it picks per release,
and its documentation page, whose complete example renders cleanly, matches its reviewed snapshot
and validates against the upstream CRDs and oauth2-proxy's own flag list."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT
from upstream import UpstreamSchemas, require_ref
from upstream_flags import proxy_problems

import meshauth
from meshauth.compat import proxyflags
from meshauth.config.presets import PRESET_NAMES, PRESETS
from meshauth.validation.validate import is_core_group

DOCS = ROOT / "docs" / "presets"
_YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def doc_example(name: str) -> dict:
    """The one complete config in docs/presets/<name>.md."""
    blocks = [yaml.safe_load(b) for b in _YAML_BLOCK.findall((DOCS / f"{name}.md").read_text())]
    configs = [b for b in blocks if isinstance(b, dict) and b.get("kind") == "MeshAuthConfig"]
    assert len(configs) == 1, f"docs/presets/{name}.md needs exactly one complete example"
    return configs[0]


def test_every_preset_has_a_page_and_every_page_a_preset():
    assert {p.stem for p in DOCS.glob("*.md")} == set(PRESET_NAMES)
    assert set(PRESET_NAMES) == {"google", "azure", "dex", "keycloak", "okta", "auth0", "gitlab", "generic"}


@pytest.fixture(scope="module", params=PRESET_NAMES)
def example(request):
    name = request.param
    config = doc_example(name)
    return name, config, meshauth.render(meshauth.load_config(config))


def test_doc_example_uses_its_preset_and_renders_without_findings(example):
    name, config, bundle = example
    assert config["spec"]["identity"]["preset"] == name
    assert [str(f) for f in meshauth.validate(bundle)] == []


def test_doc_example_matches_snapshot(example, yaml_snapshot):
    _, _, bundle = example
    assert bundle.to_yaml() + "---\n# mesh config\n" + bundle.mesh_config_yaml() == yaml_snapshot


@pytest.mark.parametrize("which", ["newest", "released"])
def test_doc_example_validates_against_upstream_crds(example, which):
    _, _, bundle = example
    schemas = getattr(UpstreamSchemas, which)(require_ref())
    custom = [o for o in bundle.objects if not is_core_group(o["apiVersion"])]
    assert [e for obj in custom for e in schemas.errors(obj)] == []


def test_doc_example_flags_exist_upstream_in_the_chosen_release(example):
    _, config, bundle = example
    version = config["spec"].get("oauth2Proxy", {}).get("version", proxyflags.LATEST)
    assert proxy_problems(bundle, version) == []


# --- derivations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identity, issuer, jwks, end_session",
    [
        (
            {"preset": "google"},
            "https://accounts.google.com",
            "https://www.googleapis.com/oauth2/v3/certs",
            None,
        ),
        (
            {"preset": "azure", "tenant": TENANT},
            f"https://login.microsoftonline.com/{TENANT}/v2.0",
            f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys",
            f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/logout",
        ),
        (
            {"preset": "azure", "issuerUrl": f"https://login.microsoftonline.us/{TENANT}/v2.0"},
            f"https://login.microsoftonline.us/{TENANT}/v2.0",
            f"https://login.microsoftonline.us/{TENANT}/discovery/v2.0/keys",
            f"https://login.microsoftonline.us/{TENANT}/oauth2/v2.0/logout",
        ),
        (
            {"preset": "keycloak", "serverUrl": "https://sso.example.com/auth/", "realm": "ops"},
            "https://sso.example.com/auth/realms/ops",
            "https://sso.example.com/auth/realms/ops/protocol/openid-connect/certs",
            "https://sso.example.com/auth/realms/ops/protocol/openid-connect/logout",
        ),
        (
            {"preset": "keycloak", "issuerUrl": "https://kc.example.com/realms/x"},
            "https://kc.example.com/realms/x",
            "https://kc.example.com/realms/x/protocol/openid-connect/certs",
            "https://kc.example.com/realms/x/protocol/openid-connect/logout",
        ),
        (
            {"preset": "okta", "issuerUrl": "https://acme.okta.com/oauth2/default"},
            "https://acme.okta.com/oauth2/default",
            "https://acme.okta.com/oauth2/default/v1/keys",
            "https://acme.okta.com/oauth2/default/v1/logout",
        ),
        (
            {"preset": "okta", "issuerUrl": "https://acme.okta.com"},
            "https://acme.okta.com",
            "https://acme.okta.com/oauth2/v1/keys",
            "https://acme.okta.com/oauth2/v1/logout",
        ),
        (
            {"preset": "auth0", "issuerUrl": "https://acme.eu.auth0.com"},
            "https://acme.eu.auth0.com/",
            "https://acme.eu.auth0.com/.well-known/jwks.json",
            "https://acme.eu.auth0.com/oidc/logout",
        ),
        ({"preset": "gitlab"}, "https://gitlab.com", "https://gitlab.com/oauth/discovery/keys", None),
        (
            {"preset": "gitlab", "issuerUrl": "https://git.example.com"},
            "https://git.example.com",
            "https://git.example.com/oauth/discovery/keys",
            None,
        ),
        (
            {"preset": "dex", "issuerUrl": "https://dex.example.com/dex"},
            "https://dex.example.com/dex",
            "https://dex.example.com/dex/keys",
            None,
        ),
        (
            {
                "preset": "generic",
                "issuerUrl": "https://idp.example.com",
                "jwksUri": "https://idp.example.com/k",
                "endSessionUrl": "https://idp.example.com/bye",
            },
            "https://idp.example.com",
            "https://idp.example.com/k",
            "https://idp.example.com/bye",
        ),
    ],
)
def test_preset_derives_issuer_jwks_and_end_session(identity, issuer, jwks, end_session):
    loaded = meshauth.load_config(config_with(identity)).spec.identity
    assert (loaded.issuer_url, loaded.jwks_uri, loaded.end_session) == (issuer, jwks, end_session)


def config_with(identity: dict, **proxy) -> dict:
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": "p"},
        "spec": {
            "platform": {"istioVersion": "1.22"},
            "tls": {},
            "identity": {"clientId": "c", **identity},
            "oauth2Proxy": proxy,
            "apps": [{"name": "a", "host": "a.example.com"}],
        },
    }


@pytest.mark.parametrize(
    "preset, version, provider",
    [
        ("azure", "v7.7.1", "oidc"),
        ("azure", "v7.8.0", "entra-id"),
        ("azure", "v7.15.3", "entra-id"),
        ("keycloak", "v7.1.3", "oidc"),
        ("keycloak", "v7.2.0", "keycloak-oidc"),
        ("gitlab", "v7.1.3", "oidc"),
        ("gitlab", "v7.2.0", "gitlab"),
        ("google", "v7.2.0", "oidc"),
        ("okta", "v7.15.3", "oidc"),
        ("auth0", "v7.0.0", "oidc"),
        ("dex", "v7.9.0", "oidc"),
        ("generic", "v7.15.3", "oidc"),
    ],
)
def test_provider_per_release(preset, version, provider):
    assert PRESETS[preset].provider_for(version) == provider
    identity = {
        "preset": preset,
        "issuerUrl": {
            "azure": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "keycloak": "https://kc.example.com/realms/x",
        }.get(preset, "https://idp.example.com/"),
        "jwksUri": "https://idp.example.com/keys",
    }
    bundle = meshauth.render(config_with(identity, version=version))
    args = proxy_args(bundle)
    assert f"--provider={provider}" in args
    fallback = [w for w in bundle.warnings if w.rule == "MA063"]
    assert bool(fallback) == (provider != PRESETS[preset].provider)


def proxy_args(bundle) -> list[str]:
    deployment = next(
        o for o in bundle.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "oauth2-proxy"
    )
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_preferred_providers_start_at_known_releases():
    for preset in PRESETS.values():
        since = preset.provider_since()
        assert since in proxyflags.KNOWN_VERSIONS, preset.name
        assert (
            proxyflags.has_provider(since, preset.provider) and preset.provider_for(since) == preset.provider
        )
        earlier = proxyflags.KNOWN_VERSIONS[: proxyflags.KNOWN_VERSIONS.index(since)]
        assert all(preset.provider_for(v) == "oidc" for v in earlier), preset.name
    assert proxyflags.provider_since("entra-id") == "v7.8.0"
    assert not proxyflags.has_provider("v7.7.1", "entra-id") and proxyflags.has_provider("v7.8.0", "entra-id")
    assert proxyflags.provider_since("no-such-provider") is None


def test_groups_claim_reaches_oauth2_proxy_and_the_app_policy():
    bundle = meshauth.render({**config_with({"preset": "gitlab"}, cookie={"refresh": "1m"})})
    assert "--oidc-groups-claim=groups_direct" in proxy_args(bundle)
    data = config_with({"preset": "gitlab"}, cookie={"refresh": "1m"})
    data["spec"]["apps"][0]["authorization"] = {"groups": ["platform/sre"]}
    policy = next(
        o
        for o in meshauth.render(data).objects
        if o["kind"] == "AuthorizationPolicy" and o["metadata"]["name"] == "p-a-access"
    )
    keys = [c["key"] for c in policy["spec"]["rules"][0]["when"]]
    assert "request.auth.claims[groups_direct]" in keys
    assert not [
        a
        for a in proxy_args(
            meshauth.render(config_with({"preset": "okta", "issuerUrl": "https://o.okta.com"}))
        )
        if a.startswith("--oidc-groups-claim")
    ]


@pytest.mark.parametrize(
    "identity, refresh, warned",
    [
        ({"preset": "keycloak", "issuerUrl": "https://kc.example.com/realms/x"}, "30m", True),
        ({"preset": "keycloak", "issuerUrl": "https://kc.example.com/realms/x"}, "4m", False),
        (
            {"preset": "keycloak", "issuerUrl": "https://kc.example.com/realms/x", "idTokenLifetime": "1h"},
            "30m",
            False,
        ),
        ({"preset": "gitlab"}, "5m", True),
        ({"preset": "auth0", "issuerUrl": "https://a.auth0.com/"}, "1h", False),
        (
            {
                "preset": "generic",
                "issuerUrl": "https://i.example.com",
                "jwksUri": "https://i.example.com/k",
                "idTokenLifetime": "10m",
            },
            "15m",
            True,
        ),
    ],
)
def test_refresh_is_checked_against_the_id_token_lifetime(identity, refresh, warned):
    bundle = meshauth.render(
        config_with(identity, cookie={"refresh": refresh}, sessionStore={"type": "redis", "deploy": True})
    )
    # MA018 is a rule on the rendered objects (meshauth/validation/rules/core.py): the preset's documented lifetime,
    # or identity.idTokenLifetime as recorded on the oauth2-proxy Deployment
    assert any(f.rule == "MA018" for f in meshauth.validate(bundle)) == warned


def test_groups_scope_missing_is_a_warning():
    data = config_with({"preset": "dex", "issuerUrl": "https://dex.example.com"})
    data["spec"]["apps"][0]["authorization"] = {"groups": ["admins"]}
    data["spec"]["oauth2Proxy"] = {"sessionStore": {"type": "redis", "deploy": True}}
    warned = meshauth.render(data).warnings
    assert [w.rule for w in warned] == ["MA061"] and "add groups to identity.scopes" in warned[0].message
    data["spec"]["identity"]["scopes"] = ["openid", "email", "groups"]
    assert meshauth.render(data).warnings == ()


def test_every_preset_has_a_page_with_its_sources():
    for preset in PRESETS.values():
        page = (DOCS / f"{preset.name}.md").read_text()
        assert "Sources" in page and f"`{preset.name}`" in page


def test_overlays_on_a_loaded_model_derive_the_issuer_again():
    """Derived issuer and JWKS are not stored as if written: a new tenant gives a new issuer."""
    loaded = meshauth.load_config(config_with({"preset": "azure", "tenant": TENANT}))
    other = "00000000-0000-0000-0000-000000000001"
    moved = meshauth.load_config(loaded, overlays=[{"spec": {"identity": {"tenant": other}}}])
    assert moved.spec.identity.issuer_url == f"https://login.microsoftonline.com/{other}/v2.0"
    assert moved.spec.identity.jwks_uri == f"https://login.microsoftonline.com/{other}/discovery/v2.0/keys"
    dumped = loaded.model_dump(mode="json", by_alias=True, exclude_none=True)["spec"]["identity"]
    assert "issuerUrl" not in dumped and dumped["tenant"] == TENANT
