"""Rules on the size of each object: what the API server refuses to store, and what a client-side
``kubectl apply`` cannot record (limits and their sources: :mod:`meshauth.rendering.sizes`)."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.rendering.sizes import ANNOTATIONS_LIMIT, API_OBJECT_LIMIT, stored_bytes
from meshauth.validation.rules.facts import Facts, Hit

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def object_over_api_limit(facts: Facts) -> Iterator[Hit]:
    """An object is larger than the API server stores. The API server keeps each object in one etcd
    request, and etcd refuses requests over 1.5 MiB (its default `--max-request-bytes`, 1,572,864
    bytes, measured on the object's JSON): `kubectl apply`, Argo CD and Flux all fail on this
    object with "etcdserver: request is too large", and nothing that depends on it is applied. It
    happens to lists that grow with the config: an AuthorizationPolicy naming thousands of hosts or
    groups, a Gateway with a server per app.

    Fix: split the object: AuthorizationPolicies into several (their rules add up), a Gateway's
    servers into several Gateways on the same pods. meshauth splits what it renders this way."""
    for obj in facts.objects:
        size = stored_bytes(obj)
        if size > API_OBJECT_LIMIT:
            yield (
                obj,
                "",
                f"is {_kib(size)} as JSON, over the {_kib(API_OBJECT_LIMIT)} the API server stores "
                "in one object (etcd's request limit): applying it fails with 'request is too "
                "large'; split it into several objects",
            )


def object_over_last_applied_limit(facts: Facts) -> Iterator[Hit]:
    """An object is too large for a client-side `kubectl apply`. Client-side apply (kubectl's
    default, and Argo CD's unless `ServerSideApply=true`) copies the whole object into the
    `kubectl.kubernetes.io/last-applied-configuration` annotation, and the annotations of one
    object may hold at most 256 KiB together: the apply fails with "metadata.annotations: Too long:
    must have at most 262144 bytes". The API server would store the object itself.

    Fix: apply it server-side (`kubectl apply --server-side`, Argo CD's `ServerSideApply=true` sync
    option; Flux always applies server-side), or split the object."""
    for obj in facts.objects:
        size = stored_bytes(obj)
        if ANNOTATIONS_LIMIT < size <= API_OBJECT_LIMIT:
            yield (
                obj,
                "",
                f"is {_kib(size)} as JSON: a client-side kubectl apply (and Argo CD's default) "
                f"cannot record it in the {LAST_APPLIED} annotation (at most {_kib(ANNOTATIONS_LIMIT)}); "
                "apply it server-side, or split it",
            )
