"""Rebase a stale change onto what the user has now, without touching the user's files.

The change base..commit is merged 3-way, file by file, onto a fresh snapshot of the user's tree, exactly as
apply_change would merge it, but into git objects only. The result is a new (base, commit) pair whose diff shows
the agent's work on top of the user's edits, never a reversal of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .workspace import check_id

if TYPE_CHECKING:
    from .workspace import ChangeDiff, Workspace


@dataclass
class RebaseResult:
    new_base: str  # a snapshot of the user's tree taken for this rebase
    new_commit: str | None  # None when a file conflicted, or (conflicted empty) the user already has the change
    conflicted: list[str] = field(default_factory=list)
    diff: ChangeDiff | None = None  # new_base..new_commit, ready for a change_proposed event


def rebase_change(workspace: "Workspace", change_id: str, base: str, commit: str) -> RebaseResult:
    """Re-apply the change base..commit onto a fresh snapshot of the user's tree; no file of theirs is written."""
    check_id(change_id, "change id")
    new_base = workspace.snapshot_base()
    message = f"cockpit: {change_id} rebased onto the user's edits\n\nbase {base}\nchange {commit}\n"
    new_commit, conflicted = workspace.merge_onto(base, commit, new_base, message)
    if new_commit is None:
        return RebaseResult(new_base, None, conflicted, None)
    return RebaseResult(new_base, new_commit, [], workspace.diff(new_base, new_commit))
