"""The result of rendering: objects in apply order, the mesh configuration, and warnings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from meshauth.files.yamltext import dump_document, dump_documents, dump_each, file_name
from meshauth.findings import Finding

if TYPE_CHECKING:
    from meshauth.files.tree import WriteReport

MESH_DIR = "mesh"
KUSTOMIZATION = "kustomization.yaml"


@dataclass(frozen=True)
class Bundle:
    name: str
    # in apply order; not in repr(): an inline Secret's values must not reach logs or tracebacks
    objects: tuple[dict[str, Any], ...] = field(repr=False)
    mesh_config: dict[str, Any]  # IstioOperator overlay, or istiod chart values
    mesh_install: Literal["istioctl", "helm"]
    warnings: tuple[Finding, ...]
    kubernetes_version: str
    istio_version: str

    def to_yaml(self, jobs: int = 1) -> str:
        """Every manifest as one multi-document stream, in apply order. ``jobs`` > 1 writes a
        large bundle's text in that many processes (see :mod:`meshauth._util.parallel`)."""
        return dump_documents(self.objects, jobs)

    def mesh_config_yaml(self) -> str:
        return dump_document(self.mesh_config)

    @property
    def mesh_file(self) -> str:
        name = "istio-operator.yaml" if self.mesh_install == "istioctl" else "istiod-values.yaml"
        return f"{MESH_DIR}/{name}"

    def files(self, jobs: int = 1) -> dict[str, str]:
        """The ``-o DIR`` layout: relative path -> content."""
        files = dict(zip(map(file_name, self.objects), dump_each(self.objects, jobs)))
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": list(files),
            # keep apply order (kustomize would otherwise sort by its own kind order)
            "sortOptions": {"order": "fifo"},
        }
        files[KUSTOMIZATION] = dump_document(kustomization)
        files[self.mesh_file] = self.mesh_config_yaml()
        return files

    def write(self, directory: str | os.PathLike[str], jobs: int = 1) -> WriteReport:
        """Write the ``-o DIR`` layout atomically; see :func:`meshauth.files.tree.write_tree`."""
        from meshauth.files.tree import write_tree

        return write_tree(directory, self.files(jobs))
