"""MA021: a header the gateway fills from a verified token must not also take the client's copy.

Each test is the gateway of tests/manifests/bad/MA021-claim-header-a-client-can-send.yaml with one
change, and the findings a platform engineer would expect from it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshauth.validation.rules import registry

BAD = Path(__file__).parent / "manifests" / "bad" / "MA021-claim-header-a-client-can-send.yaml"
BASE = [d for d in yaml.safe_load_all(BAD.read_text()) if d]


def ma021(jwt_rule: dict[str, Any], *extra: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, header named first in the message) of each MA021 finding; fails on a crashed rule."""
    docs = copy.deepcopy(BASE)
    request_authentication = next(d for d in docs if d["kind"] == "RequestAuthentication")
    request_authentication["spec"]["jwtRules"] = [
        {"issuer": "https://idp.example.com", "jwksUri": "https://idp.example.com/keys", **jwt_rule}
    ]
    findings = [f for f in registry.check([*docs, *extra], istio_version=(1, 24)) if f.rule == "MA021"]
    assert not [f for f in findings if f.message.startswith("internal error")]
    return [(f.path, f.message.split()[1]) for f in findings]


def lua_removal(*headers: str, **patch: Any) -> dict[str, Any]:
    code = (
        "function envoy_on_request(h)\n"
        + "".join(f'  h:headers():remove("{name}")\n' for name in headers)
        + "end\n"
    )
    value = {
        "name": "remove-identity-headers",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "inline_code": code,
        },
    }
    entry = {
        "applyTo": "HTTP_FILTER",
        "match": {"context": "GATEWAY"},
        "patch": {"operation": "INSERT_FIRST", "value": value},
        **patch,
    }
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": "identity-headers", "namespace": "istio-system"},
        "spec": {"workloadSelector": {"labels": {"istio": "ingressgateway"}}, "configPatches": [entry]},
    }


def test_the_whole_verified_payload_in_a_header_is_as_spoofable_as_a_claim():
    assert ma021({"outputPayloadToHeader": "x-jwt-payload"}) == [
        ("spec.jwtRules[0].outputPayloadToHeader", "x-jwt-payload")
    ]
    assert ma021({"outputPayloadToHeader": "x-jwt-payload"}, lua_removal("X-JWT-Payload")) == []


def test_a_removed_header_does_not_hide_the_next_one():
    rule = {
        "outputClaimToHeaders": [
            {"header": "x-user-email", "claim": "email"},
            {"header": "x-user-groups", "claim": "groups"},
        ],
        "outputPayloadToHeader": "x-jwt-payload",
    }
    assert ma021(rule, lua_removal("x-user-email")) == [
        ("spec.jwtRules[0].outputClaimToHeaders[1].header", "x-user-groups"),
        ("spec.jwtRules[0].outputPayloadToHeader", "x-jwt-payload"),
    ]


@pytest.mark.parametrize("header", ["", 7, None, ["x-user-email"]])
def test_a_header_that_is_not_a_name_is_the_schemas_to_report(header):
    rule = {
        "outputClaimToHeaders": [{"header": header, "claim": "email"}, {"header": "x-user", "claim": "sub"}]
    }
    assert ma021(rule) == [("spec.jwtRules[0].outputClaimToHeaders[1].header", "x-user")]


@pytest.mark.parametrize(
    "patch",
    [
        {"patch": "INSERT_FIRST"},
        {"patch": ["INSERT_FIRST"]},
        {"patch": {"operation": "INSERT_FIRST", "value": "lua"}},
        {"patch": {"operation": "INSERT_FIRST", "value": {"typed_config": "lua"}}},
    ],
)
def test_an_envoy_filter_of_the_wrong_shape_removes_nothing_and_breaks_no_rule(patch):
    rule = {"outputClaimToHeaders": [{"header": "x-user-email", "claim": "email"}]}
    assert ma021(rule, lua_removal("x-user-email", **patch)) == [
        ("spec.jwtRules[0].outputClaimToHeaders[0].header", "x-user-email")
    ]


def test_a_match_that_is_not_a_mapping_is_read_as_no_match_and_breaks_no_rule():
    # The CRD schema refuses it; until then the patch counts as applying everywhere, as without one.
    rule = {"outputClaimToHeaders": [{"header": "x-user-email", "claim": "email"}]}
    assert ma021(rule, lua_removal("x-user-email", match="GATEWAY")) == []


def test_config_patches_that_are_not_a_list_remove_nothing():
    broken = lua_removal("x-user-email")
    broken["spec"]["configPatches"] = {"applyTo": "HTTP_FILTER"}
    rule = {"outputClaimToHeaders": [{"header": "x-user-email", "claim": "email"}]}
    assert ma021(rule, broken) == [("spec.jwtRules[0].outputClaimToHeaders[0].header", "x-user-email")]
