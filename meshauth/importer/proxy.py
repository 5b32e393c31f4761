"""Import, oauth2-proxy side: its Deployment's flags, the identity provider, and the Secret.

Flags come from container ``args`` (``--flag=value``, ``--flag value``, ``--flag``) and from
``OAUTH2_PROXY_*`` environment variables (literal, or from a Secret or ConfigMap key). Flags meshauth
sets itself map to config fields; any other flag the release knows goes to ``extraArgs``.

Secret values: the client secret and the cookie secret are never copied into the config unless
``inline_secrets`` is set. The client id is copied wherever it is found: it is not a secret (RFC 6749
section 2.2; it is in every login redirect, and meshauth passes it as a flag).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from meshauth.compat import proxyflags
from meshauth.config.presets import PRESETS
from meshauth.importer.context import Context, strings
from meshauth.importer.hardening import use_guards
from meshauth.importer.sources import Source, unresolved
from meshauth.k8s import name_of, namespace_of, spec_of
from meshauth.rendering.aspects import proxyargs as oauth2proxy

CLIENT_ID_PLACEHOLDER = "REPLACE-WITH-YOUR-CLIENT-ID"
_FIXED = {
    "http-address": {"0.0.0.0:4180", ":4180"},
    "upstream": {"static://200"},
    "reverse-proxy": {"true", ""},
}
_ALWAYS = {"set-authorization-header", "set-xauthrequest"}  # meshauth sets them to true
_SECRET_FLAGS = ("client-secret", "cookie-secret")


@dataclass
class Flag:
    values: list[str] = field(default_factory=list)
    secret_ref: tuple[str, str] | None = None  # (Secret name, key) the value comes from


@dataclass
class Proxy:
    """What the import learns from oauth2-proxy, for the other steps."""

    section: dict[str, Any]
    namespace: str
    flags: dict[str, Flag]
    source: Source | None
    guard: Source | None = None  # its ALLOW policy on the callers' mTLS identities


# --- the Deployment --------------------------------------------------------------------------------


def find_proxy(ctx: Context, namespace: str | None) -> Proxy:
    deployments = [d for d in ctx.of_kind("Deployment") if _proxy_container(d.obj)]
    in_namespace = [d for d in deployments if namespace in (None, namespace_of(d.obj))]
    chosen = (in_namespace or deployments or [None])[0]
    for other in deployments:
        if other is not chosen:
            ctx.warn("a second oauth2-proxy Deployment: not imported (meshauth runs one)", other)
    if chosen is None:
        ctx.warn(
            f"no oauth2-proxy Deployment found: meshauth renders one ({proxyflags.LATEST}, its defaults)"
        )
        return Proxy({}, namespace or "oauth2-proxy", {}, None)
    ctx.use(chosen)
    namespace = namespace_of(chosen.obj)
    container = _proxy_container(chosen.obj) or {}
    flags = _flags(ctx, chosen, container, namespace)
    section = _image(ctx, chosen, str(container.get("image", "")))
    if namespace != "oauth2-proxy":
        section["namespace"] = namespace
    replicas = spec_of(chosen.obj).get("replicas", 1)
    if isinstance(replicas, int) and replicas != 1:
        section["replicas"] = replicas
    _account_companions(ctx, chosen, namespace)
    return Proxy(section, namespace, flags, chosen, use_guards(ctx, "oauth2-proxy", namespace))


def _proxy_container(obj: dict[str, Any]) -> dict[str, Any] | None:
    containers = ((spec_of(obj).get("template") or {}).get("spec") or {}).get("containers") or []
    return next(
        (
            c
            for c in containers
            if isinstance(c, dict) and re.search(r"oauth2[-_]proxy", str(c.get("image", "")))
        ),
        None,
    )


def _image(ctx: Context, source: Source, image: str) -> dict[str, Any]:
    named, _, digest = image.partition("@")
    repository, _, tag = named.rpartition(":") if ":" in named.rsplit("/", 1)[-1] else (named, "", "")
    section: dict[str, Any] = {}
    if repository and repository != "quay.io/oauth2-proxy/oauth2-proxy":
        section["image"] = repository
    if digest:
        section["digest"] = digest
    try:
        version = proxyflags.parse_version(tag)
    except ValueError:
        ctx.warn(
            f"image {image!r} has no release tag: meshauth uses oauth2-proxy "
            f"{proxyflags.LATEST} (set oauth2Proxy.version)",
            source,
        )
        return section
    if version < (7, 0, 0):
        ctx.warn(
            f"oauth2-proxy {tag} is older than v7, which meshauth needs: it uses "
            f"{proxyflags.LATEST} (its flags may differ from yours)",
            source,
        )
        return section
    return {**section, "version": tag}


def _account_companions(ctx: Context, deployment: Source, namespace: str) -> None:
    """The proxy's Service and ServiceAccount are rendered by meshauth."""
    labels = ((spec_of(deployment.obj).get("template") or {}).get("metadata") or {}).get("labels") or {}
    for service in ctx.of_kind("Service", namespace):
        selector = spec_of(service.obj).get("selector") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            ctx.use(service)
            ports = [p.get("port") for p in spec_of(service.obj).get("ports") or [] if isinstance(p, dict)]
            if name_of(service.obj) != "oauth2-proxy" or ports != [4180]:
                ctx.warn("meshauth's oauth2-proxy Service is named oauth2-proxy, port 4180", service)
    account = ((spec_of(deployment.obj).get("template") or {}).get("spec") or {}).get("serviceAccountName")
    ctx.use(ctx.named("ServiceAccount", str(account), namespace) if account else None)


# --- flags -----------------------------------------------------------------------------------------


def _flags(ctx: Context, source: Source, container: dict[str, Any], namespace: str) -> dict[str, Flag]:
    flags: dict[str, Flag] = {}
    args = [str(a) for a in (container.get("command") or [])[1:] + (container.get("args") or [])]
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if not word.startswith("-"):
            ctx.warn(f"argument {word!r} is not a flag; not imported", source)
            continue
        name, equals, value = word.lstrip("-").partition("=")
        if (
            not equals
            and index < len(args)
            and not args[index].startswith("-")
            and not proxyflags.is_bool_flag(name)
        ):
            value, index = args[index], index + 1
        flags.setdefault(name, Flag()).values.append(value if equals or value else "true")
    for env in container.get("env") or []:
        _env_flag(ctx, source, env, flags, namespace)
    _secret_files(ctx, source, container, flags)
    for env_from in container.get("envFrom") or []:
        ref = (env_from or {}).get("secretRef") or (env_from or {}).get("configMapRef") or {}
        ctx.warn(
            f"envFrom {ref.get('name')!r}: flags in it are not imported; write them as args or "
            "single env entries",
            source,
        )
    _config_file(ctx, source, flags, namespace)
    return flags


def _secret_files(ctx: Context, source: Source, container: dict[str, Any], flags: dict[str, Flag]) -> None:
    """``--client-secret-file`` / ``--cookie-secret-file`` naming a key of a mounted Secret read as
    that key of that Secret (how meshauth passes them from v7.11.0)."""
    pod = (spec_of(source.obj).get("template") or {}).get("spec") or {}
    volumes = {str(v.get("name")): v for v in pod.get("volumes") or [] if isinstance(v, dict)}
    for flag in _SECRET_FLAGS:
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
    for key, values in config_file_values(str(holder.obj["data"][file_name])).items():
        flag = _CONFIG_KEYS.get(key, key.replace("_", "-"))
        if flag not in flags:
            flags[flag] = Flag(values)


_CONFIG_KEYS = {
    "email_domains": "email-domain",
    "whitelist_domains": "whitelist-domain",
    "cookie_domains": "cookie-domain",
    "upstreams": "upstream",
}


def config_file_values(text: str) -> dict[str, list[str]]:
    """``key = value`` lines of an oauth2-proxy config file (TOML: strings, booleans, numbers and
    one-line arrays of strings), values as the command line would spell them."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z_][\w]*)\s*=\s*(.+?)\s*$", line.split(" #", 1)[0])
        if not match:
            continue
        raw = match.group(2)
        if raw.startswith("["):
            values[match.group(1)] = [a or b for a, b in re.findall(r'"([^"]*)"|\'([^\']*)\'', raw)]
        else:
            values[match.group(1)] = [raw.strip("\"'")]
    return values


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
        if value is not None and flag not in _SECRET_FLAGS:
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


# --- flags -> config -------------------------------------------------------------------------------


def _default_whitelist(raw: list[str], hosts: list[str]) -> bool:
    """What meshauth renders without whitelistDomains: the app hosts exactly, plus at most the
    IdP's end-session host."""
    exact = set(raw)
    return set(hosts) <= exact and len(exact - set(hosts)) <= 1


def proxy_settings(
    ctx: Context, proxy: Proxy, hosts: list[str], cookie_secure_default: bool
) -> dict[str, Any]:
    """``spec.oauth2Proxy`` from the flags (cookie, domains, session store, extraArgs)."""
    section = dict(proxy.section)
    flags = proxy.flags
    cookie = _cookie(flags, cookie_secure_default) if proxy.source else {}
    if proxy.source and _first(flags, "cookie-refresh") in (None, "0", "0s"):
        ctx.warn(
            "your oauth2-proxy never refreshes sessions (no --cookie-refresh), so ID tokens "
            "expire under live sessions (401 Jwt is expired): meshauth refreshes after 1h; "
            "set oauth2Proxy.cookie.refresh below your IdP's token lifetime",
            proxy.source,
            "spec.oauth2Proxy.cookie.refresh",
        )
        cookie.pop("refresh", None)
    if cookie:
        section["cookie"] = cookie
    raw = _all(flags, "whitelist-domain")
    if raw and not _default_whitelist(raw, hosts):
        section["whitelistDomains"] = raw  # as written: a leading dot admits subdomains
    domains = _all(flags, "email-domain")
    if domains and domains != ["*"]:
        section["emailDomains"] = domains
    store = _first(flags, "session-store-type")
    if store == "redis":
        section["sessionStore"] = _redis(ctx, proxy, _first(flags, "redis-connection-url"))
    extra = _extra_args(ctx, proxy, section.get("version", proxyflags.LATEST))
    if extra:
        section["extraArgs"] = extra
    return section


def _redis(ctx: Context, proxy: Proxy, url: str | None) -> dict[str, Any]:
    """The Redis session store; ``deploy: true`` when the manifests hold the Redis meshauth renders."""
    from meshauth.config.model import REDIS_NAME, RedisSessionStore

    deployment = ctx.named("Deployment", REDIS_NAME, proxy.namespace)
    host = (url or "").split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
    if deployment is None or host.split(".")[0] != REDIS_NAME:
        return {"type": "redis", "url": url}
    ctx.use(deployment)
    ctx.use(ctx.named("Service", REDIS_NAME, proxy.namespace))
    use_guards(ctx, REDIS_NAME, proxy.namespace)
    containers = ((spec_of(deployment.obj).get("template") or {}).get("spec") or {}).get("containers") or [{}]
    image = str(containers[0].get("image", ""))
    default = RedisSessionStore.model_fields["image"].default
    return {
        "type": "redis",
        "deploy": True,
        **({"image": image} if image and image != default else {}),
    }


_COOKIE = {
    "cookie-name": "name",
    "cookie-samesite": "sameSite",
    "cookie-refresh": "refresh",
    "cookie-expire": "expire",
}
_COOKIE_DEFAULTS = {
    "name": "_oauth2_proxy_istio_ingressgateway",
    "sameSite": "lax",
    "refresh": "1h",
    "expire": "4h",
}


def _cookie(flags: dict[str, Flag], secure_default: bool) -> dict[str, Any]:
    cookie: dict[str, Any] = {}
    for flag, key in _COOKIE.items():
        value = _first(flags, flag)
        if value is not None and _same_value(key, value) != _COOKIE_DEFAULTS[key]:
            cookie[key] = _same_value(key, value)
    if "expire" not in cookie and _first(flags, "cookie-expire") is None:
        cookie["expire"] = "168h"  # oauth2-proxy's own default when the flag is not given
    secure = _first(flags, "cookie-secure")
    secure_value = secure_default if secure is None else secure.lower() != "false"
    if not secure_value:
        cookie["secure"] = False
    domains = [d.lstrip(".") for d in _all(flags, "cookie-domain")]
    if domains:
        cookie["domains"] = domains
    return cookie


def _same_value(key: str, value: str) -> str:
    """A Go duration as written by people (``1h0m0s`` -> ``1h``)."""
    if key in ("refresh", "expire"):
        value = re.sub(r"(?<=[hm])0s$", "", value)
        value = re.sub(r"(?<=h)0m$", "", value)
    return value


def _extra_args(ctx: Context, proxy: Proxy, version: str) -> dict[str, Any]:
    managed = set(oauth2proxy.MANAGED_FLAGS) | {"skip-provider-button"}
    extra: dict[str, Any] = {}
    for name, flag in sorted(proxy.flags.items()):
        values = flag.values
        if name in _FIXED and values and values[-1] not in _FIXED[name]:
            ctx.warn(
                f"--{name}={values[-1]}: meshauth fixes it ({oauth2proxy.MANAGED_FLAGS[name]})",
                proxy.source,
            )
        elif name in _ALWAYS and values and values[-1] == "false":
            ctx.warn(
                f"--{name}=false: meshauth sets it to true (the gateway needs the ID token)",
                proxy.source,
            )
        if name == "skip-provider-button" and values and values[-1] == "false":
            extra[name] = False
        if name in managed or not values:
            continue
        value: Any = (
            [_typed(name, v) for v in values] if proxyflags.is_list_flag(name) else _typed(name, values[-1])
        )
        problems = list(oauth2proxy.extra_arg_problems(version, {name: value}))
        if problems:
            ctx.warn(f"--{name} is not imported: it {problems[0][1]}", proxy.source)
        else:
            extra[name] = value
    return extra


def _typed(name: str, value: str) -> Any:
    if proxyflags.is_bool_flag(name):
        return value.lower() != "false"
    return value


def _first(flags: dict[str, Flag], name: str) -> str | None:
    values = flags.get(name, Flag()).values
    return values[-1] if values else None


def _all(flags: dict[str, Flag], name: str) -> list[str]:
    return [v for v in flags.get(name, Flag()).values if v]


# --- identity --------------------------------------------------------------------------------------


def identity_section(ctx: Context, proxy: Proxy, gateway_policies: list[Source]) -> dict[str, Any]:
    flags = proxy.flags
    rules = [r for p in gateway_policies for r in spec_of(p.obj).get("jwtRules") or [] if isinstance(r, dict)]
    provider = _first(flags, "provider") or "google"
    issuer = _first(flags, "oidc-issuer-url") or (rules[0].get("issuer") if rules else None)
    if issuer is None and provider == "google":
        issuer = "https://accounts.google.com"
    jwks = next((r.get("jwksUri") for r in rules if r.get("issuer") == issuer and r.get("jwksUri")), None)
    for rule in rules:
        if rule.get("issuer") != issuer:
            ctx.warn(
                f"JWT issuer {rule.get('issuer')!r} differs from oauth2-proxy's {issuer!r}: "
                "meshauth checks the tokens of identity.issuerUrl only",
                gateway_policies[0],
            )
    identity = _preset(str(issuer or ""), jwks, provider)
    if issuer is None:
        ctx.error(
            "no OIDC issuer found (oauth2-proxy --oidc-issuer-url, or a RequestAuthentication "
            "at the gateway): set identity.issuerUrl",
            path="spec.identity.issuerUrl",
        )
    elif "jwksUri" not in identity and PRESETS[identity["preset"]].jwks is None:
        ctx.warn(
            f"no jwksUri found for {issuer}: set identity.jwksUri to the jwks_uri of "
            f"{issuer.rstrip('/')}/.well-known/openid-configuration",
            path="spec.identity.jwksUri",
        )
        identity["jwksUri"] = issuer.rstrip("/") + "/.well-known/jwks.json"
    identity["clientId"] = _client_id(ctx, proxy, rules)
    scope = _first(flags, "scope")
    if scope and scope.replace(",", " ").split() != ["openid", "email", "profile"]:
        identity["scopes"] = scope.replace(",", " ").split()
    return identity


def _preset(issuer: str, jwks: str | None, provider: str) -> dict[str, Any]:
    """The preset that fixes or derives what the manifests say, and only what it cannot."""
    azure = re.match(r"^https://login\.microsoftonline\.com/([^/]+)/v2\.0/?$", issuer)
    if azure and (jwks is None or jwks == PRESETS["azure"].jwks_for(issuer, azure.group(1))):
        return {"preset": "azure", "tenant": azure.group(1)}
    hints = [
        ("keycloak", "/realms/" in issuer or provider == "keycloak-oidc"),
        ("okta", "okta" in issuer),
        ("auth0", "auth0.com" in issuer),
        ("dex", "dex" in issuer),
    ]
    for name in ("google", "gitlab"):
        if issuer == PRESETS[name].issuer and jwks in (None, PRESETS[name].jwks_for(issuer, None)):
            return {"preset": name}
    for name, hint in hints:
        if hint and jwks in (None, PRESETS[name].jwks_for(issuer, None)):
            return {"preset": name, "issuerUrl": issuer}
    return {"preset": "generic", "issuerUrl": issuer, **({"jwksUri": jwks} if jwks else {})}


def _client_id(ctx: Context, proxy: Proxy, rules: list[dict[str, Any]]) -> str:
    flag = proxy.flags.get("client-id", Flag())
    if flag.values and not unresolved(flag.values[-1]):
        return flag.values[-1]
    audiences = [a for r in rules for a in strings(r.get("audiences"))]
    if len(set(audiences)) == 1:
        return audiences[0]
    where = f"Secret {flag.secret_ref[0]}, key {flag.secret_ref[1]}" if flag.secret_ref else "--client-id"
    ctx.warn(
        f"the OIDC client id is not in your manifests ({where}): set identity.clientId "
        f"(now {CLIENT_ID_PLACEHOLDER})",
        proxy.source,
        "spec.identity.clientId",
    )
    return CLIENT_ID_PLACEHOLDER


# --- the Secret ------------------------------------------------------------------------------------


def secret_section(ctx: Context, proxy: Proxy) -> dict[str, Any]:
    refs = {f: proxy.flags[f].secret_ref for f in _SECRET_FLAGS if f in proxy.flags}
    literal = [f for f in _SECRET_FLAGS if proxy.flags.get(f, Flag()).values and not refs.get(f)]
    names = {ref[0] for ref in refs.values() if ref}
    name = sorted(names)[0] if names else "oauth2-proxy"
    secret = ctx.named("Secret", name, proxy.namespace)
    section: dict[str, Any] = {} if name == "oauth2-proxy" else {"name": name}
    produced = _produced_by(ctx, name, proxy.namespace)
    if produced is not None:
        return {**section, **produced}
    if literal:
        ctx.warn(
            f"{', '.join('--' + f for f in literal)} are written in plain text in the "
            "Deployment: meshauth reads them from a Secret instead",
            proxy.source,
        )
    if ctx.options.inline_secrets:
        return _inline(ctx, proxy, section, refs, name)
    for flag, ref in refs.items():
        if ref and ref[1] != flag:
            ctx.warn(
                f"meshauth reads the {flag.replace('-', ' ')} from key {flag} of Secret {name}; "
                f"yours is under key {ref[1]}: rename it",
                secret,
                "spec.secret",
            )
    if len(names) > 1:
        ctx.warn(
            f"the client and cookie secrets come from different Secrets ({', '.join(sorted(names))}): "
            f"meshauth reads both from {name}",
            proxy.source,
            "spec.secret",
        )
    ctx.use(secret)
    client_id = proxy.flags.get("client-id", Flag())
    note = (
        f" (only the client id, which is not a secret, is taken from key {client_id.secret_ref[1]})"
        if client_id.secret_ref and client_id.values
        else ""
    )
    ctx.warn(
        f"secret values are not copied into the config{note}: meshauth references the Secret "
        f"{proxy.namespace}/{name} (source: existing), so create it in the cluster yourself "
        f"(kubectl -n {proxy.namespace} create secret generic {name} --from-literal=client-secret=... "
        "--from-literal=cookie-secret=...), or switch to external-secrets or sealed-secrets; "
        "--inline-secrets copies them into the config instead (plain text in Git)",
        secret,
        "spec.secret",
    )
    return section


def _produced_by(ctx: Context, name: str, namespace: str) -> dict[str, Any] | None:
    """An ExternalSecret or SealedSecret in the manifests that produces the Secret."""
    for source in ctx.of_kind("ExternalSecret", namespace):
        target = (spec_of(source.obj).get("target") or {}).get("name") or name_of(source.obj)
        if target == name:
            ctx.use(source)
            return _external(ctx, source)
    sealed = ctx.named("SealedSecret", name, namespace)
    if sealed is not None:
        ctx.use(sealed)
        data = spec_of(sealed.obj).get("encryptedData") or {}
        return {"source": "sealed-secrets", "sealed": {"encryptedData": dict(data)}}
    return None


def _external(ctx: Context, source: Source) -> dict[str, Any]:
    spec = spec_of(source.obj)
    store = spec.get("secretStoreRef") or {}
    data = {
        str(d.get("secretKey")): d.get("remoteRef") or {}
        for d in spec.get("data") or []
        if isinstance(d, dict)
    }
    refs = {}
    for key, field_name in (("client-secret", "clientSecret"), ("cookie-secret", "cookieSecret")):
        ref = data.get(key, {})
        refs[field_name] = {
            "key": ref.get("key", ""),
            **({"property": ref["property"]} if ref.get("property") else {}),
        }
        if not ref:
            ctx.warn(f"the ExternalSecret has no secretKey {key}: set its remote key", source)
    external = {
        "storeRef": {
            "name": store.get("name", ""),
            **({"kind": store["kind"]} if store.get("kind") else {}),
        },
        "data": refs,
    }
    if spec.get("refreshInterval") and spec["refreshInterval"] != "1h":
        external["refreshInterval"] = spec["refreshInterval"]
    return {"source": "external-secrets", "externalSecret": external}


def _inline(
    ctx: Context, proxy: Proxy, section: dict[str, Any], refs: dict[str, Any], name: str
) -> dict[str, Any]:
    values = {}
    for flag, key in (("client-secret", "clientSecret"), ("cookie-secret", "cookieSecret")):
        ref = refs.get(flag)
        value = secret_value(ctx, ref[0], ref[1], proxy.namespace) if ref else _first(proxy.flags, flag)
        if value is None or unresolved(value):
            missing = unresolved(value or "")
            hint = f" (pass --set {missing[0]}=...)" if missing and missing[0] != "$(" else ""
            ctx.error(
                f"--inline-secrets: the {flag.replace('-', ' ')} is not in your manifests{hint}",
                proxy.source,
                f"spec.secret.inline.{key}",
            )
            value = ""
        values[key] = value
    ctx.use(ctx.named("Secret", name, proxy.namespace))
    return {**section, "source": "inline", "allowPlaintext": True, "inline": values}
