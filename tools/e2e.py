"""A real login, end to end: the real oauth2-proxy, started exactly as the rendered Deployment says,
logs a user in at a mock identity provider; a stand-in gateway follows the rendered extension
provider; the forwarded ID token is checked as the rendered RequestAuthentication says, and
meshauth's matcher decides the request over the rendered AuthorizationPolicies.

    python tools/e2e.py CONFIG --host HOST --path PATH [--claims JSON] [--overlay FILE] [--method M]

prints ``ALLOW ...`` or ``DENY ...`` as its first word (exit 0 when decided; 1 when the config is
invalid or the harness cannot run, with the reason). Without ``--claims`` the client is anonymous.

What is real and what stands in (docs/e2e.md):

* oauth2-proxy: the release the config names (``oauth2Proxy.version``), built from its Go module
  with ``go install`` (its own go.sum) into ``.cache/bin``; started with the Deployment's args and
  env, its mounted Secret and ConfigMap files written to a temporary folder (the Secret filled with
  test values). Two substitutions, each needed to run it on this machine: ``--http-address`` listens
  on a free local port, and mount paths point into the temporary folder.
* The identity provider: ``tools/e2e/mockidp`` (github.com/oauth2-proxy/mockoidc), with discovery,
  JWKS, code and refresh grants, RS256 ID tokens with the claims asked for. The config is rendered
  with ``identity`` pointing at it (preset ``generic``, its issuer and JWKS URI; the client id kept),
  so the rendered RequestAuthentication and oauth2-proxy agree on it as they would on the real IdP.
* The gateway: Envoy's ext_authz HTTP exchange as Istio configures it from the extension provider:
  the check goes to ``pathPrefix`` + the request path with the request's method and host and only
  the headers in ``includeRequestHeadersInCheck``; on 2xx the request goes on with the check's
  ``headersToUpstreamOnAllow`` headers and the client gets ``headersToDownstreamOnAllow``; otherwise
  the client gets the check's status and body with ``headersToDownstreamOnDeny`` (plus Location,
  WWW-Authenticate and Content-Length, which Envoy always adds). Whether the CUSTOM policy applies to
  the request, and the final ALLOW/DENY over the policies, are meshauth's matcher
  (:func:`meshauth.authz.simulate.evaluate`) with the claims of the verified token.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
PROXY_MODULE = "github.com/oauth2-proxy/oauth2-proxy/v7"
CLIENT_SECRET = "e2e-client-secret"
MAX_HOPS = 8


class HarnessError(Exception):
    """The harness cannot run (no Go, a build failed, a setup it does not support)."""


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        "GOMODCACHE": str(CACHE / "go" / "mod"),
        "GOCACHE": str(CACHE / "go" / "build"),
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
    }


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise HarnessError("go is not installed: the harness builds oauth2-proxy and the mock IdP with it")
    return go


def _run_go(args: list[str], cwd: Path, env: Mapping[str, str], what: str) -> None:
    built = subprocess.run(
        [_go(), *args], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=1800
    )
    if built.returncode != 0:
        raise HarnessError(f"building {what} failed:\n{built.stderr[-3000:]}")


@contextlib.contextmanager
def build_lock(name: str) -> Iterator[None]:
    """One build of ``name`` at a time (parallel test workers wait for the first, then reuse it)."""
    import fcntl

    path = CACHE / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_proxy(version: str) -> Path:
    """oauth2-proxy ``version`` built from its Go module (``go install``: upstream's own go.sum)."""
    out = CACHE / "bin" / f"oauth2-proxy-{version}"
    binary = out / "oauth2-proxy"
    with build_lock(f"oauth2-proxy-{version}"):
        if not binary.is_file():
            staging = Path(tempfile.mkdtemp(prefix="gobin-", dir=CACHE))
            try:
                env = {**go_env(), "GOBIN": str(staging)}
                _run_go(["install", f"{PROXY_MODULE}@{version}"], CACHE, env, f"oauth2-proxy {version}")
                out.mkdir(parents=True, exist_ok=True)
                os.replace(staging / "oauth2-proxy", binary)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return binary


def build_mockidp() -> Path:
    source = ROOT / "tools" / "e2e"
    parts = [source / "go.mod", source / "go.sum", source / "mockidp" / "main.go"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()[:16]
    binary = CACHE / "bin" / f"mockidp-{digest}"
    with build_lock("mockidp"):
        if not binary.is_file():
            binary.parent.mkdir(parents=True, exist_ok=True)
            staging = binary.with_name(binary.name + ".tmp")
            args = ["build", "-mod=readonly", "-trimpath", "-o", str(staging), "./mockidp"]
            _run_go(args, source, go_env(), "the mock IdP")
            os.replace(staging, binary)
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the mock identity provider ---------------------------------------------------------------


class MockIdP:
    def __init__(self, client_id: str) -> None:
        self.process = subprocess.Popen(
            [str(build_mockidp()), "--client-id", client_id, "--client-secret", CLIENT_SECRET],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise HarnessError("the mock IdP did not start")
        started = json.loads(line)
        self.issuer: str = started["issuer"]
        self.control: str = started["control"]

    @property
    def jwks_uri(self) -> str:
        return self.issuer + "/.well-known/jwks.json"

    def _post(self, path: str, claims: Mapping[str, Any]) -> str:
        request = urllib.request.Request(
            self.control + path, data=json.dumps(dict(claims)).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local)
            return str(response.read().decode())

    def next_login(self, claims: Mapping[str, Any]) -> None:
        self._post("/login", claims)

    def token(self, claims: Mapping[str, Any]) -> str:
        return self._post("/token", claims)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


# --- the config, rendered against the mock IdP -------------------------------------------------


def render_for(config: str | Path, overlays: list[Any], issuer: str, jwks_uri: str) -> tuple[Any, Any]:
    """The config with its overlays, ``identity`` pointed at the mock IdP: (model, bundle). The
    client id, groups claim, scopes and bearer-token settings stay; the preset's inputs go."""
    import meshauth
    from meshauth.config.identity import Identity

    kept = {"clientId", "groupsClaim", "scopes", "bearerTokens", "idTokenLifetime"}
    identity: dict[str, Any] = {
        (f.alias or name): None for name, f in Identity.model_fields.items() if (f.alias or name) not in kept
    }
    identity.update({"preset": "generic", "issuerUrl": issuer, "jwksUri": jwks_uri})
    model = meshauth.load_config(
        config, overlays=[*overlays, {"spec": {"identity": identity}}], allow_plaintext_secrets=True
    )
    return model, meshauth.render(model)


def _objects(bundle: Any, kind: str) -> list[dict[str, Any]]:
    return [o for o in bundle.objects if o["kind"] == kind]


def extension_provider(bundle: Any, name: str) -> dict[str, Any]:
    mesh = bundle.mesh_config or {}
    mesh = (
        mesh.get("spec", {}).get("meshConfig")
        if mesh.get("kind") == "IstioOperator"
        else mesh.get("meshConfig")
    )
    for provider in (mesh or {}).get("extensionProviders") or ():
        if provider.get("name") == name and "envoyExtAuthzHttp" in provider:
            return dict(provider["envoyExtAuthzHttp"])
    raise HarnessError(f"no envoyExtAuthzHttp extension provider {name!r} in the mesh config")


# --- oauth2-proxy, as the Deployment runs it -----------------------------------------------------


@dataclass
class Proxy:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def secret_value(name: str, key: str) -> str:
    """A test value for a Secret key (the cookie secret: 32 bytes, as oauth2-proxy requires)."""
    if key == "client-secret":
        return CLIENT_SECRET
    if "cookie" in key:
        return secrets.token_hex(16)
    return f"e2e-{name}-{key}"


def proxy_command(
    bundle: Any, workdir: Path, *, redis: bool = False, issuer: str | None = None
) -> tuple[list[str], dict[str, str], int]:
    """The rendered oauth2-proxy Deployment's args and env, its mounts written under ``workdir``
    (``redis``: keep Redis flags, for a start that only checks the flags)."""
    [deployment] = [o for o in _objects(bundle, "Deployment") if o["metadata"]["name"] == "oauth2-proxy"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    config_maps = {o["metadata"]["name"]: o.get("data") or {} for o in _objects(bundle, "ConfigMap")}
    values: dict[tuple[str, str], str] = {}

    def secret(name: str, key: str) -> str:
        return values.setdefault((name, key), secret_value(name, key))

    volumes = {v["name"]: v for v in pod.get("volumes") or ()}
    mounts: dict[str, str] = {}
    for mount in container.get("volumeMounts") or ():
        volume = volumes[mount["name"]]
        target = workdir / mount["mountPath"].lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        if "secret" in volume:
            name = volume["secret"]["secretName"]
            for item in volume["secret"].get("items") or ():
                (target / item["path"]).write_text(secret(name, item["key"]))
        elif "configMap" in volume:
            data = config_maps.get(volume["configMap"]["name"], {})
            items = volume["configMap"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                (target / item["path"]).write_text(data[item["key"]])
        else:
            continue  # emptyDir and the like: the folder is enough
        mounts[mount["mountPath"].rstrip("/")] = str(target)
    port = free_port()
    args = []
    for arg in container.get("args") or ():
        flag, _, value = arg.partition("=")
        if flag == "--http-address":
            value = f"127.0.0.1:{port}"
        if flag == "--oidc-issuer-url" and issuer:
            value = issuer
        for path, local in mounts.items():
            if value == path or value.startswith(path + "/"):
                value = local + value[len(path) :]
        if not redis and (
            flag.startswith("--redis") or (flag == "--session-store-type" and value == "redis")
        ):
            raise HarnessError(
                "Redis sessions: the harness runs no Redis (use cookie sessions to try the login)"
            )
        args.append(f"{flag}={value}" if _ else flag)
    env = {"PATH": os.environ.get("PATH", "")}
    for entry in container.get("env") or ():
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        cm = (entry.get("valueFrom") or {}).get("configMapKeyRef")
        if ref:
            env[entry["name"]] = secret(ref["name"], ref["key"])
        elif cm:
            env[entry["name"]] = config_maps.get(cm["name"], {}).get(cm["key"], "")
        else:
            env[entry["name"]] = str(entry.get("value", ""))
    return args, env, port


def start_proxy(binary: Path, bundle: Any, workdir: Path) -> Proxy:
    args, env, port = proxy_command(bundle, workdir)
    log = workdir / "oauth2-proxy.log"
    process = subprocess.Popen([str(binary), *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"oauth2-proxy exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return Proxy(process, port, log)
        time.sleep(0.1)
    process.kill()
    raise HarnessError(f"oauth2-proxy did not listen within 30s:\n{log.read_text()[-3000:]}")


def flag_problem(binary: Path, bundle: Any, workdir: Path, issuer: str) -> str | None:
    """Start oauth2-proxy with the rendered flags; the reason if it refuses them, else None. With a
    Redis session store (none runs here) it exits or waits on Redis after parsing its options: that
    counts as accepted unless it complained about a flag or option."""
    workdir.mkdir(parents=True, exist_ok=True)
    args, env, port = proxy_command(bundle, workdir, redis=True, issuer=issuer)
    redis = any(a.startswith("--redis") for a in args)
    log = workdir / "oauth2-proxy.log"
    process = subprocess.Popen([str(binary), *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    def refused() -> str | None:
        text = log.read_text(errors="replace")
        if "provided but not defined" in text or "invalid argument" in text:
            return text[-2000:]
        if "invalid configuration:" in text:  # the option errors, one indented line each
            listed = text.split("invalid configuration:", 1)[1].splitlines()
            errors = [
                line.strip() for line in listed if line.startswith("  ") and "redis" not in line.lower()
            ]
            return "invalid configuration: " + "; ".join(errors) if errors or not redis else None
        return None if redis else (text[-2000:] or "exited without a word")

    try:
        deadline = time.monotonic() + (5 if redis else 30)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return refused()
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return None
            time.sleep(0.1)
        return refused() if redis else "did not listen within 30s"
    finally:
        process.kill()
        process.wait()


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def send(port: int, method: str, path: str, headers: list[tuple[str, str]]) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return Response(response.status, list(response.getheaders()), response.read())
    finally:
        connection.close()


def _fold(names: Any) -> set[str]:
    return {str(n).lower() for n in names or ()}


# --- the gateway -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the client saw, what the app received, and how it was decided."""

    status: int
    client_headers: list[tuple[str, str]] = field(default_factory=list)
    upstream_headers: dict[str, str] = field(default_factory=dict)
    checked: bool = False  # the ext_authz check ran
    allowed_by_proxy: bool | None = None
    body: bytes = b""


class Gateway:
    """The ingress gateway, as far as the login goes: Envoy's ext_authz HTTP filter configured from
    the extension provider, in front of an app that answers 200 and shows the headers it received."""

    def __init__(self, provider: Mapping[str, Any], proxy_port: int) -> None:
        self.provider = provider
        self.proxy_port = proxy_port
        self.include = _fold(
            provider.get("includeRequestHeadersInCheck") or provider.get("includeHeadersInCheck")
        )
        self.upstream_on_allow = _fold(provider.get("headersToUpstreamOnAllow"))
        self.downstream_on_allow = _fold(provider.get("headersToDownstreamOnAllow"))
        self.downstream_on_deny = _fold(provider.get("headersToDownstreamOnDeny")) | {
            "location",
            "www-authenticate",
            "content-length",
        }

    def check(self, method: str, host: str, path: str, headers: Mapping[str, str]) -> Response:
        sent = [("Host", host)] + [(k, v) for k, v in headers.items() if k.lower() in self.include]
        return send(self.proxy_port, method, (self.provider.get("pathPrefix") or "") + path, sent)

    def request(self, method: str, host: str, path: str, headers: Mapping[str, str], custom: bool) -> Outcome:
        upstream = {k.lower(): v for k, v in headers.items()}
        if not custom:
            return Outcome(200, upstream_headers=upstream)
        answer = self.check(method, host, path, headers)
        if 200 <= answer.status < 300:
            for name, value in answer.headers:
                if name.lower() in self.upstream_on_allow:
                    upstream[name.lower()] = value
            client = [(k, v) for k, v in answer.headers if k.lower() in self.downstream_on_allow]
            return Outcome(200, client, upstream, checked=True, allowed_by_proxy=True)
        client = [(k, v) for k, v in answer.headers if k.lower() in self.downstream_on_deny]
        return Outcome(answer.status, client, checked=True, allowed_by_proxy=False, body=answer.body)


# --- the browser -----------------------------------------------------------------------------


class Browser:
    """Follows redirects between the gateway (app hosts) and the IdP, keeping cookies per host."""

    def __init__(self, gateway: Gateway, idp: MockIdP, custom_for: Any) -> None:
        self.gateway, self.idp, self.custom_for = gateway, idp, custom_for
        self.cookies: dict[str, dict[str, str]] = {}
        self.logins = 0  # logins queued at the IdP: without one, a redirect to the IdP ends the walk

    def _store(self, host: str, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            pair, _, attributes = value.partition(";")
            key, _, val = pair.strip().partition("=")
            domain = next(
                (
                    a.split("=", 1)[1].strip().lstrip(".")
                    for a in attributes.split(";")
                    if a.strip().lower().startswith("domain=")
                ),
                host,
            )
            jar = self.cookies.setdefault(domain, {})
            expired = "max-age=0" in attributes.lower().replace(" ", "") or "1970" in attributes
            if expired or not val:
                jar.pop(key, None)
            else:
                jar[key] = val

    def cookie_header(self, host: str) -> str:
        found: dict[str, str] = {}
        for domain, jar in self.cookies.items():
            if host == domain or host.endswith("." + domain):
                found.update(jar)
        return "; ".join(f"{k}={v}" for k, v in sorted(found.items()))

    def get(
        self, url: str, headers: Mapping[str, str] | None = None, method: str = "GET"
    ) -> tuple[Outcome, str]:
        """Follow the redirects from ``url``; the last gateway outcome and the URL it answered."""
        last = Outcome(0)
        for _ in range(MAX_HOPS):
            parsed = urllib.parse.urlsplit(url)
            host, path = parsed.hostname or "", parsed.path or "/"
            if parsed.query:
                path += "?" + parsed.query
            if url.startswith(self.idp.issuer):
                if not self.logins:
                    return last, url  # an anonymous visitor stops at the IdP's login page
                self.logins -= 1
                url = self._idp(url)
                continue
            sent = dict(headers or {})
            cookie = self.cookie_header(host)
            if cookie:
                sent["cookie"] = cookie
            outcome = last = self.gateway.request(
                method, host, path, sent, self.custom_for(host, parsed.path or "/")
            )
            self._store(host, outcome.client_headers)
            location = next((v for k, v in outcome.client_headers if k.lower() == "location"), None)
            if outcome.status in (301, 302, 303, 307, 308) and location:
                url = urllib.parse.urljoin(url, location)
                method = "GET"
                continue
            return outcome, url
        raise HarnessError(f"more than {MAX_HOPS} redirects, last at {url}")

    def _idp(self, url: str) -> str:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(url, timeout=10)
        except urllib.error.HTTPError as error:
            if error.code in (302, 303) and error.headers.get("Location"):
                return str(error.headers["Location"])
            raise HarnessError(
                f"the mock IdP answered {error.code} at {url}: {error.read()[:300]!r}"
            ) from None
        raise HarnessError(f"the mock IdP did not redirect back from {url}")


# --- the token, checked as the RequestAuthentication says -----------------------------------------


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def verify_rs256(token: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The claims of an RS256 JWT whose signature a key of ``jwks`` verifies (PKCS#1 v1.5)."""
    head, body, signature = token.split(".")
    header = json.loads(_b64(head))
    if header.get("alg") != "RS256":
        raise ValueError(f"alg {header.get('alg')} (the harness checks RS256)")
    digest = hashlib.sha256(f"{head}.{body}".encode()).digest()
    for key in jwks.get("keys") or ():
        if key.get("kty") != "RSA" or (header.get("kid") and key.get("kid") not in (None, header["kid"])):
            continue
        n, e = int.from_bytes(_b64(key["n"]), "big"), int.from_bytes(_b64(key["e"]), "big")
        size = (n.bit_length() + 7) // 8
        em = pow(int.from_bytes(_b64(signature), "big"), e, n).to_bytes(size, "big")
        expected = (
            b"\x00\x01" + b"\xff" * (size - 3 - len(_SHA256_PREFIX) - 32) + b"\x00" + _SHA256_PREFIX + digest
        )
        if secrets.compare_digest(em, expected):
            return dict(json.loads(_b64(body)))
    raise ValueError("no key of the JWKS verifies the signature")


def check_token(bundle: Any, token: str, namespace: str = "istio-system") -> tuple[dict[str, Any], str]:
    """Verify ``token`` against a jwtRule of the rendered RequestAuthentications, the gateway's
    (``namespace``) first (issuer, JWKS from its jwksUri, audiences, expiry): (claims, the rule's
    policy) or ValueError."""
    problems = []
    policies = sorted(
        _objects(bundle, "RequestAuthentication"), key=lambda p: p["metadata"]["namespace"] != namespace
    )
    for policy in policies:
        for rule in policy["spec"].get("jwtRules") or ():
            try:
                payload = json.loads(_b64(token.split(".")[1]))
                if payload.get("iss") != rule["issuer"]:
                    raise ValueError(f"iss {payload.get('iss')} is not {rule['issuer']}")
                with urllib.request.urlopen(rule["jwksUri"], timeout=10) as response:  # noqa: S310 (mock IdP)
                    claims = verify_rs256(token, json.loads(response.read()))
                audiences = rule.get("audiences")
                aud = claims.get("aud")
                aud = aud if isinstance(aud, list) else [aud]
                if audiences and not set(aud) & set(audiences):
                    raise ValueError(f"aud {aud} is none of {audiences}")
                if claims.get("exp", 0) < time.time():
                    raise ValueError("expired")
                return (
                    claims,
                    f"RequestAuthentication {policy['metadata']['namespace']}/{policy['metadata']['name']}",
                )
            except (ValueError, KeyError, IndexError) as error:
                problems.append(str(error))
    raise ValueError("; ".join(sorted(set(problems))) or "no RequestAuthentication")


# --- the harness -----------------------------------------------------------------------------


@dataclass
class Verdict:
    allowed: bool
    status: int
    reason: str
    token_claims: dict[str, Any] | None = None
    outcome: Outcome | None = None

    def __str__(self) -> str:
        return f"{'ALLOW' if self.allowed else 'DENY'} ({self.status}) {self.reason}"


class Harness:
    """A running setup: mock IdP, the real oauth2-proxy as rendered, the stand-in gateway."""

    def __init__(
        self, config: str | Path, overlays: list[str] | None = None, version: str | None = None
    ) -> None:
        import meshauth

        # another release renders the flags for that release (as the config naming it would)
        overlays = [
            *(overlays or []),
            *([{"spec": {"oauth2Proxy": {"version": version}}}] if version else []),
        ]
        plain = meshauth.load_config(config, overlays=overlays, allow_plaintext_secrets=True)
        if plain.spec.authorizer != "oauth2-proxy":
            raise HarnessError("the harness runs oauth2-proxy: authorizer authservice is not supported")
        self._stack = contextlib.ExitStack()
        self.idp = MockIdP(plain.spec.identity.client_id)
        self._stack.callback(self.idp.stop)
        try:
            self.model, self.bundle = render_for(config, overlays, self.idp.issuer, self.idp.jwks_uri)
            self.version = version or self.model.spec.oauth2_proxy.version
            self.workdir = Path(tempfile.mkdtemp(prefix="meshauth-e2e-"))
            self._stack.callback(shutil.rmtree, self.workdir, True)
            self.proxy = start_proxy(build_proxy(self.version), self.bundle, self.workdir)
            self._stack.callback(self.proxy.stop)
            self.provider = extension_provider(self.bundle, self.model.spec.mesh.extension_provider)
            self.gateway = Gateway(self.provider, self.proxy.port)
        except BaseException:
            self._stack.close()
            raise

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def simulated(
        self, host: str, path: str, method: str = "GET", claims: Mapping[str, Any] | None = None
    ) -> Any:
        from meshauth.authz.decision import Request
        from meshauth.authz.simulate import environment_for, evaluate

        return evaluate(
            self.bundle,
            Request(host=host, path=path, method=method, claims=claims),
            environment_for(self.model),
        )

    def custom_for(self, host: str, path: str) -> bool:
        """Whether a CUSTOM policy at the gateway sends this request to the provider (the matcher)."""
        decision = self.simulated(host, path)
        return any(
            s.hop == "gateway" and s.stage == "CUSTOM" and not s.outcome.startswith("no ")
            for s in decision.steps
        )

    def browser(self) -> Browser:
        return Browser(self.gateway, self.idp, self.custom_for)

    def login(
        self, browser: Browser, host: str, path: str, claims: Mapping[str, Any], method: str = "GET"
    ) -> Verdict:
        self.idp.next_login(claims)
        browser.logins += 1
        outcome, _ = browser.get(f"https://{host}{path}", method=method)
        return self.decide(host, path, method, outcome)

    def decide(self, host: str, path: str, method: str, outcome: Outcome) -> Verdict:
        """The verdict on what reached the app: the real proxy's answer, the token check, then the
        policies with the verified claims (meshauth's matcher)."""
        if outcome.allowed_by_proxy is False:
            location = next((v for k, v in outcome.client_headers if k.lower() == "location"), "")
            where = f": to {location.split('?')[0]}" if location else ""
            return Verdict(
                False,
                outcome.status,
                f"by oauth2-proxy {self.version}: the check answered {outcome.status}{where}",
                outcome=outcome,
            )
        claims, rule = None, ""
        authorization = outcome.upstream_headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            try:
                token = authorization.split(" ", 1)[1]
                claims, rule = check_token(self.bundle, token, self.model.spec.ingress.namespace)
            except ValueError as error:
                return Verdict(False, 401, f"by the gateway's jwt_authn: {error}", outcome=outcome)
        decision = self.simulated(host, path, method, claims)
        via = f"token verified ({rule}); " if claims else ""
        return Verdict(decision.allowed, decision.status, f"{via}{decision}", claims, outcome)

    def machine(self, host: str, path: str, claims: Mapping[str, Any], method: str = "GET") -> Verdict:
        """A machine client: a bearer token signed by the IdP, no cookie."""
        token = self.idp.token(claims)
        headers = {"authorization": f"Bearer {token}"}
        outcome = self.gateway.request(method, host, path, headers, self.custom_for(host, path))
        return self.decide(host, path, method, outcome)


def prepare(versions: list[str]) -> int:
    """``--prepare [VERSION...]``: build the mock IdP and oauth2-proxy (default: the newest release
    meshauth knows) ahead of the tests, e.g. while CI lints."""
    sys.path.insert(0, str(ROOT))
    from meshauth.compat.proxyflags import LATEST

    try:
        build_mockidp()
        for version in versions or [LATEST]:
            build_proxy(version)
    except HarnessError as error:
        print(f"e2e: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--prepare"]:
        return prepare(argv[1:])
    parser = argparse.ArgumentParser(
        description="A real login through the rendered oauth2-proxy; ALLOW or DENY."
    )
    parser.add_argument("config")
    parser.add_argument("--host", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--claims", help="the ID token's claims, a JSON object (omit: anonymous)")
    parser.add_argument("--overlay", action="append", default=[])
    parser.add_argument("--proxy-version", help="run this oauth2-proxy release instead of the config's")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import meshauth
    from meshauth.authz.simulate import parse_claims

    try:
        claims = parse_claims(args.claims) if args.claims else None
        with Harness(args.config, args.overlay, args.proxy_version) as harness:
            browser = harness.browser()
            if claims is None:
                outcome, _ = browser.get(f"https://{args.host}{args.path}", method=args.method)
                verdict = harness.decide(args.host, args.path, args.method, outcome)
            else:
                verdict = harness.login(browser, args.host, args.path, claims, args.method)
    except (meshauth.ConfigError, HarnessError) as error:
        print(f"e2e: {error}", file=sys.stderr)
        return 1
    print(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
