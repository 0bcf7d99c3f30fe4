"""One task's agent stream on screen: its transcript drawn line by line, following the output as it comes.

The stream is a single Line API widget, like Textual's `Log`: finished blocks are rendered once (rich's Markdown,
at the stream's width) into a list of lines, the block being written is re-rendered when it changes, and only the
rows in view are drawn. Growing the transcript changes the stream's virtual size, never the screen's layout, and
no widget is mounted per paragraph. A hidden stream only updates its data; it catches up in one pass when shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.markdown import Markdown
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from rich.theme import Theme
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from cockpit.widgets.transcript import Entry, Transcript, describe_event

if TYPE_CHECKING:
    from cockpit.events import Event

Lines = list[list[Segment]]  # rendered rows as plain segment lists: a Strip (with its caches) only for a row drawn


class AgentStream(ScrollView, can_focus=True):
    """One task's transcript; it stays pinned to the bottom until you scroll up (scroll to the end to re-pin)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript--tool", "transcript--ok", "transcript--failed", "transcript--status", "transcript--note",
        "transcript--error", "transcript--trimmed", "transcript--code", "transcript--heading", "transcript--link",
        "transcript--quote",
    }

    DEFAULT_CSS = """
    AgentStream {
        width: 1fr;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        background: $surface;
        overflow-x: hidden;
        scrollbar-gutter: stable;
        &.-selected { border: round $primary; border-title-color: $text; }
        &:focus { border: round $accent; border-title-color: $text-accent; background-tint: $foreground 3%; }
        & > .transcript--tool { color: $text-muted; }
        & > .transcript--ok { color: $text-success; }
        & > .transcript--failed { color: $text-error; }
        & > .transcript--status { color: $text-accent; text-style: bold; }
        & > .transcript--note { color: $text-secondary; }
        & > .transcript--error { color: $text-error; text-style: bold; }
        & > .transcript--trimmed { color: $text-muted; text-style: italic; }
        /* The agents' Markdown, in the theme's colours (rich's defaults are made for a dark terminal). */
        & > .transcript--code { color: $text-accent; background: $accent 12%; }
        & > .transcript--heading { color: $text-primary; text-style: bold; }
        & > .transcript--link { color: $text-primary; text-style: underline; }
        & > .transcript--quote { color: $text-muted; text-style: italic; }
        &:ansi > .transcript--code { color: $accent; background: transparent; text-style: bold; }
    }
    """

    def __init__(self, task_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.task_id = task_id
        self.transcript = Transcript()
        self._agent: str | None = None  # whose text the live block is
        self._sync_pending = False
        self._width = 0  # the width the lines below were rendered at (0: none rendered)
        self._marker: Lines = []  # "… N earlier characters not kept here"
        self._lines: Lines = []  # the closed entries drawn so far
        self._spans: list[tuple[int, int]] = []  # (entry key, rows) of each entry in `_lines`, in order
        self._dropped = 0  # the transcript's `dropped` when `_spans` was last aligned with it
        self._tail: Lines = []  # the live block, with a blank row above it unless it continues the entry above
        self._tail_text: str | None = None  # the live text `_tail` shows
        self._looks: tuple[Any, ...] = ()  # the component styles baked into the rendered rows
        self._markdown_theme = Theme()  # rich's Markdown styles, from `_looks`
        self._code_theme = "monokai"  # the code blocks' highlighting: dark or light, truecolour or ANSI, as the theme
        self._restyled = True  # styles changed since `_looks` was taken (a theme, or only focus)
        self._marker_for = 0  # the `trimmed` count `_marker` tells

    def on_mount(self) -> None:
        self.anchor()  # Textual keeps an anchored widget scrolled to its end until the user scrolls away
        self._request_view_sync()

    def on_show(self) -> None:
        self._request_view_sync()

    def on_resize(self) -> None:
        self._request_view_sync()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyled = True
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
        self._sync_view()

    def text_lines(self) -> list[str]:
        """Every row of the transcript as drawn, in plain text."""
        return ["".join(segment.text for segment in line).rstrip() for line in self._marker + self._lines + self._tail]

    def render_line(self, y: int) -> Strip:
        width, row = self.size.width, self.scroll_offset.y + y
        index = row
        for part in (self._marker, self._lines, self._tail):
            if index < len(part):
                strip = Strip(part[index]).crop_extend(0, width, self.rich_style).apply_style(self.rich_style)
                return self._selected(strip, row).apply_offsets(0, row)
            index -= len(part)
        return Strip.blank(width, self.rich_style)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text under a mouse selection (Textual copies it), as drawn."""
        return selection.extract("\n".join(self.text_lines())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    def _selected(self, strip: Strip, row: int) -> Strip:
        """The row with the part of it under the selection highlighted."""
        selection = self.text_selection
        span = selection.get_span(row) if selection is not None else None
        if span is None:
            return strip
        start, end = span
        end = strip.cell_length if end == -1 else min(end, strip.cell_length)
        if start >= end:
            return strip
        before, chosen, after = strip.divide([start, end, strip.cell_length])
        look = self.screen.get_component_rich_style("screen--selection")
        return Strip.join([before, Strip(Segment.apply_style(chosen, post_style=look)), after])

    def _request_view_sync(self) -> None:
        if self._sync_pending or not self.is_shown():
            return  # on_show catches up a hidden stream in one go
        self._sync_pending = True
        self.call_later(self._sync_view)

    def _sync_view(self) -> None:
        self._sync_pending = False
        width = self.scrollable_content_region.width
        if not self.is_shown() or width <= 0:
            return
        transcript = self.transcript
        if self._restyled:
            self._restyled, looks = False, tuple(map(self.get_component_rich_style, sorted(self.COMPONENT_CLASSES)))
            if looks != self._looks:
                self._looks, self._width = looks, 0  # a theme change: colours are baked into the rendered rows
                self._markdown_theme = self._theme_for_markdown()
                self._code_theme = _code_theme(self.app.current_theme)
        if width != self._width:
            self._width, self._spans, self._lines, self._tail_text, self._marker_for = width, [], [], None, 0
            self._dropped = transcript.dropped
        with self.app.console.use_theme(self._markdown_theme):  # once per pass, not per render
            self._sync_entries(transcript.entries, transcript.dropped)
            if transcript.trimmed != self._marker_for:
                self._marker_for = transcript.trimmed
                self._marker = self._render(Text(
                    f"… {transcript.trimmed:,} earlier characters not kept here (the journal has them)",
                    self.get_component_rich_style("transcript--trimmed"))) if transcript.trimmed else []
            if transcript.live != self._tail_text:
                self._tail_text = transcript.live
                text = transcript.live.strip("\n")
                gap = [[]] if self._lines and not transcript.live_continues else []
                self._tail = gap + self._render(Markdown(text, code_theme=self._code_theme)) if text.strip() else []
        self.virtual_size = Size(width, len(self._marker) + len(self._lines) + len(self._tail))
        self.refresh()

    def _sync_entries(self, entries: list[Entry], dropped: int) -> None:
        """Make `_lines` show `entries`: cut what was dropped from the front, re-render from the first entry that
        differs from what is drawn (a tool call given its result, or new ones), keep the rest."""
        spans, lines = self._spans, self._lines
        if gone := dropped - self._dropped:
            del lines[: sum(rows for _, rows in spans[:gone])]
            del spans[:gone]
            self._dropped = dropped
        first = next((i for i, (span, entry) in enumerate(zip(spans, entries)) if span[0] != entry.key),
                     min(len(spans), len(entries)))
        if first < len(spans):
            del lines[sum(rows for _, rows in spans[:first]) :]
            del spans[first:]
        for index in range(first, len(entries)):
            entry, before = entries[index], entries[index - 1] if index else None
            rendered = self._render(self._renderable(entry))
            if before is not None and (entry.kind == "text" or before.kind == "text") and not entry.continued:
                rendered = [[], *rendered]
            spans.append((entry.key, len(rendered)))
            lines.extend(rendered)

    def _renderable(self, entry: Entry) -> Any:
        style = self.get_component_rich_style
        if entry.kind == "text":
            return Markdown(entry.text.strip("\n"), code_theme=self._code_theme)
        if entry.kind == "tool":
            mark, look = {None: ("▸", "transcript--tool"), True: ("✓", "transcript--ok"), False: ("✗", "transcript--failed")}[entry.ok]
            return Text.assemble((f"{mark} ", style(look)), (entry.text, style("transcript--tool")))
        if entry.kind == "status":
            return Text(f"── {entry.text}", style("transcript--status"))
        if entry.kind == "error":
            return Text(f"✗ {entry.text}", style("transcript--error"))
        return Text(f"• {entry.text}", style("transcript--note"))

    def _render(self, renderable: Any) -> Lines:
        """Rows of `renderable` at the stream's width (inside `_sync_view`, which puts the Markdown theme in place)."""
        console = self.app.console
        segments = console.render(renderable, console.options.update_width(self._width))
        return list(Segment.split_and_crop_lines(segments, self._width, pad=False, include_new_lines=False))

    def _theme_for_markdown(self) -> Theme:
        style = self.get_component_rich_style
        heading, link = style("transcript--heading"), style("transcript--link")
        return Theme({
            "markdown.code": style("transcript--code"), "markdown.link": link, "markdown.link_url": link,
            "markdown.block_quote": style("transcript--quote"), "markdown.h1": heading + Style(underline=True),
            "markdown.h1.border": heading, **{f"markdown.h{level}": heading for level in range(2, 7)},
            "markdown.item.bullet": heading, "markdown.item.number": heading,
        })


def _code_theme(theme: Any) -> str:
    """Syntax highlighting for code blocks that suits the app's theme (rich's ANSI themes keep to 16 colours)."""
    if getattr(theme, "ansi", False):
        return "ansi_dark" if theme.dark else "ansi_light"
    return "monokai" if theme.dark else "friendly"
