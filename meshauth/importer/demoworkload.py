"""Import, app side: the small Deployment behind an app's Service, read back as its ``deploy``.

A Deployment this small is a demo workload: ``deploy`` renders it again, with meshauth's hardening.
Anything bigger stays the user's (reported, not imported).
"""

from __future__ import annotations

from typing import Any

from meshauth.importer.context import Context, selects
from meshauth.importer.hardening import run_as_user, use_guards
from meshauth.importer.sources import Source
from meshauth.k8s import spec_of

# A Deployment this small is a demo workload: deploy renders it again (with meshauth's hardening).
# meshauth's own hardening of it (service account, probes, a /tmp emptyDir, spreading) reads back too.
_SIMPLE_POD_KEYS = {
    "containers",
    "securityContext",
    "automountServiceAccountToken",
    "serviceAccountName",
    "volumes",
    "topologySpreadConstraints",
}
_SIMPLE_CONTAINER_KEYS = {
    "name",
    "image",
    "ports",
    "imagePullPolicy",
    "resources",
    "securityContext",
    "livenessProbe",
    "readinessProbe",
    "volumeMounts",
}


def demo_workload(
    ctx: Context, backend: Source | None, namespace: str, selector: dict[str, str], port: int
) -> dict[str, Any] | None:
    """A small Deployment behind the app's Service becomes ``deploy``; anything bigger stays yours."""
    matching = [
        d
        for d in ctx.of_kind("Deployment", namespace)
        if selects(
            selector,
            ((spec_of(d.obj).get("template") or {}).get("metadata") or {}).get("labels") or {},
        )
        and not ctx.is_used(d)
    ]
    if not matching:
        if backend is not None:
            ctx.use(backend)  # the app's own Service: meshauth routes to it
        return None
    deployment = matching[0]
    pod = (spec_of(deployment.obj).get("template") or {}).get("spec") or {}
    containers = pod.get("containers") or []
    simple = (
        len(containers) == 1
        and set(pod) <= _SIMPLE_POD_KEYS
        and set(containers[0]) <= _SIMPLE_CONTAINER_KEYS
        and _only_scratch_space(pod, containers[0])
    )
    if not simple:
        ctx.warn(
            "not imported: meshauth renders only small demo workloads (deploy); keep "
            "deploying your app as you do",
            deployment,
        )
        ctx.keep(deployment)
        ctx.keep(backend)
        return None
    ctx.use(deployment)
    ctx.use(backend)
    container = containers[0]
    ports = [p.get("containerPort") for p in container.get("ports") or [] if isinstance(p, dict)]
    deploy: dict[str, Any] = {"image": str(container.get("image", ""))}
    if ports and ports[0] != port:
        deploy["containerPort"] = ports[0]
    replicas = spec_of(deployment.obj).get("replicas", 1)
    if isinstance(replicas, int) and replicas != 1:
        deploy["replicas"] = replicas
    uid = run_as_user(pod)
    if uid is not None:
        deploy["runAsUser"] = uid
    elif not _says_non_root(pod, container):
        ctx.warn(
            f"meshauth runs the demo workload as a non-root user, and your pod does not say "
            f"{deploy['image']} can: if the image runs as root (nginx does), the pod does not "
            "start. Use an image built to run unprivileged (nginxinc/nginx-unprivileged, "
            "containerPort 8080) or set deploy.runAsUser",
            deployment,
        )
    account = pod.get("serviceAccountName")
    if account:
        use_guards(ctx, str(account), namespace)
    return deploy


def _says_non_root(pod: dict[str, Any], container: dict[str, Any]) -> bool:
    return any(
        (context or {}).get("runAsNonRoot") is True or run_as_user({"securityContext": context})
        for context in (pod.get("securityContext"), container.get("securityContext"))
    )


def _only_scratch_space(pod: dict[str, Any], container: dict[str, Any]) -> bool:
    """Volumes are at most emptyDirs mounted in place (meshauth's writable /tmp): a demo workload
    that reads data from a volume is more than meshauth renders."""
    volumes = [v for v in pod.get("volumes") or [] if isinstance(v, dict)]
    mounts = [m for m in container.get("volumeMounts") or [] if isinstance(m, dict)]
    return all(set(v) == {"name", "emptyDir"} for v in volumes) and all(
        set(m) <= {"name", "mountPath", "readOnly"} and m.get("mountPath") == "/tmp" for m in mounts
    )
