"""Property test: over generated apps that split one host by pathPrefix, every request goes to the
app with the longest prefix that owns its path (as docs/config.md says), and gets in exactly when
that app's own authorization admits the user; no app's policy opens another's part."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meshauth
from meshauth.authz.simulate import Request, environment_for, evaluate

HOST = "ml.example.org"
PREFIXES = ["/a/", "/a/b/", "/ab/", "/b", "/b/c/", "/c/"]
PATHS = [
    "/",
    "/a",
    "/a/",
    "/a/x",
    "/a/b",
    "/a/b/x",
    "/ab",
    "/ab/x",
    "/abc",
    "/b",
    "/bx",
    "/b/c/x",
    "/c",
    "/c/d",
    "/z",
]
GROUPS = ["g0", "g1", "g2", "g3", "g4", "g5", "g6"]


def owns(prefix: str, path: str) -> bool:
    return path.startswith(prefix) or (prefix != "/" and prefix.endswith("/") and path == prefix[:-1])


def catches_sibling(prefixes: list[str]) -> bool:
    return any(
        p != q and not p.endswith("/") and q.startswith(p) and not q.startswith(p + "/")
        for p in prefixes
        for q in prefixes
    )


@st.composite
def layouts(draw):
    chosen = draw(st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=4, unique=True))
    root = draw(st.booleans())
    prefixes = (["/"] if root else []) + chosen
    if catches_sibling(prefixes):
        prefixes = [p for p in prefixes if p != "/b"]  # /b would catch /b/c/: a config error
    return prefixes


def config(prefixes: list[str]) -> dict:
    apps = [
        {
            "name": f"app{i}",
            "namespace": "ml",
            "host": HOST,
            "pathPrefix": prefix,
            "service": {"name": f"svc{i}"},
            "authorization": {"groups": [GROUPS[i]]},
        }
        for i, prefix in enumerate(prefixes)
    ]
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": "ml"},
        "spec": {
            "platform": {"istioVersion": "1.26"},
            "tls": {"issuer": {"acme": {"email": "ops@example.org"}}},
            "identity": {
                "issuerUrl": "https://idp.example.org",
                "jwksUri": "https://idp.example.org/keys",
                "clientId": "ml",
            },
            "apps": apps,
        },
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts(), st.sampled_from(PATHS), st.integers(min_value=0, max_value=len(GROUPS) - 1))
def test_longest_prefix_wins_and_only_its_own_authorization_admits(prefixes, path, group):
    model = meshauth.load_config(config(prefixes))
    bundle = meshauth.render(model)
    claims = {
        "iss": "https://idp.example.org",
        "aud": "ml",
        "email": "u@example.org",
        "groups": [GROUPS[group]],
    }
    decision = evaluate(bundle, Request(host=HOST, path=path, claims=claims), environment_for(model))
    owners = [i for i, prefix in enumerate(prefixes) if owns(prefix, path)]
    if not owners:
        assert decision.status == 404, decision.explain()
        return
    owner = max(owners, key=lambda i: len(prefixes[i]))
    if owner == group:
        assert decision.allowed and decision.destination == f"svc{owner}.ml.svc.cluster.local", (
            decision.explain()
        )
    else:
        assert (decision.allowed, decision.status) == (False, 403), decision.explain()
