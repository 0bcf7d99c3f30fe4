"""Hunk-level approval, resumable apply and 3-way undo (cockpit/apply.py through Workspace)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cockpit.apply import NothingToUndo, applied_stack
from cockpit.events import Event
from cockpit.gitdiff import parse_hunks
from cockpit.workspace import Workspace
from gitrepo import git, make_change, make_repo, replace_bytes

LINES = b"".join(b"line %d\n" % i for i in range(1, 31))
LATIN1 = b"".join(b"caf\xe9 %d\n" % i for i in range(1, 31))
CRLF = b"".join(b"row %d\r\n" % i for i in range(1, 31))
NO_EOL = b"".join(b"n %d\n" % i for i in range(1, 31)).rstrip(b"\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {
        "app.py": LINES, "latin1.txt": LATIN1, "crlf.txt": CRLF, "no_eol.txt": NO_EOL, "old.txt": "old\n",
        "gone.txt": "gone\n", "logo.bin": b"\0\1base", "run.sh": "echo hi\n", "other.py": LINES,
    })


def hunks_of(ws: Workspace, base: str, commit: str) -> dict[str, int]:
    return {f.path: max(len(f.hunks), 1) for f in parse_hunks(ws.diff(base, commit).diff)}


def three_edits(path: Path, template: bytes, new: bytes) -> None:
    for n in (2, 15, 28):
        replace_bytes(path, template % n, new % n)


def test_approving_two_of_three_hunks_leaves_the_third_out(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: three_edits(wt / "app.py", b"line %d\n", b"agent %d\n"))
    assert hunks_of(ws, base, commit) == {"app.py": 3}
    partial = ws.select_hunks(base, commit, {("app.py", 0), ("app.py", 2)})
    assert ws.apply_change("c1", base, partial).applied == ["app.py"]
    expected = LINES.replace(b"line 2\n", b"agent 2\n").replace(b"line 28\n", b"agent 28\n")
    assert (repo / "app.py").read_bytes() == expected


def test_hunks_across_several_files_apply_only_the_chosen_ones(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        three_edits(wt / "app.py", b"line %d\n", b"agent %d\n")
        three_edits(wt / "other.py", b"line %d\n", b"other %d\n")

    commit = make_change(ws, base, edit)
    partial = ws.select_hunks(base, commit, [("app.py", 1), ("other.py", 0), ("other.py", 2)])
    ws.apply_change("c1", base, partial)
    assert (repo / "app.py").read_bytes() == LINES.replace(b"line 15\n", b"agent 15\n")
    expected = LINES.replace(b"line 2\n", b"other 2\n").replace(b"line 28\n", b"other 28\n")
    assert (repo / "other.py").read_bytes() == expected


def test_new_deleted_renamed_binary_and_mode_only_files_are_whole_file_hunks(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        (wt / "added.txt").write_text("a\nb\n")
        (wt / "gone.txt").unlink()
        os.rename(wt / "old.txt", wt / "renamed.txt")  # a rename is a deletion and an addition, one hunk each
        (wt / "logo.bin").write_bytes(b"\0\2agent")
        os.chmod(wt / "run.sh", 0o755)

    commit = make_change(ws, base, edit)
    assert hunks_of(ws, base, commit) == {
        "added.txt": 1, "gone.txt": 1, "logo.bin": 1, "old.txt": 1, "renamed.txt": 1, "run.sh": 1,
    }
    keep = [("added.txt", 0), ("gone.txt", 0), ("renamed.txt", 0), ("old.txt", 0), ("logo.bin", 0), ("run.sh", 0)]
    partial = ws.select_hunks(base, commit, keep)
    assert git(repo, "rev-parse", f"{partial}^{{tree}}") == git(repo, "rev-parse", f"{commit}^{{tree}}")
    ws.apply_change("c1", base, partial)
    assert (repo / "added.txt").read_text() == "a\nb\n" and (repo / "renamed.txt").read_text() == "old\n"
    assert not (repo / "gone.txt").exists() and not (repo / "old.txt").exists()
    assert (repo / "logo.bin").read_bytes() == b"\0\2agent" and (repo / "run.sh").stat().st_mode & 0o100


def test_leaving_out_the_addition_half_of_a_rename_keeps_only_the_deletion(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: os.rename(wt / "old.txt", wt / "renamed.txt"))
    ws.apply_change("c1", base, ws.select_hunks(base, commit, [("old.txt", 0)]))
    assert not (repo / "old.txt").exists() and not (repo / "renamed.txt").exists()


def test_a_mode_change_goes_with_any_kept_hunk_of_its_file(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        three_edits(wt / "app.py", b"line %d\n", b"agent %d\n")
        os.chmod(wt / "app.py", 0o755)

    commit = make_change(ws, base, edit)
    ws.apply_change("c1", base, ws.select_hunks(base, commit, [("app.py", 1)]))
    assert (repo / "app.py").read_bytes() == LINES.replace(b"line 15\n", b"agent 15\n")
    assert (repo / "app.py").stat().st_mode & 0o100


def rewrite_lines(data: bytes, numbers: tuple[int, ...], word: bytes) -> bytes:
    """Replace the first word of the given lines (1-based), keeping each line's ending (LF, CRLF or none)."""
    lines = data.splitlines(keepends=True)
    for n in numbers:
        body = lines[n - 1].rstrip(b"\r\n")
        lines[n - 1] = word + body[body.index(b" "):] + lines[n - 1][len(body):]
    return b"".join(lines)


@pytest.mark.parametrize(("name", "original"), [("latin1.txt", LATIN1), ("crlf.txt", CRLF), ("no_eol.txt", NO_EOL)])
def test_two_of_three_hunks_apply_byte_exact_in_unusual_text(repo: Path, name: str, original: bytes) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    word = b"th\xe9" if name == "latin1.txt" else b"AGENT"
    commit = make_change(ws, base, lambda wt: (wt / name).write_bytes(rewrite_lines(original, (2, 15, 30), word)))
    assert hunks_of(ws, base, commit) == {name: 3}
    ws.apply_change("c1", base, ws.select_hunks(base, commit, [(name, 0), (name, 2)]))
    assert (repo / name).read_bytes() == rewrite_lines(original, (2, 30), word)


def test_hunk_keys_of_the_shown_diff_match_for_undecodable_file_names(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"keep.txt": "k\n"})
    name = os.fsdecode(b"caf\xe9.txt")
    (root / name).write_bytes(LINES)
    ws = Workspace(root)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: three_edits(wt / name, b"line %d\n", b"agent %d\n"))
    shown = [f.path for f in parse_hunks(ws.diff(base, commit).diff)]  # what the journal and the UI hold
    assert shown == ["caf\ufffd.txt"]
    ws.apply_change("c1", base, ws.select_hunks(base, commit, [(shown[0], 1)]))
    assert (root / name).read_bytes() == LINES.replace(b"line 15\n", b"agent 15\n")


def test_user_diff_settings_do_not_change_the_hunks(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: three_edits(wt / "app.py", b"line %d\n", b"agent %d\n"))
    for key, value in (("diff.context", "12"), ("diff.noprefix", "true"), ("diff.algorithm", "histogram"),
                       ("diff.interHunkContext", "30"), ("diff.suppressBlankEmpty", "true")):
        git(repo, "config", key, value)
    assert hunks_of(ws, base, commit) == {"app.py": 3}
    ws.apply_change("c1", base, ws.select_hunks(base, commit, [("app.py", 0)]))
    assert (repo / "app.py").read_bytes() == LINES.replace(b"line 2\n", b"agent 2\n")


def test_the_same_selection_gives_the_same_commit(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: three_edits(wt / "app.py", b"line %d\n", b"agent %d\n"))
    first = ws.select_hunks(base, commit, [("app.py", 0)])
    assert ws.select_hunks(base, commit, [("app.py", 0)]) == first
    assert ws.select_hunks(base, commit, []) is None


def test_files_git_converts_on_checkout_apply_in_the_users_form(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {".gitattributes": "*.txt text eol=crlf\n", "w.txt": LINES})
    (root / "w.txt").unlink()
    git(root, "checkout", "--", "w.txt")  # now CRLF on disk, LF in git
    ws = Workspace(root)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: replace_bytes(wt / "w.txt", b"line 20\r\n", b"agent 20\r\n"))
    replace_bytes(root / "w.txt", b"line 2\r\n", b"user 2\r\n")
    assert ws.apply_change("c1", base, commit).conflicted == []
    expected = LINES.replace(b"line 2\n", b"user 2\n").replace(b"line 20\n", b"agent 20\n").replace(b"\n", b"\r\n")
    assert (root / "w.txt").read_bytes() == expected
    ws.undo_change("c1")
    assert (root / "w.txt").read_bytes() == LINES.replace(b"line 2\n", b"user 2\n").replace(b"\n", b"\r\n")


def test_undo_keeps_edits_the_user_made_since_the_apply(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: replace_bytes(wt / "app.py", b"line 20\n", b"agent 20\n"))
    ws.apply_change("c1", base, commit)
    replace_bytes(repo / "app.py", b"line 3\n", b"user 3\n")
    assert ws.undo_change("c1").conflicted == []
    assert (repo / "app.py").read_bytes() == LINES.replace(b"line 3\n", b"user 3\n")


def test_undo_that_overlaps_a_later_user_edit_is_conflicted_and_writes_nothing(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        replace_bytes(wt / "app.py", b"line 20\n", b"agent 20\n")
        (wt / "added.txt").write_text("new\n")

    commit = make_change(ws, base, edit)
    ws.apply_change("c1", base, commit)
    replace_bytes(repo / "app.py", b"agent 20\n", b"user rewrote 20\n")
    app, added = (repo / "app.py").read_bytes(), (repo / "added.txt").read_bytes()
    result = ws.undo_change("c1")
    assert result.conflicted == ["app.py"] and result.applied == []
    assert (repo / "app.py").read_bytes() == app and (repo / "added.txt").read_bytes() == added


def test_undo_of_a_change_never_applied_is_refused_in_one_line(repo: Path) -> None:
    with pytest.raises(NothingToUndo, match=r"^no applied change 'c9' to undo$"):
        Workspace(repo).undo_change("c9")


def test_applying_again_is_a_no_op_that_keeps_the_first_snapshot(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: replace_bytes(wt / "app.py", b"line 20\n", b"agent 20\n"))
    replace_bytes(repo / "app.py", b"line 1\n", b"user 1\n")
    first = ws.apply_change("c1", base, commit)
    after = (repo / "app.py").read_bytes()
    again = ws.apply_change("c1", base, commit)
    assert again.applied == ["app.py"] and again.snapshot == first.snapshot
    assert (repo / "app.py").read_bytes() == after
    ws.undo_change("c1")
    assert (repo / "app.py").read_bytes() == LINES.replace(b"line 1\n", b"user 1\n")
    assert ws.undo_change("c1").conflicted == []  # undoing twice changes nothing more
    assert (repo / "app.py").read_bytes() == LINES.replace(b"line 1\n", b"user 1\n")


def test_applied_stack_folds_applies_and_undos_in_order() -> None:
    def event(type_: str, change_id: str, seq: int) -> Event:
        return Event(type_, seq, 0.0, "s1", {"change_id": change_id, "files": []})

    events = [event("change_applied", "t1.1", 1), event("change_applied", "t2.1", 2), event("change_undone", "t2.1", 3),
              event("change_applied", "t3.1", 4), event("change_conflicted", "t4.1", 5)]
    assert applied_stack(events) == ["t1.1", "t3.1"]
    assert applied_stack(events + [event("change_applied", "t1.1", 6)]) == ["t3.1", "t1.1"]
