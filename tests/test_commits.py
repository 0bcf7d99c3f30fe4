"""Optional commits of applied changes: only the applied files, on the user's branch, nothing else of theirs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cockpit import commits
from cockpit.commits import TRAILER, CommitRefused, commit_applied, commit_message
from cockpit.workspace import Workspace
from gitrepo import git, make_change, make_repo, replace_bytes

LINES = "".join(f"line {i}\n" for i in range(1, 21))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {"app.py": LINES, "staged.txt": "s\n", "unstaged.txt": "u\n", "gone.txt": "g\n"}
    return make_repo(tmp_path / "repo", files)


def porcelain_status(root: Path) -> list[str]:
    done = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()  # not stripped: the first column matters


def apply_agent_change(ws: Workspace) -> list[str]:
    base = ws.snapshot_base()

    def edit(wt: Path) -> None:
        replace_bytes(wt / "app.py", b"line 10\n", b"agent 10\n")
        (wt / "new.py").write_text("x = 1\n")
        (wt / "gone.txt").unlink()

    result = ws.apply_change("c1", base, make_change(ws, base, edit))
    return result.applied


def test_commit_holds_only_the_applied_files_and_leaves_the_users_other_work_alone(repo: Path) -> None:
    ws = Workspace(repo)
    (repo / "staged.txt").write_text("staged by the user\n")
    git(repo, "add", "staged.txt")
    (repo / "unstaged.txt").write_text("unstaged by the user\n")
    (repo / "scratch.txt").write_text("untracked\n")
    old_head = git(repo, "rev-parse", "HEAD")
    files = apply_agent_change(ws)

    sha = commit_applied(ws, files, commit_message("Add greeting", "coder", "Adds new.py."))
    assert git(repo, "rev-parse", "main") == sha and git(repo, "rev-parse", f"{sha}^") == old_head
    assert git(repo, "symbolic-ref", "HEAD") == "refs/heads/main"
    changed = git(repo, "diff-tree", "--no-commit-id", "--name-status", "-r", sha).splitlines()
    assert sorted(changed) == ["A\tnew.py", "D\tgone.txt", "M\tapp.py"]
    assert git(repo, "show", f"{sha}:app.py") == LINES.replace("line 10", "agent 10").strip()
    assert sorted(porcelain_status(repo)) == [" M unstaged.txt", "?? scratch.txt", "M  staged.txt"]
    assert git(repo, "diff", "--cached", "staged.txt").endswith("+staged by the user")
    message = git(repo, "log", "-1", "--format=%B", sha)
    assert message.splitlines()[0] == "feat: add greeting" and message.splitlines()[-1] == TRAILER
    assert git(repo, "log", "-1", "--format=%an", sha) == "Test"  # the user is the author


def test_detached_head_is_refused_in_one_line(repo: Path) -> None:
    ws = Workspace(repo)
    files = apply_agent_change(ws)
    git(repo, "checkout", "-q", "--detach")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(CommitRefused, match=r"^not committing: HEAD is detached \(.*\)$"):
        commit_applied(ws, files, "feat: x")
    assert git(repo, "rev-parse", "HEAD") == head


def test_merge_in_progress_is_refused(repo: Path) -> None:
    ws = Workspace(repo)
    files = apply_agent_change(ws)
    (repo / ".git" / "MERGE_HEAD").write_text(git(repo, "rev-parse", "HEAD") + "\n")
    with pytest.raises(CommitRefused, match="^not committing: a merge is in progress$"):
        commit_applied(ws, files, "feat: x")


def test_a_file_the_user_staged_is_refused_not_mixed_in(repo: Path) -> None:
    ws = Workspace(repo)
    files = apply_agent_change(ws)
    git(repo, "add", "app.py")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(CommitRefused, match="^not committing: you have staged changes in app.py$"):
        commit_applied(ws, files, "feat: x")
    assert git(repo, "rev-parse", "HEAD") == head


def test_branch_moved_during_the_commit_is_refused(repo: Path, monkeypatch) -> None:
    ws = Workspace(repo)
    files = apply_agent_change(ws)
    real_commit = commits._commit

    def commit_while_the_user_commits_too(*args):
        sha = real_commit(*args)
        git(repo, "commit", "-q", "--allow-empty", "-m", "the user's own commit")
        return sha

    monkeypatch.setattr(commits, "_commit", commit_while_the_user_commits_too)
    with pytest.raises(CommitRefused, match="your branch moved"):
        commit_applied(ws, files, "feat: x")
    assert git(repo, "log", "-1", "--format=%s") == "the user's own commit"


def test_nothing_to_commit_gives_none(repo: Path) -> None:
    assert commit_applied(Workspace(repo), ["app.py"], "feat: x") is None


def test_first_commit_on_a_branch_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "t@example.com")
    (root / "a.txt").write_text("a\n")
    (root / "b.txt").write_text("b\n")
    sha = commit_applied(Workspace(root), ["a.txt"], "feat: a")
    assert git(root, "ls-tree", "--name-only", sha) == "a.txt"
    assert porcelain_status(root) == ["?? b.txt"]


@pytest.mark.parametrize(("title", "agent", "subject"), [
    ("Add a greeting", "coder", "feat: add a greeting"),
    ("Fix the off-by-one in paging", "coder", "fix: fix the off-by-one in paging"),
    ("Cover greeting with tests", "tester", "test: cover greeting with tests"),
    ("Document the CLI", "docs", "docs: document the CLI"),
    ("Release 1.2.0", "release", "chore(release): release 1.2.0"),
    ("Harden input parsing", "reviewer", "fix: harden input parsing"),
    ("README tweaks", "coder", "feat: README tweaks"),
    ("refactor: split module", "coder", "refactor: split module"),
    ("Tidy", "someone-custom", "chore: tidy"),
])
def test_commit_message_type_follows_the_agent_role(title: str, agent: str, subject: str) -> None:
    message = commit_message(title, agent, "")
    assert message == f"{subject}\n\n{TRAILER}\n"


def test_commit_message_carries_the_summary_and_a_short_subject() -> None:
    message = commit_message("Add " + "very " * 30 + "long title.", "coder", "  Did the thing.\n")
    subject, blank, body, blank2, trailer = message.rstrip("\n").split("\n")
    assert len(subject) <= 72 and subject.endswith("...") and not blank and not blank2
    assert body == "Did the thing." and trailer == TRAILER
