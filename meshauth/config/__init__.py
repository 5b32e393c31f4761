"""The typed config: models, loading, its JSON Schema and reference, presets, discovery."""
