from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cockpit.gitdiff import parse_hunks
from cockpit.workspace import NotAGitRepo, Workspace, find_repo_root

LINES = "".join(f"line {i}\n" for i in range(1, 21))


def git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text(LINES)
    (root / "notes.txt").write_text("keep me\n")
    (root / ".gitignore").write_text("*.log\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


def user_git_state(root: Path) -> tuple[str, str, str, bytes]:
    index = (root / ".git" / "index").read_bytes()
    return git(root, "rev-parse", "HEAD"), git(root, "symbolic-ref", "HEAD"), git(root, "diff", "--cached"), index


def make_change(ws: Workspace, base: str, edit, task: str = "t1") -> str:
    worktree = ws.create_worktree("s1", task, base)
    edit(worktree)
    commit = ws.record_change(worktree, base, f"change of {task}")
    assert commit is not None
    return commit


def replace_in(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def test_folder_outside_git_is_refused_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepo, match=r"not a git repository: .*\(run `git init` or pass --repo\)"):
        Workspace(tmp_path)


def test_find_repo_root_walks_up_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    (repo / "sub").mkdir()
    assert find_repo_root(repo / "sub") == repo.resolve()
    assert not (repo / ".cockpit").exists()
    with pytest.raises(NotAGitRepo):
        find_repo_root(tmp_path)


def test_opening_adds_cockpit_dir_to_exclude_once(repo: Path) -> None:
    Workspace(repo / "")
    ws = Workspace(repo)
    assert ws.root == repo.resolve() and ws.cockpit_dir.is_dir()
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert exclude.count(".cockpit/") == 1
    assert git(repo, "status", "--porcelain") == ""


def test_snapshot_base_captures_uncommitted_and_untracked_but_not_ignored(repo: Path) -> None:
    ws = Workspace(repo)
    replace_in(repo / "app.py", "line 3", "edited 3")
    (repo / "new.py").write_text("untracked\n")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "notes.txt").unlink()
    git(repo, "add", "new.py")  # a staged file too
    before = user_git_state(repo)
    base = ws.snapshot_base()
    assert git(repo, "show", f"{base}:app.py").count("edited 3") == 1
    assert git(repo, "show", f"{base}:new.py") == "untracked"
    files = git(repo, "ls-tree", "--name-only", base).splitlines()
    assert "debug.log" not in files and "notes.txt" not in files
    assert user_git_state(repo) == before  # index, HEAD and branch untouched
    assert git(repo, "rev-parse", f"refs/cockpit/bases/{base}") == base
    assert git(repo, "rev-parse", f"{base}^") == git(repo, "rev-parse", "HEAD")


def test_snapshot_base_works_in_a_repo_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("a\n")
    ws = Workspace(tmp_path)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: (wt / "b.txt").write_text("b\n"))
    result = ws.apply_change("c1", base, commit)
    assert result.applied == ["b.txt"] and (tmp_path / "b.txt").read_text() == "b\n"


def test_worktree_starts_from_base_and_is_idempotent(repo: Path) -> None:
    ws = Workspace(repo)
    replace_in(repo / "app.py", "line 1\n", "user edit\n")
    base = ws.snapshot_base()
    worktree = ws.create_worktree("s1", "t1", base)
    assert worktree == ws.worktree_path("s1", "t1") == repo.resolve() / ".cockpit" / "worktrees" / "s1" / "t1"
    assert (worktree / "app.py").read_text().startswith("user edit")
    (worktree / "work.txt").write_text("in progress")
    assert ws.create_worktree("s1", "t1", base) == worktree
    assert (worktree / "work.txt").read_text() == "in progress"
    assert git(worktree, "symbolic-ref", "HEAD") == "refs/heads/cockpit/s1/t1"


def test_unsafe_ids_are_refused(repo: Path) -> None:
    ws = Workspace(repo)
    with pytest.raises(ValueError, match="invalid task id"):
        ws.worktree_path("s1", "../escape")


def test_record_change_commits_adds_edits_and_deletes(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    worktree = ws.create_worktree("s1", "t1", base)
    assert ws.record_change(worktree, base, "nothing yet") is None

    def edit(wt: Path) -> None:
        replace_in(wt / "app.py", "line 5", "LINE 5")
        (wt / "notes.txt").unlink()
        (wt / "pkg").mkdir()
        (wt / "pkg" / "mod.py").write_text("x = 1\n")
        (wt / "pkg" / "__pycache__").mkdir()
        (wt / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0junk")

    commit = make_change(ws, base, edit)
    change = ws.diff(base, commit)
    assert sorted(change.files) == ["app.py", "notes.txt", "pkg/mod.py"]
    assert change.binary == [] and "+LINE 5" in change.diff
    assert git(repo, "rev-parse", "refs/heads/cockpit/s1/t1") == commit
    assert ws.record_change(worktree, base, "again") == commit  # nothing new since


def test_apply_clean_change_and_keep_user_index_and_head(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: replace_in(wt / "app.py", "line 10", "LINE 10"))
    before = user_git_state(repo)
    result = ws.apply_change("c1", base, commit)
    assert result.applied == ["app.py"] and result.conflicted == []
    assert (repo / "app.py").read_text() == LINES.replace("line 10", "LINE 10")
    assert user_git_state(repo) == before


def test_user_edit_elsewhere_in_same_file_merges_three_way(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: replace_in(wt / "app.py", "line 18", "agent 18"))
    replace_in(repo / "app.py", "line 2\n", "user 2\n")
    result = ws.apply_change("c1", base, commit)
    assert result.conflicted == []
    text = (repo / "app.py").read_text()
    assert "user 2\n" in text and "agent 18\n" in text and "line 18" not in text


def test_conflicting_change_leaves_user_files_byte_identical(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        replace_in(wt / "app.py", "line 7", "agent 7")
        (wt / "notes.txt").write_text("agent notes\n")  # clean on its own, but all or nothing

    commit = make_change(ws, base, edit)
    replace_in(repo / "app.py", "line 7", "user 7")
    app_before, notes_before = (repo / "app.py").read_bytes(), (repo / "notes.txt").read_bytes()
    result = ws.apply_change("c1", base, commit)
    assert result.conflicted == ["app.py"] and result.applied == [] and result.snapshot is None
    assert (repo / "app.py").read_bytes() == app_before
    assert (repo / "notes.txt").read_bytes() == notes_before


def test_new_and_deleted_files_apply(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        (wt / "notes.txt").unlink()
        (wt / "docs").mkdir()
        (wt / "docs" / "guide.md").write_text("# Guide\n")

    commit = make_change(ws, base, edit)
    result = ws.apply_change("c1", base, commit)
    assert sorted(result.applied) == ["docs/guide.md", "notes.txt"]
    assert not (repo / "notes.txt").exists()
    assert (repo / "docs" / "guide.md").read_text() == "# Guide\n"


def test_deleting_a_file_the_user_edited_is_a_conflict(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: (wt / "notes.txt").unlink())
    (repo / "notes.txt").write_text("user's precious notes\n")
    result = ws.apply_change("c1", base, commit)
    assert result.conflicted == ["notes.txt"]
    assert (repo / "notes.txt").read_text() == "user's precious notes\n"


def test_binary_file_applies_only_when_user_copy_equals_base(repo: Path) -> None:
    (repo / "logo.bin").write_bytes(b"\0\1\2base")
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: (wt / "logo.bin").write_bytes(b"\0\1\2agent"))
    assert ws.diff(base, commit).binary == ["logo.bin"]
    (repo / "logo.bin").write_bytes(b"\0\1\2user")
    assert ws.apply_change("c1", base, commit).conflicted == ["logo.bin"]
    assert (repo / "logo.bin").read_bytes() == b"\0\1\2user"
    (repo / "logo.bin").write_bytes(b"\0\1\2base")
    assert ws.apply_change("c2", base, commit).applied == ["logo.bin"]
    assert (repo / "logo.bin").read_bytes() == b"\0\1\2agent"


def test_file_modes_are_kept_and_mode_changes_applied(repo: Path) -> None:
    os.chmod(repo / "notes.txt", 0o600)
    (repo / "run.sh").write_text("#!/bin/sh\necho hi\n")
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        (wt / "notes.txt").write_text("changed\n")
        os.chmod(wt / "run.sh", 0o755)

    commit = make_change(ws, base, edit)
    ws.apply_change("c1", base, commit)
    assert (repo / "notes.txt").stat().st_mode & 0o777 == 0o600
    assert (repo / "run.sh").stat().st_mode & 0o100


def test_snapshot_ref_exists_after_apply_and_undo_restores(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        replace_in(wt / "app.py", "line 15", "agent 15")
        (wt / "added.txt").write_text("new\n")

    commit = make_change(ws, base, edit)
    result = ws.apply_change("c1", base, commit)
    assert git(repo, "rev-parse", "refs/cockpit/snapshots/c1") == result.snapshot
    assert git(repo, "show", f"{result.snapshot}:app.py") == LINES.strip()
    replace_in(repo / "app.py", "line 1\n", "user 1\n")  # an edit made after the apply survives the undo
    undo = ws.undo_change("c1")
    assert undo.conflicted == []
    assert (repo / "app.py").read_text() == LINES.replace("line 1\n", "user 1\n")
    assert not (repo / "added.txt").exists()


def test_discard_and_reset_worktree(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()
    commit = make_change(ws, base, lambda wt: (wt / "x.txt").write_text("x\n"))
    fresh = ws.reset_worktree("s1", "t1", base)
    assert not (fresh / "x.txt").exists() and git(fresh, "rev-parse", "HEAD") == base
    ws.discard_worktree("s1", "t1")
    assert not fresh.exists()
    assert git(repo, "branch", "--list", "cockpit/*") == ""
    assert git(repo, "cat-file", "-t", commit) == "commit"  # the object itself is not destroyed by us


def test_select_hunks_keeps_only_chosen_hunks(repo: Path) -> None:
    ws = Workspace(repo)
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        replace_in(wt / "app.py", "line 2\n", "agent 2\n")
        replace_in(wt / "app.py", "line 19\n", "agent 19\n")
        (wt / "extra.txt").write_text("extra\n")

    commit = make_change(ws, base, edit)
    files = {f.path: f for f in parse_hunks(ws.diff(base, commit).diff)}
    assert len(files["app.py"].hunks) == 2
    partial = ws.select_hunks(base, commit, {("app.py", 1)})
    assert ws.diff(base, partial).files == ["app.py"]
    ws.apply_change("c1", base, partial)
    text = (repo / "app.py").read_text()
    assert "agent 19" in text and "agent 2\n" not in text and not (repo / "extra.txt").exists()
    assert ws.select_hunks(base, commit, set()) is None


def test_parse_hunks_handles_added_deleted_binary_and_renamed_files() -> None:
    diff = (
        "diff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n"
        "+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        "diff --git a/old.txt b/old.txt\ndeleted file mode 100644\nindex 1111111..0000000\n--- a/old.txt\n"
        "+++ /dev/null\n@@ -1 +0,0 @@\n--- looks like a header\n"
        "diff --git a/img.png b/img.png\nindex 1234567..89abcde 100644\nBinary files a/img.png and b/img.png differ\n"
        "diff --git a/a b.txt b/c d.txt\nsimilarity index 90%\nrename from a b.txt\nrename to c d.txt\n"
        "--- a/a b.txt\n+++ b/c d.txt\n@@ -1,2 +1,2 @@\n keep\n-x\n+y\n\\ No newline at end of file\n"
    )
    files = parse_hunks(diff)
    assert [(f.path, f.status, f.binary) for f in files] == [
        ("new.txt", "added", False), ("old.txt", "deleted", False), ("img.png", "modified", True),
        ("c d.txt", "renamed", False),
    ]
    assert files[0].old_path is None and files[1].new_path is None and files[3].old_path == "a b.txt"
    assert files[1].hunks[0].lines == ["--- looks like a header"] and files[2].hunks == []
    assert files[3].hunks[0].lines[-1].startswith("\\") and (files[3].hunks[0].added, files[3].hunks[0].removed) == (1, 1)


def test_parse_hunks_unquotes_unusual_paths() -> None:
    diff = 'diff --git "a/t\\303\\251st\\tx" "b/t\\303\\251st\\tx"\nindex 1..2 100644\n--- "a/t\\303\\251st\\tx"\n+++ "b/t\\303\\251st\\tx"\n@@ -1 +1 @@\n-a\n+b\n'
    [file] = parse_hunks(diff)
    assert file.path == "t\u00e9st\tx"
