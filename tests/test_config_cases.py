"""Data-driven config cases: ``tests/cases/valid/*.yaml`` and ``tests/cases/invalid/*.yaml``.

Every valid case must load, render and validate without error findings. Every invalid case is broken
in exactly one way and starts with comment lines that say what must come out::

    # expect: spec.apps[0].host: must be a fully qualified host name
    # secret: s3cr3t-value-must-not-leak
    # xfail: <why meshauth does not do this yet>

``expect:`` is ``<path>: <start of message>`` exactly as ``load_config`` reports the problem (an
empty path, as for YAML syntax errors, is written ``# expect: : <message>``); there may be several.
``secret:`` names a value that must never appear in any message. ``xfail:`` marks a case that shows
a known meshauth problem: its tests are expected to fail (strictly, so a fix is noticed).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import meshauth

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
REPO = HERE.parent
VALID = sorted((CASES / "valid").glob("*.yaml"))
INVALID = sorted((CASES / "invalid").glob("*.yaml"))

MIN_VALID = 10
MIN_INVALID = 35


@dataclass
class Header:
    expect: list[tuple[str, str]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    xfail: str | None = None


def read_header(path: Path) -> Header:
    """The leading ``# key: value`` comment lines of a case file."""
    header = Header()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].strip().partition(":")
        if not sep:
            continue
        value = value.strip()
        if key == "expect":
            where, sep, message = value.partition(": ")
            assert sep and message, f"{path.name}: expect line needs '<path>: <message>': {line!r}"
            header.expect.append((where, message))
        elif key == "secret":
            assert value, f"{path.name}: empty secret line"
            header.secrets.append(value)
        elif key == "xfail":
            header.xfail = value or "known meshauth problem"
    return header


def _params(paths: list[Path]) -> list:
    params = []
    for path in paths:
        xfail = read_header(path).xfail
        marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


# --- the corpus itself -----------------------------------------------------------------------------


def test_corpus_size() -> None:
    assert len(VALID) >= MIN_VALID, f"only {len(VALID)} valid cases in {CASES / 'valid'}"
    assert len(INVALID) >= MIN_INVALID, f"only {len(INVALID)} invalid cases in {CASES / 'invalid'}"


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_case_has_expectations(path: Path) -> None:
    assert read_header(path).expect, f"{path.name} has no '# expect: <path>: <message>' line"


# --- valid cases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _params(VALID))
def test_valid_case(path: Path) -> None:
    bundle = meshauth.render(meshauth.load_config(str(path)))
    errors = [f for f in meshauth.validate(bundle) if f.severity == "error"]
    assert errors == [], "\n".join(str(f) for f in errors)
    assert bundle.to_yaml().strip()


# --- invalid cases ---------------------------------------------------------------------------------


def _describe(problems) -> str:
    return "\n".join(f"  {p.path!r}: {p.message}" for p in problems) or "  (none)"


@pytest.mark.parametrize("path", _params(INVALID))
def test_invalid_case(path: Path) -> None:
    header = read_header(path)
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(str(path))
    error = caught.value
    problems = error.problems
    assert problems, "ConfigError without problems"
    for where, message in header.expect:
        assert any(p.path == where and p.message.startswith(message) for p in problems), (
            f"no problem {where!r}: {message!r}...; got:\n{_describe(problems)}"
        )
    for problem in problems:
        assert problem.file == str(path), f"problem names {problem.file!r}, not the case file"
    text = str(error)
    for secret in header.secrets:
        assert secret not in text, f"secret value echoed in the error:\n{text}"


@pytest.mark.parametrize("path", _params(INVALID))
def test_invalid_case_cli(path: Path, tmp_path: Path) -> None:
    header = read_header(path)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "meshauth", "render", str(path), "-o", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    stderr, stdout = result.stderr, result.stdout
    assert "Traceback" not in stderr, stderr
    assert result.returncode == 1, f"exit code {result.returncode}; stderr:\n{stderr}"
    assert str(path) in stderr, f"stderr does not name the file:\n{stderr}"
    for where, message in header.expect:
        line = ": ".join(part for part in (str(path), where, message) if part)
        assert line in stderr, f"stderr lacks {line!r}:\n{stderr}"
    assert not out.exists(), "render wrote output for an invalid config"
    for secret in header.secrets:
        assert secret not in stdout and secret not in stderr, "secret value echoed by the CLI"
