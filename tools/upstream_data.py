"""Fetch the upstream reference data the tests read (CRDs, oauth2-proxy's flags per release) into
``.cache/upstream/ref`` (git-ignored), from the Go module proxy, at pinned versions and checksums.

Usage: ``python tools/upstream_data.py [--offline]`` (CI runs it before the tests). Each module's zip
comes from ``$GOPROXY`` (default https://proxy.golang.org), is checked against the ``h1:`` sum pinned
below (the go.sum hash: the sum database's value for that module version, so a changed or
substituted zip is refused), and the listed files are copied out byte for byte. The result has the
layout of the shared ``ref`` folder, so tests read either (tests/upstream.py ``ref_dir``):

* ``crds/*.yaml``: the newest pinned release of each project; ``crds/released/*.yaml``: the older
  release the hand-written schemas must cover too, where it differs; ``crds/istio/`` every served
  Istio API release (1.24, 1.30, 1.31, 1.32), for the per-version checks;
* ``oauth2-proxy/flags-by-version.json``: ``{version: {flag: [env vars]}}`` for every oauth2-proxy v7
  release the proxy serves, read from each release's Go source (the ``FlagSet.<Type>("name", ...)``
  calls and the ``flag:"..." cfg:"..."`` struct tags that bind ``OAUTH2_PROXY_<CFG>``).

Not in any registry meshauth reaches: Flux's HelmRelease CRD (helm-controller publishes only its
``api`` Go module, without the CRD); tests that need it use ../shared/ref when present.

Exit status: 0 when the data is complete, 1 when a download or checksum failed (message on stderr),
2 with ``--offline`` when the cache is incomplete. Nothing outside ``.cache/upstream`` is written;
a fetch writes to a temporary folder and renames it into place, so a failed run leaves the old data.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "upstream"
REF = CACHE / "ref"
STAMP = "pins.json"  # written last: its presence (with the same pins) marks a complete fetch

# module -> version -> h1 sum (go.sum), and which files to take: (path in module, path in ref)
ISTIO = "istio.io/api"
ISTIO_CRDS = "kubernetes/customresourcedefinitions.gen.yaml"
CERT_MANAGER = "github.com/cert-manager/cert-manager"
GATEWAY_API = "sigs.k8s.io/gateway-api"
ARGO_CD = "github.com/argoproj/argo-cd/v3"
KUSTOMIZE = "github.com/fluxcd/kustomize-controller"
SOURCE = "github.com/fluxcd/source-controller"
EXTERNAL_SECRETS = "github.com/external-secrets/external-secrets"
SEALED_SECRETS = "github.com/bitnami-labs/sealed-secrets"
OAUTH2_PROXY = "github.com/oauth2-proxy/oauth2-proxy/v7"

SUMS: dict[tuple[str, str], str] = {
    (ISTIO, "v1.24.2"): "h1:jYjcN6Iq0RPtQj/3KMFsybxmfqmjGN/dxhL7FGJEdIM=",
    (ISTIO, "v1.30.8"): "h1:/weRNO9YbJsKqFibiGCjXG1i+UwNhJb3vts6ChGR554=",
    (ISTIO, "v1.31.4"): "h1:AcnncYrlDj1PJkym7h88Gggkef4MAra8QpGaXRMsr+E=",
    (ISTIO, "v1.32.0"): "h1:37mJvg9I0biYZAEQF+MATs4FNeCpXEIVO3LFpVb6iNM=",
    (CERT_MANAGER, "v1.21.1"): "h1:0LttV37Q5c2CBNoHkjuI8sLKTXWZDC2SwQkxrBMKV9w=",
    (CERT_MANAGER, "v1.21.2"): "h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68=",
    (GATEWAY_API, "v1.6.1"): "h1:mock6phZbI6rvZerwrVNk7hVNymQgHo+6sJ81Ia7ftY=",
    (ARGO_CD, "v3.5.1"): "h1:jtwPLEFX9mNj3jSq88ugFcScGnOZVs2DWaXFuZxrRT8=",
    (ARGO_CD, "v3.6.2"): "h1:t6RQrVV4hg9M0+lPMsUvi9e4RnYV9dE99/guXGxG6Lc=",
    (KUSTOMIZE, "v1.9.5"): "h1:/XY2zy3K7fntyppEXIHG7oRMzmfgIt50eJzUfaPX1Kc=",
    (SOURCE, "v1.9.5"): "h1:MFPyCodUi9hZIMaKDsC/rYbNoyzpvrAdrPVixj7W9F0=",
    (EXTERNAL_SECRETS, "v1.3.2"): "h1:u2J8RjlHIeF0oZCqtl92adI/uZWUwOesJIDkfql6LqQ=",
    (SEALED_SECRETS, "v0.40.0"): "h1:rvCP35JL8ZV5LNA2SrwNR6iLyoM3ulrSFWN0lBtYEYI=",
    (OAUTH2_PROXY, "v7.0.1"): "h1:pRqNK7UbWXiZG5GxJGBSvpoNQFq6ClGDuUb/CSNzSVY=",
    (OAUTH2_PROXY, "v7.1.3"): "h1:2d4nxXBOPRecFBYWW1XmTgDxvGVyzlZm1WLrSI6gxoI=",
    (OAUTH2_PROXY, "v7.2.0"): "h1:wX8eUKdbiXjkuG9T/VRawcmFIIQozioNonrmhUwjF/w=",
    (OAUTH2_PROXY, "v7.2.1"): "h1:BAXTRc/d36YXdlNeicqijMYgP7ksbDxu9CIgeCCZY9s=",
    (OAUTH2_PROXY, "v7.3.0"): "h1:qUtIC2m1u/sHqVv2yQcWY366xhknVdDl7eMSR8gF92k=",
    (OAUTH2_PROXY, "v7.4.0"): "h1:Eel3ccnUehbUDd+meo6stUApGOE68l8vJW/3fySnj8k=",
    (OAUTH2_PROXY, "v7.5.1"): "h1:zu+o5Zk0MJxeZTAKhgybBVm6GZwI6D8CD0WzCR8sESQ=",
    (OAUTH2_PROXY, "v7.6.0"): "h1:hB759i/hkrFxoLQxpmGpslmm80hChOA8LQ3VM+2pRS0=",
    (OAUTH2_PROXY, "v7.7.1"): "h1:4f8k/5E1jPUlwiOw0wmmca37PPohe0MeSreDfpP+HCo=",
    (OAUTH2_PROXY, "v7.8.1"): "h1:1CMjAm6m3I3uFuyrCI8PIQtPkYKnoNsgMHTcBXXSSL8=",
    (OAUTH2_PROXY, "v7.15.2"): "h1:2oxzoBJTOgYgOS5hJZjtdGgt5IE9vNWXqI9LkJBw7OA=",
    (OAUTH2_PROXY, "v7.15.3"): "h1:1xu2YmysGLrrk4F37HFARKqqM+w1R+V8icYUyEUZJ/4=",
    (OAUTH2_PROXY, "v7.15.6"): "h1:4xZOFvyGysSUxdrEVyLjo+NduqGHbGV9bLE8XD49IJM=",
}

CERT = "deploy/crds/cert-manager.io_{}.yaml"
GW = "config/crd/standard/gateway.networking.k8s.io_{}.yaml"
CRDS: list[tuple[str, str, str, str]] = [  # module, version, path in module, path under ref/crds
    (ISTIO, "v1.32.0", ISTIO_CRDS, "istio-crds.yaml"),
    (ISTIO, "v1.30.8", ISTIO_CRDS, "released/istio-crds-1.30.8.yaml"),
    *(
        (ISTIO, v, ISTIO_CRDS, f"istio/istio-crds-{v[1:]}.yaml")
        for v in ("v1.24.2", "v1.30.8", "v1.31.4", "v1.32.0")
    ),
    *(
        (CERT_MANAGER, "v1.21.2", CERT.format(k), f"cert-manager-{k}.yaml")
        for k in ("certificates", "clusterissuers", "issuers")
    ),
    *(
        (CERT_MANAGER, "v1.21.1", CERT.format(k), f"released/cert-manager-v1.21.1-{k}.yaml")
        for k in ("certificates", "clusterissuers", "issuers")
    ),
    *(
        (GATEWAY_API, "v1.6.1", GW.format(k), f"gateway-api-standard-{k}.yaml")
        for k in ("gateways", "httproutes", "gatewayclasses", "referencegrants")
    ),
    *(
        (GATEWAY_API, "v1.6.1", GW.format(k), f"released/gateway-api-v1.6.1-standard-{k}.yaml")
        for k in ("gateways", "httproutes", "gatewayclasses", "referencegrants")
    ),
    (ARGO_CD, "v3.6.2", "manifests/crds/application-crd.yaml", "argocd-application-crd.yaml"),
    (ARGO_CD, "v3.5.1", "manifests/crds/application-crd.yaml", "released/argocd-v3.5.1-application-crd.yaml"),
    (
        KUSTOMIZE,
        "v1.9.5",
        "config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
        "flux-kustomize-controller-kustomizations.yaml",
    ),
    *(
        (
            SOURCE,
            "v1.9.5",
            f"config/crd/bases/source.toolkit.fluxcd.io_{k}.yaml",
            f"flux-source-controller-{k}.yaml",
        )
        for k in ("gitrepositories", "helmrepositories")
    ),
    (
        EXTERNAL_SECRETS,
        "v1.3.2",
        "config/crds/bases/external-secrets.io_externalsecrets.yaml",
        "external-secrets-externalsecrets.yaml",
    ),
    (
        SEALED_SECRETS,
        "v0.40.0",
        "helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml",
        "sealed-secrets-sealedsecrets.yaml",
    ),
]

_FLAG_CALL = re.compile(r'\b\w*[fF]lag[sS]et\.[A-Z]\w*\(\s*"([a-z0-9][a-z0-9-]*)"')
_TAG = re.compile(r"`[^`]*`")
_TAG_FLAG = re.compile(r'\bflag:"([a-z0-9-]+)"')
_TAG_CFG = re.compile(r'\bcfg:"([a-z0-9_]+)"')


class FetchError(Exception):
    pass


def h1(zip_bytes: bytes) -> str:
    """The go.sum ``h1:`` hash of a module zip (golang.org/x/mod/sumdb/dirhash Hash1)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        names = sorted(archive.namelist())
        lines = "".join(f"{hashlib.sha256(archive.read(n)).hexdigest()}  {n}\n" for n in names)
    return "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()


def _escape(module: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module)


def _proxy() -> str:
    for entry in re.split(r"[,|]", os.environ.get("GOPROXY") or "https://proxy.golang.org"):
        if entry.startswith(("http://", "https://")):
            return entry.rstrip("/")
    return "https://proxy.golang.org"


def module_zip(module: str, version: str) -> zipfile.ZipFile:
    """The module zip, from ``.cache/upstream/zips`` or the proxy, checked against its pinned sum."""
    expected = SUMS[(module, version)]
    local = CACHE / "zips" / f"{_escape(module).replace('/', '+')}@{version}.zip"
    data = local.read_bytes() if local.is_file() else None
    if data is None or h1(data) != expected:
        url = f"{_proxy()}/{_escape(module)}/@v/{version}.zip"
        try:
            with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (https proxy)
                data = response.read()
        except OSError as error:
            raise FetchError(f"{module}@{version}: cannot download {url}: {error}") from error
        actual = h1(data)
        if actual != expected:
            raise FetchError(
                f"{module}@{version}: checksum mismatch (got {actual}, pinned {expected}); refused"
            )
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
    return zipfile.ZipFile(io.BytesIO(data))


def proxy_flags(archive: zipfile.ZipFile, prefix: str) -> dict[str, list[str]]:
    """Every flag one oauth2-proxy release defines, with the env vars its ``cfg`` tag binds."""
    flags: dict[str, set[str]] = {}
    bound: dict[str, set[str]] = {}
    for name in sorted(archive.namelist()):
        relative = name[len(prefix) :]
        if not relative.endswith(".go") or relative.endswith("_test.go"):
            continue
        if "/" in relative and not relative.startswith("pkg/apis/options/"):
            continue
        source = archive.read(name).decode("utf-8", "replace")
        for match in _FLAG_CALL.finditer(source):
            flags.setdefault(match.group(1), set())
        for tag in _TAG.findall(source):
            flag, cfg = _TAG_FLAG.search(tag), _TAG_CFG.search(tag)
            if flag and cfg:
                bound.setdefault(flag.group(1), set()).add("OAUTH2_PROXY_" + cfg.group(1).upper())
    # a tag binds an env var only for a flag some FlagSet defines (doc comments show examples)
    return {flag: sorted(bound.get(flag, ())) for flag in sorted(flags)}


def pins() -> dict[str, object]:
    return {
        "sums": {f"{m}@{v}": s for (m, v), s in sorted(SUMS.items())},
        "crds": [list(entry) for entry in CRDS],
    }


def is_complete(ref: Path | None = None) -> bool:
    stamp = (ref or REF) / STAMP
    return stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == json.loads(json.dumps(pins()))


def fetch() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ref-", dir=CACHE))
    try:
        for module, version, source, target in CRDS:
            archive = module_zip(module, version)
            path = work / "crds" / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(f"{module}@{version}/{source}"))
        by_version = {
            version: proxy_flags(module_zip(module, version), f"{module}@{version}/")
            for module, version in sorted(SUMS, key=lambda mv: tuple(int(p) for p in mv[1][1:].split(".")))
            if module == OAUTH2_PROXY
        }
        (work / "oauth2-proxy").mkdir()
        (work / "oauth2-proxy" / "flags-by-version.json").write_text(
            json.dumps(by_version, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        (work / STAMP).write_text(json.dumps(pins(), indent=1) + "\n", encoding="utf-8")
        old = CACHE / "ref.old"
        shutil.rmtree(old, ignore_errors=True)
        if REF.exists():
            REF.rename(old)
        work.rename(REF)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="only check that the cache is complete")
    args = parser.parse_args(argv)
    if is_complete():
        print(f"upstream data: {REF.relative_to(ROOT)} is complete")
        return 0
    if args.offline:
        print(
            f"upstream data: {REF.relative_to(ROOT)} is incomplete; run python tools/upstream_data.py",
            file=sys.stderr,
        )
        return 2
    try:
        fetch()
    except FetchError as error:
        print(f"upstream data: {error}", file=sys.stderr)
        return 1
    print(f"upstream data: fetched into {REF.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
