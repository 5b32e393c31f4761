"""The config reference in docs/ is generated from the models, and says something about every key."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

from meshauth.config.model import MeshAuthConfig
from meshauth.config.reference import github_anchor, reference_text, sections

SHIPPED = ROOT / "docs" / "reference.md"


def test_shipped_reference_is_not_stale():
    assert SHIPPED.read_text(encoding="utf-8") == reference_text(), (
        "docs/reference.md is stale: run `python -m meshauth.config.reference > docs/reference.md`"
    )


def test_module_prints_the_reference():
    result = subprocess.run(
        [sys.executable, "-m", "meshauth.config.reference"], capture_output=True, text=True, check=True
    )
    assert result.stdout == SHIPPED.read_text(encoding="utf-8")


def test_every_key_has_a_description():
    missing = [
        f"{section.path or '<root>'}.{info.alias or name}"
        for section in sections(MeshAuthConfig)
        for name, info in section.model.model_fields.items()
        if not info.description
    ]
    assert missing == [], f"add Field(description=...) in the models of meshauth/config/ for: {missing}"


def test_every_key_of_the_contract_example_is_in_the_reference():
    text = reference_text()
    for key in [
        "istioVersion",
        "extensionProvider",
        "whitelistDomains",
        "sessionStore",
        "publicPaths",
        "principals",
        "refreshInterval",
        "encryptedData",
        "tenant",
    ]:
        assert f"| `{key}` |" in text, key


def test_internal_links_point_at_headings():
    text = reference_text()
    anchors = {github_anchor(h) for h in re.findall(r"^## (.+)$", text, flags=re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links and links <= anchors, links - anchors


def test_types_and_defaults_read_as_a_user_writes_them():
    text = reference_text()
    assert "| `port` | integer 1–65535 | `80` |" in text
    assert "| `mtls` | one of `STRICT`, `PERMISSIVE` | `STRICT` |" in text
    assert "| `host` | host name | none |" in text
    assert "| `namespace` | DNS label | the app name |" in text  # derived default, from its description
    assert '| `emailDomains` | non-empty list of strings | `["*"]` |' in text  # quoted: [*] is an alias
    assert "&lt;iss&gt;/&lt;sub&gt;" in text  # not swallowed as an HTML tag on GitHub


def test_github_anchor():
    assert github_anchor("spec.apps[].authorization") == "specappsauthorization"
    assert github_anchor("spec.secret, source: inline") == "specsecret-source-inline"
