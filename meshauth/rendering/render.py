"""config -> plan -> templates -> objects: the pure rendering step."""

from __future__ import annotations

from typing import Any

from meshauth._util import gcpause
from meshauth.config.load import Source, load_config
from meshauth.config.model import MeshAuthConfig
from meshauth.files.yamltext import apply_order
from meshauth.rendering.bundle import Bundle
from meshauth.rendering.context import Planned
from meshauth.rendering.plan import plan
from meshauth.rendering.templating import render_object


def render(config: Source) -> Bundle:
    """Render a config (model, dict or path) into a :class:`Bundle`. No network, no writes."""
    if not isinstance(config, MeshAuthConfig):
        config = load_config(config)
    with gcpause.paused():
        planned = plan(config)
        objects = sorted((_render(p) for p in planned.objects), key=apply_order)
        _refuse_duplicates(objects)
    return Bundle(
        name=config.metadata.name,
        objects=tuple(objects),
        mesh_config=_render(planned.mesh),
        mesh_install=config.spec.mesh.install,
        warnings=tuple(planned.warnings),
        kubernetes_version=config.spec.platform.kubernetes_version,
        istio_version=config.spec.platform.istio_version,
    )


def _render(planned: Planned) -> dict[str, Any]:
    """Render one planned object; values that are themselves planned are rendered first."""
    values = {k: _render(v) if isinstance(v, Planned) else v for k, v in planned.values.items()}
    return render_object(planned.template, values)


def _refuse_duplicates(objects: list[dict[str, Any]]) -> None:
    seen = set()
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if key in seen:
            raise AssertionError(f"meshauth bug: {key} rendered twice")
        seen.add(key)
