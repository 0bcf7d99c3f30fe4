"""Following the user's edits: a save in the editor becomes events, refreshed changes, and notes for agents.

On each (debounced) batch of saved paths:
- pending changes that touch a saved file are re-checked; one whose base no longer matches the user's file is
  rebased onto it at once when that merges cleanly (the new change supersedes the old, so the diff under review
  always shows the current base), and marked stale with the clashing files when it does not;
- an agent at work that has read or written a saved file gets a note with the user's edit before its next call,
  so it never reverts it.
cockpit's own applies are recognised (by content) and are not reported as the user's edits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hygiene import BranchWatch
from .staleness import stale_changes, user_edit_note
from .watcher import RepoWatcher

if TYPE_CHECKING:
    from .events import Event
    from .runner import Runner

FILE_TOOLS = {"read_file", "write_file", "edit_file"}


class EditFollower:
    def __init__(self, runner: "Runner", debounce_ms: int = 50) -> None:
        self.runner = runner
        self.session = runner.session
        self.workspace = runner.workspace
        self._touched: dict[str, set[str]] = {}  # task_id -> paths its agent read or wrote this attempt
        self._note_base: dict[str, str] = {}  # task_id -> the snapshot its next note is measured from
        self.watcher = RepoWatcher(self.workspace.root, self.on_change, debounce_ms, on_error=self._on_error)
        self.session.subscribe(self._on_event)

    async def start(self) -> None:
        self.runner.branch_watch = await self.runner.git(BranchWatch, self.workspace)
        await self.watcher.start()

    async def stop(self) -> None:
        await self.watcher.stop()

    def _on_event(self, event: "Event") -> None:
        task_id = event.get("task_id")
        if event.type == "task_updated" and event.get("status") == "running" and event.get("base"):
            self._touched[task_id] = set()
            self._note_base[task_id] = event.get("base")
        elif event.type == "tool_called" and event.get("tool") in FILE_TOOLS:
            path = (event.get("args") or {}).get("path")
            if isinstance(path, str):
                self._touched.setdefault(task_id, set()).add(path)

    def _on_error(self, message: str) -> None:
        self.session.emit("error", task_id=None, kind="watcher", message=message)

    async def on_change(self, paths: set[str]) -> None:
        runner = self.runner
        moved = await runner.git(runner.branch_watch.check) if runner.branch_watch is not None else None
        if moved is not None:  # a checkout outside cockpit: say so, since every base and diff is against the old tree
            self.session.emit("branch_changed", message=moved.describe())
        ours = await runner.git(runner.changes.take_own_writes, paths)
        user_paths = sorted(paths - ours)
        if not user_paths:
            return
        self.session.emit("user_edited", paths=user_paths)
        await self._refresh_changes(set(user_paths))
        await self._note_agents(set(user_paths))

    async def _refresh_changes(self, edited: set[str]) -> None:
        state = self.session.state
        pending = [c for c in state.changes.values() if c.status == "pending"]
        stale = await self.runner.git(stale_changes, self.workspace, pending, edited)
        for change_id, files in stale.items():
            change = state.changes.get(change_id)
            if change is None or change.status != "pending":
                continue  # decided while we were looking
            if not files:
                if change.stale:
                    self.session.emit("change_stale", change_id=change_id, files=[])
                continue
            new_id = await self.runner.changes.rebase(change_id)
            if new_id is None and self.session.state.changes[change_id].stale != files:
                self.session.emit("change_stale", change_id=change_id, files=files)

    async def _note_agents(self, edited: set[str]) -> None:
        state = self.session.state
        for task_id, touched in list(self._touched.items()):
            task = state.tasks.get(task_id)
            hit = touched & edited
            if task is None or task.status != "running" or not hit or task_id not in self._note_base:
                continue
            note = await self.runner.git(user_edit_note, self.workspace, self._note_base[task_id], sorted(hit))
            if note and self.runner.send_note(task_id, note):
                self._note_base[task_id] = await self.runner.git(self.workspace.snapshot_base)
