"""Envoy's own API types accept the Envoy config meshauth writes into EnvoyFilters: the ext_authz
login filter and its per-route switch (Istio 1.6-1.8) and the identity-headers Lua filter (every
version), parsed strictly (unknown fields refused, each ``typed_config`` resolved against the types
of that Envoy release, protoc-gen-validate rules applied) by go-control-plane at the release cut
with the Envoy each Istio minor ships (tests/envoyapi.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import ROOT
from envoyapi import check
from test_istioapi import CONFIGS, at

# 1.6-1.8: the login EnvoyFilter, each against its own Envoy; 1.9 on: the Lua filter, recent Envoy API
ISTIO = ["1.6", "1.7", "1.8", "1.9", "1.24", "1.32"]


def patches(istio: str, rendered: list[str] | None = None) -> list[tuple[str, str, str, Any]]:
    """(label, applyTo, operation, value) of every EnvoyFilter patch the configs render (the
    configs that render at this version are appended to ``rendered``)."""
    found = []
    for path in CONFIGS:
        bundle = at(path, istio)
        if bundle is not None and rendered is not None:
            rendered.append(str(path))
        for obj in bundle.objects if bundle else []:
            if obj["kind"] == "EnvoyFilter":
                for index, patch in enumerate(obj["spec"]["configPatches"]):
                    label = f"{path.relative_to(ROOT)}: EnvoyFilter/{obj['metadata']['name']} patch {index}"
                    found.append(
                        (label, patch["applyTo"], patch["patch"]["operation"], patch["patch"]["value"])
                    )
    return found


def login_filter(istio: str) -> dict[str, Any]:
    return next(v for label, _, op, v in patches(istio) if "-login " in label and op == "INSERT_BEFORE")


@pytest.mark.parametrize("istio", ISTIO, ids=[f"istio-{v}" for v in ISTIO])
def test_envoy_accepts_every_rendered_envoyfilter_patch(istio):
    rendered: list[str] = []
    found = patches(istio, rendered)
    errors = check(istio, [(apply_to, op, value) for _, apply_to, op, value in found])
    assert [f"{label}: {e}" for (label, *_), e in zip(found, errors) if e] == []
    names = {value.get("name") for _, apply_to, _, value in found if apply_to == "HTTP_FILTER"}
    login = istio in {"1.6", "1.7", "1.8"}
    assert names == (
        {"envoy.lua", "envoy.filters.http.ext_authz"}
        if istio == "1.6"
        else {"envoy.filters.http.lua", "envoy.filters.http.ext_authz"}
        if login
        else {"envoy.filters.http.lua"}
    )
    if login:  # public paths: ext_authz switched off per route
        assert any(apply_to == "HTTP_ROUTE" for _, apply_to, _, _ in found)
    # every config that renders at this version has its identity-headers filter checked
    lua = [label for label, _, _, value in found if "lua" in value.get("name", "")]
    assert len(lua) == len(rendered) > 20


@pytest.mark.parametrize("istio", ["1.6", "1.7", "1.8", "1.32"])
def test_a_misspelled_field_in_a_patch_is_refused(istio):
    value = copy.deepcopy(next(v for label, _, _, v in patches(istio) if "identity-headers" in label))
    value["typed_config"]["inline_cod"] = value["typed_config"].pop("inline_code")
    [error] = check(istio, [("HTTP_FILTER", "INSERT_FIRST", value)])
    assert error is not None and 'unknown field "inline_cod"' in error


@pytest.mark.parametrize("istio", ["1.6", "1.7", "1.8"])
def test_the_login_filter_is_checked_inside_its_typed_config(istio):
    value = copy.deepcopy(login_filter(istio))
    response = value["typed_config"]["http_service"]["authorization_response"]
    response["allowed_upstream_header"] = response.pop("allowed_upstream_headers")
    empty_uri = copy.deepcopy(login_filter(istio))
    empty_uri["typed_config"]["http_service"]["server_uri"]["uri"] = ""
    misspelled, invalid = check(
        istio, [("HTTP_FILTER", "INSERT_BEFORE", value), ("HTTP_FILTER", "INSERT_BEFORE", empty_uri)]
    )
    assert misspelled is not None and 'unknown field "allowed_upstream_header"' in misspelled
    assert invalid is not None and "Uri" in invalid  # protoc-gen-validate: uri must not be empty


@pytest.mark.parametrize("istio", ["1.6", "1.7", "1.8"])
def test_envoy_before_1_17_has_no_client_headers_on_allow(istio):
    # why meshauth cannot pass oauth2-proxy's refreshed Set-Cookie to the browser before Istio 1.9
    value = copy.deepcopy(login_filter(istio))
    response = value["typed_config"]["http_service"]["authorization_response"]
    response["allowed_client_headers_on_success"] = {"patterns": [{"exact": "set-cookie"}]}
    [error] = check(istio, [("HTTP_FILTER", "INSERT_BEFORE", value)])
    assert error is not None and 'unknown field "allowed_client_headers_on_success"' in error


def test_an_xds_v2_type_is_unknown_to_a_recent_envoy():
    v2 = copy.deepcopy(next(v for label, _, _, v in patches("1.6") if "identity-headers" in label))
    [error] = check("1.32", [("HTTP_FILTER", "INSERT_FIRST", v2)])
    assert error is not None and "envoy.config.filter.http.lua.v2.Lua" in error
