"""The ``gitops`` section: what ``meshauth gitops`` and ``meshauth check`` write (render ignores it)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from meshauth.config.base import Model
from meshauth.config.fieldtypes import DnsLabel, GitRevision, GitUrl, RepoPath, Text

OverlayPath = Annotated[Text, Field(min_length=1)]


class GitOps(Model):
    engine: Literal["argocd", "flux"] = Field(
        "argocd", description="Which engine's objects to write (--engine overrides)."
    )
    repo_url: GitUrl | None = Field(
        None, description="The Git repository the engine pulls (--repo-url overrides)."
    )
    revision: GitRevision = Field(
        "main", description="Branch, tag, full ref or commit the engine follows (--revision)."
    )
    path: RepoPath = Field(
        "", description="Folder inside the repository that holds the tree (--path); '' = its root."
    )
    environments: dict[DnsLabel, OverlayPath | list[OverlayPath]] = Field(
        default_factory=dict,
        description="Environment name -> overlay file (or list of them), relative to this file; "
        "--env replaces the whole map.",
    )
