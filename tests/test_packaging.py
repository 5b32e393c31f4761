"""A built wheel carries templates/ and schemas/ and renders from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stderr[-2000:]}")
    (path,) = out.glob("meshauth-*.whl")
    return path


def test_wheel_ships_templates_and_schemas(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (ROOT / "templates").glob("*.j2")}
    assert {f"meshauth/_data/templates/{t}" for t in templates} <= names
    assert "meshauth/_data/schemas/meshauth.schema.json" in names
    crd_schemas = {p.name for p in (ROOT / "schemas" / "crds").glob("*.json")}
    assert crd_schemas and {f"meshauth/_data/schemas/crds/{c}" for c in crd_schemas} <= names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "meshauth = meshauth.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_renders_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import meshauth, meshauth._util.resources as r; "
            "print(meshauth.__file__); print(r.data_dir('templates'))",
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        check=True,
    ).stdout.split()
    assert probe[0].startswith(str(site)) and probe[1].startswith(str(site))
    result = subprocess.run(
        [sys.executable, "-m", "meshauth", "render", str(ROOT / "examples" / "seed.yaml")],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "kind: AuthorizationPolicy" in result.stdout
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshauth",
            "validate",
            "--manifests",
            str(ROOT / "tests" / "manifests" / "bad" / "MA010-host-not-on-gateway.yaml"),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
    )
    assert checked.returncode == 1 and "MA010" in checked.stdout, checked.stderr
    script = site / "bin" / "meshauth"
    assert script.is_file()
