"""Agent streams: one transcript per task, and the deck that shows them side by side or as tabs.

A transcript is data first (`Transcript`, bounded: the full text is in the journal) and a view second. What the agent
is saying right now streams into a `Markdown` through `Markdown.get_stream`; everything before it (closed text, tool
calls, status lines) is drawn by `TranscriptLines` one visible line at a time. A hidden stream only updates its
data; it catches up in one write when it is shown again.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from cockpit.events import Event

MAX_TRANSCRIPT_CHARS = 64_000  # per task; older entries are dropped from memory (never from the journal)
MAX_SEGMENT_CHARS = 6_000  # a live Markdown segment longer than this is closed at a paragraph break


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
    key: int  # unique in its transcript: the render cache key
    kind: str  # text, tool, status, note, error
    text: str
    tool: str = ""
    ok: bool | None = None


class Transcript:
    """One task's stream as data: closed entries plus the live text segment, bounded to `limit` characters."""

    def __init__(self, limit: int = MAX_TRANSCRIPT_CHARS, segment_limit: int = MAX_SEGMENT_CHARS) -> None:
        self.limit = limit
        self.segment_limit = segment_limit
        self.entries: list[Entry] = []
        self.live = ""
        self.generation = 0  # +1 each time the live segment is closed into an entry
        self.version = 0  # +1 on every change to `entries`
        self.trimmed = 0  # characters dropped from the front
        self._chars = 0
        self._keys = itertools.count()

    @property
    def chars(self) -> int:
        return self._chars + len(self.live)

    def add_text(self, text: str) -> None:
        self.live += text
        if len(self.live) > self.segment_limit:
            cut = self.live.rfind("\n\n", 0, self.segment_limit)
            self._close_live(cut + 2 if cut > self.segment_limit // 4 else len(self.live))
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
                self.version += 1
                return
        self.add("note" if ok else "error", f"{tool}: {summary}")

    def _close_live(self, cut: int) -> None:
        if not self.live:
            return
        head, self.live = self.live[:cut], self.live[cut:]
        if head.strip():
            self._append(Entry(next(self._keys), "text", head))
        self.generation += 1

    def _append(self, entry: Entry) -> None:
        self.entries.append(entry)
        self._chars += len(entry.text)
        self.version += 1

    def _trim(self) -> None:
        while self.chars > self.limit and self.entries:
            dropped = self.entries.pop(0)
            self._chars -= len(dropped.text)
            self.trimmed += len(dropped.text)
            self.version += 1


class TranscriptLines(Widget):
    """The closed part of a transcript, rendered once per width and drawn line by line (only visible lines).

    Rendered lines are kept as plain segment lists; a Strip (with its seven caches, ~1.5 KB) is made only for a
    line being drawn. Keeping Strips for every line held some 20 MB across 16 long transcripts (bench: memory)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript--tool", "transcript--ok", "transcript--failed", "transcript--status", "transcript--note",
        "transcript--error", "transcript--trimmed",
    }
    DEFAULT_CSS = """
    TranscriptLines {
        height: auto;
        & > .transcript--tool { color: $text-muted; }
        & > .transcript--ok { color: $text-success; }
        & > .transcript--failed { color: $text-error; }
        & > .transcript--status { color: $text-accent; text-style: bold; }
        & > .transcript--note { color: $text-secondary; }
        & > .transcript--error { color: $text-error; text-style: bold; }
        & > .transcript--trimmed { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._entries: list[Entry] = []
        self._trimmed = 0
        self._cache: dict[tuple[int, int], list[list[Segment]]] = {}
        self._lines: list[list[Segment]] | None = None
        self._lines_width = 0

    def show(self, entries: list[Entry], trimmed: int) -> None:
        self._entries, self._trimmed, self._lines = list(entries), trimmed, None
        keys = {e.key for e in self._entries}
        self._cache = {k: v for k, v in self._cache.items() if k[0] in keys}
        self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()  # the theme changed: colours are baked into the cached strips
        self._lines = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines_for(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = self._lines_for(width)
        if y >= len(lines):
            return Strip.blank(width, self.rich_style)
        return Strip(lines[y]).crop_extend(0, width, self.rich_style).apply_style(self.rich_style)

    def _lines_for(self, width: int) -> list[list[Segment]]:
        if self._lines is None or width != self._lines_width:
            lines: list[list[Segment]] = []
            if self._trimmed:
                marker = Text(f"… {self._trimmed:,} earlier characters not kept here (the journal has them)",
                              self.get_component_rich_style("transcript--trimmed"))
                lines.extend(self._render(marker, width))
            for entry in self._entries:
                key = (entry.key, width)
                if key not in self._cache:
                    self._cache[key] = self._render(self._renderable(entry), width)
                lines.extend(self._cache[key])
            self._lines, self._lines_width = lines, width
        return self._lines

    def _renderable(self, entry: Entry) -> Any:
        style = self.get_component_rich_style
        if entry.kind == "text":
            return RichMarkdown(entry.text.strip("\n"))
        if entry.kind == "tool":
            mark, look = {None: ("▸", "transcript--tool"), True: ("✓", "transcript--ok"), False: ("✗", "transcript--failed")}[entry.ok]
            return Text.assemble((f"{mark} ", style(look)), (entry.text, style("transcript--tool")))
        if entry.kind == "status":
            return Text(f"── {entry.text}", style("transcript--status"))
        if entry.kind == "error":
            return Text(f"✗ {entry.text}", style("transcript--error"))
        return Text(f"• {entry.text}", style("transcript--note"))

    def _render(self, renderable: Any, width: int) -> list[list[Segment]]:
        if width <= 0:
            return []
        console = self.app.console
        options = console.options.update_width(width)
        segments = console.render(renderable, options)
        return list(Segment.split_and_crop_lines(segments, width, pad=False, include_new_lines=False))


class AgentStream(VerticalScroll, can_focus=True):
    """One task's transcript; it stays pinned to the bottom until you scroll up (scroll to the end to re-pin)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    DEFAULT_CSS = """
    AgentStream {
        width: 1fr;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        background: $surface;
        &.-selected { border: round $primary; border-title-color: $text; }
        &:focus { border: round $accent; border-title-color: $text-accent; background-tint: $foreground 3%; }
        & > Markdown { margin: 0; padding: 0; background: transparent; }
        /* A blank row above each block, none below: the text being written ends on the last row. Not
           MarkdownBlock:last-child: an order-dependent rule makes Textual restyle every block at each mount. */
        & > Markdown > MarkdownBlock { margin: 1 0 0 0; }
        & > .fill { height: 1fr; }
    }
    """

    def __init__(self, task_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.task_id = task_id
        self.transcript = Transcript()
        self._agent: str | None = None  # whose text the live segment is
        self._md_stream: MarkdownStream | None = None
        self._view_generation = 0
        self._view_len = 0
        self._view_version = -1
        self._sync_pending = False

    def compose(self) -> "ComposeResult":
        yield TranscriptLines()
        yield Markdown()
        # Fills the rest of a short transcript: an anchored scroll over content shorter than the view would go
        # negative (Textual sets it unvalidated), drawing the text at the bottom; this keeps it at the top.
        yield Static(classes="fill")

    def on_mount(self) -> None:
        self.anchor()
        self._request_view_sync()

    def on_show(self) -> None:
        self._request_view_sync()

    def feed(self, event: "Event") -> None:
        """Fold one engine event into the transcript; the view catches up later, and only if it is visible."""
        if event.type == "task_updated" and event.get("status") == "running":
            self._agent = event.get("agent")
        if event.type == "agent_output":
            if event.get("agent") != self._agent:  # another agent works inside this task (the reviewer's check)
                self._agent = event.get("agent")
                self.transcript.add("status", f"{self._agent} speaking")
            self.transcript.add_text(event.get("text") or "")
        elif event.type == "tool_result":
            self.transcript.close_tool(event.get("tool"), bool(event.get("ok")), event.get("summary") or "")
        else:
            described = describe_event(event)
            if described is None:
                return
            kind, text = described
            self.transcript.add(kind, text, tool=event.get("tool", "") if event.type == "tool_called" else "")
        self._request_view_sync()

    def is_shown(self) -> bool:
        return self.is_mounted and all(node.display for node in self.ancestors_with_self if isinstance(node, Widget))

    async def flush_view(self) -> None:
        """Bring the view fully up to date now (tests and snapshots wait on this)."""
        await self._sync_view()
        await self._stop_md_stream()

    def _request_view_sync(self) -> None:
        if self._sync_pending or not self.is_shown():
            return  # on_show catches up a hidden stream in one go
        self._sync_pending = True
        self.call_later(self._sync_view)

    async def _sync_view(self) -> None:
        self._sync_pending = False
        if not self.is_shown():
            return
        transcript = self.transcript
        live = self.query_one(Markdown)
        if self._view_generation != transcript.generation:
            await self._stop_md_stream()  # the shown segment was closed: it moves into the lines above
            await live.update("")
            self._view_generation, self._view_len = transcript.generation, 0
        if self._view_version != transcript.version:
            self._view_version = transcript.version
            self.query_one(TranscriptLines).show(transcript.entries, transcript.trimmed)
        fresh = transcript.live[self._view_len :]
        if fresh:
            if self._md_stream is None:
                self._md_stream = Markdown.get_stream(live)
            self._view_len = len(transcript.live)
            await self._md_stream.write(fresh)

    async def _stop_md_stream(self) -> None:
        if self._md_stream is not None:
            stream, self._md_stream = self._md_stream, None
            await stream.stop()
