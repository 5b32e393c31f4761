"""``meshauth init``: a commented starter config that renders as it is written.

The text is composed line by line, like a person would write it: the keys a new user must look at
are set (with placeholders that render at once, and that :mod:`meshauth.config.placeholders`
recognizes), the defaults they may want to change are shown commented out, and every line says what
it is for. Values go through :func:`scalar`, which quotes anything YAML could read as another type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from meshauth.compat.proxyflags import LATEST
from meshauth.config import sso
from meshauth.config.fieldtypes import is_dns_label, is_dns_subdomain, major_minor
from meshauth.config.presets import PRESETS
from meshauth.config.schema import SCHEMA_ID
from meshauth.errors import ConfigError, Problem
from meshauth.rendering.aspects import sessions

DEFAULT_HOSTS = ("app.example.com",)
DEFAULT_ISTIO = "1.30"
COMMENT_COLUMN = 40
MAX_WIDTH = 100

Line = tuple[str, str]  # (YAML, comment)


@dataclass(frozen=True)
class PresetStart:
    """What the starter file sets for an identity preset: keys, placeholders and where to find them."""

    lines: tuple[Line, ...]
    notes: tuple[str, ...] = ()


PRESET_STARTS: dict[str, PresetStart] = {
    "google": PresetStart(
        (
            ("clientId", "1234567890-example.apps.googleusercontent.com"),
            ("", "Google Cloud console > APIs & Services > Credentials > OAuth client ID"),
        ),
        (
            "Google puts no groups claim in ID tokens: admit people by emails, or by the hd",
            "(hosted domain) claim, e.g. authorization: {claims: {hd: [example.com]}}",
        ),
    ),
    "azure": PresetStart(
        (
            ("tenant", "00000000-0000-0000-0000-000000000000"),
            ("", "Directory (tenant) ID: Entra names it, not a domain, in its tokens"),
            ("clientId", "11111111-1111-1111-1111-111111111111"),
            ("", "App registrations > your app > Application (client) ID"),
        ),
    ),
    "dex": PresetStart(
        (
            ("issuerUrl", "https://dex.example.com"),
            ("", "exactly the issuer: of Dex's own config"),
            ("clientId", "meshauth"),
            ("", "a staticClients entry of Dex's config"),
        ),
        ("Dex adds a groups claim only when asked: scopes: [openid, email, profile, groups]",),
    ),
    "keycloak": PresetStart(
        (
            ("issuerUrl", "https://keycloak.example.com/realms/main"),
            ("", "https://<keycloak>/realms/<realm>"),
            ("clientId", "meshauth"),
            ("", "Clients > Create client (OpenID Connect, client authentication on)"),
        ),
        (
            "For authorization.groups, add a Group Membership mapper (claim name groups,",
            "full group path off) to the client's dedicated scope",
        ),
    ),
    "okta": PresetStart(
        (
            ("issuerUrl", "https://example.okta.com/oauth2/default"),
            ("", "Security > API > Authorization Servers > Issuer URI"),
            ("clientId", "0oa1example2client3id"),
            ("", "Applications > your app > Client ID"),
        ),
    ),
    "auth0": PresetStart(
        (
            ("issuerUrl", "https://example.eu.auth0.com/"),
            ("", "https://<your tenant's domain>/, with the trailing slash"),
            ("clientId", "example-auth0-client-id"),
            ("", "Applications > your app > Client ID"),
        ),
    ),
    "gitlab": PresetStart(
        (
            ("clientId", "example-gitlab-application-id"),
            ("", "Settings > Applications > Application ID (scopes openid, email, profile)"),
        ),
        ("Self-managed GitLab: set issuerUrl: https://gitlab.example.com",),
    ),
}
GENERIC_START = PresetStart(
    (
        ("issuerUrl", "https://idp.example.com"),
        ("", "the issuer of <issuer>/.well-known/openid-configuration"),
        ("jwksUri", "https://idp.example.com/keys"),
        ("", "its jwks_uri"),
        ("clientId", "meshauth"),
        ("", "the OIDC client registered for oauth2-proxy"),
    ),
)


def starter_config(
    preset: str = "generic",
    hosts: Sequence[str] = (),
    *,
    name: str = "sso",
    istio_version: str = DEFAULT_ISTIO,
) -> str:
    """The commented starter ``meshauth.yaml`` for ``preset`` with one app per host."""
    _check_arguments(preset, hosts, name, istio_version)
    hosts = list(hosts) or list(DEFAULT_HOSTS)
    apps = app_names(hosts)
    out: list[str] = []
    out += _header(hosts)
    out += _envelope(name, istio_version)
    out += _tls()
    out += _identity(preset)
    out += _secret()
    out += _oauth2_proxy(hosts, preset)
    out += _apps(apps, hosts)
    return "\n".join(out) + "\n"


def app_names(hosts: Sequence[str]) -> list[str]:
    """One app name per host: its first label, made unique (``grafana``, ``grafana-2``)."""
    names: list[str] = []
    for host in hosts:
        base = re.sub(r"[^a-z0-9-]", "-", host.split(".")[0]).strip("-")[:50] or "app"
        candidate, n = base, 2
        while candidate in names:
            candidate, n = f"{base}-{n}", n + 1
        names.append(candidate)
    return names


def scalar(value: object) -> str:
    """A YAML scalar as a person writes it: plain when YAML reads it back as the same string."""
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_./@:-]*", text) and ": " not in text
    ambiguous = text.lower() in {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
    number = re.fullmatch(r"[-+]?[0-9_.:eE]+", text)
    return text if plain and not ambiguous and not number else json.dumps(text)


# --- sections --------------------------------------------------------------------------------------


def _header(hosts: Sequence[str]) -> list[str]:
    return [
        f"# yaml-language-server: $schema={SCHEMA_ID}",  # editors check as you type
        "# meshauth.yaml: OIDC single sign-on in front of your apps on Istio (written by meshauth init).",
        "#",
        "#   1. Fill in identity (your IdP's client) and the apps below; register the redirect URIs",
        *(f"#        https://{host}/oauth2/callback" for host in hosts),
        "#      with your IdP.",
        "#   2. Create the oauth2-proxy Secret (see secret: below).",
        "#   3. Add the extension provider to Istio, next to your own install settings:",
        "#        meshauth render meshauth.yaml --mesh-config > mesh.yaml",
        "#        istioctl install -f your-istio-operator.yaml -f mesh.yaml",
        "#   4. meshauth render meshauth.yaml -o out/ && kubectl apply -k out/",
        "#",
        "# Every key, with its default: docs/reference.md. Check as you edit: meshauth validate meshauth.yaml",
    ]


def _envelope(name: str, istio_version: str) -> list[str]:
    return [
        "apiVersion: meshauth.dev/v1alpha1",
        "kind: MeshAuthConfig",
        "metadata:",
        _aligned(f"  name: {scalar(name)}", "prefix of the generated names; also their part-of label"),
        "spec:",
        "  platform:",
        _aligned(
            f"    istioVersion: {json.dumps(istio_version)}",
            'the Istio you run, quoted ("1.10" is not 1.1)',
        ),
        _aligned('    # kubernetesVersion: "1.30"', "core objects are checked against its schemas"),
        "",
        _aligned("  # mesh:", "the defaults, change them if yours differ"),
        _aligned("  #   rootNamespace: istio-system", "the mesh-wide PeerAuthentication goes here"),
        _aligned("  #   mtls: STRICT", "mutual TLS between all workloads"),
        _aligned(
            "  #   extensionProvider: oauth2-proxy",
            "name of the ext_authz provider in the mesh config",
        ),
        _aligned("  #   install: istioctl", "or helm: --mesh-config then prints istiod values"),
        _aligned("  # ingress:", ""),
        _aligned("  #   namespace: istio-system", "where your ingress gateway pods run"),
        _aligned("  #   selector: {app: istio-ingressgateway}", "their labels"),
        _aligned("  #   gateway: meshauth", "name of the Gateway meshauth writes"),
        "",
    ]


def _tls() -> list[str]:
    return [
        _aligned("  tls:", "certificates from Let's Encrypt through cert-manager"),
        "    issuer:",
        _aligned("      # name: letsencrypt", "a ClusterIssuer meshauth writes"),
        _aligned("      # create: true", "false: use an issuer you already have"),
        "      acme:",
        _aligned(
            "        email: ops@example.com",
            "Let's Encrypt writes here before a certificate expires",
        ),
        _aligned("        # solver: http01", "its challenge path stays reachable without login"),
        "",
    ]


def _identity(preset: str) -> list[str]:
    start = PRESET_STARTS.get(preset, GENERIC_START)
    from meshauth.config.presets import PRESET_NAMES

    lines = [
        _aligned("  identity:", "who logs people in: your OIDC provider and client"),
        f"    # preset: {', '.join(PRESET_NAMES)}",
        _aligned(f"    preset: {scalar(preset)}", "fixes or derives what your IdP allows"),
    ]
    for (key, value), (_, comment) in zip(start.lines[::2], start.lines[1::2]):
        lines.append(_aligned(f"    {key}: {scalar(value)}", comment))
    lines.append(_aligned("    # scopes: [openid, email, profile]", "must include openid"))
    lines += [f"    # {note}" for note in start.notes]
    return lines + [""]


def _secret() -> list[str]:
    return [
        "  # The client secret and the cookie secret stay out of Git: create the Secret once,",
        "  #   kubectl create namespace oauth2-proxy",
        "  #   kubectl -n oauth2-proxy create secret generic oauth2-proxy \\",
        "  #     --from-literal=client-secret='<from your IdP>' \\",
        '  #     --from-literal=cookie-secret="$(meshauth cookie-secret)"',
        "  # or let meshauth render an ExternalSecret or a SealedSecret (docs/config.md#specsecret).",
        "  secret:",
        _aligned("    source: existing", "existing, external-secrets, sealed-secrets or inline"),
        _aligned("    name: oauth2-proxy", "keys client-secret and cookie-secret"),
        "",
    ]


def _oauth2_proxy(hosts: Sequence[str], preset: str = "generic") -> list[str]:
    parent = _common_parent(hosts)
    lines = [
        _aligned("  oauth2Proxy:", "the login service between the gateway and your IdP"),
        _aligned(f"    # version: {LATEST}", "the oauth2-proxy release; flags are checked for it"),
        _aligned("    # replicas: 2", ""),
        "    cookie:",
        _refresh(preset),
        _aligned("      # expire: 4h", "then log in again"),
    ]
    if parent and len(hosts) > 1:
        lines.append(_aligned(f"      # domains: [{scalar(parent)}]", "one login for every app under it"))
    if not _one_cookie_fits(hosts):
        lines.append(_aligned("      shared: false", "these hosts share no parent domain: a cookie each"))
    if sessions.preset_cookie_bytes(preset) > sessions.COOKIE_LIMIT:
        lines += [
            _aligned("    sessionStore:", f"{preset}'s tokens make a cookie session pass 4 KB"),
            "      type: redis",
            "      deploy: true",
        ]
    return lines + [""]


def _refresh(preset: str) -> str:
    lifetime = PRESETS[preset].id_token_lifetime_seconds
    if lifetime and lifetime <= 1800:
        minutes = max(1, lifetime // 60 - 1)
        return _aligned(f"      refresh: {minutes}m", f"shorter than {preset}'s {lifetime // 60}m ID token")
    return _aligned("      refresh: 30m", "shorter than the ID token lifetime (often 1h)")


def _one_cookie_fits(hosts: Sequence[str]) -> bool:
    try:
        sso.cookie_domains(list(hosts), [], True)
    except sso.SsoError:
        return False
    return True


def _apps(names: Sequence[str], hosts: Sequence[str]) -> list[str]:
    lines = [_aligned("  apps:", "one entry per app behind the login")]
    first, *others = zip(names, hosts)
    lines += [
        _aligned(f"    - name: {scalar(first[0])}", "used in generated names"),
        _aligned(f"      host: {scalar(first[1])}", "or hosts: [a.example.com, b.example.com]"),
        _aligned(f"      # namespace: {scalar(first[0])}", "where the app runs; default: its name"),
        _aligned("      service:", f"the app's Service (default name: {first[0]})"),
        "        port: 80",
        _aligned(
            f"      # selector: {{app: {scalar(first[0])}}}",
            "the pods its policies apply to; default app: <name>",
        ),
        _aligned("      # publicPaths: [/healthz, /static/*]", "served without login"),
        _aligned("      # authorization:", "who may enter; omit: anyone who can log in"),
        "      #   emails: [you@example.com]",
        _aligned("      #   groups: [platform-team]", "needs a groups claim in the ID token"),
        _aligned(
            "      # deploy: {image: nginxinc/nginx-unprivileged:1.27, containerPort: 8080}",
            "a demo workload, to try it out",
        ),
    ]
    for name, host in others:
        lines += [
            f"    - name: {scalar(name)}",
            f"      host: {scalar(host)}",
            "      service:",
            "        port: 80",
        ]
    return lines


# --- helpers ---------------------------------------------------------------------------------------


def _aligned(code: str, comment: str) -> str:
    """``code`` with its comment in the comment column, or on the line above when that is too long."""
    if not comment:
        return code
    if len(code) < COMMENT_COLUMN and COMMENT_COLUMN + len(comment) <= MAX_WIDTH:
        return f"{code.ljust(COMMENT_COLUMN - 1)} # {comment}"
    if len(code) + len(comment) + 4 <= MAX_WIDTH:
        return f"{code}  # {comment}"
    indent = len(code) - len(code.lstrip(" "))
    return f"{' ' * indent}# {comment}\n{code}"


def _common_parent(hosts: Iterable[str]) -> str | None:
    parents = {host.split(".", 1)[1] for host in hosts if host.count(".") >= 2}
    return next(iter(parents)) if len(parents) == 1 else None


def _check_arguments(preset: str, hosts: Sequence[str], name: str, istio_version: str) -> None:
    from meshauth.compat.versions import MIN_ISTIO, istio_version_problem
    from meshauth.config.presets import PRESETS

    problems = []
    if preset not in PRESETS:
        problems.append(Problem(f"unknown preset; choose one of {', '.join(PRESETS)}", path="--preset"))
    for host in hosts:
        if not (is_dns_subdomain(host) and "." in host):
            problems.append(
                Problem(
                    "must be a fully qualified host name in lowercase, such as app.example.com "
                    "(no scheme, port, path or wildcard)",
                    path=f"--host {host}",
                )
            )
    if len(set(hosts)) != len(hosts):
        problems.append(Problem("a host is given twice", path="--host"))
    if not re.fullmatch(r"[0-9]+\.[0-9]+", istio_version) or istio_version_problem(
        major_minor(istio_version)
    ):
        problems.append(
            Problem(
                f'must be "MAJOR.MINOR", {MIN_ISTIO[0]}.{MIN_ISTIO[1]} or newer, such as 1.30',
                path="--istio-version",
            )
        )
    if not is_dns_label(name):
        problems.append(Problem("must be a DNS label: lowercase letters, digits and '-'", path="--name"))
    if problems:
        raise ConfigError(problems)
