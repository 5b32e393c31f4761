"""What the tree writer promises, on small trees: exact reports, the record read strictly and
written last, stale files and only they removed, nothing of a killed run left behind.

tests/test_output.py, test_atomic_update.py and test_record_confinement.py prove the same on
rendered bundles and real kills; these pin the edges a mutation of meshauth/files/tree.py slipped
past (tools/mutation.py).
"""

from __future__ import annotations

import os

import pytest

from meshauth.errors import OutputError
from meshauth.files import atomicwrite
from meshauth.files.tree import RECORD, kind, read_record, read_regular, write_tree

FILES = {"a.yaml": "a: 1\n", "apps/b.yaml": "b: 2\n", "apps/deep/c.yaml": "c: 3\n"}


def _tree(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.mark.parametrize("name", ["../escape.yaml", "/etc/escape.yaml", "apps/../../escape.yaml", RECORD])
def test_a_generated_name_outside_the_folder_is_a_bug_caught_before_anything_is_written(tmp_path, name):
    with pytest.raises(AssertionError, match="unsafe output path"):
        write_tree(tmp_path / "out", {"a.yaml": "a: 1\n", name: "x: 1\n"})
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.yaml").exists()


def test_an_output_folder_in_folders_that_do_not_exist_yet_is_created(tmp_path):
    out = tmp_path / "new" / "deeper" / "out"
    write_tree(out, FILES)
    assert _tree(out) == {**{p: t.encode() for p, t in FILES.items()}, RECORD: (out / RECORD).read_bytes()}


def test_the_report_counts_what_was_written_kept_and_removed(tmp_path):
    out = tmp_path / "out"
    first = write_tree(out, FILES)
    assert (first.written, first.unchanged, first.removed) == (tuple(sorted(FILES)), (), ())
    again = write_tree(out, FILES)
    assert (again.written, again.unchanged, again.removed) == ((), tuple(sorted(FILES)), ())
    changed = {"a.yaml": "a: 2\n", "apps/b.yaml": "b: 2\n", "new.yaml": "n: 1\n"}
    report = write_tree(out, changed)
    assert report.written == ("a.yaml", "new.yaml")
    assert report.unchanged == ("apps/b.yaml",)
    assert report.removed == ("apps/deep/c.yaml",)
    assert report.directory == out


def test_a_run_that_changes_nothing_leaves_the_folder_itself_alone(tmp_path):
    """A shell or an editor open in the output folder stays in it: nothing to change, no swap."""
    out = tmp_path / "out"
    write_tree(out, FILES)
    folder = os.stat(out).st_ino
    write_tree(out, FILES)
    assert os.stat(out).st_ino == folder
    write_tree(out, {**FILES, "a.yaml": "a: 2\n"})
    assert os.stat(out).st_ino != folder  # a change swaps in a new folder


def test_a_file_of_the_same_size_with_other_bytes_is_rewritten(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (out / "a.yaml").write_text("a: 9\n")  # edited by hand, same length
    report = write_tree(out, FILES)
    assert report.written == ("a.yaml",) and (out / "a.yaml").read_text() == "a: 1\n"


def test_the_record_lists_every_file_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    lines = (out / RECORD).read_text().splitlines()
    assert lines[0].startswith("#") and lines[1:] == sorted(FILES)
    assert read_record(out) == set(FILES)


def test_stale_files_go_with_their_empty_folders_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (out / "apps" / "mine.txt").write_text("mine\n")  # the user's, beside meshauth's
    write_tree(out, {"a.yaml": "a: 1\n"})
    assert not (out / "apps" / "deep").exists()  # emptied: removed
    assert (out / "apps" / "mine.txt").read_text() == "mine\n"  # the folder keeps the user's file
    assert _tree(out) == {
        "a.yaml": b"a: 1\n",
        "apps/mine.txt": b"mine\n",
        RECORD: (out / RECORD).read_bytes(),
    }


def test_a_recorded_file_already_gone_is_not_an_error(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (out / "apps" / "deep" / "c.yaml").unlink()
    report = write_tree(out, {"a.yaml": "a: 1\n"})
    assert report.removed == ("apps/b.yaml",)


def test_comments_and_blank_lines_of_the_record_are_not_entries(tmp_path):
    (tmp_path / RECORD).write_text("# a comment\n\n   \na.yaml\n#apps/b.yaml\n")
    assert read_record(tmp_path) == {"a.yaml"}


def test_no_record_means_no_files_of_meshauth(tmp_path):
    assert read_record(tmp_path) == set()


@pytest.mark.parametrize(
    "entry, reason",
    [
        ("/etc/passwd", "absolute path"),
        ("a/../../x", "'..'"),
        ("a//b.yaml", "not a normalised"),
        ("./a.yaml", "not a normalised"),
        ("a\\b.yaml", "not a normalised"),
        ("a\0b.yaml", "not a normalised"),
        ("a/", "not a normalised"),
        (RECORD, "the record itself"),
    ],
)
def test_each_kind_of_bad_record_line_is_named_with_its_number(tmp_path, entry, reason):
    (tmp_path / RECORD).write_text(f"# header\na.yaml\n{entry}\n")
    with pytest.raises(OutputError) as raised:
        read_record(tmp_path)
    first = raised.value.problems[0]
    assert first.path == "line 3" and reason in first.message and first.file == str(tmp_path / RECORD)
    assert "nothing was read, written or removed" in raised.value.problems[-1].message


def test_many_bad_lines_are_named_ten_at_a_time_and_counted(tmp_path):
    (tmp_path / RECORD).write_text("".join(f"/bad/{n}\n" for n in range(13)))
    with pytest.raises(OutputError) as raised:
        read_record(tmp_path)
    problems = raised.value.problems
    assert [p.path for p in problems[:-1]] == [f"line {n}" for n in range(1, 11)]
    assert "(and 3 more lines)" in problems[-1].message


def test_exactly_ten_bad_lines_are_all_named_with_no_count(tmp_path):
    (tmp_path / RECORD).write_text("".join(f"/bad/{n}\n" for n in range(10)))
    with pytest.raises(OutputError) as raised:
        read_record(tmp_path)
    assert len(raised.value.problems) == 11 and "more lines" not in raised.value.problems[-1].message


def test_a_bad_record_stops_the_write_before_anything_changes(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    with (out / RECORD).open("a") as record:
        record.write("../outside.yaml\n")
    before = _tree(out)
    with pytest.raises(OutputError):
        write_tree(out, {"a.yaml": "a: 2\n"})
    assert _tree(out) == before


def test_in_place_the_record_is_replaced_last(tmp_path, monkeypatch):
    """A Git checkout's top is updated file by file; a run killed on the way must still know the
    old files, so the record moves last."""
    out = tmp_path / "checkout"
    write_tree(out, FILES)
    (out / ".git").mkdir()
    moved: list[str] = []
    replace = os.replace

    def watching(source, target):
        moved.append(os.path.relpath(target, out))
        replace(source, target)

    monkeypatch.setattr(atomicwrite.os, "replace", watching)
    write_tree(out, {**FILES, "a.yaml": "a: 2\n", "z.yaml": "z: 1\n"})
    assert moved[-1] == RECORD and sorted(moved[:-1]) == ["a.yaml", "z.yaml"]


def test_in_place_an_interrupted_update_keeps_the_old_record(tmp_path, monkeypatch):
    out = tmp_path / "checkout"
    write_tree(out, FILES)
    (out / ".git").mkdir()
    record = (out / RECORD).read_bytes()
    replace = os.replace

    def interrupted(source, target):
        if os.path.basename(target) == RECORD:
            raise KeyboardInterrupt
        replace(source, target)

    monkeypatch.setattr(atomicwrite.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_tree(out, {"a.yaml": "a: 2\n"})
    assert (out / RECORD).read_bytes() == record
    assert (out / "apps" / "b.yaml").exists()  # removals come after the record, never before
    assert not [p for p in tmp_path.iterdir() if ".meshauth-new." in p.name]


def test_a_file_named_like_old_staging_is_not_removed(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (out / ".meshauth-staging.notes").write_text("mine\n")  # a file, not a staging folder
    write_tree(out, FILES)
    assert (out / ".meshauth-staging.notes").read_text() == "mine\n"


def test_a_folder_moved_aside_by_a_killed_run_is_put_back(tmp_path):
    out = tmp_path / "out"
    write_tree(out, FILES)
    (out / "mine.txt").write_text("mine\n")
    os.rename(out, tmp_path / ".out.meshauth-old.abc")  # killed between the two renames
    report = write_tree(out, FILES)
    assert report.written == () and (out / "mine.txt").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_output_path_that_is_a_link_to_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x\n")
    (tmp_path / "out").symlink_to(tmp_path / "file")
    with pytest.raises(OutputError, match="not a directory"):
        write_tree(tmp_path / "out", FILES)
    assert (tmp_path / "file").read_text() == "x\n"


def test_only_regular_files_are_read(tmp_path):
    (tmp_path / "secret").write_text("s3cr3t\n")
    (tmp_path / "link").symlink_to(tmp_path / "secret")
    os.mkfifo(tmp_path / "fifo")
    assert read_regular(tmp_path / "secret") == b"s3cr3t\n"
    assert read_regular(tmp_path / "missing") is None
    assert read_regular(tmp_path / "missing-folder" / "x") is None
    with pytest.raises(OutputError, match="is a symbolic link, which meshauth does not follow"):
        read_regular(tmp_path / "link")
    with pytest.raises(OutputError, match="is not a regular file"):
        read_regular(tmp_path / "fifo")  # would block a reader forever
    with pytest.raises(OutputError, match="is not a regular file"):
        read_regular(tmp_path)


def test_a_path_that_cannot_be_looked_at_is_an_error_not_missing(tmp_path):
    with pytest.raises(OutputError, match="cannot be read"):
        kind(tmp_path / ("x" * 300))  # longer than a file name may be
    assert kind(tmp_path / "missing") == "missing"
    assert kind(tmp_path / "missing" / "below") == "missing"
