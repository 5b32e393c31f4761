"""The collector pause restores the caller's state, also when the work fails."""

from __future__ import annotations

import gc

import pytest

from meshauth._util import gcpause


def test_pause_disables_and_restores():
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_restores_after_an_error():
    with pytest.raises(RuntimeError):
        with gcpause.paused():
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_pause_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
