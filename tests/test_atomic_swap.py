"""How meshauth puts a folder or a file in place (meshauth/files/atomicwrite.py), including on a
system whose kernel cannot swap two folders in one step (macOS, an old glibc, a file system without
RENAME_EXCHANGE): a reader sees the old folder or the new one, and nothing is left behind.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest

from meshauth.files import atomicwrite
from meshauth.files.tree import RECORD, write_tree

OLD = {"a.yaml": "a: 1\n", "apps/b.yaml": "b: 1\n"}
NEW = {"a.yaml": "a: 2\n", "apps/c.yaml": "c: 1\n"}


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _folder(path, files):
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


@pytest.fixture(params=["linux", "darwin"])
def platform(request, monkeypatch):
    monkeypatch.setattr(sys, "platform", request.param)
    return request.param


def test_a_swap_puts_the_new_folder_in_place_and_the_old_one_where_the_new_was(tmp_path, platform):
    root, stage = _folder(tmp_path / "out", OLD), _folder(tmp_path / ".out.meshauth-new.k3", NEW)
    atomicwrite.swap_folders(stage, root)
    assert _tree(root) == NEW and _tree(stage) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.meshauth-new.k3", "out"]


def test_an_update_on_a_system_that_cannot_swap_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    out = tmp_path / "out"
    write_tree(out, OLD)
    (out / "apps" / "mine.txt").write_text("mine\n")  # not meshauth's: an update keeps it
    report = write_tree(out, NEW)
    assert report.removed == ("apps/b.yaml",)
    files = _tree(out)
    assert {name: files[name] for name in NEW} == NEW and files["apps/mine.txt"] == "mine\n"
    assert "apps/b.yaml" not in files and RECORD in files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("error", [errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP])
def test_a_file_system_that_cannot_swap_falls_back_to_two_renames(tmp_path, monkeypatch, error):
    calls = []

    class Libc:
        def renameat2(self, *args):
            calls.append(args[4])
            return -1

    monkeypatch.setattr(atomicwrite.ctypes, "CDLL", lambda *a, **k: Libc())
    monkeypatch.setattr(atomicwrite.ctypes, "get_errno", lambda: error)
    root, stage = _folder(tmp_path / "out", OLD), _folder(tmp_path / ".out.meshauth-new.k3", NEW)
    atomicwrite.swap_folders(stage, root)
    assert calls == [2]  # RENAME_EXCHANGE was asked for
    assert _tree(root) == NEW and _tree(stage) == OLD


def test_any_other_swap_failure_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    class Libc:
        def renameat2(self, *args):
            return -1

    monkeypatch.setattr(atomicwrite.ctypes, "CDLL", lambda *a, **k: Libc())
    monkeypatch.setattr(atomicwrite.ctypes, "get_errno", lambda: errno.EACCES)
    root, stage = _folder(tmp_path / "out", OLD), _folder(tmp_path / ".out.meshauth-new.k3", NEW)
    with pytest.raises(PermissionError) as raised:
        atomicwrite.swap_folders(stage, root)
    assert raised.value.filename == str(root)
    assert _tree(root) == OLD and _tree(stage) == NEW  # nothing moved


def test_the_linux_kernel_swaps_in_one_step_without_a_rename(tmp_path, monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux's")

    def no_rename(*args):
        raise AssertionError("a rename leaves a moment with no folder at the path")

    monkeypatch.setattr(atomicwrite.os, "rename", no_rename)
    root, stage = _folder(tmp_path / "out", OLD), _folder(tmp_path / "stage", NEW)
    atomicwrite.swap_folders(stage, root)
    assert _tree(root) == NEW and _tree(stage) == OLD
    monkeypatch.chdir(tmp_path)  # relative paths are read from the working folder
    atomicwrite.swap_folders(Path("stage"), Path("out"))
    assert _tree(root) == OLD and _tree(stage) == NEW


def test_leftovers_of_another_folder_beside_it_are_not_touched(tmp_path):
    root = _folder(tmp_path / "out", OLD)
    other = [
        _folder(tmp_path / ".other.meshauth-new.x", {"f": "1"}),
        _folder(tmp_path / ".other.meshauth-old.y", {"f": "2"}),
    ]
    (tmp_path / ".out.meshauth-new.link").symlink_to(tmp_path / "out")  # a link is not a staging folder
    _folder(tmp_path / ".out.meshauth-new.zz", {"half": "x"})
    _folder(tmp_path / ".out.meshauth-old.zz", {"older": "x"})  # root exists: this is a stale copy
    atomicwrite.leftovers(root)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".other.meshauth-new.x",
        ".other.meshauth-old.y",
        ".out.meshauth-new.link",
        "out",
    ]
    assert all(_tree(p) for p in other) and _tree(root) == OLD


def test_leftovers_of_a_folder_in_a_missing_parent_are_nothing(tmp_path):
    atomicwrite.leftovers(tmp_path / "missing" / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_staging_folder_is_removed_whatever_happens(tmp_path):
    with pytest.raises(RuntimeError), atomicwrite.staging_folder(tmp_path, ".out.meshauth-new.") as stage:
        (stage / "half.yaml").write_text("x")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_files_are_moved_in_the_order_given_into_folders_created_on_the_way(tmp_path):
    stage = _folder(
        tmp_path / "stage", {"z/last": "1", "a/first": "2", "a/second": "3", "top": "4", "d/e/f": "5"}
    )
    root = _folder(tmp_path / "root", {"z/old": "0"})
    atomicwrite.move_into_place(stage, root, ["z/last", "a/first", "a/second", "top", "d/e/f"])
    assert _tree(root) == {
        "a/first": "2",
        "a/second": "3",
        "d/e/f": "5",
        "top": "4",
        "z/last": "1",
        "z/old": "0",
    }
    assert _tree(stage) == {}


def test_a_link_named_like_a_moved_aside_folder_never_becomes_the_output_folder(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / ".out.meshauth-old.x").symlink_to(tmp_path / "elsewhere")
    atomicwrite.leftovers(tmp_path / "out")
    assert not (tmp_path / "out").exists() and (tmp_path / ".out.meshauth-old.x").is_symlink()


def test_what_cannot_be_cleaned_up_does_not_stop_the_next_write(tmp_path, monkeypatch):
    """A stale copy meshauth may not remove (another user's files, a read-only mount) stays."""
    root = _folder(tmp_path / "out", OLD)
    _folder(tmp_path / ".out.meshauth-old.zz", {"older": "x"})
    _folder(tmp_path / ".out.meshauth-new.zz", {"half": "x"})

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomicwrite.os, "rmdir", refused)
    atomicwrite.leftovers(root)
    monkeypatch.undo()
    assert _tree(root) == OLD


def test_an_old_libc_without_renameat2_falls_back_to_two_renames(tmp_path, monkeypatch):
    monkeypatch.setattr(atomicwrite.ctypes, "CDLL", lambda *a, **k: object())  # glibc before 2.28
    root, stage = _folder(tmp_path / "out", OLD), _folder(tmp_path / ".out.meshauth-new.k3", NEW)
    atomicwrite.swap_folders(stage, root)
    assert _tree(root) == NEW and _tree(stage) == OLD


def test_a_folder_gone_before_the_swap_is_named_in_the_error(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux's")
    stage = _folder(tmp_path / "stage", NEW)
    with pytest.raises(FileNotFoundError) as raised:
        atomicwrite.swap_folders(stage, tmp_path / "gone")
    assert raised.value.filename == str(tmp_path / "gone") and _tree(stage) == NEW
