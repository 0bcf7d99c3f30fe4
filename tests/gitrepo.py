"""Small helpers for tests on real git repos: run git, make a repo, make an agent's change in a task worktree."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

from cockpit.workspace import Workspace

IDENTITY = ("-c", "user.name=Test", "-c", "user.email=t@example.com")


def git(root: Path, *args: str) -> str:
    command = ["git", *IDENTITY, *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, files: dict[str, bytes | str]) -> Path:
    """A repo on branch main with `files` committed; the repo's own identity is set for plumbing commits."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "t@example.com")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def make_change(ws: Workspace, base: str, edit: Callable[[Path], None], task: str = "t1", session: str = "s1") -> str:
    """What an agent does: edit files in its worktree, then the engine records the change."""
    worktree = ws.create_worktree(session, task, base)
    edit(worktree)
    commit = ws.record_change(worktree, base, f"change of {task}")
    assert commit is not None
    return commit


def replace_bytes(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data, (path, old)
    path.write_bytes(data.replace(old, new, 1))
