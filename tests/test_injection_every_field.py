"""Injection fuzzing over every string field of the config, keys of free-form maps included.

For each string position (found by walking full configs, and checked against the JSON Schema so
that a new field cannot be forgotten), any text is either refused with a ConfigError or rendered as
exactly that one value: the stream stays valid YAML with the same documents, the same kinds and the
same keys and list lengths everywhere (no extra key, document or object).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import meshauth

ROOT = Path(__file__).resolve().parents[1]
KEY = object()  # marks "the key of this map entry" at the end of a path

COMMON: dict[str, Any] = {
    "apiVersion": "meshauth.dev/v1alpha1",
    "kind": "MeshAuthConfig",
    "metadata": {"name": "inj"},
    "spec": {
        "platform": {"istioVersion": "1.30", "kubernetesVersion": "1.30"},
        "mesh": {
            "rootNamespace": "istio-system",
            "mtls": "STRICT",
            "extensionProvider": "sso",
            "install": "istioctl",
            "cni": True,
        },
        "ingress": {
            "namespace": "istio-system",
            "selector": {"app": "gw"},
            "gateway": "gw",
            "serviceAccount": "gw-sa",
        },
        "tls": {
            "issuer": {
                "name": "le",
                "kind": "ClusterIssuer",
                "create": True,
                "acme": {
                    "server": "https://acme.example.com/dir",
                    "email": "ops@example.com",
                    "solver": "dns01",
                    "dns01": {"cloudDNS": {"project": "plain1"}},
                },
            }
        },
        "identity": {
            "preset": "generic",
            "issuerUrl": "https://idp.example.com",
            "jwksUri": "https://idp.example.com/keys",
            "clientId": "plain2",
            "scopes": ["openid", "plain3"],
            "claimHeaders": {"x-plain-user": "plain40"},
        },
        "oauth2Proxy": {
            "version": "v7.15.3",
            "image": "quay.io/oauth2-proxy/oauth2-proxy",
            "digest": "sha256:" + "a" * 64,
            "namespace": "sso",
            "replicas": 2,
            "cookie": {
                "name": "plain4",
                "domains": ["example.com"],
                "secure": True,
                "sameSite": "lax",
                "refresh": "30m",
                "expire": "4h",
            },
            "whitelistDomains": ["example.com"],
            "emailDomains": ["plain5"],
            "sessionStore": {"type": "redis", "url": "redis://redis.example.com:6379"},
            "extraArgs": {"banner": "plain6", "oidc-extra-audience": ["plain7"]},
        },
        "apps": [
            {
                "name": "app",
                "namespace": "apps",
                "hosts": ["app.example.com"],
                "service": {"name": "svc", "port": 80},
                "selector": {"app": "plain8"},
                "publicPaths": ["/plain"],
                "authorization": {
                    "audiences": ["plain9"],
                    "emails": ["a@example.com"],
                    "groups": ["plain10"],
                    "principals": ["https://idp.example.com/plain"],
                    "claims": {"team": ["plain11"]},
                },
                "deploy": {"image": "plain12:1.0", "containerPort": 8080, "replicas": 2, "runAsUser": 10001},
                "claimHeaders": {"x-plain-app": "plain41"},
            },
            {"name": "other", "host": "other.example.com"},
        ],
    },
}
SECRETS = {
    "external": {
        "name": "plain13",
        "source": "external-secrets",
        "externalSecret": {
            "storeRef": {"name": "vault", "kind": "ClusterSecretStore"},
            "refreshInterval": "1h",
            "data": {
                "clientSecret": {"key": "plain14", "property": "plain15"},
                "cookieSecret": {"key": "plain16", "property": "plain17"},
                "redisPassword": {"key": "plain18", "property": "plain19"},
            },
        },
    },
    "inline": {
        "name": "plain20",
        "source": "inline",
        "allowPlaintext": True,
        "inline": {"clientSecret": "plain21", "cookieSecret": "0123456789abcdef", "redisPassword": "plain22"},
    },
    "sealed": {
        "name": "plain23",
        "source": "sealed-secrets",
        "sealed": {
            "encryptedData": {
                "client-secret": "plain24A" * 50,
                "cookie-secret": "plain25A" * 50,
                "redis-password": "plain26A" * 50,
            }
        },
    },
}
BASES = {name: {**COMMON, "spec": {**COMMON["spec"], "secret": secret}} for name, secret in SECRETS.items()}
# The topology fields: a service outside the cluster, and authservice in place of oauth2-proxy.
BASES["externals"] = {
    **BASES["external"],
    "spec": {
        **BASES["external"]["spec"],
        "externalServices": [
            {
                "name": "ext",
                "host": "ext.example.com",
                # not the app's "/plain": hosts with equal public paths share one rule, and a
                # value injected here would then change the shape by parting them
                "publicPaths": ["/plain-ext"],
                "upstream": {"host": "api.example.net", "sni": "sni.example.net"},
            }
        ],
    },
}
BASES["authservice"] = {
    **BASES["external"],
    "spec": {
        **{k: v for k, v in BASES["external"]["spec"].items() if k not in ("oauth2Proxy", "secret")},
        "secret": {"name": "plain29"},
        "authorizer": "authservice",
        "mesh": {"extensionProvider": "authservice"},
        "authservice": {
            "version": "plain27",
            "image": "plain28",
            "callbackPath": "/plain/callback",
            "redisUrl": "redis://redis.example.com:6379",
        },
    },
}
# identity's fields: a Keycloak realm with its own claims, lifetime, logout and bearer tokens,
# and Redis behind Sentinel or Cluster with passwords from Secrets.
_SPEC = BASES["external"]["spec"]
BASES["identity"] = {
    **BASES["external"],
    "spec": {
        **_SPEC,
        "identity": {
            "preset": "keycloak",
            "serverUrl": "https://kc.example.com",
            "realm": "plain30",
            "clientId": "plain31",
            "groupsClaim": "plain32",
            "idTokenLifetime": "1h",
            "endSessionUrl": "https://kc.example.com/plain/logout",
            "bearerTokens": {
                "extraIssuers": [
                    {
                        "issuer": "https://idp.example.com",
                        "jwksUri": "https://ci.example.com/k",
                        "audiences": ["plain33"],
                    }
                ]
            },
        },
    },
}
BASES["sentinel"] = {
    **BASES["external"],
    "spec": {
        **_SPEC,
        "oauth2Proxy": {
            **_SPEC["oauth2Proxy"],
            "sessionStore": {
                "type": "redis",
                "username": "plain34",
                "passwordSecret": {"name": "plain35", "key": "plain36"},
                "sentinel": {
                    "masterName": "plain37",
                    "urls": ["redis://s0.example.com:26379"],
                    "passwordSecret": {"name": "plain38", "key": "plain39"},
                },
            },
        },
    },
}
BASES["cluster"] = {
    **BASES["external"],
    "spec": {
        **_SPEC,
        "oauth2Proxy": {
            **_SPEC["oauth2Proxy"],
            "sessionStore": {"type": "redis", "cluster": {"urls": ["redis://c0.example.com:6379"]}},
        },
    },
}

# Fields where another valid value changes what is rendered by design (a version, a choice between
# alternatives, a namespace that may merge with another): fuzzing them for "same shape" would be
# wrong. Each is a closed set (enum, version) or checked by the invalid config cases.
STRUCTURAL = {
    # read by `meshauth gitops`, never rendered into the bundle
    "spec.gitops.engine",
    "spec.gitops.path",
    "spec.gitops.repoUrl",
    "spec.gitops.revision",
    "apiVersion",
    "kind",
    "spec.platform.istioVersion",
    "spec.platform.kubernetesVersion",
    "spec.mesh.mtls",
    "spec.mesh.install",
    "spec.mesh.rootNamespace",
    "spec.ingress.namespace",
    "spec.oauth2Proxy.namespace",
    "spec.apps[].namespace",
    "spec.tls.issuer.kind",
    "spec.tls.issuer.acme.solver",
    "spec.identity.preset",
    "spec.identity.tenant",  # only with preset azure, which changes the issuer
    "spec.secret.source",
    "spec.oauth2Proxy.sessionStore.type",
    "spec.oauth2Proxy.cookie.sameSite",
    "spec.oauth2Proxy.version",
    "spec.oauth2Proxy.extraArgs.{key}",  # a flag name changes flags
    "spec.secret.externalSecret.storeRef.kind",
    "spec.oauth2Proxy.sessionStore.image",  # only with deploy: true; an image like deploy.image
    "spec.apps[].host",  # host and hosts are alternatives; hosts[] is fuzzed
    "spec.apps[].pathPrefix",  # another prefix adds a route match (checked by the invalid cases)
    # topology choices (closed sets) and names that become object names or namespaces
    "spec.authorizer",
    "spec.ingress.api",
    "spec.ingress.gatewayClass",
    "spec.mesh.dataplane",
    "spec.mesh.waypoint",
    "spec.authservice.namespace",
    "spec.authservice.logLevel",
    "spec.authservice.idleSessionTimeout",  # a duration (30m, 1h): its format is checked
    "spec.externalServices[].name",
}


def positions(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every path to a string leaf, and to every key of a free-form map (``path + (KEY, key)``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if _free_form(path):
                yield path + (KEY, key)
            yield from positions(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from positions(item, path + (index,))
    elif isinstance(value, str):
        yield path


def _free_form(path: tuple) -> bool:
    return (
        path[-1:] in (("selector",), ("claims",), ("extraArgs",), ("encryptedData",), ("claimHeaders",))
        or path[-2:] == ("dns01", "cloudDNS")
        or path[-1:] == ("dns01",)
    )


def generic(path: tuple) -> str:
    """``spec.apps[].authorization.claims.{key}``: the schema-level name of a position."""
    text = ""
    for part in path:
        if part is KEY:
            text += ".{key}"
            break
        if isinstance(part, int):
            text += "[]"
        else:
            text += f".{part}" if text else part
    return text


def _collapse(path: tuple) -> tuple:
    """Map keys (selector, claims, dns01 ...) as their key/value positions."""
    out: list = []
    for i, part in enumerate(path):
        if i and _free_form(tuple(path[:i])) and part is not KEY:
            out.append("{value}" if not isinstance(part, int) else part)
        else:
            out.append(part)
    return tuple(out)


# The topology bases are there for their own fields only; every other field is fuzzed in the
# oauth2-proxy bases above (authservice, for one, ignores the oauth2-proxy settings).
OWN_FIELDS = {
    "externals": ("spec", "externalServices"),
    "authservice": ("spec", "authservice"),
    "identity": ("spec", "identity"),
    "sentinel": ("spec", "oauth2Proxy"),
    "cluster": ("spec", "oauth2Proxy"),
}
CASES = sorted(
    {
        (name, path)
        for name, base in BASES.items()
        for path in positions(base)
        if generic(path) not in STRUCTURAL
        and generic(_collapse(path)) not in STRUCTURAL
        and path[:2] == OWN_FIELDS.get(name, path[:2])
    },
    key=lambda c: (generic(c[1]), c[0]),
)
# one case per schema position (the first base that has it); the secret sources each add theirs
CASES = list({generic(_collapse(p)): (n, p) for n, p in reversed(CASES)}.values())


def with_value(base: dict, path: tuple, value: str) -> dict:
    config = copy.deepcopy(base)
    node = config
    for part in path[:-2] if path[-2:-1] == (KEY,) else path[:-1]:
        node = node[part]
    if path[-2:-1] == (KEY,):
        node[value] = node.pop(path[-1])
    else:
        node[path[-1]] = value
    return config


def shape(value: Any, keys: bool = True) -> Any:
    """Keys, list lengths and scalar types; with ``keys=False`` the keys' names do not count (for
    fuzzing a map key, which renames one key somewhere by design)."""
    if isinstance(value, dict):
        if keys:
            return {k: shape(v) for k, v in value.items()}
        return sorted(json.dumps([type(k).__name__, shape(v, False)]) for k, v in value.items())
    if isinstance(value, list):
        return [shape(v, keys) for v in value]
    return type(value).__name__


def _shapes(documents: list, keys: bool) -> list[str]:
    return sorted(json.dumps(shape(d, keys), sort_keys=True) for d in documents)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value
        if value.startswith("{"):  # a JSON document in a ConfigMap (authservice's config)
            try:
                embedded = json.loads(value)
            except ValueError:
                return
            yield from strings(embedded)


def render_stream(config: dict) -> str:
    return meshauth.render(config).to_yaml()


BASELINE = {name: yaml.safe_load_all(render_stream(base)) for name, base in BASES.items()}
BASELINE = {name: list(docs) for name, docs in BASELINE.items()}


def test_the_bases_render():
    for name, docs in BASELINE.items():
        assert len(docs) > 25, name


@pytest.mark.parametrize("case", CASES, ids=[generic(_collapse(p)) + f"[{n}]" for n, p in CASES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(min_size=1, max_size=40))
@example(value="x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: evil}")
@example(value='plain"\nextra: true\n"')
@example(value="plain\n  injected: true")
@example(value="{{ q }} ${VAR} $(cmd) `cmd`")
@example(value="- item\n- item")
@example(value="&anchor *anchor !!python/object:os.system")
@example(value="plain # comment")
@example(value="\u2028\u0085\ufeff")
def test_any_text_in_any_field_is_refused_or_stays_one_value(case, value):
    name, path = case
    try:
        text = render_stream(with_value(BASES[name], path, value))
    except meshauth.ConfigError:
        return
    documents = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in documents] == [d["kind"] for d in BASELINE[name]]
    keys = KEY not in path  # names sort objects, so compare the shapes as a multiset
    assert _shapes(documents, keys) == _shapes(BASELINE[name], keys)
    assert any(value == s or value in s for d in documents for s in strings(d))


# --- every string field of the schema is covered -----------------------------------------------------


def schema_positions(schema: dict) -> set[str]:
    defs = schema.get("$defs", {})
    found: set[str] = set()

    def walk(node: dict, path: str, seen: frozenset) -> None:
        if "$ref" in node:
            name = node["$ref"].split("/")[-1]
            if name not in seen:
                walk(defs[name], path, seen | {name})
            return
        for alternative in node.get("anyOf", []) + node.get("oneOf", []):
            walk(alternative, path, seen)
        kind = node.get("type")
        if kind == "string":
            found.add(path)
        elif kind == "array" and "items" in node:
            walk(node["items"], path + "[]", seen)
        elif kind == "object":
            for key, sub in (node.get("properties") or {}).items():
                walk(sub, f"{path}.{key}" if path else key, seen)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) or extra is True or "propertyNames" in node:
                found.add(f"{path}.{{key}}")
                if isinstance(extra, dict):
                    walk(extra, f"{path}.{{value}}", seen)
        for key in ("discriminator",):
            node.get(key)

    walk(schema, "", frozenset())
    return found


def test_every_string_field_of_the_schema_is_fuzzed_or_structural():
    schema = json.loads((ROOT / "schemas" / "meshauth.schema.json").read_text())
    wanted = schema_positions(schema)
    covered = {generic(_collapse(p)) for _, p in CASES} | STRUCTURAL
    # free-form maps: the schema says "{key}" for the map, the bases fill it with a sample entry
    missing = sorted(w for w in wanted if w not in covered and not _sample_covers(w, covered))
    assert missing == [], f"string fields neither fuzzed nor listed as structural: {missing}"


def _sample_covers(position: str, covered: set[str]) -> bool:
    """dns01 is passed through as is: any key or value below it counts for it."""
    prefix = position.removesuffix(".{key}").removesuffix(".{value}")
    return prefix.endswith("dns01") and any(c.startswith(prefix + ".") for c in covered)
