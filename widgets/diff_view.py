"""A unified diff, rendered one visible line at a time, with hunk navigation, hunk selection and review findings.

`show_diff` only lays the diff out (a cheap split, see `diff_layout`); syntax highlighting runs per row when the
row is first drawn and is kept in a bounded LRU, so a 20,000-line diff opens at once and scrolls smoothly.
All colours come from the theme through the component classes below.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import ClassVar

from pygments.lexer import Lexer
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.widgets.diff_layout import (
    SYNTAX_KINDS, DiffLayout, HunkSpan, Row, SyntaxSegments, highlight_code, layout_diff, lexer_for, printable,
)

_HUNK_KEYS = Binding.Group("Hunks")
_ROW_CLASSES = {
    Row.FILE: "diff-view--file",
    Row.META: "diff-view--meta",
    Row.HUNK: "diff-view--hunk",
    Row.CONTEXT: "diff-view--context",
    Row.ADDED: "diff-view--added",
    Row.REMOVED: "diff-view--removed",
    Row.NO_NEWLINE: "diff-view--meta",
    Row.PLAIN: "diff-view--context",
}
_CODE_ROWS = (Row.CONTEXT, Row.ADDED, Row.REMOVED)


def _styled(content: str, style: Style) -> Text:
    """Text whose style survives Text.render (which drops a Text's base style and keeps only its spans)."""
    text = Text(content, end="")
    text.stylize(style)
    return text


class DiffView(ScrollView, can_focus=True):
    """A unified git diff with line numbers, syntax colours, hunk navigation and selection, and findings."""

    HELP = """
## Diff

The proposed change, file by file. Line numbers are old | new.

- `]` / `[` jump to the next / previous hunk; the current hunk is marked in the gutter.
- `space` selects or deselects the current hunk (deselected hunks are dimmed).
- `j` / `k`, arrows, `pgup` / `pgdn`, `home` / `end` scroll.
- A `●` in the gutter marks a line with a security finding; the finding is shown under it.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "next_hunk", "Next hunk", id="next_hunk", group=_HUNK_KEYS),
        Binding("left_square_bracket", "prev_hunk", "Prev hunk", id="prev_hunk", group=_HUNK_KEYS),
        Binding("space", "toggle_hunk", "Toggle hunk", id="toggle_hunk"),
        Binding("j", "scroll_down", "Down", show=False, id="diff_view.down"),
        Binding("k", "scroll_up", "Up", show=False, id="diff_view.up"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "diff-view--gutter", "diff-view--gutter-current", "diff-view--file", "diff-view--meta",
        "diff-view--hunk", "diff-view--hunk-current", "diff-view--context", "diff-view--added",
        "diff-view--removed", "diff-view--unselected", "diff-view--finding-high", "diff-view--finding-medium",
        "diff-view--finding-low", "diff-view--marker-high", "diff-view--marker-medium", "diff-view--marker-low",
        *(f"diff-view--syntax-{kind}" for kind in SYNTAX_KINDS),
    }

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        color: $foreground;
        overflow: auto auto;
        &:focus { background-tint: $foreground 3%; }
        & > .diff-view--gutter { color: $text-muted; background: $panel; }
        & > .diff-view--gutter-current { color: $text; background: $primary 35%; }
        & > .diff-view--file { color: $text; background: $panel; text-style: bold; }
        & > .diff-view--meta { color: $text-muted; text-style: italic; }
        & > .diff-view--hunk { color: $text-primary; background: $primary 10%; }
        & > .diff-view--hunk-current { color: $text; background: $primary 30%; text-style: bold; }
        & > .diff-view--context { color: $foreground; }
        & > .diff-view--added { background: $success 18%; }
        & > .diff-view--removed { background: $error 18%; }
        & > .diff-view--unselected { text-style: dim; }
        & > .diff-view--finding-high { color: $text-error; background: $error 10%; text-style: bold; }
        & > .diff-view--finding-medium { color: $text-warning; background: $warning 10%; }
        & > .diff-view--finding-low { color: $text-accent; background: $accent 8%; }
        & > .diff-view--marker-high { color: $error; text-style: bold; }
        & > .diff-view--marker-medium { color: $warning; text-style: bold; }
        & > .diff-view--marker-low { color: $accent; }
        & > .diff-view--syntax-keyword { color: $text-accent; }
        & > .diff-view--syntax-function { color: $text-primary; }
        & > .diff-view--syntax-builtin { color: $text-secondary; }
        & > .diff-view--syntax-string { color: $text-success; }
        & > .diff-view--syntax-number { color: $text-warning; }
        & > .diff-view--syntax-comment { color: $text-muted; text-style: italic; }
        /* 16 colours cannot tint: colour the text instead, as `git diff` does. */
        &:ansi {
            & > .diff-view--gutter { background: transparent; }
            & > .diff-view--gutter-current { color: $primary; background: transparent; text-style: bold; }
            & > .diff-view--file { background: transparent; text-style: bold underline; }
            & > .diff-view--hunk { color: $primary; background: transparent; }
            & > .diff-view--hunk-current { color: $primary; background: transparent; text-style: bold reverse; }
            & > .diff-view--added { color: $success; background: transparent; }
            & > .diff-view--removed { color: $error; background: transparent; }
            & > .diff-view--finding-high { color: $error; background: transparent; }
            & > .diff-view--finding-medium { color: $warning; background: transparent; }
            & > .diff-view--finding-low { color: $accent; background: transparent; }
        }
    }
    """

    current_hunk: reactive[int] = reactive(-1, init=False)
    """Index into `hunks` of the hunk the keys act on, or -1 when the diff has no hunks."""

    @dataclass
    class HunkSelected(Message):
        """The current hunk changed (by `]`, `[`, a click, or scrolling it out of view)."""

        index: int
        diff_view: DiffView | None = None

        @property
        def control(self) -> DiffView | None:
            return self.diff_view

    @dataclass
    class HunkToggled(Message):
        """A hunk was selected or deselected with `space`."""

        index: int
        selected: bool
        diff_view: DiffView | None = None

        @property
        def control(self) -> DiffView | None:
            return self.diff_view

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        self._syntax_styles: dict[str, Style] = {}  # set first: styles may update during Widget.__init__
        super().__init__(name=name, id=id, classes=classes)
        self._layout = DiffLayout()
        self._diff = ""
        self._findings: list[dict] = []
        self._highlights: LRUCache[int, SyntaxSegments] = LRUCache(2048)
        self._lexers: dict[int, Lexer | None] = {}
        self._hunk_starts: list[int] = []
        self._hunk_ends: list[int] = []
        self.selected_hunks: set[int] = set()
        self.rendered_lines = 0  # rows drawn by render_line: proves only visible rows cost anything
        self.highlighted_lines = 0  # rows run through pygments

    # -- content -------------------------------------------------------------------------------------------------

    def show_diff(self, diff: str, *, findings: list[dict] | None = None, title: str = "") -> None:
        """Show a unified diff; every hunk starts selected and the view goes back to the top."""
        self._diff = diff
        self._findings = list(findings or [])
        self._lexers.clear()
        self._relayout()
        self.selected_hunks = set(range(len(self._layout.hunks)))
        self.set_reactive(DiffView.current_hunk, 0 if self._layout.hunks else -1)
        self.border_title = title or None
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def set_findings(self, findings: list[dict] | None) -> None:
        """Show new findings on the same diff, keeping the hunk selection and the current hunk."""
        self._findings = list(findings or [])
        self._relayout()
        self.refresh()

    def _relayout(self) -> None:
        self._layout = layout_diff(self._diff, self._findings)
        self._highlights.clear()  # keyed by row, and rows move when findings come or go
        self._hunk_starts = [hunk.start_line for hunk in self._layout.hunks]
        self._hunk_ends = [hunk.end_line for hunk in self._layout.hunks]
        self.virtual_size = Size(self._gutter_width + self._layout.max_width + 1, len(self._layout))

    @property
    def diff(self) -> str:
        return self._diff

    @property
    def hunks(self) -> list[HunkSpan]:
        """Every hunk as (file, start_line, end_line): the rows of its header and of its last line."""
        return self._layout.hunks

    @property
    def hunk_keys(self) -> list[tuple[str, int]]:
        """Every hunk as (path, number within its file), the key Workspace.select_hunks takes."""
        return self._layout.hunk_keys

    @property
    def line_count(self) -> int:
        return len(self._layout)

    def selected_hunk_keys(self) -> set[tuple[str, int]]:
        """The selection as Workspace.select_hunks takes it: (path, hunk index in file), hunkless files whole."""
        keys = {self._layout.hunk_keys[index] for index in self.selected_hunks}
        return keys | {(path, 0) for path in self._layout.hunkless_files()}

    def row_text(self, row: int) -> str:
        """The raw text of a row (for tests and copy): the diff line, file title or finding."""
        return self._layout.texts[row]

    # -- hunks -----------------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_hunk", "prev_hunk", "toggle_hunk"):
            return bool(self._layout.hunks)
        return True

    def action_next_hunk(self) -> None:
        self.go_to_hunk(self.current_hunk + 1)

    def action_prev_hunk(self) -> None:
        self.go_to_hunk(self.current_hunk - 1)

    def go_to_hunk(self, index: int) -> None:
        """Make hunk `index` (clamped) the current one and scroll its header to the top."""
        if not self._layout.hunks:
            return
        index = max(0, min(index, len(self._layout.hunks) - 1))
        self.current_hunk = index
        # One row of context above the header: the file title, for a file's first hunk.
        self.scroll_to(y=max(0, self._layout.hunks[index].start_line - 1), animate=False)

    def action_toggle_hunk(self) -> None:
        index = self.current_hunk
        if not 0 <= index < len(self._layout.hunks):
            return
        selected = index not in self.selected_hunks
        if selected:
            self.selected_hunks.add(index)
        else:
            self.selected_hunks.discard(index)
        self._refresh_hunk(index)
        self.post_message(self.HunkToggled(index, selected, self))

    def watch_current_hunk(self, old: int, new: int) -> None:
        self._refresh_hunk(old)
        self._refresh_hunk(new)
        if new >= 0:
            self.post_message(self.HunkSelected(new, self))

    def _refresh_hunk(self, index: int) -> None:
        if 0 <= index < len(self._layout.hunks):
            span = self._layout.hunks[index]
            self.refresh_lines(span.start_line, span.end_line - span.start_line + 1)

    def _hunk_visible(self, index: int) -> bool:
        top = self.scroll_offset.y
        bottom = top + self.scrollable_content_region.height
        span = self._layout.hunks[index]
        return span.start_line < bottom and span.end_line >= top

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._follow_scroll()

    def _follow_scroll(self) -> None:
        """When the current hunk scrolls out of view, the first hunk in view becomes current, so `space`
        always acts on something the user can see."""
        current = self.current_hunk
        if not self._hunk_starts or (0 <= current < len(self._hunk_starts) and self._hunk_visible(current)):
            return
        first = bisect_left(self._hunk_ends, round(self.scroll_y))
        if first < len(self._hunk_starts) and self._hunk_visible(first):
            self.current_hunk = first

    # Jumping through 20,000 rows with an animation would draw every frame in between: jump at once.
    # immediate: the virtual size is set when the diff is laid out, so there is no pending layout to wait a frame for.
    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False, x_axis=self.scroll_y == 0, immediate=True)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False, x_axis=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = offset.y + self.scroll_offset.y
        if row < len(self._layout) and (hunk := self._layout.hunk_of_row[row]) >= 0:
            self.current_hunk = hunk

    # -- rendering -------------------------------------------------------------------------------------------------

    @property
    def _gutter_width(self) -> int:
        return 2 * self._layout.number_width + 3  # "old new●" and a space

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._syntax_styles.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.size.width
        if row >= len(self._layout):
            return Strip.blank(width, self.rich_style)
        self.rendered_lines += 1
        gutter = self._render_gutter(row)
        style = self._row_style(row)
        body = Strip(list(self._row_content(row, style).render(self.app.console)))
        body = body.crop_extend(scroll_x, scroll_x + max(0, width - gutter.cell_length), style)
        return Strip.join([gutter, body]).simplify()

    def _row_style(self, row: int) -> Style:
        layout = self._layout
        kind = layout.kinds[row]
        hunk = layout.hunk_of_row[row]
        if kind == Row.FINDING:
            names: tuple[str, ...] = (f"diff-view--finding-{layout.finding_levels[row]}",)
        elif kind == Row.HUNK and hunk == self.current_hunk:
            names = ("diff-view--hunk", "diff-view--hunk-current")
        else:
            names = (_ROW_CLASSES[Row(kind)],)
        style = self.get_component_rich_style(*names)
        if hunk >= 0 and hunk not in self.selected_hunks:
            style += self.get_component_rich_style("diff-view--unselected", partial=True)
        return style

    def _render_gutter(self, row: int) -> Strip:
        layout = self._layout
        kind = layout.kinds[row]
        if kind == Row.FILE:
            return Strip([], 0).extend_cell_length(self._gutter_width, self.get_component_rich_style("diff-view--file"))
        hunk = layout.hunk_of_row[row]
        current = hunk >= 0 and hunk == self.current_hunk
        style = self.get_component_rich_style("diff-view--gutter-current" if current else "diff-view--gutter")
        width = layout.number_width
        old, new = layout.old_numbers[row], layout.new_numbers[row]
        numbers = f"{old or '':>{width}} {new or '':>{width}}"
        text = Text(numbers, end="")
        level = layout.markers.get(row)
        if level:
            text.append("●", self.get_component_rich_style(f"diff-view--marker-{level}", partial=True))
        else:
            text.append(" ")
        text.append(" ")
        text.stylize_before(style)
        return Strip(list(text.render(self.app.console)), self._gutter_width)

    def _row_content(self, row: int, style: Style) -> Text:
        layout = self._layout
        kind = layout.kinds[row]
        raw = layout.texts[row]
        if kind == Row.HUNK:
            mark = "[x] " if layout.hunk_of_row[row] in self.selected_hunks else "[ ] "
            return _styled(mark + raw, style)
        if kind not in _CODE_ROWS or (kind != Row.CONTEXT and self.app.native_ansi_color):
            return _styled(printable(raw), style)  # in 16 colours a changed line's colour is its sign
        text = Text(raw[:1] or " ", end="")
        for fragment, kind in self._highlighted(row):
            text.append(fragment, self._syntax_style(kind) if kind else None)
        text.stylize_before(style)  # under the syntax spans: Text.render ignores a Text's own base style
        return text

    def _highlighted(self, row: int) -> SyntaxSegments:
        """The row's code split by syntax kind; pygments runs once per row, while it stays in the LRU."""
        cached = self._highlights.get(row)
        if cached is not None:
            return cached
        code = printable(self._layout.texts[row][1:])
        lexer = self._file_lexer(self._layout.file_of_row[row])
        if lexer is not None and code:
            self.highlighted_lines += 1
        segments = highlight_code(lexer, code)
        self._highlights[row] = segments
        return segments

    def _file_lexer(self, file_index: int) -> Lexer | None:
        if file_index not in self._lexers:
            files = self._layout.files
            self._lexers[file_index] = lexer_for(files[file_index].path) if 0 <= file_index < len(files) else None
        return self._lexers[file_index]

    def _syntax_style(self, kind: str) -> Style:
        """Only the colour and emphasis of a syntax kind, so the row's own background shows through."""
        styles = self._syntax_styles
        if kind not in styles:
            full = self.get_component_rich_style(f"diff-view--syntax-{kind}")
            styles[kind] = Style(color=full.color, bold=full.bold, italic=full.italic)
        return styles[kind]
