"""Unified git diffs split into files and hunks, for review one hunk at a time, and put back together.

Hunk bodies are read by their line counts, not by their looks: a removed line `-- x` reads `--- x`, which is
also what a file header looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


@dataclass
class Hunk:
    header: str  # the "@@ -a,b +c,d @@ context" line
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[str] = field(default_factory=list)  # body lines with their " ", "+", "-" or "\" prefix

    @property
    def added(self) -> int:
        return sum(line.startswith("+") for line in self.lines)

    @property
    def removed(self) -> int:
        return sum(line.startswith("-") for line in self.lines)

    def text(self) -> str:
        return "\n".join([self.header, *self.lines]) + "\n"


@dataclass
class FileDiff:
    path: str  # the path after the change (the old path for a deletion)
    old_path: str | None  # None for an added file
    new_path: str | None  # None for a deleted file
    status: str  # added, deleted, modified, renamed, copied
    binary: bool = False
    header: list[str] = field(default_factory=list)  # "diff --git" up to the first hunk
    hunks: list[Hunk] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.header) + "\n" + "".join(hunk.text() for hunk in self.hunks)


def unquote_path(text: str) -> str:
    """Undo git's C-style quoting of unusual paths ("a/t\\303\\251st" -> a/tést)."""
    if not (len(text) >= 2 and text[0] == '"' and text[-1] == '"'):
        return text
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt).encode()
            i += 2
            continue
        out += char.encode()
        i += 1
    return out.decode("utf-8", errors="surrogateescape")


def _strip_prefix(path: str) -> str | None:
    path = unquote_path(path.split("\t")[0] if not path.startswith('"') else path)
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def _paths_from_git_line(line: str) -> tuple[str, str]:
    """Best effort for headers without ---/+++ lines (binary, mode-only): `diff --git a/x b/x`."""
    rest = line[len("diff --git ") :]
    if rest.startswith('"'):
        end = rest.index('"', 1)
        while rest[end - 1] == "\\":
            end = rest.index('"', end + 1)
        first, second = rest[: end + 1], rest[end + 2 :]
    else:
        # Unquoted and ambiguous when paths hold spaces; old and new are the same path unless renamed,
        # and renames carry their own "rename from/to" lines.
        half = (len(rest) - 1) // 2
        first, second = (rest[:half], rest[half + 1 :]) if rest[:half][2:] == rest[half + 1 :][2:] else rest.split(" ", 1)
    return _strip_prefix(first) or "", _strip_prefix(second) or ""


def _parse_header(file: FileDiff) -> None:
    old, new = _paths_from_git_line(file.header[0])
    status = "modified"
    for line in file.header[1:]:
        if line.startswith("new file mode"):
            status = "added"
        elif line.startswith("deleted file mode"):
            status = "deleted"
        elif line.startswith("rename from "):
            status, old = "renamed", unquote_path(line[len("rename from ") :])
        elif line.startswith("rename to "):
            new = unquote_path(line[len("rename to ") :])
        elif line.startswith("copy from "):
            status, old = "copied", unquote_path(line[len("copy from ") :])
        elif line.startswith("copy to "):
            new = unquote_path(line[len("copy to ") :])
        elif line.startswith("--- "):
            old = _strip_prefix(line[4:])
        elif line.startswith("+++ "):
            new = _strip_prefix(line[4:])
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            file.binary = True
    file.status = status
    file.old_path = None if status == "added" else old
    file.new_path = None if status == "deleted" else new
    file.path = file.new_path or file.old_path or ""


def _read_hunk(lines: list[str], start: int) -> tuple[Hunk, int]:
    match = _HUNK_HEADER.match(lines[start])
    assert match is not None
    old_start, old_count = int(match[1]), int(match[2] if match[2] is not None else 1)
    new_start, new_count = int(match[3]), int(match[4] if match[4] is not None else 1)
    hunk = Hunk(lines[start], old_start, old_count, new_start, new_count)
    i, old_left, new_left = start + 1, old_count, new_count
    while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
        line = lines[i]
        if line.startswith("\\"):
            pass  # "\ No newline at end of file" belongs to the line before it
        elif line.startswith("+"):
            new_left -= 1
        elif line.startswith("-"):
            old_left -= 1
        elif line.startswith(" ") or line == "":
            old_left, new_left = old_left - 1, new_left - 1
        else:
            break  # a truncated hunk: stop rather than swallow the next file
        hunk.lines.append(line)
        i += 1
    return hunk, i


def parse_hunks(diff: str) -> list[FileDiff]:
    """Split a `git diff` output into files, each with its hunks."""
    lines = diff.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    files: list[FileDiff] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("diff --git "):
            i += 1
            continue
        file = FileDiff(path="", old_path=None, new_path=None, status="modified", header=[lines[i]])
        i += 1
        while i < len(lines) and not lines[i].startswith(("diff --git ", "@@ ")):
            file.header.append(lines[i])
            i += 1
        _parse_header(file)
        while i < len(lines) and lines[i].startswith("@@ "):
            hunk, i = _read_hunk(lines, i)
            file.hunks.append(hunk)
        files.append(file)
    return files


def build_patch(files: list[FileDiff], keep: set[tuple[str, int]]) -> str:
    """A patch holding only the hunks in `keep` ((path, hunk index) pairs); files with none kept are left out."""
    parts = []
    for file in files:
        hunks = [hunk for index, hunk in enumerate(file.hunks) if (file.path, index) in keep]
        if hunks:
            parts.append("\n".join(file.header) + "\n" + "".join(hunk.text() for hunk in hunks))
    return "".join(parts)
