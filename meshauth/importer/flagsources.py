"""Import, oauth2-proxy side: read its flags from every place the Deployment takes them from.

Flags come from container ``args`` (``--flag=value``, ``--flag value``, ``--flag``), from
``OAUTH2_PROXY_*`` environment variables (literal, or from a Secret or ConfigMap key), from
``--client-secret-file``/``--cookie-secret-file`` naming a key of a mounted Secret, and from the
``--config`` file (TOML, in a ConfigMap) for what the others leave open.

Secret values read here stay in the flags; nothing in this module prints them.
"""

from __future__ import annotations

import base64
import binascii
import sys
from dataclasses import dataclass, field
from typing import Any

from meshauth.compat import proxyflags
from meshauth.importer.context import Context
from meshauth.importer.sources import Source
from meshauth.k8s import spec_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, published as tomli
    import tomli as tomllib

SECRET_FLAGS = ("client-secret", "cookie-secret")


@dataclass
class Flag:
    """One flag's values, in the order oauth2-proxy reads them (the last one counts)."""

    values: list[str] = field(default_factory=list)
    secret_ref: tuple[str, str] | None = None  # (Secret name, key) the value comes from


def flag_value(flags: dict[str, Flag], name: str) -> str | None:
    """The value oauth2-proxy uses for a flag given once or more; None when it is not given."""
    values = flags.get(name, Flag()).values
    return values[-1] if values else None


def flag_values(flags: dict[str, Flag], name: str) -> list[str]:
    """Every non-empty value of a list flag (``--email-domain``, ``--cookie-domain``, ...)."""
    return [v for v in flags.get(name, Flag()).values if v]


def read_flags(ctx: Context, source: Source, container: dict[str, Any], namespace: str) -> dict[str, Flag]:
    """The flags of the oauth2-proxy ``container``: args, then env, secret files and ``--config``."""
    flags: dict[str, Flag] = {}
    args = [str(a) for a in (container.get("command") or [])[1:] + (container.get("args") or [])]
    for _, name, value in proxyflags.command_line(args):
        if name is None:
            ctx.warn(f"argument {value!r} is not a flag; not imported", source)
        else:
            flags.setdefault(name, Flag()).values.append(value)
    for env in container.get("env") or []:
        _env_flag(ctx, source, env, flags, namespace)
    _secret_files(ctx, source, container, flags)
    for env_from in container.get("envFrom") or []:
        _env_from(ctx, source, env_from, flags, namespace)
    _config_file(ctx, source, flags, namespace)
    return flags


def _secret_files(ctx: Context, source: Source, container: dict[str, Any], flags: dict[str, Flag]) -> None:
    """``--client-secret-file`` / ``--cookie-secret-file`` naming a key of a mounted Secret read as
    that key of that Secret (how meshauth passes them from v7.11.0)."""
    pod = (spec_of(source.obj).get("template") or {}).get("spec") or {}
    volumes = {str(v.get("name")): v for v in pod.get("volumes") or [] if isinstance(v, dict)}
    for flag in SECRET_FLAGS:
        path = (flags.pop(f"{flag}-file", None) or Flag()).values
        if not path:
            continue
        ref = _mounted_key(container, volumes, path[-1])
        if ref is None:
            ctx.warn(
                f"--{flag}-file {path[-1]}: the file is not a key of a Secret mounted in your "
                f"manifests; meshauth reads the {flag.replace('-', ' ')} from spec.secret",
                source,
            )
            continue
        flags.setdefault(flag, Flag()).secret_ref = ref


def _mounted_key(container: dict[str, Any], volumes: dict[str, Any], path: str) -> tuple[str, str] | None:
    """(Secret name, key) of the file at ``path``, when a Secret volume is mounted there."""
    for mount in container.get("volumeMounts") or []:
        secret = (volumes.get(str((mount or {}).get("name"))) or {}).get("secret") or {}
        directory = str((mount or {}).get("mountPath", "")).rstrip("/") + "/"
        if not secret or not path.startswith(directory) or mount.get("subPath"):
            continue
        relative = path[len(directory) :]
        items = {str(i.get("path")): str(i.get("key")) for i in secret.get("items") or []}
        key = items.get(relative, None if items else relative)
        if key is not None:
            return str(secret.get("secretName")), key
    return None


def _config_file(ctx: Context, source: Source, flags: dict[str, Flag], namespace: str) -> None:
    """Settings from ``--config FILE`` (a ConfigMap key, as the Helm chart mounts it) fill the flags
    that args and environment do not set (oauth2-proxy's own precedence)."""
    for name in ("alpha-config",):
        if flags.pop(name, None):
            ctx.warn(f"--{name} is not imported: meshauth configures oauth2-proxy with flags", source)
    path = (flags.pop("config", None) or Flag()).values
    if not path:
        return
    file_name = path[-1].rsplit("/", 1)[-1]
    holder = next(
        (c for c in ctx.of_kind("ConfigMap", namespace) if file_name in (c.obj.get("data") or {})),
        None,
    )
    if holder is None:
        ctx.warn(
            f"--config {path[-1]}: the file is not in your manifests (a ConfigMap with key "
            f"{file_name}); its settings are not imported",
            source,
        )
        return
    ctx.use(holder)
    try:
        settings = tomllib.loads(str(holder.obj["data"][file_name]))
    except tomllib.TOMLDecodeError as error:  # its message says the line and column
        ctx.warn(
            f"--config {path[-1]}: key {file_name} of this ConfigMap is not valid TOML ({error}); "
            "its settings are not imported",
            holder,
        )
        return
    for key, value in settings.items():
        if isinstance(value, dict):
            ctx.warn(f"--config {path[-1]}: table [{key}] is not an oauth2-proxy flag; not imported", holder)
            continue
        flag = proxyflags.config_key_flag(key)
        if flag not in flags:
            flags[flag] = Flag(_setting_values(value))


def _setting_values(value: Any) -> list[str]:
    """A setting of an oauth2-proxy config file (a TOML value: a string, boolean, number or array
    of them) as the values of the flag, spelled as on the command line."""
    items = value if isinstance(value, list) else [value]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in items]


def _env_flag(ctx: Context, source: Source, env: Any, flags: dict[str, Flag], namespace: str) -> None:
    name = str((env or {}).get("name", ""))
    flag = proxyflags.env_flag(name)
    if flag is None:
        ctx.warn(f"env {name}: not imported (meshauth sets no environment of its own)", source)
        return
    entry = flags.setdefault(flag, Flag())
    if "value" in env:
        entry.values += _split_list(flag, str(env["value"]))
        return
    ref = ((env.get("valueFrom") or {}).get("secretKeyRef")) or {}
    config_map = ((env.get("valueFrom") or {}).get("configMapKeyRef")) or {}
    if ref:
        entry.secret_ref = (str(ref.get("name")), str(ref.get("key")))
        value = secret_value(ctx, str(ref.get("name")), str(ref.get("key")), namespace)
        if value is not None and flag not in SECRET_FLAGS:
            entry.values += _split_list(flag, value)
    elif config_map:
        found = ctx.named("ConfigMap", str(config_map.get("name")), namespace)
        data = (found.obj.get("data") or {}) if found else {}
        if config_map.get("key") in data:
            ctx.use(found)
            entry.values += _split_list(flag, str(data[config_map["key"]]))
        else:
            ctx.warn(
                f"env {name}: ConfigMap {config_map.get('name')} is not in your manifests; not imported",
                source,
            )


def _env_from(ctx: Context, source: Source, env_from: Any, flags: dict[str, Flag], namespace: str) -> None:
    """``envFrom`` a ConfigMap or Secret: its ``OAUTH2_PROXY_*`` keys set flags (``prefix`` added)
    where args and single env entries leave them open; secrets stay references."""
    env_from = env_from if isinstance(env_from, dict) else {}
    prefix = str(env_from.get("prefix") or "")
    for kind, ref_key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
        ref = env_from.get(ref_key)
        if not isinstance(ref, dict):
            continue
        name = str(ref.get("name"))
        holder = ctx.named(kind, name, namespace)
        if holder is None:
            ctx.warn(
                f"envFrom {kind} {name} is not in your manifests: the flags it sets are not imported",
                source,
                path=f"spec.template.spec.containers[].envFrom[{ref_key}]",
            )
            continue
        if kind == "ConfigMap":
            ctx.use(holder)
        keys = {**(holder.obj.get("data") or {}), **(holder.obj.get("stringData") or {})}
        for key in sorted(keys):
            flag = proxyflags.env_flag(prefix + str(key))
            if flag is None or flag in flags:
                continue
            if kind == "Secret":
                flags[flag] = Flag(secret_ref=(name, str(key)))
                value = secret_value(ctx, name, str(key), namespace)
                if value is not None and flag not in SECRET_FLAGS:
                    flags[flag].values += _split_list(flag, value)
            else:
                flags[flag] = Flag(_split_list(flag, str(keys[key])))


def _split_list(flag: str, value: str) -> list[str]:
    return [v.strip() for v in value.split(",")] if proxyflags.is_list_flag(flag) else [value]


def secret_value(ctx: Context, name: str, key: str, namespace: str) -> str | None:
    """A key of a Secret in the manifests (stringData or base64 data), or None when unknown."""
    source = ctx.named("Secret", name, namespace)
    if source is None:
        return None
    string_data = source.obj.get("stringData") or {}
    if key in string_data:
        return None if string_data[key] is None else str(string_data[key])
    data = source.obj.get("data") or {}
    try:
        return base64.b64decode(str(data[key]), validate=True).decode() if key in data else None
    except (binascii.Error, UnicodeDecodeError):
        return None
