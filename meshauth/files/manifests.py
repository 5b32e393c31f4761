"""Hand-written manifests: read YAML files and folders into objects, and find the mesh configuration.

``meshauth validate --manifests PATH...`` checks manifests that meshauth did not render, such as the
ones a blog post told people to write. The rules need the mesh configuration (the extension
providers live there, not in any Kubernetes object), so it is looked for among the documents in
every form Istio is configured with:

* an ``IstioOperator`` (``spec.meshConfig``), for ``istioctl install -f``;
* istiod Helm values: a document without ``apiVersion``/``kind`` that has a ``meshConfig`` key;
* the ``istio`` ConfigMap (or a revision's ``istio-<rev>``) with a ``mesh`` key holding YAML.

Documents of ``kind: List`` (what ``kubectl get -o yaml`` prints) are unpacked into their items.

``meshauth import`` reads hand-written manifests too, from files and from the heredocs of shell
scripts, and names the line each object starts on: :func:`~meshauth.files.yamlread.yaml_documents` reads YAML text with the
line of every document, and :func:`is_object` tells a Kubernetes object from other documents.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import yaml

from meshauth.errors import ConfigError, Problem
from meshauth.files.yamlread import load_yaml, read_yaml_documents

PathLike = Union[str, "os.PathLike[str]"]
YAML_SUFFIXES = (".yaml", ".yml")
_VERSION = re.compile(r"(?:^|[^0-9])(\d+)\.(\d+)(?:\.\d+)?")


@dataclass(frozen=True)
class MeshSource:
    """One document that carries mesh configuration, and where its ``meshConfig`` sits in it."""

    document: Mapping[str, Any]
    config: Mapping[str, Any]  # the MeshConfig mapping (extensionProviders, rootNamespace, ...)
    path: str  # field path of ``config`` inside ``document``: spec.meshConfig, meshConfig, data.mesh
    label: str  # how findings name the document
    file: str = ""


@dataclass(frozen=True)
class Manifests:
    """Objects read from files, with the file each came from, and the mesh configuration found."""

    objects: tuple[Mapping[str, Any], ...]
    files: tuple[str, ...]  # files[i] is the file objects[i] came from
    mesh: tuple[MeshSource, ...] = ()

    @property
    def istio_version(self) -> str | None:
        """The Istio MAJOR.MINOR the manifests name (:func:`istio_version_of`)."""
        return istio_version_of(self.objects, [source.document for source in self.mesh])


def istio_version_of(
    objects: Sequence[Mapping[str, Any]], mesh_documents: Sequence[Mapping[str, Any]]
) -> str | None:
    """The Istio MAJOR.MINOR that manifests run, decided once for validate and import: the tag of
    an istiod (pilot) or gateway (proxyv2) image first (what runs), then an IstioOperator's
    ``spec.tag`` or istiod values' ``global.tag`` (what was asked for)."""
    tags: list[Any] = [image.rpartition(":")[2] for image in _images(objects) if _is_istio_image(image)]
    tags += [_mesh_tag(document) for document in mesh_documents]
    for tag in tags:
        match = _VERSION.search(str(tag)) if tag else None
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    return None


def load_manifests(paths: Iterable[PathLike]) -> Manifests:
    """Read YAML files, and the ``*.yaml``/``*.yml`` files in folders (recursively, sorted)."""
    objects: list[Mapping[str, Any]] = []
    files: list[str] = []
    mesh: list[MeshSource] = []
    for file in _yaml_files(paths):
        for document in _documents(file):
            source = mesh_source(document, str(file))
            if source is not None:
                mesh.append(source)
            if is_object(document):
                objects.append(document)
                files.append(str(file))
    return Manifests(tuple(objects), tuple(files), tuple(mesh))


def from_objects(objects: Sequence[Mapping[str, Any]], file: str = "") -> Manifests:
    """Plain objects (as a caller of :func:`meshauth.validate` passes them), mesh config found."""
    items = [item for obj in objects for item in _unpack(obj)]
    mesh = tuple(s for s in (mesh_source(doc, file) for doc in items) if s is not None)
    kept = [doc for doc in items if is_object(doc)]
    return Manifests(tuple(kept), tuple(file for _ in kept), mesh)


def mesh_source(document: Any, file: str = "") -> MeshSource | None:
    """The mesh configuration a document carries, in any of the three forms; None otherwise."""
    if not isinstance(document, Mapping):
        return None
    kind = document.get("kind")
    if kind == "IstioOperator":
        spec = document.get("spec")
        config = spec.get("meshConfig") if isinstance(spec, Mapping) else None
        label = _label(document)
        return (
            MeshSource(document, config, "spec.meshConfig", label, file)
            if isinstance(config, Mapping)
            else None
        )
    if kind == "ConfigMap":
        return _config_map_source(document, file)
    if "kind" not in document and isinstance(document.get("meshConfig"), Mapping):
        return MeshSource(document, document["meshConfig"], "meshConfig", "istiod values", file)
    return None


def is_object(document: Any) -> bool:
    """A Kubernetes object: a mapping with ``apiVersion`` and ``kind``."""
    return isinstance(document, Mapping) and "apiVersion" in document and "kind" in document


# --- internals -------------------------------------------------------------------------------------


def _config_map_source(document: Mapping[str, Any], file: str) -> MeshSource | None:
    metadata, data = document.get("metadata"), document.get("data")
    name = str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""
    text = data.get("mesh") if isinstance(data, Mapping) else None
    if not (name == "istio" or name.startswith("istio-")) or not isinstance(text, str):
        return None
    try:
        config = load_yaml(text)
    except yaml.YAMLError:
        raise ConfigError(
            Problem("data.mesh is not valid YAML; istiod cannot read this mesh config", file=file)
        ) from None
    if not isinstance(config, Mapping):
        return None
    return MeshSource(document, config, "data.mesh", _label(document), file)


def _mesh_tag(document: Mapping[str, Any]) -> Any:
    def get(node: Any, *keys: str) -> Any:
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        return node

    if document.get("kind") == "IstioOperator":
        return get(document, "spec", "tag") or get(document, "spec", "values", "global", "tag")
    return get(document, "global", "tag") if "kind" not in document else None


def _images(objects: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    for obj in objects:
        if obj.get("kind") in ("Deployment", "DaemonSet", "StatefulSet"):
            from meshauth.k8s import mapping, pod_template

            for container in mapping(pod_template(obj).get("spec")).get("containers") or []:
                if isinstance(container, Mapping) and isinstance(container.get("image"), str):
                    yield container["image"]


def _is_istio_image(image: str) -> bool:
    name = image.split("@")[0].rpartition(":")[0] or image
    return name.rsplit("/", 1)[-1] in ("pilot", "proxyv2") and "istio" in name


def _label(document: Mapping[str, Any]) -> str:
    from meshauth.findings import object_ref

    return object_ref(document)


def _unpack(document: Any) -> Iterator[Any]:
    if isinstance(document, Mapping) and document.get("kind") == "List" and "items" in document:
        for item in document.get("items") or ():
            yield from _unpack(item)
    elif document is not None:
        yield document


def _documents(file: Path) -> Iterator[Any]:
    for document in read_yaml_documents(file):
        yield from _unpack(document)


def _yaml_files(paths: Iterable[PathLike]) -> list[Path]:
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.suffix in YAML_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists():
            found.append(path)
        else:
            raise ConfigError(Problem("no such file or folder", file=str(path)))
    return found
