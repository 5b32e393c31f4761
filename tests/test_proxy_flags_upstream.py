"""Every example and valid case puts on oauth2-proxy's command line only flags that its chosen
release defines, and binds only environment variables that oauth2-proxy reads, per upstream's Go
source of each release (tests/upstream_flags.py); and rendered for every release the Go module proxy
serves, no config gets a flag that release would refuse ("flag provided but not defined")."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, VALID_CASES
from upstream_flags import flags_by_version, proxy_problems

import meshauth
from meshauth.compat.proxyflags import LATEST, parse_version

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


def test_every_served_release_defines_every_flag_each_config_renders_for_it():
    served = flags_by_version()
    if served is None:
        pytest.skip("the reference has no flags-by-version.json: run python tools/upstream_data.py")
    problems, checked = [], 0
    for version in sorted(served, key=parse_version):
        if parse_version(version) > parse_version(LATEST):
            continue
        for path in CONFIGS:
            data = meshauth.load_config(path).model_dump(mode="json", by_alias=True, exclude_none=True)
            data["spec"]["oauth2Proxy"]["version"] = version
            try:
                config = meshauth.load_config(data, allow_plaintext_secrets=True)
            except meshauth.ConfigError:
                continue  # a feature that release lacks is refused when loading, and never rendered
            problems += [
                f"{path.stem} at {version}: {p}" for p in proxy_problems(meshauth.render(config), version)
            ]
            checked += 1
    assert problems == []
    assert checked > 100
