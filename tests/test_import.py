"""``meshauth import``: reading hand-written manifests and shell scripts, and mapping them.

The blog's round trip has its own module (test_import_roundtrip.py); here: the reader, each mapping
rule, what is reported, secrets, and the property that meshauth's own output imports back to a
config that renders byte for byte the same.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from conftest import EXAMPLES, ROOT, VALID_CASES
from test_cli import run

import meshauth
from meshauth.errors import ConfigError
from meshauth.importer.identity import identity_preset
from meshauth.importer.inputfiles import read_manifests
from meshauth.importer.run import import_manifests
from meshauth.importer.sources import expand

BLOG = ROOT / "tests" / "fixtures" / "blog" / "setup.sh"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def kinds(manifests):
    return [(s.obj["kind"], s.obj["metadata"].get("name")) for s in manifests.sources]


# --- reading ---------------------------------------------------------------------------------------


def test_heredocs_expand_the_scripts_variables_unless_the_delimiter_is_quoted(tmp_path):
    script = write(
        tmp_path,
        "setup.sh",
        """
        #!/bin/sh
        export NS=team-a   # the namespace
        NAME="web"
        kubectl apply -f - <<EOF
        apiVersion: v1
        kind: Namespace
        metadata: {name: $NS}
        EOF
        cat <<'EOF' | kubectl apply -f -
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${NAME}-literal
          namespace: $NS
        EOF
    """,
    )
    read = read_manifests([str(script)])
    assert kinds(read) == [("Namespace", "team-a"), ("ConfigMap", "${NAME}-literal")]
    assert read.sources[1].obj["metadata"]["namespace"] == "$NS"
    assert read.sources[0].origin == f"{script}:5"
    assert read.variables == {"NS": "team-a", "NAME": "web"}


def test_tab_stripping_heredoc_and_line_continuations(tmp_path):
    script = write(
        tmp_path,
        "s.sh",
        "kubectl \\\n  apply -f - <<-END\n\tapiVersion: v1\n\tkind: Namespace\n"
        "\tmetadata: {name: tabs}\n\tEND\n",
    )
    assert kinds(read_manifests([str(script)])) == [("Namespace", "tabs")]


def test_computed_variables_are_unknown_and_given_ones_win(tmp_path):
    script = write(
        tmp_path,
        "s.sh",
        """
        export SECRET=$(openssl rand -base64 32)
        export DOMAIN=example.org
        export HOST=app.$DOMAIN
    """,
    )
    read = read_manifests([str(script)], {"DOMAIN": "example.com"})
    assert "SECRET" not in read.variables
    assert read.variables["HOST"] == "app.example.com"  # --set DOMAIN wins over the script


def test_imperative_namespace_label_and_secret_become_objects(tmp_path):
    script = write(
        tmp_path,
        "s.sh",
        """
        kubectl create namespace oauth2-proxy
        kubectl label namespace oauth2-proxy istio-injection=enabled --overwrite
        kubectl -n oauth2-proxy create secret generic oauth2-proxy \\
          --from-literal=client-secret=abc --from-file=cookie-secret=./cookie.txt
        kubectl get pods -A
        kubectl -n default rollout status deployment/x
        istioctl analyze
        kubectl create deployment web --image=nginx
        helm install oauth2-proxy oauth2-proxy/oauth2-proxy -f values.yaml
    """,
    )
    read = read_manifests([str(script)])
    namespace, secret = (s.obj for s in read.sources)
    assert namespace["metadata"] == {
        "name": "oauth2-proxy",
        "labels": {"istio-injection": "enabled"},
    }
    assert secret["metadata"] == {"name": "oauth2-proxy", "namespace": "oauth2-proxy"}
    assert secret["stringData"] == {"client-secret": "abc", "cookie-secret": None}
    reported = [(f.file.rsplit(":", 1)[1], f.message.split("`")[1]) for f in read.findings]
    assert reported == [
        ("8", "kubectl create deployment web --image=nginx"),
        ("9", "helm install oauth2-proxy oauth2-proxy/oauth2-proxy -f values.yaml"),
    ]


def test_yaml_files_folders_lists_and_istiod_values(tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    write(
        folder,
        "list.yaml",
        """
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Namespace, metadata: {name: a}}
        - {apiVersion: v1, kind: Namespace, metadata: {name: b}}
        ---
        just: a mapping
    """,
    )
    write(folder, "istiod-values.yaml", "meshConfig:\n  extensionProviders: []\n")
    write(folder, "notes.txt", "ignored: true\n")
    read = read_manifests([str(folder)])
    assert kinds(read) == [("IstiodValues", "istiod"), ("Namespace", "a"), ("Namespace", "b")]
    assert [f.message for f in read.findings] == [
        "not a Kubernetes object (no apiVersion and kind); not read"
    ]
    assert read.findings[0].file == f"{folder / 'list.yaml'}:7"


def test_a_duplicate_key_is_refused_as_validate_refuses_it_not_resolved_to_the_last(tmp_path):
    write(tmp_path, "dup.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n")
    read = read_manifests([str(tmp_path / "dup.yaml")])
    assert kinds(read) == []
    assert [(f.file, f.message) for f in read.findings] == [
        (f"{tmp_path / 'dup.yaml'}:5", "not valid YAML (duplicate key 'name'); nothing read from it")
    ]


def test_envsubst_templates_take_only_given_variables(tmp_path):
    template = write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: $TEAM}\n")
    assert kinds(read_manifests([str(template)], {"TEAM": "blue"})) == [("Namespace", "blue")]


def test_missing_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as error:
        read_manifests([str(tmp_path / "nope")])
    assert "no such file or directory" in str(error.value)


def test_expand():
    assert expand("${A:-x}/$B/${C}", {"B": "b"}) == "x/b/${C}"


# --- mapping ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "issuer, jwks, provider, expected",
    [
        (
            "https://accounts.google.com",
            "https://www.googleapis.com/oauth2/v3/certs",
            "oidc",
            {"preset": "google"},
        ),
        (
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
            None,
            "oidc",
            {"preset": "azure", "tenant": "contoso.onmicrosoft.com"},
        ),
        (
            "https://kc.example.com/realms/main",
            "https://kc.example.com/realms/main/protocol/openid-connect/certs",
            "oidc",
            {"preset": "keycloak", "issuerUrl": "https://kc.example.com/realms/main"},
        ),
        (
            "https://dex.example.com",
            "https://dex.example.com/keys",
            "oidc",
            {"preset": "dex", "issuerUrl": "https://dex.example.com"},
        ),
        (
            "https://idp.example.com",
            "https://idp.example.com/jwks",
            "oidc",
            {
                "preset": "generic",
                "issuerUrl": "https://idp.example.com",
                "jwksUri": "https://idp.example.com/jwks",
            },
        ),
        (
            "https://kc.example.com/realms/main",
            "https://elsewhere.example.com/keys",
            "oidc",
            {
                "preset": "generic",
                "issuerUrl": "https://kc.example.com/realms/main",
                "jwksUri": "https://elsewhere.example.com/keys",
            },
        ),
    ],
)
def test_the_preset_is_the_one_that_derives_what_the_manifests_say(issuer, jwks, provider, expected):
    assert identity_preset(issuer, jwks, provider) == expected


HAND_WRITTEN = """
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: login, namespace: gateways}
    spec:
      selector: {matchLabels: {istio: public}}
      action: CUSTOM
      provider: {name: sso}
      rules:
      - to:
        - operation:
            hosts: [wiki.example.com, "wiki.example.com:*", api.example.com]
            notPaths: [/healthz, /static/*]
    ---
    apiVersion: networking.istio.io/v1
    kind: Gateway
    metadata: {name: public, namespace: gateways}
    spec:
      selector: {istio: public}
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: [wiki.example.com, api.example.com]
        tls: {httpsRedirect: true}
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: wiki, namespace: gateways}
    spec:
      hosts: [wiki.example.com]
      gateways: [public]
      http:
      - match: [{uri: {prefix: /}}]
        route: [{destination: {host: wiki.docs.svc.cluster.local, port: {number: 3000}}}]
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: api, namespace: api}
    spec:
      hosts: [api.example.com]
      gateways: [gateways/public]
      http:
      - route: [{destination: {host: api}}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: api}
    spec:
      selector: {component: api}
      ports: [{name: http, port: 8080}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api, namespace: api}
    spec:
      selector: {matchLabels: {component: api}}
      template:
        metadata: {labels: {component: api}}
        spec:
          containers:
          - name: api
            image: example/api:1.0
            env: [{name: MODE, value: prod}]
    ---
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: api-who, namespace: api}
    spec:
      selector: {matchLabels: {component: api}}
      rules:
      - from: [{source: {requestPrincipals: ["https://dex.example.com/u1"]}}]
      - from: [{source: {requestPrincipals: ["*"]}}]
        when:
        - {key: "request.auth.claims[groups]", values: [admins]}
        - {key: "request.auth.claims[tier]", values: [gold]}
        - {key: source.ip, values: [10.0.0.1]}
    ---
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: deny-bots, namespace: api}
    spec:
      action: DENY
      rules: [{to: [{operation: {paths: [/admin]}}]}]
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: unrelated, namespace: api}
    data: {a: b}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: sso, namespace: auth}
    spec:
      replicas: 2
      template:
        spec:
          containers:
          - name: proxy
            image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0
            args: [--provider=oidc, --oidc-issuer-url, "https://dex.example.com", --client-id=web,
                   --cookie-refresh=30m, --cookie-domain=.example.com, --whitelist-domain=.example.com,
                   --skip-jwt-bearer-tokens, --not-a-flag=1, --upstream=http://backend]
            env:
            - {name: OAUTH2_PROXY_COOKIE_SECRET, valueFrom: {secretKeyRef: {name: sso-keys, key: cookie}}}
            - {name: OAUTH2_PROXY_CLIENT_SECRET, valueFrom: {secretKeyRef: {name: sso-keys, key: client-secret}}}
            - {name: OAUTH2_PROXY_EMAIL_DOMAINS, value: "example.com"}
    ---
    apiVersion: install.istio.io/v1alpha1
    kind: IstioOperator
    spec:
      tag: 1.24.2
      meshConfig:
        extensionProviders:
        - name: sso
          envoyExtAuthzHttp: {service: oauth2-proxy.auth.svc.cluster.local, port: 4180, timeout: 2s}
"""


@pytest.fixture(scope="module")
def hand_written(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("hand"), "all.yaml", HAND_WRITTEN)
    return import_manifests([str(path)], name="team")


def test_hand_written_setup_maps_to_the_config_it_means(hand_written):
    spec = hand_written.config["spec"]
    assert spec["platform"] == {"istioVersion": "1.24"}  # from the IstioOperator's tag
    assert spec["mesh"] == {"extensionProvider": "sso"}
    assert spec["ingress"] == {
        "namespace": "gateways",
        "selector": {"istio": "public"},
        "gateway": "public",
    }
    assert "tls" not in spec
    assert spec["identity"] == {
        "preset": "dex",
        "issuerUrl": "https://dex.example.com",
        "clientId": "web",
        "bearerTokens": {},  # --skip-jwt-bearer-tokens
    }
    assert spec["secret"] == {"name": "sso-keys"}
    assert spec["oauth2Proxy"] == {
        "version": "v7.6.0",
        "namespace": "auth",
        "replicas": 2,
        "cookie": {"refresh": "30m", "expire": "168h", "secure": False, "domains": ["example.com"]},
        "whitelistDomains": [".example.com"],
        "emailDomains": ["example.com"],
    }
    wiki, api = spec["apps"]
    assert wiki == {
        "name": "wiki",
        "namespace": "docs",
        "host": "wiki.example.com",
        "service": {"port": 3000},
        "publicPaths": ["/healthz", "/static/*"],
    }
    assert api == {
        "name": "api",
        "host": "api.example.com",
        "service": {"port": 8080},
        "selector": {"component": "api"},
        "publicPaths": ["/healthz", "/static/*"],
        "authorization": {
            "groups": ["admins"],
            "principals": ["https://dex.example.com/u1"],
            "claims": {"tier": ["gold"]},
        },
    }


def test_hand_written_setup_reports_everything_it_could_not_carry_over(hand_written):
    messages = {(f.object, f.path, f.message.split(":")[0].split(";")[0]) for f in hand_written.findings}
    expected = {
        ("IstioOperator", "", "only meshConfig.extensionProviders is imported"),
        ("IstioOperator", "", "envoyExtAuthzHttp.timeout is not imported"),
        ("Deployment auth/sso", "", "--upstream=http"),
        ("Deployment auth/sso", "", "--not-a-flag is not imported"),
        (
            "",
            "spec.secret",
            "meshauth reads the cookie secret from key cookie-secret of Secret sso-keys",
        ),
        ("", "", "no mesh-wide PeerAuthentication found"),
        ("AuthorizationPolicy api/api-who", "spec.rules[1]", "rule 1"),
        ("AuthorizationPolicy api/deny-bots", "spec.action", "not imported"),
        ("Deployment api/api", "", "not imported"),
        ("ConfigMap api/unrelated", "", "not imported"),
    }
    assert expected <= messages, sorted(messages - expected)
    # match: [{uri: {prefix: /}}] is the whole host, as an app without pathPrefix: nothing to report
    assert not any(f.object == "VirtualService gateways/wiki" for f in hand_written.findings)
    assert hand_written.valid


def test_nothing_is_silently_dropped(hand_written):
    """Every object read is either mapped or named in a finding."""
    named = {f.object for f in hand_written.findings}
    mapped = {
        "AuthorizationPolicy gateways/login",
        "Gateway gateways/public",
        "VirtualService api/api",
        "Service api/api",
        "VirtualService gateways/wiki",
        "Deployment auth/sso",
        "IstioOperator",
    }
    for obj in hand_written.objects:
        metadata = obj.get("metadata") or {}
        ref = f"{obj['kind']} {metadata.get('namespace', '')}/{metadata['name']}" if metadata else obj["kind"]
        assert ref in named | mapped, ref


def test_unresolved_shell_variables_are_errors_that_say_what_to_pass(tmp_path):
    script = write(tmp_path, "s.sh", (BLOG.read_text().replace("export DOMAIN=example.com\n", "")))
    imported = import_manifests([str(script)])
    errors = [f for f in imported.findings if f.severity == "error"]
    assert errors and all("pass --set DOMAIN=VALUE" in f.message for f in errors)
    assert {f.path for f in errors} == {"spec.apps[0].host"}
    fixed = import_manifests([str(script)], variables={"DOMAIN": "example.com"})
    assert fixed.valid and fixed.config["spec"]["apps"][0]["host"] == "nginx.example.com"


# --- secrets ---------------------------------------------------------------------------------------


def test_secret_values_are_never_copied_or_shown_by_default():
    imported = import_manifests([str(BLOG)], name="blog")
    assert imported.config["spec"].get("secret") is None  # source existing, name oauth2-proxy
    shown = (
        imported.text
        + json.dumps([vars(d) for d in imported.differences])
        + "".join(str(f) for f in imported.findings)
    )
    assert "GOCSPX" not in shown
    assert any("secret values are not copied" in f.message for f in imported.findings)


def test_inline_secrets_is_an_explicit_opt_in_and_needs_every_value():
    missing = import_manifests([str(BLOG)], name="blog", inline_secrets=True)
    assert not missing.valid
    (error,) = [f for f in missing.findings if f.severity == "error"]
    assert error.path == "spec.secret.inline.cookieSecret" and "cookie secret" in error.message
    cookie = "0123456789abcdef0123456789abcdef"
    given = import_manifests(
        [str(BLOG)], name="blog", inline_secrets=True, variables={"COOKIE_SECRET": cookie}
    )
    assert given.valid
    assert given.config["spec"]["secret"] == {
        "source": "inline",
        "allowPlaintext": True,
        "inline": {"clientSecret": "GOCSPX-replace-me-with-yours", "cookieSecret": cookie},
    }


def test_external_and_sealed_secrets_are_carried_over(tmp_path):
    for example in ("external-secrets-istio-1-17-dns01", "sealed-secrets-istio-1-22-azure"):
        config = meshauth.load_config(ROOT / "tests" / "cases" / "valid" / f"{example}.yaml")
        bundle = meshauth.render(config)
        path = write(tmp_path, f"{example}.yaml", bundle.to_yaml())
        imported = import_manifests([str(path)], name=config.metadata.name)
        assert imported.config["spec"]["secret"]["source"] == config.spec.secret.source


# --- meshauth's own output imports back to the same config ----------------------------------------


# The configs whose every field import knows how to recover. A feature added later gets its case
# here once import maps it; until then the weaker test below still runs on it.
ROUND_TRIP = {
    "quickstart",
    "kubeflow",
    "seed",
    "contract-example",
    "existing-issuer-create-false",
    "existing-secret-istio-1-10-istioctl",
    "external-secrets-istio-1-17-dns01",
    "extra-args-v7-2-0",
    "gitops-flux-two-environments",
    "hardened-everything",
    "istio-1-6-envoyfilter-login",
    "inline-secret-istio-1-14-helm",
    "kubernetes-1-25-oldest",
    "kubernetes-1-37-newest",
    "many-apps-authorization",
    "minimal-google-istio-1-9",
    "plain-http-istio-1-30",
    "redis-session-store",
    "sealed-secrets-istio-1-22-azure",
}


def import_rendered(tmp_path, path):
    config = meshauth.load_config(path, allow_plaintext_secrets=True)
    bundle = meshauth.render(config)
    (tmp_path / "stream.yaml").write_text(bundle.to_yaml())
    (tmp_path / "mesh.yaml").write_text(bundle.mesh_config_yaml())
    imported = import_manifests(
        [str(tmp_path)],
        name=config.metadata.name,
        istio_version=config.spec.platform.istio_version,
        inline_secrets=config.spec.secret.source == "inline",
    )
    return bundle, imported


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLES + VALID_CASES if p.stem in ROUND_TRIP], ids=lambda p: p.stem
)
def test_rendered_output_imports_back_to_a_config_that_renders_the_same_bytes(tmp_path, path):
    bundle, imported = import_rendered(tmp_path, path)
    assert imported.valid, [str(f) for f in imported.findings]
    again = meshauth.render(meshauth.load_config(imported.config))
    assert again.to_yaml() == bundle.to_yaml()
    assert again.mesh_config_yaml() == bundle.mesh_config_yaml()
    assert [d for d in imported.differences if d.change != "removed"] == []


@pytest.mark.parametrize("path", EXAMPLES + VALID_CASES, ids=lambda p: p.stem)
def test_whatever_does_not_come_back_is_reported(tmp_path, path):
    """For every config, also ones with features import does not map yet: no silent loss."""
    _, imported = import_rendered(tmp_path, path)
    if not imported.valid:
        assert any(f.severity == "error" for f in imported.findings)
        return
    reported = " ".join(f"{f.object} {f.message}" for f in imported.findings)
    lost = [d.object for d in imported.differences if d.change == "removed" and not d.path]
    assert all(ref in reported for ref in lost if not ref.startswith("Secret ")), lost


# --- the command -----------------------------------------------------------------------------------


def test_import_command_writes_the_config_and_reports_on_stderr(tmp_path):
    target = tmp_path / "meshauth.yaml"
    result = run("import", BLOG, "--name", "blog", "-o", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "warning import: secret values are not copied" in result.stderr
    assert f"the config is written to {target}" in result.stderr
    assert run("validate", target).returncode == 0
    assert run("import", BLOG, "-o", target).returncode == 1  # never overwrites without --force


def test_import_command_json_report(tmp_path):
    result = run("import", BLOG, "--name", "blog", "--output", "json", "--diff")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"config", "findings", "differences", "valid"}
    assert report["valid"] is True
    assert yaml.safe_load(report["config"])["metadata"] == {"name": "blog"}
    assert {"rule", "severity", "message", "object", "path", "file"} == set(report["findings"][0])
    assert {"change", "kind", "object", "path", "before", "after"} == set(report["differences"][0])


def test_import_command_exits_1_and_writes_nothing_on_errors(tmp_path):
    script = write(tmp_path, "s.sh", BLOG.read_text().replace("export DOMAIN=example.com\n", ""))
    target = tmp_path / "meshauth.yaml"
    result = run("import", script, "-o", target)
    assert result.returncode == 1
    assert "pass --set DOMAIN=VALUE" in result.stderr and "not written" in result.stderr
    assert not target.exists()
    assert run("import", script, "-o", target, "--set", "DOMAIN=example.com").returncode == 0


def test_import_command_refuses_a_malformed_set():
    result = run("import", BLOG, "--set", "DOMAIN")
    assert result.returncode == 2 and "expected NAME=VALUE" in result.stderr


def test_mesh_config_from_istioctl_set_helm_set_and_the_mesh_configmap(tmp_path):
    script = write(
        tmp_path,
        "mesh.sh",
        """
        istioctl install -y --set profile=default \\
          --set meshConfig.extensionProviders[0].name=oauth2-proxy \\
          --set meshConfig.extensionProviders[0].envoyExtAuthzHttp.port=4180 \\
          --set meshConfig.extensionProviders[0].envoyExtAuthzHttp.includeRequestHeadersInCheck[1]=cookie
        helm upgrade --install istiod istio/istiod -n istio-system \\
          --set meshConfig.extensionProviders[0].name=sso,meshConfig.accessLogFile=/dev/stdout
        kubectl patch configmap istio -n istio-system --patch "$(cat <<END
        data:
          mesh: |-
            extensionProviders:
            - name: ext
        END
        )"
    """,
    )
    operator, values, config_map = (s.obj for s in read_manifests([str(script)]).sources)
    assert operator["spec"] == {
        "profile": "default",
        "meshConfig": {
            "extensionProviders": [
                {
                    "name": "oauth2-proxy",
                    "envoyExtAuthzHttp": {
                        "port": 4180,
                        "includeRequestHeadersInCheck": [{}, "cookie"],
                    },
                }
            ]
        },
    }
    assert values["kind"] == "IstiodValues"
    assert values["values"]["meshConfig"] == {
        "extensionProviders": [{"name": "sso"}],
        "accessLogFile": "/dev/stdout",
    }
    assert config_map["metadata"] == {"name": "istio", "namespace": "istio-system"}


def test_the_blog_installed_with_istioctl_set_imports_the_same_config(tmp_path):
    text = BLOG.read_text()
    start, end = text.index("cat <<EOF > istio-operator.yaml"), text.index("istioctl install -y -f")
    flags = " \\\n".join(
        [
            "istioctl install -y --set profile=default",
            "  --set meshConfig.extensionProviders[0].name=oauth2-proxy",
            "  --set meshConfig.extensionProviders[0].envoyExtAuthzHttp.service=oauth2-proxy.oauth2-proxy.svc.cluster.local",
            "  --set meshConfig.extensionProviders[0].envoyExtAuthzHttp.port=4180",
        ]
    )
    variant = text[:start] + flags + "\n" + text[text.index("\n", end) + 1 :]
    script = tmp_path / "setup.sh"
    script.write_text(variant)
    assert (
        import_manifests([str(script)], name="blog").config
        == import_manifests([str(BLOG)], name="blog").config
    )


def test_stdin(monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"))
    assert kinds(read_manifests(["-"])) == [("Namespace", "x")]


CHART_STYLE = """
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: oauth2-proxy, namespace: oauth2-proxy}
    data:
      oauth2_proxy.cfg: |
        email_domains = [ "example.com" ]
        upstreams = [ "static://200" ]
        cookie_refresh = "30m"   # below the token lifetime
        cookie_secure = true
        pass_access_token = true
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: oauth2-proxy, namespace: oauth2-proxy}
    spec:
      template:
        spec:
          containers:
          - name: oauth2-proxy
            image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0
            args: [--http-address=0.0.0.0:4180, --config=/etc/oauth2_proxy/oauth2_proxy.cfg,
                   --provider=oidc, --oidc-issuer-url=https://dex.example.com, --client-id=web,
                   --cookie-refresh=20m]
"""


def with_chart_style(proxy: str) -> str:
    """HAND_WRITTEN with its oauth2-proxy Deployment replaced by ``proxy`` (in oauth2-proxy)."""
    documents = [
        d for d in textwrap.dedent(HAND_WRITTEN).split("---\n") if "name: sso, namespace: auth" not in d
    ]
    rest = "---\n".join(documents).replace("oauth2-proxy.auth.svc", "oauth2-proxy.oauth2-proxy.svc")
    return textwrap.dedent(proxy) + "---\n" + rest


def test_an_oauth2_proxy_config_file_fills_what_the_flags_leave_open(tmp_path):
    path = tmp_path / "chart.yaml"
    path.write_text(with_chart_style(CHART_STYLE))
    spec = import_manifests([str(path)], name="team").config["spec"]
    proxy = spec["oauth2Proxy"]
    assert proxy["emailDomains"] == ["example.com"]
    assert proxy["cookie"]["refresh"] == "20m"  # the flag wins over the file, as in oauth2-proxy
    assert proxy["extraArgs"] == {"pass-access-token": True}  # never `config`: the file is gone


def test_a_config_file_that_is_not_in_the_manifests_is_reported(tmp_path):
    path = tmp_path / "chart.yaml"
    path.write_text(with_chart_style(CHART_STYLE.split("---", 1)[1]))
    imported = import_manifests([str(path)], name="team")
    assert "config" not in imported.config["spec"]["oauth2Proxy"].get("extraArgs", {})
    assert any(
        f.message.startswith("--config /etc/oauth2_proxy/oauth2_proxy.cfg: the file is not")
        for f in imported.findings
    )


def test_require_jwt_deny_policies_are_covered_by_meshauths_own(tmp_path):
    deny = """
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: require-jwt, namespace: gateways}
        spec:
          selector: {matchLabels: {istio: public}}
          action: DENY
          rules: [{from: [{source: {notRequestPrincipals: ["*"]}}], to: [{operation: {hosts: [api.example.com]}}]}]
        ---
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: api-require-jwt, namespace: api}
        spec:
          action: DENY
          rules: [{from: [{source: {notRequestPrincipals: ["*"]}}]}]
    """
    path = write(tmp_path, "all.yaml", textwrap.dedent(HAND_WRITTEN) + textwrap.dedent(deny))
    imported = import_manifests([str(path)], name="team")
    named = {f.object for f in imported.findings}
    assert "AuthorizationPolicy gateways/require-jwt" not in named
    assert "AuthorizationPolicy api/api-require-jwt" not in named
    assert "AuthorizationPolicy api/deny-bots" in named  # a DENY that does something else


def test_the_config_file_is_read_as_toml(tmp_path):
    multi_line = CHART_STYLE.replace(
        'email_domains = [ "example.com" ]',
        'email_domains = [\n          "example.com",\n          "example.org",\n        ]',
    )
    path = tmp_path / "chart.yaml"
    path.write_text(with_chart_style(multi_line))
    assert import_manifests([str(path)], name="team").config["spec"]["oauth2Proxy"]["emailDomains"] == [
        "example.com",
        "example.org",
    ]


def test_a_config_file_that_is_not_toml_is_reported_with_its_line(tmp_path):
    path = tmp_path / "chart.yaml"
    path.write_text(with_chart_style(CHART_STYLE.replace("cookie_secure = true", "cookie_secure = oops")))
    imported = import_manifests([str(path)], name="team")
    assert "emailDomains" not in imported.config["spec"]["oauth2Proxy"]
    assert any("is not valid TOML" in f.message and "line 4" in f.message for f in imported.findings)
