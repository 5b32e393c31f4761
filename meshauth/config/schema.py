"""The JSON Schema of the config file, generated from the typed model (and shipped in schemas/)."""

from __future__ import annotations

import json
from typing import Any

SCHEMA_FILE = "meshauth.schema.json"
SCHEMA_ID = "https://meshauth.dev/schemas/meshauth.schema.json"


def config_schema() -> dict[str, Any]:
    from meshauth.config.model import MeshAuthConfig

    schema = MeshAuthConfig.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "meshauth config (MeshAuthConfig, meshauth.dev/v1alpha1)",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def config_schema_text() -> str:
    return json.dumps(config_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
