"""Stand-ins for the user's own values, found in a config (warning MA066).

``meshauth init`` writes a config that renders at once, so the keys only the user can know get
stand-ins: example.com addresses, a client id with ``example`` or ``1234`` in it, the all-zero Entra
tenant. Such a config loads, renders and validates, but nothing works with it: Let's Encrypt refuses
an example.com contact and issues no certificate for an example.com host, no user reaches such a
host, and the IdP knows no such client. Each stand-in is reported, with the field and what belongs
there, until it is replaced.

What counts as a stand-in is what cannot be anyone's real value: the domains reserved for
documentation (RFC 2606: example.com, example.net, example.org and the .example TLD), a SaaS tenant
named ``example`` (``example.okta.com``), a client id that says ``example`` or counts ``1234…``, and a
GUID of one repeated digit. Messages name the field and the reserved domain, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from meshauth.config.model import Spec
from meshauth.findings import Finding

RESERVED_DOMAINS = ("example.com", "example.net", "example.org", "example")
_REPEATED_GUID = re.compile(r"([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}", re.IGNORECASE)
_COUNTING = "1234567890"


def reserved_domain(host: str) -> str | None:
    """The documentation domain ``host`` lies in (``example.com``), or None for a real one."""
    host = host.lower().rstrip(".")
    for domain in RESERVED_DOMAINS:
        if host == domain or host.endswith("." + domain):
            return domain
    if host.split(".", 1)[0] == "example" and "." in host:
        return host  # a tenant named example at a SaaS IdP: example.okta.com, example.eu.auth0.com
    return None


def is_placeholder_client_id(value: str) -> bool:
    """``1234567890-example.apps.googleusercontent.com``, ``11111111-1111-…``, ``example-client``."""
    digits = re.match(r"[0-9]*", value)
    counting = digits is not None and len(digits.group()) >= 4 and _COUNTING.startswith(digits.group())
    return counting or "example" in value.lower() or bool(_REPEATED_GUID.fullmatch(value))


def is_placeholder_tenant(value: str) -> bool:
    """The all-zero tenant GUID of the starter (or any GUID of one repeated digit)."""
    return bool(_REPEATED_GUID.fullmatch(value))


def placeholders(spec: Spec) -> Iterator[Finding]:
    """One warning per stand-in value left in ``spec``."""
    yield from _identity(spec)
    if spec.tls is not None and spec.tls.issuer.create and spec.tls.issuer.acme.email:
        domain = reserved_domain(spec.tls.issuer.acme.email.rpartition("@")[2])
        if domain:
            yield _warning(
                "spec.tls.issuer.acme.email",
                f"an address at {domain}, which Let's Encrypt refuses as a contact: put the "
                "address that should get certificate expiry notices",
            )
    certificates = " and Let's Encrypt issues no certificate for it" if spec.tls is not None else ""
    warned: set[str] = set()  # apps that split a host by pathPrefix: one warning per host
    for i, app in enumerate(spec.apps):
        field = "host" if app.host else "hosts"
        for j, host in enumerate(app.all_hosts):
            domain = reserved_domain(host)
            if domain and host not in warned:
                warned.add(host)
                where = f"spec.apps[{i}].{field}" + (f"[{j}]" if app.hosts else "")
                yield _warning(
                    where,
                    f"a host at {domain}, a domain reserved for documentation: no user reaches "
                    f"it{certificates}. Put the host name your users open, and register "
                    "https://<host>/oauth2/callback with your IdP",
                )
        for j, email in enumerate(app.authorization.emails if app.authorization else ()):
            domain = reserved_domain(email.rpartition("@")[2])
            if domain:
                yield _warning(
                    f"spec.apps[{i}].authorization.emails[{j}]",
                    f"an address at {domain}, which nobody logs in with: put the email of a person to let in",
                )
    for i, service in enumerate(spec.external_services):
        for where, host in (("host", service.host), ("upstream.host", service.upstream.host)):
            domain = reserved_domain(host)
            if domain:
                yield _warning(
                    f"spec.externalServices[{i}].{where}",
                    f"a host at {domain}, a domain reserved for documentation: put the real "
                    + ("host name your users open" if where == "host" else "service's host name"),
                )


def _identity(spec: Spec) -> Iterator[Finding]:
    identity = spec.identity
    if is_placeholder_client_id(identity.client_id):
        yield _warning(
            "spec.identity.clientId",
            f"a placeholder: put the client ID {identity.preset if identity.preset != 'generic' else 'your IdP'} "
            "gave the OIDC client you registered for meshauth's login",
        )
    if identity.tenant and is_placeholder_tenant(identity.tenant):
        yield _warning(
            "spec.identity.tenant",
            "a placeholder GUID: put your Directory (tenant) ID, from the Entra admin center "
            "(Overview) or your app registration",
        )
    urls = {
        "issuerUrl": (
            identity.issuer_url,
            "your IdP's issuer, as in <issuer>/.well-known/openid-configuration",
        ),
        "jwksUri": (identity.jwks_uri, "the jwks_uri of your IdP's discovery document"),
        "serverUrl": (identity.server_url, "your Keycloak's URL"),
        "endSessionUrl": (identity.end_session_url, "your IdP's end_session_endpoint"),
    }
    derived = identity.model_dump(by_alias=True)  # without the values the preset derived
    for key, (url, wanted) in urls.items():
        domain = reserved_domain(urlsplit(url).hostname or "") if url and key in derived else None
        if domain:
            yield _warning(f"spec.identity.{key}", f"a URL at {domain}, a placeholder: put {wanted}")


def _warning(path: str, message: str) -> Finding:
    return Finding("MA066", "warning", f"is {message}", path=path)
