"""``meshauth import``: hand-written manifests of an oauth2-proxy + Istio setup -> a meshauth config.

Reads what :mod:`meshauth.importer.inputfiles` finds (YAML, folders, shell scripts with heredocs), maps every
object it understands into the config, and reports everything else as a finding, never silently.
The written config is checked like any other (load, render, validate): an import whose result would
not render is refused with the reasons, and nothing is written.

    imported = import_manifests(["setup.sh"], name="blog")
    imported.text        # the config, with the findings as comments at the top
    imported.findings    # Finding(rule="import", ...) for what could not be carried over
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from meshauth.config.load import load_config
from meshauth.config.model import DEFAULT_KUBERNETES
from meshauth.errors import ConfigError
from meshauth.files.manifests import is_object
from meshauth.findings import Finding
from meshauth.importer.apps import apps_section, bound_gateway
from meshauth.importer.compare import Difference, compare, kubectl_delete, old_objects_to_delete, reference
from meshauth.importer.context import Context, ImportOptions, denies_without_token, match_labels
from meshauth.importer.hardening import gateway_account, pod_security
from meshauth.importer.identity import identity_section
from meshauth.importer.inputfiles import read_manifests
from meshauth.importer.mesh import (
    custom_policies,
    ingress_class,
    ingress_section,
    istio_version,
    mesh_section,
    tls_section,
)
from meshauth.importer.prefixes import hoist_claim_headers, identity_header_filters
from meshauth.importer.proxy import find_proxy
from meshauth.importer.proxysecret import secret_section
from meshauth.importer.proxysettings import proxy_settings
from meshauth.importer.sources import istiod_values, unresolved
from meshauth.k8s import namespace_of, spec_of
from meshauth.rendering.bundle import Bundle
from meshauth.rendering.render import render
from meshauth.validation.validate import is_patch, validate, wrong_kinds


@dataclass(frozen=True)
class Imported:
    config: dict[str, Any]  # the config document, as written (defaults left out)
    text: str  # the config as YAML, with a header that lists the findings
    findings: tuple[Finding, ...]
    objects: tuple[dict[str, Any], ...]  # every object read
    differences: tuple[Difference, ...] = ()  # how meshauth's rendering differs from them

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def import_manifests(
    paths: Iterable[str],
    *,
    name: str = "sso",
    istio_version: str | None = None,
    variables: Mapping[str, str] | None = None,
    inline_secrets: bool = False,
) -> Imported:
    """Map the manifests in ``paths`` to a config; findings say what could not be carried over."""
    paths = list(paths)
    read = read_manifests(paths, variables)
    ctx = Context(read.sources, read.variables, ImportOptions(name, istio_version, inline_secrets))
    ctx.findings += read.findings
    objects = tuple(s.obj for s in read.sources)
    _refuse_malformed(ctx)
    if _failed(ctx):
        return Imported({}, config_text({}, paths, ctx.findings), tuple(ctx.findings), objects)
    config = _build(ctx)
    _check_variables(ctx, config)
    _report_leftovers(ctx)
    bundle = _check_renders(ctx, config) if not _failed(ctx) else None
    differences = _differences(ctx, bundle, objects) if bundle and not _failed(ctx) else ()
    findings = tuple(ctx.findings)
    return Imported(config, config_text(config, paths, findings), findings, objects, differences)


def _refuse_malformed(ctx: Context) -> None:
    """Fields of the wrong kind are refused by file, object and field before anything reads them:
    the cluster would not take such an object, and the mapping below reads fields by their kind.
    (What else the schemas say, such as a missing selector in a snippet from a blog, is
    ``meshauth validate``'s to report.)"""
    for source in ctx.sources:
        if not is_object(source.obj) or is_patch(source.obj):
            continue
        for finding in wrong_kinds(source.obj, DEFAULT_KUBERNETES):
            ctx.error(f"the schema refuses it: {finding.message}", source, finding.path)


def _failed(ctx: Context) -> bool:
    return any(f.severity == "error" for f in ctx.findings)


def _differences(ctx: Context, bundle: Bundle, objects: tuple[dict[str, Any], ...]) -> tuple[Difference, ...]:
    """How meshauth's rendering differs from the manifests; old objects it renames are reported."""
    mesh = bundle.mesh_config if bundle.mesh_install == "istioctl" else istiod_values(bundle.mesh_config)
    differences = tuple(compare(objects, [*bundle.objects, mesh]))
    old = old_objects_to_delete(differences, (reference(s.obj) for s in ctx.sources if ctx.is_used(s)))
    if old:
        ctx.warn(
            "meshauth names these objects its own way, so applying its output leaves the old ones "
            f"in place: delete them once the new ones work ({'; '.join(kubectl_delete(old))})"
        )
    for ref in sorted(
        {
            d.object
            for d in differences
            if d.kind in _SELECTOR_IMMUTABLE and d.path.startswith("spec.selector")
        }
    ):
        ctx.warn(
            f"{ref}: meshauth's pod selector differs from yours, and Kubernetes cannot change a "
            f"selector in place: delete it just before the first apply ({kubectl_delete([ref])[0]}); "
            "until the new one is ready, requests it serves fail"
        )
    return differences


_SELECTOR_IMMUTABLE = ("Deployment", "StatefulSet", "DaemonSet")


def _build(ctx: Context) -> dict[str, Any]:
    mesh, proxy_namespace = mesh_section(ctx)
    gateway = bound_gateway(ctx)
    authservice = ctx.memo.get("authservice")
    proxy = find_proxy(ctx, proxy_namespace, expected=authservice is None)
    gateway_policies = _gateway_jwt(ctx)
    identity = identity_section(ctx, proxy, gateway_policies)
    apps = apps_section(ctx, gateway, identity["clientId"])
    hoist_claim_headers(identity, apps)
    identity_header_filters(ctx, identity, apps)
    hosts = [h for app in apps for h in app.get("hosts", [app.get("host")])]
    tls = tls_section(ctx, gateway, hosts)
    http01 = tls is not None and (tls["issuer"].get("acme") or {}).get("solver", "http01") == "http01"
    ingress_class(ctx, http01)
    _gateway_access(ctx)
    _namespaces(ctx, proxy.namespace, apps)
    spec: dict[str, Any] = {"platform": {"istioVersion": istio_version(ctx)}}
    cni, kubernetes = pod_security(ctx)
    if kubernetes and kubernetes != DEFAULT_KUBERNETES:
        spec["platform"]["kubernetesVersion"] = kubernetes
    if cni:
        mesh["cni"] = True
    ingress = ingress_section(ctx, gateway)
    account = gateway_account(ctx, proxy.guard, ingress.get("namespace", "istio-system"))
    if account:
        ingress["serviceAccount"] = account
    spec.update({k: v for k, v in (("mesh", mesh), ("ingress", ingress)) if v})
    if tls is not None:
        spec["tls"] = tls
    spec["identity"] = identity
    secret = secret_section(ctx, proxy)
    if secret:
        spec["secret"] = secret
    oauth2_proxy = (
        proxy_settings(ctx, proxy, hosts, cookie_secure_default=tls is not None)
        if authservice is None
        else {}
    )
    if oauth2_proxy:
        spec["oauth2Proxy"] = oauth2_proxy
    if authservice is not None:
        spec["authorizer"] = "authservice"
        if authservice:
            spec["authservice"] = authservice
    spec["apps"] = apps
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": ctx.options.name},
        "spec": spec,
    }


def _gateway_jwt(ctx: Context) -> list[Any]:
    """RequestAuthentications at the gateway: meshauth renders its own (<name>-jwt)."""
    anchors = custom_policies(ctx)
    selector = match_labels(anchors[0].obj) if anchors else None
    namespace = namespace_of(anchors[0].obj) if anchors else None
    found = [
        p
        for p in ctx.of_kind("RequestAuthentication", namespace)
        if selector is None or match_labels(p.obj) == selector
    ]
    for policy in found:
        ctx.use(policy)
    return found


def _gateway_access(ctx: Context) -> None:
    """ALLOW policies at the gateway: meshauth writes <name>-access (tokens with an app audience)."""
    anchors = custom_policies(ctx)
    if not anchors:
        return
    namespace, selector = namespace_of(anchors[0].obj), match_labels(anchors[0].obj)
    where = "at the gateway" if at_gateway(ctx, namespace, selector) else f"at the sidecars of {namespace}"
    for policy in ctx.of_kind("AuthorizationPolicy", namespace):
        spec = spec_of(policy.obj)
        if spec.get("action") == "CUSTOM" or match_labels(policy.obj) != selector or ctx.accounted(policy):
            continue
        if not spec.get("rules") and spec.get("action", "ALLOW") == "ALLOW":
            continue  # allow-nothing: not meshauth's to replace (left to the leftovers report)
        simple = all(
            set(rule) <= {"from", "to", "when"}
            and all(set(f.get("source") or {}) <= {"requestPrincipals"} for f in rule.get("from") or [])
            and all(str(w.get("key", "")).startswith("request.auth.") for w in rule.get("when") or [])
            for rule in spec.get("rules") or []
        )
        if denies_without_token(policy.obj) or (spec.get("action", "ALLOW") == "ALLOW" and simple):
            ctx.use(policy)  # meshauth's ALLOW policy requires a token with an app audience
            continue
        ctx.keep(policy)
        ctx.warn(
            f"not imported: {where} meshauth writes its own ALLOW policy (a token for one of the "
            f"apps' audiences), not this {spec.get('action', 'ALLOW')} policy; keep applying it "
            "yourself if you need it",
            policy,
            "spec.rules",
        )


def at_gateway(ctx: Context, namespace: str, selector: dict[str, str]) -> bool:
    """Policies with ``selector`` in ``namespace`` apply to ingress gateway pods: their labels are
    a Gateway's (or the default ingress gateway's) selector."""
    if not selector:
        return False
    gateways = [
        match_labels(g.obj)
        for g in ctx.of_kind("Gateway")
        if str(g.obj.get("apiVersion", "")).startswith("networking.istio.io")
    ]
    gateways.append({"app": "istio-ingressgateway", "istio": "ingressgateway"})
    return any(all(g.get(k) == v for k, v in selector.items()) for g in gateways) or any(
        "gateway" in v for v in selector.values()
    )


def _namespaces(ctx: Context, proxy_namespace: str, apps: list[dict[str, Any]]) -> None:
    wanted = {proxy_namespace} | {a.get("namespace", a["name"]) for a in apps}
    for source in ctx.of_kind("Namespace"):
        if source.obj["metadata"].get("name") in wanted:
            ctx.use(source)


def _check_variables(ctx: Context, config: Any, path: str = "") -> None:
    """A value still holding ``$VAR`` would be written as is: refuse it and say which to pass."""
    if isinstance(config, dict):
        for key, value in config.items():
            _check_variables(ctx, value, f"{path}.{key}" if path else str(key))
    elif isinstance(config, list):
        for index, value in enumerate(config):
            _check_variables(ctx, value, f"{path}[{index}]")
    elif isinstance(config, str) and unresolved(config):
        names = [n for n in unresolved(config) if n != "$("]
        hint = f"pass --set {names[0]}=VALUE" if names else "write the value in"
        ctx.error(
            f"the value comes from a shell variable that is not set in the script: {hint}",
            path=path,
        )


def _report_leftovers(ctx: Context) -> None:
    for source in ctx.sources:
        if not ctx.accounted(source):
            ctx.warn(
                f"not imported: meshauth does not render {source.obj.get('kind')} objects like "
                "this one; keep applying it yourself if you need it",
                source,
            )


def _check_renders(ctx: Context, config: dict[str, Any]) -> Bundle | None:
    """Load, render and validate the config like any other; its findings join the import's."""
    try:
        bundle = render(load_config(config))
    except ConfigError as error:
        for problem in error.problems:
            ctx.error(f"the imported value is refused: {problem.message}", path=problem.path)
        return None
    ctx.findings += validate(bundle)
    return bundle


# --- the written config ----------------------------------------------------------------------------


def config_text(config: dict[str, Any], paths: list[str], findings: Iterable[Finding]) -> str:
    findings = list(findings)
    header = [f"# Imported by meshauth import from {', '.join(paths)}."]
    if findings:
        header.append("# Review it: what could not be carried over, and what to do.")
        header += [f"#   - {_one_line(f)}" for f in findings]
    header.append("# Every key: docs/reference.md. Check it: meshauth validate <this file>")
    body = yaml.dump(
        config,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        width=100,
        allow_unicode=True,
    )
    return "\n".join(header) + "\n" + body


class _Dumper(yaml.SafeDumper):
    """YAML as people write it in config files: lists indented under their key, "double" quotes."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _one_line(finding: Finding) -> str:
    where = ": ".join(p for p in (finding.file, finding.object, finding.path) if p)
    return f"{where + ': ' if where else ''}{finding.message}".replace("\n", " ")
