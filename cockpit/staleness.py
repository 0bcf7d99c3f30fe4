"""Which proposed changes the user's edits have overtaken, and the note that tells a working agent about them.

A change is STALE when, for some file it touches, the user's file no longer holds what it held at the change's
base: applying it then takes a 3-way merge (or a rebase, see rebase.py) instead of a plain write. Everything here
is synchronous git work through Workspace; the runner calls it in a thread like every other workspace call.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .state import ChangeState
    from .workspace import Workspace

NOTE_CAP = 4000  # characters of diff in one note: enough to show the edit, small beside a model's context
NOTE_HEADER = "The user edited these files while you were working; keep their changes, do not revert them:"
_TEXT_MODES = ("100644", "100755")


def stale_files(workspace: "Workspace", change: "ChangeState") -> list[str]:
    """The files of `change` whose content in the user's tree differs from their content at `change.base`.

    Blob ids are compared as git would store the user's files (filters such as autocrlf applied), modes too; a
    file missing on one side only counts.
    """
    at_base = workspace.tree_blobs(change.base, change.files)
    now = workspace.working_blobs(change.files)
    return [path for path in change.files if now.get(path) != at_base.get(path)]


def stale_changes(
    workspace: "Workspace", changes: Iterable["ChangeState"], edited: set[str] | None = None
) -> dict[str, list[str]]:
    """change_id -> stale files, for the changes touching any `edited` path (every change when None).

    Changes that touch no edited path are left out: the user's save could not have changed their answer.
    """
    result = {}
    for change in changes:
        if edited is None or edited.intersection(change.files):
            result[change.change_id] = stale_files(workspace, change)
    return result


def user_edit_note(workspace: "Workspace", base: str, paths: Iterable[str]) -> str:
    """A note for an agent: the unified diff of the user's edits to `paths` since `base`, cut at about 4 KB.

    Empty when none of `paths` differs from `base` (the user saved without changing anything, or undid it).
    """
    paths = sorted(set(paths))
    at_base, now_blobs = workspace.tree_blobs(base, paths), workspace.working_blobs(paths)
    parts = []
    for path in paths:
        entry = at_base.get(path)
        if now_blobs.get(path) == entry:
            continue
        now = workspace.working_file(path)
        before = workspace.read_blob(entry[1]) if entry and entry[0] in _TEXT_MODES else None
        after = now[1] if now is not None and now[0] in _TEXT_MODES else None
        parts.append(_file_diff(path, before, after, entry is not None, now is not None))
    if not parts:
        return ""
    text = "".join(parts)
    if len(text) > NOTE_CAP:
        cut = text.rfind("\n", 0, NOTE_CAP) + 1 or NOTE_CAP
        text = text[:cut] + f"... (cut: {len(text) - cut} more characters; read the files for the rest)\n"
    return f"{NOTE_HEADER}\n```diff\n{text}```"


def _file_diff(path: str, before: bytes | None, after: bytes | None, existed: bool, exists: bool) -> str:
    """One file's part of the note; files that are not text (binary, symlinks, folders) get one line."""
    if not exists:
        return f"--- a/{path}\n+++ /dev/null\n(the user deleted {path})\n"
    if (existed and before is None) or after is None or _binary(before) or _binary(after):
        return f"--- a/{path}\n+++ b/{path}\n(the user changed {path}, which is not a text file)\n"
    old_lines = _lines(before) if existed else []
    lines = difflib.unified_diff(
        old_lines, _lines(after), f"a/{path}" if existed else "/dev/null", f"b/{path}", n=2, lineterm=""
    )
    text = "".join(line + "\n" for line in lines)
    return text or f"--- a/{path}\n+++ b/{path}\n(the user changed the mode or line endings of {path})\n"


def _lines(data: bytes | None) -> list[str]:
    # Without line ends: the base is in git's stored form, the user's file in checkout form (CRLF, say).
    return (data or b"").decode("utf-8", "replace").splitlines()


def _binary(data: bytes | None) -> bool:
    return data is not None and b"\0" in data[:8000]
