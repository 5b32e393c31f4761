"""Authorization values that admit more than their author meant are refused, saying who else gets in.

Istio matches claim values and request principals as exact, prefix ("abc*"), suffix ("*abc") or
presence ("*"); docs/security.md explains which patterns are refused and why.
"""

from __future__ import annotations

import pytest
from conftest import ROOT

import meshauth
from meshauth.errors import ConfigError

QUICKSTART = ROOT / "examples" / "quickstart.yaml"


def grafana(**fields):
    """An overlay giving the first app (grafana) these fields."""
    app = {"name": "grafana", "namespace": "monitoring", "host": "grafana.example.com"}
    app.update(fields)
    docs = {"name": "docs", "hosts": ["docs.example.com"]}
    return {"spec": {"apps": [app, docs]}}


def problem(overlay) -> str:
    with pytest.raises(ConfigError) as error:
        meshauth.load_config(QUICKSTART, overlays=[overlay])
    return str(error.value)


def test_a_trailing_star_on_an_email_is_refused_naming_the_attacker_address():
    message = problem(grafana(authorization={"emails": ["bob@example.com", "ana@example.com*"]}))
    assert "spec.apps[0].authorization.emails[1]" in message
    assert "'ana@example.com*' also admits ana@example.com.attacker.net" in message
    assert "Istio matches a trailing * as a prefix" in message
    assert "*@example.com for a whole domain" in message


def test_a_leading_star_before_a_local_part_is_refused():
    message = problem(grafana(authorization={"emails": ["*ana@example.com"]}))
    assert "also admits mallory-ana@example.com" in message


@pytest.mark.parametrize("email", ["a*na@example.com", "*@*.example.com"])
def test_a_star_inside_an_email_is_refused(email):
    assert "Istio reads * only as a whole local part" in problem(grafana(authorization={"emails": [email]}))


def test_the_email_claim_widens_the_same_way():
    message = problem(grafana(authorization={"claims": {"email": ["ana@example.com*"]}}))
    assert "also admits ana@example.com.attacker.net" in message


def test_a_whole_domain_stays_allowed():
    config = meshauth.load_config(QUICKSTART, overlays=[grafana(authorization={"emails": ["*@example.com"]})])
    assert config.spec.apps[0].authorization.emails == ["*@example.com"]


def test_a_lone_star_group_is_refused():
    message = problem(grafana(authorization={"groups": ["*"]}))
    assert "spec.apps[0].authorization.groups[0]" in message
    assert "admits every user whose token has this claim with any value" in message


def test_a_lone_star_claim_value_is_refused():
    assert "with any value" in problem(grafana(authorization={"claims": {"hd": ["*"]}}))


def test_group_prefixes_stay_allowed():
    # group names are given by the IdP's administrators, not chosen by the user who signs in
    overlay = grafana(authorization={"groups": ["team-*"]})
    assert meshauth.load_config(QUICKSTART, overlays=[overlay]).spec.apps[0].authorization.groups == [
        "team-*"
    ]


def test_a_principal_with_a_star_is_refused():
    message = problem(grafana(authorization={"principals": ["https://accounts.google.com/*"]}))
    assert "'<issuer>/*' is every account of the issuer" in message


def test_every_path_public_is_refused_for_apps_and_external_services():
    message = problem(grafana(publicPaths=["/healthz", "/*"]))
    assert "spec.apps[0].publicPaths[1]" in message
    assert "makes the whole app public" in message
    external = {
        "name": "wiki",
        "host": "wiki.example.com",
        "upstream": {"host": "wiki.internal.example.com"},
        "publicPaths": ["/*"],
    }
    assert "makes the whole app public" in problem({"spec": {"externalServices": [external]}})
