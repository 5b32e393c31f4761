"""tools/upstream_data.py: the upstream reference data comes from the Go module proxy at pinned
versions, and a zip whose go.sum hash differs from the pin is refused (nothing written)."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location("upstream_data", ROOT / "tools" / "upstream_data.py")
assert spec and spec.loader
upstream_data = importlib.util.module_from_spec(spec)
sys.modules["upstream_data"] = upstream_data
spec.loader.exec_module(upstream_data)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_h1_is_go_s_dirhash_of_the_zip():
    # golang.org/x/mod/sumdb/dirhash Hash1: sha256 over "sha256hex  name\n" lines, sorted by name
    data = _zip({"m@v1.0.0/b.txt": b"b\n", "m@v1.0.0/a.txt": b"a\n"})
    import base64
    import hashlib

    lines = "".join(
        f"{hashlib.sha256(c).hexdigest()}  {n}\n"
        for n, c in [("m@v1.0.0/a.txt", b"a\n"), ("m@v1.0.0/b.txt", b"b\n")]
    )
    assert (
        upstream_data.h1(data) == "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()
    )


def test_the_pinned_sum_of_a_cached_zip_is_checked(tmp_path, monkeypatch):
    cached = fetched_zip()
    if cached is None:
        pytest.skip("no fetched module zip in .cache/upstream/zips (run python tools/upstream_data.py)")
    module, version, path = cached
    assert upstream_data.h1(path.read_bytes()) == upstream_data.SUMS[(module, version)]


def fetched_zip() -> tuple[str, str, Path] | None:
    for (module, version), _ in sorted(upstream_data.SUMS.items()):
        path = (
            upstream_data.CACHE / "zips" / f"{upstream_data._escape(module).replace('/', '+')}@{version}.zip"
        )
        if path.is_file() and module == upstream_data.ISTIO:
            return module, version, path
    return None


def test_a_zip_that_does_not_match_its_pin_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(upstream_data, "CACHE", tmp_path)
    monkeypatch.setitem(upstream_data.SUMS, ("example.com/m", "v1.0.0"), "h1:pinned")
    forged = _zip({"example.com/m@v1.0.0/x.yaml": b"kind: CustomResourceDefinition\n"})

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(upstream_data.urllib.request, "urlopen", lambda url, timeout: Response(forged))
    with pytest.raises(upstream_data.FetchError, match="checksum mismatch .* refused"):
        upstream_data.module_zip("example.com/m", "v1.0.0")
    assert not (tmp_path / "zips").exists()


def test_offline_reports_an_incomplete_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(upstream_data, "REF", tmp_path / "ref")
    monkeypatch.setattr(upstream_data, "ROOT", tmp_path)
    assert upstream_data.main(["--offline"]) == 2
    assert "run python tools/upstream_data.py" in capsys.readouterr().err
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "pins.json").write_text(json.dumps(upstream_data.pins()))
    assert upstream_data.main(["--offline"]) == 0


def test_module_paths_with_capitals_are_escaped_as_the_proxy_wants():
    assert upstream_data._escape("github.com/BurntSushi/toml") == "github.com/!burnt!sushi/toml"


def test_the_proxy_flags_come_from_flagset_calls_and_cfg_tags():
    source = b"""package options
// Can be set as `flag:"foo-bar" cfg:"foo_bar"` (a doc comment, not a flag)
type Options struct {
    EmailDomains []string `flag:"email-domain" cfg:"email_domains"`
}
func NewFlagSet() { flagSet.StringSlice("email-domain", []string{}, "help"); flagSet.Bool("skip", false, "") }
"""
    archive = zipfile.ZipFile(io.BytesIO(_zip({"m@v7.0.0/pkg/apis/options/options.go": source})))
    assert upstream_data.proxy_flags(archive, "m@v7.0.0/") == {
        "email-domain": ["OAUTH2_PROXY_EMAIL_DOMAINS"],
        "skip": [],
    }
