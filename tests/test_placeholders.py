"""The starter's stand-ins (example.com addresses, the example client id, the all-zero tenant) are
warnings (MA066) until replaced: Let's Encrypt refuses them, and no IdP knows them."""

from __future__ import annotations

import pytest
import yaml

import meshauth
from meshauth.config.placeholders import (
    is_placeholder_client_id,
    is_placeholder_tenant,
    placeholders,
    reserved_domain,
)
from meshauth.starter.starter import starter_config

COMMON = {"spec.tls.issuer.acme.email", "spec.apps[0].host"}
EXPECTED = {
    "google": {"spec.identity.clientId"},
    "azure": {"spec.identity.clientId", "spec.identity.tenant"},
    "dex": {"spec.identity.issuerUrl"},  # clientId "meshauth" may well be the real one
    "keycloak": {"spec.identity.issuerUrl"},
    "okta": {"spec.identity.clientId", "spec.identity.issuerUrl"},
    "auth0": {"spec.identity.clientId", "spec.identity.issuerUrl"},
    "gitlab": {"spec.identity.clientId"},
    "generic": {"spec.identity.issuerUrl", "spec.identity.jwksUri"},
}
REAL = {
    "google": {"clientId": "402817395026-7kq1fp0m3t.apps.googleusercontent.com"},
    "azure": {
        "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "clientId": "6e0f4b1d-2c1a-4f3e-9b7d-0a5c8e2f1d34",
    },
    "dex": {"issuerUrl": "https://dex.acme.io"},
    "keycloak": {"issuerUrl": "https://sso.acme.io/realms/staff"},
    "okta": {"issuerUrl": "https://acme.okta.com/oauth2/default", "clientId": "0oa9x2k4ry7BzQ1d8357"},
    "auth0": {"issuerUrl": "https://acme.eu.auth0.com/", "clientId": "Xk2n8QpR4sT6vW9yZa1b"},
    "gitlab": {"clientId": "3f9a1c77e2b54d0c9e8f"},
    "generic": {"issuerUrl": "https://idp.acme.io", "jwksUri": "https://idp.acme.io/keys"},
}


def findings(data):
    return list(placeholders(meshauth.load_config(data).spec))


@pytest.mark.parametrize("preset", EXPECTED)
def test_each_starter_placeholder_is_a_warning_naming_its_field(preset):
    found = findings(yaml.safe_load(starter_config(preset)))
    assert {f.rule for f in found} == {"MA066"} and {f.severity for f in found} == {"warning"}
    assert {f.path for f in found} == EXPECTED[preset] | COMMON
    assert all(" put " in f.message.lower() for f in found)  # each says what belongs there


@pytest.mark.parametrize("preset", EXPECTED)
def test_a_starter_with_its_placeholders_replaced_validates_clean(preset):
    data = yaml.safe_load(starter_config(preset))
    data["spec"]["identity"].update(REAL[preset])
    data["spec"]["tls"]["issuer"]["acme"]["email"] = "ops@acme.io"
    data["spec"]["apps"][0]["host"] = "grafana.acme.io"
    assert findings(data) == []
    assert meshauth.validate(meshauth.render(meshauth.load_config(data))) == []


def test_messages_name_the_domain_but_never_the_value():
    data = yaml.safe_load(starter_config("auth0"))
    messages = " ".join(f.message for f in findings(data))
    assert "example-auth0-client-id" not in messages and "ops@example.com" not in messages
    assert "example.com" in messages and "Let's Encrypt refuses" in messages


def test_every_host_email_and_external_service_is_looked_at():
    data = yaml.safe_load(starter_config("google", ["grafana.acme.io"]))
    data["spec"]["identity"].update(REAL["google"])
    data["spec"]["tls"]["issuer"]["acme"]["email"] = "ops@acme.io"
    data["spec"]["oauth2Proxy"]["cookie"]["shared"] = False
    data["spec"]["apps"][0] |= {"hosts": ["grafana.acme.io", "grafana.example.org"]}
    del data["spec"]["apps"][0]["host"]
    data["spec"]["apps"][0]["authorization"] = {"emails": ["me@acme.io", "you@example.com"]}
    data["spec"]["externalServices"] = [
        {"name": "wiki", "host": "wiki.acme.io", "upstream": {"host": "wiki.internal.example"}}
    ]
    assert [f.path for f in findings(data)] == [
        "spec.apps[0].hosts[1]",
        "spec.apps[0].authorization.emails[1]",
        "spec.externalServices[0].upstream.host",
    ]


def test_an_existing_issuer_uses_no_acme_contact():
    data = yaml.safe_load(starter_config("google", ["grafana.acme.io"]))
    data["spec"]["identity"].update(REAL["google"])
    data["spec"]["tls"]["issuer"] |= {"create": False, "name": "corp-ca"}
    assert findings(data) == []


@pytest.mark.parametrize(
    "host, domain",
    [
        ("example.com", "example.com"),
        ("grafana.example.org", "example.org"),
        ("Wiki.Example.NET.", "example.net"),
        ("app.test.example", "example"),
        ("example.okta.com", "example.okta.com"),  # a SaaS tenant named example
        ("myexample.com", None),
        ("examples.io", None),
        ("grafana.acme.io", None),
        ("localhost", None),
    ],
)
def test_reserved_domains(host, domain):
    assert reserved_domain(host) == domain


@pytest.mark.parametrize(
    "value, placeholder",
    [
        ("1234567890-example.apps.googleusercontent.com", True),
        ("1234.apps.googleusercontent.com", True),
        ("11111111-1111-1111-1111-111111111111", True),
        ("example-gitlab-application-id", True),
        ("123456789012-abc.apps.googleusercontent.com", False),  # a real 12-digit project number
        ("6e0f4b1d-2c1a-4f3e-9b7d-0a5c8e2f1d34", False),
        ("meshauth", False),
    ],
)
def test_client_ids(value, placeholder):
    assert is_placeholder_client_id(value) is placeholder


def test_tenants():
    assert is_placeholder_tenant("00000000-0000-0000-0000-000000000000")
    assert not is_placeholder_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert not is_placeholder_tenant("contoso.onmicrosoft.com")
