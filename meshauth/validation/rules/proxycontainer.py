"""oauth2-proxy containers: which containers of a workload run it, and the flags they start it with.

Flags come from the container's command, args and literal ``OAUTH2_PROXY_*`` variables, each with
the path where it is set, so that a rule's finding points at the flag to change.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from meshauth.compat import proxyflags
from meshauth.config.fieldtypes import duration_seconds
from meshauth.k8s import mapping, namespace_of, pod_template, sequence

_IMAGE_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Flag:
    name: str
    value: str
    path: str  # where it is set, inside the workload object


@dataclass(frozen=True)
class Proxy:
    """One oauth2-proxy container and its settings."""

    workload: Mapping[str, Any]
    container: Mapping[str, Any]
    container_path: str
    namespace: str
    pod_labels: Mapping[str, str]
    flags: Mapping[str, tuple[Flag, ...]]
    version: str | None  # vMAJOR.MINOR.PATCH from the image tag
    config_file: bool  # --config / --alpha-config: settings not seen here may be set there

    def last(self, name: str) -> Flag | None:
        found = self.flags.get(name)
        return found[-1] if found else None

    def values(self, name: str) -> list[str]:
        return [v for flag in self.flags.get(name, ()) for v in flag.value.split(",") if v]

    def duration(self, name: str, default: float) -> tuple[float | None, Flag | None]:
        flag = self.last(name)
        if flag is None:
            return default, None
        try:
            return duration_seconds(flag.value), flag
        except ValueError:
            return None, flag


def pod_template_path(obj: Mapping[str, Any]) -> str:
    return "" if obj.get("kind") == "Pod" else "spec.template"


def is_proxy_image(image: str) -> bool:
    name = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    return name.replace("_", "-").startswith("oauth2-proxy")


def image_version(image: str) -> str | None:
    tag = image.split("@")[0].rsplit("/", 1)[-1].partition(":")[2]
    match = _IMAGE_VERSION.match(tag)
    return "v{}.{}.{}".format(*match.groups()) if match else None


def proxies_in(obj: Mapping[str, Any]) -> Iterator[Proxy]:
    """Every oauth2-proxy container of a workload (or Pod), with its settings."""
    template = pod_template(obj)
    pod_spec = mapping(template.get("spec"))
    base = pod_template_path(obj)
    labels = mapping(mapping(template.get("metadata")).get("labels"))
    for index, container in enumerate(sequence(pod_spec.get("containers"))):
        if not isinstance(container, Mapping) or not is_proxy_image(str(container.get("image", ""))):
            continue
        path = f"{base + '.' if base else ''}spec.containers[{index}]"
        flags = parse_flags(container, path)
        yield Proxy(
            workload=obj,
            container=container,
            container_path=path,
            namespace=namespace_of(obj),
            pod_labels=dict(labels),
            flags=flags,
            version=image_version(str(container.get("image", ""))),
            config_file=any(name in flags for name in ("config", "alpha-config")),
        )


def parse_flags(container: Mapping[str, Any], path: str) -> dict[str, tuple[Flag, ...]]:
    """oauth2-proxy's settings from a container's command, args and literal env values."""
    items = [(str(a), f"{path}.command[{i}]") for i, a in enumerate(sequence(container.get("command")))][1:]
    items += [(str(a), f"{path}.args[{i}]") for i, a in enumerate(sequence(container.get("args")))]
    found: dict[str, list[Flag]] = defaultdict(list)
    for index, name, value in proxyflags.command_line([word for word, _ in items]):
        if name is not None:
            found[name].append(Flag(name, value, items[index][1]))
    for i, env in enumerate(sequence(container.get("env"))):
        flag = proxyflags.env_flag(str(mapping(env).get("name", "")))
        if flag is not None and isinstance(mapping(env).get("value"), str):
            found[flag].insert(0, Flag(flag, env["value"], f"{path}.env[{i}].value"))
    return {name: tuple(flags) for name, flags in found.items()}
