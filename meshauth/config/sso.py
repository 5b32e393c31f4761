"""One login for all apps: the cookie domain shared by the app hosts, and where redirects may go.

oauth2-proxy sets its session cookie for the longest ``--cookie-domain`` that matches the request's
host, and for the *shortest* one when none matches (which a browser then refuses for that host, so
the login loops). With no cookie domain the cookie belongs to the one host that set it, and every
other app host needs a login of its own. So when the apps span several hosts meshauth derives the
hosts' common parent domain, unless the config names the domains itself (or says ``shared: false``).

A cookie domain must never be a public suffix: browsers refuse cookies for ``com`` or ``co.uk``.
The full Public Suffix List is large and changes; meshauth carries the small part that covers common
multi-label registry suffixes and shared-hosting domains (:data:`MULTI_LABEL_PUBLIC_SUFFIXES`) and
treats every single label (``com``, ``dev``, ``internal``) as public. A suffix missing from that list
is caught by the browser, not here: set ``cookie.domains`` explicitly in that case.
"""

from __future__ import annotations

from collections.abc import Iterable

# Multi-label public suffixes from the Public Suffix List (publicsuffix.org, ICANN and private
# sections): second-level registries of countries where names are registered below a category
# label, and shared-hosting domains whose subdomains belong to different owners.
MULTI_LABEL_PUBLIC_SUFFIXES: frozenset[str] = frozenset(
    {
        # United Kingdom, Japan, Australia, New Zealand, South Africa, India, Brazil, China, ...
        "co.uk",
        "org.uk",
        "me.uk",
        "ltd.uk",
        "plc.uk",
        "net.uk",
        "ac.uk",
        "gov.uk",
        "sch.uk",
        "nhs.uk",
        "police.uk",
        "co.jp",
        "ne.jp",
        "or.jp",
        "ac.jp",
        "go.jp",
        "ad.jp",
        "ed.jp",
        "gr.jp",
        "lg.jp",
        "com.au",
        "net.au",
        "org.au",
        "edu.au",
        "gov.au",
        "asn.au",
        "id.au",
        "co.nz",
        "net.nz",
        "org.nz",
        "govt.nz",
        "ac.nz",
        "school.nz",
        "geek.nz",
        "co.za",
        "org.za",
        "net.za",
        "gov.za",
        "ac.za",
        "web.za",
        "co.in",
        "net.in",
        "org.in",
        "firm.in",
        "gen.in",
        "ind.in",
        "ac.in",
        "edu.in",
        "gov.in",
        "com.br",
        "net.br",
        "org.br",
        "gov.br",
        "edu.br",
        "com.cn",
        "net.cn",
        "org.cn",
        "gov.cn",
        "edu.cn",
        "ac.cn",
        "com.hk",
        "net.hk",
        "org.hk",
        "edu.hk",
        "gov.hk",
        "com.tw",
        "net.tw",
        "org.tw",
        "edu.tw",
        "gov.tw",
        "com.sg",
        "net.sg",
        "org.sg",
        "edu.sg",
        "gov.sg",
        "co.kr",
        "or.kr",
        "ne.kr",
        "go.kr",
        "ac.kr",
        "com.mx",
        "net.mx",
        "org.mx",
        "gob.mx",
        "edu.mx",
        "com.ar",
        "net.ar",
        "org.ar",
        "gob.ar",
        "com.tr",
        "net.tr",
        "org.tr",
        "gov.tr",
        "edu.tr",
        "co.il",
        "org.il",
        "net.il",
        "ac.il",
        "gov.il",
        "com.my",
        "net.my",
        "org.my",
        "gov.my",
        "co.id",
        "or.id",
        "web.id",
        "go.id",
        "ac.id",
        "com.ph",
        "net.ph",
        "org.ph",
        "gov.ph",
        "com.vn",
        "net.vn",
        "org.vn",
        "gov.vn",
        "co.th",
        "in.th",
        "or.th",
        "go.th",
        "ac.th",
        "com.ua",
        "net.ua",
        "org.ua",
        "gov.ua",
        "com.pl",
        "net.pl",
        "org.pl",
        "co.at",
        "or.at",
        "gv.at",
        "ac.at",
        "com.es",
        "org.es",
        "nom.es",
        "gob.es",
        "edu.es",
        "com.pt",
        "org.pt",
        "gov.pt",
        "com.ru",
        "net.ru",
        "org.ru",
        "com.sa",
        "net.sa",
        "org.sa",
        "gov.sa",
        "com.eg",
        "org.eg",
        "gov.eg",
        "com.ng",
        "org.ng",
        "gov.ng",
        "co.ke",
        "or.ke",
        "go.ke",
        # shared hosting: each subdomain has a different owner
        "github.io",
        "gitlab.io",
        "pages.dev",
        "workers.dev",
        "netlify.app",
        "vercel.app",
        "herokuapp.com",
        "appspot.com",
        "web.app",
        "firebaseapp.com",
        "azurewebsites.net",
        "cloudfront.net",
        "blogspot.com",
        "s3.amazonaws.com",
        "elasticbeanstalk.com",
        "azurestaticapps.net",
        "onrender.com",
        "fly.dev",
        "ngrok.io",
    }
)


class SsoError(ValueError):
    """The app hosts cannot share one cookie as configured."""


def is_public_suffix(domain: str) -> bool:
    """True for every single label and for the multi-label suffixes meshauth knows."""
    domain = domain.strip(".").lower()
    return "." not in domain or domain in MULTI_LABEL_PUBLIC_SUFFIXES


def within(host: str, domain: str) -> bool:
    """True when a cookie for ``domain`` is sent to ``host`` (RFC 6265 domain-match)."""
    return host == domain or host.endswith("." + domain)


def common_parent(hosts: Iterable[str]) -> str | None:
    """The longest domain every host equals or lies below, or None when they share no label."""
    labels = [list(reversed(h.split("."))) for h in dict.fromkeys(hosts)]
    if not labels:
        return None
    shared: list[str] = []
    for parts in zip(*labels):
        if len(set(parts)) != 1:
            break
        shared.append(parts[0])
    return ".".join(reversed(shared)) or None


def cookie_domains(hosts: list[str], configured: list[str], shared: bool) -> list[str]:
    """The ``--cookie-domain`` values: the configured ones, or the hosts' derived common parent.

    Raises :class:`SsoError` when the hosts span unrelated domains (or only a public suffix) and
    nothing is configured, or when a configured domain cannot work for these hosts.
    """
    unique = list(dict.fromkeys(hosts))
    if not shared:
        if configured:
            raise SsoError("shared: false keeps one cookie per host; leave domains empty")
        return []
    if configured:
        _check_configured(unique, configured)
        return list(configured)
    if len(unique) < 2:
        return []  # one host: its host-only cookie already covers every app
    parent = common_parent(unique)
    if parent is None or is_public_suffix(parent):
        where = f" only share the public suffix {parent}" if parent else " share no parent domain"
        raise SsoError(
            f"the app hosts ({', '.join(unique)}){where}, so no single cookie can cover them and "
            "each would need its own login; set oauth2Proxy.cookie.domains to one domain per group "
            "of hosts (users then log in once per domain), or cookie.shared: false for a cookie "
            "per host"
        )
    return [parent]


def _check_configured(hosts: list[str], configured: list[str]) -> None:
    for domain in configured:
        if is_public_suffix(domain):
            raise SsoError(
                f"{domain} is a public suffix: browsers refuse cookies for it and the login loops; "
                "use the domain you own (such as example.co.uk)"
            )
    for host in hosts:
        if not any(within(host, domain) for domain in configured):
            raise SsoError(
                f"host {host} lies outside every cookie domain: oauth2-proxy would then set the "
                "cookie for the shortest domain, which the browser refuses for this host, and the "
                "login loops; add its domain"
            )
