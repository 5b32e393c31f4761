"""Constrained string types of the config file, each with a message that says what is expected.

Messages name the rule, not the value: the field path already says where the problem is, and a value
that landed in the wrong field might be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_DURATION_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_MAJOR_MINOR = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\Z")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CLAIM_NAME = re.compile(r"^[A-Za-z0-9_.:/-]+$")
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# \Z, not $: "$" also matches before a trailing newline, which would let "host\n" through
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]*\Z")


def _check(predicate: Callable[[str], bool], message: str) -> AfterValidator:
    def validate(value: str) -> str:
        if not predicate(value):
            raise ValueError(message)
        return value

    return AfterValidator(validate)


def is_dns_label(value: str) -> bool:
    return bool(_DNS_LABEL.match(value))


def is_dns_subdomain(value: str) -> bool:
    return 0 < len(value) <= 253 and all(is_dns_label(part) for part in value.split("."))


def duration_seconds(value: str) -> float:
    """Seconds in a Go duration such as ``1h30m`` (``0`` is zero); ValueError when unparseable."""
    if value == "0":
        return 0.0
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError("must be a duration such as 30m, 1h or 1h30m (units h, m, s, ms)")
    return sum(float(number) * _DURATION_SECONDS[unit] for number, unit in parts)


def major_minor(value: str) -> tuple[int, int]:
    major, minor = value.split(".")
    return int(major), int(minor)


def _no_control_characters(value: object) -> object:
    if isinstance(value, str) and not _PRINTABLE.match(value):
        raise ValueError("must not contain control characters")
    return value


def _version_string(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(
            'must be a quoted string such as "1.10": YAML reads an unquoted 1.10 as the number 1.1'
        )
    return value


def _path_ok(value: str) -> bool:
    if not value.startswith("/") or any(c in value for c in "?# \t"):
        return False
    star = value.find("*")
    return star == -1 or star == len(value) - 1


def _duration_ok(value: str) -> bool:
    try:
        duration_seconds(value)
    except ValueError:
        return False
    return True


def _url_ok(schemes: tuple[str, ...]) -> Callable[[str], bool]:
    def ok(value: str) -> bool:
        scheme, sep, rest = value.partition("://")
        host = rest.split("/", 1)[0].split(":", 1)[0]
        return bool(sep) and scheme in schemes and bool(host) and " " not in value

    return ok


Text = Annotated[str, BeforeValidator(_no_control_characters)]
"""Any single-line text: control characters are refused everywhere."""

DnsLabel = Annotated[
    Text,
    _check(is_dns_label, "must be a DNS label: lowercase letters, digits and '-', at most 63"),
    Field(json_schema_extra={"pattern": _DNS_LABEL.pattern}),
]
DnsSubdomain = Annotated[
    Text,
    _check(is_dns_subdomain, "must be a DNS name: lowercase labels separated by dots, at most 253"),
]
HOST_RULE = (
    "must be a fully qualified host name in lowercase, such as app.example.com "
    "(no scheme, port, path or wildcard)"
)


def is_host(value: str) -> bool:
    """A fully qualified host name in lowercase, as an app's ``host`` takes it."""
    return is_dns_subdomain(value) and "." in value


Host = Annotated[Text, _check(is_host, HOST_RULE)]


def is_label_key(value: str) -> bool:
    """``name`` or ``prefix/name``: a DNS-subdomain prefix and a 63-character name."""
    prefix, _, name = value.rpartition("/")
    return (not prefix or is_dns_subdomain(prefix)) and bool(_LABEL_NAME.match(name))


LabelKey = Annotated[
    Text,
    _check(is_label_key, "must be a Kubernetes label key such as app or example.com/tier"),
]
LabelValue = Annotated[
    Text,
    _check(
        lambda v: bool(_LABEL_VALUE.match(v)),
        "must be a Kubernetes label value (at most 63 "
        "letters, digits, '-', '_' or '.', starting and ending alphanumeric)",
    ),
]
Duration = Annotated[
    Text,
    _check(_duration_ok, "must be a duration such as 30m, 1h or 1h30m (units h, m, s, ms)"),
]
MajorMinor = Annotated[
    str,
    BeforeValidator(_version_string),
    _check(lambda v: bool(_MAJOR_MINOR.match(v)), 'must be "MAJOR.MINOR", such as "1.22"'),
]


def masked_userinfo(value: str) -> tuple[str, str] | None:
    """``(userinfo, the URL with it masked)`` when the absolute URL ``value`` carries user info
    (``user:password@`` or a token before the host); None otherwise."""
    scheme, sep, rest = value.partition("://")
    end = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if not sep or not at:
        return None
    return userinfo, f"{scheme}://***@{host}{rest[end:]}"


def _no_credentials(value: str) -> str:
    found = masked_userinfo(value)
    if found:
        raise ValueError(
            f"must not carry credentials ({found[1]}): the URL is written as it is into the "
            "rendered policies and oauth2-proxy flags, where anyone who can read them sees it; "
            "an OIDC issuer's discovery document and keys are public and need none"
        )
    return value


HttpUrl = Annotated[
    Text,
    _check(_url_ok(("https", "http")), "must be an absolute URL such as https://idp.example.com"),
    AfterValidator(_no_credentials),
]
HttpsUrl = Annotated[
    Text, _check(_url_ok(("https",)), "must be an absolute https:// URL"), AfterValidator(_no_credentials)
]
RedisUrl = Annotated[
    Text,
    _check(_url_ok(("redis", "rediss")), "must be a redis:// or rediss:// URL"),
]
Email = Annotated[Text, _check(lambda v: bool(_EMAIL.match(v)), "must be an email address")]
IstioPath = Annotated[
    Text,
    _check(
        _path_ok,
        'must be an absolute path in Istio syntax: exact "/healthz" or prefix "/static/*" '
        "(no query, fragment or space; '*' only at the end)",
    ),
]


# --- where an app is served, and the headers that tell it who the user is ------------------------


def _path_prefix_ok(value: str) -> bool:
    if not value.startswith("/") or any(c in value for c in "*?#% \t\\"):
        return False
    segments = value.split("/")[1:-1] if value.endswith("/") else value.split("/")[1:]
    return all(s not in ("", ".", "..") for s in segments)


PathPrefix = Annotated[
    Text,
    _check(
        _path_prefix_ok,
        'must be a path prefix such as "/" or "/pipeline/" (no "*", "?", "#", "%", spaces, '
        "empty, . or .. segments)",
    ),
]
_HEADER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Headers an identity header must not be: the ones the login, the token check and HTTP itself use.
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "host",
        "connection",
        "content-length",
        "content-type",
        "te",
        "upgrade",
        "transfer-encoding",
        "proxy-authorization",
        "set-cookie",
        "x-request-id",
    }
)
RESERVED_HEADER_PREFIXES = ("x-envoy-", "x-forwarded-", "x-auth-request-", "x-b3-", "x-istio-")


def _header_name(value: str) -> str:
    if not _HEADER_NAME.match(value):
        raise ValueError(
            "must be a lower-case HTTP header name (letters, digits and -), such as x-user-email"
        )
    if value in RESERVED_HEADERS or value.startswith(RESERVED_HEADER_PREFIXES):
        raise ValueError(
            f"{value!r} is a header the login, the mesh or HTTP itself uses; pick a name of your own "
            "(such as x-user-email)"
        )
    return value


HeaderName = Annotated[Text, AfterValidator(_header_name)]


# --- who an authorization admits -----------------------------------------------------------------
# Istio matches the values of request.auth.claims[...] and requestPrincipals as exact, prefix ("abc*"),
# suffix ("*abc") or presence ("*"). A value that widens beyond what its author meant is refused
# with a message that says who else gets in (docs/security.md, "Input that would widen access or leak").


def admitted_email(value: str) -> str:
    """An email to admit: exact, or ``*@domain`` for a whole domain; any other ``*`` is refused."""
    if "*" not in value:
        return value
    local, _, domain = value.rpartition("@")
    if local == "*" and "*" not in domain:
        return value
    if value.count("*") == 1 and value.endswith("*"):
        prefix = value[:-1]
        wider = prefix + ("attacker.net" if prefix.endswith((".", "@")) else ".attacker.net")
        raise ValueError(
            f"{value!r} also admits {wider}: Istio matches a trailing * as a prefix; list the exact "
            f"address, or *@{domain.rstrip('*').rstrip('.') or 'example.com'} for a whole domain"
        )
    if value.count("*") == 1 and value.startswith("*"):
        raise ValueError(
            f"{value!r} also admits mallory-{value[1:]}: Istio matches a leading * as a suffix; "
            f"list the exact address, or *@{domain} for the whole domain"
        )
    raise ValueError(
        f"{value!r}: Istio reads * only as a whole local part (*@example.com for a whole domain); "
        "list exact addresses"
    )


def _claim_value(value: str) -> str:
    if value == "*":
        raise ValueError(
            "'*' admits every user whose token has this claim with any value (Istio reads a lone * "
            "as 'present'); list the values, or leave the field out to admit any logged-in user"
        )
    return value


def _principal_exact(value: str) -> str:
    if "*" in value:
        raise ValueError(
            f"{value!r} admits more than one user: Istio matches * as a prefix or suffix, and "
            "'<issuer>/*' is every account of the issuer; list each <iss>/<sub> exactly"
        )
    return value


def _not_everything(value: str) -> str:
    if value == "/*":
        raise ValueError(
            "'/*' serves every path of the app without login, which makes the whole app public; "
            "list the public paths one by one (such as /healthz or /static/*)"
        )
    return value


ClaimName = Annotated[
    Text,
    _check(lambda v: bool(_CLAIM_NAME.match(v)), "must be a JWT claim name (letters, digits, _ . : / -)"),
]
_IMAGE_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REF = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?/)?"  # registry host[:port]/
    rf"{_IMAGE_COMPONENT}(?:/{_IMAGE_COMPONENT})*"  # path
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"  # :tag
    r"(?:@sha256:[0-9a-f]{64})?\Z"  # @digest
)
ImageRef = Annotated[
    Text,
    _check(
        lambda v: bool(_IMAGE_REF.match(v)),
        "must be an image reference such as nginxinc/nginx-unprivileged:1.27 or "
        "registry.example.com/team/app:1.0@sha256:<64 hex>",
    ),
]
ImageDigest = Annotated[
    Text,
    _check(
        lambda v: bool(re.fullmatch(r"sha256:[0-9a-f]{64}", v)),
        "must be an image digest: sha256: and 64 lowercase hex digits",
    ),
]
CookieName = Annotated[Text, _check(lambda v: bool(_COOKIE_NAME.match(v)), "must be a valid cookie name")]


def _principal_ok(value: str) -> bool:
    """``<issuer>/<subject>``: the issuer may be a URL, so look for a subject after its host."""
    rest = value.split("://", 1)[1] if "://" in value else value
    issuer_host, _, path = rest.partition("/")
    return bool(issuer_host) and bool(path) and not path.endswith("/")


RequestPrincipal = Annotated[
    Text,
    _check(
        _principal_ok,
        'must be "<issuer>/<subject>", such as https://accounts.google.com/1234567890',
    ),
]
AdmittedPrincipal = Annotated[RequestPrincipal, AfterValidator(_principal_exact)]
"""A principal to admit: exactly one user."""
AdmittedEmail = Annotated[Email, AfterValidator(admitted_email)]
"""An email to admit: exact, or ``*@domain``."""
ClaimValue = Annotated[Text, AfterValidator(_claim_value)]
"""A group or claim value to admit: exact or an Istio prefix/suffix pattern, never a lone ``*``."""
PublicPath = Annotated[IstioPath, AfterValidator(_not_everything)]
"""A path served without login: never every path."""


# --- GitOps settings (spec.gitops) -----------------------------------------------------------------

_SCP_GIT_URL = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")
_GIT_REVISION = re.compile(r"^[^\s~^:?*\[\\]+$")


def is_scp_git_url(value: str) -> bool:
    """``git@github.com:org/repo.git``: the short SSH form Git and Argo CD accept, Flux does not."""
    return bool(_SCP_GIT_URL.match(value))


def normalize_repo_path(value: str) -> str:
    """A folder inside a repository as Git sees it: ``./a/b/`` -> ``a/b``; ``.`` or ``""`` -> ``""``."""
    parts = [part for part in value.replace("\\", "/").split("/") if part not in ("", ".")]
    return "/".join(parts)


def _repo_path_ok(value: str) -> bool:
    return not value.startswith("/") and "\\" not in value and ".." not in value.split("/")


def _no_git_credentials(value: str) -> str:
    """A token or password in a repository URL would be written into the engine's objects; SSH's
    bare user name (``ssh://git@host/...``) is no secret and stays allowed."""
    found = masked_userinfo(value)
    if found and (not value.startswith("ssh://") or ":" in found[0]):
        raise ValueError(
            f"must not carry credentials ({found[1]}): the URL is written into the Argo CD "
            "Applications or Flux GitRepository, where anyone who can read them sees it; give the "
            "engine the repository's credentials instead: an Argo CD repository Secret (label "
            "argocd.argoproj.io/secret-type: repository) or the Flux GitRepository's secretRef"
        )
    return value


GitUrl = Annotated[
    Text,
    _check(
        lambda v: _url_ok(("https", "http", "ssh"))(v) or is_scp_git_url(v),
        "must be a Git repository URL: https://host/org/repo.git, ssh://git@host/org/repo.git or "
        "git@host:org/repo.git",
    ),
    AfterValidator(_no_git_credentials),
]
GitRevision = Annotated[
    Text,
    _check(
        lambda v: bool(_GIT_REVISION.match(v)) and not v.startswith("-"),
        "must be a Git branch, tag, full ref (refs/tags/v1.0) or commit SHA",
    ),
]
RepoPath = Annotated[
    Text,
    _check(
        _repo_path_ok,
        "must be a relative folder inside the repository, such as deploy/meshauth (no leading /, no ..)",
    ),
    AfterValidator(normalize_repo_path),
]
