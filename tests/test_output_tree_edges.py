"""The tree writer at its edges: folder permissions and the process umask, what the user keeps
inside the output (links, their own folders), files adopted because they already hold the
rendered bytes, and Git checkouts or a shell's working folder updated in place.

Each is a behaviour a mutant of meshauth/files/tree.py changed without any test noticing
(tools/mutation.py); see also tests/test_output_writer.py.
"""

from __future__ import annotations

import os
import socket

import pytest

from meshauth.errors import OutputError
from meshauth.files.tree import RECORD, write_tree

FILES = {"a.yaml": "a: 1\n", "apps/b.yaml": "b: 2\n", "apps/deep/c.yaml": "c: 3\n"}


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_folder_gets_the_permissions_the_umask_allows_and_the_umask_is_kept(tmp_path, umask_027):
    out = tmp_path / "out"
    write_tree(out, FILES)
    assert os.stat(out).st_mode & 0o777 == 0o750  # not mkdtemp's private 0700
    assert os.umask(0o027) == 0o027  # the process's umask is as it was


def test_a_file_already_holding_the_rendered_bytes_is_adopted_not_refused(tmp_path):
    out = tmp_path / "out"
    (out / "apps").mkdir(parents=True)
    (out / "apps" / "b.yaml").write_text("b: 2\n")  # e.g. restored from Git without the record
    report = write_tree(out, FILES)
    assert "apps/b.yaml" in report.unchanged
    assert "apps/b.yaml" in (out / RECORD).read_text().splitlines()


def test_a_file_with_other_bytes_that_meshauth_did_not_write_is_refused(tmp_path):
    out = tmp_path / "out"
    (out / "apps").mkdir(parents=True)
    (out / "apps" / "b.yaml").write_text("mine: true\n")
    with pytest.raises(OutputError, match="was not written by meshauth"):
        write_tree(out, FILES)
    assert (out / "apps" / "b.yaml").read_text() == "mine: true\n"


def test_links_the_user_keeps_in_the_output_stay_links_through_a_swap(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.txt").write_text("mine\n")
    (out / "notes").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (out / "readme.txt").symlink_to(tmp_path / "elsewhere" / "notes.txt")
    write_tree(out, {**FILES, "a.yaml": "a: 2\n"})  # a change: the folder is swapped
    assert (out / "notes").is_symlink() and os.readlink(out / "notes") == str(tmp_path / "elsewhere")
    assert (out / "readme.txt").is_symlink()
    assert (tmp_path / "elsewhere" / "notes.txt").read_text() == "mine\n"


def test_a_folder_of_the_user_inside_the_output_is_carried_over_whole(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (out / "apps" / "mine").mkdir()
    (out / "apps" / "mine" / "x.txt").write_text("x\n")
    write_tree(out, {"a.yaml": "a: 2\n"})  # apps/b and apps/deep go; apps/mine stays
    assert (out / "apps" / "mine" / "x.txt").read_text() == "x\n"
    assert not (out / "apps" / "b.yaml").exists() and not (out / "apps" / "deep").exists()


def test_a_git_checkout_loses_stale_files_and_their_empty_folders_in_place(tmp_path):
    out = tmp_path / "checkout"
    write_tree(out, FILES)
    (out / ".git").mkdir()
    folder = os.stat(out).st_ino
    report = write_tree(out, {"a.yaml": "a: 1\n"})
    assert report.removed == ("apps/b.yaml", "apps/deep/c.yaml")
    assert not (out / "apps").exists()  # emptied folders go, up to the output folder
    assert out.is_dir() and os.stat(out).st_ino == folder and (out / ".git").is_dir()


def test_the_working_folder_is_updated_in_place(tmp_path, monkeypatch):
    """`meshauth render -o .`: a shell in the folder must not be left in a swapped-out copy."""
    out = tmp_path / "out"
    write_tree(out, FILES)
    folder = os.stat(out).st_ino
    monkeypatch.chdir(out)
    write_tree(out, {**FILES, "a.yaml": "a: 2\n"})
    assert os.stat(out).st_ino == folder and (out / "a.yaml").read_text() == "a: 2\n"


def test_a_folder_holding_the_working_folder_is_updated_in_place(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_tree(out, FILES)
    folder = os.stat(out).st_ino
    monkeypatch.chdir(out / "apps" / "deep")
    write_tree(out, {**FILES, "a.yaml": "a: 2\n"})
    assert os.stat(out).st_ino == folder and (out / "a.yaml").read_text() == "a: 2\n"


def test_an_output_folder_that_is_a_link_is_refused_or_updated_in_place_never_swapped(tmp_path):
    real = tmp_path / "real"
    write_tree(real, FILES)
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    try:
        write_tree(link, {**FILES, "a.yaml": "a: 2\n"})
    except OutputError:
        assert (real / "a.yaml").read_text() == "a: 1\n"
    else:
        assert link.is_symlink() and (real / "a.yaml").read_text() == "a: 2\n"


def test_a_record_line_through_a_file_is_not_a_link(tmp_path):
    """A record entry below a regular file names nothing on disk: it is simply not there."""
    out = tmp_path / "out"
    write_tree(out, FILES)
    with (out / RECORD).open("a") as record:
        record.write("a.yaml/below.yaml\n")
    report = write_tree(out, FILES)
    assert report.removed == () and (out / "a.yaml").read_text() == "a: 1\n"


def test_a_record_line_through_a_linked_folder_deep_down_is_refused(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "v.yaml").write_text("v\n")
    (out / "apps" / "deep" / "link").symlink_to(tmp_path / "victim", target_is_directory=True)
    with (out / RECORD).open("a") as record:
        record.write("apps/deep/link/v.yaml\n")
    with pytest.raises(OutputError, match="symbolic link apps/deep/link"):
        write_tree(out, {"a.yaml": "a: 1\n"})
    assert (tmp_path / "victim" / "v.yaml").read_text() == "v\n"


def test_an_empty_folder_of_the_output_is_never_removed_when_the_output_folder_itself_empties(tmp_path):
    out = tmp_path / "checkout"
    write_tree(out, {"only/one.yaml": "x: 1\n"})
    (out / ".git").mkdir()
    write_tree(out, {"top.yaml": "t: 1\n"})
    assert out.is_dir() and not (out / "only").exists()


# --- what meshauth cannot read -------------------------------------------------------------------------


def test_a_record_that_cannot_be_opened_stops_the_run_and_says_why(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)  # a socket's path must be short: bind it by its relative name
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(RECORD)
        with pytest.raises(OutputError) as raised:
            write_tree(out, FILES)
    assert raised.value.problems[0].message.startswith("cannot be read (")
    assert not (out / "a.yaml").exists()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc/self/fd")
def test_refusing_a_record_that_is_not_a_file_leaves_no_file_open(tmp_path):
    out = tmp_path / "out"
    (out / RECORD).mkdir(parents=True)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(OutputError, match="is not a regular file"):
            write_tree(out, FILES)
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_recorded_file_meshauth_cannot_read_is_rewritten_not_reported_unchanged(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_tree(out, FILES)
    unreadable = str(out / "a.yaml")
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):  # root reads anything: refuse as for a user
        if os.fspath(path) == unreadable:
            raise PermissionError(13, "Permission denied", unreadable)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    report = write_tree(out, FILES)
    assert report.written == ("a.yaml",) and "a.yaml" not in report.unchanged
    monkeypatch.undo()
    assert (out / "a.yaml").read_text() == "a: 1\n"


def test_an_output_folder_reached_through_a_link_still_refuses_a_link_inside_it(tmp_path):
    real, elsewhere = tmp_path / "real", tmp_path / "elsewhere"
    real.mkdir()
    elsewhere.mkdir()
    (real / "apps").symlink_to(elsewhere, target_is_directory=True)
    out = tmp_path / "out"
    out.symlink_to(real, target_is_directory=True)
    with pytest.raises(OutputError) as raised:
        write_tree(out, FILES)
    assert "is a symbolic link on the way to apps/b.yaml" in raised.value.problems[0].message
    assert list(elsewhere.iterdir()) == [] and not (real / "a.yaml").exists()


def test_where_hard_links_are_refused_a_change_is_still_written_in_place(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_tree(out, FILES)
    folder = os.stat(out).st_ino

    def no_hard_links(*args, **kwargs):  # a file system without hard links (EPERM), e.g. some FUSE
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)
    report = write_tree(out, {**FILES, "a.yaml": "a: 2\n"})
    assert report.written == ("a.yaml",)
    assert (out / "a.yaml").read_text() == "a: 2\n" and (out / "apps" / "b.yaml").read_text() == "b: 2\n"
    assert os.stat(out).st_ino == folder  # updated file by file, not swapped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staged folder left beside it


def test_a_git_checkout_updated_in_place_never_holds_a_staged_folder(tmp_path, monkeypatch):
    """`git add -A` or `kubectl apply -R` run in the checkout meanwhile must not pick up staged files."""
    out = tmp_path / "checkout"
    write_tree(out, FILES)
    (out / ".git").mkdir()
    seen: list[list[str]] = []
    real_replace = os.replace

    def watching_replace(source, target, *args, **kwargs):
        seen.append(sorted(os.listdir(out)))
        assert not os.fspath(source).startswith(str(out) + os.sep), source  # staged beside it
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", watching_replace)
    write_tree(out, {**FILES, "a.yaml": "a: 2\n"})
    assert seen and all(names == [".git", RECORD, "a.yaml", "apps"] for names in seen)
    assert (out / "a.yaml").read_text() == "a: 2\n"


def test_a_linked_output_folder_keeps_what_meshauth_0_1_left_inside_the_linked_folder(tmp_path):
    """meshauth removes only the link itself, never through it: an old staging folder inside the
    folder a link points at stays (it is cleaned only where the output is a real folder)."""
    real = tmp_path / "real"
    write_tree(real, FILES)
    (real / ".meshauth-staging.abc").mkdir()
    (real / ".meshauth-staging.abc" / "a.yaml").write_text("a: 0\n")
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    write_tree(link, {**FILES, "a.yaml": "a: 2\n"})
    assert (real / ".meshauth-staging.abc" / "a.yaml").read_text() == "a: 0\n"
    write_tree(real, FILES)
    assert not (real / ".meshauth-staging.abc").exists()


def test_an_old_staging_folder_that_cannot_be_removed_does_not_stop_the_write(tmp_path, monkeypatch):
    """What meshauth 0.1 left inside the output may hold another user's files: it stays, and the
    output is written all the same."""
    out = tmp_path / "out"
    write_tree(out, FILES)
    (out / ".meshauth-staging.abc").mkdir()
    (out / ".meshauth-staging.abc" / "a.yaml").write_text("a: 0\n")

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rmdir", refused)
    monkeypatch.setattr(os, "unlink", refused)
    report = write_tree(out, {**FILES, "a.yaml": "a: 2\n"})
    monkeypatch.undo()
    assert report.written == ("a.yaml",) and (out / "a.yaml").read_text() == "a: 2\n"


def test_a_mount_point_is_updated_in_place_staged_inside_it_and_nothing_is_left_there(tmp_path, monkeypatch):
    """A folder on its own file system cannot be swapped or staged beside: the staged files go
    inside it (a folder meshauth removes whatever happens) and are moved into place."""
    out = tmp_path / "mounted"
    write_tree(out, FILES)
    folder = os.stat(out).st_ino
    real_stat, real_replace = os.stat, os.replace

    def own_device(path, *args, **kwargs):  # out as a mount point: another st_dev than its parent
        result = real_stat(path, *args, **kwargs)
        if os.fspath(path) == str(out):
            fields = list(result)
            fields[2] += 1  # st_dev
            return os.stat_result(fields)
        return result

    staged: list[str] = []

    def watching_replace(source, target, *args, **kwargs):
        staged.append(os.path.relpath(os.fspath(source), out).split(os.sep)[0])
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", own_device)
    monkeypatch.setattr(os, "replace", watching_replace)
    report = write_tree(out, {**FILES, "a.yaml": "a: 2\n"})
    monkeypatch.undo()
    assert report.written == ("a.yaml",) and (out / "a.yaml").read_text() == "a: 2\n"
    assert os.stat(out).st_ino == folder  # in place, not swapped
    assert staged and all(name.startswith(".meshauth-staging.") for name in staged)
    assert sorted(os.listdir(out)) == [RECORD, "a.yaml", "apps"]
    assert sorted(os.listdir(tmp_path)) == ["mounted"]
