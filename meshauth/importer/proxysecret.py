"""Import, oauth2-proxy side: where its client and cookie secrets come from (``spec.secret``).

Secret values are never copied into the config unless ``inline_secrets`` is set: the config then
references the Secret (``source: existing``), or the ExternalSecret or SealedSecret in the manifests
that produces it.
"""

from __future__ import annotations

from typing import Any

from meshauth.importer.context import Context
from meshauth.importer.flagsources import SECRET_FLAGS, Flag, flag_value, secret_value
from meshauth.importer.proxy import Proxy
from meshauth.importer.sources import Source, unresolved
from meshauth.k8s import name_of, spec_of


def secret_section(ctx: Context, proxy: Proxy) -> dict[str, Any]:
    refs = {f: proxy.flags[f].secret_ref for f in SECRET_FLAGS if f in proxy.flags}
    literal = [f for f in SECRET_FLAGS if proxy.flags.get(f, Flag()).values and not refs.get(f)]
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
        value = secret_value(ctx, ref[0], ref[1], proxy.namespace) if ref else flag_value(proxy.flags, flag)
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
