"""MA020 on hand-written mesh configs: a field Istio's MeshConfig does not have in the target
release, or not at that level. One finding at the exact field, with where it belongs when that is
one level down; fields every release has, in either spelling, are silent."""

from __future__ import annotations

import pytest

import meshauth

OPERATOR = "IstioOperator istio-system/mesh"
PROVIDERS = "spec.meshConfig.extensionProviders"


def operator(mesh_config):
    return {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "metadata": {"name": "mesh", "namespace": "istio-system"},
        "spec": {"meshConfig": mesh_config},
    }


def provider(**fields):
    return {
        "name": "oauth2-proxy",
        "envoyExtAuthzHttp": {"service": "o.o.svc.cluster.local", "port": 4180},
        **fields,
    }


def ma020(mesh_config, version=None):
    findings = meshauth.validate([operator(mesh_config)], istio_version=version)
    return [(f.object, f.path, f.message.split(";")[0]) for f in findings if f.rule == "MA020"]


def test_a_correct_mesh_config_in_either_spelling_is_silent():
    assert ma020({"rootNamespace": "istio-system", "extensionProviders": [provider()]}) == []
    assert ma020({"root_namespace": "istio-system", "extension_providers": [provider()]}, "1.20") == []


def test_a_port_beside_the_provider_kind_belongs_inside_it():
    assert ma020({"extensionProviders": [provider(port=4180)]}, "1.20") == [
        (
            OPERATOR,
            f"{PROVIDERS}[0].port",
            "port is not a field of ExtensionProvider in Istio 1.20 (it belongs inside envoyExtAuthzHttp, one level down)",
        )
    ]


def test_the_istio_operator_is_refused_and_the_config_map_field_dropped():
    [finding] = [f for f in meshauth.validate([operator({"rootNamespaces": "x"})]) if f.rule == "MA020"]
    assert finding.message.endswith(
        "istioctl refuses this IstioOperator. Move the field to where it belongs, or remove it"
    )
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": "istio-system"},
        "data": {"mesh": "rootNamespaces: x\n"},
    }
    [finding] = [f for f in meshauth.validate([config_map]) if f.rule == "MA020"]
    assert (finding.path, "istiod drops it without a word" in finding.message) == (
        "data.mesh.rootNamespaces",
        True,
    )


def test_an_unknown_field_names_the_release_and_where_it_would_be_a_field():
    assert ma020({"rootNamespaces": "x"}) == [
        (
            OPERATOR,
            "spec.meshConfig.rootNamespaces",
            "rootNamespaces is not a field of MeshConfig in any Istio release",
        )
    ]
    [(_, path, message)] = ma020({"extensionProviders": [provider(rootNamespace="x")]}, "1.20")
    assert path == f"{PROVIDERS}[0].rootNamespace"
    assert message == (
        "rootNamespace is not a field of ExtensionProvider in Istio 1.20 "
        "(rootNamespace is a field of MeshConfig: is it at the wrong level?)"
    )


def test_at_most_three_other_places_are_named():
    [(_, _, message)] = ma020({"service": "x"}, "1.20")
    named = message.split("(service is a field of ")[1].split(":")[0].split(", ")
    assert len(named) == 3 and named == sorted(named) and "MeshConfig" not in named


@pytest.mark.parametrize(
    "field, version, reported",
    [
        ("hboneIdleTimeout", None, None),  # some release has it
        ("hboneIdleTimeout", "1.28", "from Istio 1.29, not in Istio 1.28"),
        ("hboneIdleTimeout", "1.29", None),
        ("hboneIdleTimeout", "1.40", None),  # newer than the table: its newest release
        ("mixerAddress", "1.7", None),
        ("mixerAddress", "1.8", "until Istio 1.7, not in Istio 1.8"),
        ("mixerAddress", "1.5", None),  # older than the table: its oldest release
        ("thriftConfig", "1.16", None),
        ("thriftConfig", "1.17", "until Istio 1.16, not in Istio 1.17"),
    ],
)
def test_a_field_outside_the_target_release(field, version, reported):
    expected = (
        []
        if reported is None
        else [
            (OPERATOR, f"spec.meshConfig.{field}", f"{field} is a field of the mesh config only {reported}")
        ]
    )
    assert ma020({field: "x"}, version) == expected


def test_a_newer_check_header_field_is_left_to_ma014_but_other_new_fields_are_not():
    http = {
        "service": "o.o.svc.cluster.local",
        "port": 4180,
        "includeRequestHeadersInCheck": ["cookie"],
        "timeout": "1s",
    }
    assert ma020({"extensionProviders": [{"name": "o", "envoyExtAuthzHttp": http}]}, "1.9") == [
        (
            OPERATOR,
            f"{PROVIDERS}[0].envoyExtAuthzHttp.timeout",
            "timeout is a field of the mesh config only from Istio 1.10, not in Istio 1.9",
        )
    ]


def test_nested_messages_and_list_items_are_read_but_not_other_schemas():
    config = {
        "extensionProviders": [
            "junk",
            provider(),
            {"name": "x", "envoyExtAuthzHttp": {"service": "s", "prot": 1}},
        ],
        "defaultConfig": {"notAProxyConfigField": True},  # a ProxyConfig: not entered
        "caCertificates": [{"pem": "x", "spiffeBundleUrl": "y", "nope": 1}],
    }
    assert [path for _, path, _ in ma020(config, "1.20")] == [
        f"{PROVIDERS}[2].envoyExtAuthzHttp.prot",
        "spec.meshConfig.caCertificates[0].nope",
    ]


def test_each_faulty_field_of_a_level_is_its_own_finding():
    config = {
        "rootNamespaces": "x",
        "mixerAddress": "y",
        "hboneIdleTimeout": "1s",
        "trustDomain": "z",
        "nope": 1,
    }
    assert [path for _, path, _ in ma020(config, "1.20")] == [
        "spec.meshConfig.rootNamespaces",
        "spec.meshConfig.mixerAddress",
        "spec.meshConfig.hboneIdleTimeout",
        "spec.meshConfig.nope",
    ]


def test_a_target_older_than_the_table_is_judged_as_its_oldest_release():
    assert ma020({"hboneIdleTimeout": "1s"}, "1.5") == [
        (
            OPERATOR,
            "spec.meshConfig.hboneIdleTimeout",
            "hboneIdleTimeout is a field of the mesh config only from Istio 1.29, not in Istio 1.6",
        )
    ]


def test_a_grpc_providers_newer_field_is_reported_here_not_left_to_ma014():
    # MA014 names the release of the HTTP provider's newer fields only
    grpc = {
        "service": "o.o.svc.cluster.local",
        "port": 9000,
        "includeRequestBodyInCheck": {"maxRequestBytes": 1},
    }
    assert ma020({"extensionProviders": [{"name": "o", "envoyExtAuthzGrpc": grpc}]}, "1.9") == [
        (
            OPERATOR,
            f"{PROVIDERS}[0].envoyExtAuthzGrpc.includeRequestBodyInCheck",
            "includeRequestBodyInCheck is a field of the mesh config only from Istio 1.10, not in Istio 1.9",
        )
    ]
