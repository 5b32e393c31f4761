"""The warnings about the config (MA061 to MA066), for the rules reference.

They are not rules on manifests: :mod:`meshauth.rendering.aspects` raises them while rendering
(``meshauth render``, ``validate CONFIG``), at the config key to change; MA066 (placeholders) comes
from :mod:`meshauth.config.placeholders` in ``validate CONFIG`` only. This table only documents
them next to :data:`meshauth.validation.rules.registry.RULES`, so that docs/rules.md has an entry
for every ID a finding can carry; a test fails when an ID in meshauth's source has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshauth.findings import Severity


@dataclass(frozen=True)
class RenderWarning:
    id: str
    severity: Severity
    title: str  # one line: the problem the warning points out
    breaks: str  # what goes wrong at runtime (Markdown)
    fix: str  # how to fix it (Markdown)


RENDER_WARNINGS: list[RenderWarning] = [
    RenderWarning(
        "MA061",
        "warning",
        "apps authorize by groups, but the scope that puts groups into tokens is not requested",
        "Apps authorize by `groups`, and the preset's IdP (Keycloak, Okta, Dex) puts the groups "
        "claim into tokens only for the `groups` scope, which `identity.scopes` lacks. The tokens "
        "then carry no groups: nobody matches a group rule, and every user gets 403 on those apps. "
        "Silent when `identity.groupsClaim` names the claim.",
        "add the scope to `identity.scopes`, such as `[openid, email, profile, groups]`.",
    ),
    RenderWarning(
        "MA062",
        "warning",
        "the session cookie will likely be over 4 KB",
        "Sessions are kept in the cookie (`oauth2Proxy.sessionStore`, `type: cookie` by default), "
        "and meshauth's estimate from the preset's typical tokens (and 20 groups per user when apps "
        "authorize by groups) is above 4 KB. oauth2-proxy then splits the cookie into several that "
        "every request carries, and apps or proxies with 8 KB header limits answer 431 or 400 "
        "([sessions](identity.md#sessions)).",
        "keep sessions in Redis: `oauth2Proxy.sessionStore: {type: redis, deploy: true}`, or the "
        "`url` of your own Redis.",
    ),
    RenderWarning(
        "MA063",
        "warning",
        "the oauth2-proxy release lacks the preset's own provider",
        "The preset has a dedicated oauth2-proxy provider (`keycloak-oidc` and `gitlab` from v7.2.0, "
        "`entra-id` from v7.8.0) that `oauth2Proxy.version` predates. meshauth uses `oidc` instead: "
        "the login and the ID-token check work the same, but what the provider adds (the message "
        "names it, such as Keycloak's `--allowed-role`) is not available.",
        "pin the release the message names, or a newer one, in `oauth2Proxy.version`.",
    ),
    RenderWarning(
        "MA064",
        "warning",
        "signing out leaves the IdP session: the release cannot end it from the server",
        "The preset ends IdP sessions on a server-side call (Keycloak), and `oauth2Proxy.version` is "
        "older than v7.6.0, which added `--backend-logout-url`. `/oauth2/sign_out` clears "
        "oauth2-proxy's cookie, but the IdP session stays: the next visit logs the user in again "
        "without a prompt ([logout](identity.md#logout)).",
        "use oauth2-proxy v7.6.0 or newer; or let the app's sign-out link end the IdP session "
        "(`/oauth2/sign_out?rd=<end-session URL>`) and set `oauth2Proxy.logout.backend: false`.",
    ),
    RenderWarning(
        "MA065",
        "warning",
        "the IdP's end-session host is not in whitelistDomains",
        "`oauth2Proxy.logout.endSession` (on by default) has `/oauth2/sign_out?rd=<end-session URL>` "
        "send the browser on to the IdP, and oauth2-proxy redirects only to whitelisted hosts. "
        "`oauth2Proxy.whitelistDomains` is set and leaves the end-session host out (meshauth adds "
        "it only to the list it computes itself): signing out lands on `/` instead, and the IdP "
        "session stays.",
        "add the end-session host to `whitelistDomains`, or set `logout.endSession: false`.",
    ),
    RenderWarning(
        "MA066",
        "warning",
        "a placeholder from the starter config is still in place",
        "`meshauth init` writes stand-ins where only you know the value: example.com hosts and "
        "addresses, a `1234…` client id, an all-zero tenant. They render, and `meshauth validate` "
        "warns on each until it is replaced: Let's Encrypt refuses an example.com contact, the IdP "
        "knows no such client, and nobody can reach an example.com host.",
        "put the real value at the field the warning names (`spec.tls.issuer.acme.email`, "
        "`spec.identity.clientId`, an app's `host`, ...).",
    ),
]
