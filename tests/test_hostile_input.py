"""Hostile YAML: aliases are bounded in count and expanded size, with an error naming file and line."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

import meshauth
from meshauth.errors import ConfigError
from meshauth.files.yamlread import (
    MAX_ALIASES,
    load_yaml,
    read_yaml_documents,
    yaml_documents,
)

QUICKSTART = ROOT / "examples" / "quickstart.yaml"


def billion_laughs(levels: int = 10) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_config_is_refused_naming_file_and_line(tmp_path):
    config = tmp_path / "lol.yaml"
    config.write_text(billion_laughs())
    with pytest.raises(ConfigError) as error:
        meshauth.load_config(config)
    message = str(error.value)
    assert str(config) in message
    assert "expands to more than 10,000,000 characters through aliases" in message
    assert "line 7," in message  # a6 is the first level past 10 MB (9**7 lol's)


def test_thousands_of_aliases_of_a_long_string_are_refused_before_they_are_copied(tmp_path):
    # 30,000 aliases of one 100 KB string: 3 GB once expanded (a MemoryError after 14 s before).
    config = tmp_path / "big.yaml"
    lines = ["spec:", f"  a: &a {'x' * 100_000}", "  l:"] + ["  - *a"] * 30_000
    config.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"big\.yaml: line 4, column 3: expands to more than"):
        meshauth.load_config(config)


def test_too_many_aliases_are_refused_even_when_short(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("a: &a x\nl:\n" + "- *a\n" * (MAX_ALIASES + 1))
    with pytest.raises(
        ConfigError, match=r"m\.yaml: line 3, column 1: too many aliases \(more than 10,000\)"
    ):
        read_yaml_documents(manifest)


def test_the_bounds_hold_across_the_documents_of_one_file(tmp_path):
    # each document alone stays under the limit; together they pass it
    document = f"a: &a {'x' * 1000}\nl: [" + ", ".join(["*a"] * 2000) + "]\n"
    manifest = tmp_path / "m.yaml"
    manifest.write_text("---\n".join([document] * 10))
    with pytest.raises(ConfigError, match="expands to more than"):
        read_yaml_documents(manifest)


def test_a_recursive_alias_is_refused(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("a: &a\n  b: *a\n")
    with pytest.raises(ConfigError, match="line 1, column 4: an alias refers to a node that contains it"):
        read_yaml_documents(manifest)


def test_embedded_and_imported_yaml_are_bounded_too():
    # load_yaml reads a ConfigMap's embedded mesh config; yaml_documents reads import's inputs
    with pytest.raises(yaml.YAMLError, match="expands to more than"):
        load_yaml(billion_laughs())
    with pytest.raises(yaml.YAMLError, match="expands to more than"):
        list(yaml_documents(billion_laughs()))


def test_ordinary_anchors_still_load(tmp_path):
    text = "base: &base {replicas: 2, image: nginx}\none: {spec: *base, name: one}\nlist: [*base, *base]\n"
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    [document] = read_yaml_documents(manifest)
    assert document["one"] == {"spec": {"replicas": 2, "image": "nginx"}, "name": "one"}
    assert document["list"] == [document["base"], document["base"]]
    assert load_yaml(text) == document
    assert [line for line, _ in yaml_documents(text)] == [0]


# --- credentials in URLs and plain text posing as sealed values -----------------------------------


def identity(**fields):
    return {"spec": {"identity": {"preset": None, "clientId": "meshauth", **fields}}}


@pytest.mark.parametrize("field", ["issuerUrl", "jwksUri"])
def test_a_password_in_an_identity_url_is_refused_without_printing_it(field):
    urls = {"issuerUrl": "https://idp.example.com", "jwksUri": "https://idp.example.com/keys"}
    urls[field] = urls[field].replace("https://", "https://ana:s3cret@")
    with pytest.raises(ConfigError) as error:
        meshauth.load_config(QUICKSTART, overlays=[identity(**urls)])
    message = str(error.value)
    assert f"spec.identity.{field}" in message
    assert f"must not carry credentials ({urls[field].replace('ana:s3cret', '***')})" in message
    assert "s3cret" not in message and "ana" not in message


def repo(url: str) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        meshauth.gitops(QUICKSTART, {"dev": []}, repo_url=url)
    return error.value


@pytest.mark.parametrize(
    "url",
    [
        "https://ana:ghp_TOKEN@github.com/acme/platform.git",
        "https://ghp_TOKEN@github.com/acme/platform.git",  # a token alone, as GitHub accepts it
        "ssh://git:ghp_TOKEN@github.com/acme/platform.git",
    ],
)
def test_credentials_in_the_repo_url_are_refused_pointing_to_the_engines_credentials(url):
    message = str(repo(url))
    assert message.startswith("--repo-url: spec.gitops.repoUrl: must not carry credentials")
    assert "***@github.com/acme/platform.git" in message
    assert "argocd.argoproj.io/secret-type: repository" in message and "secretRef" in message
    assert "TOKEN" not in message


def test_credentials_in_the_configs_repo_url_are_refused_too():
    overlay = {"spec": {"gitops": {"repoUrl": "https://ana:ghp_TOKEN@github.com/acme/platform.git"}}}
    with pytest.raises(ConfigError) as error:
        meshauth.load_config(QUICKSTART, overlays=[overlay])
    assert "spec.gitops.repoUrl: must not carry credentials" in str(error.value)
    assert "TOKEN" not in str(error.value)


@pytest.mark.parametrize(
    "url", ["ssh://git@github.com/acme/platform.git", "git@github.com:acme/platform.git"]
)
def test_an_ssh_user_name_is_no_secret(url):
    overlay = {"spec": {"gitops": {"repoUrl": url}}}
    assert meshauth.load_config(QUICKSTART, overlays=[overlay]).spec.gitops.repo_url == url


SEALED = "AgB" + "x7" * 200 + "A"  # base64, as long as kubeseal's output


def sealed(**values):
    data = {"client-secret": SEALED, "cookie-secret": SEALED, **values}
    return {"spec": {"secret": {"source": "sealed-secrets", "sealed": {"encryptedData": data}}}}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("my plain client secret", "is not a sealed value (not base64)"),
        ("0123456789abcdef0123456789abcdef", "is too short to be a sealed value"),
    ],
)
def test_plain_text_in_sealed_values_is_refused_naming_the_key_not_the_value(value, problem):
    with pytest.raises(ConfigError) as error:
        meshauth.load_config(QUICKSTART, overlays=[sealed(**{"client-secret": value})])
    message = str(error.value)
    assert f"spec.secret.sealed.encryptedData.client-secret: {problem}" in message
    assert value not in message


def test_a_sealed_value_of_kubeseals_length_is_accepted():
    config = meshauth.load_config(QUICKSTART, overlays=[sealed()])
    assert config.spec.secret.sealed.encrypted_data["client-secret"] == SEALED
