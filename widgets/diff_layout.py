"""A unified diff laid out as display rows for `DiffView`: one cheap pass, no highlighting, no Textual.

Each row is a kind, its text and its old/new line numbers, kept in flat arrays so that a 20,000-line diff costs a
few milliseconds to lay out; highlighting happens later, only for the rows on screen. Files and hunks come from
`cockpit.gitdiff.parse_hunks`, so hunk numbers match what `Workspace.select_hunks` expects. The pygments split of
one row into syntax kinds lives here too (`highlight_code`); DiffView calls it only for rows on screen.
"""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Any, Iterable, NamedTuple

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Token, _TokenType
from pygments.util import ClassNotFound

from cockpit.gitdiff import FileDiff, Hunk, parse_hunks


class Row(IntEnum):
    FILE = 0  # one row per file: its path, status and +/- counts
    META = 1  # mode changes, binary notes
    HUNK = 2  # the "@@ -a,b +c,d @@" header
    CONTEXT = 3
    ADDED = 4
    REMOVED = 5
    NO_NEWLINE = 6  # "\ No newline at end of file"
    FINDING = 7  # a reviewer's finding, under the line it points at
    PLAIN = 8  # input that is not a git diff, shown as is


class HunkSpan(NamedTuple):
    file: str
    start_line: int  # the row of the hunk's "@@" header
    end_line: int  # the hunk's last row, inclusive (its finding rows included)


SEVERITY_LEVELS = {"critical": "high", "high": "high", "medium": "medium", "moderate": "medium"}
_LEVEL_RANK = {"high": 3, "medium": 2, "low": 1}
_MODE_PREFIXES = ("old mode", "new mode", "Binary files ", "similarity index", "dissimilarity index")


def severity_level(severity: Any) -> str:
    """high, medium or low: the three colours a finding can take (unknown severities count as low)."""
    return SEVERITY_LEVELS.get(str(severity).strip().lower(), "low")


def _normal_path(path: Any) -> str:
    text = str(path or "").replace("\\", "/")
    return text[2:] if text.startswith("./") else text


@dataclass
class DiffLayout:
    files: list[FileDiff] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    kinds: bytearray = field(default_factory=bytearray)
    old_numbers: array = field(default_factory=lambda: array("i"))  # 0: the row has no old line
    new_numbers: array = field(default_factory=lambda: array("i"))  # 0: the row has no new line
    file_of_row: array = field(default_factory=lambda: array("i"))  # -1: not in a file
    hunk_of_row: array = field(default_factory=lambda: array("i"))  # -1: not in a hunk
    hunks: list[HunkSpan] = field(default_factory=list)
    # Per hunk, (path, number within its file): the keys parse_hunks and Workspace.select_hunks use.
    hunk_keys: list[tuple[str, int]] = field(default_factory=list)
    markers: dict[int, str] = field(default_factory=dict)  # row -> level of the worst finding on that line
    finding_levels: dict[int, str] = field(default_factory=dict)  # finding row -> its level
    number_width: int = 3  # digits of the largest line number
    max_width: int = 0  # the widest row text, in characters

    def __len__(self) -> int:
        return len(self.kinds)

    def add(self, kind: Row, text: str, old: int = 0, new: int = 0, file: int = -1, hunk: int = -1) -> int:
        self.kinds.append(kind)
        self.texts.append(text)
        self.old_numbers.append(old)
        self.new_numbers.append(new)
        self.file_of_row.append(file)
        self.hunk_of_row.append(hunk)
        return len(self.kinds) - 1

    def hunkless_files(self) -> list[str]:
        """Files with no hunks (binary, mode-only): Workspace.select_hunks keeps them whole as (path, 0)."""
        return [file.path for file in self.files if not file.hunks]


class _Findings:
    """Findings sorted by where they will be drawn: under a diff line, under a file header, or at the top."""

    def __init__(self, findings: Iterable[dict], files: list[FileDiff]) -> None:
        file_by_path: dict[str, int] = {}
        for index, file in enumerate(files):
            for path in (file.path, file.old_path, file.new_path):
                if path:
                    file_by_path.setdefault(path, index)
        self.on_line: dict[tuple[int, int], list[dict]] = {}
        self.on_file: dict[int, list[dict]] = {}
        self.orphans: list[dict] = []
        for finding in findings:
            file = file_by_path.get(_normal_path(finding.get("path")))
            line = _as_line(finding.get("line"))
            if file is None:
                self.orphans.append(finding)
            elif line and _shows_new_line(files[file].hunks, line):
                self.on_line.setdefault((file, line), []).append(finding)
            else:
                self.on_file.setdefault(file, []).append(finding)


def _as_line(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _shows_new_line(hunks: list[Hunk], line: int) -> bool:
    """Every new-file line in a hunk's +c,d range appears as an added or context row."""
    return any(hunk.new_start <= line < hunk.new_start + hunk.new_count for hunk in hunks)


def finding_rows_text(finding: dict, *, where: str = "") -> list[str]:
    """The annotation rows of one finding: its severity, then its message (one row per message line)."""
    level = str(finding.get("severity") or "low").upper()
    lines = str(finding.get("message") or "").splitlines() or [""]
    first = f"▲ {level}  {where}{lines[0]}"
    return [first, *(f"  {line}" for line in lines[1:])]


def _add_findings(layout: DiffLayout, findings: list[dict], file: int, hunk: int, where: bool) -> None:
    for finding in findings:
        level = severity_level(finding.get("severity"))
        place = ""
        if where:
            line = _as_line(finding.get("line"))
            path = _normal_path(finding.get("path")) if file < 0 else ""
            place = f"{path}:{line}: " if path and line else f"{path}: " if path else f"line {line}: " if line else ""
        for text in finding_rows_text(finding, where=place):
            layout.finding_levels[layout.add(Row.FINDING, text, file=file, hunk=hunk)] = level


def _mark(layout: DiffLayout, row: int, findings: list[dict]) -> None:
    levels = [severity_level(finding.get("severity")) for finding in findings]
    layout.markers[row] = max(levels, key=_LEVEL_RANK.__getitem__)


def _file_title(file: FileDiff, added: int, removed: int) -> str:
    if file.status == "renamed" and file.old_path and file.new_path:
        name = f"{file.old_path} → {file.new_path}"
    else:
        name = file.path
    notes = {"added": "new file", "deleted": "deleted", "copied": "copied"}.get(file.status, "")
    if file.binary:
        notes = f"{notes}, binary" if notes else "binary"
    counts = f"+{added} −{removed}" if file.hunks else ""
    return "  ".join(part for part in (name, f"({notes})" if notes else "", counts) if part)


def _add_header_meta(layout: DiffLayout, file: FileDiff, file_index: int) -> None:
    for line in file.header[1:]:
        if line == "GIT binary patch":
            layout.add(Row.META, "binary patch (not shown)", file=file_index)
            return  # the rest of the header is base85 data
        if line.startswith(_MODE_PREFIXES):
            layout.add(Row.META, line, file=file_index)


def _add_hunk(layout: DiffLayout, hunk: Hunk, file_index: int, hunk_index: int, findings: _Findings) -> tuple[int, int]:
    """Rows of one hunk; returns its (added, removed) counts."""
    layout.add(Row.HUNK, hunk.header, file=file_index, hunk=hunk_index)
    old, new, added, removed = hunk.old_start, hunk.new_start, 0, 0
    on_line = findings.on_line
    for line in hunk.lines:
        first = line[:1]
        if first == "+":
            row = layout.add(Row.ADDED, line, new=new, file=file_index, hunk=hunk_index)
            new, added = new + 1, added + 1
        elif first == "-":
            layout.add(Row.REMOVED, line, old=old, file=file_index, hunk=hunk_index)
            old, removed = old + 1, removed + 1
            continue
        elif first == "\\":
            layout.add(Row.NO_NEWLINE, line, file=file_index, hunk=hunk_index)
            continue
        else:
            row = layout.add(Row.CONTEXT, line, old=old, new=new, file=file_index, hunk=hunk_index)
            old, new = old + 1, new + 1
        if on_line and (pinned := on_line.get((file_index, new - 1))):
            _mark(layout, row, pinned)
            _add_findings(layout, pinned, file_index, hunk_index, where=False)
    return added, removed


def _largest_line_number(files: list[FileDiff]) -> int:
    ends = [max(h.old_start + h.old_count, h.new_start + h.new_count) for f in files for h in f.hunks]
    return max(ends, default=0)


def layout_diff(diff: str, findings: Iterable[dict] | None = None) -> DiffLayout:
    """Lay `diff` out as rows, with each finding under the line it points at."""
    layout = DiffLayout(files=parse_hunks(diff) if diff else [])
    placed = _Findings(findings or [], layout.files)
    _add_findings(layout, placed.orphans, -1, -1, where=True)
    if not layout.files and diff:
        for line in diff.splitlines():
            layout.add(Row.PLAIN, line)
    for file_index, file in enumerate(layout.files):
        title_row = layout.add(Row.FILE, file.path, file=file_index)
        _add_header_meta(layout, file, file_index)
        _add_findings(layout, placed.on_file.get(file_index, []), file_index, -1, where=True)
        added = removed = 0
        for index_in_file, hunk in enumerate(file.hunks):
            start = len(layout)
            hunk_added, hunk_removed = _add_hunk(layout, hunk, file_index, len(layout.hunks), placed)
            layout.hunks.append(HunkSpan(file.path, start, len(layout) - 1))
            layout.hunk_keys.append((file.path, index_in_file))
            added, removed = added + hunk_added, removed + hunk_removed
        layout.texts[title_row] = _file_title(file, added, removed)
    layout.number_width = max(3, len(str(_largest_line_number(layout.files))))
    widest = max(map(len, layout.texts), default=0)
    tabbed = [len(text.expandtabs(4)) for text in layout.texts if "\t" in text]
    layout.max_width = max(widest, max(tabbed, default=0))
    return layout


# -- syntax, one row at a time ---------------------------------------------------------------------------------------

SyntaxSegments = list[tuple[str, "str | None"]]  # (text, syntax kind or None for plain)
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# Most specific first: the first token type a token belongs to decides its kind (and so its theme colour).
_TOKEN_KINDS: tuple[tuple[_TokenType, str], ...] = (
    (Token.Comment, "comment"),
    (Token.Literal.String, "string"),
    (Token.Literal.Number, "number"),
    (Token.Keyword, "keyword"),
    (Token.Operator.Word, "keyword"),
    (Token.Name.Tag, "keyword"),
    (Token.Name.Function, "function"),
    (Token.Name.Class, "function"),
    (Token.Name.Builtin, "builtin"),
    (Token.Name.Decorator, "builtin"),
    (Token.Name.Attribute, "builtin"),
)
SYNTAX_KINDS = tuple(dict.fromkeys(kind for _, kind in _TOKEN_KINDS))


def printable(text: str) -> str:
    """Tabs expanded and control characters made visible, so a row is exactly as wide as it looks."""
    return _CONTROL_CHARS.sub("\ufffd", text.expandtabs(4))


@lru_cache(maxsize=256)
def _token_kind(token_type: _TokenType) -> str | None:
    for parent, kind in _TOKEN_KINDS:
        if token_type in parent:
            return kind
    return None


def lexer_for(path: str) -> Lexer | None:
    """The pygments lexer for a file, chosen by its name; None for plain text."""
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None
    return None if lexer.name == "Text only" else lexer


def highlight_code(lexer: Lexer | None, code: str) -> SyntaxSegments:
    """One line of code split by syntax kind. Lines are lexed alone: a string spanning lines may colour oddly,
    which is the price of never lexing more than the screen shows."""
    if lexer is None or not code:
        return [(code, None)]
    return [(value, _token_kind(token)) for token, value in lexer.get_tokens(code) if value]
