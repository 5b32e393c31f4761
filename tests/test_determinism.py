"""The same config gives the same bytes: across runs, hash seeds and input key order."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
import yaml
from conftest import EXAMPLES, ROOT

import meshauth


def _shuffled(value, rng):
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_input_key_order_does_not_matter(example):
    data = yaml.safe_load(example.read_text())
    expected = meshauth.render(data)
    for seed in range(5):
        shuffled = meshauth.render(_shuffled(data, random.Random(seed)))
        assert shuffled.to_yaml() == expected.to_yaml()
        assert shuffled.mesh_config_yaml() == expected.mesh_config_yaml()
        assert shuffled.files() == expected.files()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_same_bytes_across_processes_and_hash_seeds(example):
    outputs = set()
    for hash_seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-m", "meshauth", "render", str(example)],
            capture_output=True,
            env=env,
            check=True,
            cwd=ROOT,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    assert outputs.pop() == meshauth.render(example).to_yaml().encode()


def test_render_does_not_change_its_input():
    data = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
    before = yaml.safe_dump(data)
    meshauth.render(data)
    assert yaml.safe_dump(data) == before
