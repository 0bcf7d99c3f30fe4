"""What happens to a proposed change once its agent is done: apply (whole, or some hunks), rebase onto the user's
edits, undo, and optionally commit. Every step is an event; git work goes through the runner's one git lane.

It also remembers what our own applies wrote, so the watcher does not mistake cockpit's writes for the user's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import Runner
    from .workspace import ApplyResult

Hunks = list[tuple[str, int]]  # (path, hunk index within that file), as DiffView.selected_hunk_keys() gives


class ChangeDesk:
    def __init__(self, runner: "Runner") -> None:
        self.runner = runner
        self.session = runner.session
        self.workspace = runner.workspace
        self._own_writes: dict[str, tuple[str, str] | None] = {}  # path -> what our last apply left there

    # -- apply -------------------------------------------------------------------------------------------------

    async def apply(self, change_id: str) -> "ApplyResult":
        """Apply an approved change (the hunks its decision kept) to the user's tree, 3-way, all or nothing."""
        change = self.session.state.changes[change_id]
        hunks = change.hunks if isinstance(change.hunks, list) else None
        result = await self.runner.git(self._apply, change_id, change.base, change.commit, hunks)
        if result.conflicted:
            self.session.emit("change_conflicted", change_id=change_id, files=result.conflicted)
            return result
        self.session.emit("change_applied", change_id=change_id, files=result.applied, snapshot=result.snapshot)
        if self.runner.config.commit_changes and result.applied:
            await self._commit(change_id, result.applied)
        return result

    def _apply(self, change_id: str, base: str, commit: str, hunks: Hunks | None) -> "ApplyResult":
        if hunks is not None:
            commit = self.workspace.select_hunks(base, commit, [tuple(h) for h in hunks]) or base
        result = self.workspace.apply_change(self._ref(change_id), base, commit)
        self._remember(result.applied)
        return result

    def _ref(self, change_id: str) -> str:
        """The name of a change's snapshot refs: change ids repeat across sessions, so the session is part of it."""
        return f"{self.session.session_id}_{change_id}"

    def _remember(self, paths: list[str]) -> None:
        written = self.workspace.working_blobs(paths)
        self._own_writes.update({path: written.get(path) for path in paths})

    def take_own_writes(self, paths: set[str]) -> set[str]:
        """Of `paths` the watcher saw change, those that still hold exactly what our own apply or undo wrote."""
        mine = [p for p in paths if p in self._own_writes]
        now = self.workspace.working_blobs(mine)
        ours = {p for p in mine if now.get(p) == self._own_writes[p]}
        for path in mine:
            del self._own_writes[path]
        return ours

    async def _commit(self, change_id: str, files: list[str]) -> None:
        from .commits import CommitRefused, commit_applied, commit_message

        change = self.session.state.changes[change_id]
        task = self.session.state.tasks[change.task_id]
        message = commit_message(task.task.title, task.task.agent, task.summary)
        try:
            sha = await self.runner.git(commit_applied, self.workspace, files, message)
        except CommitRefused as exc:
            self.session.emit("error", task_id=change.task_id, kind="commit", message=str(exc))
            return
        if self.runner.branch_watch is not None:
            await self.runner.git(self.runner.branch_watch.acknowledge)  # our commit is not the user's move
        if sha:
            self.session.emit("change_committed", change_id=change_id, commit=sha)

    # -- undo --------------------------------------------------------------------------------------------------

    async def undo(self, change_id: str | None = None) -> "ApplyResult | None":
        """Undo the last applied change (or the one named), 3-way, so edits made since survive."""
        state = self.session.state
        change_id = change_id or (state.applied_order[-1] if state.applied_order else None)
        if change_id is None:
            self.session.emit("error", task_id=None, kind="undo", message="nothing to undo: no change is applied")
            return None
        result = await self.runner.git(self._undo, change_id)
        if result.conflicted:
            self.session.emit("error", task_id=state.changes[change_id].task_id, kind="undo",
                              message=f"cannot undo {change_id}: your later edits to {', '.join(result.conflicted)} "
                                      "overlap it; nothing was changed")
            return result
        self.session.emit("change_undone", change_id=change_id, files=result.applied, snapshot=result.snapshot)
        return result

    def _undo(self, change_id: str) -> "ApplyResult":
        result = self.workspace.undo_change(self._ref(change_id))
        if not result.conflicted:
            self._remember(result.applied)
        return result

    # -- rebase ------------------------------------------------------------------------------------------------

    async def rebase(self, change_id: str) -> str | None:
        """Re-make a pending change on the user's current files; the new change's id, or None if it clashes."""
        from .rebase import rebase_change

        state = self.session.state
        change = state.changes[change_id]
        if change.status != "pending":
            return None
        result = await self.runner.git(rebase_change, self.workspace, change_id, change.base, change.commit)
        if result.new_commit is None or state.changes[change_id].status != "pending":
            return None
        new_id = state.next_change_id(change.task_id)
        self.session.emit(
            "change_proposed", change_id=new_id, task_id=change.task_id, files=result.diff.files, diff=result.diff.diff,
            base=result.new_base, commit=result.new_commit, binary=result.diff.binary,
            summary=state.tasks[change.task_id].summary, checks=change.checks, rebased_from=change_id,
        )
        self.session.emit("change_decided", change_id=change_id, decision="rejected", hunks=[],
                          reason=f"superseded: rebased onto your edits as {new_id}")
        self._hand_over(change_id, {"approved": False, "superseded_by": new_id})
        return new_id

    def _hand_over(self, change_id: str, answer: dict[str, Any]) -> None:
        for request in list(self.session.state.decisions.values()):
            if request.kind == "change" and request.payload.get("change_id") == change_id:
                self.session.resolve(request.request_id, answer)
