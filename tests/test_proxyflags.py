"""Tests for meshauth.compat.proxyflags: unit tests, then conformance with the upstream reference.

The reference is each served oauth2-proxy release's own flag set, read from its Go source by
tools/upstream_data.py (tests/upstream_flags.py); the shared folder's ``flags.json`` (every tag's
flags) is a cross-check where present.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import upstream
import upstream_flags

from meshauth.compat import proxyflags
from meshauth.compat.proxyflags import (
    KNOWN_VERSIONS,
    LATEST,
    flag_since,
    flags_for,
    health_paths,
    image_user,
    is_bool_flag,
    is_list_flag,
    parse_version,
)

# --------------------------------------------------------------------------- parse_version


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("v7.2.0", (7, 2, 0)), ("v7.15.3", (7, 15, 3)), ("v0.1.0", (0, 1, 0)), ("v10.0.12", (10, 0, 12))],
)
def test_parse_version_accepts_release_tags(tag, expected):
    assert parse_version(tag) == expected


@pytest.mark.parametrize(
    "tag",
    [
        "7.2.0",
        "v7.2",
        "v7",
        "v7.2.0-rc.1",
        "v7.2.0+build",
        " v7.2.0",
        "v7.2.0\n",
        "V7.2.0",
        "v07.2.0",
        "v7.02.0",
        "v7.2.x",
        "",
        "latest",
        None,
        7.2,
    ],
)
def test_parse_version_refuses_anything_else(tag):
    with pytest.raises(ValueError):
        parse_version(tag)


# --------------------------------------------------------------------------- versions


def test_known_versions_are_sorted_unique_release_tags():
    parsed = [parse_version(tag) for tag in KNOWN_VERSIONS]
    assert parsed == sorted(parsed)
    assert len(set(parsed)) == len(parsed)
    assert KNOWN_VERSIONS[0] == "v7.0.0"
    assert KNOWN_VERSIONS[-1] == LATEST == "v7.15.3"


@pytest.mark.parametrize("tag", ["v7.1.3", "v7.2.1", "v7.5.1", "v7.8.2", "v7.14.3", "v7.15.2"])
def test_known_versions_include_patch_releases(tag):
    assert tag in KNOWN_VERSIONS


@pytest.mark.parametrize("tag", ["v7.14.4", "v7.10.1", "v7.16.0", "v6.1.1"])
def test_known_versions_exclude_tags_that_were_never_v7_releases(tag):
    assert tag not in KNOWN_VERSIONS


# --------------------------------------------------------------------------- health and image


@pytest.mark.parametrize("tag", ["v7.0.0", "v7.2.0", "v7.4.0"])
def test_health_paths_before_readiness_endpoint(tag):
    assert health_paths(tag) == ("/ping", "/ping")


@pytest.mark.parametrize("tag", ["v7.5.0", "v7.5.1", "v7.15.3", "v7.99.0"])
def test_health_paths_with_readiness_endpoint(tag):
    assert health_paths(tag) == ("/ping", "/ready")


def test_ready_path_flag_agrees_with_health_paths():
    for tag in KNOWN_VERSIONS:
        has_ready = "ready-path" in flags_for(tag)
        assert (health_paths(tag)[1] == "/ready") == has_ready, tag


@pytest.mark.parametrize(("tag", "uid"), [("v7.0.0", 2000), ("v7.2.0", 2000), ("v7.2.1", 2000)])
def test_image_user_before_nonroot_uid(tag, uid):
    assert image_user(tag) == uid


@pytest.mark.parametrize("tag", ["v7.3.0", "v7.6.0", "v7.15.3", "v8.0.0"])
def test_image_user_nonroot_uid(tag):
    assert image_user(tag) == 65532


@pytest.mark.parametrize("func", [image_user, health_paths, flags_for])
def test_pre_v7_and_malformed_versions_are_refused(func):
    for bad in ("v6.1.1", "7.2.0", "v7.2"):
        with pytest.raises(ValueError):
            func(bad)


# --------------------------------------------------------------------------- flags


V7_2_CORE = {
    "upstream",
    "http-address",
    "cookie-refresh",
    "set-xauthrequest",
    "set-authorization-header",
    "skip-jwt-bearer-tokens",
    "whitelist-domain",
    "cookie-samesite",
    "reverse-proxy",
    "email-domain",
    "cookie-domain",
    "skip-auth-route",
    "client-id",
    "cookie-secret",
    "provider",
    "oidc-issuer-url",
    "ping-path",
    "config",
    "version",
    "alpha-config",
}


def test_core_flags_exist_in_v7_2_0():
    assert V7_2_CORE - flags_for("v7.2.0") == set()


def test_ready_path_arrives_in_v7_5_0():
    assert "ready-path" not in flags_for("v7.2.0")
    assert "ready-path" not in flags_for("v7.4.0")
    assert "ready-path" in flags_for("v7.5.0")
    assert flag_since("ready-path") == "v7.5.0"


@pytest.mark.parametrize(
    ("flag", "since"),
    [
        ("force-json-errors", "v7.2.0"),
        ("code-challenge-method", "v7.3.0"),
        ("bearer-token-login-fallback", "v7.9.0"),
        ("config-test", "v7.15.0"),
        ("trusted-proxy-ip", "v7.15.2"),
    ],
)
def test_flags_added_by_later_releases(flag, since):
    assert flag_since(flag) == since
    previous = KNOWN_VERSIONS[KNOWN_VERSIONS.index(since) - 1]
    assert flag not in flags_for(previous)
    assert flag in flags_for(since)


def test_flag_since_unknown_and_dashed_names():
    assert flag_since("no-such-flag") is None
    assert flag_since("--upstream") == flag_since("upstream") == "v7.0.0"


def test_flag_sets_only_grow_within_v7():
    for older, newer in zip(KNOWN_VERSIONS, KNOWN_VERSIONS[1:]):
        assert flags_for(older) <= flags_for(newer), (older, newer)


def test_every_flag_is_in_latest_and_since_is_a_known_release():
    latest = flags_for(LATEST)
    for name, (since, removed) in proxyflags._FLAGS.items():
        assert since in KNOWN_VERSIONS, name
        assert removed is None or removed in KNOWN_VERSIONS, name
        assert (name in latest) == (removed is None), name


def test_versions_between_or_after_releases():
    assert flags_for("v7.99.0") == flags_for(LATEST)
    assert flags_for("v8.0.0") == flags_for(LATEST)
    assert flags_for("v7.14.4") == flags_for("v7.14.3")  # not a release, but ordered like one
    assert flags_for("v7.0.0") < flags_for("v7.1.0")


def test_flags_for_is_cached_and_immutable():
    assert isinstance(flags_for("v7.2.0"), frozenset)
    assert flags_for("v7.2.0") is flags_for("v7.2.0")


def test_flag_kinds():
    for name in (
        "upstream",
        "email-domain",
        "cookie-domain",
        "whitelist-domain",
        "skip-auth-route",
        "--upstream",
    ):
        assert is_list_flag(name), name
    for name in ("reverse-proxy", "set-xauthrequest", "skip-jwt-bearer-tokens", "--cookie-secure"):
        assert is_bool_flag(name), name
    for name in ("http-address", "cookie-refresh", "cookie-samesite", "unknown"):
        assert not is_list_flag(name) and not is_bool_flag(name), name
    assert not is_bool_flag("google-use-application-default-credentials")  # a string flag upstream


def test_kind_tables_only_name_known_flags_and_do_not_overlap():
    known = set(proxyflags._FLAGS)
    assert proxyflags._LIST_FLAGS - known == set()
    assert proxyflags._BOOL_FLAGS - known == set()
    assert proxyflags._LIST_FLAGS & proxyflags._BOOL_FLAGS == set()


# --------------------------------------------------------------------------- upstream conformance


def _reference_flags() -> list[dict]:
    """The shared folder's flags.json (every tag), a cross-check that only the project's machines
    have; a fresh clone checks against the fetched per-release data instead."""
    shared = upstream.shared_dir()
    env = os.environ.get("MESHAUTH_SHARED_REF")
    ref = Path(env) if env else shared
    path = (ref or Path("/nonexistent")) / "oauth2-proxy" / "flags.json"
    if not path.is_file():
        pytest.skip(f"cross-check only: {path} is absent; the fetched per-release flags are checked instead")
    return json.loads(path.read_text(encoding="utf-8"))


def _served() -> dict[str, dict[str, list[str]]]:
    by_version = upstream_flags.flags_by_version()
    if by_version is None:
        pytest.skip("the reference has no flags-by-version.json: run python tools/upstream_data.py")
    return by_version


def test_conformance_flags_of_every_served_release():
    """meshauth's table names exactly the flags each release the Go module proxy serves defines."""
    wrong = {}
    for version, flags in _served().items():
        if parse_version(version) > parse_version(LATEST):
            continue  # newer than meshauth knows: checked against LATEST (a config warning says so)
        actual, expected = flags_for(version), set(flags)
        if actual != expected:
            wrong[version] = {"missing": sorted(expected - actual), "extra": sorted(actual - expected)}
    assert wrong == {}


def test_conformance_since_lies_between_the_served_releases():
    """A flag's ``since`` is the first served release that has it, or a release in the gap before."""
    served = sorted(_served(), key=parse_version)
    wrong = {}
    for name in set().union(*(_served()[v] for v in served)):
        first = next(i for i, v in enumerate(served) if name in _served()[v])
        if parse_version(served[first]) > parse_version(LATEST):
            continue  # a flag of a release newer than meshauth knows
        low = parse_version(served[first - 1]) if first else (0, 0, 0)
        since = flag_since(name)
        if since is None or not low < parse_version(since) <= parse_version(served[first]):
            wrong[name] = (since, served[first])
    assert wrong == {}, "flag: (ours, first served release upstream)"


def test_conformance_env_vars_are_the_ones_the_cfg_tags_bind():
    latest = _served()[
        max((v for v in _served() if parse_version(v) <= parse_version(LATEST)), key=parse_version)
    ]
    bound = {e for envs in latest.values() for e in envs}
    assert {"OAUTH2_PROXY_EMAIL_DOMAINS", "OAUTH2_PROXY_UPSTREAMS", "OAUTH2_PROXY_COOKIE_SECRET"} <= bound
    assert latest["email-domain"] == ["OAUTH2_PROXY_EMAIL_DOMAINS"]


def test_conformance_flags_of_v7_2_0():
    expected = {flag["name"] for flag in _reference_flags() if flag["in_v7_2_0"]}
    actual = flags_for("v7.2.0")
    assert {"missing": sorted(expected - actual), "extra": sorted(actual - expected)} == {
        "missing": [],
        "extra": [],
    }


def test_conformance_flags_of_latest():
    expected = {flag["name"] for flag in _reference_flags() if flag["in_latest"]}
    actual = flags_for("v7.15.3")
    assert {"missing": sorted(expected - actual), "extra": sorted(actual - expected)} == {
        "missing": [],
        "extra": [],
    }


def test_conformance_since_for_v7_flags():
    reference = {
        flag["name"]: flag["since"]
        for flag in _reference_flags()
        if str(flag["since"]).startswith("v7.")  # older tags (e.g. "v2.1") are not vX.Y.Z
    }
    wrong = {
        name: (flag_since(name), since) for name, since in reference.items() if flag_since(name) != since
    }
    assert wrong == {}, "flag: (ours, upstream)"


@pytest.mark.parametrize(
    ("words", "read"),
    [
        (["--client-id=web", "--email-domain", "*"], [(0, "client-id", "web"), (1, "email-domain", "*")]),
        # a bool flag alone is true, and does not take the next word: that word is no flag
        (["--skip-provider-button", "web"], [(0, "skip-provider-button", "true"), (1, None, "web")]),
        (["--skip-provider-button=false"], [(0, "skip-provider-button", "false")]),
        (["-cookie-secure", "--upstream"], [(0, "cookie-secure", "true"), (1, "upstream", "true")]),
        (["--cookie-domain="], [(0, "cookie-domain", "")]),
        (["--", "oauth2-proxy"], [(0, None, "--"), (1, None, "oauth2-proxy")]),
    ],
)
def test_the_command_line_is_read_as_oauth2_proxy_reads_it(words, read):
    # One reader for the rules, the import and simulate's login.
    assert list(proxyflags.command_line(words)) == read
