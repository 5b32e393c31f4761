"""``meshauth discover`` against a real HTTP server on 127.0.0.1, started by these tests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from conftest import ROOT

import meshauth
from meshauth.config.discovery import Discovery, guess_preset, merged_identity

WELL_KNOWN = "/.well-known/openid-configuration"


class Provider:
    """Routes path -> (status, body bytes, delay seconds); records every path asked for."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, float, dict[str, str]]] = {}
        self.requests: list[str] = []
        self.base = ""

    def serve(self, path: str, body, status: int = 200, delay: float = 0.0, headers=None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[path] = (status, data, delay, headers or {})

    def document(self, issuer_path: str, **fields) -> str:
        """Serve a discovery document for ``base + issuer_path``; return that issuer."""
        issuer = self.base + issuer_path
        doc = {"issuer": issuer, "jwks_uri": f"{issuer}/keys", "authorization_endpoint": f"{issuer}/auth"}
        doc.update(fields)
        self.serve(issuer_path.rstrip("/") + WELL_KNOWN, {k: v for k, v in doc.items() if v is not None})
        return issuer


@pytest.fixture
def idp():
    provider = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            provider.requests.append(self.path)
            status, body, delay, headers = provider.routes.get(self.path, (404, b"not found", 0.0, {}))
            time.sleep(delay)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    provider.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    server.server_close()


def problem(error: meshauth.MeshAuthError) -> str:
    return str(error.problems[0])


# --- discovery -----------------------------------------------------------------------------------


def test_reads_a_keycloak_document_into_the_identity_block(idp):
    issuer = idp.document(
        "/realms/demo",
        jwks_uri=idp.base + "/realms/demo/protocol/openid-connect/certs",
        end_session_endpoint=idp.base + "/realms/demo/protocol/openid-connect/logout",
        scopes_supported=["openid", "email", "groups"],
    )
    found = meshauth.discover(issuer, insecure=True, timeout=5)
    assert found.identity() == {
        "preset": "keycloak",
        "issuerUrl": issuer,
        "jwksUri": issuer + "/protocol/openid-connect/certs",
        "endSessionUrl": issuer + "/protocol/openid-connect/logout",
    }
    printed = yaml.safe_load(found.to_yaml())
    assert printed == {"identity": found.identity()}
    assert "# clientId:" in found.to_yaml() and "groups scope" in found.to_yaml()
    assert idp.requests == ["/realms/demo" + WELL_KNOWN]


def test_refuses_a_document_that_names_another_issuer(idp):
    idp.serve(
        "/tenant" + WELL_KNOWN,
        {"issuer": "https://login.example.com/real-tenant", "jwks_uri": "https://login.example.com/keys"},
    )
    with pytest.raises(meshauth.DiscoveryError) as caught:
        meshauth.discover(idp.base + "/tenant", insecure=True)
    message = problem(caught.value)
    assert message.startswith(
        idp.base + "/tenant" + WELL_KNOWN + ": names the issuer "
        "https://login.example.com/real-tenant, not " + idp.base + "/tenant"
    )
    assert "meshauth discover https://login.example.com/real-tenant" in message


def test_a_trailing_slash_is_part_of_the_issuer(idp):
    issuer = idp.document("/auth0/")  # Auth0-style issuer with a trailing slash
    assert meshauth.discover(issuer, insecure=True).issuer == issuer
    with pytest.raises(meshauth.DiscoveryError) as caught:
        meshauth.discover(issuer.rstrip("/"), insecure=True)
    assert "differ only in the trailing slash" in problem(caught.value)


@pytest.mark.parametrize(
    "body, status, expected",
    [
        (b"<html>login</html>", 200, "is not JSON"),
        (b"[1, 2]", 200, "is JSON but not an object"),
        (b'{"jwks_uri": "https://x/keys"}', 200, "has no issuer"),
        (b"gone", 404, "answered HTTP 404"),
        (b"oops", 500, "answered HTTP 500"),
    ],
)
def test_clear_errors_for_what_is_not_a_discovery_document(idp, body, status, expected):
    idp.serve("/bad" + WELL_KNOWN, body, status=status)
    with pytest.raises(meshauth.DiscoveryError) as caught:
        meshauth.discover(idp.base + "/bad", insecure=True)
    assert f"{WELL_KNOWN}: {expected}" in problem(caught.value)


def test_missing_or_plain_http_jwks_uri_is_refused(idp):
    issuer = idp.document("/nokeys", jwks_uri=None)
    with pytest.raises(meshauth.DiscoveryError, match="has no jwks_uri"):
        meshauth.discover(issuer, insecure=True)
    issuer = idp.document("/ftp", jwks_uri="ftp://keys.example.com/keys")
    with pytest.raises(meshauth.DiscoveryError, match="unusable jwks_uri"):
        meshauth.discover(issuer, insecure=True)


def test_times_out(idp):
    issuer = idp.document("/slow")
    status, body, _, headers = idp.routes["/slow" + WELL_KNOWN]
    idp.routes["/slow" + WELL_KNOWN] = (status, body, 2.0, headers)
    started = time.monotonic()
    with pytest.raises(meshauth.DiscoveryError) as caught:
        meshauth.discover(issuer, insecure=True, timeout=0.3)
    assert "no answer within 0.3s" in problem(caught.value)
    assert time.monotonic() - started < 1.9


def test_plain_http_needs_insecure_and_nothing_is_fetched_without_it(idp):
    issuer = idp.document("/realms/demo")
    with pytest.raises(meshauth.DiscoveryError) as caught:
        meshauth.discover(issuer)
    assert "must be an https:// issuer URL (plain http only with --insecure)" in problem(caught.value)
    assert idp.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cr3t-pw@idp.example.com",
        "https://idp.example.com?x=1",
        "ftp://idp.example.com",
        "idp.example.com",
    ],
)
def test_issuer_urls_that_are_no_issuer(url):
    with pytest.raises(meshauth.DiscoveryError) as caught:
        meshauth.discover(url, insecure=True)
    assert "s3cr3t-pw" not in str(caught.value)


def test_nothing_listening_is_a_clear_error():
    with pytest.raises(meshauth.DiscoveryError, match="cannot be fetched"):
        meshauth.discover("http://127.0.0.1:9", insecure=True, timeout=2)


def test_follows_redirects_within_the_allowed_schemes(idp):
    issuer = idp.document("/moved")
    idp.serve("/old" + WELL_KNOWN, b"", status=302, headers={"Location": issuer + WELL_KNOWN})
    with pytest.raises(meshauth.DiscoveryError, match="names the issuer"):
        meshauth.discover(idp.base + "/old", insecure=True)  # redirected: the issuer still decides
    assert idp.requests == ["/old" + WELL_KNOWN, "/moved" + WELL_KNOWN]


def test_refuses_a_redirect_from_https_to_http():
    from meshauth.config.discovery import _NoDowngrade

    class Request:
        full_url = "https://idp.example.com/.well-known/openid-configuration"

    with pytest.raises(meshauth.DiscoveryError, match="not https; refused"):
        _NoDowngrade(False).redirect_request(Request(), None, 302, "Found", {}, "http://evil.example.com/")


@pytest.mark.parametrize(
    "issuer, jwks, preset",
    [
        ("https://accounts.google.com", "https://www.googleapis.com/oauth2/v3/certs", "google"),
        (
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys",
            "azure",
        ),
        (
            "https://sso.example.com/realms/ops",
            "https://sso.example.com/realms/ops/protocol/openid-connect/certs",
            "keycloak",
        ),
        ("https://dev-1.okta.com/oauth2/default", "https://dev-1.okta.com/oauth2/default/v1/keys", "okta"),
        ("https://dev-1.okta.com", "https://dev-1.okta.com/oauth2/v1/keys", "okta"),
        ("https://acme.eu.auth0.com/", "https://acme.eu.auth0.com/.well-known/jwks.json", "auth0"),
        ("https://gitlab.example.com", "https://gitlab.example.com/oauth/discovery/keys", "gitlab"),
        ("https://dex.example.com/dex", "https://dex.example.com/dex/keys", "dex"),
        ("https://idp.example.com", "https://idp.example.com/keys", "generic"),
        ("https://idp.example.com/realms/x", "https://idp.example.com/jwks", "generic"),
    ],
)
def test_guesses_the_preset_whose_patterns_reproduce_the_document(issuer, jwks, preset):
    assert guess_preset(issuer, jwks) == preset


def test_merge_keeps_the_configs_preset_and_other_keys():
    found = Discovery("u", "https://idp.example.com", "https://idp.example.com/keys", None, "generic")
    merged = merged_identity({"preset": "okta", "clientId": "c", "tenant": "t", "scopes": ["openid"]}, found)
    assert merged == {
        "preset": "okta",
        "issuerUrl": "https://idp.example.com",
        "jwksUri": "https://idp.example.com/keys",
        "clientId": "c",
        "scopes": ["openid"],
    }
    assert list(merged)[:3] == ["preset", "issuerUrl", "jwksUri"]


# --- the command ---------------------------------------------------------------------------------


def run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "meshauth", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_cli_prints_the_block_to_paste(idp):
    issuer = idp.document("/realms/demo", jwks_uri=idp.base + "/realms/demo/protocol/openid-connect/certs")
    result = run("discover", issuer, "--insecure", "--timeout", "5")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["identity"]["issuerUrl"] == issuer
    assert result.stdout.startswith(f"# spec.identity from {issuer}{WELL_KNOWN}\nidentity:\n")


def test_cli_refuses_a_mismatched_issuer_with_exit_1(idp):
    idp.serve("/x" + WELL_KNOWN, {"issuer": "https://elsewhere.example.com", "jwks_uri": "https://e/k"})
    result = run("discover", idp.base + "/x", "--insecure")
    assert result.returncode == 1
    assert (
        "error: " + idp.base + "/x" + WELL_KNOWN + ": names the issuer https://elsewhere.example.com"
        in result.stderr
    )
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["discover"],
        ["discover", "https://x", "--timeout", "0"],
        ["discover", "https://x", "--timeout", "soon"],
    ],
)
def test_cli_usage_errors_exit_2(args):
    assert run(*args).returncode == 2


CONFIG = """\
# Platform SSO. Owned by the platform team.
apiVersion: meshauth.dev/v1alpha1
kind: MeshAuthConfig
metadata:
  name: demo   # keep short
spec:
  platform:
    istioVersion: "1.22"
  # the IdP: filled in by meshauth discover
  identity:
    preset: generic
    issuerUrl: https://old.example.com
    jwksUri: https://old.example.com/keys
    clientId: "meshauth"   # registered in the IdP
    scopes: [openid, email]

  # a comment between sections stays
  tls:
    issuer:
      acme: {email: ops@example.com}
  apps:
    - name: nginx
      host: nginx.example.com
"""


def _outside_identity(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("  identity:")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
    return lines[: start + 1] + lines[end:]


def test_write_merges_the_block_and_keeps_the_rest_of_the_file(idp, tmp_path):
    issuer = idp.document(
        "/realms/demo",
        jwks_uri=idp.base + "/realms/demo/protocol/openid-connect/certs",
        end_session_endpoint=idp.base + "/realms/demo/protocol/openid-connect/logout",
    )
    config = tmp_path / "meshauth.yaml"
    config.write_text(CONFIG)
    config.chmod(0o640)
    result = run("discover", issuer, "--insecure", "--write", config)
    assert result.returncode == 0, result.stderr
    assert f"{config}: spec.identity updated" in result.stderr
    text = config.read_text()
    assert _outside_identity(text) == _outside_identity(CONFIG)  # comments and layout kept
    identity = yaml.safe_load(text)["spec"]["identity"]
    assert identity == {
        "preset": "keycloak",
        "issuerUrl": issuer,
        "jwksUri": issuer + "/protocol/openid-connect/certs",
        "endSessionUrl": issuer + "/protocol/openid-connect/logout",
        "clientId": "meshauth",
        "scopes": ["openid", "email"],
    }
    assert meshauth.load_config(config).spec.identity.issuer_url == issuer
    assert config.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["meshauth.yaml"]  # no temporary left behind


@pytest.mark.parametrize(
    "identity_text",
    [
        "  identity: {preset: generic, issuerUrl: 'https://o.example.com', jwksUri: 'https://o.example.com/k', "
        "clientId: c}\n",
        "",
    ],
    ids=["flow-style", "absent"],
)
def test_write_handles_flow_style_and_absent_identity(idp, tmp_path, identity_text):
    issuer = idp.document("/idp")
    config = tmp_path / "c.yaml"
    base = CONFIG[: CONFIG.index("  identity:")] + identity_text + CONFIG[CONFIG.index("\n  # a comment") :]
    config.write_text(base)
    found = meshauth.discover(issuer, insecure=True)
    if identity_text:
        meshauth.write_identity(config, found)
        assert yaml.safe_load(config.read_text())["spec"]["identity"]["issuerUrl"] == issuer
        assert "# a comment between sections stays" in config.read_text()
    else:  # without clientId the merged config would not load: nothing is written
        with pytest.raises(meshauth.ConfigError) as caught:
            meshauth.write_identity(config, found)
        assert any("nothing written" in p.message for p in caught.value.problems)
        assert any(p.path == "spec.identity.clientId" for p in caught.value.problems)
        assert config.read_text() == base


def test_write_refuses_a_file_that_is_not_a_config(idp, tmp_path):
    issuer = idp.document("/idp")
    other = tmp_path / "other.yaml"
    other.write_text("- just\n- a list\n")
    result = run("discover", issuer, "--insecure", "--write", other)
    assert result.returncode == 1 and "must hold one MeshAuthConfig" in result.stderr
    assert other.read_text() == "- just\n- a list\n"
    assert run("discover", issuer, "--insecure", "--write", tmp_path / "missing.yaml").returncode == 1


def test_repository_example_stays_loadable_after_a_write(idp, tmp_path):
    config = tmp_path / "quickstart.yaml"
    config.write_text((ROOT / "examples" / "quickstart.yaml").read_text())
    issuer = idp.document("/realms/apps", jwks_uri=idp.base + "/realms/apps/protocol/openid-connect/certs")
    meshauth.write_identity(config, meshauth.discover(issuer, insecure=True))
    loaded = meshauth.load_config(config)
    assert loaded.spec.identity.preset == "keycloak" and loaded.spec.identity.client_id == "meshauth"
    original = (ROOT / "examples" / "quickstart.yaml").read_text().splitlines()
    assert config.read_text().splitlines()[:10] == original[:10]  # the header comments are intact
