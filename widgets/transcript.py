"""A task's stream as data: what the engine's events read as, closed into Markdown blocks as they finish.

The text an agent is writing stays `live` until its block ends (a blank line outside a code fence); then it becomes
an `Entry` of its own, so a view renders each finished block once and re-renders only the block being written.
Transcripts are bounded: the oldest entries are dropped from memory, never from the journal.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cockpit.events import Event

MAX_TRANSCRIPT_CHARS = 64_000  # per task; older entries are dropped from memory (never from the journal)
MAX_LIVE_CHARS = 4_000  # a block still being written is cut at a line break past this (it is re-rendered as it grows)

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def tool_call_text(tool: str, args: dict[str, Any]) -> str:
    """A tool call in a few words: its name and the argument that says what it acts on."""
    for key in ("path", "command", "pattern", "summary"):
        if isinstance(args.get(key), str) and args[key]:
            value = args[key].strip().splitlines()[0] if args[key].strip() else ""
            return f"{tool} {value if len(value) <= 80 else value[:79] + '…'}"
    for key in ("tasks", "findings"):
        if isinstance(args.get(key), list):
            return f"{tool} ({len(args[key])} {key})"
    return tool


def describe_event(event: "Event") -> tuple[str, str] | None:
    """How an event (other than text and tool results) reads in its task's stream: (kind, text), or None."""
    get, kind = event.get, event.type
    if kind == "tool_called":
        return "tool", tool_call_text(get("tool"), get("args") or {})
    if kind == "task_updated":
        status, summary = get("status"), get("summary") or ""
        if status == "running":
            attempt = f" · attempt {get('attempt')}" if (get("attempt") or 1) > 1 else ""
            return "status", f"running{attempt}" + (f" · {get('model')}" if get("model") else "")
        if status == "pending" and get("feedback"):
            return "note", f"sent back: {get('feedback')[-1].splitlines()[0]}"
        if status in ("waiting", "done", "failed", "cancelled"):
            return ("error" if status == "failed" else "status"), status + (f" — {summary}" if summary else "")
        return None
    if kind == "change_proposed":
        return "note", f"proposed change {get('change_id')}: {', '.join(get('files') or [])}"
    if kind == "change_decided":
        reason = f": {get('reason')}" if get("reason") else ""
        return "note", f"change {get('change_id')} {get('decision')}{reason}"
    if kind in ("change_applied", "change_conflicted"):
        return ("note" if kind == "change_applied" else "error"), f"change {get('change_id')} {kind.split('_')[1]}"
    if kind == "tests_finished":
        return "note", f"tests: {get('passed')} passed, {get('failed')} failed, {get('errors')} errors, {get('skipped')} skipped"
    if kind == "findings_reported":
        return "note", f"{len(get('findings') or [])} finding(s) reported"
    if kind == "change_stale":
        return "note", f"change {get('change_id')} is stale: you edited {', '.join(get('files') or [])}"
    if kind == "note_sent":
        return "note", f"you: {get('text')}"
    if kind == "error":
        return "error", get("message") or "error"
    if kind == "decision_requested" and get("kind") == "command":
        return "note", f"asks to run `{(get('payload') or {}).get('command', '')}`"
    return None


@dataclass(frozen=True)
class Entry:
    key: int  # unique in its transcript; a rewritten entry (a tool call given its result) gets a new one
    kind: str  # text, tool, status, note, error
    text: str
    tool: str = ""
    ok: bool | None = None
    continued: bool = False  # text cut from the block before it (too long to keep live): no gap between them


class Transcript:
    """One task's stream: closed entries plus the live block, bounded to `limit` characters.

    `dropped` counts the entries ever dropped from the front, so a view that drew some of them knows how many of
    its first entries are gone; the entries after them keep their order (only their keys change on rewrite)."""

    def __init__(self, limit: int = MAX_TRANSCRIPT_CHARS, live_limit: int = MAX_LIVE_CHARS) -> None:
        self.limit = limit
        self.live_limit = live_limit
        self.entries: list[Entry] = []
        self.live = ""
        self.dropped = 0
        self.trimmed = 0  # characters dropped from the front
        self._chars = 0
        self._keys = itertools.count()
        self._scanned = 0  # where the first line of `live` not yet looked at starts
        self._fence = ""  # the fence of a code block open in `live`, "" outside one
        self._continued = False  # `live` was cut from the entry before it

    @property
    def live_continues(self) -> bool:
        """The live block goes on from the entry before it (that entry was cut from it): no gap between them."""
        return self._continued

    @property
    def chars(self) -> int:
        return self._chars + len(self.live)

    def add_text(self, text: str) -> None:
        self.live += text
        end = self._last_block_end()
        if end:
            self._close_live(end)
        while len(self.live) > self.live_limit and self._cut_live():
            pass
        self._trim()

    def add(self, kind: str, text: str, tool: str = "") -> None:
        self._close_live(len(self.live))
        self._append(Entry(next(self._keys), kind, text, tool))
        self._trim()

    def close_tool(self, tool: str, ok: bool, summary: str) -> None:
        """Put a tool's result on the line of its call (the latest open call of that tool)."""
        for index in range(len(self.entries) - 1, max(-1, len(self.entries) - 8), -1):
            entry = self.entries[index]
            if entry.kind == "tool" and entry.tool == tool and entry.ok is None:
                text = f"{entry.text} — {summary}" if summary else entry.text
                self._chars += len(text) - len(entry.text)
                self.entries[index] = Entry(next(self._keys), "tool", text, tool, ok)
                return
        self.add("note" if ok else "error", f"{tool}: {summary}")

    def _last_block_end(self) -> int:
        """Scan the complete lines of `live` not yet seen; the offset just past the last blank line outside a code
        fence (where a Markdown block ends), or 0."""
        live, start, end = self.live, self._scanned, 0
        while (newline := live.find("\n", start)) >= 0:
            line = live[start:newline]
            if self._fence:
                if _closes(line, self._fence):
                    self._fence = ""
            elif match := _FENCE.match(line):
                self._fence = match.group(1)
            elif not line.strip():
                end = newline + 1
            start = newline + 1
        self._scanned = start
        return end

    def _cut_live(self) -> bool:
        """Close the front of a block too long to keep re-rendering, at a line break; a code block cut in two is
        closed in the first part and opened again in the second, so both still render as code. False if what
        is left is no shorter (a fence line longer than the limit)."""
        before = len(self.live)
        cut = self.live.rfind("\n", 0, self.live_limit) + 1
        if cut <= self.live_limit // 4:
            cut = len(self.live)
        opener, fence = _open_fence(self.live[:cut])
        head, tail = self.live[:cut], self.live[cut:]
        if opener:
            head, tail = f"{head}{fence}\n", f"{opener}\n{tail}"
        self.live = head
        self._close_live(len(head))
        self.live, self._continued = tail, True
        self._scanned, self._fence = 0, ""
        self._last_block_end()
        return len(self.live) < before

    def _close_live(self, cut: int) -> None:
        if not self.live:
            return
        head, self.live = self.live[:cut], self.live[cut:]
        if head.strip():
            self._append(Entry(next(self._keys), "text", head, continued=self._continued))
        self._continued = False
        self._scanned = max(0, self._scanned - cut)
        if not self.live:
            self._fence = ""

    def _append(self, entry: Entry) -> None:
        self.entries.append(entry)
        self._chars += len(entry.text)

    def _trim(self) -> None:
        while self.chars > self.limit and self.entries:
            dropped = self.entries.pop(0)
            self._chars -= len(dropped.text)
            self.trimmed += len(dropped.text)
            self.dropped += 1


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a code block opened with `fence`: the same character, at least as many, nothing else."""
    closing = line.strip()
    return closing.startswith(fence) and not closing.strip(fence[0])


def _open_fence(text: str) -> tuple[str, str]:
    """The opening line and the fence of a code block still open at the end of `text`, or ("", "")."""
    opener = fence = ""
    for line in text.splitlines():
        if fence:
            if _closes(line, fence):
                opener = fence = ""
        elif match := _FENCE.match(line):
            opener, fence = line, match.group(1)
    return opener, fence
