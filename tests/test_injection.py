"""No string in any free-text config field can break the YAML or add keys, objects or documents.

For each field, a value is either refused by the config (ConfigError) or rendered as exactly one
value: the output has the same documents and the same shape (keys, list lengths) as with a plain
value, and the text appears unchanged.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import meshauth

BASE = {
    "apiVersion": "meshauth.dev/v1alpha1",
    "kind": "MeshAuthConfig",
    "metadata": {"name": "inj"},
    "spec": {
        "platform": {"istioVersion": "1.22"},
        "tls": {},
        "identity": {
            "issuerUrl": "https://idp.example.com",
            "jwksUri": "https://idp.example.com/k",
            "clientId": "plain",
            "scopes": ["openid", "plain"],
        },
        "secret": {
            "source": "external-secrets",
            "externalSecret": {
                "storeRef": {"name": "vault"},
                "data": {
                    "clientSecret": {"key": "plain", "property": "plain"},
                    "cookieSecret": {"key": "plain"},
                },
            },
        },
        "oauth2Proxy": {"emailDomains": ["plain"], "extraArgs": {"banner": "plain"}},
        "apps": [
            {
                "name": "app",
                "host": "app.example.com",
                "authorization": {"audiences": ["plain"], "groups": ["plain"], "claims": {"team": ["plain"]}},
                "deploy": {"image": "plain:1.0"},
            }
        ],
    },
}

# Every field that takes free text, as a path into BASE.
FIELDS = [
    ("spec", "identity", "clientId"),
    ("spec", "identity", "scopes", 1),
    ("spec", "secret", "externalSecret", "data", "clientSecret", "key"),
    ("spec", "secret", "externalSecret", "data", "clientSecret", "property"),
    ("spec", "oauth2Proxy", "emailDomains", 0),
    ("spec", "oauth2Proxy", "extraArgs", "banner"),
    ("spec", "apps", 0, "authorization", "audiences", 0),
    ("spec", "apps", 0, "authorization", "groups", 0),
    ("spec", "apps", 0, "authorization", "claims", "team", 0),
    ("spec", "apps", 0, "deploy", "image"),
]


def _with(path, value):
    config = copy.deepcopy(BASE)
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return config


def _shape(value):
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def _values(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _values(v)
    else:
        yield value


BASELINE = {
    path: meshauth.render(_with(path, "plain:1.0" if path[-1] == "image" else "plain")) for path in FIELDS
}


@pytest.mark.parametrize("path", FIELDS, ids=lambda p: ".".join(map(str, p)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(min_size=1))
@example(value="x\n---\napiVersion: v1\nkind: Secret")
@example(value='plain"\nspec: {}\n')
@example(value="plain\n  injected: true")
@example(value="{{ q }}")
def test_a_field_value_is_always_one_value(path, value):
    try:
        bundle = meshauth.render(_with(path, value))
    except meshauth.ConfigError:
        return  # refused with a message: fine
    baseline = BASELINE[path]
    text = bundle.to_yaml()
    documents = list(yaml.safe_load_all(text))
    assert len(documents) == len(baseline.objects)
    # the same keys and list lengths everywhere: the value added no structure
    assert [_shape(d) for d in documents] == [_shape(o) for o in baseline.objects]
    assert any(value == v or (isinstance(v, str) and value in v) for d in documents for v in _values(d))
