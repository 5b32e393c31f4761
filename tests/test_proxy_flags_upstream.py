"""Every example and valid case puts on oauth2-proxy's command line only flags that its chosen
release defines, and binds only environment variables that oauth2-proxy reads, per upstream's
flags.json (extracted from the Go source at every tag)."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, VALID_CASES
from upstream_flags import proxy_problems

import meshauth

# configs with authorizer: authservice render no oauth2-proxy to check
CONFIGS = [p for p in EXAMPLES + VALID_CASES if meshauth.load_config(p).spec.authorizer == "oauth2-proxy"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_flags_and_variables_exist_in_the_chosen_release(path):
    config = meshauth.load_config(path)
    assert proxy_problems(meshauth.render(config), config.spec.oauth2_proxy.version) == []


def test_a_flag_the_release_lacks_is_caught(monkeypatch):
    from meshauth.compat import proxyflags
    from meshauth.rendering.aspects import proxyargs as oauth2proxy

    config = meshauth.load_config(VALID_CASES[0])
    monkeypatch.setattr(proxyflags, "flags_for", lambda version: frozenset({"provider"}))
    with pytest.raises(AssertionError, match="meshauth bug: oauth2-proxy .* has no"):
        oauth2proxy.args(config.spec, "oidc", [])
