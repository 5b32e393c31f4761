"""The shipped JSON Schema is the one the model generates, and it describes real configs."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import yaml
from conftest import EXAMPLES, ROOT, VALID_CASES

from meshauth.config.schema import SCHEMA_FILE, config_schema_text

SHIPPED = ROOT / "schemas" / SCHEMA_FILE


def test_shipped_schema_is_not_stale():
    assert SHIPPED.read_text(encoding="utf-8") == config_schema_text(), (
        "schemas/meshauth.schema.json is stale: run `meshauth schema > schemas/meshauth.schema.json`"
    )


def test_schema_command_prints_the_shipped_file():
    result = subprocess.run(
        [sys.executable, "-m", "meshauth", "schema"], capture_output=True, text=True, check=True
    )
    assert result.stdout == SHIPPED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SHIPPED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", EXAMPLES + VALID_CASES, ids=lambda p: p.stem)
def test_configs_satisfy_the_schema(validator, path):
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda c: c["spec"]["apps"][0].update(hostz="x"), "hostz"),
        (lambda c: c["spec"].update(secret={"source": "vault"}), "secret"),
        (lambda c: c["spec"].update(mesh={"mtls": "STRICTER"}), "STRICTER"),
        (lambda c: c["spec"]["apps"][0]["service"].update(port=70000), "port"),
        (lambda c: c["spec"]["platform"].pop("istioVersion"), "istioVersion"),
    ],
)
def test_schema_refuses_what_the_loader_refuses(validator, mutate, where):
    config = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
    config["spec"]["apps"][0].setdefault("service", {"port": 80})
    mutate(config)
    messages = [str(e.message) + str(list(e.path)) for e in validator.iter_errors(config)]
    assert messages and any(where in m for m in messages), messages
