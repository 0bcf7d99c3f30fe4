"""Stale changes, rebasing them onto the user's edits, and the note that tells an agent what the user changed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cockpit.rebase import rebase_change
from cockpit.staleness import NOTE_HEADER, stale_changes, stale_files, user_edit_note
from cockpit.state import ChangeState
from cockpit.workspace import Workspace

LINES = "".join(f"line {i}\n" for i in range(1, 21))


def git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text(LINES)
    (root / "notes.txt").write_text("keep me\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture
def ws(repo: Path) -> Workspace:
    return Workspace(repo)


def propose(ws: Workspace, edits: dict[str, str | None], change_id: str = "t1.1") -> ChangeState:
    """An agent's change made in its own worktree from a fresh base, as the runner records one."""
    base = ws.snapshot_base()
    worktree = ws.create_worktree("s1", change_id.split(".")[0], base)
    for path, text in edits.items():
        if text is None:
            (worktree / path).unlink()
        else:
            (worktree / path).write_text(text)
    commit = ws.record_change(worktree, base, "agent's change")
    diff = ws.diff(base, commit)
    return ChangeState(change_id, change_id.split(".")[0], diff.files, diff.diff, base, commit)


def edited(text: str, line: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[line - 1] = new + "\n"
    return "".join(lines)


def test_fresh_change_is_not_stale(ws: Workspace) -> None:
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line"), "added.py": "NEW = 1\n"})
    assert stale_files(ws, change) == []


def test_user_edit_to_a_file_of_the_change_makes_it_stale(ws: Workspace, repo: Path) -> None:
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line"), "added.py": "NEW = 1\n"})
    (repo / "notes.txt").write_text("edited elsewhere\n")
    assert stale_files(ws, change) == []
    (repo / "app.py").write_text(edited(LINES, 18, "user line"))
    assert stale_files(ws, change) == ["app.py"]
    (repo / "app.py").write_text(LINES)  # the user undid it
    assert stale_files(ws, change) == []


def test_file_missing_on_one_side_counts_as_stale(ws: Workspace, repo: Path) -> None:
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line"), "added.py": "NEW = 1\n"})
    (repo / "added.py").write_text("the user's own file\n")
    (repo / "app.py").unlink()
    assert stale_files(ws, change) == ["added.py", "app.py"]


def test_exec_bit_change_counts_as_stale(ws: Workspace, repo: Path) -> None:
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line")})
    (repo / "app.py").chmod(0o755)
    assert stale_files(ws, change) == ["app.py"]


def test_line_endings_git_converts_are_not_a_user_edit(ws: Workspace, repo: Path) -> None:
    git(repo, "config", "core.autocrlf", "true")
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line")})
    (repo / "app.py").write_bytes(LINES.replace("\n", "\r\n").encode())  # an editor that saves CRLF
    assert stale_files(ws, change) == []
    (repo / "app.py").write_bytes(edited(LINES, 18, "user line").replace("\n", "\r\n").encode())
    assert stale_files(ws, change) == ["app.py"]
    note = user_edit_note(ws, change.base, ["app.py"])
    assert "+user line\n" in note and note.count("\n+") == 2  # the edited line only, not every line


def test_stale_changes_rechecks_only_changes_touching_the_edited_paths(ws: Workspace, repo: Path) -> None:
    first = propose(ws, {"app.py": edited(LINES, 2, "agent line")}, "t1.1")
    second = propose(ws, {"notes.txt": "agent notes\n"}, "t2.1")
    (repo / "app.py").write_text(edited(LINES, 18, "user line"))
    assert stale_changes(ws, [first, second], {"app.py"}) == {"t1.1": ["app.py"]}
    assert stale_changes(ws, [first, second]) == {"t1.1": ["app.py"], "t2.1": []}


def test_rebase_onto_a_separate_user_edit_keeps_both_and_reverts_nothing(ws: Workspace, repo: Path) -> None:
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line"), "added.py": "NEW = 1\n"})
    users = edited(LINES, 18, "user line")
    (repo / "app.py").write_text(users)

    result = rebase_change(ws, change.change_id, change.base, change.commit)

    assert result.conflicted == [] and result.new_commit is not None and result.diff is not None
    assert (repo / "app.py").read_text() == users  # the user's tree is not touched by a rebase
    assert result.diff.files == ["added.py", "app.py"]
    assert "+agent line" in result.diff.diff and "-line 2\n" in result.diff.diff
    assert "user line" not in result.diff.diff  # no reversal of the user's edit
    assert git(repo, "show", f"{result.new_base}:app.py") == users
    rebased = ChangeState("t1.2", "t1", result.diff.files, result.diff.diff, result.new_base, result.new_commit)
    assert stale_files(ws, rebased) == []
    # Applied, the rebased change holds both edits.
    applied = ws.apply_change("t1.2", result.new_base, result.new_commit)
    assert applied.conflicted == []
    assert (repo / "app.py").read_text() == edited(users, 2, "agent line")


def test_rebase_onto_an_overlapping_user_edit_conflicts_and_leaves_the_file(ws: Workspace, repo: Path) -> None:
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line")})
    users = edited(LINES, 2, "user line").encode()
    (repo / "app.py").write_bytes(users)

    result = rebase_change(ws, change.change_id, change.base, change.commit)

    assert result.conflicted == ["app.py"] and result.new_commit is None and result.diff is None
    assert (repo / "app.py").read_bytes() == users


def test_rebase_onto_a_tree_that_already_has_the_change_has_nothing_left(ws: Workspace, repo: Path) -> None:
    change = propose(ws, {"app.py": edited(LINES, 2, "agent line")})
    (repo / "app.py").write_text(edited(LINES, 2, "agent line"))
    result = rebase_change(ws, change.change_id, change.base, change.commit)
    assert result.new_commit is None and result.conflicted == []


def test_rebase_of_a_deletion_onto_an_untouched_file_deletes_it(ws: Workspace, repo: Path) -> None:
    change = propose(ws, {"notes.txt": None})
    (repo / "app.py").write_text(edited(LINES, 5, "user line"))
    result = rebase_change(ws, change.change_id, change.base, change.commit)
    assert result.diff is not None and result.diff.files == ["notes.txt"]
    assert "deleted file mode" in result.diff.diff


def test_user_edit_note_shows_the_users_added_line(ws: Workspace, repo: Path) -> None:
    base = ws.snapshot_base()
    (repo / "app.py").write_text(edited(LINES, 18, "user line"))
    (repo / "fresh.py").write_text("BRAND = 'new'\n")
    note = user_edit_note(ws, base, ["app.py", "fresh.py", "notes.txt"])
    assert note.startswith(NOTE_HEADER)
    assert "+user line" in note and "-line 18" in note
    assert "+BRAND = 'new'" in note
    assert "notes.txt" not in note  # unchanged files are left out
    assert user_edit_note(ws, base, ["notes.txt"]) == ""


def test_user_edit_note_tells_of_a_deletion_and_is_capped(ws: Workspace, repo: Path) -> None:
    base = ws.snapshot_base()
    (repo / "notes.txt").unlink()
    (repo / "app.py").write_text("".join(f"user rewrote line {i} with a long tail of text\n" for i in range(2000)))
    note = user_edit_note(ws, base, ["app.py", "notes.txt"])
    assert len(note) < 4600 and "(cut:" in note
    short = user_edit_note(ws, base, ["notes.txt"])
    assert "(the user deleted notes.txt)" in short
