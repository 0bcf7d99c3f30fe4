"""Optional commits of applied changes (`[git] commit = true`): one commit per applied change, on the user's branch.

Only the applied paths go in: the commit is built in a temporary index seeded from HEAD, so whatever else the user
has staged or left unstaged stays as it was, and only those paths' entries of the user's index are then updated (so
`git status` is clean for them). The branch moves by compare-and-swap (`update-ref <branch> <new> <old>`): never a
rewrite, never a push. Plumbing only, so the user's hooks do not run, and nothing is signed (a pinentry prompt would
freeze the cockpit). The author is the user (they approved the change); cockpit is credited in a trailer.

What goes in is each applied file as it is in the working tree, which includes any edits the user had made to that
same file before approving; a file with changes the user has staged is refused rather than guessed at.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

import git

if TYPE_CHECKING:
    from cockpit.workspace import Workspace

TRAILER = "Co-authored-by: cockpit <cockpit@localhost>"
_ZERO = "0" * 40
_TYPE_BY_AGENT = {
    "coder": "feat", "tester": "test", "docs": "docs", "release": "chore(release)", "reviewer": "fix",
    "planner": "chore",
}
_FIX_WORDS = re.compile(r"(fix|bug|repair|correct|resolve|patch)\w*\b", re.IGNORECASE)
_CONVENTIONAL = re.compile(r"[a-z]+(\([^)]*\))?!?: ")
_SUBJECT_MAX = 72
# Operations during which a commit of ours would land in the middle of the user's work.
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge", "CHERRY_PICK_HEAD": "a cherry-pick", "REVERT_HEAD": "a revert",
    "rebase-merge": "a rebase", "rebase-apply": "a rebase or am", "BISECT_LOG": "a bisect",
}


class CommitRefused(Exception):
    """Committing is not safe or not possible now; str(exc) is one line for the status bar."""


def commit_message(task_title: str, agent: str, summary: str) -> str:
    """A Conventional Commits message: `<type>: <title>`, the summary as body, and cockpit's trailer.

    The type follows the agent's role (coder feat, or fix when the title says so; tester test; docs docs; release
    chore(release); reviewer fix; anything else chore). A title that already has a type keeps it.
    """
    title = " ".join(task_title.split()).rstrip(".") or "apply a change"
    if not _CONVENTIONAL.match(title):
        kind = _TYPE_BY_AGENT.get(agent, "chore")
        if kind == "feat" and _FIX_WORDS.match(title):
            kind = "fix"
        if len(title) > 1 and title[0].isupper() and title[1].islower():
            title = title[0].lower() + title[1:]  # "Add x" -> "add x"; "README x" stays
        title = f"{kind}: {title}"
    if len(title) > _SUBJECT_MAX:
        title = title[: _SUBJECT_MAX - 3].rstrip() + "..."
    body = summary.strip()
    return f"{title}\n\n{body}\n\n{TRAILER}\n" if body else f"{title}\n\n{TRAILER}\n"


def commit_applied(workspace: "Workspace", files: Iterable[str], message: str) -> str | None:
    """Commit exactly `files` (paths relative to the repo root) as they are in the working tree on the user's
    current branch; the new commit's sha, or None when those files already match HEAD. Raises CommitRefused."""
    ws = workspace
    files = sorted(set(files))
    if not files:
        return None
    with ws._lock:
        branch_ref = _branch_to_commit_on(ws)
        head = ws._rev("HEAD^{commit}")  # None on a branch without commits yet
        _refuse_staged(ws, files)
        try:
            tree = _tree_with(ws, head, files)
            if head is not None and tree == ws._git("rev-parse", f"{head}^{{tree}}"):
                return None
            sha = _commit(ws, tree, head, message)
        except git.GitCommandError as exc:
            raise CommitRefused(f"not committed: git said {_last_line(exc.stderr)}") from None
        try:
            ws._git("update-ref", "-m", f"cockpit: {message.splitlines()[0]}", branch_ref, sha, head or _ZERO)
        except git.GitCommandError:
            raise CommitRefused("not committed: your branch moved while cockpit was committing") from None
        _sync_user_index(ws, sha, files)
        return sha


def _branch_to_commit_on(ws: "Workspace") -> str:
    ref = ws._git("symbolic-ref", "-q", "HEAD", check=False)
    if not ref:
        raise CommitRefused("not committing: HEAD is detached (check out a branch to let cockpit commit)")
    if not ref.startswith("refs/heads/"):
        raise CommitRefused(f"not committing: HEAD points at {ref}, not a local branch")
    for name, what in _IN_PROGRESS.items():
        if (ws.root / ws._git("rev-parse", "--git-path", name)).exists():
            raise CommitRefused(f"not committing: {what} is in progress")
    return ref


def _refuse_staged(ws: "Workspace", files: list[str]) -> None:
    """The user's own staged changes to these paths are theirs to commit; cockpit will not mix them in."""
    staged = []
    for chunk in _chunks(files):
        out = ws._git("--literal-pathspecs", "diff", "--cached", "--name-only", "-z", "--", *chunk)
        staged += [path for path in out.split("\0") if path]
    if staged:
        shown = ", ".join(staged[:3]) + (" ..." if len(staged) > 3 else "")
        raise CommitRefused(f"not committing: you have staged changes in {shown}")


def _tree_with(ws: "Workspace", head: str | None, files: list[str]) -> str:
    """HEAD's tree with only `files` taken from the working tree (added, changed or removed)."""
    with ws._temp_index() as env:
        if head is not None:
            ws._git("read-tree", head, env=env)
        for chunk in _chunks(files):
            # update-index takes paths literally, reads through the clean filters like `git add`, ignores
            # .gitignore (the change is already approved) and drops a path that is gone from the working tree.
            ws._git("update-index", "--add", "--remove", "--", *chunk, env=env)
        return ws._git("write-tree", env=env)


def _commit(ws: "Workspace", tree: str, head: str | None, message: str) -> str:
    parents = ["-p", head] if head else []
    try:
        return ws._git("commit-tree", tree, *parents, "--no-gpg-sign", "-m", message.rstrip("\n"))
    except git.GitCommandError as exc:
        if any(word in str(exc.stderr) for word in ("identity", "user.email", "user.name")):
            raise CommitRefused("not committed: set git's user.name and user.email first") from None
        raise


def _sync_user_index(ws: "Workspace", sha: str, files: list[str]) -> None:
    """Point the user's index entries for `files` at the new commit (and nothing else), so they show clean."""
    in_commit = ws.tree_blobs(sha, files)
    for path in files:
        if path in in_commit:
            mode, blob = in_commit[path]
            ws._git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}")
        else:
            ws._git("update-index", "--force-remove", "--", path)


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _last_line(text: object) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "an unknown error"
