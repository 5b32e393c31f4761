"""Which command-line flags each oauth2-proxy v7 release has, and a few per-release image facts.

Pure data and small functions (stdlib only, no I/O at import time). It stays one module, over 400
lines, because most of it is the one flag table, read top to bottom against upstream's changelog.

Sources (all upstream, github.com/oauth2-proxy/oauth2-proxy; the table below is written by hand):

* Flag definitions: the ``flagSet.<Type>("name", ...)`` calls in ``main.go`` (pre-parse flag set),
  ``pkg/apis/options/options.go`` (``NewFlagSet``), ``cookie.go``, ``logging.go``, ``app.go``
  (``templatesFlagSet``) and ``legacy_options.go`` (upstreams, headers, server, provider and google
  flag sets), read at several commits of the v7 history (a v7.1.0-era ``options.go`` and
  ``legacy_options.go``, the v7.8.0-era ``options.go`` and ``legacy_options.go`` of the Entra ID
  work, ``5f188e5b``), plus the docs page ``docs/versioned_docs/version-7.15.x/configuration/
  overview.md`` for the v7.15 flags.
* The release a flag first appeared in: ``CHANGELOG.md`` (sections "Changes since vX.Y.Z" for every
  v7 release), cross-checked with the pull requests named there (e.g. #1839 readiness endpoint,
  #2282 ADC target principal, #3237 Google organization id, #3338 ``--config-test``) and with the
  upstream commit order where a CHANGELOG section lists PRs merged after its release commit.
* Image user: ``Dockerfile`` and ``CHANGELOG.md`` v7.3.0 ("#1478 Changes the UID and GID of the
  runtime user to 65532"); the earlier ``USER 2000:2000`` comes from PR #85 (UID/GID 2000, kept
  until #1478). See :func:`image_user`.
* Health endpoints: ``--ready-path`` (default ``/ready``) was added by #1839 in v7.5.0; before that
  only ``--ping-path`` (``/ping``) exists. See :func:`health_paths`.

Convention for ``since``: a flag that already existed in v7.0.0 is recorded as ``"v7.0.0"`` even
if it is older (this module only describes v7). For every flag added later, ``since`` is the first
v7 release tag whose source defines it. No flag was removed or renamed within v7, so every
``removed`` entry is ``None``; the field is kept so that a future removal can be recorded.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence

__all__ = [
    "KNOWN_VERSIONS",
    "LATEST",
    "command_line",
    "flag_since",
    "flags_for",
    "has_provider",
    "health_paths",
    "image_user",
    "is_bool_flag",
    "is_list_flag",
    "parse_version",
    "reads_secret_files",
    "provider_since",
]

# Every v7 release tag, ascending (CHANGELOG.md "Changes since ..." chain; no pre-releases).
KNOWN_VERSIONS: tuple[str, ...] = (
    "v7.0.0",
    "v7.0.1",
    "v7.1.0",
    "v7.1.1",
    "v7.1.2",
    "v7.1.3",
    "v7.2.0",
    "v7.2.1",
    "v7.3.0",
    "v7.4.0",
    "v7.5.0",
    "v7.5.1",
    "v7.6.0",
    "v7.7.0",
    "v7.7.1",
    "v7.8.0",
    "v7.8.1",
    "v7.8.2",
    "v7.9.0",
    "v7.10.0",
    "v7.11.0",
    "v7.12.0",
    "v7.13.0",
    "v7.14.0",
    "v7.14.1",
    "v7.14.2",
    "v7.14.3",
    "v7.15.0",
    "v7.15.1",
    "v7.15.2",
    "v7.15.3",
)
LATEST: str = KNOWN_VERSIONS[-1]

_V7 = "v7.0.0"  # "present in v7.0.0" (possibly older, see the module docstring)

# flag name (without "--") -> (first release that has it, first release without it or None)
_FLAGS: dict[str, tuple[str, str | None]] = {
    # main.go: the pre-parse flag set (no config-file key, no env var)
    "config": (_V7, None),
    "alpha-config": (_V7, None),
    "convert-config-to-alpha": (_V7, None),
    "version": (_V7, None),
    "config-test": ("v7.15.0", None),  # #3338
    # options.go NewFlagSet: proxy behaviour
    "reverse-proxy": (_V7, None),
    "real-client-ip-header": (_V7, None),
    "trusted-ip": (_V7, None),
    "trusted-proxy-ip": ("v7.15.2", None),  # GHSA-7x63-xv5r-3p2x hardening
    "force-https": (_V7, None),
    "redirect-url": (_V7, None),
    "relative-redirect-url": ("v7.6.0", None),  # #2183
    "skip-auth-regex": (_V7, None),
    "skip-auth-route": (_V7, None),
    "api-route": ("v7.4.0", None),  # #1760
    "skip-provider-button": (_V7, None),
    "skip-auth-preflight": (_V7, None),
    "ssl-insecure-skip-verify": (_V7, None),
    "skip-jwt-bearer-tokens": (_V7, None),
    # #2924. CHANGELOG files it under v7.8.2, but that section also lists PRs merged after the
    # "release v7.8.2 (#3012)" commit (e.g. #2967); the flag is first defined in the v7.9.0 tag.
    "bearer-token-login-fallback": ("v7.9.0", None),
    "force-json-errors": ("v7.2.0", None),  # #1375
    "encode-state": ("v7.6.0", None),  # #2239
    "allow-query-semicolons": ("v7.6.0", None),  # #2248
    "extra-jwt-issuers": (_V7, None),
    "email-domain": (_V7, None),
    "whitelist-domain": (_V7, None),
    "authenticated-emails-file": (_V7, None),
    "htpasswd-file": (_V7, None),
    "htpasswd-user-group": ("v7.1.0", None),  # #1064
    "proxy-prefix": (_V7, None),
    "signature-key": (_V7, None),
    # options.go NewFlagSet: probes
    "ping-path": (_V7, None),
    "ping-user-agent": ("v7.0.0", None),  # v6.0.0 (in v7.0.1's options.go; #1117 only documented it)
    "ready-path": ("v7.5.0", None),  # #1839
    "gcp-healthchecks": (_V7, None),
    # options.go NewFlagSet: sessions
    "session-store-type": (_V7, None),
    "session-cookie-minimal": (_V7, None),
    "redis-connection-url": (_V7, None),
    "redis-username": ("v7.6.0", None),  # #2381
    "redis-password": (_V7, None),
    "redis-use-sentinel": (_V7, None),
    "redis-sentinel-password": (_V7, None),
    "redis-sentinel-master-name": (_V7, None),
    "redis-sentinel-connection-urls": (_V7, None),
    "redis-ca-path": (_V7, None),
    "redis-insecure-skip-tls-verify": (_V7, None),
    "redis-use-cluster": (_V7, None),
    "redis-cluster-connection-urls": (_V7, None),
    "redis-connection-idle-timeout": ("v7.4.0", None),  # #1691
    # cookie.go cookieFlagSet
    "cookie-name": (_V7, None),
    "cookie-secret": (_V7, None),
    "cookie-secret-file": ("v7.11.0", None),  # #3104
    "cookie-domain": (_V7, None),
    "cookie-path": (_V7, None),
    "cookie-expire": (_V7, None),
    "cookie-refresh": (_V7, None),
    "cookie-secure": (_V7, None),
    "cookie-httponly": (_V7, None),
    "cookie-samesite": (_V7, None),
    "cookie-csrf-per-request": ("v7.4.0", None),  # #1708
    "cookie-csrf-per-request-limit": ("v7.11.0", None),  # #2615
    "cookie-csrf-expire": ("v7.4.0", None),  # #1708
    "cookie-csrf-samesite": ("v7.15.0", None),  # #3347
    # logging.go loggingFlagSet
    "auth-logging": (_V7, None),
    "auth-logging-format": (_V7, None),
    "standard-logging": (_V7, None),
    "standard-logging-format": (_V7, None),
    "request-logging": (_V7, None),
    "request-logging-format": (_V7, None),
    "errors-to-info-log": (_V7, None),  # #718 (v6.1)
    "exclude-logging-path": (_V7, None),
    "logging-local-time": (_V7, None),
    "silence-ping-logging": (_V7, None),
    "request-id-header": ("v7.1.0", None),  # #1087
    "logging-filename": (_V7, None),
    "logging-max-size": (_V7, None),
    "logging-max-age": (_V7, None),
    "logging-max-backups": (_V7, None),
    "logging-compress": (_V7, None),
    # app.go templatesFlagSet
    "custom-templates-dir": (_V7, None),
    "custom-sign-in-logo": ("v7.1.0", None),  # #1056
    "banner": (_V7, None),
    "footer": (_V7, None),
    "display-htpasswd-form": (_V7, None),
    "show-debug-on-error": ("v7.1.0", None),  # #1029
    # legacy_options.go legacyUpstreamsFlagSet
    "flush-interval": (_V7, None),
    "pass-host-header": (_V7, None),
    "proxy-websockets": (_V7, None),
    "ssl-upstream-insecure-skip-verify": (_V7, None),
    "upstream": (_V7, None),
    "upstream-timeout": ("v7.3.0", None),  # #1638
    "disable-keep-alives": ("v7.12.0", None),  # #3156
    # legacy_options.go legacyHeadersFlagSet
    "pass-basic-auth": (_V7, None),
    "pass-access-token": (_V7, None),
    "pass-user-headers": (_V7, None),
    "pass-authorization-header": (_V7, None),
    "set-basic-auth": (_V7, None),
    "set-xauthrequest": (_V7, None),
    "set-authorization-header": (_V7, None),
    "prefer-email-to-user": (_V7, None),
    "basic-auth-password": (_V7, None),
    "skip-auth-strip-headers": (_V7, None),
    # legacy_options.go legacyServerFlagset
    "http-address": (_V7, None),
    "https-address": (_V7, None),
    "tls-cert-file": (_V7, None),
    "tls-key-file": (_V7, None),
    "tls-min-version": ("v7.3.0", None),  # #1474
    "tls-cipher-suite": ("v7.4.0", None),  # #1723
    "metrics-address": ("v7.1.0", None),  # #980
    "metrics-secure-address": ("v7.1.0", None),  # #1047
    "metrics-tls-cert-file": ("v7.1.0", None),  # #1047
    "metrics-tls-key-file": ("v7.1.0", None),  # #1047
    # legacy_options.go legacyProviderFlagSet: client and provider selection
    "client-id": (_V7, None),
    "client-secret": (_V7, None),
    "client-secret-file": (_V7, None),
    "provider": (_V7, None),
    "provider-display-name": (_V7, None),
    "provider-ca-file": (_V7, None),  # #645 (v6.1)
    "use-system-trust-store": ("v7.6.0", None),  # #2237
    # legacyProviderFlagSet: OIDC and endpoints
    "oidc-issuer-url": (_V7, None),
    "insecure-oidc-allow-unverified-email": (_V7, None),
    "insecure-oidc-skip-issuer-verification": (_V7, None),
    "insecure-oidc-skip-nonce": ("v7.1.3", None),  # #967
    "skip-oidc-discovery": (_V7, None),
    "oidc-jwks-url": (_V7, None),
    "oidc-public-key-file": ("v7.8.0", None),  # #2376
    "oidc-enabled-signing-alg": ("v7.15.0", None),  # #2851
    "oidc-groups-claim": (_V7, None),
    "oidc-email-claim": (_V7, None),
    "oidc-audience-claim": ("v7.3.0", None),  # #1204
    "oidc-extra-audience": ("v7.3.0", None),  # #1204
    "user-id-claim": (_V7, None),
    "login-url": (_V7, None),
    "redeem-url": (_V7, None),
    "profile-url": (_V7, None),
    "skip-claims-from-profile-url": ("v7.6.0", None),  # #2329
    "validate-url": (_V7, None),
    "resource": (_V7, None),
    "scope": (_V7, None),
    "prompt": (_V7, None),
    "approval-prompt": (_V7, None),
    "auth-request-response-mode": ("v7.9.0", None),  # #3001
    "code-challenge-method": ("v7.3.0", None),  # #1541 (PKCE)
    "force-code-challenge-method": ("v7.4.0", None),  # #1667, legacy spelling
    "acr-values": (_V7, None),
    "jwt-key": (_V7, None),
    "jwt-key-file": (_V7, None),
    "pubjwk-url": (_V7, None),
    "backend-logout-url": ("v7.6.0", None),  # #1876
    "allowed-group": (_V7, None),
    "allowed-role": ("v7.2.0", None),  # #1210 keycloak-oidc
    # legacyProviderFlagSet: provider specific
    "keycloak-group": (_V7, None),
    "azure-tenant": (_V7, None),
    "azure-graph-group-field": ("v7.4.0", None),  # #1574 (Azure v2.0 groups)
    "entra-id-allowed-tenant": ("v7.8.0", None),  # #2390
    "entra-id-federated-token-auth": ("v7.8.0", None),  # #2902
    "bitbucket-team": (_V7, None),
    "bitbucket-repository": (_V7, None),
    "github-org": (_V7, None),
    "github-team": (_V7, None),
    "github-repo": (_V7, None),
    "github-token": (_V7, None),
    "github-user": (_V7, None),
    "gitlab-group": (_V7, None),
    "gitlab-project": (_V7, None),
    # legacy_options.go legacyGoogleFlagSet
    "google-group": (_V7, None),
    "google-admin-email": (_V7, None),
    "google-service-account-json": (_V7, None),
    "google-use-application-default-credentials": ("v7.5.0", None),  # #2126
    "google-target-principal": ("v7.6.0", None),  # #2282 (ADC impersonation fix)
    "google-use-organization-id": ("v7.13.0", None),  # #3237
    "google-admin-api-user-scope": ("v7.13.0", None),  # #3237 ("scope ... as a config option")
}

# pflag StringSlice flags: may be repeated and take comma-separated values.
_LIST_FLAGS: frozenset[str] = frozenset(
    {
        "trusted-ip",
        "trusted-proxy-ip",
        "skip-auth-regex",
        "skip-auth-route",
        "api-route",
        "extra-jwt-issuers",
        "email-domain",
        "whitelist-domain",
        "htpasswd-user-group",
        "redis-sentinel-connection-urls",
        "redis-cluster-connection-urls",
        "cookie-domain",
        "exclude-logging-path",
        "upstream",
        "tls-cipher-suite",
        "provider-ca-file",
        "oidc-public-key-file",
        "oidc-enabled-signing-alg",
        "oidc-audience-claim",
        "oidc-extra-audience",
        "allowed-group",
        "allowed-role",
        "keycloak-group",
        "entra-id-allowed-tenant",
        "github-user",
        "gitlab-group",
        "gitlab-project",
        "google-group",
    }
)

# pflag Bool flags: "--name" alone means true. Not included: google-use-application-default-
# credentials and google-use-organization-id, which upstream declares with flagSet.String (they
# need an explicit value on the command line even though they are booleans in the config struct).
_BOOL_FLAGS: frozenset[str] = frozenset(
    {
        "version",
        "convert-config-to-alpha",
        "config-test",
        "reverse-proxy",
        "force-https",
        "relative-redirect-url",
        "skip-provider-button",
        "skip-auth-preflight",
        "ssl-insecure-skip-verify",
        "skip-jwt-bearer-tokens",
        "bearer-token-login-fallback",
        "force-json-errors",
        "encode-state",
        "allow-query-semicolons",
        "gcp-healthchecks",
        "session-cookie-minimal",
        "redis-use-sentinel",
        "redis-insecure-skip-tls-verify",
        "redis-use-cluster",
        "cookie-secure",
        "cookie-httponly",
        "cookie-csrf-per-request",
        "auth-logging",
        "standard-logging",
        "request-logging",
        "errors-to-info-log",
        "logging-local-time",
        "silence-ping-logging",
        "logging-compress",
        "display-htpasswd-form",
        "show-debug-on-error",
        "pass-host-header",
        "proxy-websockets",
        "ssl-upstream-insecure-skip-verify",
        "disable-keep-alives",
        "pass-basic-auth",
        "pass-access-token",
        "pass-user-headers",
        "pass-authorization-header",
        "set-basic-auth",
        "set-xauthrequest",
        "set-authorization-header",
        "prefer-email-to-user",
        "skip-auth-strip-headers",
        "use-system-trust-store",
        "insecure-oidc-allow-unverified-email",
        "insecure-oidc-skip-issuer-verification",
        "insecure-oidc-skip-nonce",
        "skip-oidc-discovery",
        "skip-claims-from-profile-url",
        "entra-id-federated-token-auth",
    }
)

ENV_PREFIX = "OAUTH2_PROXY_"
# OAUTH2_PROXY_* variables (and config-file keys, the same words in lower case) whose name is not
# the flag's: list options are plural (the cfg tags of pkg/apis/options at v7.15.3, see
# shared/ref/oauth2-proxy/flags.json cfg_keys).
_ENV_FLAGS = {
    "ALLOWED_GROUPS": "allowed-group",
    "ALLOWED_ROLES": "allowed-role",
    "API_ROUTES": "api-route",
    "COOKIE_DOMAINS": "cookie-domain",
    "EMAIL_DOMAINS": "email-domain",
    "ENTRA_ID_ALLOWED_TENANTS": "entra-id-allowed-tenant",
    "EXCLUDE_LOGGING_PATHS": "exclude-logging-path",
    "GITHUB_USERS": "github-user",
    "GITLAB_GROUPS": "gitlab-group",
    "GITLAB_PROJECTS": "gitlab-project",
    "GOOGLE_GROUPS": "google-group",
    "HTPASSWD_USER_GROUPS": "htpasswd-user-group",
    "KEYCLOAK_GROUPS": "keycloak-group",
    "OIDC_AUDIENCE_CLAIMS": "oidc-audience-claim",
    "OIDC_ENABLED_SIGNING_ALGS": "oidc-enabled-signing-alg",
    "OIDC_EXTRA_AUDIENCES": "oidc-extra-audience",
    "OIDC_PUBLIC_KEY_FILES": "oidc-public-key-file",
    "PROVIDER_CA_FILES": "provider-ca-file",
    "SKIP_AUTH_ROUTES": "skip-auth-route",
    "TLS_CIPHER_SUITES": "tls-cipher-suite",
    "TRUSTED_IPS": "trusted-ip",
    "TRUSTED_PROXY_IPS": "trusted-proxy-ip",
    "UPSTREAMS": "upstream",
    "WHITELIST_DOMAINS": "whitelist-domain",
}


def env_flag(variable: str) -> str | None:
    """The flag an ``OAUTH2_PROXY_*`` environment variable sets; None for any other variable."""
    if not variable.startswith(ENV_PREFIX):
        return None
    key = variable[len(ENV_PREFIX) :]
    return _ENV_FLAGS.get(key, key.lower().replace("_", "-"))


_TAG = re.compile(r"v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_FIRST_V7 = (7, 0, 0)
_DISTROLESS_UID_SINCE = (7, 3, 0)  # CHANGELOG v7.3.0, #1478
_READY_PATH_SINCE = (7, 5, 0)  # CHANGELOG v7.5.0, #1839


def command_line(words: Sequence[str]) -> Iterator[tuple[int, str | None, str]]:
    """oauth2-proxy's command line read as its flag parser (pflag) reads it: for each word that
    names a flag, (its index, the flag, the value): ``--name=value``; ``--name value`` unless the flag
    is a bool; a bool flag alone is ``"true"``. A word that is no flag (nor the value of one) gives
    (its index, None, the word)."""
    index = 0
    while index < len(words):
        word, at = words[index], index
        index += 1
        if not word.startswith("-") or word.strip("-") == "":
            yield at, None, word
            continue
        name, equals, value = word.lstrip("-").partition("=")
        if not equals:
            follows = index < len(words) and not words[index].startswith("-")
            if follows and not is_bool_flag(name):
                value, index = words[index], index + 1
            else:
                value = "true"
        yield at, name, value


def config_key_flag(key: str) -> str:
    """The flag a key of oauth2-proxy's ``--config`` file sets (``skip_auth_routes`` ->
    ``skip-auth-route``): its environment variable is the key in capitals."""
    return env_flag(ENV_PREFIX + key.upper()) or key.replace("_", "-")


def parse_version(tag: str) -> tuple[int, int, int]:
    """``"v7.2.0"`` -> ``(7, 2, 0)``; anything but ``vMAJOR.MINOR.PATCH`` raises ValueError."""
    match = _TAG.fullmatch(tag) if isinstance(tag, str) else None
    if match is None:
        raise ValueError(f"not an oauth2-proxy release tag (vMAJOR.MINOR.PATCH): {tag!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _v7(version: str) -> tuple[int, int, int]:
    parsed = parse_version(version)
    if parsed < _FIRST_V7:
        raise ValueError(f"only oauth2-proxy v7.0.0 and newer are described, not {version!r}")
    return parsed


@functools.cache
def flags_for(version: str) -> frozenset[str]:
    """Names (without ``--``) of the flags of that release; newer than LATEST -> LATEST's flags."""
    wanted = min(_v7(version), parse_version(LATEST))
    return frozenset(
        name
        for name, (since, removed) in _FLAGS.items()
        if parse_version(since) <= wanted and (removed is None or wanted < parse_version(removed))
    )


def flag_since(name: str) -> str | None:
    """First release that has the flag (``"v7.0.0"`` for older flags), or None if unknown."""
    entry = _FLAGS.get(name.removeprefix("--"))
    return entry[0] if entry else None


def is_list_flag(name: str) -> bool:
    """True for flags that may be given several times (pflag StringSlice)."""
    return name.removeprefix("--") in _LIST_FLAGS


def is_bool_flag(name: str) -> bool:
    """True for pflag Bool flags (``--name`` alone means true)."""
    return name.removeprefix("--") in _BOOL_FLAGS


def image_user(version: str) -> int:
    """Numeric UID of quay.io/oauth2-proxy/oauth2-proxy for that release.

    2000 up to v7.2.x (``USER 2000:2000`` in the alpine image, since PR #85); 65532 (the distroless
    ``nonroot`` UID) from v7.3.0 (#1478). The runtime base itself became distroless in v7.6.0
    (#2295, which relies on ``gcr.io/distroless/static:nonroot``), still UID 65532.
    """
    return 65532 if _v7(version) >= _DISTROLESS_UID_SINCE else 2000


def health_paths(version: str) -> tuple[str, str]:
    """``(liveness_path, readiness_path)``: ``/ping`` for both before v7.5.0, then ``/ready``."""
    if _v7(version) >= _READY_PATH_SINCE:
        return "/ping", "/ready"
    return "/ping", "/ping"


def reads_secret_files(version: str) -> bool:
    """True when the release reads both secrets from files (``--client-secret-file`` exists in every
    v7 release, ``--cookie-secret-file`` from v7.11.0, #3104); before, the cookie secret can only
    come from a flag or the environment."""
    return "cookie-secret-file" in flags_for(version) and "client-secret-file" in flags_for(version)


# --provider values, and the first v7 release whose ``providers.NewProvider`` accepts each. Sources:
# CHANGELOG.md (#1210 keycloak-oidc and #1238 adfs in v7.2.0) and the release that first defines the
# entra-id-* flags of the same pull request (#2390, v7.8.0); providers/providers.go at v7.15.3.
_PROVIDERS: dict[str, str] = {
    "oidc": _V7,
    "google": _V7,
    "azure": _V7,
    "gitlab": _V7,
    "github": _V7,
    "keycloak": _V7,
    "bitbucket": _V7,
    "digitalocean": _V7,
    "facebook": _V7,
    "linkedin": _V7,
    "login.gov": _V7,
    "nextcloud": _V7,
    "keycloak-oidc": "v7.2.0",
    "adfs": "v7.2.0",
    "entra-id": "v7.8.0",
}


def provider_since(name: str) -> str | None:
    """First release whose ``--provider`` accepts ``name`` (``"v7.0.0"`` for older), or None."""
    return _PROVIDERS.get(name)


def has_provider(version: str, name: str) -> bool:
    """True when oauth2-proxy ``version`` knows ``--provider=name``."""
    since = _PROVIDERS.get(name)
    return since is not None and min(_v7(version), parse_version(LATEST)) >= parse_version(since)
