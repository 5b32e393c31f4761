"""``meshauth discover``: read an issuer's OpenID Connect discovery document into ``spec.identity``.

The document lives at ``<issuer>/.well-known/openid-configuration``. Its ``issuer`` must be exactly
the URL asked for (OpenID Connect Discovery 1.0, section 4.3): every ID token carries that string in
``iss``, and both oauth2-proxy (at startup) and Istio's RequestAuthentication (on every request)
compare it byte for byte, so a mismatch is refused here rather than found in production.

Fetching uses the standard library only: https (plain http only with ``insecure``, and never by a
redirect), certificates always verified, a timeout, at most 1 MiB.

``write_identity`` merges the result into a config file. Re-dumping YAML would drop every comment,
so it edits the text instead: only the value of ``spec.identity`` is replaced (comments inside that
block are lost, everything else in the file stays byte for byte), and the file is written
atomically, only if the merged config still loads.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import yaml

from meshauth.config.presets import PRESETS
from meshauth.errors import ConfigError, DiscoveryError, Problem
from meshauth.files.yamlread import SafeLoader, load_yaml

WELL_KNOWN = "/.well-known/openid-configuration"
MAX_BYTES = 1 << 20
DEFAULT_TIMEOUT = 10.0
# Keys that only serve to derive the issuer: the discovered issuerUrl supersedes them.
_DERIVATION_INPUTS = ("tenant", "realm", "serverUrl")
_DISCOVERED_KEYS = ("preset", "issuerUrl", "jwksUri", "endSessionUrl")


@dataclass(frozen=True)
class Discovery:
    """What the discovery document says, and the preset whose patterns reproduce it."""

    document_url: str
    issuer: str
    jwks_uri: str
    end_session_endpoint: str | None
    preset: str
    scopes_supported: tuple[str, ...] = field(default=())

    def identity(self) -> dict[str, Any]:
        """The ``spec.identity`` keys the document decides."""
        block: dict[str, Any] = {"preset": self.preset, "issuerUrl": self.issuer, "jwksUri": self.jwks_uri}
        if self.end_session_endpoint:
            block["endSessionUrl"] = self.end_session_endpoint
        return block

    def to_yaml(self) -> str:
        """The block to paste under ``spec:`` (clientId is the one thing it cannot know)."""
        lines = [f"# spec.identity from {self.document_url}", "identity:"]
        lines += ["  " + line for line in _dump(self.identity()).splitlines()]
        lines.append("  # clientId: the id of the client you registered with the provider")
        if "groups" in self.scopes_supported:
            lines.append("  # the provider offers a groups scope: add it to scopes for group rules")
        return "\n".join(lines) + "\n"


def discover(issuer_url: str, *, insecure: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Discovery:
    """Fetch and check ``issuer_url``'s discovery document; :class:`DiscoveryError` on any problem."""
    _check_issuer_url(issuer_url, insecure)
    url = issuer_url.rstrip("/") + WELL_KNOWN
    document = _parse(url, _fetch(url, insecure, timeout))
    issuer = _checked_issuer(url, document, issuer_url)
    jwks_uri = _url_field(url, document, "jwks_uri", insecure, required=True)
    assert jwks_uri is not None
    end_session = _url_field(url, document, "end_session_endpoint", insecure, required=False)
    scopes = document.get("scopes_supported")
    return Discovery(
        document_url=url,
        issuer=issuer,
        jwks_uri=jwks_uri,
        end_session_endpoint=end_session,
        preset=guess_preset(issuer, jwks_uri),
        scopes_supported=tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else (),
    )


def guess_preset(issuer: str, jwks_uri: str) -> str:
    """The preset whose patterns reproduce the document's JWKS URI; ``generic`` otherwise."""
    parts = urlsplit(issuer)
    host = parts.hostname or ""
    plausible = {
        "google": issuer == PRESETS["google"].issuer,
        "azure": host.startswith("login.microsoftonline."),
        "keycloak": "/realms/" in parts.path,
        "okta": host.endswith((".okta.com", ".oktapreview.com", ".okta-emea.com")),
        "auth0": host.endswith(".auth0.com"),
        "gitlab": True,  # /oauth/discovery/keys is GitLab's own
        "dex": "dex" in host or "dex" in parts.path,
    }
    for name, maybe in plausible.items():
        if maybe and PRESETS[name].jwks_for(PRESETS[name].normalize_issuer(issuer)) == jwks_uri:
            return name
    return "generic"


# --- fetching ----------------------------------------------------------------------------------


def _check_issuer_url(issuer_url: str, insecure: bool) -> None:
    parts = urlsplit(issuer_url)
    allowed = ("https", "http") if insecure else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        hint = "" if insecure or parts.scheme != "http" else " (plain http only with --insecure)"
        raise DiscoveryError(Problem(f"must be an https:// issuer URL{hint}", file=issuer_url))
    if parts.username or parts.password or parts.query or parts.fragment:
        shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"  # never echo a password
        raise DiscoveryError(
            Problem("must be a bare issuer URL: no user, password, query or fragment", file=shown)
        )


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    def __init__(self, insecure: bool) -> None:
        self.insecure = insecure

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme != "https" and not self.insecure:
            raise DiscoveryError(
                Problem(
                    f"redirects to {newurl}, which is not https; refused (plain http only with --insecure)",
                    file=req.full_url,
                )
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch(url: str, insecure: bool, timeout: float) -> bytes:
    opener = urllib.request.build_opener(
        _NoDowngrade(insecure), urllib.request.HTTPSHandler(context=ssl.create_default_context())
    )
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "meshauth-discover"}
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            body: bytes = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise DiscoveryError(
            Problem(
                f"answered HTTP {error.code}: is the issuer URL right (the part before {WELL_KNOWN})?",
                file=url,
            )
        ) from None
    except TimeoutError:
        raise DiscoveryError(Problem(f"no answer within {timeout:g}s (--timeout)", file=url)) from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, (socket.timeout, TimeoutError)):
            raise DiscoveryError(Problem(f"no answer within {timeout:g}s (--timeout)", file=url)) from None
        raise DiscoveryError(Problem(f"cannot be fetched ({error.reason})", file=url)) from None
    except (OSError, ValueError) as error:
        raise DiscoveryError(Problem(f"cannot be fetched ({error})", file=url)) from None
    if len(body) > MAX_BYTES:
        raise DiscoveryError(Problem("is larger than 1 MiB: not a discovery document", file=url))
    return body


def _parse(url: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DiscoveryError(
            Problem("is not JSON: not an OpenID Connect discovery document", file=url)
        ) from None
    if not isinstance(document, dict):
        raise DiscoveryError(Problem("is JSON but not an object: not a discovery document", file=url))
    return document


def _checked_issuer(url: str, document: dict[str, Any], asked: str) -> str:
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise DiscoveryError(Problem("has no issuer: not a discovery document", file=url))
    if issuer != asked:
        slash = (
            " (they differ only in the trailing slash, which tokens keep)"
            if (issuer.rstrip("/") == asked.rstrip("/"))
            else ""
        )
        raise DiscoveryError(
            Problem(
                f"names the issuer {issuer}, not {asked}{slash}: tokens carry {issuer} in iss, which "
                f"oauth2-proxy and Istio compare exactly, so the document is refused; if {issuer} is "
                f"your provider, run: meshauth discover {issuer}",
                file=url,
            )
        )
    return issuer


def _url_field(url: str, document: dict[str, Any], name: str, insecure: bool, required: bool) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    parts = urlsplit(value) if isinstance(value, str) else None
    schemes = ("https", "http") if insecure else ("https",)
    if parts is None or parts.scheme not in schemes or not parts.hostname:
        what = "has no" if value is None else "has an unusable"
        raise DiscoveryError(
            Problem(
                f"{what} {name} (an https:// URL is needed{'' if insecure else '; http only with --insecure'})",
                file=url,
            )
        )
    return value


# --- merging into a config file ----------------------------------------------------------------


def merged_identity(existing: Any, discovery: Discovery) -> dict[str, Any]:
    """The discovered keys first, then the config's other identity keys in their order.

    A preset the config already names (other than generic) is kept: the guess only fills a gap.
    Keys that only derive the issuer (tenant, realm, serverUrl) give way to the discovered issuer.
    """
    current = dict(existing) if isinstance(existing, dict) else {}
    found = discovery.identity()
    if current.get("preset") not in (None, "generic"):
        found["preset"] = current["preset"]
    rest = {k: v for k, v in current.items() if k not in found and k not in _DERIVATION_INPUTS}
    return {**found, **rest}


def write_identity(config: str | os.PathLike[str], discovery: Discovery) -> None:
    """Merge ``discovery`` into ``config``'s ``spec.identity``, keeping the rest of the file."""
    path = Path(config)
    from meshauth.files.yamlread import read_yaml_documents  # reads with meshauth's error reporting

    documents = read_yaml_documents(path)
    if (
        len(documents) != 1
        or not isinstance(documents[0], dict)
        or not isinstance(documents[0].get("spec"), dict)
    ):
        raise ConfigError(Problem("must hold one MeshAuthConfig with a spec mapping", file=str(path)))
    text = path.read_bytes().decode("utf-8")
    data = documents[0]
    identity = merged_identity(data["spec"].get("identity"), discovery)
    new_text = _replace_identity(text, identity, str(path))
    expected = {**data, "spec": {**data["spec"], "identity": identity}}
    if load_yaml(new_text) != expected:  # the edit must change spec.identity and nothing else
        raise AssertionError(f"meshauth bug: merging spec.identity into {path} changed more")
    _check_loads(expected, path)
    _write_atomically(path, new_text)


def _check_loads(data: dict[str, Any], path: Path) -> None:
    from meshauth.config.load import load_config

    try:
        load_config(data)
    except ConfigError as error:
        problems = [Problem(p.message, str(path), p.path) for p in error.problems]
        problems.append(
            Problem(
                "nothing written: the merged config would not load (the block "
                "printed without --write can be pasted by hand)",
                str(path),
            )
        )
        raise ConfigError(problems) from None


def _replace_identity(text: str, identity: dict[str, Any], label: str) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    root = yaml.compose(text, Loader=SafeLoader)
    spec = _value(root, "spec")
    if not isinstance(spec, yaml.MappingNode) or spec.flow_style or not spec.value:
        raise ConfigError(Problem("spec is not a block mapping; paste the printed block by hand", file=label))
    found = next(((k, v) for k, v in spec.value if getattr(k, "value", None) == "identity"), None)
    block = _dump(identity).splitlines()
    if found is None:  # append the key after spec's last entry
        indent = spec.value[0][0].start_mark.column
        at = _content_end(spec)
        lines = [" " * indent + "identity:", *(" " * (indent + 2) + line for line in block)]
        return text[:at] + newline + newline.join(lines) + text[at:]
    key, value = found
    if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
        indent = value.value[0][0].start_mark.column
        start, end = value.start_mark.index, _content_end(value)
        body = newline.join([block[0], *(" " * indent + line for line in block[1:])])
        return text[:start] + body + text[end:]
    indent = key.start_mark.column + 2
    start, end = key.end_mark.index, value.end_mark.index
    colon = text.index(":", start) + 1
    body = newline.join(" " * indent + line for line in block)
    return text[:colon] + newline + body + text[max(end, colon) :]


def _value(node: Any, key: str) -> Any:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def _content_end(node: yaml.Node) -> int:
    """Where a node's own text ends (a block collection's end mark would swallow the comments
    and blank lines that follow it)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return node.end_mark.index - 1 if node.end_mark.index else 0
    return node.end_mark.index


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 30)


def _write_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ConfigError(Problem(f"cannot be written ({error.strerror})", file=str(path))) from None
