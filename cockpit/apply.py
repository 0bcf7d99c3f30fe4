"""Approving a change into the user's working tree, by hunk, and undoing it: 3-way per file, all or nothing.

The user's files change only here. Before writing, an apply records two commits on hidden refs: the prior content
of every path it will write (refs/cockpit/snapshots/<id>) and what it writes (refs/cockpit/applied/<id>, whose
parent is the snapshot). The pair makes an apply undoable, and makes an apply that was killed half-way resumable:
applying the same change again replays the recorded writes 3-way instead of taking a new snapshot, so the snapshot
keeps what the user had before the first attempt and a later undo still gives it back.

Change commits hold files as git stores them; the user's tree holds them as git checks them out (autocrlf, eol,
filters such as git-lfs). Blobs of a change are read through `git cat-file --filters` so both sides compare in the
user's form. Snapshot commits hold the user's bytes as they were, so undo reads them raw.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from cockpit import paths
from cockpit.gitdiff import build_patch, parse_hunks

if TYPE_CHECKING:
    from cockpit.events import Event
    from cockpit.workspace import Workspace, _State, _Write

_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_REGULAR_MODES = ("100644", "100755")


class NothingToUndo(ValueError):
    """The change was never applied here (or its snapshot refs are gone)."""


@dataclass
class ApplyResult:
    applied: list[str]
    conflicted: list[str]
    snapshot: str | None  # the commit holding the prior content (refs/cockpit/snapshots/<change_id>)


@dataclass
class _Entry:
    """One path of `git diff --raw` between two commits."""

    path: str
    old_mode: str
    old_sha: str
    new_mode: str
    new_sha: str


def display_path(path: str) -> str:
    """A path as the journal and the UI show it (undecodable bytes replaced), for matching hunk keys."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def applied_stack(events: Iterable["Event"]) -> list[str]:
    """Change ids applied and not undone, oldest first, folded from a session's events; `u` undoes the last one.

    Knows `change_applied` and `change_undone{change_id}`; a change applied again after its undo moves to the top.
    """
    stack: list[str] = []
    for event in events:
        if event.type in ("change_applied", "change_undone"):
            change_id = event.get("change_id")
            if change_id in stack:
                stack.remove(change_id)
            if event.type == "change_applied":
                stack.append(change_id)
    return stack


class ChangeApplier:
    """Hunk selection, apply and undo against one Workspace; every method runs under the workspace's git lock."""

    def __init__(self, workspace: "Workspace") -> None:
        self.ws = workspace

    # -- choosing hunks ---------------------------------------------------------------------------------------

    def select_hunks(self, base: str, commit: str, keep: Iterable[tuple[str, int]], message: str = "") -> str | None:
        """A commit on top of `base` holding only the kept hunks of base..commit, or None if none are kept.

        `keep` holds (path, hunk index) pairs numbered as gitdiff.parse_hunks numbers Workspace.diff's text. A file
        without hunks (binary, empty, mode change only) is kept whole with index 0, as is a file with every hunk
        kept (so added, deleted and binary files are always whole). A mode change goes with any kept hunk of its
        file. The same selection of the same commit gives the same commit id, so a resumed apply can recognise it.
        """
        ws = self.ws
        keep = {(path, int(index)) for path, index in keep}
        with ws._lock:
            files = parse_hunks(ws.patch_text(base, commit))
            entries = {entry.path: entry for entry in self._entries(base, commit)}
            with ws._temp_index() as env:
                ws._git("read-tree", base, env=env)
                partial = []
                for file in files:
                    kept = {i for i in range(max(len(file.hunks), 1))
                            if (file.path, i) in keep or (display_path(file.path), i) in keep}
                    if not kept:
                        continue
                    if file.path not in entries:
                        raise ValueError(f"cannot select hunks of {display_path(file.path)!r}: git lists no such path")
                    if not file.hunks or len(kept) == len(file.hunks):
                        self._take_whole_file(entries[file.path], env)
                    else:
                        partial.append(build_patch([file], {(file.path, index) for index in kept}))
                if partial:
                    patch = Path(env["GIT_INDEX_FILE"]).with_name("selected.patch")
                    patch.write_bytes("".join(partial).encode("utf-8", "surrogateescape"))
                    ws._git("apply", "--cached", "--whitespace=nowarn", "--", str(patch), env=env)
                tree = ws._git("write-tree", env=env)
            if tree == ws._git("rev-parse", f"{base}^{{tree}}"):
                return None
            return ws._commit_tree(
                tree, message or f"cockpit: selected hunks of {commit}", [base], env=self._dates_of(commit)
            )

    def _take_whole_file(self, entry: _Entry, env: dict) -> None:
        if entry.new_mode == "000000":
            self.ws._git("update-index", "--force-remove", "--", entry.path, env=env)
        else:
            info = f"{entry.new_mode},{entry.new_sha},{entry.path}"
            self.ws._git("update-index", "--add", "--cacheinfo", info, env=env)

    def _dates_of(self, commit: str) -> dict[str, str]:
        author, committer = self.ws._git("log", "-1", "--format=%ad%n%cd", "--date=raw", commit).splitlines()
        return {"GIT_AUTHOR_DATE": author, "GIT_COMMITTER_DATE": committer}

    # -- apply and undo ---------------------------------------------------------------------------------------

    def apply(self, change_id: str, base: str, commit: str) -> ApplyResult:
        """Apply base..commit to the user's tree; applying the same (base, commit) again is safe (resume)."""
        with self.ws._lock:
            return self._apply_between(change_id, base, commit, stored_form=True)

    def undo(self, change_id: str) -> ApplyResult:
        """Put back what an applied change replaced, 3-way: edits the user made since survive; an undo that
        overlaps them is reported conflicted and writes nothing."""
        with self.ws._lock:
            before = self.ws._rev(f"refs/cockpit/snapshots/{change_id}")
            after = self.ws._rev(f"refs/cockpit/applied/{change_id}")
            if not (before and after):
                raise NothingToUndo(f"no applied change {change_id!r} to undo")
            return self._apply_between(f"{change_id}.undo", after, before, stored_form=False)

    def can_undo(self, change_id: str) -> bool:
        with self.ws._lock:
            return bool(self.ws._rev(f"refs/cockpit/snapshots/{change_id}")
                        and self.ws._rev(f"refs/cockpit/applied/{change_id}"))

    def _apply_between(self, record_id: str, base: str, commit: str, stored_form: bool) -> ApplyResult:
        """`stored_form`: base and commit hold files as git stores them (a change), not as the user's tree does."""
        entries = self._entries(base, commit)
        record = self._record_of(record_id, base, commit)
        if record is None:
            writes, conflicted = self._plan(entries, filtered=stored_form)
        else:  # an earlier attempt recorded its writes: finish those from the record, and keep its snapshot
            writes, conflicted = self._plan(self._entries(*record), filtered=False)
        if conflicted:
            return ApplyResult(applied=[], conflicted=conflicted, snapshot=None)
        snapshot = record[0] if record else self._record_writes(record_id, base, commit, writes)
        self._perform(writes)
        return ApplyResult(applied=[entry.path for entry in entries], conflicted=[], snapshot=snapshot)

    def _entries(self, base: str, commit: str) -> list[_Entry]:
        return [_Entry(*entry) for entry in self.ws._raw_changes(base, commit)]

    def _plan(self, entries: list[_Entry], filtered: bool) -> tuple[list["_Write"], list[str]]:
        from cockpit.workspace import _CONFLICT, _Write

        writes, conflicted = [], []
        for entry in entries:
            current = self.ws._user_state(entry.path)
            if isinstance(current, str):  # a symlinked parent folder, a folder in the way...
                conflicted.append(entry.path)
                continue
            base = self._stored_state(entry.path, entry.old_mode, entry.old_sha, filtered)
            new = self._stored_state(entry.path, entry.new_mode, entry.new_sha, filtered)
            merged = self.ws._merged_state(current, base, new)
            if merged is _CONFLICT:
                conflicted.append(entry.path)
            elif merged != current:
                writes.append(_Write(entry.path, current, merged))
        return writes, conflicted

    def _stored_state(self, path: str, mode: str, sha: str, filtered: bool) -> "_State | None":
        state = self.ws._blob_state(mode, sha)
        if state is None or not filtered or mode not in _REGULAR_MODES:
            return state
        # What `git checkout` would write for this blob at this path (autocrlf, eol, smudge filters).
        data = self.ws._git_bytes("cat-file", "--filters", f"--path={path}", sha)
        return type(state)(state.kind, data, state.executable)

    def _record_of(self, record_id: str, base: str, commit: str) -> tuple[str, str] | None:
        """(snapshot, applied) of an earlier attempt at this same apply, or None."""
        before = self.ws._rev(f"refs/cockpit/snapshots/{record_id}")
        after = self.ws._rev(f"refs/cockpit/applied/{record_id}")
        if not (before and after) or self.ws._rev(f"{after}^") != before:
            return None  # never recorded, or a kill between the two ref updates of another attempt
        lines = self.ws._git("log", "-1", "--format=%B", before).splitlines()
        return (before, after) if f"base {base}" in lines and f"change {commit}" in lines else None

    def _record_writes(self, record_id: str, base: str, commit: str, writes: list["_Write"]) -> str:
        """Two commits: the prior content of every written path (the snapshot), and what is about to be written."""
        ws = self.ws
        before = {w.path: w.before for w in writes if w.before is not None}
        after = {w.path: w.after for w in writes if w.after is not None}
        message = f"cockpit: snapshot before applying {record_id}\n\nbase {base}\nchange {commit}\n"
        before_sha = ws._commit_tree(ws._tree_of(before) if before else _EMPTY_TREE, message)
        after_sha = ws._commit_tree(ws._tree_of(after) if after else _EMPTY_TREE, f"cockpit: applied {record_id}",
                                    [before_sha])
        ws._git("update-ref", f"refs/cockpit/snapshots/{record_id}", before_sha)
        ws._git("update-ref", f"refs/cockpit/applied/{record_id}", after_sha)
        return before_sha

    def _perform(self, writes: list["_Write"]) -> None:
        """Write every file atomically; if one write fails, put back the ones already written."""
        done: list["_Write"] = []
        try:
            for write in sorted(writes, key=lambda w: w.after is not None):  # deletions first (file -> folder)
                self._write_state(write.path, write.after)
                done.append(write)
        except BaseException:
            for write in reversed(done):
                try:
                    self._write_state(write.path, write.before)
                except OSError:
                    pass  # the snapshot still holds it; undo can bring it back
            raise

    def _write_state(self, path: str, state: "_State | None") -> None:
        target = self.ws.root / path
        _remove_leftover_temp_files(target)
        if state is None:
            paths.remove_file(target, stop_at=self.ws.root)
        elif state.kind == "link":
            paths.symlink_atomic(target, os.fsdecode(state.data))
        else:
            paths.write_atomic(target, state.data, executable=state.executable)


def _remove_leftover_temp_files(target: Path) -> None:
    """Temp files that paths.write_atomic or symlink_atomic left beside `target` when a process was killed
    mid-write. Their names are exact (mkstemp's 8 characters, or pid.id), so another file's temp never matches."""
    own = re.compile(rf"\.{re.escape(target.name)}\.([a-z0-9_]{{8}}|\d+\.\d+)\.cockpit-tmp")
    for leftover in glob.glob(glob.escape(str(target.parent / f".{target.name}.")) + "*.cockpit-tmp"):
        if own.fullmatch(os.path.basename(leftover)) and (os.path.islink(leftover) or os.path.isfile(leftover)):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
