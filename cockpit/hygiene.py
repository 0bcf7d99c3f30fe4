"""Keeping the repo tidy around cockpit's worktrees, and noticing what the user does to their own branch.

- Orphans: task worktrees (.cockpit/worktrees/<session>/<task>) and branches (cockpit/<session>/<task>) that no live
  session task owns, e.g. left by a crash. Each is flagged empty (no commits beyond its base snapshot, nothing
  uncommitted) or holding work; only empty ones are ever removed (DESIGN: never delete work not applied or rejected).
- worktree-include: gitignored files a task needs to run (`.env`, local config) copied into a new worktree, as
  listed in `<repo>/.cockpit/worktree-include` (.gitignore syntax: globs, `#` comments, `!` negation).
- Branch watch: tells when the user switched branch or moved HEAD since the last look.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import git

from cockpit.paths import PathRefused, confine
from cockpit.workspace import JUNK_PATHSPECS, check_id

if TYPE_CHECKING:
    from cockpit.workspace import Workspace

INCLUDE_FILE = "worktree-include"
_BRANCH_PREFIX = "refs/heads/cockpit/"


@dataclass(frozen=True)
class Orphan:
    session_id: str
    task_id: str
    branch: str | None  # "cockpit/<session>/<task>" when that branch exists
    worktree: Path | None  # when the folder exists
    empty: bool
    detail: str  # one line for the startup report: "no work", "2 commits beyond its base", ...

    def describe(self) -> str:
        where = str(self.worktree) if self.worktree else f"branch {self.branch}"
        return f"{self.session_id}/{self.task_id}: {self.detail} ({where})"


def find_orphans(workspace: "Workspace", known_sessions_tasks: Iterable[tuple[str, str]]) -> list[Orphan]:
    """Worktrees and cockpit branches that belong to none of `known_sessions_tasks` ((session id, task id) of
    every task a live session may still use), sorted by session then task."""
    known = {(str(s), str(t)) for s, t in known_sessions_tasks}
    with workspace._lock:
        found = (_worktree_folders(workspace) | _cockpit_branches(workspace)) - known
        return [_inspect(workspace, session_id, task_id) for session_id, task_id in sorted(found)]


def clean_empty(workspace: "Workspace", orphans: Iterable[Orphan]) -> list[Orphan]:
    """Remove the orphans that hold no work (looked at again just before); the ones removed are returned."""
    removed = []
    with workspace._lock:
        for orphan in orphans:
            if not orphan.empty or not _inspect(workspace, orphan.session_id, orphan.task_id).empty:
                continue
            workspace.discard_worktree(orphan.session_id, orphan.task_id)
            session_dir = workspace.cockpit_dir / "worktrees" / orphan.session_id
            try:
                session_dir.rmdir()  # only when it was the session's last worktree
            except OSError:
                pass
            removed.append(orphan)
    return removed


def _worktree_folders(ws: "Workspace") -> set[tuple[str, str]]:
    root = ws.cockpit_dir / "worktrees"
    found = set()
    if root.is_dir():
        for session_dir in root.iterdir():
            if session_dir.is_dir() and not session_dir.is_symlink():
                found |= {(session_dir.name, task.name) for task in session_dir.iterdir()
                          if task.is_dir() and not task.is_symlink()}
    return {pair for pair in found if _valid_ids(*pair)}


def _cockpit_branches(ws: "Workspace") -> set[tuple[str, str]]:
    out = ws._git("for-each-ref", "--format=%(refname)", _BRANCH_PREFIX)
    found = set()
    for ref in out.splitlines():
        parts = ref[len(_BRANCH_PREFIX) :].split("/")
        if len(parts) == 2 and _valid_ids(*parts):  # cockpit/<session>/<task>; any other shape is not ours
            found.add((parts[0], parts[1]))
    return found


def _valid_ids(session_id: str, task_id: str) -> bool:
    try:
        check_id(session_id, "session id")
        check_id(task_id, "task id")
    except ValueError:
        return False
    return True


def _inspect(ws: "Workspace", session_id: str, task_id: str) -> Orphan:
    branch = ws.branch_name(session_id, task_id)
    tip = ws._rev(f"refs/heads/{branch}^{{commit}}")
    path = ws.worktree_path(session_id, task_id)
    folder = path if path.is_dir() else None
    problems = []
    if tip is not None and not _is_base(ws, tip):
        problems.append(_commits_beyond_base(ws, tip))
    if folder is not None:
        problems += _worktree_problems(ws, folder, tip)
    return Orphan(session_id, task_id, branch if tip else None, folder, not problems, "; ".join(problems) or "no work")


def _is_base(ws: "Workspace", commit: str) -> bool:
    return ws._rev(f"refs/cockpit/bases/{commit}") is not None


def _commits_beyond_base(ws: "Workspace", tip: str) -> str:
    count = 0
    for sha in ws._git("rev-list", "--max-count=100", tip).splitlines():
        if _is_base(ws, sha):
            break
        count += 1
    return f"{count} commit{'s' * (count != 1)} beyond its base"


def _worktree_problems(ws: "Workspace", folder: Path, tip: str | None) -> list[str]:
    if not (folder / ".git").is_file():
        has_files = any(files for _, _, files in os.walk(folder))
        return ["files in a folder that is not a git worktree"] if has_files else []
    try:
        head = ws._git("rev-parse", "HEAD", cwd=folder)
        status = ws._git("status", "--porcelain", "-z", "--untracked-files=all", "--", ".", *JUNK_PATHSPECS, cwd=folder)
    except git.GitCommandError:
        return ["a worktree git cannot read"]
    problems = []
    if head != tip and not _is_base(ws, head):
        problems.append("commits off its branch")  # reachable from this worktree's HEAD only
    entries = [entry for entry in status.split("\0") if entry]
    if entries:
        names = ", ".join(entry[3:] for entry in entries[:3])
        problems.append(f"uncommitted edits: {names}{' ...' if len(entries) > 3 else ''}")
    return problems


# -- worktree-include -------------------------------------------------------------------------------------------


def copy_worktree_includes(workspace: "Workspace", worktree: Path) -> list[str]:
    """Copy the gitignored files named by `.cockpit/worktree-include` from the repo into a new `worktree`.

    Only regular files inside the repo are copied: never a symlink, nothing under a symlinked folder, nothing
    from .git or .cockpit; a file already in the worktree is left alone. Returns the paths copied.
    """
    ws = workspace
    include = ws.cockpit_dir / INCLUDE_FILE
    if not include.is_file():
        return []
    worktree = ws._own_worktree(worktree)
    with ws._lock:
        # git reads the patterns (gitignore syntax) and lists untracked files they match; of those, keep the ones
        # the repo's own ignore rules ignore (the others are already in the worktree through the base snapshot).
        wanted = _listed_files(ws, f"--exclude-from={include}")
        ignored = set(_listed_files(ws, "--exclude-standard", *wanted)) if wanted else set()
    copied = []
    for rel in wanted:
        if rel in ignored and _copy_one(ws.root, worktree, rel):
            copied.append(rel)
    return copied


def _listed_files(ws: "Workspace", exclude_option: str, *paths: str) -> list[str]:
    pathspecs = [f":(literal){path}" for path in paths] or ["."]
    found: list[str] = []
    for start in range(0, len(pathspecs), 500):
        out = ws._git_bytes("ls-files", "-z", "--others", "--ignored", exclude_option, "--",
                            *pathspecs[start : start + 500], ":(exclude).cockpit", ":(exclude).git")
        found += [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]
    return found


def _copy_one(repo: Path, worktree: Path, rel: str) -> bool:
    source = repo / rel
    if _through_symlink(repo, source) or not source.is_file():
        return False
    try:
        target = confine(worktree, rel)
    except PathRefused:
        return False
    if os.path.lexists(target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target, follow_symlinks=False)
    shutil.copymode(source, target, follow_symlinks=False)
    return True


def _through_symlink(root: Path, path: Path) -> bool:
    """True when `path` or a folder between `root` and it is a symlink."""
    current = path
    while current != root:
        if root not in current.parents or current.is_symlink():
            return True
        current = current.parent
    return False


# -- the user's branch ------------------------------------------------------------------------------------------


def current_branch(workspace: "Workspace") -> str | None:
    """The user's checked-out branch ("main"), or None when HEAD is detached."""
    return workspace._git("symbolic-ref", "-q", "--short", "HEAD", check=False) or None


@dataclass(frozen=True)
class BranchChange:
    old_branch: str | None
    new_branch: str | None
    old_head: str | None
    new_head: str | None

    def describe(self) -> str:
        if self.old_branch != self.new_branch:
            if self.new_branch is None:
                return f"HEAD detached at {_short(self.new_head)} (was on {self.old_branch})"
            return f"switched to branch {self.new_branch} (was {self.old_branch or 'detached HEAD'})"
        return f"{self.new_branch or 'HEAD'} moved: {_short(self.old_head)} -> {_short(self.new_head)}"


class BranchWatch:
    """Call check() now and then (it runs two small git commands); acknowledge() after cockpit's own commit."""

    def __init__(self, workspace: "Workspace") -> None:
        self.workspace = workspace
        self._seen = self._look()

    def _look(self) -> tuple[str | None, str | None]:
        with self.workspace._lock:
            return current_branch(self.workspace), self.workspace._rev("HEAD^{commit}")

    def check(self) -> BranchChange | None:
        now = self._look()
        if now == self._seen:
            return None
        change = BranchChange(self._seen[0], now[0], self._seen[1], now[1])
        self._seen = now
        return change

    def acknowledge(self) -> None:
        self._seen = self._look()


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "(no commit)"
